"""An in-memory biller for domain tests: orders in, numbered invoices and credit notes out.

It drives the pure domain the way the billing service does: each order is folded
into the subscriptions with `schedule_order` (an increasing sequence per order),
each order keeps its `OrderControl` (hold, billing-date override), and a run calls
`bill_account` per account with what was billed so far, then records every line
it billed and numbers the documents from one invoice counter and one credit-note
counter, in the order the run returns them.

Imported as a top-level module (conftest.py beside it puts this folder on sys.path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from billing.domain.bill_run import bill_account
from billing.domain.invoice import BillingDocument, credit_note_number, invoice_number
from billing.domain.orders import BillingOrder, OrderKind, OrderLine, schedule_order
from billing.domain.schedule import (
    BilledCharge,
    BillingPeriod,
    BillingTiming,
    Charge,
    ChargeType,
    OrderControl,
    Subscription,
)

ONE_DAY = timedelta(days=1)
ACCOUNT = "acme"
CONTRACT = "ct_1"
PAYMENT_TERMS_DAYS = 30

Numbered = tuple[str, BillingDocument]


class Biller:
    """Subscriptions, billed lines, order controls and document counters of a test."""

    def __init__(self, payment_terms_days: int = PAYMENT_TERMS_DAYS) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self.billed: dict[str, list[BilledCharge]] = {}
        self.controls: dict[str, OrderControl] = {}
        self.payment_terms_days = payment_terms_days
        self._sequence = 0
        self._invoices = 0
        self._credit_notes = 0
        self._billed_by: dict[str, list[tuple[str, int]]] = {}  # number -> (sub id, index)

    def order(self, order: BillingOrder) -> None:
        """Take in an activated order: fold its items into the subscriptions."""
        self._sequence += 1
        for subscription in schedule_order(self.subscriptions, order, self._sequence):
            self.subscriptions[subscription.subscription_id] = subscription
        self.controls.setdefault(order.order_id, OrderControl())

    def hold(self, order_id: str) -> None:
        """Put the order's items on hold: no run bills them until released."""
        self.controls[order_id] = replace(self.controls[order_id], held=True)

    def release(self, order_id: str) -> None:
        """Release the order's hold."""
        self.controls[order_id] = replace(self.controls[order_id], held=False)

    def override(self, order_id: str, next_billing_date: date) -> None:
        """Bill the order's items on no run before `next_billing_date`."""
        self.controls[order_id] = replace(
            self.controls[order_id], next_billing_date=next_billing_date
        )

    def run(self, as_of: date) -> list[Numbered]:
        """A bill run as of `as_of` over every account: the documents it issues, numbered."""
        accounts = sorted({s.account_id for s in self.subscriptions.values()})
        issued: list[Numbered] = []
        for account_id in accounts:
            subscriptions = [s for s in self.subscriptions.values() if s.account_id == account_id]
            for document in bill_account(
                subscriptions, self.billed, self.controls, as_of, self.payment_terms_days
            ):
                number = self._number(document)
                for charge in document.lines:
                    billed = self.billed.setdefault(charge.subscription.subscription_id, [])
                    self._billed_by.setdefault(number, []).append(
                        (charge.subscription.subscription_id, len(billed))
                    )
                    billed.append(charge.as_billed())
                issued.append((number, document))
        return issued

    def void(self, number: str) -> None:
        """Void the invoice `number`: its lines stay billed, their days forgiven."""
        for sid, index in self._billed_by[number]:
            self.billed[sid][index] = replace(self.billed[sid][index], void=True)

    def _number(self, document: BillingDocument) -> str:
        if document.kind == "invoice":
            self._invoices += 1
            return invoice_number(self._invoices)
        self._credit_notes += 1
        return credit_note_number(self._credit_notes)


# Orders, shaped as the order service sends them (order/domain/orders.py).


def item(
    subscription_id: str,
    sku: str,
    *,
    unit_price: int,
    quantity: int,
    start: date,
    end: date,
    period: BillingPeriod | None = "month",
    charge_type: ChargeType = "recurring",
    quantity_delta: int | None = None,
) -> OrderLine:
    """An order item; a new subscription's delta is its whole quantity."""
    return OrderLine(
        subscription_id=subscription_id,
        sku=sku,
        name=sku.title(),
        charge_type=charge_type,
        billing_period=None if charge_type == "one_time" else period,
        quantity_delta=quantity if quantity_delta is None else quantity_delta,
        quantity=quantity,
        unit_price=unit_price,
        start_date=start,
        end_date=end,
    )


def new_order(
    order_id: str,
    *items: OrderLine,
    bill_cycle_day: int = 1,
    timing: BillingTiming = "advance",
    currency: str = "USD",
    account_id: str = ACCOUNT,
) -> BillingOrder:
    """The order of a new contract, from its first item's start to its last item's end."""
    return BillingOrder(
        order_id=order_id,
        contract_id=CONTRACT,
        account_id=account_id,
        kind="new",
        currency=currency,
        effective_date=min(i.start_date for i in items),
        bill_cycle_day=bill_cycle_day,
        billing_timing=timing,
        contract_end_date=max(i.end_date for i in items),
        credit_unused=False,
        items=items,
        event_id=f"ev_{order_id}",
    )


