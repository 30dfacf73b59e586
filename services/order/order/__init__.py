"""Revline order service."""
