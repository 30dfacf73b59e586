"""The contract service's HTTP API (API.md, contract)."""
