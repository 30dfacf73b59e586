"""Typed errors of the order service; the API maps each class to a status once."""

from __future__ import annotations

from datetime import date


class OrderError(Exception):
    """A business rule of the order service refused the step."""


class UnknownOrder(OrderError):
    """No order has this id."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id}")
        self.order_id = order_id


class BillingAlreadyHeld(OrderError):
    """The order's billing is on hold already; holding it again would say nothing new."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"billing of order {order_id} is already on hold")
        self.order_id = order_id


class BillingNotHeld(OrderError):
    """The order's billing is not on hold, so there is nothing to release."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"billing of order {order_id} is not on hold")
        self.order_id = order_id


class OverrideBeforeEffectiveDate(OrderError):
    """A next billing date before the order's effective date would change nothing."""

    def __init__(self, order_id: str, next_billing_date: date, effective_date: date) -> None:
        super().__init__(
            f"next_billing_date {next_billing_date.isoformat()} is before the effective date "
            f"{effective_date.isoformat()} of order {order_id}"
        )
        self.order_id = order_id
        self.field = "next_billing_date"
        self.message = f"must be on or after {effective_date.isoformat()}"


class UnknownContract(OrderError):
    """A contract event names a contract this service never saw created.

    Raised while consuming: the event is dead-lettered, never half applied.
    """

    def __init__(self, contract_id: str, event_type: str) -> None:
        super().__init__(f"{event_type} for contract {contract_id}, which was never created")
        self.contract_id = contract_id


class ContractAlreadyCreated(OrderError):
    """A second ContractCreated (another event id) for a contract already known."""

    def __init__(self, contract_id: str) -> None:
        super().__init__(f"contract {contract_id} was created before")
        self.contract_id = contract_id
