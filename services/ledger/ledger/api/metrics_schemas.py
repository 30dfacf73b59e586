"""Wire shapes of the /v1/metrics endpoints, and their CSV rows, from the domain's results.

Amounts are integer minor units; a rate is its numerator and denominator with the
percentage as a decimal string (never a float); `accounts` (and the cohort, terms
due and bookings) are there with `?detail=accounts` only, else null.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from fractions import Fraction

from pydantic import BaseModel
from revline_service.fields import UtcTimestamp

from ledger.metrics.churn import MonthChurn
from ledger.metrics.history import QUOTE_KINDS
from ledger.metrics.ltv import Ltv
from ledger.metrics.movements import AccountMovement, MonthMovements
from ledger.metrics.mrr import MrrFigures
from ledger.metrics.rate import Rate
from ledger.metrics.renewals import RenewalRate
from ledger.metrics.retention import Retention
from ledger.metrics.sales import SalesFigures


class RateOut(BaseModel):
    """numerator / denominator; `percent` half-up to 2 decimals ("33.33"), null over 0."""

    numerator: int
    denominator: int
    percent: str | None


def rate_out(rate: Rate) -> RateOut:
    """The wire form of a domain Rate."""
    percent = rate.percent
    return RateOut(
        numerator=rate.numerator,
        denominator=rate.denominator,
        percent=None if percent is None else str(percent),
    )


def _pct(rate: Rate) -> str:
    return "" if rate.percent is None else str(rate.percent)


# --- MRR ------------------------------------------------------------------------------------


class ContractMrrOut(BaseModel):
    contract_id: str
    mrr: int


class AccountMrrOut(BaseModel):
    account_id: str
    mrr: int
    contracts: list[ContractMrrOut]


class MrrOut(BaseModel):
    """MRR, ARR (12 x MRR), customers and ARPA (rounded half-up, null without) of a currency."""

    currency: str
    mrr: int
    arr: int
    customers: int
    arpa: int | None
    accounts: list[AccountMrrOut] | None = None


class MrrReportOut(BaseModel):
    as_of: date
    known_at: UtcTimestamp
    currencies: list[MrrOut]


def mrr_out(figures: MrrFigures, detail: bool) -> MrrOut:
    """One currency's MRR figures (with the accounts and contracts behind them on detail)."""
    accounts = (
        [
            AccountMrrOut(
                account_id=a.account_id,
                mrr=a.mrr,
                contracts=[
                    ContractMrrOut(contract_id=c.contract_id, mrr=c.mrr) for c in a.contracts
                ],
            )
            for a in figures.accounts
        ]
        if detail
        else None
    )
    return MrrOut(
        currency=figures.currency,
        mrr=figures.mrr,
        arr=figures.arr,
        customers=figures.customers,
        arpa=figures.arpa,
        accounts=accounts,
    )


MRR_HEADER = ("as_of", "currency", "mrr", "arr", "customers", "arpa")
MRR_DETAIL_HEADER = ("as_of", "currency", "account_id", "contract_id", "mrr")


def mrr_rows(report: Sequence[MrrFigures], detail: bool) -> Iterator[Sequence[object]]:
    """CSV rows: a currency each, or with detail a contract of a customer each."""
    for f in report:
        if not detail:
            yield (f.on, f.currency, f.mrr, f.arr, f.customers, "" if f.arpa is None else f.arpa)
            continue
        for a in f.accounts:
            for c in a.contracts:
                yield (f.on, f.currency, a.account_id, c.contract_id, c.mrr)


# --- movements and churn ----------------------------------------------------------------------


class ContractMoveOut(BaseModel):
    contract_id: str
    mrr_before: int
    mrr_after: int


class AccountMovementOut(BaseModel):
    """An account's movement of the month: its MRR at the end of M-1 and of M."""

    account_id: str
    movement: str
    amount: int
    mrr_before: int
    mrr_after: int
    contracts: list[ContractMoveOut]


