"""Handlers reach the database through repositories made by their unit of work."""

from __future__ import annotations

import pytest
from revline_events.repository import Repository
from sqlalchemy import insert, select
from toy import Toy, counters


class Counters(Repository):
    """The toy's counters, as a handler would use them."""

    async def value(self, name: str) -> int | None:
        """The counter's value, None when it has no row."""
        found = await self.session.scalar(select(counters.c.value).where(counters.c.name == name))
        return None if found is None else int(found)

    async def start(self, name: str, value: int) -> None:
        """Add the counter's row."""
        await self.session.execute(insert(counters).values(name=name, value=value))


async def test_a_unit_of_work_makes_one_repository_of_a_kind_on_its_own_transaction(
    toy: Toy,
) -> None:
    async with toy.uow() as uow:
        repo = uow.repository(Counters)
        assert uow.repository(Counters) is repo
        await repo.start("seen-in-tx", 7)
        assert await repo.value("seen-in-tx") == 7
        await uow.commit()

    assert await toy.counter("seen-in-tx") == 7


async def test_a_repository_belongs_to_its_transaction_and_is_gone_with_it(toy: Toy) -> None:
    async with toy.uow() as uow:
        first = uow.repository(Counters)
        await first.start("rolled-back", 1)
        # No commit: leaving the block rolls the write back.

    async with toy.uow() as uow:
        second = uow.repository(Counters)
        assert second is not first
        assert await second.value("rolled-back") is None

    assert await toy.counter("rolled-back") is None


def test_a_repository_outside_a_unit_of_work_is_refused(toy: Toy) -> None:
    with pytest.raises(RuntimeError, match="outside"):
        toy.uow().repository(Counters)
