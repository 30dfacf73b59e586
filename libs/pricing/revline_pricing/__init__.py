"""Revline's pricing rules: one pure implementation shared by quote and billing.

The period grid, span fractions, proration, net unit prices and rounding of
BILLING_RULES.md sections 1 and 2, with the calendar arithmetic they stand on.
Standard library only: no I/O, no clock, no service, database or broker import,
so a quote's total contract value and the invoices it becomes cannot disagree.
"""

from revline_pricing.calendar import ONE_DAY, DateSpan, add_months, term_end
from revline_pricing.errors import (
    EndBeforeStart,
    InvalidBillCycleDay,
    InvalidDiscount,
    NotFiniteAmount,
    PricingError,
    SpanOutsidePeriod,
    UnknownBillingPeriod,
)
from revline_pricing.periods import (
    PERIOD_MONTHS,
    Span,
    billing_spans,
    first_boundary,
    iter_billing_spans,
    period_months,
)
from revline_pricing.proration import net_unit_price, span_amount, span_formula
from revline_pricing.rounding import round_half_up

__all__ = [
    "ONE_DAY",
    "PERIOD_MONTHS",
    "DateSpan",
    "EndBeforeStart",
    "InvalidBillCycleDay",
    "InvalidDiscount",
    "NotFiniteAmount",
    "PricingError",
    "Span",
    "SpanOutsidePeriod",
    "UnknownBillingPeriod",
    "add_months",
    "billing_spans",
    "first_boundary",
    "iter_billing_spans",
    "net_unit_price",
    "period_months",
    "round_half_up",
    "span_amount",
    "span_formula",
    "term_end",
]
