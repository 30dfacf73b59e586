"""The contract service's storage: its tables, projector and repositories."""
