"""Synthetic books for the ledger benchmarks: invoices, payments and what the domain posts.

Every figure comes from the ledger's own domain: a book (one account in one
currency) takes its facts (`InvoiceBooked`, `PaymentReceived`, a final
`RevenueRecognisedThrough`) through `bookkeeping.apply_fact`, exactly the step
the service's handlers run, and the entries and applications it posts become
events by the service's own `translation` and rows by its projector
(`PROJECTOR.rows`). The domain costs about a millisecond a step on this
machine, too slow for 100,000 invoices per backend, so only `TEMPLATES` books
are folded: every account k is a copy of book k % TEMPLATES with its ids
renamed (each id carries its account's number), which keeps every account's
dates, amounts and payments as the domain posted them. `seed` writes the rows
through `PROJECTOR.write` (one executemany per table, `SEED_ACCOUNTS_PER_TX`
accounts per transaction), then `ANALYZE` on PostgreSQL. The event store is
left empty: the reports read only the projection.

The data: `INVOICES_PER_ACCOUNT` monthly invoices per account (one recurring
line for its month, a one-time setup line on the first), the first in one of
the twelve months of 2025 (by account), due 30 days later; every tenth
account bills in EUR, the others in USD. Most invoices are paid in full 5 to
64 days after their date by an unnamed payment (oldest open first); one in
twenty is never paid, one in twenty half paid, one in twenty over-paid by
700 (customer credit, applied to the next invoice when it posts). Payments
after `TODAY` are left out, and every book is recognised through `TODAY`,
the reports' as-of date.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

TODAY = date(2026, 9, 30)
FIRST_MONTH = date(2025, 1, 1)
INVOICES_PER_ACCOUNT = 10
SETUP_FEE = 25_000
OVERPAYMENT = 700
SEED_ACCOUNTS_PER_TX = 1000
# Books folded by the domain; the others copy one (a multiple of 12 months and 20 payment kinds).
TEMPLATES = 120
LEDGER_CLOCK_AT = datetime(2026, 9, 30, 6, 0, tzinfo=UTC)


def _month(offset: int) -> date:
    year, month = divmod(FIRST_MONTH.month - 1 + offset, 12)
    return date(FIRST_MONTH.year + year, month + 1, 1)


def month_end(first: date) -> date:
    """The last day of the month starting on `first`."""
    following = _month(12 * (first.year - FIRST_MONTH.year) + first.month)
    return following - timedelta(days=1)


def account_id(k: int) -> str:
    """The id of the k-th synthetic account."""
    return f"acct-{k:06d}"


def currency_of(k: int) -> str:
    """Every tenth account bills in EUR, the others in USD."""
    return "EUR" if k % 10 == 9 else "USD"


def accounts_for(invoices: int) -> int:
    """How many accounts hold `invoices` invoices (a multiple of INVOICES_PER_ACCOUNT)."""
    accounts, left = divmod(invoices, INVOICES_PER_ACCOUNT)
    if left or not accounts:
        raise ValueError(f"{invoices} invoices: not a multiple of {INVOICES_PER_ACCOUNT}")
    return accounts


@dataclass(frozen=True)
class SyntheticInvoice:
    """One invoice of the data set, as billing would post it."""

    invoice_id: str
    number: str
    account_id: str
    currency: str
    invoice_date: date
    due_date: date
    recurring: int
    setup: int

    @property
    def total(self) -> int:
        """Recurring plus one-time, in minor units."""
        return self.recurring + self.setup


def invoices_of(k: int) -> list[SyntheticInvoice]:
    """The k-th account's invoices, monthly from its first month."""
    found = []
    for i in range(INVOICES_PER_ACCOUNT):
        invoice_date = _month(k % 12 + i)
        found.append(
            SyntheticInvoice(
                invoice_id=f"inv-{k:06d}-{i:02d}",
                number=f"INV-{k:06d}-{i:02d}",
                account_id=account_id(k),
                currency=currency_of(k),
                invoice_date=invoice_date,
                due_date=invoice_date + timedelta(days=30),
                recurring=1000 + (k % TEMPLATES * 31 + i * 7) % 9000,
                setup=SETUP_FEE if i == 0 else 0,
            )
        )
    return found


def payment_of(k: int, i: int, invoice: SyntheticInvoice) -> tuple[date, int] | None:
    """(received_on, amount) of the payment following the i-th invoice, or None."""
    kind = (k + i * 5) % 20
    if kind == 0:
        return None
    received_on = invoice.invoice_date + timedelta(days=5 + (k * 3 + i * 11) % 60)
    if received_on > TODAY:
        return None
    if kind == 1:
        return received_on, invoice.total // 2
    if kind == 2:
        return received_on, invoice.total + OVERPAYMENT
    return received_on, invoice.total


def _booked(invoice: SyntheticInvoice) -> Any:
    from revline_events.payloads.ledger import BookedLine, InvoiceBooked

    lines = [
        BookedLine(
            line_no=1,
            kind="recurring",
            period_start=invoice.invoice_date,
            period_end=month_end(invoice.invoice_date),
            amount=invoice.recurring,
        )
    ]
    if invoice.setup:
        lines.append(
            BookedLine(
                line_no=2,
                kind="one_time",
                period_start=invoice.invoice_date,
                period_end=invoice.invoice_date,
                amount=invoice.setup,
            )
        )
    return InvoiceBooked(
        invoice_id=invoice.invoice_id,
        number=invoice.number,
        account_id=invoice.account_id,
        currency=invoice.currency,
        invoice_date=invoice.invoice_date,
        due_date=invoice.due_date,
        lines=lines,
        source_event_id=f"billing-{invoice.invoice_id}",
    )


