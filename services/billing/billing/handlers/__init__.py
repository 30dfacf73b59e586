"""Billing steps: order and ledger reactions, bill runs, voids."""
