"""Properties of bill runs that hold whatever the dates, prices and quantities (BILLING_RULES.md).

Hypothesis draws subscriptions and sequences of orders and bill runs, driven as the
service drives them (driver.Biller); the unit tests at the end pin edge rules the
worked examples do not show.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from billing.domain.schedule import BillingPeriod, BillingTiming, Charge
from driver import (
    Biller,
    Numbered,
    all_lines,
    amendment_order,
    headers,
    item,
    new_order,
    termination_order,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from revline_pricing.calendar import term_end
from revline_pricing.periods import PERIOD_MONTHS
from revline_pricing.proration import span_amount
from revline_pricing.rounding import round_half_up

ONE_DAY = timedelta(days=1)
PERIODS: list[BillingPeriod] = ["month", "quarter", "half_year", "year"]
TIMINGS: list[BillingTiming] = ["advance", "arrears"]
YEAR_END = date(2026, 12, 31)
FAST = settings(max_examples=120, deadline=None)


def _charges(issued: list[Numbered]) -> list[Charge]:
    return [charge for _, document in issued for charge in document.lines]


def _amount(issued: list[Numbered]) -> int:
    return sum(charge.amount for charge in _charges(issued))


# A term of whole periods starting on the bill cycle day: every span is a full period.


@dataclass(frozen=True)
class AlignedTerm:
    """One subscription of `periods` whole periods from `start`, a bill cycle day."""

    period: BillingPeriod
    bill_cycle_day: int
    start: date
    periods: int
    unit_price: int
    quantity: int
    timing: BillingTiming

    @property
    def end(self) -> date:
        return term_end(self.start, self.periods * PERIOD_MONTHS[self.period])

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def biller(self) -> Biller:
        biller = Biller()
        seat = item(
            "sub_seat",
            "SEAT",
            unit_price=self.unit_price,
            quantity=self.quantity,
            start=self.start,
            end=self.end,
            period=self.period,
        )
        biller.order(
            new_order("or_new", seat, bill_cycle_day=self.bill_cycle_day, timing=self.timing)
        )
        return biller


@st.composite
def aligned_terms(draw: st.DrawFn) -> AlignedTerm:
    period = draw(st.sampled_from(PERIODS))
    bill_cycle_day = draw(st.integers(1, 28))
    start = date(draw(st.integers(2026, 2029)), draw(st.integers(1, 12)), bill_cycle_day)
    return AlignedTerm(
        period=period,
        bill_cycle_day=bill_cycle_day,
        start=start,
        periods=draw(st.integers(1, max(1, 24 // PERIOD_MONTHS[period]))),
        unit_price=draw(st.integers(1, 10**7)),
        quantity=draw(st.integers(1, 50)),
        timing=draw(st.sampled_from(TIMINGS)),
    )


def _run_dates(term_start: date, offsets: list[int]) -> list[date]:
    return [term_start + timedelta(days=offset) for offset in sorted(offsets)]


@FAST
@given(aligned_terms(), st.lists(st.integers(-60, 800), max_size=8), st.sampled_from([1, 31, 400]))
def test_a_period_aligned_term_bills_quantity_times_price_per_period_whatever_the_runs(
    term: AlignedTerm, offsets: list[int], days_after_end: int
) -> None:
    biller = term.biller()
    runs = [*_run_dates(term.start, offsets), term.end + timedelta(days=days_after_end)]

    charges = [charge for as_of in runs for charge in _charges(biller.run(as_of))]

    assert {charge.kind for charge in charges} == {"recurring"}
    assert all(charge.days == charge.nominal_days for charge in charges)
    assert sum(c.amount for c in charges) == term.quantity * term.unit_price * term.periods


@FAST
@given(aligned_terms(), st.data())
def test_an_upgrade_and_its_reverse_downgrade_of_the_same_day_net_to_zero(
    term: AlignedTerm, data: st.DataObject
) -> None:
    amended, baseline = term.biller(), term.biller()
    first_run = term.start + timedelta(days=data.draw(st.integers(0, term.days + 30)))
    amended.run(first_run)
    baseline.run(first_run)
    billed_until = max((b.end_exclusive for b in amended.billed.get("sub_seat", [])), default=None)
    assume(billed_until is not None)
    assert billed_until is not None
    # E falls in a span billed already: its adjustments are proration and credit lines.
    effective = term.start + timedelta(
        days=data.draw(st.integers(0, (billed_until - term.start).days - 1))
    )
    upgraded = term.quantity + data.draw(st.integers(1, 20))
    billed_apart = data.draw(st.booleans())
    later = sorted(data.draw(st.lists(st.integers(0, term.days + 60), max_size=4)))
    runs = [first_run + timedelta(days=d) for d in later] + [term.end + ONE_DAY]

    seat = amended.subscriptions["sub_seat"]
    amended.order(amendment_order("or_up", effective, [(seat, upgraded)]))
    after: list[Numbered] = []
    baseline_after: list[Numbered] = []
    if billed_apart:
        between = first_run + timedelta(days=data.draw(st.integers(0, 60)))
        after += amended.run(between)
        baseline_after += baseline.run(between)
        runs = [max(as_of, between) for as_of in runs]
    seat = amended.subscriptions["sub_seat"]
    amended.order(amendment_order("or_down", effective, [(seat, term.quantity)]))
    for as_of in runs:
        after += amended.run(as_of)
        baseline_after += baseline.run(as_of)

    # Lines billed at the higher quantity in between are credited back exactly: every
    # span is a full period, and the proration and credit of a part are the same days.
    assert _amount(after) == _amount(baseline_after)


# Any subscription, with amendments, a termination and reruns among the runs.


@dataclass(frozen=True)
class History:
    """One subscription (maybe with a one-time charge) and what happens to it, in order."""

    period: BillingPeriod
    bill_cycle_day: int
    start: date
    end: date
    unit_price: int
    quantity: int
    timing: BillingTiming
    one_time: bool
    steps: tuple[tuple[str, date, int], ...]  # ("run", as_of, 0) | ("amend", E, qty) | ...

    @property
    def termination(self) -> date | None:
        ends = [day for kind, day, _ in self.steps if kind.startswith("terminate")]
        return ends[0] if ends else None

    @property
    def last_day(self) -> date:
        """The last day of service: the end, or the day before the termination."""
        t = self.termination
        return self.end if t is None else t - ONE_DAY


@st.composite
def histories(draw: st.DrawFn) -> History:
    period = draw(st.sampled_from(PERIODS))
    start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 3 * 365)))
    end = term_end(start, draw(st.integers(1, 24)))
    days = (end - start).days + 1
    as_of = start - timedelta(days=draw(st.integers(0, 40)))
    steps: list[tuple[str, date, int]] = []
    terminated = False
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["run", "run", "rerun", "amend", "terminate"]))
        if kind == "run":
            as_of += timedelta(days=draw(st.integers(1, 120)))
            steps.append(("run", as_of, 0))
        elif kind == "rerun":
            steps.append(("run", as_of, 0))
        elif not terminated and kind == "amend":
            effective = start + timedelta(days=draw(st.integers(0, days - 1)))
            steps.append(("amend", effective, draw(st.integers(1, 20))))
        elif not terminated and days > 1:
            t = start + timedelta(days=draw(st.integers(1, days - 1)))
            credit = draw(st.booleans())
            steps.append(("terminate_with_credit" if credit else "terminate", t, 0))
            terminated = True
    steps.append(("run", max(as_of, end + ONE_DAY), 0))
    return History(
        period=period,
        bill_cycle_day=draw(st.integers(1, 31)),
        start=start,
        end=end,
        unit_price=draw(st.integers(1, 10**6)),
        quantity=draw(st.integers(1, 20)),
        timing=draw(st.sampled_from(TIMINGS)),
        one_time=draw(st.booleans()),
        steps=tuple(steps),
    )


@dataclass
class Replay:
    """What a history issued, run by run (rerunning each run's as_of right after it)."""

    runs: list[tuple[date, list[Numbered]]]
    reruns: list[list[Numbered]]
    after_termination: list[Numbered]


def replay(history: History) -> Replay:
    biller = Biller()
    items = [
        item(
            "sub_seat",
            "SEAT",
            unit_price=history.unit_price,
            quantity=history.quantity,
            start=history.start,
            end=history.end,
            period=history.period,
        )
    ]
    if history.one_time:
        setup = item(
            "sub_setup",
            "SETUP",
            unit_price=history.unit_price,
            quantity=history.quantity,
            start=history.start,
            end=history.end,
            charge_type="one_time",
        )
        items.append(setup)
    order = new_order(
        "or_new", *items, bill_cycle_day=history.bill_cycle_day, timing=history.timing
    )
    biller.order(order)
    result = Replay(runs=[], reruns=[], after_termination=[])
    terminated = False
    for number, (kind, day, quantity) in enumerate(history.steps):
        seat = biller.subscriptions["sub_seat"]
        if kind == "run":
            issued = biller.run(day)
            result.runs.append((day, issued))
            result.reruns.append(biller.run(day))
            if terminated:
                result.after_termination += issued
        elif kind == "amend":
            biller.order(amendment_order(f"or_{number}", day, [(seat, quantity)]))
        else:
            credit = kind == "terminate_with_credit"
            biller.order(termination_order(f"or_{number}", day, [seat], credit_unused=credit))
            terminated = True
    return result


@FAST
@given(histories())
def test_no_day_is_billed_twice_as_recurring_and_a_rerun_bills_nothing(history: History) -> None:
    result = replay(history)
    issued = [numbered for _, run in result.runs for numbered in run]
    recurring = sorted(
        (c.start, c.end_exclusive) for c in _charges(issued) if c.kind == "recurring"
    )

    assert all(rerun == [] for rerun in result.reruns)
    for (_, end), (next_start, _) in itertools.pairwise(recurring):
        assert end <= next_start, f"{next_start} billed twice"
        # No gap either: every day of service is billed once, from the start on.
        assert end == next_start
    assert recurring[0][0] == history.start
    assert recurring[-1][1] > history.last_day


@FAST
@given(histories())
def test_nothing_bills_past_the_end_date(history: History) -> None:
    result = replay(history)
    issued = [numbered for _, run in result.runs for numbered in run]
    charges = _charges(issued)

    if history.termination is None:
        assert max(c.end_exclusive for c in charges) == history.end + ONE_DAY
    else:
        # Spans billed before the termination keep their days (W14: June billed in full);
        # nothing billed after it runs past T - 1, credits of the unused days aside.
        later = [c for c in _charges(result.after_termination) if c.kind == "recurring"]
        assert all(c.end_exclusive <= history.termination for c in later)


@FAST
@given(histories())
def test_amounts_are_ints_and_each_total_is_the_sum_of_its_lines(history: History) -> None:
    result = replay(history)
    issued = [(as_of, numbered) for as_of, run in result.runs for numbered in run]

    for as_of, (number, document) in issued:
        net = sum(line.amount for line in document.lines)
        assert all(type(line.amount) is int for line in document.lines)
        assert type(document.total) is int
        assert document.total == abs(net)
        assert document.issue_date == as_of
        if net >= 0:
            assert (document.kind, number[:4]) == ("invoice", "INV-")
            assert document.due_date == as_of + timedelta(days=30)
        else:
            assert (document.kind, number[:3], document.due_date) == ("credit_note", "CN-", None)
    invoices = [n for _, (n, d) in issued if d.kind == "invoice"]
    credit_notes = [n for _, (n, d) in issued if d.kind == "credit_note"]
    assert invoices == [f"INV-{i:06d}" for i in range(1, len(invoices) + 1)]
    assert credit_notes == [f"CN-{i:06d}" for i in range(1, len(credit_notes) + 1)]


# One-time charges.


@FAST
@given(
    st.sampled_from(TIMINGS),
    st.integers(1, 31),
    st.lists(st.integers(-40, 400), min_size=1, max_size=6),
)
def test_a_one_time_charge_bills_once_in_full_on_the_first_run_on_or_after_its_start(
    timing: BillingTiming, bill_cycle_day: int, offsets: list[int]
) -> None:
    start = date(2026, 5, 20)
    biller = Biller()
    setup = item(
        "sub_setup",
        "SETUP",
        unit_price=25001,
        quantity=3,
        start=start,
        end=term_end(start, 12),
        charge_type="one_time",
    )
    biller.order(new_order("or_new", setup, bill_cycle_day=bill_cycle_day, timing=timing))
    runs = _run_dates(start, offsets)

    billed = [(as_of, all_lines(biller.run(as_of))) for as_of in runs]

    billing_runs = [(as_of, texts) for as_of, texts in billed if texts]
    first_on_or_after = next((as_of for as_of in runs if as_of >= start), None)
    if first_on_or_after is None:
        assert billing_runs == []
    else:
        assert billing_runs == [
            (first_on_or_after, ["one_time SETUP qty 3 2026-05-20..2026-05-20 = 75003"])
        ]


def test_a_subscription_ending_mid_period_bills_its_last_stub_and_nothing_after() -> None:
    for timing in TIMINGS:
        biller = Biller()
        biller.order(
            new_order(
                "or_new",
                item(
                    "sub_seat",
                    "SEAT",
                    unit_price=2800,
                    quantity=1,
                    start=date(2026, 1, 1),
                    end=date(2026, 2, 10),
                ),
                timing=timing,
            )
        )

        runs = [date(2026, 2, 11), date(2026, 3, 1), date(2027, 1, 1)]
        billed = [all_lines(biller.run(as_of)) for as_of in runs]

        assert billed == [
            [
                "recurring SEAT qty 1 2026-01-01..2026-01-31 31/31 = 2800",
                "recurring SEAT qty 1 2026-02-01..2026-02-10 10/28 = 1000",
            ],
            [],
            [],
        ], timing


def test_a_termination_before_a_future_dated_amendment_bills_nothing_past_its_end_date() -> None:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_seat",
                "SEAT",
                unit_price=36500,
                quantity=10,
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
                period="year",
            ),
        )
    )
    biller.run(date(2026, 1, 1))
    seat = biller.subscriptions["sub_seat"]
    biller.order(amendment_order("or_down", date(2026, 8, 1), [(seat, 5)]))
    seat = biller.subscriptions["sub_seat"]
    biller.order(termination_order("or_end", date(2026, 6, 16), [seat], credit_unused=True))

    runs = [date(2026, 6, 16), date(2026, 8, 1), date(2026, 12, 31)]
    billed = [all_lines(biller.run(as_of)) for as_of in runs]

    # T 2026-06-16: the service ends on 2026-06-15, so every billed day from T is credited
    # and the amendment of 2026-08-01, after the end, changes nothing.
    assert billed == [
        ["credit SEAT qty 10 2026-06-16..2026-12-31 199/365 = -199000"],
        [],
        [],
    ]


