"""The RevOps metrics' read model: its facts loaded as a History, and the lookups the
reactions to quote.events and contract.events need.

One indexed read per table (by currency when given), facts in record order; the
figures then fold them as known at a time (ledger/metrics/history.py).
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from revline_events.payloads.ledger import ContractFactsNoted, QuoteFactsNoted
from revline_events.repository import Repository
from sqlalchemy import Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.metrics.history import (
    BillingPeriod,
    ContractEnded,
    Fact,
    Folding,
    History,
    LineStarted,
    Order,
    PricedLine,
    QuantityChanged,
    QuoteAccepted,
    QuoteCreated,
    QuoteKind,
    QuotePresented,
    QuoteRejected,
    Snapshot,
    TermStarted,
)
from ledger.store.tables import (
    kernel,
    metrics_contract_ends,
    metrics_lines,
    metrics_quantity_changes,
    metrics_quote_lines,
    metrics_quote_steps,
    metrics_terms,
)


def _utc(moment: datetime) -> datetime:
    """SQLite gives timestamps back naive; every stored one is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# Each fact's Order (ledger/metrics/history.py): (recorded_at, table, key), the order the
# facts of a load are folded in. Two quantity changes of a line effective the same day
# and recorded at the same time: the later event id wins.
TERM, LINE, CHANGE, END, QUOTE_STEP = range(5)
Ordered = tuple[Order, Fact]


@dataclass(frozen=True)
class NewRows:
    """Which rows to read: those of the metrics events between two event store positions
    (`after` < position <= `upto`), found by their keys."""

    event_ids: list[str]
    contracts: list[str]
    lines: list[str]
    quotes: list[str]


def _where(
    query: Select[Any], table: Table, currency: str | None, new: NewRows | None = None
) -> Select[Any]:
    if currency is None:
        return query
    if new is None:
        return query.where(table.c.currency == currency)
    # The new rows are found by key: `currency || ''` keeps the planner off the currency
    # index, which SQLite would otherwise pick and read every row of the currency by.
    return query.where(table.c.currency.concat("") == currency)


async def load_facts(
    session: AsyncSession, currency: str | None, new: NewRows | None = None
) -> tuple[list[Ordered], tuple[int, ...]]:
    """The metrics facts of the read model (of `currency` when given; only the rows of the
    events in `new` when given) with their Order, unsorted, and how many rows of each
    table (METRICS_TABLES' order) they came from.

    Plain row tuples of the columns the facts need: at 100,000 accounts there are 700,000.
    """
    t, ln, ch, en = metrics_terms, metrics_lines, metrics_quantity_changes, metrics_contract_ends
    terms = select(
        t.c.recorded_at, t.c.contract_id, t.c.account_id, t.c.currency, t.c.start_date,
        t.c.end_date, t.c.quote_id, t.c.renews,
    )  # fmt: skip
    lines = select(
        ln.c.recorded_at, ln.c.line_id, ln.c.account_id, ln.c.currency, ln.c.contract_id,
        ln.c.billing_period, ln.c.unit_price, ln.c.quantity, ln.c.start_date, ln.c.end_date,
    )  # fmt: skip
    changes = select(ch.c.recorded_at, ch.c.event_id, ch.c.line_id, ch.c.effective_date,
                     ch.c.quantity)  # fmt: skip
    ends = select(en.c.recorded_at, en.c.event_id, en.c.contract_id, en.c.end_date)
    if new is not None:
        terms = terms.where(t.c.contract_id.in_(new.contracts), t.c.event_id.in_(new.event_ids))
        lines = lines.where(ln.c.line_id.in_(new.lines), ln.c.event_id.in_(new.event_ids))
        changes = changes.where(ch.c.event_id.in_(new.event_ids))
        ends = ends.where(en.c.event_id.in_(new.event_ids))
    facts: list[Ordered] = []
    counts: list[int] = []
    rows = (await session.execute(_where(lines, ln, currency, new))).tuples().all()
    counts.append(len(rows))
    for at, line_id, account, cur, contract, period, price, quantity, first, last in rows:
        at = _utc(at)
        facts.append(
            (
                (at, LINE, line_id),
                LineStarted(at, line_id, account, cur, contract, cast(BillingPeriod, period),
                            price, quantity, first, last),
            )
        )  # fmt: skip
    rows = (await session.execute(_where(changes, ch, currency, new))).tuples().all()
    counts.append(len(rows))
    for at, event_id, line_id, effective, quantity in rows:
        at = _utc(at)
        facts.append(
            ((at, CHANGE, event_id, line_id), QuantityChanged(at, line_id, effective, quantity))
        )
    rows = (await session.execute(_where(terms, t, currency, new))).tuples().all()
    counts.append(len(rows))
    for at, contract, account, cur, first, last, quote_id, renews in rows:
        at = _utc(at)
        facts.append(
            (
                (at, TERM, contract, first),
                TermStarted(at, contract, account, cur, first, last, quote_id, renews),
            )
        )
    rows = (await session.execute(_where(ends, en, currency, new))).tuples().all()
    counts.append(len(rows))
    for at, event_id, contract, last in rows:
        at = _utc(at)
        facts.append(((at, END, event_id), ContractEnded(at, contract, last)))
    quote_facts, quote_counts = await _quote_facts(session, currency, new)
    return facts + quote_facts, (*counts, *quote_counts)


