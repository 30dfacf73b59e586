"""`python -m ledger serve`, with a way to die on cue between a database commit and an
offset commit.

    python crashing_ledger.py [--fd N]   (settings from LEDGER_* as for `python -m ledger serve`)

The app is the service's own (ledger.main.SPEC, create_app, uvicorn); only the
consumer's units of work are swapped. With CRASH_AFTER_COMMIT_OF=<event_id> in
the environment, the process exits (os._exit(1): no shutdown, no offset commit)
right after the database commit of the consumer's transaction that holds that
billing event, before the runner commits its offset. Each redelivered event the
inbox absorbs is logged on stdout as `redelivered <event_id>`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from ledger.main import SPEC
from ledger.settings import LedgerSettings
from revline_events.envelope import Envelope
from revline_events.unit_of_work import UnitOfWork
from revline_service.cli import serve
from revline_service.logs import configure_logging, correlation_id
from revline_service.service import Runtime, create_app

CRASH_ENV = "CRASH_AFTER_COMMIT_OF"


class CrashingUnitOfWork(UnitOfWork):
    """The consumer's unit of work: reports redeliveries, and can kill the process after
    its commit."""

    doomed: str | None = None

    def __init__(self, runtime: Runtime) -> None:
        # As Runtime.uow builds it.
        super().__init__(
            runtime.db, runtime.spec.kernel, runtime.store, runtime.spec.projector,
            producer=runtime.spec.name, clock=runtime.clock, ids=runtime.ids,
            settings=runtime.settings, correlation=correlation_id.get,
            after_commit=runtime.relay,
        )  # fmt: skip
        self._event_ids: set[str] = set()

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
        """Commit; then, for the doomed event's transaction, die before the offset commit."""
        await super().commit()
        if self.doomed is not None and self.doomed in self._event_ids:
            print(f"crashing after the commit of {self.doomed}", flush=True)
            os._exit(1)


def arm(runtime: Runtime) -> None:
    """Give the consumer crashing units of work."""
    CrashingUnitOfWork.doomed = os.environ.get(CRASH_ENV) or None
    factory: Callable[[], UnitOfWork] = lambda: CrashingUnitOfWork(runtime)  # noqa: E731
    assert runtime.consumer is not None
    runtime.consumer._uow_factory = factory


def main() -> int:
    """Serve the ledger as `python -m ledger serve` does."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, help="the inherited listening socket, as for serve")
    args = parser.parse_args()
    settings = LedgerSettings()
    configure_logging("ledger", settings.log_level)
    serve(create_app(SPEC, settings, on_runtime=arm), settings, args.fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