def account_movement_out(move: AccountMovement) -> AccountMovementOut:
    """The wire form of an account's movement, with the contracts that moved."""
    return AccountMovementOut(
        account_id=move.account_id,
        movement=move.kind.value,
        amount=move.amount,
        mrr_before=move.mrr_before,
        mrr_after=move.mrr_after,
        contracts=[
            ContractMoveOut(
                contract_id=c.contract_id, mrr_before=c.mrr_before, mrr_after=c.mrr_after
            )
            for c in move.contracts
        ],
    )


class MonthMovementsOut(BaseModel):
    """mrr_after - mrr_before = new + expansion + reactivation - contraction - churn."""

    month: str
    mrr_before: int
    mrr_after: int
    new: int
    expansion: int
    reactivation: int
    contraction: int
    churn: int
    net_change: int
    accounts: list[AccountMovementOut] | None = None


class CurrencyMovementsOut(BaseModel):
    currency: str
    months: list[MonthMovementsOut]


class MovementsReportOut(BaseModel):
    first_month: str
    last_month: str
    known_at: UtcTimestamp
    currencies: list[CurrencyMovementsOut]


def movements_out(months: Sequence[MonthMovements], detail: bool) -> list[MonthMovementsOut]:
    """Each month's movements (with the accounts that moved on detail)."""
    return [
        MonthMovementsOut(
            month=str(m.month),
            mrr_before=m.mrr_before,
            mrr_after=m.mrr_after,
            new=m.new,
            expansion=m.expansion,
            reactivation=m.reactivation,
            contraction=m.contraction,
            churn=m.churn,
            net_change=m.net_change,
            accounts=[account_movement_out(a) for a in m.accounts] if detail else None,
        )
        for m in months
    ]


MOVEMENTS_HEADER = (
    "month",
    "currency",
    "mrr_before",
    "new",
    "expansion",
    "reactivation",
    "contraction",
    "churn",
    "net_change",
    "mrr_after",
)
ACCOUNT_MOVES_HEADER = (
    "month",
    "currency",
    "account_id",
    "movement",
    "amount",
    "mrr_before",
    "mrr_after",
    "contracts",
)


def _account_move_row(month: str, currency: str, a: AccountMovement) -> Sequence[object]:
    contracts = " ".join(c.contract_id for c in a.contracts)
    return (
        month,
        currency,
        a.account_id,
        a.kind.value,
        a.amount,
        a.mrr_before,
        a.mrr_after,
        contracts,
    )


def movement_rows(
    report: Sequence[Sequence[MonthMovements]], detail: bool
) -> Iterator[Sequence[object]]:
    """CSV rows: a month of a currency each, or with detail an account's movement each."""
    for months in report:
        for m in months:
            if detail:
                for a in m.accounts:
                    yield _account_move_row(str(m.month), m.currency, a)
                continue
            yield (
                str(m.month),
                m.currency,
                m.mrr_before,
                m.new,
                m.expansion,
                m.reactivation,
                m.contraction,
                m.churn,
                m.net_change,
                m.mrr_after,
            )


class MonthChurnOut(BaseModel):
    """Logo, gross MRR and net MRR churn of a month (net may be negative)."""

    month: str
    logo: RateOut
    gross_mrr: RateOut
    net_mrr: RateOut
    accounts: list[AccountMovementOut] | None = None


class CurrencyChurnOut(BaseModel):
    currency: str
    months: list[MonthChurnOut]


class ChurnReportOut(BaseModel):
    first_month: str
    last_month: str
    known_at: UtcTimestamp
    currencies: list[CurrencyChurnOut]


def churn_out(months: Sequence[MonthChurn], detail: bool) -> list[MonthChurnOut]:
    """Each month's churn rates (with the churned and contracted accounts on detail)."""
    return [
        MonthChurnOut(
            month=str(m.month),
            logo=rate_out(m.logo),
            gross_mrr=rate_out(m.gross_mrr),
            net_mrr=rate_out(m.net_mrr),
            accounts=[account_movement_out(a) for a in m.accounts] if detail else None,
        )
        for m in months
    ]


