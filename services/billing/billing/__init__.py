"""Revline billing service."""
