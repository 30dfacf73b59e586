"""The order service's tables, the projector that fills them, and the queries on them."""
