"""One customer account's books in one currency: every ledger step that touches receivables.

Each step checks everything first and raises a LedgerError before changing
anything, then changes the records and returns the entries it posted: a
refused step writes nothing. Every currency is apart (no FX), so a book never
sees another currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from ledger.domain.accounts import LedgerAccount
from ledger.domain.documents import CreditNote, DocumentLine, Invoice
from ledger.domain.errors import (
    DateBeforeCause,
    DuplicateId,
    InsufficientCustomerCredit,
    InvalidAmount,
    InvoiceNotOpen,
    InvoiceNotVoidable,
    PaymentAlreadyReversed,
    PaymentCreditRefunded,
    UnknownInvoice,
    UnknownPayment,
)
from ledger.domain.journal import (
    Concern,
    ConcernKind,
    EntryKind,
    JournalEntry,
    MoveTarget,
    SubledgerMove,
    journal_entry,
)
from ledger.domain.receivables import (
    Application,
    CreditLot,
    CreditNoteRecord,
    InvoiceRecord,
    InvoiceStatus,
    LotSource,
    PaymentRecord,
    RefundRecord,
    SettlementSource,
)
from ledger.domain.recognition import month_start, monthly_shares, recognition_date

AR = LedgerAccount.ACCOUNTS_RECEIVABLE
CASH = LedgerAccount.CASH
DEFERRED = LedgerAccount.DEFERRED_REVENUE
CREDIT = LedgerAccount.CUSTOMER_CREDIT
SUBSCRIPTION = LedgerAccount.SUBSCRIPTION_REVENUE
ONE_TIME = LedgerAccount.ONE_TIME_REVENUE
BAD_DEBT = LedgerAccount.BAD_DEBT_EXPENSE


@dataclass(frozen=True, slots=True)
class InvoiceFigures:
    """An invoice's figures after a step changed them: what billing must show."""

    invoice_id: str
    amount_paid: int
    amount_due: int
    status: InvoiceStatus


@dataclass(frozen=True, slots=True)
class Settlement:
    """One application (or, negative, its undoing) to announce on ledger.events."""

    invoice_id: str
    amount: int
    source: SettlementSource
    source_id: str
    applied_on: date


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a step posted: its entries, the applications it made or undid, the invoices it moved."""

    entries: tuple[JournalEntry, ...] = ()
    settlements: tuple[Settlement, ...] = ()
    invoices: tuple[InvoiceFigures, ...] = ()


def positive_amount(field_name: str, value: object) -> int:
    """`value` as minor units > 0; raises InvalidAmount for zero, negatives, floats and bools."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidAmount(field_name, value)
    return value


@dataclass(slots=True)
class RecognisedMonth:
    """A line's month that was recognised: the amount and the entry's date."""

    amount: int
    entry_date: date