CHURN_HEADER = (
    "month",
    "currency",
    "logo_churned",
    "logo_base",
    "logo_percent",
    "gross_mrr_lost",
    "mrr_base",
    "gross_mrr_percent",
    "net_mrr_lost",
    "net_mrr_percent",
)


def churn_rows(report: Sequence[Sequence[MonthChurn]], detail: bool) -> Iterator[Sequence[object]]:
    """CSV rows: a month of a currency each, or with detail a churned or contracted account."""
    for months in report:
        for m in months:
            if detail:
                for a in m.accounts:
                    yield _account_move_row(str(m.month), m.currency, a)
                continue
            yield (
                str(m.month),
                m.currency,
                m.logo.numerator,
                m.logo.denominator,
                _pct(m.logo),
                m.gross_mrr.numerator,
                m.gross_mrr.denominator,
                _pct(m.gross_mrr),
                m.net_mrr.numerator,
                _pct(m.net_mrr),
            )


# --- retention ----------------------------------------------------------------------------------


class CohortAccountOut(BaseModel):
    account_id: str
    mrr_start: int
    mrr_end: int


class RetentionOut(BaseModel):
    """NRR and GRR of the accounts with MRR > 0 at the end of month - months."""

    currency: str
    nrr: RateOut
    grr: RateOut
    cohort: list[CohortAccountOut] | None = None


class RetentionReportOut(BaseModel):
    month: str
    months: int
    known_at: UtcTimestamp
    currencies: list[RetentionOut]


def retention_out(figures: Retention, detail: bool) -> RetentionOut:
    """One currency's NRR and GRR (with the cohort on detail)."""
    cohort = (
        [
            CohortAccountOut(account_id=a.account_id, mrr_start=a.mrr_start, mrr_end=a.mrr_end)
            for a in figures.cohort
        ]
        if detail
        else None
    )
    return RetentionOut(
        currency=figures.currency,
        nrr=rate_out(figures.nrr),
        grr=rate_out(figures.grr),
        cohort=cohort,
    )


RETENTION_HEADER = (
    "month",
    "months",
    "currency",
    "nrr_numerator",
    "base",
    "nrr_percent",
    "grr_numerator",
    "grr_percent",
)
COHORT_HEADER = ("month", "months", "currency", "account_id", "mrr_start", "mrr_end")


def retention_rows(report: Sequence[Retention], detail: bool) -> Iterator[Sequence[object]]:
    """CSV rows: a currency each, or with detail an account of the cohort each."""
    for r in report:
        if detail:
            for a in r.cohort:
                yield (str(r.month), r.months, r.currency, a.account_id, a.mrr_start, a.mrr_end)
            continue
        yield (
            str(r.month),
            r.months,
            r.currency,
            r.nrr.numerator,
            r.nrr.denominator,
            _pct(r.nrr),
            r.grr.numerator,
            _pct(r.grr),
        )


# --- renewals -----------------------------------------------------------------------------------


class RenewalDueOut(BaseModel):
    """A term that ended in the period while in force; `renewed_by` null when not renewed."""

    contract_id: str
    account_id: str
    end_date: date
    arr: int
    renewed_by: str | None
    renewed_arr: int


class RenewalsOut(BaseModel):
    currency: str
    by_count: RateOut
    by_value: RateOut
    contracts: list[RenewalDueOut] | None = None


class RenewalsReportOut(BaseModel):
    date_from: date
    date_to: date
    known_at: UtcTimestamp
    currencies: list[RenewalsOut]


def renewals_out(figures: RenewalRate, detail: bool) -> RenewalsOut:
    """One currency's renewal rates (with the terms due on detail)."""
    due = (
        [
            RenewalDueOut(
                contract_id=d.contract_id,
                account_id=d.account_id,
                end_date=d.end_date,
                arr=d.arr,
                renewed_by=d.renewed_by,
                renewed_arr=d.renewed_arr,
            )
            for d in figures.due
        ]
        if detail
        else None
    )
    return RenewalsOut(
        currency=figures.currency,
        by_count=rate_out(figures.by_count),
        by_value=rate_out(figures.by_value),
        contracts=due,
    )


