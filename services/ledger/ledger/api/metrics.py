"""The /v1/metrics routes: RevOps figures (METRICS.md) over the metrics read model.

Thin: each loads the read model's History (store/metrics.py), asks the domain
(ledger/metrics) per currency and lays the answer out (metrics_schemas.py), as
JSON or, with `Accept: text/csv`, CSV. Every route takes `known_at` (default now by
the service's clock: only facts recorded by then count), `currency` (default every
currency the read model holds) and `detail=accounts` (what is behind each figure).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, TypeVar, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BeforeValidator, WithJsonSchema
from revline_events.collector import collector_paused
from revline_service.auth import Principal, Role, require
from revline_service.fields import BusinessDate, as_utc
from revline_service.service import Runtime, RuntimeDep

from ledger.api.csv_export import CSV_ANSWER, csv_response, wants_csv
from ledger.api.metrics_schemas import (
    ACCOUNT_MOVES_HEADER,
    BOOKINGS_HEADER,
    CHURN_HEADER,
    COHORT_HEADER,
    LTV_HEADER,
    MOVEMENTS_HEADER,
    MRR_DETAIL_HEADER,
    MRR_HEADER,
    RENEWALS_DETAIL_HEADER,
    RENEWALS_HEADER,
    RETENTION_HEADER,
    SALES_HEADER,
    ChurnReportOut,
    CurrencyChurnOut,
    CurrencyMovementsOut,
    LtvReportOut,
    MovementsReportOut,
    MrrReportOut,
    RenewalsReportOut,
    RetentionReportOut,
    SalesReportOut,
    churn_out,
    churn_rows,
    ltv_out,
    ltv_rows,
    movement_rows,
    movements_out,
    mrr_out,
    mrr_rows,
    renewal_rows,
    renewals_out,
    retention_out,
    retention_rows,
    sales_out,
    sales_rows,
)
from ledger.metrics.calendar import Month, Period, months_between
from ledger.metrics.churn import churn_of
from ledger.metrics.errors import InvalidMetricQuery
from ledger.metrics.history import Snapshot
from ledger.metrics.ltv import check_margin, ltv_of
from ledger.metrics.movements import movements_of
from ledger.metrics.mrr import mrr_figures
from ledger.metrics.renewals import renewals_of
from ledger.metrics.retention import retention_of
from ledger.metrics.sales import sales_of
from ledger.settings import LedgerSettings
from ledger.store.metrics import KEPT_HISTORIES

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])

# Finance (and admin) read every figure; sales reads the sales figures only.
FinanceReader = Annotated[Principal, Depends(require(Role.FINANCE))]
SalesReader = Annotated[Principal, Depends(require(Role.FINANCE, Role.SALES))]
# A request timestamp as ISO 8601 text only (lax pydantic would take 0.5 as 1970-01-01),
# years 1900 to 2999 as for business dates.
TIMESTAMP_PATTERN = (
    r"^(19[0-9]{2}|2[0-9]{3})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}"
    r"(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
)


def _iso_timestamp(value: object) -> object:
    if isinstance(value, str) and re.fullmatch(TIMESTAMP_PATTERN, value):
        return value
    raise ValueError("must be an ISO 8601 timestamp, e.g. 2025-03-31T23:59:59Z")


Timestamp = Annotated[
    datetime,
    BeforeValidator(_iso_timestamp),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIMESTAMP_PATTERN,
            "examples": ["2025-03-31T23:59:59Z"],
        }
    ),
]
KnownAt = Annotated[
    Timestamp | None,
    Query(
        description="only facts recorded at or before this time count (ISO 8601; "
        "without an offset, UTC); default now"
    ),
]
CurrencyParam = Annotated[
    str | None,
    Query(pattern=r"^[A-Z]{3}$", description="one currency; default every one held"),
]
Detail = Annotated[
    Literal["accounts"] | None,
    Query(description="`accounts`: list the accounts and contracts behind each figure"),
]
AsOf = Annotated[BusinessDate | None, Query(description="default today")]
From = Annotated[
    BusinessDate | None,
    Query(alias="from", description="default 11 months before `to`'s month, its first day"),
]
To = Annotated[BusinessDate | None, Query(alias="to", description="default today")]
# Month-by-month figures read every line at each month end: a range is capped.
MAX_MONTHS = 120
T = TypeVar("T")


class Question:
    """What every metrics request shares: its known_at, currency and detail, and the
    History it loads once."""

    def __init__(
        self, runtime: Runtime, known_at: datetime | None, currency: str | None, detail: bool
    ) -> None:
        self.runtime = runtime
        self.known_at = as_utc(known_at) if known_at is not None else runtime.clock.now()
        self.currency = currency
        self.detail = detail

    def today(self) -> date:
        """The service's business today (the default `as_of` and `to`)."""
        return self.runtime.clock.today()

    async def snapshot(self) -> tuple[Snapshot, list[str]]:
        """The read model's facts (of the currency asked, if one was) as known at
        `known_at`, and the currencies to answer (kept between requests while the read
        model is unchanged: store/metrics.py, KeptHistories)."""
        async with self.runtime.db.session() as session:
            _, snapshot = await KEPT_HISTORIES.snapshot(
                session, self.known_at, currency=self.currency
            )
        currencies = [self.currency] if self.currency else list(snapshot.currencies())
        return snapshot, currencies


