"""The order service's HTTP API."""
