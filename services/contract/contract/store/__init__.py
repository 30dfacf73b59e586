"""The contract service's storage: its tables, projector, repository and read queries."""
