"""Poison and odd events on every topic every service consumes (DESIGN.md, Events).

For each (service, upstream topic) pair, taken from the services' own
`SPEC.upstream_topics`, one live service (SQLite, real HTTP, a broker of this
module's own) is fed, all keyed by one account so they share a partition and
arrive in order:

* poison, each of which must land on `<topic>.dlq` (naming the consumer) and
  have no effect: bytes that are not JSON; JSON that is no envelope; an envelope
  of a type the catalogue does not know; a known type at a schema_version the
  catalogue does not know (a breaking change this build cannot read); a handled
  type whose payload fails validation;
* a newer minor version of a handled type: its payload and envelope carry fields
  this build does not know (DESIGN.md: accepted, applied as the known version);
* an older version of a handled type, upcast on parse: no type any service
  consumes has an older version yet (every catalogue entry is version 1), so
  OLDER_VERSIONS is empty, and a test below fails the day one is registered
  without a sample here (the kernel's own upcasting through the consumer is
  covered by libs/events/tests on its toy catalogue);
* a duplicate (the same event_id twice): applied once;
* a type the catalogue knows and that is published on the topic, but that this
  service has no reaction to (a payload that is not even valid): ignored,
  neither dead-lettered nor recorded (billing reacts to every type on
  order.events, so that case has none);
* then a valid sentinel. Once the sentinel is in the service's inbox, everything
  before it in the partition was handled, so the read model must show exactly
  one effect per distinct valid event: the newer-minor one, the duplicated one,
  the sentinel.
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from revline_events.catalogue import CATALOGUE, EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.dead_letters import DeadLetter, read_dead_letters
from revline_events.envelope import Envelope
from revline_events.payloads.billing import BilledLine, InvoicePosted, LineSource
from revline_events.payloads.contract import ContractCreated, SubscriptionData
from revline_events.payloads.ledger import InvoiceAmountApplied
from revline_events.payloads.order import OrderActivated, OrderItem
from revline_events.payloads.quote import (
    QuoteAccepted,
    QuoteCreated,
    QuoteLineData,
    QuoteTotalsData,
)
from revline_events.topics import dead_letter_topic
from revline_service.service import ServiceSpec
from revline_testkit.broker import FAST_PRODUCER_SETTINGS, TansuBroker
from revline_testkit.devstack import FLOW_ORDER, settings_class
from revline_testkit.fixtures import ServiceUnderTest, fresh_database
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import topic_ends
from revline_testkit.waiting import eventually
from sqlalchemy import func, select

ADMIN = auth("admin")
UPSTREAM_CLOCK = FixedClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
D = date.fromisoformat


def spec_of(service: str) -> ServiceSpec:
    """The service's ServiceSpec (`<service>.main.SPEC`)."""
    spec: ServiceSpec = importlib.import_module(f"{service}.main").SPEC
    return spec


def producer_of(kind: type[EventPayload]) -> str:
    """The service that publishes `kind` (its payload module is named after it)."""
    return kind.__module__.rsplit(".", 1)[-1]


def published_on(topic: str) -> set[str]:
    """Every event type of the catalogue that is published on `topic`."""
    return {
        model.event_type
        for model in CATALOGUE.models().values()
        if f"{producer_of(model)}.events" == topic
    }


def handled_on(service: str, topic: str) -> set[str]:
    """The event types `service` reacts to among those published on `topic`."""
    return {
        kind.event_type
        for kind in spec_of(service).reactions.kinds()
        if f"{producer_of(kind)}.events" == topic
    }


# ---- the scene of one case: a live service, its account, what the case set up ----------------


@dataclass
class Scene:
    """One case's live service, its account and producer, and what `prepare` left."""

    service: LiveService
    topic: str
    account: str
    producer: AIOKafkaProducer
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client bound to the service."""
        return self.service.client

    async def send(self, topic: str, value: bytes) -> None:
        """Publish raw bytes keyed by the scene's account (one partition, in order)."""
        await self.producer.send_and_wait(topic, value=value, key=self.account.encode())


def envelope(payload: EventPayload, *, stream_id: str, account: str, version: int = 1) -> Envelope:
    """`payload` as its producer's relay would publish it."""
    return make_envelope(
        payload, stream_id=stream_id, stream_version=version, account_id=account,
        producer=producer_of(type(payload)), clock=UPSTREAM_CLOCK,
        correlation_id=str(uuid.uuid4()),
    )  # fmt: skip


