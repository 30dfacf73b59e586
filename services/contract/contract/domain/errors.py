"""Typed errors of the contract domain; the API maps each class to a status once.

An accepted quote that does not fit its contract raises one of these in the consumer,
which dead-letters the event with the message as its reason.
"""

from __future__ import annotations

from datetime import date


class ContractError(Exception):
    """A business rule of the contract service refused the step."""


class UnknownContract(ContractError):
    """No contract has this id."""

    def __init__(self, contract_id: str | None) -> None:
        super().__init__(f"no contract {contract_id}")
        self.contract_id = contract_id


class ContractNotActive(ContractError):
    """The contract is terminated or expired, so it cannot change any more (a 409)."""

    def __init__(self, contract_id: str, status: str, action: str) -> None:
        super().__init__(f"contract {contract_id} is {status}; cannot {action} it")
        self.contract_id = contract_id
        self.status = status
        self.action = action


class EffectiveDateOutsideTerm(ContractError):
    """A date a change takes effect on lies outside the span it must fall in (a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RenewalRunTooFarAhead(EffectiveDateOutsideTerm):
    """A renewal run would renew one contract more terms than a run catches up (a 422:
    an `as_of` years ahead is a typo far more often than a plan, and each term renewed
    flows on to orders and billing schedules)."""

    def __init__(self, contract_id: str, limit: int) -> None:
        super().__init__(
            "as_of",
            f"renews contract {contract_id} more than {limit} terms past its end date; a "
            f"renewal run catches up at most {limit} terms per contract",
        )
        self.contract_id = contract_id


class QuoteDoesNotFit(ContractError):
    """An accepted amendment or renewal quote does not fit the contract it names.

    Raised in the consumer only (the event is dead-lettered with this reason): the
    account, the currency, a subscription or a date disagrees with the contract.
    """


class AccountMismatch(QuoteDoesNotFit):
    """The quote is for another account than the contract."""

    def __init__(self, contract_id: str, contract_account: str, quote_account: str) -> None:
        super().__init__(
            f"contract {contract_id} belongs to account {contract_account}, "
            f"the quote to {quote_account}"
        )


class CurrencyMismatch(QuoteDoesNotFit):
    """The quote is in another currency than the contract."""

    def __init__(self, contract_id: str, contract_currency: str, quote_currency: str) -> None:
        super().__init__(
            f"contract {contract_id} is in {contract_currency}, the quote in {quote_currency}"
        )


class UnknownSubscription(QuoteDoesNotFit):
    """An amendment line names a subscription that is not on the contract."""

    def __init__(self, contract_id: str, subscription_id: str) -> None:
        super().__init__(f"contract {contract_id} has no subscription {subscription_id}")
        self.subscription_id = subscription_id


class SubscriptionNotAmendable(QuoteDoesNotFit):
    """An amendment line names a subscription that was removed or has ended by then."""

    def __init__(self, subscription_id: str, reason: str) -> None:
        super().__init__(f"subscription {subscription_id} {reason}")
        self.subscription_id = subscription_id


class AmendmentOutOfOrder(QuoteDoesNotFit):
    """An amendment takes effect before a change already recorded on the contract."""

    def __init__(self, contract_id: str, effective_date: date, latest: date) -> None:
        super().__init__(
            f"amendment of contract {contract_id} effective {effective_date} is before "
            f"its latest amendment, effective {latest}"
        )


class InvalidQuote(QuoteDoesNotFit):
    """The accepted quote itself is unusable (no term, no lines, a line twice...)."""
