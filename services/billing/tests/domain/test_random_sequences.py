"""Random order, control and bill-run sequences against a reference of BILLING_RULES.md.

Hypothesis draws a 12-month contract (start in 2026, BCD 1..31, advance or arrears,
1 to 3 recurring subscriptions) and a sequence of events in date order: amendments
(up, down, to 0, adding a co-terminated subscription; effective anywhere in the term,
so backdated or future-dated against the runs), holds, releases, billing-date
overrides, at most one termination (with or without credit_unused) and bill runs on
increasing dates, reruns of a date included. It drives the pure billing domain the
way the service does, and checks each run and the end state against reference.py,
a model written from the rules alone:

(a) nothing raises and nothing is stuck: once every hold is released, a run far past
    the contract end leaves nothing due (a rerun bills nothing, next_bill_date is None);
(b) nothing is billed twice: recurring lines of a subscription never overlap;
(c) what is billed is what the rules say: every line lies in a span of the reference
    grid with its nominal period and amount round_half_up(price x qty x days/nominal);
    a recurring line bills the quantity in force, only once its span is due and its
    order is neither held nor overridden past the run; an adjustment only once its
    change is effective; and whenever nothing is held or pending, the net quantity
    billed on each day (recurring + proration - credit) is the quantity in force (from
    T on: 0 with credit_unused, else the quantity on T - 1 on the days billed when the
    termination came; see reference.Subscription.acceptable_net), with every day of
    every due span with a quantity billed.
"""

from __future__ import annotations

import itertools
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from billing.domain.bill_run import bill_account
from billing.domain.orders import BillingOrder, OrderLine, schedule_order
from billing.domain.planning import due, next_bill_date, plan, plan_due, plan_next_bill_date
from billing.domain.schedule import BilledCharge, Charge, OrderControl, Subscription
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

import reference as ref

ONE_DAY = timedelta(days=1)
ACCOUNT = "acct_rand"
CONTRACT = "ct_rand"
CURRENCY = "USD"
PERIODS = ("month", "quarter", "half_year", "year")


# -- the scenario -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewSub:
    sub_id: str
    period: str
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class Run:
    on: date


@dataclass(frozen=True)
class Amend:
    on: date
    order_id: str
    effective: date
    set_quantities: tuple[tuple[str, int], ...]
    added: tuple[NewSub, ...]


@dataclass(frozen=True)
class Terminate:
    on: date
    order_id: str
    first_day_without_service: date
    credit_unused: bool


@dataclass(frozen=True)
class Hold:
    on: date
    order_id: str


@dataclass(frozen=True)
class Release:
    on: date
    order_id: str


@dataclass(frozen=True)
class Override:
    on: date
    order_id: str
    billing_date: date


Event = Run | Amend | Terminate | Hold | Release | Override


@dataclass(frozen=True)
class Scenario:
    start: date
    end: date
    bill_cycle_day: int
    timing: str
    subs: tuple[NewSub, ...]
    events: tuple[Event, ...]


def new_sub(sub_id: str) -> st.SearchStrategy[NewSub]:
    return st.builds(
        NewSub,
        sub_id=st.just(sub_id),
        period=st.sampled_from(PERIODS),
        unit_price=st.integers(1, 200_000),
        quantity=st.integers(1, 20),
    )


