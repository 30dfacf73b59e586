"""Receive a payment (finance's request): applied to its invoice, or to the oldest open ones."""

from __future__ import annotations

from datetime import date
from typing import Any

from revline_events.payloads.ledger import PaymentReceived
from revline_events.unit_of_work import UnitOfWork

from ledger.domain.book import positive_amount
from ledger.domain.errors import CurrencyMismatch, InvoiceOfAnotherAccount, UnknownInvoice
from ledger.handlers.books import book_fact, open_book
from ledger.store.receivables import Receivables


async def receive_payment(
    uow: UnitOfWork,
    *,
    account_id: str,
    amount: int,
    currency: str,
    received_on: date,
    reference: str,
    invoice_id: str | None,
) -> dict[str, Any]:
    """Record the payment in the payer's book: Dr 1000; Cr 1100 what it pays; Cr 2200 the rest.

    Raises InvalidAmount, UnknownInvoice, InvoiceOfAnotherAccount, CurrencyMismatch,
    InvoiceNotOpen (void, paid or uncollectible), DateBeforeCause; nothing is written then.
    """
    positive_amount("amount", amount)
    if invoice_id is not None:
        named = await uow.repository(Receivables).invoice(invoice_id)
        if named is None:
            raise UnknownInvoice(invoice_id)
        if named["account_id"] != account_id:
            raise InvoiceOfAnotherAccount(invoice_id, account_id)
        if named["currency"] != currency:
            raise CurrencyMismatch(invoice_id, named["currency"], currency)
    payment_id = uow.new_id("pay")
    fact = PaymentReceived(
        payment_id=payment_id, account_id=account_id, currency=currency, amount=amount,
        received_on=received_on, reference=reference, invoice_id=invoice_id,
    )  # fmt: skip
    opened = await open_book(uow, account_id, currency)
    await book_fact(uow, opened, fact, cause=None, source=payment_id)
    payment = await uow.repository(Receivables).payment(payment_id)
    if payment is None:  # pragma: no cover - recorded and projected just above
        raise RuntimeError(f"payment {payment_id} was not projected")
    return payment
