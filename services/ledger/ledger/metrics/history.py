"""The metrics' input: facts about recurring lines, contract terms and quotes, each with the
time it became known, and the one bitemporal filter that folds them as known at a time.

Business time is the facts' dates (what `effective_date` decides); record time is
`recorded_at` (the event's `occurred_at`). `History.as_known_at(t)` keeps the facts
recorded at or before `t` and folds them into a `Snapshot`; every figure reads a
Snapshot, so no figure filters by record time on its own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Literal

from revline_pricing import period_months, round_half_up

from ledger.metrics.errors import InconsistentHistory

BillingPeriod = Literal["month", "quarter", "half_year", "year"]
QuoteKind = Literal["new", "amendment", "renewal"]
QUOTE_KINDS: tuple[QuoteKind, ...] = ("new", "amendment", "renewal")


def monthly_amount(unit_price: int, quantity: int, billing_period: str) -> int:
    """A recurring line's MRR: round_half_up(unit_price x quantity / n), multiplied first.

    n = 1, 3, 6, 12 for month, quarter, half_year, year; one rounding per line.
    """
    return round_half_up(Decimal(unit_price * quantity) / Decimal(period_months(billing_period)))


# --- facts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineStarted:
    """A recurring line came into force: a subscription of a contract, an amendment or a renewal.

    `unit_price` is the net price per unit and billing period, in minor units;
    `end_date` is the line's last day (inclusive). One-time charges are never lines.
    """

    recorded_at: datetime
    line_id: str
    account_id: str
    currency: str
    contract_id: str
    billing_period: BillingPeriod
    unit_price: int
    quantity: int
    start_date: date
    end_date: date


@dataclass(frozen=True)
class QuantityChanged:
    """From `effective_date` on, the line runs at `quantity` (0 removes it)."""

    recorded_at: datetime
    line_id: str
    effective_date: date
    quantity: int


@dataclass(frozen=True)
class TermStarted:
    """A contract runs a term `start_date` to `end_date` (inclusive).

    `quote_id` is the quote it came from, if any; `renews` names the contract whose
    term it continues when that is another contract (a renewal under the same
    contract id needs no link: its term starts the day after the previous one ends).
    """

    recorded_at: datetime
    contract_id: str
    account_id: str
    currency: str
    start_date: date
    end_date: date
    quote_id: str | None = None
    renews: str | None = None


@dataclass(frozen=True)
class ContractEnded:
    """Service stops early: `end_date` is the last day of service (a termination effective the
    day after). Every line and term of the contract ends on it at the latest."""

    recorded_at: datetime
    contract_id: str
    end_date: date


@dataclass(frozen=True)
class PricedLine:
    """A recurring line of an accepted quote: the ACV input."""

    billing_period: BillingPeriod
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class QuoteCreated:
    """A quote was drafted (its sales cycle starts on `created_on`)."""

    recorded_at: datetime
    quote_id: str
    account_id: str
    currency: str
    kind: QuoteKind
    created_on: date


@dataclass(frozen=True)
class QuotePresented:
    """The quote went to the customer: open pipeline until decided."""

    recorded_at: datetime
    quote_id: str
    presented_on: date


@dataclass(frozen=True)
class QuoteAccepted:
    """The customer accepted: a booking dated `accepted_on`.

    `recurring` are its recurring lines at their starting quantities (ACV = 12 x
    their MRR, the contract's MRR on its start date); `total_contract_value` is the
    quote's TCV in minor units.
    """

    recorded_at: datetime
    quote_id: str
    accepted_on: date
    recurring: tuple[PricedLine, ...]
    total_contract_value: int


@dataclass(frozen=True)
class QuoteRejected:
    """The customer turned the quote down: lost."""

    recorded_at: datetime
    quote_id: str
    rejected_on: date


Fact = (
    LineStarted
    | QuantityChanged
    | TermStarted
    | ContractEnded
    | QuoteCreated
    | QuotePresented
    | QuoteAccepted
    | QuoteRejected
)


def known_at(facts: Iterable[Fact], at: datetime) -> list[Fact]:
    """The facts recorded at or before `at`, in the order given: the one bitemporal filter."""
    return [fact for fact in facts if fact.recorded_at <= at]


# --- state as known ----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A recurring line as known: its quantities by effective date and its effective end."""

    line_id: str
    account_id: str
    currency: str
    contract_id: str
    billing_period: BillingPeriod
    unit_price: int
    start_date: date
    end_date: date  # inclusive, already cut by a ContractEnded
    change_dates: tuple[date, ...]  # ascending; the first is start_date
    quantities: tuple[int, ...]  # quantities[i] from change_dates[i] on

    def quantity_on(self, day: date) -> int:
        """The quantity in force on `day` (0 outside the line's dates)."""
        if not self.start_date <= day <= self.end_date:
            return 0
        return self.quantities[bisect_right(self.change_dates, day) - 1]

    @cached_property
    def _amounts(self) -> tuple[int, ...]:
        """monthly_amount of each quantity in `quantities`, worked out once per line."""
        return tuple(
            monthly_amount(self.unit_price, quantity, self.billing_period) if quantity else 0
            for quantity in self.quantities
        )

    def mrr_on(self, day: date) -> int:
        """The line's MRR on `day`: 0 when not active, else monthly_amount of that day."""
        if not self.start_date <= day <= self.end_date:
            return 0
        return self._amounts[bisect_right(self.change_dates, day) - 1]


@dataclass(frozen=True)
class Term:
    """A contract term as known, `end_date` cut by a ContractEnded before it."""

    contract_id: str
    account_id: str
    currency: str
    start_date: date
    end_date: date  # the term's own last day
    ended_on: date | None  # the contract's last day of service when terminated
    quote_id: str | None
    renews: str | None

    @property
    def active_on_end(self) -> bool:
        """Still in force on its own end date (a termination before it is churn)."""
        return self.ended_on is None or self.ended_on >= self.end_date


@dataclass(frozen=True)
class Quote:
    """A quote as known: kind, dates, and what it booked when accepted."""

    quote_id: str
    account_id: str
    currency: str
    kind: QuoteKind
    created_on: date
    presented_on: date | None
    accepted_on: date | None
    rejected_on: date | None
    recurring: tuple[PricedLine, ...]
    total_contract_value: int

    @property
    def acv(self) -> int:
        """12 x the MRR of its recurring lines at their starting quantities."""
        return 12 * sum(
            monthly_amount(line.unit_price, line.quantity, line.billing_period)
            for line in self.recurring
        )

    def open_on(self, day: date) -> bool:
        """Presented on or before `day` and not decided by then (drafts are not pipeline)."""
        if self.presented_on is None or self.presented_on > day:
            return False
        decided = self.accepted_on or self.rejected_on
        return decided is None or decided > day


@dataclass(frozen=True)
class Snapshot:
    """Everything known at one time, folded: the lines, terms and quotes the figures read."""

    lines: tuple[Line, ...]
    terms: tuple[Term, ...]
    quotes: tuple[Quote, ...]

    def currencies(self) -> tuple[str, ...]:
        """Every currency with a line or a quote, sorted."""
        seen = {line.currency for line in self.lines} | {q.currency for q in self.quotes}
        return tuple(sorted(seen))

    def lines_in(self, currency: str) -> tuple[Line, ...]:
        """The lines in `currency`."""
        return tuple(line for line in self.lines if line.currency == currency)

    def first_day(self, currency: str) -> date | None:
        """The earliest line start in `currency`, None without lines."""
        starts = [line.start_date for line in self.lines_in(currency)]
        return min(starts) if starts else None


@dataclass(frozen=True)
class History:
    """Every fact the metrics know, each with its record time; immutable, append by `plus`."""

    facts: tuple[Fact, ...] = field(default=())

    def plus(self, *facts: Fact) -> History:
        """A history with `facts` appended."""
        return History(self.facts + facts)

    def as_known_at(self, at: datetime) -> Snapshot:
        """Fold the facts recorded at or before `at` (see known_at).

        Raises InconsistentHistory when a known fact refers to a line or quote not
        known by then.
        """
        return fold(known_at(self.facts, at))


def fold(facts: Iterable[Fact]) -> Snapshot:
    """Fold facts (already filtered by record time) into the state the figures read."""
    starts: dict[str, LineStarted] = {}
    changes: dict[str, list[QuantityChanged]] = defaultdict(list)
    terms: list[TermStarted] = []
    ended: dict[str, date] = {}
    created: dict[str, QuoteCreated] = {}
    presented: dict[str, date] = {}
    accepted: dict[str, QuoteAccepted] = {}
    rejected: dict[str, date] = {}
    for fact in facts:
        match fact:
            case LineStarted():
                starts[fact.line_id] = fact
            case QuantityChanged():
                changes[fact.line_id].append(fact)
            case TermStarted():
                terms.append(fact)
            case ContractEnded():
                # A termination only shortens: the earliest known last day holds.
                previous = ended.get(fact.contract_id)
                ended[fact.contract_id] = min(fact.end_date, previous or fact.end_date)
            case QuoteCreated():
                created[fact.quote_id] = fact
            case QuotePresented():
                presented[fact.quote_id] = fact.presented_on
            case QuoteAccepted():
                accepted[fact.quote_id] = fact
            case QuoteRejected():
                rejected[fact.quote_id] = fact.rejected_on
    for line_id in changes:
        if line_id not in starts:
            raise InconsistentHistory("QuantityChanged", f"line {line_id}")
    for quote_id in presented.keys() | accepted.keys() | rejected.keys():
        if quote_id not in created:
            raise InconsistentHistory("a quote decision", f"quote {quote_id}")
    return Snapshot(
        lines=tuple(_line(starts[i], changes.get(i, []), ended) for i in sorted(starts)),
        terms=tuple(
            Term(
                t.contract_id,
                t.account_id,
                t.currency,
                t.start_date,
                t.end_date,
                ended.get(t.contract_id),
                t.quote_id,
                t.renews,
            )
            for t in terms
        ),
        quotes=tuple(
            _quote(created[q], presented.get(q), accepted.get(q), rejected.get(q))
            for q in sorted(created)
        ),
    )


def _line(start: LineStarted, changes: list[QuantityChanged], ended: Mapping[str, date]) -> Line:
    end = min(start.end_date, ended.get(start.contract_id, start.end_date))
    by_date: dict[date, int] = {start.start_date: start.quantity}
    # Stable sort: of two changes effective the same day, the later recorded wins.
    for change in sorted(changes, key=lambda c: (c.effective_date, c.recorded_at)):
        if change.effective_date >= start.start_date:
            by_date[change.effective_date] = change.quantity
    ordered = sorted(by_date.items())
    return Line(
        start.line_id,
        start.account_id,
        start.currency,
        start.contract_id,
        start.billing_period,
        start.unit_price,
        start.start_date,
        end,
        tuple(d for d, _ in ordered),
        tuple(q for _, q in ordered),
    )


def _quote(
    created: QuoteCreated,
    presented_on: date | None,
    accepted: QuoteAccepted | None,
    rejected_on: date | None,
) -> Quote:
    return Quote(
        created.quote_id,
        created.account_id,
        created.currency,
        created.kind,
        created.created_on,
        presented_on,
        accepted.accepted_on if accepted else None,
        rejected_on,
        accepted.recurring if accepted else (),
        accepted.total_contract_value if accepted else 0,
    )
