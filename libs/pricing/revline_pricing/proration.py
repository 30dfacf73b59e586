"""Exact line amounts: discounted unit prices and prorated spans (BILLING_RULES.md 1, 2, 4)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from revline_pricing.errors import InvalidDiscount, SpanOutsidePeriod
from revline_pricing.rounding import round_half_up

# Ample for any int minor-unit amount: a quotient n / d with d <= 366 days is either an
# exact tie or at least 1/732 away from one, so 60 significant digits never misround.
_PRECISION = 60
_HUNDRED = Decimal(100)


def net_unit_price(list_price: int, discount_percent: Decimal) -> int:
    """Unit price after a percentage discount, in minor units, rounded half up once.

    list_price * (1 - discount_percent / 100), computed exactly: 1001 at 50% -> 501,
    1999 at 12.5% -> 1749 (W5). A line then costs net unit price x quantity, never
    round(list_price x quantity x (1 - discount)).
    Raises InvalidDiscount (a ValueError) unless discount_percent is finite and in 0..100.
    """
    if not discount_percent.is_finite() or not 0 <= discount_percent <= _HUNDRED:
        raise InvalidDiscount(discount_percent)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = Decimal(list_price) * (_HUNDRED - discount_percent) / _HUNDRED
    return round_half_up(exact)


def _exact_share(unit_price: int, quantity: int, days: int, nominal_days: int) -> Decimal:
    if nominal_days <= 0 or not 0 <= days <= nominal_days:
        raise SpanOutsidePeriod(days, nominal_days)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return Decimal(unit_price * quantity * days) / Decimal(nominal_days)


def span_amount(unit_price: int, quantity: int, days: int, nominal_days: int) -> int:
    """Charge for `quantity` units during `days` of a `nominal_days` billing period.

    round_half_up(unit_price * quantity * days / nominal_days): the integers are
    multiplied first and divided once, so 4545 x 11/90 = 555.5 -> 556 (W5). A
    negative quantity gives a credit, rounded symmetrically (-555.5 -> -556).
    Raises SpanOutsidePeriod (a ValueError) unless 0 <= days <= nominal_days and
    nominal_days > 0.
    """
    return round_half_up(_exact_share(unit_price, quantity, days, nominal_days))


def span_formula(unit_price: int, quantity: int, days: int, nominal_days: int) -> str:
    """How span_amount got its figure, for support: "5000 x 5 x 21/31 = 16935.48 -> 16935".

    A full period reads "unit x quantity = amount"; the exact quotient is shown to two
    decimals (half up) only when it is not whole. Raises as span_amount does.
    """
    amount = span_amount(unit_price, quantity, days, nominal_days)
    if days == nominal_days:
        return f"{unit_price} x {quantity} = {amount}"
    exact = _exact_share(unit_price, quantity, days, nominal_days)
    shown = (
        exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if exact != exact.to_integral_value()
        else exact
    )
    return f"{unit_price} x {quantity} x {days}/{nominal_days} = {shown} -> {amount}"
