"""The billing HTTP API: thin routers, schemas, the problem table."""