async def listed(scene: Scene, path: str, **params: str) -> list[dict[str, Any]]:
    """Every item of a list endpoint (all pages)."""
    found: list[dict[str, Any]] = []
    query: dict[str, str | int] = {**params, "limit": 500}
    while True:
        response = await scene.client.get(path, params=query, headers=ADMIN)
        assert response.status_code == 200, response.text
        found += response.json()["data"]
        if response.json().get("next_cursor") is None:
            return found
        query["cursor"] = response.json()["next_cursor"]


# ---- one valid event per (service, topic), and how its effects show ---------------------------


def contract_created(scene: Scene, n: int) -> Envelope:
    """ContractCreated of the account's n-th contract (a seat, 2026)."""
    contract_id = f"ct-{scene.account}-{n}"
    seat = SubscriptionData(
        subscription_id=f"{contract_id}-seat", sku="SEAT", name="Seat", charge_type="recurring",
        billing_period="month", quantity=10, unit_price=4500,
        start_date=D("2026-01-01"), end_date=D("2026-12-31"),
    )  # fmt: skip
    event = ContractCreated(
        contract_id=contract_id, account_id=scene.account, quote_id=f"qt-{contract_id}",
        currency="USD", start_date=D("2026-01-01"), end_date=D("2026-12-31"), term_months=12,
        bill_cycle_day=1, billing_timing="advance", auto_renew=False, subscriptions=[seat],
    )  # fmt: skip
    return envelope(event, stream_id=contract_id, account=scene.account)


async def quote_contracts(scene: Scene) -> int:
    """Contracts of the account in the quote service's read model (no HTTP listing)."""
    from quote.store.contracts import contract_views

    stmt = select(func.count()).where(contract_views.c.account_id == scene.account)
    async with scene.service.runtime.db.session() as session:
        return int((await session.execute(stmt)).scalar_one())


def quote_snapshot(scene: Scene, n: int) -> dict[str, Any]:
    """The content of the account's n-th new-business quote (10 seats at 4500, 2026)."""
    quote_id = f"qt-{scene.account}-{n}"
    line = QuoteLineData(
        line_no=1, sku="SEAT", name="Seat", charge_type="recurring", billing_period="month",
        quantity=10, list_price=5000, discount_percent="10", net_unit_price=4500,
        amount_per_period=45000,
    )  # fmt: skip
    return dict(
        quote_id=quote_id, account_id=scene.account, currency="USD", kind="new",
        contract_id=None, version=1, start_date=D("2026-01-15"), term_months=12,
        end_date=D("2027-01-14"), bill_cycle_day=1, billing_timing="advance", auto_renew=False,
        lines=[line], totals=QuoteTotalsData(recurring_per_period=45000, one_time=0,
                                             total_contract_value=540000),
    )  # fmt: skip


def quote_accepted(scene: Scene, n: int) -> Envelope:
    """QuoteAccepted of the account's n-th new-business quote."""
    event = QuoteAccepted(**quote_snapshot(scene, n), accepted_on=D("2026-01-15"))
    return envelope(event, stream_id=event.quote_id, account=scene.account, version=2)


def quote_created(scene: Scene, n: int) -> Envelope:
    """QuoteCreated of the account's n-th new-business quote (a draft)."""
    event = QuoteCreated(**quote_snapshot(scene, n))
    return envelope(event, stream_id=event.quote_id, account=scene.account)


async def ledger_quotes(scene: Scene) -> int:
    """Quotes of the account in the ledger's metrics read model (no HTTP listing)."""
    from ledger.store.tables import metrics_quote_steps

    stmt = select(func.count()).where(metrics_quote_steps.c.account_id == scene.account)
    async with scene.service.runtime.db.session() as session:
        return int((await session.execute(stmt)).scalar_one())


async def ledger_contracts(scene: Scene) -> int:
    """Contract terms of the account in the ledger's metrics read model."""
    from ledger.store.tables import metrics_terms

    stmt = select(func.count()).where(metrics_terms.c.account_id == scene.account)
    async with scene.service.runtime.db.session() as session:
        return int((await session.execute(stmt)).scalar_one())


async def contracts(scene: Scene) -> int:
    """The account's contracts at the contract service."""
    return len(await listed(scene, "/v1/contracts", account_id=scene.account))


async def orders(scene: Scene) -> int:
    """The account's orders at the order service."""
    return len(await listed(scene, "/v1/orders", account_id=scene.account))


