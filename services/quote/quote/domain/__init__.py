"""Pure domain of the quote service: calendar, billing periods, pricing and quote rules.

Nothing here does I/O or reads the clock; amounts are int minor units, computed in Decimal.
"""
