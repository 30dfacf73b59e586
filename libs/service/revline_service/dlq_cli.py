"""`python -m <service> dlq list|replay`: a service's dead letters, listed and replayed.

The DLQ topics of a service are the `.dlq` of each topic its consumer reads
(ServiceSpec.upstream_topics); a topic's DLQ is shared by every service that
consumes it, so only the entries this service parked are shown. `replay` runs
the service's own consumer path (revline_events.dead_letters.replay) on the
database and broker of the service's settings, as `serve` reads them; it may
run while the service itself runs (the inbox makes a redelivery a duplicate).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TextIO

from revline_events.clock import SystemClock
from revline_events.dead_letters import (
    APPLIED,
    DUPLICATE,
    IGNORED,
    DeadLetter,
    Replayed,
    read_dead_letters,
    replay,
)
from revline_events.topics import dead_letter_topic

from revline_service.migrations import upgrade
from revline_service.service import Runtime, ServiceSpec
from revline_service.settings import ServiceSettings

# Exit codes: 0 done; 1 an entry still fails or an asked-for entry is not on the DLQ;
# 2 the command is wrong (a topic not consumed, no entries chosen).
OK, NOT_ALL_APPLIED = 0, 1


def add_dlq_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `dlq` command and its `list` and `replay` subcommands."""
    dlq = sub.add_parser("dlq", help="list or replay the dead-lettered events of this service")
    commands = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = commands.add_parser("list", help="print the DLQ entries, oldest first")
    listing.add_argument("--topic", help="only the DLQ of this consumed topic (or its .dlq)")
    listing.add_argument("--json", action="store_true", help="one JSON document")
    replaying = commands.add_parser(
        "replay", help="apply DLQ entries again through the consumer (duplicates are no-ops)"
    )
    replaying.add_argument(
        "--event-id", action="append", dest="event_ids", default=[], metavar="ID",
        help="the entries of this event (repeatable)",
    )  # fmt: skip
    replaying.add_argument(
        "--entry", action="append", dest="entries", default=[], metavar="TOPIC[P]@OFFSET",
        help="one entry by its place on the DLQ, as `dlq list` prints it (repeatable)",
    )  # fmt: skip
    replaying.add_argument("--all", action="store_true", help="every entry, in DLQ order")
    replaying.add_argument("--topic", help="only the DLQ of this consumed topic (or its .dlq)")
    replaying.add_argument("--json", action="store_true", help="one JSON document")


def dlq_topics(spec: ServiceSpec, topic: str | None = None) -> list[str]:
    """The DLQ topics of `spec`'s consumer, or the one of `topic` (consumed or its .dlq).
    Raises ValueError for a topic the service does not consume."""
    topics = [dead_letter_topic(t) for t in spec.upstream_topics]
    if topic is None:
        return topics
    wanted = topic if topic in topics else dead_letter_topic(topic)
    if wanted not in topics:
        raise ValueError(f"{spec.name} consumes no topic {topic!r} (it reads {topics})")
    return [wanted]


async def dlq_command(
    spec: ServiceSpec, settings: ServiceSettings, argv: Sequence[str], out: TextIO
) -> int:
    """`python -m <service> dlq *argv` with these settings (what main() runs, for tests)."""
    parser = argparse.ArgumentParser(prog=f"python -m {spec.name}")
    add_dlq_parser(parser.add_subparsers(dest="command", required=True))
    return await run_dlq(spec, settings, parser.parse_args(["dlq", *argv]), out)


async def run_dlq(
    spec: ServiceSpec, settings: ServiceSettings, args: argparse.Namespace, out: TextIO
) -> int:
    """Run `dlq list` or `dlq replay` as parsed into `args`; returns the exit code."""
    if args.dlq_command == "replay" and args.all == bool(args.event_ids or args.entries):
        print("dlq replay: give --all, or --event-id / --entry (not both)", file=out)
        return 2
    try:
        topics = dlq_topics(spec, args.topic)
    except ValueError as error:
        print(str(error), file=out)
        return 2
    entries = await read_dead_letters(settings.kafka_bootstrap, topics, consumer=spec.name)
    if args.dlq_command == "list":
        _print_list(spec, topics, entries, out, as_json=args.json)
        return OK
    missing: list[str] = []
    if not args.all:
        wanted = set(args.event_ids) | set(args.entries)
        found = {e.event_id for e in entries} | {e.where for e in entries}
        missing = [i for i in dict.fromkeys([*args.event_ids, *args.entries]) if i not in found]
        entries = [e for e in entries if e.event_id in wanted or e.where in wanted]
    done = await _replay(spec, settings, entries)
    _print_replayed(spec, done, missing, out, as_json=args.json)
    applied = all(r.outcome in (APPLIED, DUPLICATE, IGNORED) for r in done)
    return OK if applied and not missing else NOT_ALL_APPLIED


async def _replay(
    spec: ServiceSpec, settings: ServiceSettings, entries: Sequence[DeadLetter]
) -> list[Replayed]:
    if not entries:
        return []
    await upgrade(spec.alembic_dir, settings.database_url)
    runtime = Runtime(spec, settings, SystemClock())
    try:
        assert runtime.consumer is not None  # a service with DLQ entries consumes
        done = await replay(runtime.consumer, entries)
        # What the replayed events recorded goes out now, as `republish` does.
        while await runtime.relay.publish_pending():
            pass
    finally:
        await runtime.relay.close()
        await runtime.db.dispose()
    return done


def _print_list(
    spec: ServiceSpec,
    topics: Sequence[str],
    entries: Sequence[DeadLetter],
    out: TextIO,
    *,
    as_json: bool,
) -> None:
    if as_json:
        body = {"service": spec.name, "topics": list(topics)}
        print(json.dumps({**body, "entries": [e.as_json() for e in entries]}), file=out)
        return
    if not entries:
        read = ", ".join(topics) or "no consumed topic"
        print(f"{spec.name}: the DLQ is empty ({read})", file=out)
        return
    for e in entries:
        source = f"{e.source_topic}[{e.source_partition}]@{e.source_offset}"
        event = f"{e.event_id} {e.event_type}" if e.envelope is not None else "(unparseable)"
        at = e.dead_lettered_at.isoformat() if e.dead_lettered_at is not None else "?"
        print(f"{e.where} from {source} {event} at {at}: {e.error}", file=out)
    print(f"{spec.name}: {len(entries)} DLQ entries", file=out)


def _print_replayed(
    spec: ServiceSpec,
    done: Sequence[Replayed],
    missing: Sequence[str],
    out: TextIO,
    *,
    as_json: bool,
) -> None:
    if as_json:
        body = {"service": spec.name, "replayed": [r.as_json() for r in done]}
        print(json.dumps({**body, "not_found": list(missing)}), file=out)
        return
    for r in done:
        event = r.entry.event_id or "(unparseable)"
        reason = f": {r.reason}" if r.reason else ""
        print(f"{r.outcome} {event} ({r.entry.where}){reason}", file=out)
    for event_id in missing:
        print(f"not found {event_id} (no DLQ entry of {spec.name} is that)", file=out)
    if not done and not missing:
        print(f"{spec.name}: nothing to replay", file=out)
