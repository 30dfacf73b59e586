"""Reverse a payment (finance's request, W21): a returned payment or a chargeback."""

from __future__ import annotations

from datetime import date
from typing import Any

from revline_events.payloads.ledger import PaymentReversed
from revline_events.unit_of_work import UnitOfWork

from ledger.domain.errors import UnknownPayment
from ledger.handlers.books import book_fact, open_book
from ledger.store.receivables import Receivables


async def reverse_payment(
    uow: UnitOfWork, payment_id: str, *, reversed_on: date, reason: str
) -> dict[str, Any]:
    """Cr 1000 the payment's amount; undo everything it paid (its cash and its lot's
    credit: Dr 1100, those invoices reopen; Dr 6000 on one written off since); Dr 2200
    what of its lot is unapplied. Each undone application is announced to billing as
    InvoiceAmountUnapplied.

    Raises UnknownPayment, PaymentAlreadyReversed, PaymentCreditRefunded,
    DateBeforeCause; nothing is written then. Returns the payment as it now reads.
    """
    receivables = uow.repository(Receivables)
    payment = await receivables.payment(payment_id)
    if payment is None:
        raise UnknownPayment(payment_id)
    fact = PaymentReversed(
        payment_id=payment_id, account_id=payment["account_id"], currency=payment["currency"],
        reversed_on=reversed_on, reason=reason,
    )  # fmt: skip
    opened = await open_book(uow, payment["account_id"], payment["currency"])
    await book_fact(uow, opened, fact, cause=None, source=payment_id)
    reversed_ = await receivables.payment(payment_id)
    if reversed_ is None:  # pragma: no cover - read just above
        raise UnknownPayment(payment_id)
    return reversed_