RENEWALS_HEADER = (
    "from",
    "to",
    "currency",
    "renewed",
    "due",
    "count_percent",
    "renewed_arr",
    "due_arr",
    "value_percent",
)
RENEWALS_DETAIL_HEADER = (
    "currency",
    "contract_id",
    "account_id",
    "end_date",
    "arr",
    "renewed_by",
    "renewed_arr",
)


def renewal_rows(report: Sequence[RenewalRate], detail: bool) -> Iterator[Sequence[object]]:
    """CSV rows: a currency each, or with detail a term due each."""
    for r in report:
        if detail:
            for d in r.due:
                yield (
                    r.currency,
                    d.contract_id,
                    d.account_id,
                    d.end_date,
                    d.arr,
                    d.renewed_by or "",
                    d.renewed_arr,
                )
            continue
        yield (
            r.period.first,
            r.period.last,
            r.currency,
            r.by_count.numerator,
            r.by_count.denominator,
            _pct(r.by_count),
            r.by_value.numerator,
            r.by_value.denominator,
            _pct(r.by_value),
        )


# --- sales ----------------------------------------------------------------------------------------


class BookingOut(BaseModel):
    """An accepted quote: ACV (12 x its recurring MRR), TCV and its sales cycle in days."""

    quote_id: str
    account_id: str
    kind: str
    accepted_on: date
    acv: int
    tcv: int
    cycle_days: int


class VelocityOut(BaseModel):
    """Open `new` quotes x win rate x average ACV / mean cycle days, over the 90 days to `on`."""

    on: date
    open_quotes: int
    win_rate: RateOut
    average_acv: int | None
    mean_cycle_days: str | None
    per_day: int | None


class SalesOut(BaseModel):
    """Win rate per quote kind, bookings, deal size and cycle (of `new` quotes), velocity."""

    currency: str
    win_rates: dict[str, RateOut]
    bookings_count: int
    bookings_acv: int
    bookings_tcv: int
    average_acv: int | None
    average_tcv: int | None
    cycle_mean_days: str | None
    cycle_median_days: str | None
    velocity: VelocityOut
    bookings: list[BookingOut] | None = None


class SalesReportOut(BaseModel):
    date_from: date
    date_to: date
    known_at: UtcTimestamp
    currencies: list[SalesOut]


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


def sales_out(figures: SalesFigures, detail: bool) -> SalesOut:
    """One currency's sales figures (with the bookings on detail)."""
    v = figures.velocity
    bookings = (
        [
            BookingOut(
                quote_id=b.quote_id,
                account_id=b.account_id,
                kind=b.kind,
                accepted_on=b.accepted_on,
                acv=b.acv,
                tcv=b.tcv,
                cycle_days=b.cycle_days,
            )
            for b in figures.bookings
        ]
        if detail
        else None
    )
    return SalesOut(
        currency=figures.currency,
        win_rates={kind: rate_out(figures.win_rates[kind]) for kind in QUOTE_KINDS},
        bookings_count=len(figures.bookings),
        bookings_acv=sum(b.acv for b in figures.bookings),
        bookings_tcv=sum(b.tcv for b in figures.bookings),
        average_acv=figures.average_acv,
        average_tcv=figures.average_tcv,
        cycle_mean_days=_text(figures.cycle_mean_days),
        cycle_median_days=_text(figures.cycle_median_days),
        velocity=VelocityOut(
            on=v.on,
            open_quotes=v.open_quotes,
            win_rate=rate_out(v.win_rate),
            average_acv=v.average_acv,
            mean_cycle_days=_text(v.mean_cycle_days),
            per_day=v.per_day,
        ),
        bookings=bookings,
    )