async def _question(
    runtime: RuntimeDep,
    known_at: KnownAt = None,
    currency: CurrencyParam = None,
    detail: Detail = None,
) -> AsyncIterator[Question]:
    """The request's Question; the cyclic collector is paused until the answer is made (a
    load or fold allocates hundreds of thousands of acyclic objects:
    revline_events.collector)."""
    with collector_paused():
        yield Question(runtime, known_at, currency, detail == "accounts")


Asked = Annotated[Question, Depends(_question)]


def _period(question: Question, date_from: date | None, date_to: date | None) -> Period:
    """from..to (inclusive), defaults: to today, from 11 months before to's month.
    Raises InvalidMetricQuery ("to") when to is before from."""
    last = date_to if date_to is not None else question.today()
    first = date_from if date_from is not None else Month.of(last).plus(-11).first_day
    return Period(first, last)


def _months(period: Period) -> tuple[Month, Month]:
    first, last = Month.of(period.first), Month.of(period.last)
    if len(list(months_between(first, last))) > MAX_MONTHS:
        raise InvalidMetricQuery("from", f"a range of at most {MAX_MONTHS} months, please")
    return first, last


def _answer(
    request: Request,
    question: Question,
    name: str,
    headers: tuple[Sequence[str], Sequence[str]],
    rows: Callable[[bool], Iterator[Sequence[object]]],
    body: T,
) -> T | Response:
    """`body` as JSON, or its rows as a CSV download (detail rows with `detail=accounts`)."""
    if wants_csv(request):
        header = headers[1] if question.detail else headers[0]
        return csv_response(name, header, rows(question.detail))
    return body


@router.get("/mrr", response_model=MrrReportOut, responses=CSV_ANSWER)
async def mrr(
    request: Request, question: Asked, _reader: FinanceReader, as_of: AsOf = None
) -> MrrReportOut | Response:
    """MRR, ARR, customers and ARPA per currency on `as_of` (default today), as known at
    `known_at`; with `detail=accounts` each customer's MRR contract by contract."""
    day = as_of if as_of is not None else question.today()
    snapshot, currencies = await question.snapshot()
    figures = [mrr_figures(snapshot, c, day) for c in currencies]
    body = MrrReportOut(
        as_of=day,
        known_at=question.known_at,
        currencies=[mrr_out(f, question.detail) for f in figures],
    )
    return _answer(
        request,
        question,
        f"mrr-{day}",
        (MRR_HEADER, MRR_DETAIL_HEADER),
        lambda d: mrr_rows(figures, d),
        body,
    )


@router.get("/mrr-movements", response_model=MovementsReportOut, responses=CSV_ANSWER)
async def mrr_movements(
    request: Request,
    question: Asked,
    _reader: FinanceReader,
    date_from: From = None,
    date_to: To = None,
) -> MovementsReportOut | Response:
    """Per month of from..to: new, expansion, reactivation, contraction and churn MRR, per
    currency, as known at `known_at`; they add up to the change in MRR every month. With
    `detail=accounts` each account that moved, and its contracts."""
    first, last = _months(_period(question, date_from, date_to))
    snapshot, currencies = await question.snapshot()
    report = [movements_of(snapshot, c, first, last) for c in currencies]
    body = MovementsReportOut(
        first_month=str(first),
        last_month=str(last),
        known_at=question.known_at,
        currencies=[
            CurrencyMovementsOut(currency=c, months=movements_out(m, question.detail))
            for c, m in zip(currencies, report, strict=True)
        ],
    )
    return _answer(
        request,
        question,
        f"mrr-movements-{first}-{last}",
        (MOVEMENTS_HEADER, ACCOUNT_MOVES_HEADER),
        lambda d: movement_rows(report, d),
        body,
    )


@router.get("/churn", response_model=ChurnReportOut, responses=CSV_ANSWER)
async def churn(
    request: Request,
    question: Asked,
    _reader: FinanceReader,
    date_from: From = None,
    date_to: To = None,
) -> ChurnReportOut | Response:
    """Logo, gross MRR and net MRR churn per month of from..to, per currency, as known at
    `known_at`; with `detail=accounts` the churned and contracted accounts."""
    first, last = _months(_period(question, date_from, date_to))
    snapshot, currencies = await question.snapshot()
    report = [churn_of(snapshot, c, first, last) for c in currencies]
    body = ChurnReportOut(
        first_month=str(first),
        last_month=str(last),
        known_at=question.known_at,
        currencies=[
            CurrencyChurnOut(currency=c, months=churn_out(m, question.detail))
            for c, m in zip(currencies, report, strict=True)
        ],
    )
    return _answer(
        request,
        question,
        f"churn-{first}-{last}",
        (CHURN_HEADER, ACCOUNT_MOVES_HEADER),
        lambda d: churn_rows(report, d),
        body,
    )


