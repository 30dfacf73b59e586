"""What the ledger applies to an invoice, as billing shows it (BILLING_RULES.md 7, W18, F1).

The ledger decides what money meets which invoice (its journal entries, W18's
customer credit and F1's trial balance are the ledger's); billing keeps each
invoice's amount paid, amount due and status from what was applied.
"""

from __future__ import annotations

from typing import Any

import pytest
from billing.domain.errors import InvoiceNotVoidable, SettlementDoesNotFit
from billing.domain.settlement import (
    Reopening,
    Settlement,
    ensure_collectible,
    ensure_voidable,
    settle,
    unsettle,
)


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


# -- W21 and W23: what the ledger takes back or writes off -----------------------------------


def test_w21_the_reversal_takes_inv1_back_to_posted_and_inv2_back_to_posted() -> None:
    inv1 = _after(_posted("inv_1", 15000), settle(_posted("inv_1", 15000), "inv_1", "USD", 15000))
    inv2 = _after(_posted("inv_2", 12000), settle(_posted("inv_2", 12000), "inv_2", "USD", 5000))

    assert unsettle(inv1, "inv_1", "USD", 15000) == Reopening("acme", 0, 15000, "posted")
    assert unsettle(inv2, "inv_2", "USD", 5000) == Reopening("acme", 0, 12000, "posted")


def test_taking_back_part_of_what_was_paid_leaves_the_invoice_partially_paid() -> None:
    invoice = {**_posted("inv_1", 10000), "status": "paid", "amount_paid": 10000,
               "amount_due": 0}  # fmt: skip

    assert unsettle(invoice, "inv_1", "USD", 4000) == Reopening(
        "acme", 6000, 4000, "partially_paid"
    )


def test_w23_then_w21_an_uncollectible_invoice_stays_so_with_nothing_due() -> None:
    invoice = {**_posted("inv_3", 58179), "status": "uncollectible", "amount_paid": 55323,
               "amount_due": 0}  # fmt: skip

    assert unsettle(invoice, "inv_3", "USD", 55323) == Reopening("acme", 0, 0, "uncollectible")


def test_w23_f1s_inv3_is_written_off_for_its_2856_due() -> None:
    invoice = {**_posted("inv_3", 58179), "status": "partially_paid", "amount_paid": 55323,
               "amount_due": 2856}  # fmt: skip

    assert ensure_collectible(invoice, "inv_3", "USD", 2856) is invoice


@pytest.mark.parametrize(
    ("invoice", "currency", "amount", "reason"),
    [
        (None, "USD", 100, "no such invoice"),
        ({**_posted("inv_1", 1000), "status": "void"}, "USD", 100, "the invoice is void"),
        ({**_posted("inv_1", 1000), "amount_paid": 500}, "EUR", 100, "EUR taken back from"),
        ({**_posted("inv_1", 1000), "amount_paid": 500}, "USD", 501, "501 taken back with 500"),
        ({**_posted("inv_1", 1000), "amount_paid": 500}, "USD", 0, "0 taken back with 500"),
    ],
)
def test_taking_back_what_does_not_fit_is_refused(
    invoice: dict[str, Any] | None, currency: str, amount: int, reason: str
) -> None:
    with pytest.raises(SettlementDoesNotFit, match=reason):
        unsettle(invoice, "inv_1", currency, amount)


@pytest.mark.parametrize(
    ("invoice", "currency", "amount", "reason"),
    [
        (None, "USD", 100, "no such invoice"),
        ({**_posted("inv_1", 1000), "status": "paid"}, "USD", 1000, "invoice paid"),
        ({**_posted("inv_1", 1000), "status": "void"}, "USD", 1000, "invoice void"),
        ({**_posted("inv_1", 1000), "status": "uncollectible"}, "USD", 1000, "uncollectible"),
        (_posted("inv_1", 1000), "EUR", 1000, "EUR written off a USD invoice"),
        (_posted("inv_1", 1000), "USD", 999, "999 written off with 1000 due"),
    ],
)
def test_a_write_off_that_does_not_fit_is_refused(
    invoice: dict[str, Any] | None, currency: str, amount: int, reason: str
) -> None:
    with pytest.raises(SettlementDoesNotFit, match=reason):
        ensure_collectible(invoice, "inv_1", currency, amount)


def test_an_uncollectible_invoice_takes_no_money_and_cannot_be_voided() -> None:
    invoice = {**_posted("inv_1", 1000), "status": "uncollectible", "amount_due": 0}

    with pytest.raises(SettlementDoesNotFit, match="the invoice is uncollectible"):
        settle(invoice, "inv_1", "USD", 100)
    with pytest.raises(InvoiceNotVoidable, match="it is uncollectible"):
        ensure_voidable(invoice)
