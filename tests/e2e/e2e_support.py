"""Helpers the end-to-end tests share: HTTP steps, waiting for events, redelivery.

Imported as a top-level module: pytest runs with --import-mode=importlib, which
does not put test folders on sys.path, so conftest.py does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from opentelemetry.sdk.trace import ReadableSpan
from revline_events.kafka import new_producer
from revline_testkit.live import auth
from revline_testkit.spans import RecordedSpans, step_of
from revline_testkit.waiting import eventually

# The `stack` fixture (tests/e2e/conftest.py): services by name, .bootstrap, .clock.
Stack = Any

SALES, OPS, ADMIN = auth("sales"), auth("ops"), auth("admin")


async def ok(response: Awaitable[httpx.Response], status: int = 200) -> dict[str, Any]:
    """The JSON body of a response that must have `status`."""
    answer = await response
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def first(
    client: httpx.AsyncClient, path: str, keep: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """The first item of the list at `path` that `keep` accepts, once there is one."""

    async def probe() -> dict[str, Any] | None:
        answer = await client.get(path, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return next((item for item in answer.json()["data"] if keep(item)), None)

    return await eventually(probe, within=30, what=what)


async def accept(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    """Create the quote (once the quote service knows its contract) and accept it."""
    quote = stack["quote"].client

    async def created() -> dict[str, Any] | None:
        answer = await quote.post("/v1/quotes", json=body, headers=SALES)
        if answer.status_code == 422 and "is known (yet)" in answer.text:
            # The quote service has not yet consumed the contract.events that name
            # the contract or subscription: its read model trails the contract service.
            return None
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    draft = await eventually(created, within=30, what="the quote to be created")
    return await ok(quote.post(f"/v1/quotes/{draft['id']}/accept", headers=SALES))


async def redelivery_changes_nothing(stack: Stack, account: str, upstream: dict[str, str]) -> None:
    """Publish every event of `account` a second time: state digests stay equal.

    `upstream` maps each service checked to the topic it consumes that is resent.
    """
    names = list(upstream)
    before = {n: await digest(stack, n) for n in names}
    handled = {n: await taken(stack, n) for n in names}
    resent = {t: await resend(stack.bootstrap, t, account) for t in set(upstream.values())}
    assert all(resent.values()), f"no events of {account} to resend: {resent}"

    for name in names:

        async def caught_up(name: str = name) -> bool:
            return await taken(stack, name) >= handled[name] + resent[upstream[name]]

        await eventually(caught_up, within=30, what=f"{name} to take the redelivered events")
    assert {n: await digest(stack, n) for n in names} == before


async def digest(stack: Stack, name: str) -> str:
    """The service's state digest."""
    body = await ok(stack[name].client.get("/v1/admin/state-digest", headers=ADMIN))
    found: str = body["digest"]
    return found


async def taken(stack: Stack, name: str) -> int:
    """Redelivered or ignored upstream events the service has taken (from /metrics)."""
    text = (await stack[name].client.get("/metrics")).text
    pattern = re.compile(
        rf'^revline_events_handled_total\{{[^}}]*outcome="(duplicate|ignored)"[^}}]*'
        rf'service="{name}"[^}}]*\}} ([0-9.e+]+)$|'
        rf'^revline_events_handled_total\{{[^}}]*service="{name}"[^}}]*'
        rf'outcome="(duplicate|ignored)"[^}}]*\}} ([0-9.e+]+)$',
        re.M,
    )
    return sum(int(float(m.group(2) or m.group(4))) for m in pattern.finditer(text))


async def resend(bootstrap: str, topic: str, account: str) -> int:
    """Publish again, unchanged, every record of `account` on `topic`; return how many."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=10,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        await consumer.topics()  # load metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = []
        # The fetch high watermark, not ListOffsets (wrong on the dev broker), says when
        # every partition has been read to its end.
        while True:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records += [r for r in batch if r.key == account.encode()]
            highs = [consumer.highwater(tp) for tp in partitions]
            positions = [await consumer.position(tp) for tp in partitions]
            if all(h is not None and p >= h for h, p in zip(highs, positions, strict=True)):
                break
    finally:
        await consumer.stop()
    producer = new_producer(bootstrap, "e2e-redelivery")
    await producer.start()
    try:
        for record in records:
            await producer.send(topic, value=record.value, key=record.key)
        await producer.flush()
    finally:
        await producer.stop()
    return len(records)


async def handling_in_trace(
    spans: RecordedSpans, root: ReadableSpan, service: str, event_type: str | None = None
) -> ReadableSpan:
    """`service`'s span of an event it applied (of `event_type`, when given) in the trace
    that `root` starts, once it is recorded."""
    assert root.context is not None

    async def probe() -> ReadableSpan | None:
        for span in spans.of_trace(root.context.trace_id):
            attributes = span.attributes or {}
            if (
                step_of(span) == (service, "CONSUMER")
                and event_type in (None, attributes.get("revline.event_type"))
                and attributes.get("revline.outcome") != "duplicate"
            ):
                return span
        return None

    return await eventually(probe, within=30, what=f"{service}'s handling in the trace")


def request_span(spans: RecordedSpans, name: str, path: str | None = None) -> ReadableSpan:
    """The first server span called `name` (of the request to `path`, when given)."""
    found = [
        s for s in spans.named(name) if path is None or (s.attributes or {}).get("url.path") == path
    ]
    assert found, f"no span {name} {path or ''} among {sorted({s.name for s in spans.all()})}"
    return found[0]


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of the sample `name` with (at least) `labels` in a /metrics text, 0 if none."""
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        shown, _, value = line[len(name) + 1 :].rpartition("} ")
        found = dict(part.split("=", 1) for part in shown.split(","))
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            total += float(value)
    return total