def facts_of(k: int) -> list[Any]:
    """The k-th book's facts in date order (an invoice before a payment of the same day),
    ending with a recognition run through TODAY."""
    from revline_events.payloads.ledger import PaymentReceived, RevenueRecognisedThrough

    dated: list[tuple[date, int, int, Any]] = []
    for i, invoice in enumerate(invoices_of(k)):
        dated.append((invoice.invoice_date, 0, i, _booked(invoice)))
        paid = payment_of(k, i, invoice)
        if paid is not None:
            received_on, amount = paid
            payment = PaymentReceived(
                payment_id=f"pay-{k:06d}-{i:02d}",
                account_id=invoice.account_id,
                currency=invoice.currency,
                amount=amount,
                received_on=received_on,
                reference=f"wire {k}-{i}",
            )
            dated.append((received_on, 1, i, payment))
    dated.sort(key=lambda d: (d[0], d[1], d[2]))
    run = RevenueRecognisedThrough(
        run_id="rr-seed", account_id=account_id(k), currency=currency_of(k), through=TODAY
    )
    return [fact for *_, fact in dated] + [run]


class _BookIds:
    """Ids of one book's entries and applications in posting order, each carrying the
    account's number (so a copy of the book renames them with the account)."""

    def __init__(self, k: int) -> None:
        self.tag = f"{k:06d}"
        self.made = 0

    def new(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}_{self.tag}_{self.made:05d}"


def book_events(k: int) -> list[tuple[Any, Any]]:
    """Every (envelope, event) the k-th book records, in stream order: each fact, then the
    entries and applications the domain posted for it (a recognition run that posted
    nothing records nothing). Event ids carry the account's number too."""
    from ledger.bookkeeping import apply_fact, book_stream
    from ledger.domain.book import AccountBook
    from ledger.translation import amount_applied, entry_posted
    from revline_events.catalogue import make_envelope
    from revline_events.clock import FixedClock
    from revline_events.payloads.ledger import RevenueRecognisedThrough

    clock = FixedClock(LEDGER_CLOCK_AT)
    ids = _BookIds(k)
    book = AccountBook(account_id(k), currency_of(k))
    events: list[Any] = []
    for fact in facts_of(k):
        outcome = apply_fact(book, fact)
        if isinstance(fact, RevenueRecognisedThrough) and not outcome.entries:
            continue
        source = getattr(fact, "source_event_id", None) or getattr(fact, "payment_id", "rr-seed")
        events.append(fact)
        events += [entry_posted(entry, ids.new("je"), source) for entry in outcome.entries]
        events += [
            amount_applied(settlement, ids.new("ap"), book.account_id, book.currency)
            for settlement in outcome.settlements
        ]
    stream = book_stream(book.account_id, book.currency)
    found = []
    for version, event in enumerate(events, start=1):
        envelope = make_envelope(
            event, stream_id=stream, stream_version=version, account_id=book.account_id,
            producer="ledger", clock=clock,
        )  # fmt: skip
        renamed = envelope.model_copy(update={"event_id": f"ev_{ids.tag}_{version:05d}"})
        found.append((renamed, event))
    return found


Rows = dict[Any, list[dict[str, Any]]]


def _renamed(rows: Rows, tag: str, k: int) -> Rows:
    """The template's rows with every id naming account k instead."""
    new = f"{k:06d}"
    if new == tag:
        return rows
    return {
        table: [
            {key: v.replace(tag, new) if isinstance(v, str) else v for key, v in row.items()}
            for row in found
        ]
        for table, found in rows.items()
    }


async def seed(db: Any, invoices: int) -> dict[str, Any]:
    """Write the books holding `invoices` invoices into the ledger's projection (the
    database must be migrated); returns counts and the seconds it took."""
    from ledger.store.projector import PROJECTOR
    from ledger.store.tables import journal_entries, journal_lines, subledger_moves
    from sqlalchemy import func, select, text

    accounts = accounts_for(invoices)
    started = time.perf_counter()
    templates: dict[int, Rows] = {}
    for t in range(min(TEMPLATES, accounts)):
        templates[t] = PROJECTOR.rows(book_events(t))
    folded = time.perf_counter()
    for first in range(0, accounts, SEED_ACCOUNTS_PER_TX):
        batch: Rows = {}
        for k in range(first, min(first + SEED_ACCOUNTS_PER_TX, accounts)):
            t = k % TEMPLATES
            for table, found in _renamed(templates[t], f"{t:06d}", k).items():
                batch.setdefault(table, []).extend(found)
        async with db.session() as session, session.begin():
            await PROJECTOR.write(session, batch)
    if db.dialect == "postgresql":
        # Statistics, as autovacuum would gather them within a minute of a bulk load: without
        # them the planner guesses, and the first reports would time its guesses.
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    done = time.perf_counter()
    async with db.session() as session:
        counts = {
            name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in (
                ("journal_entries", journal_entries),
                ("journal_lines", journal_lines),
                ("subledger_moves", subledger_moves),
            )
        }
    return {
        "invoices": invoices,
        "accounts": accounts,
        **counts,
        "seed_domain_s": round(folded - started, 2),
        "seed_insert_s": round(done - folded, 2),
    }
