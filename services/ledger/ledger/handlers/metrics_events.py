"""Reactions to quote.events and contract.events: the facts the RevOps metrics need.

Each event the metrics count is noted as one ledger event (ContractFactsNoted or
QuoteFactsNoted, the README's Metrics table) on a stream of its own,
`metrics:<upstream event id>`, so a rebuild refolds the read model from the
ledger's own log. Each keeps the upstream event's `occurred_at` as `recorded_at`.
The events the metrics do not need are registered here as no-ops, so none is
dropped unseen. An event about a quote or contract never noted is refused
(NotNoted: the consumer dead-letters it).
"""

from __future__ import annotations

from typing import Any

from revline_events.catalogue import EventPayload
from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractExpired,
    ContractRenewed,
    ContractTerminated,
    RenewalRunCompleted,
    SubscriptionData,
)
from revline_events.payloads.ledger import (
    ContractFactsNoted,
    NotedLine,
    NotedPrice,
    NotedQuantity,
    NotedTerm,
    QuoteFactsNoted,
    QuoteStep,
)
from revline_events.payloads.quote import (
    ProductCreated,
    QuoteAccepted,
    QuoteCreated,
    QuotePresented,
    QuoteRejected,
    QuoteRevised,
)
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

from ledger.handlers.billing_events import REACTIONS as REACTIONS
from ledger.metrics.errors import NotNoted
from ledger.store.metrics import MetricsFacts, NotedContract


def metrics_stream(cause: Received[Any]) -> str:
    """The stream of what the metrics noted of one upstream event."""
    return f"metrics:{cause.event_id}"


async def _note(uow: UnitOfWork, fact: EventPayload, account_id: str, cause: Received[Any]) -> None:
    await uow.record(
        [fact], stream_id=metrics_stream(cause), account_id=account_id, expected_version=0,
        cause=cause,
    )  # fmt: skip


def noted_line(subscription: SubscriptionData, quantity: int | None = None) -> NotedLine | None:
    """A recurring subscription as a line of its own from its start date (None for a
    one-time charge, which is never MRR)."""
    if subscription.charge_type != "recurring" or subscription.billing_period is None:
        return None
    return NotedLine(
        line_id=f"{subscription.subscription_id}@{subscription.start_date.isoformat()}",
        subscription_id=subscription.subscription_id,
        billing_period=subscription.billing_period,
        unit_price=subscription.unit_price,
        quantity=subscription.quantity if quantity is None else quantity,
        start_date=subscription.start_date,
        end_date=subscription.end_date,
    )


def _lines(subscriptions: list[SubscriptionData]) -> list[NotedLine]:
    return [line for s in subscriptions if (line := noted_line(s)) is not None]


async def _contract(uow: UnitOfWork, contract_id: str) -> NotedContract:
    noted = await uow.repository(MetricsFacts).contract(contract_id)
    if noted is None:
        raise NotNoted("contract", contract_id)
    return noted


def _contract_facts(
    contract: NotedContract, cause: Received[Any], **facts: Any
) -> ContractFactsNoted:
    return ContractFactsNoted(
        contract_id=contract.contract_id, account_id=contract.account_id,
        currency=contract.currency, recorded_at=cause.envelope.occurred_at,
        source_event_id=cause.event_id, **facts,
    )  # fmt: skip


@REACTIONS.on(ContractCreated)
async def contract_created(event: Received[ContractCreated], uow: UnitOfWork) -> None:
    """A new contract: its first term (with its quote) and a line per recurring subscription."""
    created = event.payload
    contract = NotedContract(created.contract_id, created.account_id, created.currency)
    term = NotedTerm(start_date=created.start_date, end_date=created.end_date,
                     quote_id=created.quote_id)  # fmt: skip
    fact = _contract_facts(contract, event, term=term, lines=_lines(created.subscriptions))
    await _note(uow, fact, created.account_id, event)


@REACTIONS.on(ContractAmended)
async def contract_amended(event: Received[ContractAmended], uow: UnitOfWork) -> None:
    """Each change of an amendment: a new quantity of the subscription's current line from
    the effective date, or a line of its own for a subscription it adds."""
    amended = event.payload
    contract = await _contract(uow, amended.contract_id)
    facts = uow.repository(MetricsFacts)
    added: list[NotedLine] = []
    changed: list[NotedQuantity] = []
    for change in amended.changes:
        subscription = change.subscription
        line = noted_line(subscription, change.quantity_after)
        if line is None:
            continue
        current = await facts.line_of(subscription.subscription_id, amended.effective_date)
        if current is None:
            added.append(line)
        else:
            changed.append(NotedQuantity(line_id=current, effective_date=amended.effective_date,
                                         quantity=change.quantity_after))  # fmt: skip
    fact = _contract_facts(contract, event, lines=added, quantities=changed)
    await _note(uow, fact, contract.account_id, event)


