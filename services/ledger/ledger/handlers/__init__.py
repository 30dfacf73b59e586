"""Business steps: reactions to billing's events, each a step on one customer's book."""
