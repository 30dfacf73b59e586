"""Routers of the ledger API: thin, each a read of the journal projection."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from revline_events.unit_of_work import UnitOfWork
from revline_service.auth import Principal, Role, require
from revline_service.fields import BusinessDate, CalendarDate
from revline_service.idempotency import execute
from revline_service.pagination import Page, PageRequest, page_of, page_request
from revline_service.service import RuntimeDep

from ledger.api.csv_export import CSV_ANSWER, csv_response, csv_stream, wants_csv
from ledger.api.journal_csv import HEADER as JOURNAL_CSV_HEADER
from ledger.api.journal_csv import journal_rows
from ledger.api.listing_csv import (
    LEDGER_ACCOUNTS_HEADER,
    PAYMENTS_HEADER,
    RECEIVABLE_HEADER,
    ledger_account_pages,
    payment_pages,
    receivable_pages,
)
from ledger.api.report_csv import (
    AGING_HEADER,
    REVENUE_HEADER,
    STATEMENT_HEADER,
    TRIAL_BALANCE_HEADER,
    aging_pages,
    csv_pages,
    revenue_lines,
    statement_pages,
    trial_balance_lines,
)
from ledger.api.schemas import (
    AgingReportOut,
    JournalEntryOut,
    LedgerAccountsOut,
    OpenInvoiceOut,
    PaymentIn,
    PaymentOut,
    ReceivableOut,
    RecognitionRunIn,
    RecognitionRunOut,
    RefundIn,
    RefundOut,
    RevenueReportOut,
    StatementOut,
    TieOutOut,
    TieOutReportOut,
    TrialBalanceReportOut,
    aging_out,
    journal_entry_out,
    ledger_accounts_out,
    payment_out,
    revenue_out,
    statement_out,
    tie_out_out,
    trial_balance_out,
)
from ledger.domain.errors import CurrencyRequired, DateRangeReversed, UnknownPayment
from ledger.domain.recognition import month_start
from ledger.domain.reports import AgingReport
from ledger.handlers import payments, recognition, refunds
from ledger.reporting import revenue_reports, trial_balances
from ledger.store.journal import Journal
from ledger.store.receivables import Receivables

router = APIRouter(prefix="/v1", tags=["ledger"])

# Finance reads everything (admin too); other roles get a 403.
Reader = Annotated[Principal, Depends(require(Role.FINANCE))]
Writer = Annotated[Principal, Depends(require(Role.FINANCE))]
Paging = Annotated[PageRequest, Depends(page_request)]
AccountId = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


def _as_of(runtime: RuntimeDep, as_of: date | None) -> date:
    """`as_of`, default today by the service's clock."""
    return as_of if as_of is not None else runtime.clock.today()


@router.get("/journal-entries", response_model=Page[JournalEntryOut], responses=CSV_ANSWER)
async def list_journal_entries(
    request: Request,
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    account_id: AccountId | None = None,
    date_from: Annotated[CalendarDate | None, Query(alias="from")] = None,
    date_to: Annotated[CalendarDate | None, Query(alias="to")] = None,
) -> Page[JournalEntryOut] | Response:
    """Journal entries in posting order (by date), each with its lines and the event that
    caused it; optionally of one customer account, dated from/to (inclusive). As CSV
    (`Accept: text/csv`): every matching entry after `cursor`, one row per line, streamed
    (`limit` does not apply)."""
    if wants_csv(request):
        lines = journal_rows(
            runtime, account_id=account_id, date_from=date_from, date_to=date_to,
            after=paging.after,
        )  # fmt: skip
        return csv_stream("journal-entries", JOURNAL_CSV_HEADER, lines)
    async with runtime.db.session() as session:
        rows = await Journal(session).page(
            account_id=account_id,
            date_from=date_from,
            date_to=date_to,
            after=paging.after,
            limit=paging.limit,
        )
    return page_of(
        [journal_entry_out(r) for r in rows],
        paging,
        lambda e: [e.entry_date.isoformat(), e.id],
    )


@router.get("/ledger-accounts", response_model=LedgerAccountsOut, responses=CSV_ANSWER)
async def list_ledger_accounts(
    request: Request,
    runtime: RuntimeDep,
    _: Reader,
    as_of: Annotated[CalendarDate | None, Query()] = None,
) -> LedgerAccountsOut | Response:
    """The chart of accounts, each with its balance per currency over entries dated on or
    before `as_of` (default: today by the service's clock). As CSV: a row per account and
    currency."""
    day = _as_of(runtime, as_of)
    async with runtime.db.session() as session:
        totals = await Journal(session).totals(day)
    report = ledger_accounts_out(day, trial_balances(day, totals))
    if wants_csv(request):
        return csv_pages(
            f"ledger-accounts-{day}", LEDGER_ACCOUNTS_HEADER, ledger_account_pages(report)
        )
    return report


