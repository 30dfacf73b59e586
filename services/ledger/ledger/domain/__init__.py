"""The ledger's pure domain (BILLING_RULES.md 7): no I/O, no clock, integers in minor units.

accounts (the chart), journal (balanced entries), documents (invoices and
credit notes as billing hands them over), recognition (monthly shares),
receivables (sub-ledger records), book (one account's steps in one currency),
ledger (every book and the journal), reports (from entries, as of a date),
errors (what the service maps to 404/409/422).
"""
