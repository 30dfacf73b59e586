"""Rounding of exact Decimal amounts to integer minor units (BILLING_RULES.md section 1)."""

from decimal import ROUND_HALF_UP, Decimal


def round_half_up(x: Decimal) -> int:
    """Round `x` to the nearest integer, ties away from zero.

    Symmetric: round_half_up(-x) == -round_half_up(x), so 555.5 -> 556 and -555.5 -> -556.
    Raises ValueError for NaN or infinity.
    """
    if not x.is_finite():
        raise ValueError(f"cannot round {x} to minor units")
    return int(x.to_integral_value(rounding=ROUND_HALF_UP))
