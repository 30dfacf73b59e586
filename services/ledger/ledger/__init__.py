"""Revline ledger: double-entry journal, payments, receivables and revenue recognition.

Only the pure domain (`ledger.domain`) exists yet; the service (handlers, store,
api) will wrap it on the kernel.
"""
