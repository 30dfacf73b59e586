"""The upcoming invoice, and a preview of it with a draft amendment applied.

Both run the real bill-run code (domain/bill_run.py) on the account's book as
it stands, in memory; nothing is written, numbered or published.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from billing.domain.bill_run import bill_account
from billing.domain.errors import PreviewDoesNotFit
from billing.domain.invoice import BillingDocument
from billing.domain.orders import BillingOrder, OrderLine, schedule_order
from billing.domain.schedule import Subscription
from billing.store.accounts import AccountBooks
from billing.store.schedules import AccountBook
from billing.translation import billed_lines_of

PREVIEW_EVENT_ID = "preview"


async def upcoming(
    books: AccountBooks, account_id: str, as_of: date | None, payment_terms_days: int
) -> tuple[date | None, list[dict[str, Any]]]:
    """What a run as of `as_of` (default: the account's next bill date) would issue."""
    book = (await books.load([account_id]))[account_id]
    if as_of is None:
        as_of = await books.next_bill_date(account_id)
    if as_of is None:
        return None, []
    return as_of, _documents(book, as_of, payment_terms_days)


async def preview_amendment(
    books: AccountBooks,
    account_id: str,
    contract_id: str,
    effective_date: date,
    lines: list[dict[str, Any]],
    as_of: date | None,
    payment_terms_days: int,
) -> tuple[date, list[dict[str, Any]]]:
    """What a run as of `as_of` (default: the effective date) would issue had the
    contract been amended so. Raises PreviewDoesNotFit naming the bad fields."""
    book = (await books.load([account_id]))[account_id]
    contract = [s for s in book.subscriptions.values() if s.contract_id == contract_id]
    if not contract:
        raise PreviewDoesNotFit(
            [{"field": "contract_id", "in": "body", "message": "no schedules of this contract"}]
        )
    order = _draft_order(account_id, contract_id, contract, effective_date, lines)
    changed = schedule_order(book.subscriptions, order, sequence=1 << 30)
    book = replace(
        book, subscriptions={**book.subscriptions, **{s.subscription_id: s for s in changed}}
    )
    run_date = as_of or effective_date
    return run_date, _documents(book, run_date, payment_terms_days)


def _draft_order(
    account_id: str,
    contract_id: str,
    contract: list[Subscription],
    effective_date: date,
    lines: list[dict[str, Any]],
) -> BillingOrder:
    first = contract[0]
    contract_start = min(term.start for sub in contract for term in sub.terms)
    contract_end = max(term.end for sub in contract for term in sub.terms)
    by_id = {s.subscription_id: s for s in contract}
    errors: list[dict[str, Any]] = []
    if not contract_start <= effective_date <= contract_end:
        errors.append(
            {
                "field": "effective_date",
                "in": "body",
                "message": f"outside the contract's term {contract_start}..{contract_end}",
            }
        )
    items: list[OrderLine] = []
    named: set[str] = set()
    for n, line in enumerate(lines):
        where = f"lines[{n}]"
        sid = line.get("subscription_id")
        if sid is not None:
            sub = by_id.get(sid)
            if sid in named:
                field = f"{where}.subscription_id"
                errors.append({"field": field, "in": "body", "message": "named twice"})
                continue
            named.add(sid)
            if sub is None:
                errors.append(
                    {
                        "field": f"{where}.subscription_id",
                        "in": "body",
                        "message": "not in contract",
                    }
                )
                continue
            end = max(term.end for term in sub.terms)
            items.append(
                OrderLine(
                    subscription_id=sid,
                    sku=sub.sku,
                    name=sub.name,
                    charge_type=sub.charge_type,
                    billing_period=sub.billing_period,
                    quantity_delta=0,
                    quantity=line["quantity"],
                    unit_price=sub.unit_price,
                    start_date=effective_date,
                    end_date=end,
                )
            )
            continue
        missing = [f for f in ("sku", "unit_price") if line.get(f) is None]
        if (
            line.get("charge_type", "recurring") == "recurring"
            and line.get("billing_period") is None
        ):
            missing.append("billing_period")
        errors += [
            {"field": f"{where}.{f}", "in": "body", "message": "required for a new subscription"}
            for f in missing
        ]
        if missing:
            continue
        items.append(
            OrderLine(
                subscription_id=f"preview-{n}",
                sku=line["sku"],
                name=line.get("name") or line["sku"],
                charge_type=line.get("charge_type", "recurring"),
                billing_period=line.get("billing_period")
                if line.get("charge_type", "recurring") == "recurring"
                else None,
                quantity_delta=line["quantity"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                start_date=effective_date,
                end_date=contract_end,
            )
        )
    if errors:
        raise PreviewDoesNotFit(errors)
    return BillingOrder(
        order_id="preview",
        contract_id=contract_id,
        account_id=account_id,
        kind="amendment",
        currency=first.currency,
        effective_date=effective_date,
        bill_cycle_day=first.bill_cycle_day,
        billing_timing=first.billing_timing,
        contract_end_date=contract_end,
        credit_unused=False,
        items=tuple(items),
        event_id=PREVIEW_EVENT_ID,
    )


def _documents(book: AccountBook, as_of: date, payment_terms_days: int) -> list[dict[str, Any]]:
    documents = bill_account(
        book.subscriptions.values(), book.billed, book.controls, as_of, payment_terms_days
    )
    return [_document(d) for d in documents]


def _document(document: BillingDocument) -> dict[str, Any]:
    lines = []
    for line in billed_lines_of(document):
        row = line.model_dump(exclude={"source"})
        row["source"] = line.source.model_dump()
        lines.append(row)
    return {
        "kind": document.kind,
        "currency": document.currency,
        "issue_date": document.issue_date,
        "due_date": document.due_date,
        "lines": lines,
        "subtotal": document.total,
        "total": document.total,
    }
