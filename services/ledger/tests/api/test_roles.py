"""Who may call what (API.md, Auth): every ledger route against every role class.

`finance` writes payments, refunds, reversals, write-offs and recognition runs,
and reads everything; `admin` may do all of it and the admin routes; `sales`
reads the sales metrics (`/v1/metrics/sales`) and gets a 403 everywhere else on
the ledger, `ops` everywhere; an unknown key or no key a 401.

The table below names every route the ledger serves. A route the app serves
that is missing from the table fails `test_every_route_has_its_roles_in_the_table`,
so a new endpoint cannot ship without its roles being decided and tested. Calls
that pass the key check are sent so that they write nothing: a write gets an
empty body (a 422 after the role check), a read an unknown id or a plain query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fresh_ledger import LEDGER
from ledger.main import app_factory
from ledger.settings import LedgerSettings
from revline_testkit.fixtures import live_service_fixture
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import unique

# The calls change nothing a role could see, so one ledger on SQLite serves them all.
ledger_roles = live_service_fixture(LEDGER, backends=("sqlite",))

# What a role may do on a route.
WRITE = "write"  # finance and admin
READ = "read"  # finance and admin (sales and ops read nothing else on the ledger)
SALES = "sales"  # finance, admin and sales: the sales metrics
ADMIN = "admin"  # admin only
OPEN = "open"  # no key needed


@dataclass(frozen=True)
class Call:
    """How the table calls a route, and who may."""

    access: str
    # The status an admitted caller gets for this call (no effect either way).
    admitted: int
    path: str | None = None  # the concrete path, when the route has parameters
    params: dict[str, str] = field(default_factory=dict)


ACCOUNT = unique("roles")
ROUTES: dict[tuple[str, str], Call] = {
    ("GET", "/healthz"): Call(OPEN, 200),
    ("GET", "/readyz"): Call(OPEN, 200),
    ("GET", "/metrics"): Call(OPEN, 200),
    ("GET", "/v1/admin/state-digest"): Call(ADMIN, 200),
    ("GET", "/v1/admin/consumer"): Call(ADMIN, 200),
    # Queues the event store for publishing again: harmless, consumers de-duplicate.
    ("POST", "/v1/admin/republish"): Call(ADMIN, 202),
    ("GET", "/v1/journal-entries"): Call(READ, 200, params={"account_id": ACCOUNT}),
    ("GET", "/v1/ledger-accounts"): Call(READ, 200),
    ("GET", "/v1/reports/trial-balance"): Call(READ, 200),
    ("GET", "/v1/reports/ar-aging"): Call(READ, 200),
    ("GET", "/v1/reports/revenue"): Call(
        READ, 200, params={"from": "2026-01-01", "to": "2026-01-31"}
    ),
    ("GET", "/v1/reports/tie-out"): Call(READ, 200),
    ("GET", "/v1/payments"): Call(READ, 200, params={"account_id": ACCOUNT}),
    ("GET", "/v1/payments/{payment_id}"): Call(READ, 404, path="/v1/payments/pay-unknown"),
    ("GET", "/v1/receivables/{account_id}"): Call(READ, 200, path=f"/v1/receivables/{ACCOUNT}"),
    ("GET", "/v1/accounts/{account_id}/statement"): Call(
        READ, 200, path=f"/v1/accounts/{ACCOUNT}/statement", params={"from": "2026-01-01"}
    ),
    # RevOps metrics (issue #12): finance's, and sales reads the sales figures.
    ("GET", "/v1/metrics/mrr"): Call(READ, 200),
    ("GET", "/v1/metrics/mrr-movements"): Call(READ, 200),
    ("GET", "/v1/metrics/churn"): Call(READ, 200),
    ("GET", "/v1/metrics/retention"): Call(READ, 200),
    ("GET", "/v1/metrics/renewals"): Call(READ, 200),
    ("GET", "/v1/metrics/ltv"): Call(READ, 200),
    ("GET", "/v1/metrics/sales"): Call(SALES, 200),
    ("POST", "/v1/payments"): Call(WRITE, 422),
    ("POST", "/v1/refunds"): Call(WRITE, 422),
    ("POST", "/v1/recognition-runs"): Call(WRITE, 422),
    # W21 and W23 (API.md): finance's, like payments.
    ("POST", "/v1/payments/{payment_id}/reverse"): Call(
        WRITE, 422, path="/v1/payments/pay-unknown/reverse"
    ),
    ("POST", "/v1/invoices/{invoice_id}/write-off"): Call(
        WRITE, 422, path="/v1/invoices/inv-unknown/write-off"
    ),
}

# Who is admitted to a route of each access; the others get a 401 (no or unknown key)
# or a 403 (a known key of another role).
ADMITTED = {
    OPEN: {"admin", "finance", "sales", "ops", "unknown key", "no key"},
    READ: {"admin", "finance"},
    SALES: {"admin", "finance", "sales"},
    WRITE: {"admin", "finance"},
    ADMIN: {"admin"},
}
CALLERS: dict[str, dict[str, str]] = {
    "admin": auth("admin"),
    "finance": auth("finance"),
    "sales": auth("sales"),
    "ops": auth("ops"),
    "unknown key": {"Authorization": "Bearer k-nobody"},
    "no key": {},
}


def _served_routes() -> list[tuple[str, str]]:
    """(method, path) of every route the ledger's app serves, docs aside."""
    app = app_factory(LedgerSettings(api_keys="k:admin"))
    served = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            served += [(method, route.path) for method in sorted(route.methods)]
    return served


