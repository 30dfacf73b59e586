"""Steps on one contract asked for over HTTP: terminate it, renew it now."""

from __future__ import annotations

from datetime import date

from revline_events.payloads.contract import ContractRenewed, ContractTerminated
from revline_events.unit_of_work import UnitOfWork

from contract.domain.contract import Contract
from contract.domain.errors import UnknownContract
from contract.domain.renewal import renew
from contract.domain.termination import terminate
from contract.handlers.events import subscription_data
from contract.store.repository import Contracts


async def terminate_contract(
    uow: UnitOfWork,
    contract_id: str,
    effective_date: date,
    credit_unused: bool,
) -> None:
    """Record ContractTerminated: service stops on effective_date (T), end_date = T - 1.

    Raises UnknownContract, ContractNotActive (terminated or expired already) and
    EffectiveDateOutsideTerm (T on or before the start, or after the end date).
    """
    contract = await _load(uow, contract_id)
    termination = terminate(contract, effective_date, credit_unused)
    terminated = ContractTerminated(
        contract_id=contract.id,
        account_id=contract.account_id,
        effective_date=termination.effective_date,
        end_date=termination.end_date,
        credit_unused=termination.credit_unused,
        subscriptions=[subscription_data(s) for s in termination.subscriptions],
    )
    await uow.record(
        [terminated], stream_id=contract.id, account_id=contract.account_id,
        expected_version=contract.version, cause=None,
        effective_date=termination.effective_date,
    )  # fmt: skip


async def renew_contract(
    uow: UnitOfWork,
    contract_id: str,
    term_months: int | None,
) -> None:
    """Record ContractRenewed now: one more term from the day after the end date.

    term_months defaults to the current term's. Raises UnknownContract and
    ContractNotActive.
    """
    contract = await _load(uow, contract_id)
    renewal = renew(contract, term_months)
    renewed = ContractRenewed(
        contract_id=contract.id,
        account_id=contract.account_id,
        quote_id=None,
        term_start=renewal.term.start,
        term_end=renewal.term.end,
        term_months=renewal.term.months,
        previous_end_date=renewal.previous_end_date,
        subscriptions=[subscription_data(s) for s in renewal.subscriptions],
    )
    await uow.record(
        [renewed], stream_id=contract.id, account_id=contract.account_id,
        expected_version=contract.version, cause=None, effective_date=renewal.term.start,
    )  # fmt: skip


async def _load(uow: UnitOfWork, contract_id: str) -> Contract:
    contract = await uow.repository(Contracts).load(contract_id, for_update=True)
    if contract is None:
        raise UnknownContract(contract_id)
    return contract
