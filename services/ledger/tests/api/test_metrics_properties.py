"""Properties of the metrics read model over random contract histories (issue #12), on a live
ledger (SQLite and PostgreSQL): tests/metrics' random contract specs (lines at random periods
and prices, upgrades, downgrades and removals, subscriptions added mid-term, terminations, expiries,
renewals at other prices, reactivations, two currencies) published as contract events,
applied through the ledger's own consumer path (`ConsumerRunner.apply_envelope`, in
process: no broker wait per example). Then the read model's figures equal the domain's on
the same facts, and after a rebuild from the ledger's log they are the same again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from string import ascii_uppercase
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger.metrics.calendar import Month, Period
from ledger.metrics.history import History, Snapshot
from ledger.metrics.movements import movements_of
from ledger.metrics.renewals import renewals_of
from ledger.metrics.retention import retention_of
from ledger.store.metrics import load_history
from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractRenewed,
    ContractTerminated,
    SubscriptionChange,
    SubscriptionData,
)
from revline_events.replay import rebuild_projections
from revline_pricing import ONE_DAY, term_end
from revline_testkit.live import LiveService
from test_properties import BASE, CURRENCIES, ContractSpec, LineSpec, contract_specs, history_of

T = TypeVar("T")
# Currency codes no earlier example of this module's ledger used (each has two).
CODES = (a + b + c for a in "XYZ" for b in ascii_uppercase for c in ascii_uppercase)
FIRST, LAST = Month(2025, 1), Month(2026, 9)
LATER = datetime(2030, 1, 1, tzinfo=UTC)
CONTRACT_EVENTS = "contract.events"


class Feed:
    """One example's contract events, under its own account prefix and currencies."""

    def __init__(self) -> None:
        self.prefix = f"p{uuid.uuid4().hex[:8]}"
        self.currencies = {c: next(CODES) for c in CURRENCIES}
        self.events: list[tuple[date, int, Envelope]] = []
        self._versions: dict[str, int] = {}

    def add(self, payload: EventPayload, stream: str, account: str, on: date, lag: int) -> None:
        """`payload` recorded at noon of on + lag (seconds apart, in feed order)."""
        version = self._versions.get(stream, 0) + 1
        self._versions[stream] = version
        at = datetime.combine(on + timedelta(days=lag), time(12), tzinfo=UTC)
        at += timedelta(seconds=len(self.events))
        envelope = make_envelope(
            payload,
            stream_id=stream,
            stream_version=version,
            account_id=account,
            producer="contract",
            clock=FixedClock(at),
        )
        self.events.append((on, len(self.events), envelope))


def _sub(sub_id: str, ls: LineSpec, quantity: int, start: date, end: date) -> SubscriptionData:
    return SubscriptionData(
        subscription_id=sub_id,
        sku="S",
        name="S",
        charge_type="recurring",
        billing_period=ls.period,
        quantity=quantity,
        unit_price=ls.unit_price,
        start_date=start,
        end_date=end,
    )


def _term(
    feed: Feed,
    spec: ContractSpec,
    contract: str,
    account: str,
    start: date,
    end: date,
    lines: tuple[LineSpec, ...],
    renewal: bool,
) -> None:
    """The term's contract event, each added line's amendment and each quantity change, as
    history_of lays out the same term's facts."""
    opening = []
    for i, ls in enumerate(lines):
        line_start = min(start + timedelta(days=ls.starts_after), end)
        sub_id = f"{contract}@{start}#{i}"
        sub = _sub(sub_id, ls, ls.quantity, line_start, end)
        if line_start == start:
            opening.append(sub)
        else:
            change = SubscriptionChange(
                subscription=sub, quantity_before=0, quantity_after=ls.quantity
            )
            amended = ContractAmended(
                contract_id=contract,
                account_id=account,
                quote_id="q",
                effective_date=line_start,
                changes=[change],
            )
            feed.add(amended, contract, account, line_start, spec.lag)
        for after, quantity in ls.changes:
            on = start + timedelta(days=after)
            if line_start < on <= end:
                change = SubscriptionChange(
                    subscription=_sub(sub_id, ls, quantity, line_start, end),
                    quantity_before=1,
                    quantity_after=quantity,
                )
                amended = ContractAmended(
                    contract_id=contract,
                    account_id=account,
                    quote_id="q",
                    effective_date=on,
                    changes=[change],
                )
                feed.add(amended, contract, account, on, spec.lag)
    currency = feed.currencies[spec.currency]
    if renewal:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        payload: EventPayload = ContractRenewed(
            contract_id=contract,
            account_id=account,
            quote_id=None,
            term_start=start,
            term_end=end,
            term_months=months,
            previous_end_date=start - ONE_DAY,
            subscriptions=opening,
        )
    else:
        payload = ContractCreated(
            contract_id=contract,
            account_id=account,
            quote_id="q",
            currency=currency,
            start_date=start,
            end_date=end,
            term_months=spec.term_months,
            bill_cycle_day=1,
            billing_timing="advance",
            auto_renew=False,
            subscriptions=opening,
        )
    # The contract event comes first on its day (its lines exist before any change).
    feed.add(payload, contract, account, start, spec.lag)
    on, _, envelope = feed.events.pop()
    feed.events.append((on, -1, envelope))


