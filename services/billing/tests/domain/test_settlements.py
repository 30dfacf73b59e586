"""What the ledger applies to an invoice, as billing shows it (BILLING_RULES.md 7, W18, F1).

The ledger decides what money meets which invoice (its journal entries, W18's
customer credit and F1's trial balance are the ledger's); billing keeps each
invoice's amount paid, amount due and status from what was applied.
"""

from __future__ import annotations

from typing import Any

import pytest
from billing.domain.errors import SettlementDoesNotFit
from billing.domain.settlement import Settlement, settle


def _posted(invoice_id: str, total: int, currency: str = "USD") -> dict[str, Any]:
    return {"id": invoice_id, "account_id": "acme", "currency": currency, "status": "posted",
            "total": total, "amount_paid": 0, "amount_due": total}  # fmt: skip


def _after(invoice: dict[str, Any], settlement: Settlement) -> dict[str, Any]:
    return {**invoice, "amount_paid": settlement.amount_paid,
            "amount_due": settlement.amount_due, "status": settlement.status}  # fmt: skip


def test_w18_the_overpayment_pays_inv1_and_the_credit_leaves_inv2_partially_paid_7000() -> None:
    paid = settle(_posted("inv_1", 15000), "inv_1", "USD", 15000)
    from_credit = settle(_posted("inv_2", 12000), "inv_2", "USD", 5000)

    assert paid == Settlement("acme", 15000, 0, "paid")
    assert from_credit == Settlement("acme", 5000, 7000, "partially_paid")


def test_f1_the_payment_of_150000_leaves_inv3_partially_paid_with_2856_due() -> None:
    applied = {"inv_1": (49677, 49677), "inv_2": (45000, 45000), "inv_3": (58179, 55323)}

    shown = {
        i: settle(_posted(i, total), i, "USD", amount) for i, (total, amount) in applied.items()
    }

    assert sum(amount for _, amount in applied.values()) == 150000
    assert shown == {
        "inv_1": Settlement("acme", 49677, 0, "paid"),
        "inv_2": Settlement("acme", 45000, 0, "paid"),
        "inv_3": Settlement("acme", 55323, 2856, "partially_paid"),
    }


def test_a_second_application_pays_what_was_left() -> None:
    invoice = _posted("inv_3", 58179)
    first = settle(invoice, "inv_3", "USD", 55323)

    assert settle(_after(invoice, first), "inv_3", "USD", 2856) == Settlement(
        "acme", 58179, 0, "paid"
    )


@pytest.mark.parametrize(
    ("invoice", "currency", "amount", "reason"),
    [
        (None, "USD", 100, "no such invoice"),
        ({**_posted("inv_1", 1000), "status": "void"}, "USD", 100, "the invoice is void"),
        (_posted("inv_1", 1000), "EUR", 100, "EUR applied to a USD invoice"),
        (_posted("inv_1", 1000), "USD", 1001, "1001 applied with 1000 due"),
        (_posted("inv_1", 1000), "USD", 0, "0 applied with 1000 due"),
    ],
)
def test_an_application_that_does_not_fit_is_refused(
    invoice: dict[str, Any] | None, currency: str, amount: int, reason: str
) -> None:
    with pytest.raises(SettlementDoesNotFit, match=reason):
        settle(invoice, "inv_1", currency, amount)
