"""Billing storage: tables, the projector and queries (SQL stays here)."""
