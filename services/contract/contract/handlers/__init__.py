"""The contract service's business steps, one unit of work each (the caller commits)."""
