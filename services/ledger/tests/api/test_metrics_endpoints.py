"""The /v1/metrics endpoints over HTTP (SQLite and PostgreSQL): METRICS.md's M1 fed as real
quote.events and contract.events into a running ledger, then every endpoint answers M1's
figures (the domain's figures on tests/metrics' M1 History, laid out the same way, and
M1's own numbers), as known at a time, as CSV, with the accounts behind them; bad
parameters are 422 problems naming the field; a rebuild from the log answers the same."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from ledger.api.metrics_schemas import (
    churn_out,
    ltv_out,
    movements_out,
    mrr_out,
    renewals_out,
    retention_out,
    sales_out,
)
from ledger.metrics.calendar import Month, Period
from ledger.metrics.churn import churn
from ledger.metrics.history import History
from ledger.metrics.ltv import ltv
from ledger.metrics.movements import movements
from ledger.metrics.mrr import mrr
from ledger.metrics.renewals import renewals
from ledger.metrics.retention import retention
from ledger.metrics.sales import sales
from ledger_feed import FINANCE, BillingFeed
from metrics_examples import LATER, D
from metrics_feed import M1Feed, m1_expected, metrics_currency, publish
from revline_events.replay import rebuild_projections
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import caught_up, unique

JAN, APR = Month(2025, 1), Month(2025, 4)
MONTH_ENDS = ("2024-12-31", "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30")


@dataclass(frozen=True)
class M1Served:
    """M1 fed to the module's ledger: its ids and currency, and the History it must hold."""

    service: LiveService
    feed: M1Feed
    history: History

    @property
    def currency(self) -> str:
        return self.feed.currency

    async def get(self, path: str, headers: dict[str, str] = FINANCE, **params: Any) -> Any:
        """GET /v1/metrics/<path> in M1's currency; the JSON of its 200."""
        response = await self.service.client.get(
            f"/v1/metrics/{path}", params={"currency": self.currency, **params}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
async def m1(ledger_service: LiveService, feed: BillingFeed) -> AsyncIterator[M1Served]:
    """M1's events published once per module's ledger, and the ledger caught up."""
    m1_feed = M1Feed(unique("m1http"), metrics_currency())
    await publish(feed.producer, m1_feed.events())
    await caught_up(ledger_service)
    yield M1Served(ledger_service, m1_feed, m1_expected(m1_feed))


def dumped(model: Any) -> Any:
    """A response model as its JSON reads back."""
    return model.model_dump(mode="json")


async def test_mrr_over_http_is_m1s_at_every_month_end_and_day(m1: M1Served) -> None:
    for day in MONTH_ENDS:
        body = await m1.get("mrr", as_of=day, detail="accounts")
        expected = mrr_out(mrr(m1.history, m1.currency, D(day), LATER), detail=True)
        assert body["currencies"] == [dumped(expected)], day
    april = (await m1.get("mrr", as_of="2025-04-30"))["currencies"][0]
    assert april == {
        "currency": m1.currency,
        "mrr": 172000,
        "arr": 2064000,
        "customers": 3,
        "arpa": 57333,
        "accounts": None,
    }
    days = {
        d: (await m1.get("mrr", as_of=d))["currencies"][0]["mrr"]
        for d in ("2025-01-09", "2025-01-10", "2025-03-19", "2025-03-20")
    }
    assert days == {
        "2025-01-09": 123333,
        "2025-01-10": 173333,
        "2025-03-19": 178333,
        "2025-03-20": 170000,
    }


async def test_mrr_movements_over_http_are_m1s(m1: M1Served) -> None:
    body = await m1.get(
        "mrr-movements", detail="accounts", **{"from": "2025-01-01", "to": "2025-04-30"}
    )
    months = movements(m1.history, m1.currency, JAN, APR, LATER)
    assert body["currencies"] == [
        {"currency": m1.currency, "months": [dumped(m) for m in movements_out(months, True)]}
    ]
    got = [
        (
            m["month"],
            m["new"],
            m["expansion"],
            m["reactivation"],
            m["contraction"],
            m["churn"],
            m["net_change"],
        )
        for m in body["currencies"][0]["months"]
    ]
    assert got == [
        ("2025-01", 50000, 0, 0, 0, 0, 50000),
        ("2025-02", 0, 20000, 0, 0, 15000, 5000),
        ("2025-03", 0, 0, 0, 8333, 0, -8333),
        ("2025-04", 0, 0, 12000, 10000, 0, 2000),
    ]


async def test_churn_over_http_is_m1s_and_names_who_churned(m1: M1Served) -> None:
    body = await m1.get("churn", detail="accounts", **{"from": "2025-02-01", "to": "2025-04-30"})
    months = churn(m1.history, m1.currency, Month(2025, 2), APR, LATER)
    assert body["currencies"][0]["months"] == [dumped(m) for m in churn_out(months, True)]
    feb, mar, apr = body["currencies"][0]["months"]
    assert feb["logo"] == {"numerator": 1, "denominator": 3, "percent": "33.33"}
    assert feb["gross_mrr"]["percent"] == "8.65"
    assert (mar["gross_mrr"]["percent"], apr["gross_mrr"]["percent"]) == ("4.67", "5.88")
    assert apr["net_mrr"] == {"numerator": -2000, "denominator": 170000, "percent": "-1.18"}
    # Why did churn jump in February: C, and its contract that ended.
    assert [
        (a["account_id"], a["movement"], [c["contract_id"] for c in a["contracts"]])
        for a in feb["accounts"]
    ] == [(m1.feed.id("C"), "churn", [m1.feed.id("c-C1")])]


async def test_retention_over_http_is_m1s_three_month_nrr_and_grr(m1: M1Served) -> None:
    body = await m1.get("retention", as_of="2025-04-30", months="3", detail="accounts")
    expected = retention(m1.history, m1.currency, APR, LATER, months=3)
    assert body["currencies"] == [dumped(retention_out(expected, True))]
    (figures,) = body["currencies"]
    assert (body["month"], body["months"]) == ("2025-04", 3)
    assert figures["nrr"] == {"numerator": 172000, "denominator": 173333, "percent": "99.23"}
    assert figures["grr"] == {"numerator": 162000, "denominator": 173333, "percent": "93.46"}
    assert len(figures["cohort"]) == 3


async def test_renewals_over_http_are_m1s_january(m1: M1Served) -> None:
    body = await m1.get("renewals", detail="accounts", **{"from": "2025-01-01", "to": "2025-01-31"})
    expected = renewals(m1.history, m1.currency, Period(D("2025-01-01"), D("2025-01-31")), LATER)
    assert body["currencies"] == [dumped(renewals_out(expected, True))]
    (january,) = body["currencies"]
    assert january["by_count"] == {"numerator": 0, "denominator": 1, "percent": "0.00"}
    assert january["by_value"] == {"numerator": 0, "denominator": 180000, "percent": "0.00"}
    assert january["contracts"] == [
        {
            "contract_id": m1.feed.id("c-C1"),
            "account_id": m1.feed.id("C"),
            "end_date": "2025-01-31",
            "arr": 180000,
            "renewed_by": None,
            "renewed_arr": 0,
        }
    ]


async def test_sales_over_http_are_m1s_booking(m1: M1Served) -> None:
    body = await m1.get("sales", detail="accounts", **{"from": "2025-01-01", "to": "2025-01-31"})
    expected = sales(m1.history, m1.currency, Period(D("2025-01-01"), D("2025-01-31")), LATER)
    assert body["currencies"] == [dumped(sales_out(expected, True))]
    (january,) = body["currencies"]
    assert (january["average_acv"], january["average_tcv"]) == (600000, 700000)
    assert (january["cycle_mean_days"], january["cycle_median_days"]) == ("17.00", "17")
    assert january["win_rates"]["new"] == {"numerator": 1, "denominator": 1, "percent": "100.00"}
    assert [(b["quote_id"], b["acv"], b["tcv"], b["cycle_days"]) for b in january["bookings"]] == [
        (m1.feed.id("q-A"), 600000, 700000, 17)
    ]


async def test_ltv_over_http_shows_its_margin_and_is_the_domains(m1: M1Served) -> None:
    body = await m1.get("ltv", as_of="2025-04-30", detail="accounts")
    expected = ltv(m1.history, m1.currency, D("2025-04-30"), LATER)
    assert body["gross_margin"] == "1"
    assert body["currencies"] == [dumped(ltv_out(expected, True))]
    halved = await m1.get("ltv", as_of="2025-04-30", gross_margin="0.5")
    assert halved["gross_margin"] == "0.5"
    assert halved["currencies"][0]["arpa"] == 57333


async def test_a_late_termination_changes_february_churn_as_corrected_not_as_known_then(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    """D, terminated effective 2025-02-10 but recorded on 2025-03-05 (METRICS.md's bitemporal
    case, tests/metrics/test_bitemporal.py): February's churn as known at its end has C only."""
    m1 = M1Feed(unique("late"), metrics_currency())
    plan = m1.subscription("DPLAN", "month", 30000, 1, "2024-11-01", "2025-10-31")
    events = [
        *m1.events(),
        m1.contract("D", "c-D", "2024-11-01", "2025-10-31", 12, "2024-11-01", plan),
        m1.terminated("D", "c-D", "2025-02-10", "2025-03-05"),
    ]
    await publish(feed.producer, events)
    await caught_up(ledger_service)

    async def february(**known: str) -> Any:
        response = await ledger_service.client.get(
            "/v1/metrics/churn",
            headers=FINANCE,
            params={
                "currency": m1.currency,
                "from": "2025-02-01",
                "to": "2025-02-28",
                "detail": "accounts",
                **known,
            },
        )
        assert response.status_code == 200, response.text
        return response.json()["currencies"][0]["months"][0]

    as_known = await february(known_at="2025-03-01T00:00:00Z")
    assert as_known["logo"] == {"numerator": 1, "denominator": 4, "percent": "25.00"}
    assert as_known["gross_mrr"] == {"numerator": 15000, "denominator": 203333, "percent": "7.38"}
    assert [a["account_id"] for a in as_known["accounts"]] == [m1.id("C")]
    corrected = await february()
    assert corrected["logo"] == {"numerator": 2, "denominator": 4, "percent": "50.00"}
    assert corrected["gross_mrr"]["percent"] == "22.13"
    assert [a["account_id"] for a in corrected["accounts"]] == [m1.id("C"), m1.id("D")]


async def test_every_metric_answers_csv_and_its_detail_rows(m1: M1Served) -> None:
    async def table(path: str, **params: str) -> list[list[str]]:
        response = await m1.service.client.get(
            f"/v1/metrics/{path}",
            params={"currency": m1.currency, **params},
            headers={**FINANCE, "Accept": "text/csv"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        return list(csv.reader(io.StringIO(response.text)))

    assert await table("mrr", as_of="2025-04-30") == [
        ["as_of", "currency", "mrr", "arr", "customers", "arpa"],
        ["2025-04-30", m1.currency, "172000", "2064000", "3", "57333"],
    ]
    detail = await table("mrr", as_of="2025-04-30", detail="accounts")
    assert detail[0] == ["as_of", "currency", "account_id", "contract_id", "mrr"]
    assert [(r[2], r[3], r[4]) for r in detail[1:]] == [
        (m1.feed.id("A"), m1.feed.id("c-A"), "60000"),
        (m1.feed.id("B"), m1.feed.id("c-B"), "100000"),
        (m1.feed.id("C"), m1.feed.id("c-C2"), "12000"),
    ]
    moves = await table("mrr-movements", **{"from": "2025-02-01", "to": "2025-02-28"})
    assert moves[1] == [
        "2025-02",
        m1.currency,
        "173333",
        "0",
        "20000",
        "0",
        "0",
        "15000",
        "5000",
        "178333",
    ]
    churned = await table("churn", detail="accounts", **{"from": "2025-02-01", "to": "2025-02-28"})
    assert [r[2:5] for r in churned[1:]] == [[m1.feed.id("C"), "churn", "15000"]]
    retained = await table("retention", as_of="2025-04-30", months="3")
    assert retained[1][3:] == ["172000", "173333", "99.23", "162000", "93.46"]
    renewed = await table("renewals", **{"from": "2025-01-01", "to": "2025-01-31"})
    assert renewed[1][3:] == ["0", "1", "0.00", "0", "180000", "0.00"]
    booked = await table("sales", detail="accounts", **{"from": "2025-01-01", "to": "2025-01-31"})
    assert booked[1] == [
        m1.currency,
        m1.feed.id("q-A"),
        m1.feed.id("A"),
        "new",
        "2025-01-06",
        "600000",
        "700000",
        "17",
    ]
    valued = await table("ltv", as_of="2025-04-30")
    assert valued[0] == [
        "as_of",
        "currency",
        "arpa",
        "gross_margin",
        "mean_logo_churn_percent",
        "ltv",
    ]
    assert valued[1][:4] == ["2025-04-30", m1.currency, "57333", "1"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("mrr-movements", {"from": "2025-04-01", "to": "2025-01-31"}, "to"),
        ("churn", {"from": "2025-04-01", "to": "2025-01-31"}, "to"),
        ("renewals", {"from": "2025-04-01", "to": "2025-01-31"}, "to"),
        ("sales", {"from": "2025-04-01", "to": "2025-01-31"}, "to"),
        ("mrr-movements", {"from": "2000-01-01", "to": "2025-01-31"}, "from"),
        ("retention", {"months": "0"}, "months"),
        ("retention", {"months": "121"}, "months"),
        ("mrr", {"as_of": "2025-02-30"}, "as_of"),
        ("mrr", {"as_of": "31/01/2025"}, "as_of"),
        ("mrr", {"currency": "eur"}, "currency"),
        ("mrr", {"known_at": "yesterday"}, "known_at"),
        ("mrr", {"known_at": "0.5"}, "known_at"),
        ("ltv", {"gross_margin": "1.5"}, "gross_margin"),
        ("ltv", {"gross_margin": "0"}, "gross_margin"),
        ("mrr", {"detail": "everything"}, "detail"),
    ],
)
async def test_bad_parameters_are_422_problems_naming_the_field(
    ledger_service: LiveService, path: str, params: dict[str, str], field: str
) -> None:
    response = await ledger_service.client.get(
        f"/v1/metrics/{path}", params=params, headers=FINANCE
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]], response.text


async def test_sales_may_read_the_sales_figures_only(m1: M1Served) -> None:
    sales_key = auth("sales")
    body = await m1.get("sales", headers=sales_key, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert body["currencies"][0]["average_acv"] == 600000
    refused = await m1.service.client.get("/v1/metrics/mrr", headers=sales_key)
    assert refused.status_code == 403


async def test_the_read_model_rebuilt_from_the_log_gives_the_same_figures(m1: M1Served) -> None:
    asked = {
        "mrr": {"as_of": "2025-04-30", "detail": "accounts"},
        "mrr-movements": {"from": "2025-01-01", "to": "2025-04-30", "detail": "accounts"},
        "churn": {"from": "2025-01-01", "to": "2025-04-30"},
        "retention": {"as_of": "2025-04-30", "months": "3", "detail": "accounts"},
        "renewals": {"from": "2025-01-01", "to": "2025-12-31", "detail": "accounts"},
        "sales": {"from": "2024-12-01", "to": "2025-01-31", "detail": "accounts"},
        "ltv": {"as_of": "2025-04-30"},
    }
    before = {path: await m1.get(path, **params) for path, params in asked.items()}
    runtime = m1.service.runtime
    await rebuild_projections(
        runtime.db, runtime.store, runtime.spec.projector, runtime.spec.projections
    )
    assert {path: await m1.get(path, **params) for path, params in asked.items()} == before


async def test_a_renewal_in_place_is_renewed_not_churned_and_later_amendments_change_its_term(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    """R renews its 12 months in place (ContractRenewed keeps the subscription's id); an
    amendment of the new term changes the new term's line, not the old one's."""
    r = M1Feed(unique("renew"), metrics_currency())
    first = r.subscription("SEAT", "month", 10000, 1, "2024-02-01", "2025-01-31")
    second = r.subscription("SEAT", "month", 10000, 2, "2025-02-01", "2026-01-31")
    await publish(
        feed.producer,
        [
            r.contract("R", "c-R", "2024-02-01", "2025-01-31", 12, "2024-02-01", first),
            r.amended("R", "c-R", "2024-06-01", first, 1, 2),
            r.renewed("R", "c-R", "2025-02-01", "2026-01-31", 12, second),
            r.amended("R", "c-R", "2025-03-01", second, 2, 3),
        ],
    )
    await caught_up(ledger_service)

    async def get(path: str, **params: str) -> Any:
        response = await ledger_service.client.get(
            f"/v1/metrics/{path}", params={"currency": r.currency, **params}, headers=FINANCE
        )
        assert response.status_code == 200, response.text
        return response.json()["currencies"][0]

    january = await get("renewals", detail="accounts", **{"from": "2025-01-01", "to": "2025-01-31"})
    assert january["by_count"]["numerator"] == january["by_count"]["denominator"] == 1
    assert january["by_value"] == {"numerator": 240000, "denominator": 240000, "percent": "100.00"}
    assert january["contracts"][0]["renewed_by"] == r.id("c-R")
    months = (await get("mrr-movements", **{"from": "2025-01-01", "to": "2025-03-31"}))["months"]
    assert [(m["month"], m["mrr_after"], m["churn"], m["new"], m["expansion"]) for m in months] == [
        ("2025-01", 20000, 0, 0, 0),
        ("2025-02", 20000, 0, 0, 0),
        ("2025-03", 30000, 0, 0, 10000),
    ]
    old_term = await get("mrr", as_of="2024-12-31")
    assert old_term["mrr"] == 20000


async def test_an_answer_after_new_events_counts_them_and_an_earlier_known_at_does_not(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    """The History kept between requests (KeptHistories) is reloaded once the read model
    holds more rows, and folded again for a known_at before its last fact."""
    m1 = M1Feed(unique("kept"), metrics_currency())
    events = m1.events()
    await publish(feed.producer, events[:-1])  # all but C's return on 2025-04-05
    await caught_up(ledger_service)

    async def april(**known: str) -> int:
        response = await ledger_service.client.get(
            "/v1/metrics/mrr",
            params={"currency": m1.currency, "as_of": "2025-04-30", **known},
            headers=FINANCE,
        )
        assert response.status_code == 200, response.text
        value: int = response.json()["currencies"][0]["mrr"]
        return value

    assert await april() == 160000
    await publish(feed.producer, events[-1:])
    await caught_up(ledger_service)
    assert await april() == 172000
    assert await april(known_at="2025-04-04T23:59:59Z") == 160000
    assert await april() == 172000
