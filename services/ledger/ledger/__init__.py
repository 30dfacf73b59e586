"""Revline ledger: double-entry journal, payments, receivables and revenue recognition.

`ledger.domain` holds the pure rules; handlers, store and api wrap them on the
kernel (revline_events) and the service chassis (revline_service).
"""