async def _quote_facts(
    session: AsyncSession, currency: str | None, new: NewRows | None
) -> tuple[list[Ordered], tuple[int, int]]:
    qs, ql = metrics_quote_steps, metrics_quote_lines
    steps = select(
        qs.c.recorded_at, qs.c.quote_id, qs.c.step, qs.c.step_date, qs.c.account_id,
        qs.c.currency, qs.c.kind, qs.c.total_contract_value,
    )  # fmt: skip
    if new is not None:
        steps = steps.where(qs.c.quote_id.in_(new.quotes), qs.c.event_id.in_(new.event_ids))
    step_rows = (await session.execute(_where(steps, qs, currency, new))).tuples().all()
    quote_lines = select(
        ql.c.quote_id, ql.c.position, ql.c.billing_period, ql.c.unit_price, ql.c.quantity
    )
    if new is not None:
        # A quote's recurring lines come with its acceptance, and only then.
        accepted = [row[1] for row in step_rows if row[2] == "accepted"]
        quote_lines = quote_lines.where(ql.c.quote_id.in_(accepted))
    quote_lines = _where(quote_lines, ql, currency, new)
    line_rows = sorted((await session.execute(quote_lines)).tuples().all())
    priced: dict[str, list[PricedLine]] = defaultdict(list)
    for quote_id, _, period, price, quantity in line_rows:
        priced[quote_id].append(PricedLine(cast(BillingPeriod, period), price, quantity))
    facts: list[Ordered] = []
    for at, quote_id, step, on, account, cur, kind, tcv in step_rows:
        at = _utc(at)
        fact: Fact
        match step:
            case "created":
                fact = QuoteCreated(at, quote_id, account, cur, cast(QuoteKind, kind), on)
            case "presented":
                fact = QuotePresented(at, quote_id, on)
            case "accepted":
                fact = QuoteAccepted(at, quote_id, on, tuple(priced[quote_id]), tcv)
            case "rejected":
                fact = QuoteRejected(at, quote_id, on)
            case _:
                continue
        facts.append(((at, QUOTE_STEP, quote_id, step), fact))
    return facts, (len(step_rows), len(line_rows))


def _order(item: Ordered) -> Order:
    return item[0]


async def load_history(session: AsyncSession, *, currency: str | None = None) -> History:
    """Every metrics fact of the read model (of one currency when given), as a History.

    Facts come in record order (recorded_at, then table and key), which decides only
    ties the domain leaves to it (two quantity changes of a line effective the same day).
    """
    facts, _ = await load_facts(session, currency)
    facts.sort(key=_order)
    return History(tuple(fact for _, fact in facts))


@dataclass(frozen=True)
class NotedContract:
    """What the read model knows of a contract: its account and currency."""

    contract_id: str
    account_id: str
    currency: str


@dataclass(frozen=True)
class NotedQuote:
    """What the read model knows of a quote: account, currency, kind and the steps noted."""

    quote_id: str
    account_id: str
    currency: str
    kind: QuoteKind
    steps: frozenset[str]


