"""Between the published language (revline_events payloads) and billing's domain."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from revline_events.payloads.billing import BilledLine, LineSource, OrderScheduled
from revline_events.payloads.order import OrderActivated, OrderItem

from billing.domain.invoice import BillingDocument, description
from billing.domain.orders import BillingOrder, OrderLine
from billing.domain.schedule import Charge

ONE_DAY = timedelta(days=1)


def scheduled_from(event: OrderActivated, source_event_id: str) -> OrderScheduled:
    """Billing's record of an upstream OrderActivated."""
    return OrderScheduled(
        **event.model_dump(exclude={"items"}),
        items=list(event.items),
        source_event_id=source_event_id,
    )


def order_of(event: OrderScheduled) -> BillingOrder:
    """The domain order of a recorded OrderScheduled."""
    return BillingOrder(
        order_id=event.order_id,
        contract_id=event.contract_id,
        account_id=event.account_id,
        kind=event.kind,
        currency=event.currency,
        effective_date=event.effective_date,
        bill_cycle_day=event.bill_cycle_day,
        billing_timing=event.billing_timing,
        contract_end_date=event.contract_end_date,
        credit_unused=event.credit_unused,
        items=tuple(_line(item) for item in event.items),
        event_id=event.source_event_id,
    )


def _line(item: OrderItem) -> OrderLine:
    return OrderLine(
        subscription_id=item.subscription_id,
        sku=item.sku,
        name=item.name,
        charge_type=item.charge_type,
        billing_period=item.billing_period,
        quantity_delta=item.quantity_delta,
        quantity=item.quantity,
        unit_price=item.unit_price,
        start_date=item.start_date,
        end_date=item.end_date,
    )


def billed_lines_of(document: BillingDocument) -> list[BilledLine]:
    """The document's lines as published, numbered from 1 in line order."""
    return [_billed_line(n, charge) for n, charge in enumerate(document.lines, start=1)]


def _billed_line(line_no: int, charge: Charge) -> BilledLine:
    sub = charge.subscription
    return BilledLine(
        line_no=line_no,
        kind=charge.kind,
        subscription_id=sub.subscription_id,
        contract_id=sub.contract_id,
        sku=sub.sku,
        description=description(charge),
        period_start=charge.start,
        period_end=charge.end_exclusive - ONE_DAY,
        quantity=charge.quantity,
        unit_price=sub.unit_price,
        amount=charge.amount,
        source=LineSource(
            order_id=charge.order_id,
            order_event_ids=list(charge.event_ids),
            span_start=charge.span_start,
            nominal_start=charge.nominal_start,
            nominal_end=charge.nominal_end_exclusive - ONE_DAY,
            days=charge.days,
            nominal_days=charge.nominal_days,
            quantity_before=charge.quantity_before,
            quantity_after=charge.quantity_after,
            formula=charge.formula,
        ),
    )


def line_row(document_id: str, document_kind: str, line: BilledLine) -> dict[str, Any]:
    """A billed_lines row of a published line."""
    source = line.source
    return {
        "document_id": document_id,
        "line_no": line.line_no,
        "document_kind": document_kind,
        "subscription_id": line.subscription_id,
        "contract_id": line.contract_id,
        "kind": line.kind,
        "sku": line.sku,
        "description": line.description,
        "period_start": line.period_start,
        "period_end": line.period_end,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "amount": line.amount,
        "span_start": source.span_start,
        "nominal_start": source.nominal_start,
        "nominal_end": source.nominal_end,
        "days": source.days,
        "nominal_days": source.nominal_days,
        "quantity_before": source.quantity_before,
        "quantity_after": source.quantity_after,
        "order_id": source.order_id,
        "order_event_ids": json.dumps(source.order_event_ids),
        "formula": source.formula,
    }
