"""METRICS.md's worked example M1 as the quote and contract services publish it.

`m1_events` builds M1's quote.events and contract.events (A's quote, A's, B's and
C's contracts, A's two amendments) with ids of one test (`prefix`) in a currency
of its own, each stamped at noon UTC of the day it became known, as
tests/metrics/metrics_examples.py records M1's facts. `m1_expected` is that
module's M1 History under the same ids and currency: what the read model fed by
these events must load, so every figure over HTTP can be checked against the
domain's figures on it (and M1's own numbers, which tests/metrics pins).
"""

from __future__ import annotations

import dataclasses
import random
import string
import uuid
from datetime import UTC, date, datetime, time

from aiokafka import AIOKafkaProducer
from ledger.metrics.history import History, LineStarted, QuantityChanged, TermStarted
from metrics_examples import m1_history
from revline_events.catalogue import EventPayload, make_envelope
from revline_events.clock import FixedClock
from revline_events.envelope import Envelope
from revline_events.payloads.contract import (
    ContractAmended,
    ContractCreated,
    ContractRenewed,
    ContractTerminated,
    SubscriptionChange,
    SubscriptionData,
)
from revline_events.payloads.quote import (
    QuoteAccepted,
    QuoteCreated,
    QuoteLineData,
    QuotePresented,
    QuoteTotalsData,
)

QUOTE_EVENTS = "quote.events"
CONTRACT_EVENTS = "contract.events"
D = date.fromisoformat


def noon(day: str) -> FixedClock:
    """A clock at noon UTC of an ISO day (when M1's facts of that day were recorded)."""
    return FixedClock(datetime.combine(D(day), time(12), tzinfo=UTC))


@dataclasses.dataclass(frozen=True)
class Published:
    """An envelope and the topic it goes to."""

    topic: str
    envelope: Envelope


class M1Feed:
    """M1's upstream events under one test's ids (`<prefix>-A`, `<prefix>-c-A`, ...)."""

    def __init__(self, prefix: str, currency: str) -> None:
        self.prefix = prefix
        self.currency = currency
        self._versions: dict[str, int] = {}

    def id(self, name: str) -> str:
        """`name` of M1 (A, c-A, q-A, ...) under this feed's prefix."""
        return f"{self.prefix}-{name}"

    def _event(self, topic: str, payload: EventPayload, stream: str, account: str,
               day: str) -> Published:  # fmt: skip
        version = self._versions.get(stream, 0) + 1
        self._versions[stream] = version
        envelope = make_envelope(
            payload, stream_id=stream, stream_version=version, account_id=account,
            producer=topic.split(".")[0], clock=noon(day), correlation_id=str(uuid.uuid4()),
        )  # fmt: skip
        return Published(topic, envelope)

    def subscription(self, name: str, period: str | None, price: int, quantity: int,
                     start: str, end: str) -> SubscriptionData:  # fmt: skip
        """A subscription of M1 (`period` None: one-time)."""
        return SubscriptionData.model_validate(
            {"subscription_id": self.id(f"sub-{name}"), "sku": name, "name": name,
             "charge_type": "recurring" if period else "one_time", "billing_period": period,
             "quantity": quantity, "unit_price": price, "start_date": start, "end_date": end}
        )  # fmt: skip

    def contract(self, account: str, contract: str, start: str, end: str, months: int,
                 day: str, *subscriptions: SubscriptionData) -> Published:  # fmt: skip
        """ContractCreated of `contract` (M1 names), recorded on `day`."""
        payload = ContractCreated(
            contract_id=self.id(contract), account_id=self.id(account),
            quote_id=self.id(f"q-{account}"), currency=self.currency, start_date=D(start),
            end_date=D(end), term_months=months, bill_cycle_day=D(start).day,
            billing_timing="advance", auto_renew=False, subscriptions=list(subscriptions),
        )  # fmt: skip
        return self._event(CONTRACT_EVENTS, payload, self.id(contract), self.id(account), day)

    def amended(self, account: str, contract: str, on: str, sub: SubscriptionData,
                before: int, after: int) -> Published:  # fmt: skip
        """ContractAmended setting `sub` from `before` to `after` units from `on`."""
        change = SubscriptionChange(
            subscription=sub.model_copy(update={"quantity": after}),
            quantity_before=before, quantity_after=after,
        )  # fmt: skip
        payload = ContractAmended(
            contract_id=self.id(contract), account_id=self.id(account),
            quote_id=self.id(f"q-{contract}-{on}"), effective_date=D(on), changes=[change],
        )  # fmt: skip
        return self._event(CONTRACT_EVENTS, payload, self.id(contract), self.id(account), on)

    def renewed(self, account: str, contract: str, start: str, end: str, months: int,
                *subscriptions: SubscriptionData) -> Published:  # fmt: skip
        """ContractRenewed in place: the term `start`..`end`, recorded on `start`."""
        payload = ContractRenewed(
            contract_id=self.id(contract), account_id=self.id(account), quote_id=None,
            term_start=D(start), term_end=D(end), term_months=months,
            previous_end_date=date.fromordinal(D(start).toordinal() - 1),
            subscriptions=list(subscriptions),
        )  # fmt: skip
        return self._event(CONTRACT_EVENTS, payload, self.id(contract), self.id(account), start)

    def terminated(self, account: str, contract: str, effective: str, day: str) -> Published:
        """ContractTerminated effective `effective` (last day the day before), recorded `day`."""
        first_off = D(effective)
        payload = ContractTerminated(
            contract_id=self.id(contract), account_id=self.id(account), effective_date=first_off,
            end_date=date.fromordinal(first_off.toordinal() - 1), credit_unused=False,
        )  # fmt: skip
        return self._event(CONTRACT_EVENTS, payload, self.id(contract), self.id(account), day)

    def quote_of_a(self) -> list[Published]:
        """A's new quote: created 2024-12-20, presented 12-23, accepted 2025-01-06."""
        seat = QuoteLineData(
            line_no=1, sku="SEAT", name="SEAT", charge_type="recurring", billing_period="month",
            quantity=10, list_price=5000, discount_percent="0", net_unit_price=5000,
            amount_per_period=50000,
        )  # fmt: skip
        setup = QuoteLineData(
            line_no=2, sku="SETUP", name="SETUP", charge_type="one_time", billing_period=None,
            quantity=1, list_price=100000, discount_percent="0", net_unit_price=100000,
            amount_per_period=100000,
        )  # fmt: skip
        snapshot = {
            "quote_id": self.id("q-A"), "account_id": self.id("A"), "currency": self.currency,
            "kind": "new", "contract_id": None, "version": 1, "start_date": D("2025-01-10"),
            "term_months": 12, "end_date": D("2026-01-09"), "bill_cycle_day": 10,
            "billing_timing": "advance", "auto_renew": False, "lines": [seat, setup],
            "totals": QuoteTotalsData(recurring_per_period=50000, one_time=100000,
                                      total_contract_value=700000),
        }  # fmt: skip
        stream, account = self.id("q-A"), self.id("A")
        presented = QuotePresented(quote_id=stream, account_id=account, version=1)
        accepted = QuoteAccepted(**snapshot, accepted_on=D("2025-01-06"))
        return [
            self._event(QUOTE_EVENTS, QuoteCreated(**snapshot), stream, account, "2024-12-20"),
            self._event(QUOTE_EVENTS, presented, stream, account, "2024-12-23"),
            self._event(QUOTE_EVENTS, accepted, stream, account, "2025-01-06"),
        ]

    def events(self) -> list[Published]:
        """Every event of M1, in the order the upstream services would publish them."""
        seat = self.subscription("SEAT", "month", 5000, 10, "2025-01-10", "2026-01-09")
        setup = self.subscription("SETUP", None, 100000, 1, "2025-01-10", "2025-01-10")
        plan = self.subscription("PLAN", "year", 1200000, 1, "2024-06-01", "2025-05-31")
        addon = self.subscription("ADDON", "quarter", 25000, 1, "2024-06-01", "2025-05-31")
        half = self.subscription("HALF", "half_year", 90000, 1, "2024-08-01", "2025-01-31")
        month = self.subscription("MONTH", "month", 12000, 1, "2025-04-05", "2026-04-04")
        return [
            self.contract("B", "c-B", "2024-06-01", "2025-05-31", 12, "2024-06-01", plan, addon),
            self.contract("C", "c-C1", "2024-08-01", "2025-01-31", 6, "2024-08-01", half),
            *self.quote_of_a(),
            self.contract("A", "c-A", "2025-01-10", "2026-01-09", 12, "2025-01-06", seat, setup),
            self.amended("A", "c-A", "2025-02-15", seat, 10, 14),
            self.amended("B", "c-B", "2025-03-20", addon, 1, 0),
            self.amended("A", "c-A", "2025-04-01", seat, 14, 12),
            self.contract("C", "c-C2", "2025-04-05", "2026-04-04", 12, "2025-04-05", month),
        ]


