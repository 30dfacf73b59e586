"""The toy service's consumer runner as a process of its own, which can die on cue.

    python crashing_consumer.py BOOTSTRAP DATABASE_URL TOPIC GROUP

With TOY_CRASH_AFTER_COMMIT_OF=<event_id> in the environment, the process
exits (os._exit(1), no clean-up) right after the database commit of that
event (or of the batch holding it), before the runner commits its offset.
With TOY_BATCH_HANDLERS=1 it applies clicks through the toy's batch handler.
Each redelivered event the inbox already holds is printed as
`redelivered <event_id>`. SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from revline_events.consumer import ConsumerRunner
from revline_events.envelope import Envelope
from revline_events.unit_of_work import UnitOfWork
from revline_testkit.broker import FAST_CONSUMER_SETTINGS
from toy import CLOCK, HANDLERS, SERVICE, TOY_CATALOGUE, ClickBatches, Toy, kernel, project

CRASH_ENV = "TOY_CRASH_AFTER_COMMIT_OF"
BATCH_ENV = "TOY_BATCH_HANDLERS"


class CrashingUnitOfWork(UnitOfWork):
    """A unit of work that reports redeliveries and can kill the process after its commit."""

    def __init__(self, toy: Toy, crash_after_commit_of: str | None) -> None:
        super().__init__(
            toy.db, kernel, toy.store, project, producer=SERVICE, clock=CLOCK,
            catalogue=TOY_CATALOGUE,
        )  # fmt: skip
        self._crash_after_commit_of = crash_after_commit_of
        self._event_ids: set[str] = set()

    async def seen(self, event_id: str) -> bool:
        """The inbox check; prints the redeliveries it absorbs."""
        self._event_ids.add(event_id)
        already = await super().seen(event_id)
        if already:
            print(f"redelivered {event_id}", flush=True)
        return already

    async def claim_many(
        self, envelopes: Sequence[Envelope], topic: str, outcome: str = "applied"
    ) -> set[str]:
        """The inbox check and rows (one event or a batch); prints the redeliveries it
        absorbs."""
        event_ids = {envelope.event_id for envelope in envelopes}
        self._event_ids.update(event_ids)
        claimed = await super().claim_many(envelopes, topic, outcome)
        for event_id in sorted(event_ids - claimed):
            print(f"redelivered {event_id}", flush=True)
        return claimed

    async def commit(self) -> None:
        """Commit; then, for the chosen event's transaction, die before the runner
        commits the offset."""
        await super().commit()
        doomed = self._crash_after_commit_of
        if doomed is not None and doomed in self._event_ids:
            os._exit(1)


async def main(bootstrap: str, database_url: str, topic: str, group: str) -> None:
    """Consume `topic` in `group` into the toy database until SIGTERM."""
    toy = Toy(database_url, "toy.events")
    crash_after_commit_of = os.environ.get(CRASH_ENV)
    runner = ConsumerRunner(
        service="toy-crashing",
        bootstrap=bootstrap,
        topics=[topic],
        uow_factory=lambda: CrashingUnitOfWork(toy, crash_after_commit_of),
        handlers=HANDLERS,
        batch_handlers=ClickBatches().handlers() if os.environ.get(BATCH_ENV) else None,
        catalogue=TOY_CATALOGUE,
        group_id=group,
        consumer_settings=FAST_CONSUMER_SETTINGS,
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, runner.stop)
    try:
        await runner.run()
    finally:
        await toy.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
