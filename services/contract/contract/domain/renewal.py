"""Renewals: a new term from the day after the end date (BILLING_RULES.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from revline_pricing.calendar import ONE_DAY, term_end

from contract.domain.contract import Contract, QuantityChange, Subscription
from contract.domain.errors import EffectiveDateOutsideTerm, InvalidQuote


@dataclass(frozen=True, slots=True)
class Term:
    """A contract term: start through end (inclusive), `months` long."""

    start: date
    end: date
    months: int


@dataclass(frozen=True, slots=True)
class Renewal:
    """A renewal term, the subscriptions that run in it, and the contract after it.

    Each renewed subscription keeps its id, billing period, unit price and the
    quantity in force on the old end date; its start_date and end_date here are the
    new term's, so billing computes the new term's spans from the renewal start (W15).
    """

    term: Term
    previous_end_date: date
    subscriptions: tuple[Subscription, ...]
    contract: Contract


def renewal_term(contract: Contract, term_months: int | None = None) -> Term:
    """The next term: from end_date + 1 for `term_months`, else the current term's months.

    W15: a contract ending 2027-03-14 renews for 12 months as 2027-03-15..2028-03-14.
    Raises InvalidQuote for term_months < 1.
    """
    months = contract.term_months if term_months is None else term_months
    if months < 1:
        raise InvalidQuote(f"term_months must be at least 1, got {months}")
    start = contract.end_date + ONE_DAY
    return Term(start, term_end(start, months), months)


def renew(
    contract: Contract, term_months: int | None = None, *, quoted_start: date | None = None
) -> Renewal:
    """Renew the contract for one term: same BCD, periods, timing, quantities and prices.

    Recurring subscriptions still running on the end date with a quantity above 0
    extend to the new end; one-time charges and removed subscriptions do not.
    `quoted_start` (a renewal quote's start_date) must be the day after the end date.
    Raises ContractNotActive, EffectiveDateOutsideTerm (a quoted start that does not
    follow the end date) and InvalidQuote.
    """
    contract.ensure_active("renew")
    term = renewal_term(contract, term_months)
    if quoted_start is not None and quoted_start != term.start:
        raise EffectiveDateOutsideTerm(
            "start_date",
            f"a renewal of contract {contract.id} starts on {term.start}, "
            f"the day after its end date, not on {quoted_start}",
        )
    renewed: list[Subscription] = []
    extended: dict[str, Subscription] = {}
    for subscription in contract.subscriptions:
        quantity = subscription.quantity_on(contract.end_date)
        runs_to_the_end = subscription.end_date == contract.end_date
        if not subscription.is_recurring or not runs_to_the_end or quantity <= 0:
            continue
        new_term = (QuantityChange(term.start, quantity),)
        renewed.append(
            replace(subscription, start_date=term.start, end_date=term.end, quantities=new_term)
        )
        extended[subscription.id] = replace(subscription, end_date=term.end)
    after = replace(
        contract,
        end_date=term.end,
        term_start=term.start,
        term_months=term.months,
        subscriptions=tuple(extended.get(s.id, s) for s in contract.subscriptions),
    )
    return Renewal(term, contract.end_date, tuple(renewed), after)
