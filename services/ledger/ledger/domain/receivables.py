"""The receivables sub-ledger's records: invoices as the ledger holds them, payments, credit lots.

Mutable records owned by one AccountBook (book.py); reports never read them,
they read journal entries (reports.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ledger.domain.documents import CreditNote, Invoice


class InvoiceStatus(StrEnum):
    """An invoice's status as billing shows it (API.md)."""

    POSTED = "posted"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


OPEN_STATUSES = frozenset({InvoiceStatus.POSTED, InvoiceStatus.PARTIALLY_PAID})


class SettlementSource(StrEnum):
    """Where money applied to an invoice came from (`amount_paid` counts all three)."""

    CASH = "cash"
    CUSTOMER_CREDIT = "customer_credit"
    CREDIT_NOTE = "credit_note"


class LotSource(StrEnum):
    """What left customer credit behind: an overpayment or a credit note's remainder."""

    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"


@dataclass(slots=True)
class Application:
    """Money applied to an invoice: from a payment's cash, a credit lot, or a credit note.

    `source_id` is the payment or credit note; `lot_id` the lot customer credit
    came from (None for cash and credit notes applied directly).
    """

    invoice_id: str
    amount: int
    source: SettlementSource
    source_id: str
    applied_on: date
    lot_id: str | None = None
    reversed: bool = False


@dataclass(slots=True)
class InvoiceRecord:
    """An invoice in the sub-ledger: its document and what has been paid or written off."""

    invoice: Invoice
    amount_paid: int = 0
    written_off: int = 0
    voided: bool = False
    uncollectible: bool = False
    applications: list[Application] = field(default_factory=list)
    reopened_on: date | None = None  # the last reversal that raised its amount due

    @property
    def settles_from(self) -> tuple[date, str]:
        """The first date a step may settle it: its date, or its last reopening when later.

        Before a reversal reopened it the invoice owed less, so a payment, credit,
        write-off or void dated earlier would leave it owing below zero as of then.
        """
        if self.reopened_on is not None and self.reopened_on > self.invoice.invoice_date:
            return self.reopened_on, "the invoice's reopening"
        return self.invoice.invoice_date, "the invoice date"

    @property
    def amount_due(self) -> int:
        """Total minus what was applied and what was written off; 0 once void."""
        if self.voided:
            return 0
        return self.invoice.total - self.amount_paid - self.written_off

    @property
    def status(self) -> InvoiceStatus:
        """Void, uncollectible, paid (nothing due), partially paid or posted."""
        if self.voided:
            return InvoiceStatus.VOID
        if self.uncollectible:
            return InvoiceStatus.UNCOLLECTIBLE
        if self.amount_due == 0:
            return InvoiceStatus.PAID
        if self.amount_paid > 0:
            return InvoiceStatus.PARTIALLY_PAID
        return InvoiceStatus.POSTED

    @property
    def is_open(self) -> bool:
        """Posted or partially paid: it takes payments, credit and write-offs."""
        return self.status in OPEN_STATUSES


@dataclass(slots=True)
class CreditLot:
    """Unapplied customer credit from one source, applied and refunded oldest lot first."""

    lot_id: str
    source: LotSource
    source_id: str
    created_on: date
    sequence: int  # creation order: breaks ties between lots of one day
    amount: int
    remaining: int
    refunded: int = 0

    @property
    def age(self) -> tuple[date, int]:
        """Sort key, oldest first."""
        return (self.created_on, self.sequence)


class PaymentStatus(StrEnum):
    """A payment's status (API.md)."""

    APPLIED = "applied"
    REVERSED = "reversed"


@dataclass(slots=True)
class PaymentRecord:
    """A received payment: its cash applications and the lot its remainder became."""

    payment_id: str
    account_id: str
    currency: str
    amount: int
    received_on: date
    reference: str
    invoice_id: str | None
    applications: list[Application] = field(default_factory=list)
    lot_id: str | None = None
    reversed_on: date | None = None

    @property
    def status(self) -> PaymentStatus:
        """Applied until reversed."""
        return PaymentStatus.APPLIED if self.reversed_on is None else PaymentStatus.REVERSED


@dataclass(slots=True)
class RefundRecord:
    """Customer credit paid back, and the lots it was taken from."""

    refund_id: str
    amount: int
    refunded_on: date
    reference: str
    taken: dict[str, int] = field(default_factory=dict)  # lot id -> amount


@dataclass(slots=True)
class CreditNoteRecord:
    """A credit note and what of it was applied directly to invoices."""

    credit_note: CreditNote
    applications: list[Application] = field(default_factory=list)
    lot_id: str | None = None