class MetricsFacts(Repository):
    """The lookups of the reactions that note metrics facts (in their unit of work)."""

    async def contract(self, contract_id: str) -> NotedContract | None:
        """The contract's account and currency from its first term, None when not noted."""
        row = (
            await self.session.execute(
                select(metrics_terms.c.account_id, metrics_terms.c.currency)
                .where(metrics_terms.c.contract_id == contract_id)
                .limit(1)
            )
        ).first()
        return None if row is None else NotedContract(contract_id, row.account_id, row.currency)

    async def line_of(self, subscription_id: str, on: date) -> str | None:
        """The id of the subscription's line in force on `on` (its latest start on or
        before it), None when it has none."""
        return cast(
            str | None,
            await self.session.scalar(
                select(metrics_lines.c.line_id)
                .where(
                    metrics_lines.c.subscription_id == subscription_id,
                    metrics_lines.c.start_date <= on,
                )
                .order_by(metrics_lines.c.start_date.desc())
                .limit(1)
            ),
        )

    async def quote(self, quote_id: str) -> NotedQuote | None:
        """The quote as noted (its `created` step and the steps since), None when not noted."""
        rows = (
            await self.session.execute(
                select(
                    metrics_quote_steps.c.step,
                    metrics_quote_steps.c.account_id,
                    metrics_quote_steps.c.currency,
                    metrics_quote_steps.c.kind,
                ).where(metrics_quote_steps.c.quote_id == quote_id)
            )
        ).all()
        created = next((r for r in rows if r.step == "created"), None)
        if created is None:
            return None
        return NotedQuote(
            quote_id,
            created.account_id,
            created.currency,
            cast(QuoteKind, created.kind),
            frozenset(r.step for r in rows),
        )


# --- kept histories -------------------------------------------------------------------------

METRICS_TABLES = (
    metrics_lines,
    metrics_quantity_changes,
    metrics_terms,
    metrics_contract_ends,
    metrics_quote_steps,
    metrics_quote_lines,
)


# More new metrics events than this since the kept fold: load everything again.
MOST_NEW_EVENTS = 2_000


@dataclass(frozen=True)
class ReadModelVersion:
    """How many rows each metrics table holds (of a currency when asked), and the last
    position of the ledger's event store, read in one query."""

    counts: tuple[int, ...]
    position: int


async def read_model_version(session: AsyncSession, currency: str | None) -> ReadModelVersion:
    """The read model's ReadModelVersion (of `currency` when given).

    The tables are insert only (a rebuild writes the same rows again), so equal counts
    mean equal contents; the rows since a position are those of its later events.
    """
    counts = []
    for table in METRICS_TABLES:
        count = select(func.count()).select_from(table)
        if currency is not None:
            count = count.where(table.c.currency == currency)
        counts.append(count.scalar_subquery())
    last = select(func.coalesce(func.max(kernel.event_store.c.position), 0)).scalar_subquery()
    row = (await session.execute(select(last, *counts))).one()
    return ReadModelVersion(tuple(int(n) for n in row[1:]), int(row[0]))


async def _new_rows(session: AsyncSession, after: int, upto: int) -> NewRows | None:
    """The keys of the metrics events at positions `after` < p <= `upto`; None when there
    are more than MOST_NEW_EVENTS (loading everything is then as quick)."""
    store = kernel.event_store
    rows = (
        await session.execute(
            select(store.c.event_id, store.c.type, store.c.payload)
            .where(store.c.position > after, store.c.position <= upto)
            .where(store.c.type.in_((ContractFactsNoted.event_type, QuoteFactsNoted.event_type)))
            .limit(MOST_NEW_EVENTS + 1)
        )
    ).tuples()
    new = NewRows([], [], [], [])
    for event_id, kind, payload in rows:
        new.event_ids.append(event_id)
        if kind == ContractFactsNoted.event_type:
            noted = ContractFactsNoted.model_validate(payload)
            new.contracts.append(noted.contract_id)
            new.lines.extend(line.line_id for line in noted.lines)
        else:
            new.quotes.append(QuoteFactsNoted.model_validate(payload).quote_id)
    return None if len(new.event_ids) > MOST_NEW_EVENTS else new


UNKNOWN = -1  # the position of a load that read rows the counting before it had not seen


def _past(counts: tuple[int, ...]) -> ReadModelVersion:
    return ReadModelVersion(counts, UNKNOWN)