# Two letters each, in a random order, each handed out once a process: random picks out
# of 676 met again within a module's tests often enough to mix two tests' books.
_METRICS_CURRENCY_SUFFIXES = iter(
    random.sample([a + b for a in string.ascii_uppercase for b in string.ascii_uppercase], k=676)
)


def metrics_currency() -> str:
    """A currency code of one test ("X" and two letters: no other test's quotes use it)."""
    return "X" + next(_METRICS_CURRENCY_SUFFIXES)


async def publish(producer: AIOKafkaProducer, events: list[Published]) -> None:
    """Publish each event keyed by its account, as the upstream relays do."""
    for event in events:
        await producer.send_and_wait(
            event.topic, value=event.envelope.to_bytes(), key=event.envelope.account_id.encode()
        )


def m1_expected(feed: M1Feed) -> History:
    """tests/metrics' M1 History under the feed's ids and currency: accounts, contracts and
    quotes renamed, lines named as the read model names them (`<subscription>@<start>`)."""
    lines = {"A-SEAT": "SEAT", "B-PLAN": "PLAN", "B-ADDON": "ADDON", "C-HALF": "HALF",
             "C-MONTH": "MONTH"}  # fmt: skip
    starts = {f.line_id: f.start_date for f in m1_history().facts if isinstance(f, LineStarted)}

    def line_id(name: str) -> str:
        return f"{feed.id('sub-' + lines[name])}@{starts[name].isoformat()}"

    renamed = []
    for fact in m1_history().facts:
        changes: dict[str, object] = {}
        for field in ("account_id", "contract_id", "quote_id"):
            value = getattr(fact, field, None)
            if isinstance(value, str):
                changes[field] = feed.id(value)
        if hasattr(fact, "currency"):
            changes["currency"] = feed.currency
        if isinstance(fact, LineStarted | QuantityChanged):
            changes["line_id"] = line_id(fact.line_id)
        if isinstance(fact, TermStarted) and fact.quote_id is None:
            changes["quote_id"] = feed.id(f"q-{fact.account_id}")
        renamed.append(dataclasses.replace(fact, **changes))  # type: ignore[arg-type]  # Fact union
    return History(tuple(renamed))