def events_of(specs: list[ContractSpec]) -> Feed:
    """The contract events of `specs` (history_of's facts, as the contract service would
    publish them), in business-date order, each contract's opening event first on its day."""
    feed = Feed()
    free_from: dict[str, date] = {}
    for n, spec in enumerate(specs):
        contract, account = f"{feed.prefix}-k{n}", f"{feed.prefix}-{spec.account}"
        start = free_from.get(spec.account, BASE) + timedelta(days=spec.gap)
        end = term_end(start, spec.term_months)
        _term(feed, spec, contract, account, start, end, spec.lines, renewal=False)
        last = end
        if spec.renewal is not None:
            months, lines = spec.renewal
            last = term_end(end + ONE_DAY, months)
            _term(feed, spec, contract, account, end + ONE_DAY, last, lines, renewal=True)
        if spec.terminate_after is not None:
            stop = min(start + timedelta(days=spec.terminate_after), last)
            ended = ContractTerminated(
                contract_id=contract,
                account_id=account,
                effective_date=stop + ONE_DAY,
                end_date=stop,
                credit_unused=False,
            )
            feed.add(ended, contract, account, stop + ONE_DAY, spec.lag)
            last = stop
        free_from[spec.account] = last + ONE_DAY
    return feed


def expected(specs: list[ContractSpec], feed: Feed) -> History:
    """history_of(specs) under the feed's accounts, contracts and currencies."""
    renamed = []
    for fact in history_of(specs).facts:
        changes: dict[str, Any] = {}
        if hasattr(fact, "account_id"):
            changes["account_id"] = f"{feed.prefix}-{fact.account_id}"
        if hasattr(fact, "contract_id"):
            changes["contract_id"] = f"{feed.prefix}-{fact.contract_id}"
        if hasattr(fact, "currency"):
            changes["currency"] = feed.currencies[fact.currency]
        renamed.append(replace(fact, **changes))
    return History(tuple(renamed))


def figures(snapshot: Snapshot, currency: str) -> Any:
    """Movements of every month, retention of September 2025 and 2026, renewals of 2025-26."""
    return (
        movements_of(snapshot, currency, FIRST, LAST),
        retention_of(snapshot, currency, Month(2025, 9), 12),
        retention_of(snapshot, currency, Month(2026, 9), 6),
        renewals_of(snapshot, currency, Period(date(2025, 1, 1), date(2026, 12, 31))),
    )


async def loaded(service: LiveService, currency: str) -> Snapshot:
    async with service.runtime.db.session() as session:
        return (await load_history(session, currency=currency)).as_known_at(LATER)


async def play(service: LiveService, specs: list[ContractSpec]) -> None:
    """Feed, compare with the domain, rebuild, compare again."""
    feed = events_of(specs)
    consumer = service.runtime.consumer
    assert consumer is not None
    for _, _, envelope in sorted(feed.events, key=lambda e: (e[0], e[1])):
        outcome, reason = await consumer.apply_envelope(envelope, CONTRACT_EVENTS)
        assert outcome == "applied", reason
    truth = expected(specs, feed).as_known_at(LATER)
    fed = {c: figures(await loaded(service, c), c) for c in feed.currencies.values()}
    assert fed == {c: figures(truth, c) for c in feed.currencies.values()}
    runtime = service.runtime
    await rebuild_projections(
        runtime.db, runtime.store, runtime.spec.projector, runtime.spec.projections
    )
    assert {c: figures(await loaded(service, c), c) for c in feed.currencies.values()} == fed


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_random_histories_through_the_read_model_give_the_domains_figures_after_a_rebuild(
    ledger_service: LiveService,
) -> None:
    loop = asyncio.get_running_loop()

    def on_the_loop(work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, loop).result(timeout=300)

    @settings(
        max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.lists(contract_specs, min_size=1, max_size=5))
    def check(specs: list[ContractSpec]) -> None:
        on_the_loop(play(ledger_service, specs))

    await asyncio.to_thread(check)
