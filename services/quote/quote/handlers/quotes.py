"""Create, revise, present, accept and reject quotes; define products."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from revline_events.catalogue import EventPayload
from revline_events.payloads.quote import (
    PRICE_BOOK_ACCOUNT,
    ProductCreated,
    QuoteAccepted,
    QuoteCreated,
    QuoteLineData,
    QuotePresented,
    QuoteRejected,
    QuoteRevised,
    QuoteTotalsData,
)
from revline_events.unit_of_work import UnitOfWork
from revline_pricing.calendar import term_end

from quote.domain import quote as rules
from quote.domain.contract_fit import check_fit
from quote.domain.errors import (
    CurrencyMismatch,
    InvalidLine,
    ProductExists,
    UnknownProduct,
    UnknownQuote,
)
from quote.domain.quote import LineRequest, QuoteStatus
from quote.domain.terms import check_lines, check_terms
from quote.handlers.commands import CreateQuote, DefineProduct, LineInput, QuoteTerms, ReviseQuote
from quote.store.contracts import ContractReadModel
from quote.store.queries import Products, Quotes

T = TypeVar("T")


async def define_product(uow: UnitOfWork, cmd: DefineProduct) -> dict[str, Any]:
    """Add a product to the price book; ProductExists when the sku is taken."""
    if await uow.repository(Products).find(cmd.sku) is not None:
        raise ProductExists(cmd.sku)
    product = rules.Product(
        cmd.sku,
        cmd.name,
        cmd.currency,
        cmd.unit_price,
        cmd.charge_type,
        cmd.billing_period,
    )
    # A one-time product ignores any billing_period (API.md).
    if product.charge_type == "one_time":
        product = replace(product, billing_period=None)
    elif product.billing_period is None:
        raise InvalidLine("billing_period", "a recurring product needs a billing_period")
    event = ProductCreated(
        sku=product.sku,
        name=product.name,
        currency=product.currency,
        unit_price=product.unit_price,
        charge_type=product.charge_type,
        billing_period=product.billing_period,
    )
    await uow.record(
        [event],
        stream_id=f"product:{cmd.sku}",
        account_id=PRICE_BOOK_ACCOUNT,
        expected_version=0,
        cause=None,
    )
    row = await uow.repository(Products).find(cmd.sku)
    assert row is not None
    return row


async def _fit_contract(
    uow: UnitOfWork, account_id: str, currency: str, terms: QuoteTerms, lines: list[LineInput]
) -> tuple[QuoteTerms, list[LineInput], date | None]:
    """Check an amendment or renewal against the contract; take its terms and prices.

    The quote then bills on the contract's cycle day and timing; a line naming a
    subscription keeps that subscription's unit price (BILLING_RULES section 4),
    and an amendment's value runs to the contract's end, returned last.
    """
    if terms.kind == "new" or terms.contract_id is None:
        return terms, lines, None
    contract = await uow.repository(ContractReadModel).find(terms.contract_id)
    check_fit(
        contract,
        contract_id=terms.contract_id,
        kind=terms.kind,
        account_id=account_id,
        currency=currency,
        start_date=terms.start_date,
        subscription_lines=[
            (index, line.sku, line.subscription_id)
            for index, line in enumerate(lines)
            if line.subscription_id is not None
        ],
    )
    assert contract is not None
    terms = replace(
        terms, bill_cycle_day=contract.bill_cycle_day, billing_timing=contract.billing_timing
    )
    lines = [
        replace(
            line,
            unit_price=contract.subscriptions[line.subscription_id].unit_price,
            discount_percent=None,
        )
        if line.subscription_id is not None
        else line
        for line in lines
    ]
    return terms, lines, contract.end_date if terms.kind == "amendment" else None


async def _priced(
    uow: UnitOfWork, account_id: str, currency: str, terms: QuoteTerms, lines: list[LineInput]
) -> tuple[list[QuoteLineData], QuoteTotalsData, date | None, QuoteTerms]:
    check_terms(terms.kind, terms.contract_id, terms.term_months)
    check_lines(terms.kind, [(line.quantity, line.subscription_id) for line in lines])
    terms, lines, contract_end = await _fit_contract(uow, account_id, currency, terms, lines)
    catalog = await uow.repository(Products).catalog(line.sku for line in lines)
    for index, line in enumerate(lines):
        if line.sku not in catalog:
            raise InvalidLine(f"lines[{index}].sku", f"unknown product {line.sku}")
        if catalog[line.sku].currency != currency:
            raise InvalidLine(
                f"lines[{index}].sku",
                f"product {line.sku} is priced in {catalog[line.sku].currency}, not {currency}",
            )
    try:
        priced = rules.price_lines(
            [
                LineRequest(
                    line.sku,
                    line.quantity,
                    line.unit_price,
                    line.discount_percent,
                    line.subscription_id,
                )
                for line in lines
            ],
            catalog,
            currency,
        )
    except (UnknownProduct, CurrencyMismatch) as error:  # pragma: no cover - checked above
        raise InvalidLine("lines", str(error)) from error
    bcd = terms.bill_cycle_day or terms.start_date.day
    terms = replace(terms, bill_cycle_day=bcd)
    totals = rules.compute_totals(
        priced, terms.start_date, terms.term_months, bcd, end_date=contract_end
    )
    end = term_end(terms.start_date, terms.term_months) if terms.term_months else None
    data = [
        QuoteLineData(
            line_no=number,
            sku=line.sku,
            name=catalog[line.sku].name,
            charge_type=line.charge_type,
            billing_period=line.billing_period,
            quantity=line.quantity,
            list_price=line.list_price,
            discount_percent=_percent(line.discount_percent),
            net_unit_price=line.net_unit_price,
            amount_per_period=line.amount_per_period,
            subscription_id=line.subscription_id,
        )
        for number, line in enumerate(priced, start=1)
    ]
    total_data = QuoteTotalsData(
        recurring_per_period=totals.recurring_per_period,
        one_time=totals.one_time,
        total_contract_value=totals.total_contract_value,
    )
    return data, total_data, end, terms


def _percent(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


async def create_quote(uow: UnitOfWork, cmd: CreateQuote) -> dict[str, Any]:
    """Price a new draft quote and record QuoteCreated (version 1)."""
    # Time-sortable on the service's clock: listing quotes by id lists oldest first.
    quote_id = uow.new_id("qt")
    event = await _priced_snapshot(
        uow, QuoteCreated, quote_id, cmd.account_id, cmd.currency, 1, cmd.terms, cmd.lines
    )
    await _record(uow, quote_id, cmd.account_id, 0, event)
    return await _view(uow, quote_id)


async def revise_quote(uow: UnitOfWork, cmd: ReviseQuote) -> dict[str, Any]:
    """Apply a PATCH to a draft quote and record QuoteRevised with the next version."""
    current = await _load(uow, cmd.quote_id)
    rules.ensure_editable(cmd.quote_id, QuoteStatus(current["status"]))
    terms = QuoteTerms(
        kind=current["kind"],
        contract_id=current["contract_id"],
        start_date=_given(cmd.start_date, current["start_date"]),
        term_months=_given(cmd.term_months, current["term_months"]),
        bill_cycle_day=_given(cmd.bill_cycle_day, _kept_cycle_day(cmd.start_date, current)),
        billing_timing=_given(cmd.billing_timing, current["billing_timing"]),
        auto_renew=_given(cmd.auto_renew, current["auto_renew"]),
    )
    lines = cmd.lines or [
        LineInput(
            sku=line["sku"],
            quantity=line["quantity"],
            unit_price=line["list_price"],
            discount_percent=Decimal(line["discount_percent"]),
            subscription_id=line["subscription_id"],
        )
        for line in current["lines"]
    ]
    event = await _priced_snapshot(
        uow, QuoteRevised, cmd.quote_id, current["account_id"], current["currency"],
        current["version"] + 1, terms, lines,
    )  # fmt: skip
    await _record(uow, cmd.quote_id, current["account_id"], current["stream_version"], event)
    return await _view(uow, cmd.quote_id)


S = TypeVar("S", QuoteCreated, QuoteRevised)


async def _priced_snapshot(
    uow: UnitOfWork,
    kind: type[S],
    quote_id: str,
    account_id: str,
    currency: str,
    version: int,
    terms: QuoteTerms,
    lines: list[LineInput],
) -> S:
    """Price `lines` under `terms` and describe the result as a snapshot event."""
    priced, totals, end, terms = await _priced(uow, account_id, currency, terms, lines)
    assert terms.bill_cycle_day is not None
    return kind(
        quote_id=quote_id,
        account_id=account_id,
        currency=currency,
        kind=terms.kind,
        contract_id=terms.contract_id,
        version=version,
        start_date=terms.start_date,
        term_months=terms.term_months,
        end_date=end,
        bill_cycle_day=terms.bill_cycle_day,
        billing_timing=terms.billing_timing,
        auto_renew=terms.auto_renew,
        lines=priced,
        totals=totals,
    )


async def present_quote(uow: UnitOfWork, quote_id: str) -> dict[str, Any]:
    """Mark a draft quote presented to the customer."""
    current = await _load(uow, quote_id)
    rules.present(quote_id, QuoteStatus(current["status"]))
    event = QuotePresented(
        quote_id=quote_id, account_id=current["account_id"], version=current["version"]
    )
    await _record(uow, quote_id, current["account_id"], current["stream_version"], event)
    return await _view(uow, quote_id)


async def reject_quote(uow: UnitOfWork, quote_id: str) -> dict[str, Any]:
    """Record that the customer turned the quote down."""
    current = await _load(uow, quote_id)
    rules.reject(quote_id, QuoteStatus(current["status"]))
    event = QuoteRejected(
        quote_id=quote_id, account_id=current["account_id"], version=current["version"]
    )
    await _record(uow, quote_id, current["account_id"], current["stream_version"], event)
    return await _view(uow, quote_id)


async def accept_quote(uow: UnitOfWork, quote_id: str) -> dict[str, Any]:
    """Accept the quote once; QuoteAccepted carries everything downstream needs."""
    current = await _load(uow, quote_id)
    rules.accept(quote_id, QuoteStatus(current["status"]))
    event = QuoteAccepted(
        quote_id=quote_id,
        account_id=current["account_id"],
        currency=current["currency"],
        kind=current["kind"],
        contract_id=current["contract_id"],
        version=current["version"],
        start_date=current["start_date"],
        term_months=current["term_months"],
        end_date=current["end_date"],
        bill_cycle_day=current["bill_cycle_day"],
        billing_timing=current["billing_timing"],
        auto_renew=current["auto_renew"],
        lines=[QuoteLineData.model_validate(_line(line)) for line in current["lines"]],
        totals=QuoteTotalsData(
            recurring_per_period=current["recurring_per_period"],
            one_time=current["one_time"],
            total_contract_value=current["total_contract_value"],
        ),
        accepted_on=uow.clock.today(),
    )
    [envelope] = await uow.record(
        [event],
        stream_id=quote_id,
        account_id=current["account_id"],
        expected_version=current["stream_version"],
        cause=None,
        effective_date=current["start_date"],
    )
    # The projection changed only these columns (store.projector): the view is the
    # row already loaded with them, not a second read of the quote and its lines.
    return {
        **current,
        "status": QuoteStatus.ACCEPTED,
        "stream_version": envelope.stream_version,
        "updated_at": envelope.occurred_at,
        "accepted_on": event.accepted_on,
    }


def _kept_cycle_day(new_start: date | None, current: dict[str, Any]) -> int | None:
    """The bill cycle day a PATCH keeps when it does not name one (None: the start's day).

    Only the chosen day is stored, not whether it was the default. A day equal to
    the old start's day is taken as the default and moves with a new start date;
    any other day (F1's 1 with a start on the 15th) was chosen and stays.
    """
    bcd: int = current["bill_cycle_day"]
    if new_start is not None and bcd == current["start_date"].day:
        return None
    return bcd


def _given(value: T | None, current: T) -> T:
    return current if value is None else value


def _line(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "quote_id"}


async def _load(uow: UnitOfWork, quote_id: str) -> dict[str, Any]:
    row = await uow.repository(Quotes).find(quote_id)
    if row is None:
        raise UnknownQuote(quote_id)
    return row


async def _view(uow: UnitOfWork, quote_id: str) -> dict[str, Any]:
    return await _load(uow, quote_id)


async def _record(
    uow: UnitOfWork,
    quote_id: str,
    account_id: str,
    version: int,
    event: EventPayload,
    *,
    effective_date: date | None = None,
) -> None:
    await uow.record(
        [event],
        stream_id=quote_id,
        account_id=account_id,
        expected_version=version,
        cause=None,
        effective_date=effective_date,
    )
