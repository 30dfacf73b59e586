"""Refund customer credit (finance's request, W22): pay unapplied cash back, oldest lot first."""

from __future__ import annotations

from datetime import date
from typing import Any

from revline_events.payloads.ledger import CreditRefunded
from revline_events.unit_of_work import UnitOfWork

from ledger.domain.book import positive_amount
from ledger.handlers.books import book_fact, open_book


async def refund_credit(
    uow: UnitOfWork,
    *,
    account_id: str,
    amount: int,
    currency: str,
    refunded_on: date,
    reference: str,
) -> dict[str, Any]:
    """Dr 2200 / Cr 1000 `amount`, taken from the account's lots that existed on
    `refunded_on`, oldest first. Raises InvalidAmount, InsufficientCustomerCredit (more
    than the credit in that currency); nothing is written then."""
    positive_amount("amount", amount)
    refund_id = uow.new_id("rf")
    fact = CreditRefunded(
        refund_id=refund_id, account_id=account_id, currency=currency, amount=amount,
        refunded_on=refunded_on, reference=reference,
    )  # fmt: skip
    opened = await open_book(uow, account_id, currency)
    await book_fact(uow, opened, fact, cause=None, source=refund_id)
    return {"id": refund_id, **fact.model_dump(exclude={"refund_id"})}
