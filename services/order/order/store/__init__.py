"""The order service's tables, the projector that fills them, and the repositories on them."""
