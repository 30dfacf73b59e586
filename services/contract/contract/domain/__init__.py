"""Pure domain of the contract service: terms, amendments, renewals, terminations.

Nothing here does I/O or reads the clock: every date comes in as an argument.
"""
