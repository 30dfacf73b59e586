"""The envelope on the wire and the typed, versioned catalogue that reads its payload."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError
from revline_events.catalogue import (
    CATALOGUE,
    Catalogue,
    EventPayload,
    InvalidPayload,
    UnknownEventType,
    make_envelope,
)
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope, canonical_json
from toy import CLOCK, TOY_CATALOGUE, CounterIncremented, increment


def envelope_of(event_type: str, version: int, payload: dict[str, Any]) -> Envelope:
    """An envelope carrying a raw payload, as it could arrive from another service."""
    template = increment("a", 1, version=1)
    return template.model_copy(
        update={"type": event_type, "schema_version": version, "payload": payload}
    )


def test_envelope_round_trips_through_wire_bytes() -> None:
    envelope = increment("a", 3, version=7, account_id="acme-eu")

    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


def test_wire_bytes_are_json_with_every_envelope_field() -> None:
    envelope = make_envelope(
        CounterIncremented(name="a", by=2),
        stream_id="counter-a",
        stream_version=1,
        account_id="acme",
        producer="toy",
        clock=CLOCK,
        correlation_id="corr-1",
        causation_id="cause-1",
        effective_date=date(2025, 2, 1),
    )

    wire = json.loads(envelope.to_bytes())

    assert wire == {
        "event_id": envelope.event_id,
        "type": "CounterIncremented",
        "schema_version": 2,
        "stream_id": "counter-a",
        "stream_version": 1,
        "account_id": "acme",
        "occurred_at": "2025-01-15T09:30:00Z",
        "effective_date": "2025-02-01",
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
        "producer": "toy",
        "payload": {"name": "a", "by": 2},
    }


def test_make_envelope_stamps_the_clock_in_utc_and_correlates_to_itself() -> None:
    berlin = timezone(timedelta(hours=1))
    clock = FixedClock(datetime(2025, 3, 1, 0, 30, tzinfo=berlin))

    envelope = make_envelope(
        CounterIncremented(name="a", by=1),
        stream_id="counter-a",
        stream_version=1,
        account_id="acme",
        producer="toy",
        clock=clock,
    )

    assert envelope.occurred_at == datetime(2025, 2, 28, 23, 30, tzinfo=UTC)
    assert envelope.occurred_at.utcoffset() == timedelta(0)
    assert envelope.correlation_id == envelope.event_id
    assert envelope.causation_id is None
    assert (envelope.type, envelope.schema_version) == ("CounterIncremented", 2)


def test_every_envelope_gets_its_own_event_id() -> None:
    ids = {increment("a", 1, version=1).event_id for _ in range(100)}
    assert len(ids) == 100


@pytest.mark.parametrize(
    "raw",
    [
        b"not json at all",
        b"{}",
        b'{"event_id": "x"}',
        b"[1, 2, 3]",
    ],
)
def test_malformed_wire_bytes_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        Envelope.from_bytes(raw)


def test_an_envelope_without_a_timezone_is_refused() -> None:
    wire = json.loads(increment("a", 1, version=1).to_bytes())
    wire["occurred_at"] = "2025-01-15T09:30:00"

    with pytest.raises(ValidationError, match="timezone"):
        Envelope.from_bytes(json.dumps(wire).encode())


def test_an_account_id_that_is_not_a_key_is_refused() -> None:
    wire = json.loads(increment("a", 1, version=1).to_bytes())
    wire["account_id"] = "acme corp/../x"

    with pytest.raises(ValidationError, match="account_id"):
        Envelope.from_bytes(json.dumps(wire).encode())


def test_canonical_json_is_equal_for_equal_data() -> None:
    first = {"b": [1, {"y": 2, "x": 1}], "a": date(2025, 1, 1)}
    second = {"a": date(2025, 1, 1), "b": [1, {"x": 1, "y": 2}]}

    assert canonical_json(first) == canonical_json(second)
    assert canonical_json(first) == '{"a":"2025-01-01","b":[1,{"x":1,"y":2}]}'


def test_catalogue_parses_a_payload_into_its_typed_model() -> None:
    event = TOY_CATALOGUE.parse(increment("a", 4, version=1))

    assert event == CounterIncremented(name="a", by=4)


def test_an_old_version_is_upcast_to_the_newest_on_parse() -> None:
    event = TOY_CATALOGUE.parse(envelope_of("CounterIncremented", 1, {"name": "a"}))

    assert event == CounterIncremented(name="a", by=1)


def test_upcasters_chain_through_every_version_in_order() -> None:
    catalogue = Catalogue()

    @catalogue.register("PlanPriced", 1)
    class PlanPricedV1(EventPayload):
        price: str  # major units as text, "12.50"

    @catalogue.register("PlanPriced", 2)
    class PlanPricedV2(EventPayload):
        price: int  # minor units

    @catalogue.register("PlanPriced", 3)
    class PlanPriced(EventPayload):
        price: int
        currency: str

    steps: list[str] = []

    @catalogue.upcaster("PlanPriced", 1)
    def _to_minor_units(data: dict[str, Any]) -> dict[str, Any]:
        steps.append("1->2")
        major, _, cents = data["price"].partition(".")
        return {"price": int(major) * 100 + int(cents or 0)}

    @catalogue.upcaster("PlanPriced", 2)
    def _add_currency(data: dict[str, Any]) -> dict[str, Any]:
        steps.append("2->3")
        return {**data, "currency": "USD"}

    from_v1 = catalogue.parse(envelope_of("PlanPriced", 1, {"price": "12.50"}))
    from_v2 = catalogue.parse(envelope_of("PlanPriced", 2, {"price": 990}))
    from_v3 = catalogue.parse(envelope_of("PlanPriced", 3, {"price": 5, "currency": "JPY"}))

    assert from_v1 == PlanPriced(price=1250, currency="USD")
    assert from_v2 == PlanPriced(price=990, currency="USD")
    assert from_v3 == PlanPriced(price=5, currency="JPY")
    assert steps == ["1->2", "2->3", "2->3"]
    assert catalogue.latest_version("PlanPriced") == 3


def test_a_missing_upcaster_is_reported_as_the_version_that_cannot_be_reached() -> None:
    catalogue = Catalogue()

    @catalogue.register("Gap", 1)
    class GapV1(EventPayload):
        value: int

    @catalogue.register("Gap", 2)
    class GapV2(EventPayload):
        value: int

    with pytest.raises(UnknownEventType) as caught:
        catalogue.parse(envelope_of("Gap", 1, {"value": 1}))
    assert (caught.value.event_type, caught.value.version) == ("Gap", 2)


def test_a_newer_minor_version_with_an_extra_field_is_accepted() -> None:
    envelope = envelope_of("CounterIncremented", 2, {"name": "a", "by": 2, "note": "added later"})

    event = TOY_CATALOGUE.parse(envelope)

    assert event == CounterIncremented(name="a", by=2)


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(UnknownEventType, match="'CounterDeleted' version 1"):
        TOY_CATALOGUE.parse(envelope_of("CounterDeleted", 1, {"name": "a"}))
    assert not TOY_CATALOGUE.knows("CounterDeleted")


def test_an_unknown_version_of_a_known_type_is_refused() -> None:
    with pytest.raises(UnknownEventType, match="'CounterIncremented' version 3"):
        TOY_CATALOGUE.parse(envelope_of("CounterIncremented", 3, {"name": "a", "by": 1}))


@pytest.mark.parametrize(
    "payload",
    [{"name": "a"}, {"name": "a", "by": "lots"}, {"by": 1}, {}],
    ids=["missing-field", "wrong-type", "no-name", "empty"],
)
def test_a_payload_that_fails_validation_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidPayload, match="CounterIncremented v2") as caught:
        TOY_CATALOGUE.parse(envelope_of("CounterIncremented", 2, payload))
    assert (caught.value.event_type, caught.value.version) == ("CounterIncremented", 2)


def test_registering_the_same_type_and_version_twice_fails() -> None:
    catalogue = Catalogue()

    @catalogue.register("Twice", 1)
    class First(EventPayload):
        value: int

    with pytest.raises(ValueError, match="Twice v1 is registered twice"):

        @catalogue.register("Twice", 1)
        class Second(EventPayload):
            value: str

    assert catalogue.models() == {("Twice", 1): First}


def test_toy_events_stay_out_of_the_shared_catalogue() -> None:
    assert TOY_CATALOGUE.knows("ClickRecorded")
    assert not CATALOGUE.knows("ClickRecorded")