EVENT_KINDS = (
    "run",
    "run",
    "run",
    "amend",
    "amend",
    "hold",
    "release",
    "override",
    "terminate",
    "terminate",
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    start = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
    end = ref.term_end(start, 12)
    term_days = (end - start).days + 1
    bill_cycle_day = draw(st.integers(1, 31))
    timing = draw(st.sampled_from(("advance", "arrears")))
    subs = tuple(draw(new_sub(f"s{i + 1}")) for i in range(draw(st.integers(1, 3))))
    sub_starts = {s.sub_id: start for s in subs}
    orders = ["o1"]
    terminated = False
    cursor = start - timedelta(days=draw(st.integers(0, 10)))
    events: list[Event] = []
    for _ in range(draw(st.integers(1, 24))):
        cursor += timedelta(days=draw(st.integers(0, 40)))
        kind = draw(st.sampled_from(EVENT_KINDS))
        if terminated and kind in ("amend", "terminate"):
            kind = "run"
        if kind == "run":
            events.append(Run(cursor))
        elif kind == "amend":
            order_id = f"o{len(orders) + 1}"
            effective = start + timedelta(days=draw(st.integers(0, term_days - 1)))
            changes = []
            for sub_id, sub_start in sub_starts.items():
                if sub_start <= effective and draw(st.booleans()):
                    changes.append((sub_id, draw(st.integers(0, 20))))
            added: list[NewSub] = []
            if not changes or draw(st.integers(0, 3)) == 0:
                added.append(draw(new_sub(f"s{len(sub_starts) + 1}")))
                sub_starts[added[0].sub_id] = effective
            orders.append(order_id)
            events.append(Amend(cursor, order_id, effective, tuple(changes), tuple(added)))
        elif kind == "terminate":
            order_id = f"o{len(orders) + 1}"
            first_day = start + timedelta(days=draw(st.integers(1, term_days - 1)))
            orders.append(order_id)
            events.append(Terminate(cursor, order_id, first_day, draw(st.booleans())))
            terminated = True
        elif kind == "hold":
            events.append(Hold(cursor, draw(st.sampled_from(orders))))
        elif kind == "release":
            events.append(Release(cursor, draw(st.sampled_from(orders))))
        else:
            billing_date = cursor + timedelta(days=draw(st.integers(-20, 90)))
            events.append(Override(cursor, draw(st.sampled_from(orders)), billing_date))
    return Scenario(start, end, bill_cycle_day, timing, subs, tuple(events))


# -- driving the domain, checking against the reference ----------------------------------


@dataclass
class Control:
    held: bool = False
    billing_date: date | None = None

    def allows(self, as_of: date) -> bool:
        return not self.held and (self.billing_date is None or as_of >= self.billing_date)


@dataclass
class World:
    scenario: Scenario
    subs: dict[str, Subscription] = field(default_factory=dict)
    refs: dict[str, ref.Subscription] = field(default_factory=dict)
    billed: dict[str, list[BilledCharge]] = field(default_factory=lambda: defaultdict(list))
    lines: dict[str, list[Charge]] = field(default_factory=lambda: defaultdict(list))
    controls: dict[str, Control] = field(default_factory=dict)
    sequence: int = 0

    # -- orders ------------------------------------------------------------------------
    def order(
        self,
        order_id: str,
        kind: str,
        effective: date,
        items: list[OrderLine],
        credit_unused: bool = False,
    ) -> None:
        self.sequence += 1
        contract_end = self.scenario.end
        if kind == "termination":
            contract_end = effective - ONE_DAY
        order = BillingOrder(
            order_id=order_id,
            contract_id=CONTRACT,
            account_id=ACCOUNT,
            kind=kind,  # type: ignore[arg-type]
            currency=CURRENCY,
            effective_date=effective,
            bill_cycle_day=self.scenario.bill_cycle_day,
            billing_timing=self.scenario.timing,  # type: ignore[arg-type]
            contract_end_date=contract_end,
            credit_unused=credit_unused,
            items=tuple(items),
            event_id=f"ev_{order_id}",
        )
        for sub in schedule_order(self.subs, order, self.sequence):
            self.subs[sub.subscription_id] = sub
        self.controls.setdefault(order_id, Control())

    def item(self, sub_id: str, period: str, price: int, old: int, new: int, on: date) -> OrderLine:
        return OrderLine(
            subscription_id=sub_id,
            sku=f"SKU-{sub_id}",
            name=f"Plan {sub_id}",
            charge_type="recurring",
            billing_period=period,  # type: ignore[arg-type]
            quantity_delta=new - old,
            quantity=new,
            unit_price=price,
            start_date=on,
            end_date=self.scenario.end,
        )

    def add(self, order_id: str, sub: NewSub, on: date) -> OrderLine:
        self.refs[sub.sub_id] = ref.Subscription(
            subscription_id=sub.sub_id,
            period=sub.period,
            unit_price=sub.unit_price,
            bill_cycle_day=self.scenario.bill_cycle_day,
            timing=self.scenario.timing,
            start=on,
            end=self.scenario.end,
            changes=[ref.Change(on, self.sequence + 1, sub.quantity, order_id)],
        )
        return self.item(sub.sub_id, sub.period, sub.unit_price, 0, sub.quantity, on)

    def start(self) -> None:
        s = self.scenario
        items = [self.add("o1", sub, s.start) for sub in s.subs]
        self.order("o1", "new", s.start, items)

    def amend(self, event: Amend) -> None:
        items = []
        for sub_id, quantity in event.set_quantities:
            r = self.refs[sub_id]
            old = r.quantity_in_force(event.effective)
            r.changes.append(
                ref.Change(event.effective, self.sequence + 1, quantity, event.order_id)
            )
            items.append(self.item(sub_id, r.period, r.unit_price, old, quantity, event.effective))
        items += [self.add(event.order_id, sub, event.effective) for sub in event.added]
        self.order(event.order_id, "amendment", event.effective, items)

    def terminate(self, event: Terminate) -> None:
        first_day = event.first_day_without_service
        items = []
        for sub_id, r in self.refs.items():
            old = r.quantity_in_force(first_day)
            r.termination = ref.Termination(
                first_day, event.credit_unused, event.order_id, self.sequence + 1
            )
            r.billed_at_termination = tuple(
                (b.start, b.end_exclusive, b.signed_quantity) for b in self.billed[sub_id]
            )
            r.recurring_at_termination = tuple(
                (b.start, b.end_exclusive) for b in self.billed[sub_id] if b.kind == "recurring"
            )
            items.append(self.item(sub_id, r.period, r.unit_price, old, 0, first_day))
        self.order(event.order_id, "termination", first_day, items, event.credit_unused)

    # -- runs --------------------------------------------------------------------------
    def domain_controls(self) -> dict[str, OrderControl]:
        return {k: OrderControl(c.held, c.billing_date) for k, c in self.controls.items()}

    def run(self, as_of: date) -> list[Charge]:
        controls = self.domain_controls()
        for sub in self.subs.values():
            # The run plans lazily (only up to as_of): the same as planning everything.
            billed_so_far = self.billed[sub.subscription_id]
            everything = plan(sub, billed_so_far)
            assert plan_due(sub, billed_so_far, as_of, controls) == due(everything, as_of, controls)
            assert plan_next_bill_date(sub, billed_so_far, controls) == next_bill_date(
                everything, controls
            )
        documents = bill_account(self.subs.values(), self.billed, controls, as_of, 30)
        billed: list[Charge] = []
        for document in documents:
            assert document.issue_date == as_of
            assert (document.kind == "invoice") == (document.net >= 0)
            billed.extend(document.lines)
        note(f"run {as_of}: " + ("nothing" if not billed else ""))
        for line in billed:
            note(f"    {describe(line)}")
            self.check_line(line, as_of)
        for line in billed:
            sub_id = line.subscription.subscription_id
            self.billed[sub_id].append(line.as_billed())
            self.lines[sub_id].append(line)
        self.check_billed()
        if self.settled(as_of):
            self.check_complete(as_of)
        return billed

    def allows(self, order_ids: frozenset[str], as_of: date) -> bool:
        """True when every one of the orders may bill on a run as of `as_of`."""
        return all(self.controls[order_id].allows(as_of) for order_id in order_ids)

    def check_line(self, line: Charge, as_of: date) -> None:
        r = self.refs[line.subscription.subscription_id]
        assert line.kind in ("recurring", "proration", "credit"), line
        assert line.quantity > 0 and line.start < line.end_exclusive, line
        span = r.span_at(line.start)
        assert span is not None, f"{describe(line)} outside the grid"
        assert (line.span_start, line.nominal_start, line.nominal_end_exclusive) == (
            span.start,
            span.nominal_start,
            span.nominal_end_exclusive,
        ), f"{describe(line)}: reference span {span}"
        assert span.contains(line.start, line.end_exclusive), f"{describe(line)} leaves {span}"
        signed = -line.quantity if line.kind == "credit" else line.quantity
        days = (line.end_exclusive - line.start).days
        expected = ref.line_amount(r.unit_price, signed, days, span.nominal_days)
        assert line.amount == expected, f"{describe(line)}: rules give {expected}"
        if line.kind == "recurring":
            service = r.span_at(line.start, r.service_grid())
            assert service is not None and service.contains(line.start, line.end_exclusive), (
                f"{describe(line)} past the end of service {r.service_end()}"
            )
            assert service.due_date(r.timing) <= as_of, f"{describe(line)} billed before due"
            for day, _ in ref.segments(r.breakpoints(), line.start, line.end_exclusive):
                in_force = r.quantity_in_force(day)
                assert in_force == line.quantity, f"{describe(line)}: {in_force} in force {day}"
                orders = r.orders_behind(day)
                assert self.allows(orders, as_of), f"{describe(line)}: {orders} block {day}"
        else:
            _, effective = r.governing_orders(line.start)
            assert effective is not None and effective <= as_of, (
                f"{describe(line)} billed before its change ({effective}) is effective"
            )
            # Orders only accumulate over a term: those behind the last day cover every day.
            orders = r.orders_behind(line.end_exclusive - ONE_DAY)
            assert self.allows(orders, as_of), f"{describe(line)}: {orders} block it"

    def check_billed(self) -> None:
        """No span billed twice; adjustments only inside billed recurring days of their span."""
        for sub_id, lines in self.lines.items():
            recurring = sorted((c for c in lines if c.kind == "recurring"), key=lambda c: c.start)
            for before, after in itertools.pairwise(recurring):
                assert before.end_exclusive <= after.start, (
                    f"{sub_id} billed twice: {describe(before)} and {describe(after)}"
                )
            for c in lines:
                if c.kind != "recurring":
                    same_span = [
                        (x.start, x.end_exclusive)
                        for x in recurring
                        if x.span_start == c.span_start
                    ]
                    assert ref.covers(same_span, c.start, c.end_exclusive), (
                        f"{describe(c)} adjusts days never billed"
                    )

    def settled(self, as_of: date) -> bool:
        """Nothing held or overridden past as_of, every change effective by then."""
        if not all(c.allows(as_of) for c in self.controls.values()):
            return False
        for r in self.refs.values():
            if any(c.effective > as_of for c in r.changes):
                return False
            if r.termination is not None and r.termination.first_day_without_service > as_of:
                return False
        return True

    def net(self, sub_id: str, day: date) -> int:
        return sum(
            -c.quantity if c.kind == "credit" else c.quantity
            for c in self.lines[sub_id]
            if c.start <= day < c.end_exclusive
        )

    def check_complete(self, as_of: date, final: bool = False) -> None:
        """Everything due by as_of is billed, at the net quantity the rules give."""
        for sub_id, r in self.refs.items():
            lines = self.lines[sub_id]
            points = r.breakpoints() | {c.start for c in lines} | {c.end_exclusive for c in lines}
            recurring = [(c.start, c.end_exclusive) for c in lines if c.kind == "recurring"]
            for span in r.service_grid():
                if span.due_date(r.timing) > as_of:
                    continue
                for day, until in ref.segments(points, span.start, span.end_exclusive):
                    if r.quantity_in_force(day) > 0:
                        assert ref.covers(recurring, day, until), (
                            f"{sub_id}: {day}..{until - ONE_DAY} due by {as_of}, not billed"
                        )
            if final:
                checked = [(r.start, r.end + ONE_DAY)]
                if r.termination is not None:
                    first_day = r.termination.first_day_without_service
                    before = list(r.recurring_at_termination)
                    for s, e in recurring:
                        if e > first_day:
                            assert ref.covers(before, max(s, first_day), e), (
                                f"{sub_id}: {max(s, first_day)}..{e - ONE_DAY} "
                                f"billed after the termination at {first_day}"
                            )
            else:
                checked = ref.merged(recurring)
            for start, end in checked:
                for day, until in ref.segments(points, start, end):
                    net, expected = self.net(sub_id, day), r.acceptable_net(day)
                    assert net in expected, (
                        f"{sub_id}: {day}..{until - ONE_DAY} billed net qty {net}, "
                        f"rules say {' or '.join(map(str, sorted(expected)))}"
                    )

    def finish(self) -> None:
        """Release every hold, run far past the end: all billed, nothing left."""
        for control in self.controls.values():
            control.held = False
        # Past the term, the last event and the latest override: a run before an
        # override may rightly bill nothing of its order.
        latest = [self.scenario.end, *(e.on for e in self.scenario.events)]
        latest += [e.billing_date for e in self.scenario.events if isinstance(e, Override)]
        far = max(latest) + timedelta(days=400)
        note("release every hold")
        self.run(far)
        self.check_complete(far, final=True)
        assert self.run(far) == [], "a rerun billed again"
        controls = self.domain_controls()
        for sub in self.subs.values():
            left = plan(sub, self.billed[sub.subscription_id])
            assert next_bill_date(left, controls) is None, (
                f"{sub.subscription_id} stuck: {[describe(c) for c in left]}"
            )


def describe(c: Charge) -> str:
    last = c.end_exclusive - ONE_DAY
    return (
        f"{c.subscription.subscription_id} {c.kind} qty {c.quantity} {c.start}..{last} "
        f"(span {c.span_start}, nominal {c.nominal_start}..{c.nominal_end_exclusive - ONE_DAY}) "
        f"= {c.amount} [{c.order_id}]"
    )


def play(scenario: Scenario) -> None:
    world = World(scenario)
    note(
        f"contract {scenario.start}..{scenario.end} BCD {scenario.bill_cycle_day} "
        f"{scenario.timing}; o1 new {scenario.subs}"
    )
    world.start()
    for event in scenario.events:
        if not isinstance(event, Run):
            note(f"{event}")
        if isinstance(event, Run):
            world.run(event.on)
        elif isinstance(event, Amend):
            world.amend(event)
        elif isinstance(event, Terminate):
            world.terminate(event)
        elif isinstance(event, Hold):
            world.controls[event.order_id].held = True
        elif isinstance(event, Release):
            world.controls[event.order_id].held = False
        else:
            world.controls[event.order_id].billing_date = event.billing_date
    world.finish()


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
# An override dated after the term end and after end + 400 days (once a false failure).
@example(
    Scenario(
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        bill_cycle_day=1,
        timing="advance",
        subs=(NewSub("s1", "month", 1000, 1),),
        events=(Override(date(2027, 12, 20), "o1", date(2028, 3, 1)),),
    )
)
# A subscription added by an amendment effective 3 Jan and terminated with 2 Jan as the
# first day without service: the hold on the termination's order must keep its credit
# back (fixed in 6507686, "a termination governs its days even before the term it ends").
@example(
    Scenario(
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        bill_cycle_day=1,
        timing="advance",
        subs=(NewSub("s1", "month", 1000, 1),),
        events=(
            Amend(date(2026, 1, 1), "o2", date(2026, 1, 3), (), (NewSub("s2", "month", 3100, 1),)),
            Run(date(2026, 1, 5)),
            Terminate(date(2026, 1, 6), "o3", date(2026, 1, 2), True),
            Hold(date(2026, 1, 6), "o3"),
            Run(date(2026, 1, 7)),
        ),
    )
)
def test_random_sequences_bill_what_the_rules_say(scenario: Scenario) -> None:
    play(scenario)
