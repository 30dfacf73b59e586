"""Pure rules of the order service: orders from contract changes, and billing controls."""
