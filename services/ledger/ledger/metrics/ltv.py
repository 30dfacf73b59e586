"""Revenue LTV (METRICS.md): ARPA x gross margin / mean monthly logo churn of 6 months."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from revline_pricing import round_half_up

from ledger.metrics.calendar import Month
from ledger.metrics.churn import MonthChurn, churn_of
from ledger.metrics.errors import InvalidMetricQuery
from ledger.metrics.history import History, Snapshot
from ledger.metrics.mrr import mrr_figures

CHURN_MONTHS = 6


@dataclass(frozen=True)
class Ltv:
    """Revenue LTV of one currency on a day, in minor units.

    `value` = round_half_up(ARPA x gross_margin / mean logo churn), None without
    customers or when the mean churn is 0. The mean is over the months of
    `churn_months` that had customers at their start (a month without is no rate).
    """

    on: date
    currency: str
    arpa: int | None
    gross_margin: Decimal
    churn_months: tuple[MonthChurn, ...]
    mean_logo_churn: Fraction | None
    value: int | None


def ltv(
    history: History,
    currency: str,
    on: date,
    known_at: datetime,
    gross_margin: Decimal = Decimal(1),
) -> Ltv:
    """Revenue LTV on `on`: ARPA(on) and the logo churn of the 6 months before on's month.

    Raises InvalidMetricQuery unless 0 < gross_margin <= 1.
    """
    check_margin(gross_margin)
    return ltv_of(history.as_known_at(known_at), currency, on, gross_margin)


def check_margin(gross_margin: Decimal) -> None:
    """Raises InvalidMetricQuery unless 0 < gross_margin <= 1."""
    if not (gross_margin.is_finite() and 0 < gross_margin <= 1):
        raise InvalidMetricQuery("gross_margin", f"must be in (0, 1], not {gross_margin}")


def ltv_of(snapshot: Snapshot, currency: str, on: date, gross_margin: Decimal = Decimal(1)) -> Ltv:
    """Revenue LTV from a snapshot (see ltv). Raises InvalidMetricQuery unless
    0 < gross_margin <= 1."""
    check_margin(gross_margin)
    month = Month.of(on)
    arpa = mrr_figures(snapshot, currency, on).arpa
    months = churn_of(snapshot, currency, month.plus(-CHURN_MONTHS), month.plus(-1))
    rates = [Fraction(m.logo.numerator, m.logo.denominator) for m in months if m.logo.denominator]
    mean = sum(rates, Fraction(0)) / len(rates) if rates else None
    value = None
    if arpa is not None and mean:
        exact = Fraction(arpa) * Fraction(gross_margin) / mean
        value = round_half_up(Decimal(exact.numerator) / Decimal(exact.denominator))
    return Ltv(on, currency, arpa, gross_margin, months, mean, value)
