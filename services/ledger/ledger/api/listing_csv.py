"""CSV of the ledger accounts, an account's receivables and the payments list.

The same figures as their JSON, written out a page at a time (`csv_pages`).
The payments list and an account's open invoices grow with the data: they are
read a page at a time by key, each page in a session of its own (on SQLite the
pool holds one connection, which a slow download must not keep from the
writers). The ledger accounts are bounded by the chart and the currencies: one
query, laid out as rows while they are sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

from revline_service.service import Runtime

from ledger.api.schemas import LedgerAccountsOut
from ledger.store.receivables import Receivables

Row = Sequence[object]

LEDGER_ACCOUNTS_HEADER = ("number", "name", "normal_balance", "currency", "debit", "credit",
                          "balance")  # fmt: skip
RECEIVABLE_HEADER = ("account_id", "currency", "kind", "invoice_id", "number", "due_date",
                     "amount")  # fmt: skip
PAYMENTS_HEADER = (
    "payment_id", "account_id", "currency", "amount", "received_on", "reference",
    "invoice_id", "status", "reversed_on", "reversal_reason", "applied_invoice_id",
    "applied_amount", "applied_on", "applied_source",
)  # fmt: skip
# Open invoices or payments read per query.
PAGE = 500


async def ledger_account_pages(report: LedgerAccountsOut) -> AsyncIterator[list[Row]]:
    """One row per ledger account and currency, in chart order then the JSON's currency
    order (an account's `balances`); no rows while the journal holds no entry."""
    for account in report.data:
        yield [
            (account.number, account.name, account.normal_balance, b.currency, b.debit,
             b.credit, b.balance)
            for b in account.balances
        ]  # fmt: skip


async def receivable_pages(
    runtime: Runtime, account_id: str, currency: str, as_of: date
) -> AsyncIterator[list[Row]]:
    """The account's receivable in one currency as of a date: a row per open invoice
    (`kind` open_invoice, its `amount_due` as `amount`) in the JSON's order, then the
    `unapplied_cash` row and the `balance` row (open amounts due less unapplied cash)."""
    async with runtime.db.session() as session:
        unapplied = await Receivables(session).unapplied_cash(account_id, currency, as_of)
    due = 0
    after: tuple[date, str, str] | None = None
    while True:
        async with runtime.db.session() as session:
            invoices = await Receivables(session).open_invoices(
                account_id, currency, as_of, after=after, limit=PAGE
            )
        due += sum(i["amount_due"] for i in invoices)
        yield [
            (account_id, currency, "open_invoice", i["invoice_id"], i["number"], i["due_date"],
             i["amount_due"])
            for i in invoices
        ]  # fmt: skip
        if len(invoices) < PAGE:
            break
        last = invoices[-1]
        after = (last["due_date"], last["number"], last["invoice_id"])
    yield [
        (account_id, currency, "unapplied_cash", "", "", "", unapplied),
        (account_id, currency, "balance", "", "", "", due - unapplied),
    ]


async def payment_pages(
    runtime: Runtime, *, account_id: str | None, after: list[Any] | None
) -> AsyncIterator[list[Row]]:
    """Every payment (of the account when given) after the cursor key, in the JSON's
    order: a row per application, its payment's figures on each; a payment with none
    applied yet has one row, the application's columns blank."""
    while True:
        async with runtime.db.session() as session:
            payments = await Receivables(session).payments(
                account_id=account_id, after=after, limit=PAGE
            )
        yield [row for payment in payments[:PAGE] for row in _payment_rows(payment)]
        if len(payments) <= PAGE:
            return
        after = [payments[PAGE - 1]["payment_id"]]


def _payment_rows(payment: dict[str, Any]) -> list[Row]:
    status = "applied" if payment["reversed_on"] is None else "reversed"
    head = (
        payment["payment_id"], payment["account_id"], payment["currency"], payment["amount"],
        payment["received_on"], payment["reference"], _blank(payment["invoice_id"]), status,
        _blank(payment["reversed_on"]), _blank(payment["reason"]),
    )  # fmt: skip
    applied = payment["applications"]
    if not applied:
        return [(*head, "", "", "", "")]
    return [(*head, a["invoice_id"], a["amount"], a["applied_on"], a["source"]) for a in applied]


def _blank(value: object) -> object:
    return "" if value is None else value
