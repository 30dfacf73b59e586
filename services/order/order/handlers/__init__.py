"""Business steps: reactions to contract events, and the billing-control commands."""