@router.get("/reports/trial-balance", response_model=TrialBalanceReportOut, responses=CSV_ANSWER)
async def trial_balance(
    request: Request,
    runtime: RuntimeDep,
    _: Reader,
    as_of: Annotated[CalendarDate | None, Query()] = None,
) -> TrialBalanceReportOut | Response:
    """Every ledger account's debit and credit totals per currency as of a date; in each
    currency total debits equal total credits."""
    day = _as_of(runtime, as_of)
    async with runtime.db.session() as session:
        totals = await Journal(session).totals(day)
    balances = trial_balances(day, totals)
    if wants_csv(request):
        return csv_response(
            f"trial-balance-{day}", TRIAL_BALANCE_HEADER, trial_balance_lines(balances.values())
        )
    return trial_balance_out(day, balances)


# -- payments and receivables ------------------------------------------------------------------


@router.post("/payments", response_model=PaymentOut, status_code=201)
async def receive_payment(
    body: PaymentIn, request: Request, runtime: RuntimeDep, who: Writer
) -> JSONResponse:
    """Record a payment: applied to `invoice_id` only when given, else to the account's
    oldest open invoices by (due_date, number); the rest stays as customer credit.
    422 for a bad amount or currency, 404 an unknown invoice, 409 one not open."""

    async def step(uow: UnitOfWork) -> Any:
        row = await payments.receive_payment(
            uow,
            account_id=body.account_id,
            amount=body.amount,
            currency=body.currency,
            received_on=body.received_on,
            reference=body.reference,
            invoice_id=body.invoice_id,
        )
        return payment_out(row)

    return await execute(request, who, runtime.uow, step, body=body, status_code=201)


@router.get("/payments", response_model=Page[PaymentOut], responses=CSV_ANSWER)
async def list_payments(
    request: Request,
    runtime: RuntimeDep,
    _: Reader,
    paging: Paging,
    account_id: AccountId | None = None,
) -> Page[PaymentOut] | Response:
    """Payments, oldest first, optionally of one account, each with its applications. As
    CSV: every payment after `cursor`, a row per application, streamed (`limit` does not
    apply)."""
    if wants_csv(request):
        pages = payment_pages(runtime, account_id=account_id, after=paging.after)
        return csv_pages("payments", PAYMENTS_HEADER, pages)
    async with runtime.db.session() as session:
        rows = await Receivables(session).payments(
            account_id=account_id, after=paging.after, limit=paging.limit
        )
    return page_of([payment_out(r) for r in rows], paging, lambda p: [p.id])


@router.get("/payments/{payment_id}", response_model=PaymentOut)
async def get_payment(payment_id: str, runtime: RuntimeDep, _: Reader) -> PaymentOut:
    """One payment with its applications."""
    async with runtime.db.session() as session:
        row = await Receivables(session).payment(payment_id)
    if row is None:
        raise UnknownPayment(payment_id)
    return payment_out(row)


@router.get("/receivables/{account_id}", response_model=ReceivableOut, responses=CSV_ANSWER)
async def receivable(
    account_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    runtime: RuntimeDep,
    _: Reader,
    request: Request,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    as_of: Annotated[CalendarDate | None, Query()] = None,
) -> ReceivableOut | Response:
    """The account's open invoices and unapplied cash in one currency as of a date
    (default today by the service's clock); `currency` may be left out when the account
    has entries in one currency only (else a 422 naming it). As CSV: a row per open
    invoice, then the unapplied cash and the balance, streamed."""
    day = _as_of(runtime, as_of)
    async with runtime.db.session() as session:
        found = Receivables(session)
        if currency is None:
            known = await found.currencies(account_id)
            if len(known) > 1:
                raise CurrencyRequired(account_id, known)
            currency = known[0] if known else "USD"
        if wants_csv(request):
            return csv_pages(
                f"receivables-{account_id}-{currency}-{day}",
                RECEIVABLE_HEADER,
                receivable_pages(runtime, account_id, currency, day),
            )
        invoices = await found.open_invoices(account_id, currency, day)
        unapplied = await found.unapplied_cash(account_id, currency, day)
    due = sum(i["amount_due"] for i in invoices)
    return ReceivableOut(
        account_id=account_id,
        currency=currency,
        as_of=day,
        balance=due - unapplied,
        unapplied_cash=unapplied,
        open_invoices=[OpenInvoiceOut(**i) for i in invoices],
    )


@router.get("/reports/ar-aging", response_model=AgingReportOut, responses=CSV_ANSWER)
async def ar_aging(
    request: Request,
    runtime: RuntimeDep,
    _: Reader,
    as_of: Annotated[CalendarDate | None, Query()] = None,
) -> AgingReportOut | Response:
    """AR aging as of a date (default today by the service's clock): each open invoice's
    amount due in its bucket of days past due (`current` <= 0, `1_30`, `31_60`, `61_90`,
    `over_90`), per account and in total, per currency; customer credit apart."""
    day = _as_of(runtime, as_of)
    if wants_csv(request):
        return csv_pages(f"ar-aging-{day}", AGING_HEADER, aging_pages(runtime, day))
    async with runtime.db.session() as session:
        rows = await Receivables(session).aging(day)
    return aging_out(AgingReport(day, tuple(rows)))