@dataclass(slots=True)
class AccountBook:
    """The receivables of `account_id` in `currency`, and the recognition of its lines."""

    account_id: str
    currency: str
    invoices: dict[str, InvoiceRecord] = field(default_factory=dict)
    credit_notes: dict[str, CreditNoteRecord] = field(default_factory=dict)
    payments: dict[str, PaymentRecord] = field(default_factory=dict)
    refunds: dict[str, RefundRecord] = field(default_factory=dict)
    lots: dict[str, CreditLot] = field(default_factory=dict)
    # (invoice or credit note id, line_no) -> service month -> what was recognised
    recognised: dict[tuple[str, int], dict[date, RecognisedMonth]] = field(default_factory=dict)

    # -- reading -------------------------------------------------------------

    def invoice(self, invoice_id: str) -> InvoiceRecord:
        """The invoice's record; raises UnknownInvoice."""
        try:
            return self.invoices[invoice_id]
        except KeyError:
            raise UnknownInvoice(invoice_id) from None

    def payment(self, payment_id: str) -> PaymentRecord:
        """The payment's record; raises UnknownPayment."""
        try:
            return self.payments[payment_id]
        except KeyError:
            raise UnknownPayment(payment_id) from None

    def open_invoices(self, on_or_before: date) -> list[InvoiceRecord]:
        """Open invoices settleable on the date (InvoiceRecord.settles_from), oldest first.

        Oldest by (due_date, number).
        """
        found = [
            r for r in self.invoices.values() if r.is_open and r.settles_from[0] <= on_or_before
        ]
        return sorted(found, key=lambda r: (r.invoice.due_date, r.invoice.number))

    def lots_available(self, on_or_before: date) -> list[CreditLot]:
        """Lots with credit left that existed on the date, oldest first."""
        found = [
            lot for lot in self.lots.values() if lot.remaining and lot.created_on <= on_or_before
        ]
        return sorted(found, key=lambda lot: lot.age)

    @property
    def customer_credit(self) -> int:
        """Unapplied customer credit: the sum of the lots' remainders."""
        return sum(lot.remaining for lot in self.lots.values())

    def _entry(
        self,
        on: date,
        kind: EntryKind,
        concerns: Concern,
        amounts: Iterable[tuple[LedgerAccount, int]],
        moves: Iterable[SubledgerMove] = (),
        service_month: date | None = None,
    ) -> JournalEntry | None:
        return journal_entry(
            entry_date=on,
            currency=self.currency,
            account_id=self.account_id,
            kind=kind,
            concerns=concerns,
            amounts=amounts,
            moves=moves,
            service_month=service_month,
        )

    def _figures(self, invoice_ids: Iterable[str]) -> tuple[InvoiceFigures, ...]:
        records = [self.invoices[i] for i in dict.fromkeys(invoice_ids)]
        return tuple(
            InvoiceFigures(r.invoice.invoice_id, r.amount_paid, r.amount_due, r.status)
            for r in records
        )

    def _new_lot(self, source: LotSource, source_id: str, on: date, amount: int) -> CreditLot:
        lot = CreditLot(
            f"{source}:{source_id}", source, source_id, on, len(self.lots), amount, amount
        )
        self.lots[lot.lot_id] = lot
        return lot

    def _apply_to(
        self, record: InvoiceRecord, amount: int, source: SettlementSource, source_id: str,
        on: date, lot_id: str | None = None,
    ) -> Application:  # fmt: skip
        application = Application(record.invoice.invoice_id, amount, source, source_id, on, lot_id)
        record.applications.append(application)
        record.amount_paid += amount
        return application

    # -- invoices and credit notes -------------------------------------------

    def post_invoice(self, invoice: Invoice) -> Outcome:
        """Post the invoice (Dr 1100 total; Cr 2100 deferred; Cr 4100 one-time), then apply credit.

        Customer credit that existed on the invoice date is applied at once,
        oldest lot first: Dr 2200 / Cr 1100 (W18). Dated the invoice date.
        """
        invoice.check()
        if invoice.invoice_id in self.invoices:
            raise DuplicateId("invoice", invoice.invoice_id)
        record = InvoiceRecord(invoice)
        self.invoices[invoice.invoice_id] = record
        concerns = Concern(ConcernKind.INVOICE, invoice.invoice_id)
        posted = self._entry(
            invoice.invoice_date,
            EntryKind.INVOICE_POSTED,
            concerns,
            [
                (AR, invoice.total),
                (DEFERRED, -invoice.deferred_total),
                (ONE_TIME, -invoice.one_time_total),
            ],
            [SubledgerMove(MoveTarget.INVOICE, invoice.invoice_id, invoice.total)],
            month_start(invoice.invoice_date),
        )
        applied: list[Application] = []
        for lot in self.lots_available(invoice.invoice_date):
            if record.amount_due == 0:
                break
            take = min(lot.remaining, record.amount_due)
            lot.remaining -= take
            applied.append(
                self._apply_to(
                    record, take, SettlementSource.CUSTOMER_CREDIT, lot.source_id,
                    invoice.invoice_date, lot.lot_id,
                )
            )  # fmt: skip
        used = sum(a.amount for a in applied)
        credited = self._entry(
            invoice.invoice_date,
            EntryKind.CREDIT_APPLIED,
            concerns,
            [(CREDIT, used), (AR, -used)],
            [SubledgerMove(MoveTarget.INVOICE, invoice.invoice_id, -used)]
            + [SubledgerMove(MoveTarget.CREDIT_LOT, a.lot_id or "", -a.amount) for a in applied],
        )
        return Outcome(
            tuple(e for e in (posted, credited) if e is not None),
            tuple(_settlement(a) for a in applied),
            self._figures([invoice.invoice_id]),
        )

    def issue_credit_note(self, note: CreditNote) -> Outcome:
        """Post the credit note and apply it like cash; its remainder becomes a credit lot.

        One entry dated the issue date: Dr 2100 the deferred lines (Cr 4100 any
        one-time lines); Cr 1100 what was applied to open invoices, oldest first
        by (due_date, number); Cr 2200 the rest.
        """
        note.check()
        if note.credit_note_id in self.credit_notes:
            raise DuplicateId("credit note", note.credit_note_id)
        record = CreditNoteRecord(note)
        self.credit_notes[note.credit_note_id] = record
        left = note.total
        moves: list[SubledgerMove] = []
        touched: list[str] = []
        for invoice in self.open_invoices(note.issue_date):
            if left == 0:
                break
            take = min(left, invoice.amount_due)
            left -= take
            record.applications.append(
                self._apply_to(
                    invoice,
                    take,
                    SettlementSource.CREDIT_NOTE,
                    note.credit_note_id,
                    note.issue_date,
                )
            )
            moves.append(SubledgerMove(MoveTarget.INVOICE, invoice.invoice.invoice_id, -take))
            touched.append(invoice.invoice.invoice_id)
        if left:
            lot = self._new_lot(LotSource.CREDIT_NOTE, note.credit_note_id, note.issue_date, left)
            record.lot_id = lot.lot_id
            moves.append(SubledgerMove(MoveTarget.CREDIT_LOT, lot.lot_id, left))
        entry = self._entry(
            note.issue_date,
            EntryKind.CREDIT_NOTE_ISSUED,
            Concern(ConcernKind.CREDIT_NOTE, note.credit_note_id),
            [
                (DEFERRED, -note.deferred_total),
                (ONE_TIME, -note.one_time_total),
                (AR, -(note.total - left)),
                (CREDIT, -left),
            ],
            moves,
            month_start(note.issue_date),
        )
        return Outcome(
            (entry,) if entry else (),
            tuple(_settlement(a) for a in record.applications),
            self._figures(touched),
        )

    def void_invoice(self, invoice_id: str, voided_on: date) -> Outcome:
        """Reverse the invoice's posting and every recognition posted for its lines.

        Only an invoice with nothing paid, neither void nor uncollectible
        (InvoiceNotVoidable). The posting's reversal is dated `voided_on`; each
        recognition's reversal keeps its service month and is dated `voided_on`,
        or the recognition's own date when later.
        """
        record = self.invoice(invoice_id)
        invoice = record.invoice
        if record.voided or record.uncollectible or record.amount_paid:
            raise InvoiceNotVoidable(invoice_id, record.status, record.amount_paid)
        earliest, cause = record.settles_from
        if voided_on < earliest:
            raise DateBeforeCause("voided_on", voided_on, earliest, cause)
        due = record.amount_due
        record.voided = True
        concerns = Concern(ConcernKind.INVOICE, invoice_id)
        entries = [
            self._entry(
                voided_on,
                EntryKind.INVOICE_VOIDED,
                concerns,
                [
                    (AR, -due),
                    (DEFERRED, invoice.deferred_total),
                    (ONE_TIME, invoice.one_time_total),
                ],
                [SubledgerMove(MoveTarget.INVOICE, invoice_id, -due)],
                month_start(invoice.invoice_date),
            )
        ]
        for line in invoice.lines:
            for month, done in self.recognised.get((invoice_id, line.line_no), {}).items():
                entries.append(
                    self._entry(
                        max(voided_on, done.entry_date),
                        EntryKind.RECOGNITION_REVERSED,
                        Concern(ConcernKind.INVOICE, invoice_id, line.line_no),
                        [(SUBSCRIPTION, done.amount), (DEFERRED, -done.amount)],
                        service_month=month,
                    )
                )
        return Outcome(tuple(e for e in entries if e is not None), (), self._figures([invoice_id]))

    # -- revenue recognition -------------------------------------------------

    def recognise(self, through: date) -> Outcome:
        """Post every line-month due by `through` and not recognised yet: Dr 2100 / Cr 4000.

        One entry per deferred line and month, dated the month's last day or the
        document's date when later; negative lines the reverse. A voided
        invoice's lines are not recognised; a written-off invoice's still are.
        """
        entries: list[JournalEntry] = []
        for record in self.invoices.values():
            if not record.voided:
                invoice = record.invoice
                concerns = (ConcernKind.INVOICE, invoice.invoice_id, invoice.invoice_date)
                entries += self._recognise_lines(concerns, invoice.lines, through)
        for note_record in self.credit_notes.values():
            note = note_record.credit_note
            concerns = (ConcernKind.CREDIT_NOTE, note.credit_note_id, note.issue_date)
            entries += self._recognise_lines(concerns, note.lines, through)
        entries.sort(key=lambda e: e.entry_date)
        return Outcome(tuple(entries))

    def _recognise_lines(
        self,
        document: tuple[ConcernKind, str, date],
        lines: Iterable[DocumentLine],
        through: date,
    ) -> list[JournalEntry]:
        kind, document_id, document_date = document
        entries: list[JournalEntry] = []
        for line in lines:
            if not line.deferred:
                continue
            done = self.recognised.setdefault((document_id, line.line_no), {})
            for share in monthly_shares(line.amount, line.period_start, line.period_end):
                on = recognition_date(share.month, document_date)
                if on > through or share.month in done:
                    continue
                done[share.month] = RecognisedMonth(share.amount, on)
                entry = self._entry(
                    on,
                    EntryKind.REVENUE_RECOGNISED,
                    Concern(kind, document_id, line.line_no),
                    [(DEFERRED, share.amount), (SUBSCRIPTION, -share.amount)],
                    service_month=share.month,
                )
                if entry is not None:
                    entries.append(entry)
        return entries

    # -- payments, reversals, refunds, write-offs ----------------------------

    def receive_payment(
        self, payment_id: str, amount: int, received_on: date, reference: str,
        invoice_id: str | None = None,
    ) -> Outcome:  # fmt: skip
        """Apply a payment: to the named invoice only, else to open invoices oldest first.

        Dr 1000 amount; Cr 1100 what was applied; Cr 2200 the rest, kept as a
        lot. Only invoices settleable on `received_on` (issued by then, not
        reopened after it) take it. Raises InvalidAmount, UnknownInvoice,
        InvoiceNotOpen, DateBeforeCause.
        """
        positive_amount("amount", amount)
        if payment_id in self.payments:
            raise DuplicateId("payment", payment_id)
        if invoice_id is not None:
            named = self.invoice(invoice_id)
            if not named.is_open:
                raise InvoiceNotOpen(invoice_id, named.status)
            earliest, cause = named.settles_from
            if received_on < earliest:
                raise DateBeforeCause("received_on", received_on, earliest, cause)
            targets = [named]
        else:
            targets = self.open_invoices(received_on)
        payment = PaymentRecord(
            payment_id, self.account_id, self.currency, amount, received_on, reference, invoice_id
        )
        self.payments[payment_id] = payment
        left = amount
        moves: list[SubledgerMove] = []
        for record in targets:
            if left == 0:
                break
            take = min(left, record.amount_due)
            left -= take
            payment.applications.append(
                self._apply_to(record, take, SettlementSource.CASH, payment_id, received_on)
            )
            moves.append(SubledgerMove(MoveTarget.INVOICE, record.invoice.invoice_id, -take))
        if left:
            lot = self._new_lot(LotSource.PAYMENT, payment_id, received_on, left)
            payment.lot_id = lot.lot_id
            moves.append(SubledgerMove(MoveTarget.CREDIT_LOT, lot.lot_id, left))
        entry = self._entry(
            received_on,
            EntryKind.PAYMENT_RECEIVED,
            Concern(ConcernKind.PAYMENT, payment_id),
            [(CASH, amount), (AR, -(amount - left)), (CREDIT, -left)],
            moves,
        )
        return Outcome(
            (entry,) if entry else (),
            tuple(_settlement(a) for a in payment.applications),
            self._figures(a.invoice_id for a in payment.applications),
        )

    def _applications_of(self, payment: PaymentRecord) -> list[Application]:
        """Everything a payment paid: its cash, and customer credit taken from its lot."""
        found = list(payment.applications)
        if payment.lot_id is not None:
            found += [
                a
                for record in self.invoices.values()
                for a in record.applications
                if a.lot_id == payment.lot_id
            ]
        return [a for a in found if not a.reversed]

    def reverse_payment(self, payment_id: str, reversed_on: date) -> Outcome:
        """Undo a payment (returned or charged back), W21: Cr 1000 its amount.

        Each application of its cash or of its lot's credit is undone: Dr 1100,
        the invoice reopens; on an invoice written off since, the amount joins
        the bad debt (Dr 6000) and the invoice stays uncollectible. What of the
        lot is unapplied: Dr 2200. Raises UnknownPayment, PaymentAlreadyReversed,
        PaymentCreditRefunded (some of its credit was refunded), DateBeforeCause.
        """
        payment = self.payment(payment_id)
        if payment.reversed_on is not None:
            raise PaymentAlreadyReversed(payment_id)
        lot = self.lots[payment.lot_id] if payment.lot_id is not None else None
        if lot is not None and lot.refunded:
            raise PaymentCreditRefunded(payment_id, lot.refunded)
        undone = self._applications_of(payment)
        latest = max([payment.received_on, *(a.applied_on for a in undone)])
        if reversed_on < latest:
            raise DateBeforeCause("reversed_on", reversed_on, latest, "the payment's last effect")
        payment.reversed_on = reversed_on
        amounts: list[tuple[LedgerAccount, int]] = [(CASH, -payment.amount)]
        moves: list[SubledgerMove] = []
        for application in undone:
            application.reversed = True
            record = self.invoices[application.invoice_id]
            record.amount_paid -= application.amount
            if record.uncollectible:
                record.written_off += application.amount
                amounts.append((BAD_DEBT, application.amount))
            else:
                amounts.append((AR, application.amount))
                record.reopened_on = reversed_on
                moves.append(
                    SubledgerMove(MoveTarget.INVOICE, application.invoice_id, application.amount)
                )
        if lot is not None and lot.remaining:
            amounts.append((CREDIT, lot.remaining))
            moves.append(SubledgerMove(MoveTarget.CREDIT_LOT, lot.lot_id, -lot.remaining))
            lot.remaining = 0
        entry = self._entry(
            reversed_on,
            EntryKind.PAYMENT_REVERSED,
            Concern(ConcernKind.PAYMENT, payment_id),
            amounts,
            moves,
        )
        settlements = tuple(
            Settlement(a.invoice_id, -a.amount, a.source, a.source_id, reversed_on) for a in undone
        )
        return Outcome(
            (entry,) if entry else (), settlements, self._figures(a.invoice_id for a in undone)
        )

    def refund_credit(
        self, refund_id: str, amount: int, refunded_on: date, reference: str
    ) -> Outcome:
        """Pay customer credit back, oldest lot first (W22): Dr 2200 / Cr 1000.

        At most the credit that existed on `refunded_on`, else
        InsufficientCustomerCredit and nothing written.
        """
        positive_amount("amount", amount)
        if refund_id in self.refunds:
            raise DuplicateId("refund", refund_id)
        lots = self.lots_available(refunded_on)
        available = sum(lot.remaining for lot in lots)
        if amount > available:
            raise InsufficientCustomerCredit(self.account_id, self.currency, amount, available)
        refund = RefundRecord(refund_id, amount, refunded_on, reference)
        self.refunds[refund_id] = refund
        left = amount
        moves: list[SubledgerMove] = []
        for lot in lots:
            if left == 0:
                break
            take = min(left, lot.remaining)
            left -= take
            lot.remaining -= take
            lot.refunded += take
            refund.taken[lot.lot_id] = take
            moves.append(SubledgerMove(MoveTarget.CREDIT_LOT, lot.lot_id, -take))
        entry = self._entry(
            refunded_on,
            EntryKind.CREDIT_REFUNDED,
            Concern(ConcernKind.REFUND, refund_id),
            [(CREDIT, amount), (CASH, -amount)],
            moves,
        )
        return Outcome((entry,) if entry else ())

    def write_off(self, invoice_id: str, written_off_on: date) -> Outcome:
        """Write an open invoice's amount due off as uncollectible (W23): Dr 6000 / Cr 1100.

        Its status becomes uncollectible, amount due 0; it takes no later
        payment or credit. Raises UnknownInvoice, InvoiceNotOpen, DateBeforeCause.
        """
        record = self.invoice(invoice_id)
        if not record.is_open:
            raise InvoiceNotOpen(invoice_id, record.status)
        earliest, cause = record.settles_from
        if written_off_on < earliest:
            raise DateBeforeCause("written_off_on", written_off_on, earliest, cause)
        due = record.amount_due
        record.written_off += due
        record.uncollectible = True
        entry = self._entry(
            written_off_on,
            EntryKind.INVOICE_WRITTEN_OFF,
            Concern(ConcernKind.INVOICE, invoice_id),
            [(BAD_DEBT, due), (AR, -due)],
            [SubledgerMove(MoveTarget.INVOICE, invoice_id, -due)],
        )
        return Outcome((entry,) if entry else (), (), self._figures([invoice_id]))


def _settlement(application: Application) -> Settlement:
    return Settlement(
        application.invoice_id,
        application.amount,
        application.source,
        application.source_id,
        application.applied_on,
    )
