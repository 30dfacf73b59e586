"""Pure domain of the billing service: schedules, proration, bill-run planning, invoices.

Nothing here does I/O or reads the clock: bill runs pass `as_of`, amounts are
integer minor units, and every rule follows BILLING_RULES.md. The period grid,
proration and rounding are revline_pricing's, the one implementation quote
prices its totals with.
"""