# Rounding: half up, ties away from zero, the same for credits.


def test_a_tie_rounds_away_from_zero_for_charges_and_credits_alike() -> None:
    assert round_half_up(Decimal("555.5")) == 556
    assert round_half_up(Decimal("-555.5")) == -556
    assert span_amount(4545, 1, 11, 90) == 556
    assert span_amount(4545, -1, 11, 90) == -556


def test_a_downgrade_credit_of_555_and_a_half_is_556() -> None:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_b",
                "B",
                unit_price=4545,
                quantity=2,
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
                period="quarter",
            ),
        )
    )
    biller.run(date(2026, 1, 1))
    biller.order(
        amendment_order("or_down", date(2026, 3, 21), [(biller.subscriptions["sub_b"], 1)])
    )

    issued = biller.run(date(2026, 3, 21))

    assert headers(issued) == ["CN-000001 credit_note 2026-03-21 total 556"]
    assert all_lines(issued) == ["credit B qty 1 2026-03-21..2026-03-31 11/90 = -556"]


# Documents: line order, zero totals.


def _three_subscriptions_billed_for_march() -> Biller:
    biller = Biller()
    biller.order(
        new_order(
            "or_new",
            item(
                "sub_a", "SEAT", unit_price=5000, quantity=10, start=date(2026, 3, 1), end=YEAR_END
            ),
            item(
                "sub_m", "SEAT", unit_price=5000, quantity=10, start=date(2026, 3, 1), end=YEAR_END
            ),
            item(
                "sub_addon",
                "ADDON",
                unit_price=1000,
                quantity=5,
                start=date(2026, 3, 1),
                end=YEAR_END,
            ),
        )
    )
    biller.run(date(2026, 3, 1))
    return biller


