"""Revline contract service."""