def order_activated(scene: Scene, n: int) -> Envelope:
    """OrderActivated of the account's n-th order: one subscription, 10 seats at 4500."""
    order_id = f"ord-{scene.account}-{n}"
    seat = OrderItem(
        subscription_id=f"sub-{scene.account}-{n}", sku="SEAT", name="Seat",
        charge_type="recurring", billing_period="month", quantity_delta=10, quantity=10,
        unit_price=4500, start_date=D("2026-01-01"), end_date=D("2026-12-31"),
    )  # fmt: skip
    event = OrderActivated(
        order_id=order_id, contract_id=f"ct-{scene.account}-{n}", account_id=scene.account,
        kind="new", currency="USD", effective_date=D("2026-01-01"), bill_cycle_day=1,
        billing_timing="advance", contract_end_date=D("2026-12-31"), items=[seat],
    )  # fmt: skip
    return envelope(event, stream_id=order_id, account=scene.account)


async def schedules(scene: Scene) -> int:
    """The account's billing schedules (one per subscription)."""
    return len(await listed(scene, "/v1/billing-schedules", account_id=scene.account))


async def an_invoice(scene: Scene) -> None:
    """An open invoice at billing (an order, then a bill run) for the ledger's applications."""
    await scene.send("order.events", order_activated(scene, 0).to_bytes())
    await eventually(lambda: schedules(scene), what=f"the schedule of {scene.account}")
    response = await scene.client.post(
        "/v1/bill-runs", json={"as_of": "2026-01-01", "account_id": scene.account},
        headers={**ADMIN, "Idempotency-Key": f"run-{scene.account}"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    [invoice_id] = response.json()["invoice_ids"]
    scene.notes["invoice_id"] = invoice_id


APPLIED = 100  # minor units each InvoiceAmountApplied of these cases applies


def amount_applied(scene: Scene, n: int) -> Envelope:
    """InvoiceAmountApplied of 1.00 USD to the scene's invoice (the n-th application)."""
    application_id = f"app-{scene.account}-{n}"
    event = InvoiceAmountApplied(
        application_id=application_id, invoice_id=scene.notes["invoice_id"],
        account_id=scene.account, currency="USD", amount=APPLIED, source="cash",
        source_id=f"pay-{scene.account}-{n}", applied_on=D("2026-01-20"),
    )  # fmt: skip
    return envelope(event, stream_id=application_id, account=scene.account)


async def applications(scene: Scene) -> int:
    """How many applications of APPLIED the scene's invoice shows as paid."""
    response = await scene.client.get(f"/v1/invoices/{scene.notes['invoice_id']}", headers=ADMIN)
    assert response.status_code == 200, response.text
    paid: int = response.json()["amount_paid"]
    assert paid % APPLIED == 0, paid
    return paid // APPLIED


def invoice_posted(scene: Scene, n: int) -> Envelope:
    """InvoicePosted of the account's n-th invoice: one month of 45000."""
    invoice_id = f"inv-{scene.account}-{n}"
    start, end = D("2026-02-01"), D("2026-02-28")
    line = BilledLine(
        line_no=1, kind="recurring", subscription_id="sub-1", contract_id="ct-1", sku="SEAT",
        description="Seat, February", period_start=start, period_end=end, quantity=10,
        unit_price=4500, amount=45000,
        source=LineSource(
            order_id="ord-1", order_event_ids=[], span_start=start, nominal_start=start,
            nominal_end=end, days=28, nominal_days=28, formula="10 x 4500",
        ),
    )  # fmt: skip
    event = InvoicePosted(
        invoice_id=invoice_id, number=f"INV-{n:06d}", bill_run_id="br-1",
        account_id=scene.account, currency="USD", invoice_date=start, due_date=D("2026-03-03"),
        lines=[line], subtotal=45000, total=45000, deferred_total=45000, one_time_total=0,
        amount_paid=0, amount_due=45000, status="posted",
    )  # fmt: skip
    return envelope(event, stream_id=invoice_id, account=scene.account)


async def invoice_entries(scene: Scene) -> int:
    """The account's journal entries for posted invoices."""
    entries = await listed(scene, "/v1/journal-entries", account_id=scene.account)
    return sum(1 for entry in entries if entry["kind"] == "invoice_posted")


@dataclass(frozen=True)
class Feed:
    """A valid event a service handles on one topic (new ids for each n), and the count
    of distinct such events its read model shows for the scene's account."""

    valid: Callable[[Scene, int], Envelope]
    effects: Callable[[Scene], Awaitable[int]]
    prepare: Callable[[Scene], Awaitable[None]] | None = None


FEEDS: dict[tuple[str, str], Feed] = {
    ("quote", "contract.events"): Feed(contract_created, quote_contracts),
    ("contract", "quote.events"): Feed(quote_accepted, contracts),
    ("order", "contract.events"): Feed(contract_created, orders),
    ("billing", "order.events"): Feed(order_activated, schedules),
    ("billing", "ledger.events"): Feed(amount_applied, applications, an_invoice),
    ("ledger", "billing.events"): Feed(invoice_posted, invoice_entries),
    ("ledger", "quote.events"): Feed(quote_created, ledger_quotes),
    ("ledger", "contract.events"): Feed(contract_created, ledger_contracts),
}

# Every pair a service consumes, from the services themselves (checked against FEEDS below).
CASES = [(name, topic) for name in FLOW_ORDER for topic in spec_of(name).upstream_topics]

# Older versions of consumed types, with how to turn a valid (newest) envelope into one
# that the upcasters bring back to it. None exists yet: see the module docstring.
OLDER_VERSIONS: dict[tuple[str, int], Callable[[Envelope], Envelope]] = {}


def test_every_consumed_topic_of_every_service_has_a_feed() -> None:
    assert set(FEEDS) == set(CASES)
    # DESIGN.md: every service consumes at least one topic.
    assert {name for name, _ in CASES} == set(FLOW_ORDER)
    for name, topic in CASES:
        assert handled_on(name, topic), f"{name} handles nothing on {topic}"


def test_every_older_version_a_service_reads_has_a_sample_here() -> None:
    """A consumed type registered at a second version makes its first an older version
    that live producers may still send: this module must then feed one (OLDER_VERSIONS)."""
    consumed = {t for name, topic in CASES for t in handled_on(name, topic)}
    older = {
        (kind, version)
        for kind, version in CATALOGUE.models()
        if kind in consumed and version < CATALOGUE.latest_version(kind)
    }
    assert older == set(OLDER_VERSIONS)


# ---- the odd events ----------------------------------------------------------------------------


def with_extra_fields(event: Envelope) -> bytes:
    """`event` as a newer minor version sends it: fields this build does not know, in the
    payload and in the envelope, with the same schema_version."""
    wire = json.loads(event.to_bytes())
    wire["payload"]["added_in_a_newer_minor"] = {"note": "optional", "count": 3}
    wire["traceparent_hint"] = "00-extra-envelope-field"
    return json.dumps(wire).encode()


def retyped(event: Envelope, **changes: Any) -> bytes:
    """`event` under a new event_id with `changes` to its envelope."""
    return event.model_copy(update={"event_id": str(uuid.uuid4()), **changes}).to_bytes()


def without_a_required_field(event: Envelope) -> bytes:
    """`event` (new id) with its payload's first required field removed."""
    model = CATALOGUE.models()[(event.type, event.schema_version)]
    required = next(name for name, f in model.model_fields.items() if f.is_required())
    payload = {k: v for k, v in event.payload.items() if k != required}
    return retyped(event, payload=payload)


@dataclass(frozen=True)
class Poison:
    """A record that must be dead-lettered, and a word its DLQ error must contain."""

    name: str
    value: bytes
    reason: str


def poison_for(valid: Envelope) -> list[Poison]:
    """The records of one case that must go to the DLQ."""
    return [
        Poison("not JSON", b"\x00\xff{not json at all", "unparseable envelope"),
        Poison("JSON, no envelope", b'{"greeting": "hello", "payload": 3}', "unparseable"),
        Poison(
            "unknown type",
            retyped(valid, type="SomethingNobodyPublishes"),
            "unknown event type 'SomethingNobodyPublishes'",
        ),
        Poison(
            "unknown schema_version",
            retyped(valid, schema_version=CATALOGUE.latest_version(valid.type) + 1),
            f"no event '{valid.type}' version {CATALOGUE.latest_version(valid.type) + 1}",
        ),
        Poison("invalid payload", without_a_required_field(valid), "is invalid"),
    ]


# ---- the services, one at a time, on this module's broker ------------------------------------


@pytest.fixture(scope="module")
def broker() -> Iterator[TansuBroker]:
    """A broker for this module alone: its poison stays off the session's topics."""
    with TansuBroker() as tansu:
        yield tansu


async def start_at_the_ends(bootstrap: str, group_id: str, topics: list[str]) -> None:
    """Commit `group_id`'s offsets at the topics' current ends: a service in it reads only
    what is published from now on (not what this module fed the services before it)."""
    ends = await topic_ends(bootstrap, *topics)
    if not ends:
        return
    group = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id,
                             enable_auto_commit=False)  # fmt: skip
    await group.start()
    try:
        group.assign(list(ends))
        await group.commit(ends)
    finally:
        await group.stop()


@pytest.fixture(scope="module")
async def served(
    request: pytest.FixtureRequest, broker: TansuBroker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveService]:
    """The service named by the test's parameter, live on SQLite (one per module and name)."""
    name: str = request.param
    main = importlib.import_module(f"{name}.main")
    under_test = ServiceUnderTest(name, settings_class(name), main.app_factory)
    tmp_path: Path = tmp_path_factory.mktemp(f"odd-{name}")
    group_id = f"{name}-odd-{uuid.uuid4().hex[:8]}"
    await start_at_the_ends(broker.bootstrap, group_id, list(main.SPEC.upstream_topics))
    with fresh_database(request, "sqlite", tmp_path, name) as url:
        async with under_test.serving(
            url, broker.bootstrap, tmp_path, consumer_group=group_id
        ) as service:
            yield service


@pytest.fixture(scope="module")
async def producer(broker: TansuBroker) -> AsyncIterator[AIOKafkaProducer]:
    """Publishes as the upstream services' relays do."""
    sender = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, **FAST_PRODUCER_SETTINGS)
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


