"""Events on `contract.events`: contracts, their subscriptions, and every change to them."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from revline_events.catalogue import CATALOGUE, EventPayload
from revline_events.payloads.quote import BillingPeriod, BillingTiming, ChargeType


class SubscriptionData(EventPayload):
    """A subscription as it stands: what is sold, how many, at what net unit price, when."""

    subscription_id: str
    sku: str
    name: str
    charge_type: ChargeType
    billing_period: BillingPeriod | None  # None for one-time charges
    quantity: int
    unit_price: int  # minor units: the quote line's net unit price, per unit and period
    start_date: date
    end_date: date  # last day of service, inclusive


class SubscriptionChange(EventPayload):
    """One subscription's quantity from `effective_date` on (0 removes it)."""

    subscription: SubscriptionData  # the subscription after the change
    quantity_before: int  # 0 for a subscription the amendment adds
    quantity_after: int


@CATALOGUE.register("ContractCreated", 1)
class ContractCreated(EventPayload):
    """An accepted new-business quote became a contract with one subscription per line."""

    contract_id: str
    account_id: str
    quote_id: str
    currency: str
    start_date: date
    end_date: date  # inclusive
    term_months: int
    bill_cycle_day: int
    billing_timing: BillingTiming
    auto_renew: bool
    subscriptions: list[SubscriptionData] = Field(default_factory=list)


@CATALOGUE.register("ContractAmended", 1)
class ContractAmended(EventPayload):
    """An accepted amendment quote changed quantities or added subscriptions from a date."""

    contract_id: str
    account_id: str
    quote_id: str
    effective_date: date  # first day at the new quantities
    changes: list[SubscriptionChange] = Field(default_factory=list)


@CATALOGUE.register("ContractRenewed", 1)
class ContractRenewed(EventPayload):
    """The contract runs for a new term from the day after its old end date."""

    contract_id: str
    account_id: str
    quote_id: str | None  # None for a renewal by request or by a renewal run
    term_start: date
    term_end: date  # inclusive
    term_months: int
    previous_end_date: date
    subscriptions: list[SubscriptionData] = Field(default_factory=list)  # the new term's


@CATALOGUE.register("ContractTerminated", 1)
class ContractTerminated(EventPayload):
    """Service stops early: `effective_date` is the first day without service."""

    contract_id: str
    account_id: str
    effective_date: date
    end_date: date  # effective_date - 1 day
    credit_unused: bool
    subscriptions: list[SubscriptionData] = Field(default_factory=list)  # as they end


@CATALOGUE.register("ContractExpired", 1)
class ContractExpired(EventPayload):
    """The term ended without renewal."""

    contract_id: str
    account_id: str
    end_date: date


@CATALOGUE.register("RenewalRunCompleted", 1)
class RenewalRunCompleted(EventPayload):
    """A renewal run as of a date renewed and expired these contracts (the run's own record)."""

    run_id: str
    as_of: date
    renewed: list[str] = Field(default_factory=list)  # contract ids
    expired: list[str] = Field(default_factory=list)
