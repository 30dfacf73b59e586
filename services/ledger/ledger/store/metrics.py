"""The RevOps metrics' read model: its facts loaded as a History, and the lookups the
reactions to quote.events and contract.events need.

One indexed read per table (by currency when given), facts in record order; the
figures then fold them as known at a time (ledger/metrics/history.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from revline_events.repository import Repository
from sqlalchemy import Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.metrics.history import (
    BillingPeriod,
    ContractEnded,
    Fact,
    History,
    LineStarted,
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


def _of(table: Table, currency: str | None, *order: Any) -> Select[Any]:
    query = select(table)
    if currency is not None:
        query = query.where(table.c.currency == currency)
    return query.order_by(*order)


async def load_history(session: AsyncSession, *, currency: str | None = None) -> History:
    """Every metrics fact of the read model (of one currency when given), as a History.

    Facts come in record order (recorded_at, then key), which decides only ties the
    domain leaves to it (two quantity changes of a line effective the same day).
    """
    facts: list[Fact] = []
    for row in (
        await session.execute(
            _of(
                metrics_terms,
                currency,
                metrics_terms.c.recorded_at,
                metrics_terms.c.contract_id,
                metrics_terms.c.start_date,
            )
        )
    ).mappings():
        facts.append(
            TermStarted(
                _utc(row["recorded_at"]),
                row["contract_id"],
                row["account_id"],
                row["currency"],
                row["start_date"],
                row["end_date"],
                row["quote_id"],
                row["renews"],
            )
        )
    lines = _of(metrics_lines, currency, metrics_lines.c.recorded_at, metrics_lines.c.line_id)
    for row in (await session.execute(lines)).mappings():
        facts.append(
            LineStarted(
                _utc(row["recorded_at"]),
                row["line_id"],
                row["account_id"],
                row["currency"],
                row["contract_id"],
                cast(BillingPeriod, row["billing_period"]),
                row["unit_price"],
                row["quantity"],
                row["start_date"],
                row["end_date"],
            )
        )
    changes = _of(
        metrics_quantity_changes,
        currency,
        metrics_quantity_changes.c.recorded_at,
        metrics_quantity_changes.c.event_id,
        metrics_quantity_changes.c.line_id,
    )
    for row in (await session.execute(changes)).mappings():
        facts.append(
            QuantityChanged(
                _utc(row["recorded_at"]), row["line_id"], row["effective_date"], row["quantity"]
            )
        )
    ends = _of(
        metrics_contract_ends,
        currency,
        metrics_contract_ends.c.recorded_at,
        metrics_contract_ends.c.event_id,
    )
    for row in (await session.execute(ends)).mappings():
        facts.append(ContractEnded(_utc(row["recorded_at"]), row["contract_id"], row["end_date"]))
    facts += await _quote_facts(session, currency)
    facts.sort(key=lambda fact: fact.recorded_at)  # stable: each table's order kept in ties
    return History(tuple(facts))


async def _quote_facts(session: AsyncSession, currency: str | None) -> list[Fact]:
    priced: dict[str, list[PricedLine]] = defaultdict(list)
    quote_lines = _of(
        metrics_quote_lines,
        currency,
        metrics_quote_lines.c.quote_id,
        metrics_quote_lines.c.position,
    )
    for row in (await session.execute(quote_lines)).mappings():
        priced[row["quote_id"]].append(
            PricedLine(
                cast(BillingPeriod, row["billing_period"]), row["unit_price"], row["quantity"]
            )
        )
    facts: list[Fact] = []
    steps = _of(
        metrics_quote_steps,
        currency,
        metrics_quote_steps.c.recorded_at,
        metrics_quote_steps.c.quote_id,
        metrics_quote_steps.c.step,
    )
    for row in (await session.execute(steps)).mappings():
        at, quote_id, on = _utc(row["recorded_at"]), row["quote_id"], row["step_date"]
        match row["step"]:
            case "created":
                facts.append(
                    QuoteCreated(
                        at,
                        quote_id,
                        row["account_id"],
                        row["currency"],
                        cast(QuoteKind, row["kind"]),
                        on,
                    )
                )
            case "presented":
                facts.append(QuotePresented(at, quote_id, on))
            case "accepted":
                facts.append(
                    QuoteAccepted(
                        at, quote_id, on, tuple(priced[quote_id]), row["total_contract_value"]
                    )
                )
            case "rejected":
                facts.append(QuoteRejected(at, quote_id, on))
    return facts


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


async def read_model_version(session: AsyncSession, currency: str | None) -> tuple[int, ...]:
    """How many rows each metrics table holds (of `currency` when given), in one query.

    The tables are insert only (a rebuild writes the same rows again), so equal counts
    mean equal contents.
    """
    counts = []
    for table in METRICS_TABLES:
        count = select(func.count()).select_from(table)
        if currency is not None:
            count = count.where(table.c.currency == currency)
        counts.append(count.scalar_subquery())
    row = (await session.execute(select(*counts))).one()
    return tuple(int(n) for n in row)


@dataclass(frozen=True)
class KeptHistory:
    """A History as loaded at a read-model version, and its fold with every fact known."""

    version: tuple[int, ...]
    history: History
    everything: Snapshot  # as known at `latest`
    latest: datetime | None  # the last recorded_at, None without facts


class KeptHistories:
    """The History of each database and currency last loaded, kept while the read model
    holds the same rows (checked by one counting query a request), with its fold as
    known at its last fact: a question asked as known at or after that (the default,
    now) reuses the fold; an earlier `known_at` folds again. Least recently used beyond
    `size` are dropped."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._kept: dict[tuple[str, str | None], KeptHistory] = {}

    async def snapshot(
        self, session: AsyncSession, known_at: datetime, *, currency: str | None = None
    ) -> tuple[History, Snapshot]:
        """The History (of `currency`) and its fold as known at `known_at`."""
        key = (str(session.bind.sync_engine.url), currency)
        version = await read_model_version(session, currency)
        kept = self._kept.pop(key, None)
        if kept is None or kept.version != version:
            history = await load_history(session, currency=currency)
            latest = max((f.recorded_at for f in history.facts), default=None)
            everything = history.as_known_at(latest) if latest else Snapshot((), (), ())
            kept = KeptHistory(version, history, everything, latest)
        self._kept[key] = kept
        while len(self._kept) > self.size:
            del self._kept[next(iter(self._kept))]
        if kept.latest is None or known_at >= kept.latest:
            return kept.history, kept.everything
        return kept.history, kept.history.as_known_at(known_at)


# The process's kept histories (the API's and the dashboard's reads).
KEPT_HISTORIES = KeptHistories()