async def in_inbox(service: LiveService, event_id: str) -> bool:
    """True once the service recorded `event_id` as handled."""
    async with service.runtime.uow() as uow:
        return await uow.seen(event_id)


async def dead_letters(bootstrap: str, topic: str, service: str) -> list[DeadLetter]:
    """What `service` parked on `topic`'s DLQ so far."""
    return await read_dead_letters(bootstrap, [dead_letter_topic(topic)], consumer=service)


@pytest.mark.parametrize(
    ("served", "topic"), CASES, indirect=["served"], ids=[f"{s}<-{t}" for s, t in CASES]
)
async def test_odd_events_are_dead_lettered_or_applied_once(
    served: LiveService, topic: str, producer: AIOKafkaProducer, broker: TansuBroker
) -> None:
    name = served.runtime.spec.name
    feed = FEEDS[(name, topic)]
    scene = Scene(served, topic, f"odd-{name}-{uuid.uuid4().hex[:8]}", producer)
    if feed.prepare is not None:
        await feed.prepare(scene)
    newer, duplicate, sentinel = (feed.valid(scene, n) for n in (1, 2, 3))
    assert newer.type in handled_on(name, topic)
    poison = poison_for(feed.valid(scene, 4))
    older = [
        (key, downgrade(feed.valid(scene, 10 + i)))
        for i, (key, downgrade) in enumerate(OLDER_VERSIONS.items())
        if key[0] == newer.type
    ]

    # A known type this service has no reaction to is none of its business: ignored, neither
    # parked nor recorded (its payload is not even read).
    unhandled = sorted(published_on(topic) - handled_on(name, topic))
    ignored = [retyped(sentinel, type=kind, payload={"not": "read"}) for kind in unhandled[:1]]

    for bad in poison:
        await scene.send(topic, bad.value)
    for value in ignored:
        await scene.send(topic, value)
    await scene.send(topic, with_extra_fields(newer))
    for _, old in older:
        await scene.send(topic, old.to_bytes())
    await scene.send(topic, duplicate.to_bytes())
    await scene.send(topic, duplicate.to_bytes())
    await scene.send(topic, sentinel.to_bytes())

    await eventually(
        lambda: in_inbox(served, sentinel.event_id), within=30, what=f"{name} took the sentinel"
    )
    # Everything before the sentinel in its partition is handled: one effect per distinct
    # valid event (the newer minor, each older version, the duplicated one, the sentinel).
    assert await feed.effects(scene) == 3 + len(older)
    for event in (newer, duplicate, *(old for _, old in older)):
        assert await in_inbox(served, event.event_id), event.type
    for value in ignored:
        assert not await in_inbox(served, Envelope.from_bytes(value).event_id)

    values = {bad.value: bad for bad in poison}

    async def all_parked() -> list[DeadLetter] | None:
        parked = [
            entry
            for entry in await dead_letters(broker.bootstrap, topic, name)
            if entry.key == scene.account
        ]
        return parked if len(parked) >= len(poison) else None

    parked = await eventually(all_parked, within=30, what=f"{name}'s dead letters on {topic}")
    assert sorted(entry.value for entry in parked) == sorted(values)
    for entry in parked:
        bad = values[entry.value]
        assert entry.source_topic == topic, bad.name
        assert entry.consumer == name, bad.name
        assert bad.reason in entry.error, (bad.name, entry.error)
