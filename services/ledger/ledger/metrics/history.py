"""The metrics' input: facts about recurring lines, contract terms and quotes, each with the
time it became known, and the one bitemporal filter that folds them as known at a time.

Business time is the facts' dates (what `effective_date` decides); record time is
`recorded_at` (the event's `occurred_at`). `History.as_known_at(t)` keeps the facts
recorded at or before `t` and folds them into a `Snapshot`; every figure reads a
Snapshot, so no figure filters by record time on its own.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Literal, cast

from revline_pricing import period_months, round_half_up

from ledger.metrics.errors import InconsistentHistory
from ledger.metrics.ordered import OrderedValues

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
    def amounts(self) -> tuple[int, ...]:
        """monthly_amount of each quantity in `quantities` (amounts[i] from change_dates[i]
        on), worked out once per line."""
        return tuple(
            monthly_amount(self.unit_price, quantity, self.billing_period) if quantity else 0
            for quantity in self.quantities
        )

    def mrr_on(self, day: date) -> int:
        """The line's MRR on `day`: 0 when not active, else monthly_amount of that day."""
        if not self.start_date <= day <= self.end_date:
            return 0
        return self.amounts[bisect_right(self.change_dates, day) - 1]


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
    # Figures worked out from this snapshot, kept with it (it never changes): month-end
    # MRR and what reads it (ledger/metrics/month_ends.py). Not part of its value.
    memo: dict[Hashable, object] = field(default_factory=dict, compare=False, repr=False)
    # What changed since the snapshot folded before it, when a Folding made both.
    derived: Derived | None = field(default=None, compare=False, repr=False)

    def currencies(self) -> tuple[str, ...]:
        """Every currency with a line or a quote, sorted."""
        key = ("currencies",)
        if key not in self.memo:
            seen = {line.currency for line in self.lines} | {q.currency for q in self.quotes}
            self.memo[key] = tuple(sorted(seen))
        return cast(tuple[str, ...], self.memo[key])

    def lines_in(self, currency: str) -> tuple[Line, ...]:
        """The lines in `currency` (worked out once per snapshot)."""
        key = ("lines_in", currency)
        found = self.memo.get(key)
        if found is None:
            found = tuple(line for line in self.lines if line.currency == currency)
            self.memo[key] = found
        return cast(tuple[Line, ...], found)

    def first_day(self, currency: str) -> date | None:
        """The earliest line start in `currency`, None without lines."""
        key = ("first_day", currency)
        if key not in self.memo:
            starts = [line.start_date for line in self.lines_in(currency)]
            self.memo[key] = min(starts) if starts else None
        return cast(date | None, self.memo[key])


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
    """Fold facts (already filtered by record time) into the state the figures read.

    Raises InconsistentHistory when a fact refers to a line or quote not among them.
    """
    folding = Folding()
    folding.add(((position,), fact) for position, fact in enumerate(facts))
    return folding.snapshot()


# Where a fact sorts among the others: for `fold`, its position in the input; for a
# read model, (recorded_at, table, key) as store/metrics.py gives it. Decides only the
# ties the rules leave to order (two quantity changes of a line effective the same day
# and recorded at the same time: the later wins) and the order of the terms.
Order = tuple[int | str | date | datetime, ...]


@dataclass(frozen=True)
class Derived:
    """How a Snapshot differs from the one folded before it by the same Folding: the
    earlier one's memo, the (currency, account, contract) whose lines changed, and
    every line of those contracts now. Month-end MRR is carried over from the earlier
    memo and worked out again only for these (ledger/metrics/month_ends.py)."""

    memo: dict[Hashable, object]
    owners: frozenset[tuple[str, str, str]]
    lines: tuple[Line, ...]