SALES_HEADER = (
    "from",
    "to",
    "currency",
    "new_won",
    "new_decided",
    "new_win_percent",
    "amendment_won",
    "amendment_decided",
    "renewal_won",
    "renewal_decided",
    "bookings",
    "average_acv",
    "average_tcv",
    "cycle_mean_days",
    "cycle_median_days",
    "velocity_per_day",
)
BOOKINGS_HEADER = (
    "currency",
    "quote_id",
    "account_id",
    "kind",
    "accepted_on",
    "acv",
    "tcv",
    "cycle_days",
)


def _blank(value: object | None) -> object:
    return "" if value is None else value


def sales_rows(report: Sequence[SalesFigures], detail: bool) -> Iterator[Sequence[object]]:
    """CSV rows: a currency each, or with detail a booking each."""
    for s in report:
        if detail:
            for b in s.bookings:
                yield (
                    s.currency,
                    b.quote_id,
                    b.account_id,
                    b.kind,
                    b.accepted_on,
                    b.acv,
                    b.tcv,
                    b.cycle_days,
                )
            continue
        w = s.win_rates
        yield (
            s.period.first,
            s.period.last,
            s.currency,
            w["new"].numerator,
            w["new"].denominator,
            _pct(w["new"]),
            w["amendment"].numerator,
            w["amendment"].denominator,
            w["renewal"].numerator,
            w["renewal"].denominator,
            len(s.bookings),
            _blank(s.average_acv),
            _blank(s.average_tcv),
            _blank(s.cycle_mean_days),
            _blank(s.cycle_median_days),
            _blank(s.velocity.per_day),
        )


# --- LTV ------------------------------------------------------------------------------------------


class FractionOut(BaseModel):
    """An exact fraction (a mean of rates), with its percentage half-up to 2 decimals."""

    numerator: int
    denominator: int
    percent: str


class LtvOut(BaseModel):
    """ARPA x gross margin / mean monthly logo churn of the 6 months before; null when 0."""

    currency: str
    arpa: int | None
    gross_margin: str
    mean_logo_churn: FractionOut | None
    value: int | None
    churn_months: list[MonthChurnOut] | None = None


class LtvReportOut(BaseModel):
    as_of: date
    known_at: UtcTimestamp
    gross_margin: str
    currencies: list[LtvOut]


def _fraction_out(value: Fraction | None) -> FractionOut | None:
    if value is None:
        return None
    percent = rate_out(Rate(value.numerator, value.denominator)).percent
    assert percent is not None  # a Fraction's denominator is never 0
    return FractionOut(numerator=value.numerator, denominator=value.denominator, percent=percent)


def ltv_out(figures: Ltv, detail: bool) -> LtvOut:
    """One currency's LTV (with the 6 months of churn behind it on detail)."""
    return LtvOut(
        currency=figures.currency,
        arpa=figures.arpa,
        gross_margin=str(figures.gross_margin),
        mean_logo_churn=_fraction_out(figures.mean_logo_churn),
        value=figures.value,
        churn_months=churn_out(figures.churn_months, detail=False) if detail else None,
    )


LTV_HEADER = ("as_of", "currency", "arpa", "gross_margin", "mean_logo_churn_percent", "ltv")


def ltv_rows(report: Sequence[Ltv], detail: bool) -> Iterator[Sequence[object]]:
    """CSV rows: a currency each, or with detail a churn month behind it each."""
    for f in report:
        if detail:
            for m in f.churn_months:
                yield (
                    str(m.month),
                    f.currency,
                    m.logo.numerator,
                    m.logo.denominator,
                    _pct(m.logo),
                    m.gross_mrr.numerator,
                    m.gross_mrr.denominator,
                    _pct(m.gross_mrr),
                    m.net_mrr.numerator,
                    _pct(m.net_mrr),
                )
            continue
        mean = _fraction_out(f.mean_logo_churn)
        yield (
            f.on,
            f.currency,
            _blank(f.arpa),
            f.gross_margin,
            "" if mean is None else mean.percent,
            _blank(f.value),
        )