def test_lines_are_ordered_by_period_start_then_sku_then_kind() -> None:
    biller = _three_subscriptions_billed_for_march()
    effective = date(2026, 3, 11)
    subs = biller.subscriptions
    biller.order(
        amendment_order(
            "or_amend",
            effective,
            [(subs["sub_m"], 15), (subs["sub_a"], 8), (subs["sub_addon"], 6)],
            added=[
                item("sub_z", "SEAT", unit_price=5000, quantity=1, start=effective, end=YEAR_END),
                item(
                    "sub_setup",
                    "SETUP",
                    unit_price=25000,
                    quantity=1,
                    charge_type="one_time",
                    start=effective,
                    end=YEAR_END,
                ),
            ],
        )
    )

    [(_, invoice)] = biller.run(date(2026, 4, 1))

    # On 2026-03-11 kind decides among the SEAT lines (sub_z, sub_m, sub_a: ids reversed).
    assert all_lines([("", invoice)]) == [
        "proration ADDON qty 1 2026-03-11..2026-03-31 21/31 = 677",
        "recurring SEAT qty 1 2026-03-11..2026-03-31 21/31 = 3387",
        "proration SEAT qty 5 2026-03-11..2026-03-31 21/31 = 16935",
        "credit SEAT qty 2 2026-03-11..2026-03-31 21/31 = -6774",
        "one_time SETUP qty 1 2026-03-11..2026-03-11 = 25000",
        "recurring ADDON qty 6 2026-04-01..2026-04-30 30/30 = 6000",
        "recurring SEAT qty 8 2026-04-01..2026-04-30 30/30 = 40000",
        "recurring SEAT qty 15 2026-04-01..2026-04-30 30/30 = 75000",
        "recurring SEAT qty 1 2026-04-01..2026-04-30 30/30 = 5000",
    ]