class Folding:
    """A fold kept open: facts are added as they become known (with their Order, so that
    the order they are added in does not matter), and `snapshot()` gives the state of
    every fact added so far, equal to `fold` of them in Order.

    Only what the new facts touch is worked out again: their lines, the lines and
    terms of a contract that ended, their quotes. Each Snapshot after the first says
    what changed since the one before (`Snapshot.derived`).
    """

    def __init__(self) -> None:
        self._starts: dict[str, LineStarted] = {}
        self._changes: dict[str, list[tuple[Order, QuantityChanged]]] = {}
        self._terms: dict[Order, TermStarted] = {}
        self._ended: dict[str, date] = {}
        self._created: dict[str, QuoteCreated] = {}
        self._presented: dict[str, date] = {}
        self._accepted: dict[str, QuoteAccepted] = {}
        self._rejected: dict[str, date] = {}
        self._lines_of: dict[str, set[str]] = defaultdict(set)  # contract -> line ids
        self._terms_of: dict[str, list[Order]] = defaultdict(list)  # contract -> term orders
        self._lines: OrderedValues[str, Line] = OrderedValues()
        self._built_terms: OrderedValues[Order, Term] = OrderedValues()
        self._quotes: OrderedValues[str, Quote] = OrderedValues()
        self._dirty_lines: set[str] = set()
        self._dirty_contracts: set[str] = set()
        self._dirty_quotes: set[str] = set()
        self._by_currency: dict[str, OrderedValues[str, Line]] = defaultdict(OrderedValues)
        self._first_day: dict[str, date] = {}  # the earliest line start per currency
        self._stale: set[str] = set()  # currencies whose first day a restarted line moved
        self._currencies: set[str] = set()
        # Facts referring to a line or quote not added (yet): InconsistentHistory.
        self._orphan_changes: dict[str, None] = {}
        self._orphan_quotes: dict[str, None] = {}
        self._last: Snapshot | None = None

    def add(self, facts: Iterable[tuple[Order, Fact]]) -> None:
        """Add each fact at its Order (Orders of one Folding are unique and comparable)."""
        for order, fact in facts:
            self._add(order, fact)

    def _add(self, order: Order, fact: Fact) -> None:
        match fact:
            case LineStarted():
                if fact.line_id in self._starts:
                    self._stale.add(self._starts[fact.line_id].currency)
                self._starts[fact.line_id] = fact
                self._orphan_changes.pop(fact.line_id, None)
                self._currencies.add(fact.currency)
                first = self._first_day.get(fact.currency)
                if first is None or fact.start_date < first:
                    self._first_day[fact.currency] = fact.start_date
                self._lines_of[fact.contract_id].add(fact.line_id)
                self._dirty_lines.add(fact.line_id)
            case QuantityChanged():
                if fact.line_id not in self._starts:
                    self._orphan_changes[fact.line_id] = None
                insort(self._changes.setdefault(fact.line_id, []), (order, fact), key=_first)
                self._dirty_lines.add(fact.line_id)
            case TermStarted():
                self._terms[order] = fact
                self._terms_of[fact.contract_id].append(order)
                self._dirty_contracts.add(fact.contract_id)
            case ContractEnded():
                # A termination only shortens: the earliest known last day holds.
                previous = self._ended.get(fact.contract_id)
                if previous is None or fact.end_date < previous:
                    self._ended[fact.contract_id] = fact.end_date
                    self._dirty_contracts.add(fact.contract_id)
            case QuoteCreated():
                self._created[fact.quote_id] = fact
                self._orphan_quotes.pop(fact.quote_id, None)
                self._currencies.add(fact.currency)
                self._dirty_quotes.add(fact.quote_id)
            case QuotePresented():
                self._presented[fact.quote_id] = fact.presented_on
                self._orphan(fact.quote_id)
                self._dirty_quotes.add(fact.quote_id)
            case QuoteAccepted():
                self._accepted[fact.quote_id] = fact
                self._orphan(fact.quote_id)
                self._dirty_quotes.add(fact.quote_id)
            case QuoteRejected():
                self._rejected[fact.quote_id] = fact.rejected_on
                self._orphan(fact.quote_id)
                self._dirty_quotes.add(fact.quote_id)

    def snapshot(self) -> Snapshot:
        """The state of every fact added so far.

        Raises InconsistentHistory when a fact refers to a line or quote not added.
        """
        for line_id in self._orphan_changes:
            raise InconsistentHistory("QuantityChanged", f"line {line_id}")
        for quote_id in self._orphan_quotes:
            raise InconsistentHistory("a quote decision", f"quote {quote_id}")
        if self._last is not None and not (
            self._dirty_lines or self._dirty_contracts or self._dirty_quotes
        ):
            return self._last
        owners: set[tuple[str, str, str]] = set()
        touched = set(self._dirty_lines)
        for contract in self._dirty_contracts:
            touched |= self._lines_of.get(contract, set())
        for line_id in touched:
            old = self._lines.get(line_id)
            if old is not None:
                owners.add((old.currency, old.account_id, old.contract_id))
            changes = [change for _, change in self._changes.get(line_id, [])]
            line = _line(self._starts[line_id], changes, self._ended)
            self._lines[line_id] = line
            self._by_currency[line.currency][line_id] = line
            owners.add((line.currency, line.account_id, line.contract_id))
        for contract in self._dirty_contracts:
            for order in self._terms_of.get(contract, []):
                self._built_terms[order] = _term(self._terms[order], self._ended)
        for quote_id in self._dirty_quotes:
            self._quotes[quote_id] = _quote(
                self._created[quote_id],
                self._presented.get(quote_id),
                self._accepted.get(quote_id),
                self._rejected.get(quote_id),
            )
        derived = None
        if self._last is not None:
            contracts = {contract for _, _, contract in owners}
            derived = Derived(
                self._last.memo,
                frozenset(owners),
                tuple(
                    self._lines[i]
                    for contract in sorted(contracts)
                    for i in sorted(self._lines_of.get(contract, ()))
                ),
            )
        self._dirty_lines.clear()
        self._dirty_contracts.clear()
        self._dirty_quotes.clear()
        # Each tuple is the snapshot before's, spliced where keys were set (ordered.py).
        lines = self._lines.ordered()
        self._last = Snapshot(
            lines=lines,
            terms=self._built_terms.ordered(),
            quotes=self._quotes.ordered(),
            derived=derived,
        )
        # What Snapshot would work out by a pass over every line, known here already.
        memo = self._last.memo
        memo[("currencies",)] = tuple(sorted(self._currencies))
        for currency, of_currency in self._by_currency.items():
            memo[("lines_in", currency)] = (
                lines if len(self._by_currency) == 1 else of_currency.ordered()
            )
            if currency not in self._stale:
                memo[("first_day", currency)] = self._first_day[currency]
        return self._last

    def _orphan(self, quote_id: str) -> None:
        if quote_id not in self._created:
            self._orphan_quotes[quote_id] = None


def _first(item: tuple[Order, QuantityChanged]) -> Order:
    return item[0]


def _term(t: TermStarted, ended: Mapping[str, date]) -> Term:
    return Term(
        t.contract_id,
        t.account_id,
        t.currency,
        t.start_date,
        t.end_date,
        ended.get(t.contract_id),
        t.quote_id,
        t.renews,
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