@REACTIONS.on(ContractRenewed)
async def contract_renewed(event: Received[ContractRenewed], uow: UnitOfWork) -> None:
    """A renewal in place: the new term and its subscriptions' lines from its first day."""
    renewed = event.payload
    contract = await _contract(uow, renewed.contract_id)
    term = NotedTerm(start_date=renewed.term_start, end_date=renewed.term_end,
                     quote_id=renewed.quote_id)  # fmt: skip
    fact = _contract_facts(contract, event, term=term, lines=_lines(renewed.subscriptions))
    await _note(uow, fact, contract.account_id, event)


@REACTIONS.on(ContractTerminated)
async def contract_terminated(event: Received[ContractTerminated], uow: UnitOfWork) -> None:
    """Service stops early: the contract's last day of service (effective date - 1)."""
    terminated = event.payload
    contract = await _contract(uow, terminated.contract_id)
    fact = _contract_facts(contract, event, ended_on=terminated.end_date)
    await _note(uow, fact, contract.account_id, event)


@REACTIONS.on(ContractExpired)
async def contract_expired(event: Received[ContractExpired], uow: UnitOfWork) -> None:
    """Nothing to note: a line leaves MRR after its end date by itself."""


@REACTIONS.on(RenewalRunCompleted)
async def renewal_run_completed(event: Received[RenewalRunCompleted], uow: UnitOfWork) -> None:
    """Nothing to note: the run's renewals come as ContractRenewed of their own."""


# --- quote.events -------------------------------------------------------------------------


def _quote_facts(
    cause: Received[Any], step: QuoteStep, quote_id: str, account_id: str, currency: str,
    kind: str, **more: Any,
) -> QuoteFactsNoted:  # fmt: skip
    """A quote step dated by the upstream event's own day (UTC) unless `more` dates it."""
    return QuoteFactsNoted.model_validate(
        {"quote_id": quote_id, "account_id": account_id, "currency": currency, "kind": kind,
         "step": step, "step_date": cause.envelope.occurred_at.date(),
         "recorded_at": cause.envelope.occurred_at, "source_event_id": cause.event_id, **more}
    )  # fmt: skip


@REACTIONS.on(QuoteCreated)
async def quote_created(event: Received[QuoteCreated], uow: UnitOfWork) -> None:
    """A quote was drafted: its sales cycle starts on the day it was created."""
    quote = event.payload
    fact = _quote_facts(event, "created", quote.quote_id, quote.account_id, quote.currency,
                        quote.kind)  # fmt: skip
    await _note(uow, fact, quote.account_id, event)


async def _decided(uow: UnitOfWork, event: Received[Any], step: QuoteStep, **more: Any) -> None:
    """A step of a noted quote; the first of each step counts (a repeat notes nothing)."""
    quote_id: str = event.payload.quote_id
    noted = await uow.repository(MetricsFacts).quote(quote_id)
    if noted is None:
        raise NotNoted("quote", quote_id)
    if step in noted.steps:
        return
    fact = _quote_facts(event, step, quote_id, noted.account_id, noted.currency, noted.kind,
                        **more)  # fmt: skip
    await _note(uow, fact, noted.account_id, event)


@REACTIONS.on(QuotePresented)
async def quote_presented(event: Received[QuotePresented], uow: UnitOfWork) -> None:
    """The quote went to the customer: open pipeline from that day until decided."""
    await _decided(uow, event, "presented")


@REACTIONS.on(QuoteRejected)
async def quote_rejected(event: Received[QuoteRejected], uow: UnitOfWork) -> None:
    """The customer turned the quote down: lost on that day."""
    await _decided(uow, event, "rejected")


@REACTIONS.on(QuoteAccepted)
async def quote_accepted(event: Received[QuoteAccepted], uow: UnitOfWork) -> None:
    """A booking dated `accepted_on`: its recurring lines (the ACV input) and its TCV."""
    quote = event.payload
    recurring = [
        NotedPrice(billing_period=line.billing_period, unit_price=line.net_unit_price,
                   quantity=line.quantity)
        for line in quote.lines
        if line.charge_type == "recurring" and line.billing_period is not None
    ]  # fmt: skip
    await _decided(
        uow, event, "accepted", step_date=quote.accepted_on, recurring=recurring,
        total_contract_value=quote.totals.total_contract_value,
    )  # fmt: skip


@REACTIONS.on(QuoteRevised)
async def quote_revised(event: Received[QuoteRevised], uow: UnitOfWork) -> None:
    """Nothing to note: a draft's edits change neither its kind nor its dates; what it
    books is what QuoteAccepted carries."""


@REACTIONS.on(ProductCreated)
async def product_created(event: Received[ProductCreated], uow: UnitOfWork) -> None:
    """Nothing to note: the price book is not a metric."""
