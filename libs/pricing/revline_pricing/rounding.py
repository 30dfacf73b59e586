"""The one rounding of exact amounts to integer minor units (BILLING_RULES.md section 1)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from revline_pricing.errors import NotFiniteAmount


def round_half_up(value: Decimal) -> int:
    """Round `value` to the nearest integer, ties away from zero.

    Symmetric: round_half_up(-x) == -round_half_up(x), so 555.5 -> 556 and
    -555.5 -> -556. Round once per line, never a fraction or a subtotal.
    Raises NotFiniteAmount (a ValueError) for NaN or infinity: a computation that
    produced one is a bug upstream, never an amount to bill.
    """
    if not value.is_finite():
        raise NotFiniteAmount(value)
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))