class KeptHistory:
    """A History as loaded at a read-model version, and its fold with every fact known,
    kept open (a Folding) so that the rows of later events are added to it."""

    def __init__(self, version: ReadModelVersion, facts: list[Ordered]) -> None:
        facts.sort(key=_order)
        self.version = version
        self.orders = [order for order, _ in facts]
        self.facts = [fact for _, fact in facts]
        self.folding = Folding()
        self.folding.add(facts)
        self.history = History(tuple(self.facts))
        self.everything = self.folding.snapshot()  # as known at `latest`
        self.latest = max((f.recorded_at for f in self.facts), default=None)

    def added(self, version: ReadModelVersion, facts: list[Ordered]) -> None:
        """The facts of the rows recorded since, added in Order (each table insert only)."""
        self.version = version
        if not facts:
            return
        facts.sort(key=_order)
        if self.orders and facts[0][0] < self.orders[-1]:
            # Recorded before the last fact kept (events of two topics, taken in out of
            # order): into place, as a fresh load would sort them.
            for order, fact in facts:
                at = bisect_right(self.orders, order)
                self.orders.insert(at, order)
                self.facts.insert(at, fact)
        else:
            self.orders += [order for order, _ in facts]
            self.facts += [fact for _, fact in facts]
        self.folding.add(facts)
        self.history = History(tuple(self.facts))
        self.everything = self.folding.snapshot()
        newest = max(fact.recorded_at for _, fact in facts)
        self.latest = newest if self.latest is None else max(self.latest, newest)


class KeptHistories:
    """The History of each database and currency last loaded, kept while the read model
    holds the same rows (checked by one counting query a request), with its fold as
    known at its last fact: a question asked as known at or after that (the default,
    now) reuses the fold; an earlier `known_at` folds again. When rows were added since,
    only those (the rows of the event store's later events) are read and added to the
    kept fold; anything else (a count that does not add up: a rebuild under way, an
    event committed out of position order) loads everything again. Least recently used
    beyond `size` are dropped."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._kept: dict[tuple[str, str | None], KeptHistory] = {}
        self.loads = 0  # how many times every row was loaded (the tests and bench read it)

    async def snapshot(
        self, session: AsyncSession, known_at: datetime, *, currency: str | None = None
    ) -> tuple[History, Snapshot]:
        """The History (of `currency`) and its fold as known at `known_at`."""
        key = (str(session.bind.sync_engine.url), currency)
        version = await read_model_version(session, currency)
        kept = self._kept.pop(key, None)
        if kept is not None and kept.version != version:
            kept = await self._caught_up(session, kept, version, currency)
        if kept is None:
            facts, counts = await load_facts(session, currency)
            self.loads += 1
            # Rows committed between the counting and the load: the load has more than
            # `version` says and no position to go on from (see _caught_up).
            kept = KeptHistory(version if counts == version.counts else _past(counts), facts)
            # The kept fold is a large, long-lived, acyclic heap (700,000 facts and their
            # lines at 100,000 accounts): leave it out of the cyclic collector's passes,
            # which otherwise walk it again and again while a request allocates (a third
            # of a request's time in bench/README.md's measurements). Freed by reference
            # counting when replaced, as before.
            gc.freeze()
        self._kept[key] = kept
        while len(self._kept) > self.size:
            del self._kept[next(iter(self._kept))]
        if kept.latest is None or known_at >= kept.latest:
            return kept.history, kept.everything
        return kept.history, kept.history.as_known_at(known_at)

    async def _caught_up(
        self,
        session: AsyncSession,
        kept: KeptHistory,
        version: ReadModelVersion,
        currency: str | None,
    ) -> KeptHistory | None:
        """`kept` with the rows added since its version, None when they are not only
        additions of later events (then everything is loaded again)."""
        if version.counts == kept.version.counts:
            kept.version = version  # other events of the ledger's; the same rows
            return kept
        if version.position < kept.version.position or kept.version.position == UNKNOWN:
            return None
        new = await _new_rows(session, kept.version.position, version.position)
        if new is None:
            return None
        facts, counts = await load_facts(session, currency, new)
        grown = tuple(n - k for n, k in zip(version.counts, kept.version.counts, strict=True))
        if counts != grown:
            return None
        kept.added(version, facts)
        return kept


# The process's kept histories (the API's and the dashboard's reads).
KEPT_HISTORIES = KeptHistories()
