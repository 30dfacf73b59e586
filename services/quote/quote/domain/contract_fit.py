"""Whether an amendment or renewal quote fits the contract it names.

Checked when the quote is created or edited, against the quote service's own
read model of contracts (built from contract.events): the quote service never
asks the contract service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from quote.domain.errors import InvalidLine, QuoteError


@dataclass(frozen=True)
class ContractSubscription:
    """A subscription of a contract as the quote service knows it."""

    subscription_id: str
    sku: str
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class ContractView:
    """A contract as the quote service knows it."""

    contract_id: str
    account_id: str
    currency: str
    status: str
    start_date: date
    end_date: date  # inclusive
    bill_cycle_day: int
    billing_timing: str
    subscriptions: dict[str, ContractSubscription]


class ContractNotActive(QuoteError):
    """The named contract is terminated or expired: it can be neither amended nor renewed."""

    def __init__(self, contract_id: str, status: str) -> None:
        super().__init__(f"contract {contract_id} is {status}")
        self.contract_id = contract_id
        self.status = status


def check_fit(
    contract: ContractView | None,
    *,
    contract_id: str,
    kind: str,
    account_id: str,
    currency: str,
    start_date: date,
    subscription_lines: list[tuple[int, str, str]],
) -> None:
    """Raise InvalidLine (naming the field) or ContractNotActive when the quote does not fit.

    `subscription_lines` holds (line index, sku, subscription_id) of the lines
    naming a subscription. An amendment's effective date lies within the term;
    a renewal starts the day after the contract's end.
    """
    if contract is None:
        raise InvalidLine("contract_id", f"no contract {contract_id} is known (yet)")
    if contract.account_id != account_id:
        raise InvalidLine("contract_id", f"contract {contract_id} belongs to another account")
    if contract.currency != currency:
        raise InvalidLine("currency", f"contract {contract_id} is in {contract.currency}")
    if contract.status != "active":
        raise ContractNotActive(contract_id, contract.status)
    if kind == "amendment" and not contract.start_date <= start_date <= contract.end_date:
        raise InvalidLine(
            "start_date",
            f"effective date outside the term {contract.start_date}..{contract.end_date}",
        )
    if kind == "renewal" and start_date != contract.end_date + timedelta(days=1):
        raise InvalidLine(
            "start_date", f"a renewal starts the day after the contract ends ({contract.end_date})"
        )
    for index, sku, subscription_id in subscription_lines:
        subscription = contract.subscriptions.get(subscription_id)
        if subscription is None:
            raise InvalidLine(
                f"lines[{index}].subscription_id",
                f"no subscription {subscription_id} of contract {contract_id} is known (yet)",
            )
        if subscription.sku != sku:
            raise InvalidLine(
                f"lines[{index}].sku", f"subscription {subscription_id} is for {subscription.sku}"
            )