# -- revenue -----------------------------------------------------------------------------------


@router.post("/recognition-runs", response_model=RecognitionRunOut, status_code=201)
async def recognition_run(
    body: RecognitionRunIn, request: Request, runtime: RuntimeDep, who: Writer
) -> JSONResponse:
    """Recognise every book's line-months due by `through` (run daily, or before a report);
    running it again changes nothing."""

    async def step(uow: UnitOfWork) -> Any:
        return RecognitionRunOut(**await recognition.recognise_through(uow, body.through))

    return await execute(request, who, runtime.uow, step, body=body, status_code=201)


@router.get("/reports/revenue", response_model=RevenueReportOut, responses=CSV_ANSWER)
async def revenue(
    request: Request,
    runtime: RuntimeDep,
    _: Reader,
    # Business dates (1900 to 2999): a row per month, so an open range was a 20 s answer.
    date_from: Annotated[BusinessDate, Query(alias="from")],
    date_to: Annotated[BusinessDate, Query(alias="to")],
) -> RevenueReportOut | Response:
    """Recognised revenue by service month over [from, to] (every month, zeros included),
    subscription and one-time apart, from entries dated on or before `to`; and the
    deferred revenue (2100) balance at `to`. Per currency."""
    if date_to < date_from:
        raise DateRangeReversed(date_from, date_to)
    async with runtime.db.session() as session:
        journal = Journal(session)
        earned = await journal.revenue(month_start(date_from), date_to)
        totals = await journal.totals(date_to)
    reports = revenue_reports(date_from, date_to, earned, totals)
    if wants_csv(request):
        return csv_response(
            f"revenue-{date_from}-{date_to}", REVENUE_HEADER, revenue_lines(reports)
        )
    return revenue_out(date_from, date_to, reports)


@router.post("/refunds", response_model=RefundOut, status_code=201)
async def refund(
    body: RefundIn, request: Request, runtime: RuntimeDep, who: Writer
) -> JSONResponse:
    """Pay customer credit back (W22): at most the account's unapplied credit in that
    currency on `refunded_on` (else 409, nothing written), oldest lot first."""

    async def step(uow: UnitOfWork) -> Any:
        return RefundOut(
            **await refunds.refund_credit(
                uow,
                account_id=body.account_id,
                amount=body.amount,
                currency=body.currency,
                refunded_on=body.refunded_on,
                reference=body.reference,
            )
        )

    return await execute(request, who, runtime.uow, step, body=body, status_code=201)


@router.get("/reports/tie-out", response_model=TieOutReportOut, responses=CSV_ANSWER)
async def tie_out(
    request: Request,
    runtime: RuntimeDep,
    _: Reader,
    as_of: Annotated[CalendarDate | None, Query()] = None,
) -> TieOutReportOut | Response:
    """The receivables sub-ledger (open invoices' amount due, customer credit lots) against
    the general ledger's 1100 and 2200 balances as of a date, per currency, with the
    differences (always 0). Two independent sums: the moves and the lines."""
    day = _as_of(runtime, as_of)
    async with runtime.db.session() as session:
        moves = await Receivables(session).subledger_totals(day)
        totals = await Journal(session).totals(day)
    report = tie_out_out(day, moves, totals)
    if wants_csv(request):
        columns = list(TieOutOut.model_fields)
        rows = ([c.model_dump()[k] for k in columns] for c in report.currencies)
        return csv_response(f"tie-out-{day}", columns, rows)
    return report


@router.get("/accounts/{account_id}/statement", response_model=StatementOut, responses=CSV_ANSWER)
async def statement(
    account_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    request: Request,
    runtime: RuntimeDep,
    _: Reader,
    date_from: Annotated[CalendarDate, Query(alias="from")],
    date_to: Annotated[CalendarDate | None, Query(alias="to")] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
) -> StatementOut | Response:
    """Invoices, credit notes, payments and refunds of the account over [from, to] (to:
    default today by the service's clock) with a running balance (amounts due less
    unapplied cash), after the opening balance at the end of the day before `from`."""
    day_to = _as_of(runtime, date_to)
    if day_to < date_from:
        raise DateRangeReversed(date_from, day_to)
    async with runtime.db.session() as session:
        found = Receivables(session)
        if currency is None:
            known = await found.currencies(account_id)
            if len(known) > 1:
                raise CurrencyRequired(account_id, known)
            currency = known[0] if known else "USD"
        if wants_csv(request):
            return csv_pages(
                f"statement-{account_id}-{date_from}-{day_to}",
                STATEMENT_HEADER,
                statement_pages(runtime, account_id, currency, date_from, day_to),
            )
        opening, rows = await found.statement(account_id, currency, date_from, day_to)
    return statement_out(account_id, currency, date_from, day_to, opening, rows)
