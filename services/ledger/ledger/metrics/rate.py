"""A rate as METRICS.md returns it: numerator, denominator and a rounded percentage."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from revline_pricing import round_half_up


@dataclass(frozen=True)
class Rate:
    """`numerator / denominator`: counts or integer minor units, never a float.

    `percent` is 100 x numerator / denominator rounded half-up (ties away from
    zero) to 2 decimals, or None when the denominator is 0 (no base to rate).
    """

    numerator: int
    denominator: int

    @property
    def percent(self) -> Decimal | None:
        """The percentage to 2 decimals, e.g. Decimal("33.33"); None over a zero base."""
        if self.denominator == 0:
            return None
        hundredths = round_half_up(Decimal(self.numerator * 10000) / Decimal(self.denominator))
        return Decimal(hundredths).scaleb(-2)