def monthly_5000_x_10_from_march(timing: BillingTiming = "advance") -> Biller:
    """W9..W11: "sub_seat" (SEAT) by `or_new`, month, BCD 1, unit 5000, qty 10, from
    2026-03-01 to the end of 2026."""
    biller = Biller()
    seat = item("sub_seat", "SEAT", unit_price=5000, quantity=10, start=date(2026, 3, 1),
                end=date(2026, 12, 31))  # fmt: skip
    biller.order(new_order("or_new", seat, timing=timing))
    return biller


def quantity_on(subscription: Subscription, day: date) -> int:
    """The quantity the subscription's orders put in force on `day` (0 before the first)."""
    in_force = [c for c in subscription.ordered_changes() if c.effective_date <= day]
    return in_force[-1].quantity if in_force else 0


def _change(subscription: Subscription, quantity: int, start: date, end: date) -> OrderLine:
    return item(
        subscription.subscription_id,
        subscription.sku,
        unit_price=subscription.unit_price,
        quantity=quantity,
        start=start,
        end=end,
        period=subscription.billing_period,
        charge_type=subscription.charge_type,
        quantity_delta=quantity - quantity_on(subscription, start),
    )


def _later_order(
    order_id: str,
    kind: OrderKind,
    contract: Subscription,
    effective_date: date,
    contract_end_date: date,
    items: Sequence[OrderLine],
    credit_unused: bool = False,
) -> BillingOrder:
    return BillingOrder(
        order_id=order_id,
        contract_id=contract.contract_id,
        account_id=contract.account_id,
        kind=kind,
        currency=contract.currency,
        effective_date=effective_date,
        bill_cycle_day=contract.bill_cycle_day,
        billing_timing=contract.billing_timing,
        contract_end_date=contract_end_date,
        credit_unused=credit_unused,
        items=tuple(items),
        event_id=f"ev_{order_id}",
    )


def amendment_order(
    order_id: str,
    effective: date,
    changes: Sequence[tuple[Subscription, int]],
    added: Sequence[OrderLine] = (),
    contract: Subscription | None = None,
) -> BillingOrder:
    """An amendment from `effective` (E): each (subscription, new quantity) from E to the
    subscription's end at its unit price, plus `added` subscriptions (BILLING_RULES.md 4).

    `contract` is any subscription of the contract (default: the first one changed);
    the order takes the contract's account, currency, BCD, timing and end from it.
    """
    of_contract = contract if contract is not None else changes[0][0]
    items = [_change(s, quantity, effective, s.terms[-1].end) for s, quantity in changes]
    end = of_contract.terms[-1].end
    return _later_order(order_id, "amendment", of_contract, effective, end, [*items, *added])


def termination_order(
    order_id: str,
    first_day_without_service: date,
    subscriptions: Sequence[Subscription],
    *,
    credit_unused: bool,
) -> BillingOrder:
    """A termination from T: every subscription to 0 from T; the contract ends on T - 1."""
    t = first_day_without_service
    items = [_change(s, 0, t, s.terms[-1].end) for s in subscriptions]
    return _later_order(
        order_id, "termination", subscriptions[0], t, t - ONE_DAY, items, credit_unused
    )


def renewal_order(
    order_id: str, start: date, end: date, subscriptions: Sequence[Subscription]
) -> BillingOrder:
    """A renewal: each subscription gets a new term [start, end] at its current quantity."""
    # Nothing of the new term is billed yet: each delta is the whole quantity, as when new.
    items = [
        replace(change, quantity_delta=change.quantity)
        for change in (
            _change(s, quantity_on(s, start - ONE_DAY), start, end) for s in subscriptions
        )
    ]
    return _later_order(order_id, "renewal", subscriptions[0], start, end, items)


# Reading what a run issued, in the notation of BILLING_RULES.md's worked examples.


def line_text(charge: Charge) -> str:
    """`recurring SEAT qty 10 2026-01-15..2026-01-31 17/31 = 24677` (period inclusive)."""
    last_day = charge.end_exclusive - ONE_DAY
    head = f"{charge.kind} {charge.subscription.sku} qty {charge.quantity}"
    period = f"{charge.start.isoformat()}..{last_day.isoformat()}"
    if charge.kind == "one_time":
        return f"{head} {period} = {charge.amount}"
    return f"{head} {period} {charge.days}/{charge.nominal_days} = {charge.amount}"


def lines(document: BillingDocument) -> list[str]:
    """The document's lines, in its order, as line_text."""
    return [line_text(charge) for charge in document.lines]


def header(numbered: Numbered) -> str:
    """`INV-000002 invoice 2026-03-11 due 2026-04-10 total 16935` (a credit note: no due)."""
    number, document = numbered
    due = "" if document.due_date is None else f" due {document.due_date.isoformat()}"
    return f"{number} {document.kind} {document.issue_date.isoformat()}{due} total {document.total}"


def headers(issued: Sequence[Numbered]) -> list[str]:
    """Every issued document's header, in issue order."""
    return [header(numbered) for numbered in issued]


def all_lines(issued: Sequence[Numbered]) -> list[str]:
    """Every line of every issued document, document after document."""
    return [text for _, document in issued for text in lines(document)]
