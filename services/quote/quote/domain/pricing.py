"""Exact line pricing: discounts and prorated span amounts (BILLING_RULES.md section 1)."""

from decimal import Decimal, localcontext

from quote.domain.rounding import round_half_up

# Ample for any int minor-unit amount: a quotient n / d with d <= 366 days is either an
# exact tie or at least 1/732 away from one, so 60 significant digits never misround.
_PRECISION = 60

# The largest amount a quote may carry, in minor units (10 trillion USD): every
# amount then fits a 64-bit column with room for downstream sums.
MAX_AMOUNT = 10**15


def net_unit_price(list_price: int, discount_percent: Decimal) -> int:
    """Unit price after a percentage discount, in minor units, rounded half up once.

    list_price * (1 - discount_percent / 100), computed exactly: 1001 at 50% -> 501,
    1999 at 12.5% -> 1749 (W5). The caller validates the discount range.
    """
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = Decimal(list_price) * (Decimal(100) - discount_percent) / Decimal(100)
    return round_half_up(exact)


def span_amount(unit_price: int, quantity: int, span_days: int, nominal_days: int) -> int:
    """Charge for `quantity` units during `span_days` of a `nominal_days` period.

    round_half_up(unit_price * quantity * span_days / nominal_days): the integers are
    multiplied first and divided once, so 4545 x 11/90 = 555.5 -> 556 (W5). Negative
    quantities give credits, rounded symmetrically. Raises ValueError unless
    0 <= span_days <= nominal_days and nominal_days > 0.
    """
    if nominal_days <= 0 or not 0 <= span_days <= nominal_days:
        raise ValueError(f"span of {span_days} days does not fit a period of {nominal_days}")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = Decimal(unit_price * quantity * span_days) / Decimal(nominal_days)
    return round_half_up(exact)