SERVED = _served_routes()


def expected_status(access: str, caller: str, admitted: int) -> int:
    """The status `caller` gets on a route of `access`."""
    if caller in ADMITTED[access]:
        return admitted
    if caller in ("unknown key", "no key"):
        return 401
    return 403


def test_every_route_has_its_roles_in_the_table() -> None:
    assert [r for r in SERVED if r not in ROUTES] == []
    # The ledger's core routes of API.md are served (reversal and write-off come with W21/W23).
    later = {("POST", "/v1/payments/{payment_id}/reverse"),
             ("POST", "/v1/invoices/{invoice_id}/write-off")}  # fmt: skip
    assert set(ROUTES) - later <= set(SERVED)


@pytest.mark.parametrize("route", SERVED, ids=[f"{m} {p}" for m, p in SERVED])
async def test_each_role_class_gets_its_status_on_every_route(
    ledger_roles: LiveService, route: tuple[str, str]
) -> None:
    method, template = route
    call = ROUTES[route]
    got: dict[str, int] = {}
    for caller, headers in CALLERS.items():
        request: dict[str, Any] = {"params": call.params, "headers": headers}
        if method == "POST":
            request["json"] = {}
        response = await ledger_roles.client.request(method, call.path or template, **request)
        got[caller] = response.status_code
        if response.status_code in (401, 403):
            assert response.headers["content-type"].startswith("application/problem+json")
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == "Bearer"
    assert got == {c: expected_status(call.access, c, call.admitted) for c in CALLERS}


async def test_a_refused_write_writes_nothing(ledger_roles: LiveService) -> None:
    """A payment sent with a sales, ops or unknown key leaves no payment behind."""
    account = unique("refused")
    body = {"account_id": account, "amount": 1000, "currency": "USD",
            "received_on": "2026-01-10", "reference": "wire"}  # fmt: skip
    for caller in ("sales", "ops", "unknown key", "no key"):
        response = await ledger_roles.client.post(
            "/v1/payments", json=body, headers={**CALLERS[caller], "Idempotency-Key": caller}
        )
        assert response.status_code in (401, 403)
    listed = await ledger_roles.client.get(
        "/v1/payments", params={"account_id": account}, headers=auth("finance")
    )
    assert listed.json()["data"] == []
