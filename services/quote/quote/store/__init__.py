"""The quote service's storage: its tables, projector and repositories."""
