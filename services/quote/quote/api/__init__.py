"""The quote service's HTTP API (API.md, quote)."""
