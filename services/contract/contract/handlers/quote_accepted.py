"""The reaction to QuoteAccepted: a new contract, an amendment or a renewal.

Runs inside the consumer's unit of work (which records the events in the inbox and
commits), given a run of consecutive QuoteAccepted of one fetch, in order. New
quotes are opened together: one lookup of the quotes that made a contract
already, and the new contracts recorded at once (one insert per table); an
amendment or renewal is applied on its own after the new quotes before it. A
quote that does not fit its contract raises a typed ContractError: the consumer
then applies the run one event at a time and dead-letters that event alone to
quote.events.dlq with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractRenewed,
    SubscriptionChange,
)
from revline_events.payloads.quote import QuoteAccepted
from revline_events.reactions import Reactions
from revline_events.received import Received
from revline_events.stamping import NewStream
from revline_events.unit_of_work import UnitOfWork

from contract.domain.amendment import AmendmentLine, amend
from contract.domain.contract import Contract, NewContract, NewLine, open_contract
from contract.domain.errors import InvalidQuote, UnknownContract
from contract.domain.renewal import renew
from contract.handlers.events import subscription_data
from contract.handlers.ids import contract_id_for, subscription_id_for
from contract.store.repository import Contracts

REACTIONS = Reactions()


@REACTIONS.on_batch(QuoteAccepted)
async def on_quotes_accepted(quotes: Sequence[Received[QuoteAccepted]], uow: UnitOfWork) -> None:
    """New contracts, amendments and renewals, as each quote's kind says, in order."""
    new: list[Received[QuoteAccepted]] = []
    for accepted in quotes:
        if accepted.payload.kind == "new":
            new.append(accepted)
            continue
        # An amendment may name a contract a new quote just before it opened.
        await open_from_quotes(uow, new)
        new = []
        if accepted.payload.kind == "amendment":
            await amend_from_quote(uow, accepted)
        else:
            await renew_from_quote(uow, accepted)
    await open_from_quotes(uow, new)


async def open_from_quotes(uow: UnitOfWork, quotes: Sequence[Received[QuoteAccepted]]) -> None:
    """Record a ContractCreated per new quote: one subscription per quote line, at its
    net unit price, each contract caused by its own quote.

    A QuoteAccepted for a quote that already made a contract (before, or earlier in
    `quotes`) changes nothing. Raises InvalidQuote for a new quote without a term.
    """
    if not quotes:
        return
    opened = await uow.repository(Contracts).created_by_quotes([q.payload.quote_id for q in quotes])
    streams: list[NewStream] = []
    for accepted in quotes:
        if accepted.payload.quote_id in opened:
            continue
        opened.add(accepted.payload.quote_id)
        created = contract_created(accepted)
        streams.append(
            NewStream(
                stream_id=created.contract_id,
                account_id=created.account_id,
                payload=created,
                effective_date=created.start_date,
                cause=accepted,
            )
        )
    if streams:
        await uow.record_new_streams(streams, cause=None)


def contract_created(accepted: Received[QuoteAccepted]) -> ContractCreated:
    """The ContractCreated a new quote makes (pure); raises InvalidQuote without a term."""
    event = accepted.payload
    if event.term_months is None:
        raise InvalidQuote(f"new quote {event.quote_id} has no term_months")
    contract = open_contract(
        NewContract(
            contract_id=contract_id_for(accepted),
            account_id=event.account_id,
            quote_id=event.quote_id,
            currency=event.currency,
            start_date=event.start_date,
            term_months=event.term_months,
            bill_cycle_day=event.bill_cycle_day,
            billing_timing=event.billing_timing,
            auto_renew=event.auto_renew,
            lines=[
                NewLine(
                    subscription_id=subscription_id_for(accepted, index),
                    sku=line.sku,
                    name=line.name,
                    charge_type=line.charge_type,
                    billing_period=line.billing_period,
                    quantity=line.quantity,
                    unit_price=line.net_unit_price,
                )
                for index, line in enumerate(event.lines)
            ],
        ),
        quoted_end=event.end_date,
    )
    return ContractCreated(
        contract_id=contract.id,
        account_id=contract.account_id,
        quote_id=contract.quote_id,
        currency=contract.currency,
        start_date=contract.start_date,
        end_date=contract.end_date,
        term_months=contract.term_months,
        bill_cycle_day=contract.bill_cycle_day,
        billing_timing=event.billing_timing,
        auto_renew=contract.auto_renew,
        subscriptions=[subscription_data(s) for s in contract.subscriptions],
    )


async def amend_from_quote(uow: UnitOfWork, accepted: Received[QuoteAccepted]) -> None:
    """Record ContractAmended, effective the quote's start_date; once per quote."""
    event = accepted.payload
    contract = await _contract_of(uow, event)
    if any(a.quote_id == event.quote_id for a in contract.amendments):
        return
    lines = [
        AmendmentLine(
            sku=line.sku,
            name=line.name,
            charge_type=line.charge_type,
            billing_period=line.billing_period,
            quantity=line.quantity,
            unit_price=line.net_unit_price,
            subscription_id=line.subscription_id,
        )
        for line in event.lines
    ]
    amendment = amend(
        contract,
        event.quote_id,
        event.start_date,
        lines,
        new_id=lambda index: subscription_id_for(accepted, index),
    )
    amended = ContractAmended(
        contract_id=contract.id,
        account_id=contract.account_id,
        quote_id=event.quote_id,
        effective_date=amendment.effective_date,
        changes=[
            SubscriptionChange(
                subscription=subscription_data(change.subscription, change.quantity_after),
                quantity_before=change.quantity_before,
                quantity_after=change.quantity_after,
            )
            for change in amendment.changes
        ],
    )
    await uow.record(
        [amended], stream_id=contract.id, account_id=contract.account_id,
        expected_version=contract.version, cause=accepted,
        effective_date=amendment.effective_date,
    )  # fmt: skip


async def renew_from_quote(uow: UnitOfWork, accepted: Received[QuoteAccepted]) -> None:
    """Record ContractRenewed for the quote's term, starting the day after the end date."""
    event = accepted.payload
    contract = await _contract_of(uow, event)
    if event.quote_id in contract.renewal_quote_ids:
        return
    renewal = renew(contract, event.term_months, quoted_start=event.start_date)
    renewed = ContractRenewed(
        contract_id=contract.id,
        account_id=contract.account_id,
        quote_id=event.quote_id,
        term_start=renewal.term.start,
        term_end=renewal.term.end,
        term_months=renewal.term.months,
        previous_end_date=renewal.previous_end_date,
        subscriptions=[subscription_data(s) for s in renewal.subscriptions],
    )
    await uow.record(
        [renewed], stream_id=contract.id, account_id=contract.account_id,
        expected_version=contract.version, cause=accepted, effective_date=renewal.term.start,
    )  # fmt: skip


async def _contract_of(uow: UnitOfWork, event: QuoteAccepted) -> Contract:
    """The contract an amendment or renewal quote names, locked; it must be the quote's."""
    if event.contract_id is None:
        raise UnknownContract(None)
    contract = await uow.repository(Contracts).load(event.contract_id, for_update=True)
    if contract is None:
        raise UnknownContract(event.contract_id)
    contract.ensure_fits(event.account_id, event.currency)
    return contract
