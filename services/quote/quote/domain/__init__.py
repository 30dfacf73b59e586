"""Pure domain of the quote service: line pricing, totals, terms and the quote status machine.

The period grid, proration, net unit prices and rounding are revline_pricing's, shared
with billing so a quote's totals and its invoices cannot disagree.

Nothing here does I/O or reads the clock; amounts are int minor units, computed in Decimal.
"""