@router.get("/retention", response_model=RetentionReportOut, responses=CSV_ANSWER)
async def retention_rates(
    request: Request,
    question: Asked,
    _reader: FinanceReader,
    as_of: AsOf = None,
    months: Annotated[int, Query(ge=1, le=MAX_MONTHS)] = 12,
) -> RetentionReportOut | Response:
    """NRR and GRR of `as_of`'s month over `months` months (the cohort: accounts with MRR at
    the end of the month `months` before), per currency, as known at `known_at`; with
    `detail=accounts` the cohort."""
    month = Month.of(as_of if as_of is not None else question.today())
    snapshot, currencies = await question.snapshot()
    report = [retention_of(snapshot, c, month, months) for c in currencies]
    body = RetentionReportOut(
        month=str(month),
        months=months,
        known_at=question.known_at,
        currencies=[retention_out(r, question.detail) for r in report],
    )
    return _answer(
        request,
        question,
        f"retention-{month}-{months}",
        (RETENTION_HEADER, COHORT_HEADER),
        lambda d: retention_rows(report, d),
        body,
    )


@router.get("/renewals", response_model=RenewalsReportOut, responses=CSV_ANSWER)
async def renewal_rates(
    request: Request,
    question: Asked,
    _reader: FinanceReader,
    date_from: From = None,
    date_to: To = None,
) -> RenewalsReportOut | Response:
    """Renewal rate by count and by value of the terms ending in from..to while in force,
    per currency, as known at `known_at`; with `detail=accounts` the terms due and what
    renewed them."""
    period = _period(question, date_from, date_to)
    snapshot, currencies = await question.snapshot()
    report = [renewals_of(snapshot, c, period) for c in currencies]
    body = RenewalsReportOut(
        date_from=period.first,
        date_to=period.last,
        known_at=question.known_at,
        currencies=[renewals_out(r, question.detail) for r in report],
    )
    return _answer(
        request,
        question,
        f"renewals-{period.first}-{period.last}",
        (RENEWALS_HEADER, RENEWALS_DETAIL_HEADER),
        lambda d: renewal_rows(report, d),
        body,
    )


@router.get("/sales", response_model=SalesReportOut, responses=CSV_ANSWER)
async def sales_figures(
    request: Request,
    question: Asked,
    _reader: SalesReader,
    date_from: From = None,
    date_to: To = None,
) -> SalesReportOut | Response:
    """Win rate per quote kind, bookings, average deal size (ACV, TCV), sales cycle and
    pipeline velocity over from..to, per currency, as known at `known_at`; with
    `detail=accounts` every booking. Sales may read it."""
    period = _period(question, date_from, date_to)
    snapshot, currencies = await question.snapshot()
    report = [sales_of(snapshot, c, period) for c in currencies]
    body = SalesReportOut(
        date_from=period.first,
        date_to=period.last,
        known_at=question.known_at,
        currencies=[sales_out(s, question.detail) for s in report],
    )
    return _answer(
        request,
        question,
        f"sales-{period.first}-{period.last}",
        (SALES_HEADER, BOOKINGS_HEADER),
        lambda d: sales_rows(report, d),
        body,
    )


@router.get("/ltv", response_model=LtvReportOut, responses=CSV_ANSWER)
async def lifetime_value(
    request: Request,
    question: Asked,
    _reader: FinanceReader,
    as_of: AsOf = None,
    gross_margin: Annotated[
        str | None,
        Query(
            pattern=r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$",
            description="a decimal in (0, 1], e.g. 0.8; default the "
            "LEDGER_METRICS_GROSS_MARGIN setting",
        ),
    ] = None,
) -> LtvReportOut | Response:
    """Revenue LTV on `as_of` per currency: ARPA x gross margin / the mean monthly logo churn
    of the 6 months before, as known at `known_at`; the margin used is shown. With
    `detail=accounts` the 6 months of churn behind it."""
    day = as_of if as_of is not None else question.today()
    settings = cast(LedgerSettings, question.runtime.settings)
    margin = Decimal(gross_margin) if gross_margin is not None else settings.metrics_gross_margin
    check_margin(margin)  # also when no currency has figures
    snapshot, currencies = await question.snapshot()
    report = [ltv_of(snapshot, c, day, margin) for c in currencies]
    body = LtvReportOut(
        as_of=day,
        known_at=question.known_at,
        gross_margin=str(margin),
        currencies=[ltv_out(f, question.detail) for f in report],
    )
    return _answer(
        request,
        question,
        f"ltv-{day}",
        (LTV_HEADER, CHURN_HEADER),
        lambda d: ltv_rows(report, d),
        body,
    )