def test_a_run_issues_one_document_per_account_and_currency_numbered_in_that_order() -> None:
    biller = Biller()
    for account_id, currency, price in [("beta", "USD", 300), ("acme", "USD", 200)]:
        biller.order(
            new_order(
                f"or_{account_id}_{currency}",
                item(
                    f"sub_{account_id}_{currency}",
                    "SEAT",
                    unit_price=price,
                    quantity=1,
                    start=date(2026, 1, 1),
                    end=YEAR_END,
                ),
                currency=currency,
                account_id=account_id,
            )
        )
    biller.order(
        new_order(
            "or_acme_eur",
            item(
                "sub_acme_eur",
                "SEAT",
                unit_price=100,
                quantity=1,
                start=date(2026, 1, 1),
                end=YEAR_END,
            ),
            currency="EUR",
        )
    )

    issued = biller.run(date(2026, 1, 1))

    assert [(n, d.account_id, d.currency, d.total) for n, d in issued] == [
        ("INV-000001", "acme", "EUR", 100),
        ("INV-000002", "acme", "USD", 200),
        ("INV-000003", "beta", "USD", 300),
    ]


def test_a_run_whose_lines_net_to_zero_issues_an_invoice_for_0() -> None:
    biller = _three_subscriptions_billed_for_march()
    subs = biller.subscriptions
    biller.order(
        amendment_order("or_swap", date(2026, 3, 11), [(subs["sub_m"], 11), (subs["sub_a"], 9)])
    )

    issued = biller.run(date(2026, 3, 11))

    assert headers(issued) == ["INV-000002 invoice 2026-03-11 due 2026-04-10 total 0"]
    assert all_lines(issued) == [
        "proration SEAT qty 1 2026-03-11..2026-03-31 21/31 = 3387",
        "credit SEAT qty 1 2026-03-11..2026-03-31 21/31 = -3387",
    ]
