"""`make demo`: the README walkthrough, run by itself against the running dev stack.

Usage: ``python -m revline_testkit.demo [--var-dir DIR] [--within S]``.

It follows BILLING_RULES.md's worked example F1 (the first two invoices) through
all five services, for a customer account of its own each run, and prints what
it did and where to look:

1. quote: two products (a recurring seat, a one-time setup fee; created once,
   kept across runs), then a quote for 10 seats at 10 % off from 2026-01-15 for
   12 months, accepted.
2. contract, order, billing: the contract, its order and the billing schedules,
   each made by its service from the one before it's events.
3. billing: bill runs as of 2026-01-15 and 2026-02-01 (F1: 496.77 and 450.00).
4. ledger: the invoices booked; a payment of the first invoice, applied to it;
   billing shows it paid.
5. ledger: the account's receivable, the trial balance and the AR aging.

The services are found as `make run` starts them (each service's settings:
``<NAME>_PORT``, ``<NAME>_HOST``), the keys in ``<var>/dev-keys.json``, or the
admin key of ``REVLINE_API_KEYS``. Exit code 0 once every step held; 1 with the
step and the answer that broke it otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from revline_testkit.devstack import admin_key, discover_services, plan_service

PRODUCTS = [
    {
        "sku": "DEMO-SEAT",
        "name": "Seat (demo)",
        "currency": "USD",
        "unit_price": 5000,
        "charge_type": "recurring",
        "billing_period": "month",
    },
    {
        "sku": "DEMO-SETUP",
        "name": "Setup (demo)",
        "currency": "USD",
        "unit_price": 25000,
        "charge_type": "one_time",
    },
]
START = "2026-01-15"
BILL_RUNS = ("2026-01-15", "2026-02-01")
F1_TOTALS = [49677, 45000]  # BILLING_RULES.md F1, the first two invoices
PAID_ON = "2026-01-20"
AGING_AS_OF = "2026-03-15"


class DemoError(Exception):
    """A step did not hold: what was expected, and the answer."""


def money(minor: int, currency: str = "USD") -> str:
    """12345 -> 'USD 123.45' (minor units, two decimals: the demo's currency)."""
    sign = "-" if minor < 0 else ""
    return f"{currency} {sign}{abs(minor) // 100:,}.{abs(minor) % 100:02d}"


class Demo:
    """The walkthrough against the services at `urls`, with `key` (admin) on every call."""

    def __init__(
        self, urls: Mapping[str, str], key: str, within: float, out: Callable[[str], None]
    ) -> None:
        self.urls = dict(urls)
        self.headers = {"Authorization": f"Bearer {key}"}
        self.within = within
        self.say = out
        self.account = f"demo-{uuid.uuid4().hex[:8]}"
        self.client = httpx.Client(timeout=30.0)
        self.step = 0

    def close(self) -> None:
        self.client.close()

    # -- HTTP --------------------------------------------------------------------------------

    def call(
        self, method: str, service: str, path: str, *, status: int = 200, **kwargs: Any
    ) -> Any:
        """One request; the JSON answer, which must have `status`."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        answer = self.client.request(method, self.urls[service] + path, headers=headers, **kwargs)
        if answer.status_code != status:
            raise DemoError(
                f"{method} {self.urls[service]}{path} answered {answer.status_code}, "
                f"not {status}: {answer.text[:500]}"
            )
        return answer.json()

    def post(
        self, service: str, path: str, body: Any = None, *, key: str, status: int = 201
    ) -> Any:
        """A POST with an Idempotency-Key, so a retried demo step has no second effect."""
        extra = {"json": body} if body is not None else {}
        return self.call(
            "POST", service, path, status=status, headers={"Idempotency-Key": key}, **extra
        )

    def until(self, what: str, probe: Callable[[], Any]) -> Any:
        """Ask `probe` until it returns something truthy (events take a moment per hop)."""
        deadline = time.monotonic() + self.within
        while True:
            found = probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise DemoError(f"{what}: not there after {self.within:.0f}s")
            time.sleep(0.1)

    def listing(self, service: str, path: str, **params: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.call("GET", service, path, params=params)["data"]
        return data

    def done(self, what: str, *where: str) -> None:
        self.step += 1
        self.say(f"{self.step:>2}. {what}")
        for place in where:
            self.say(f"      {place}")

    # -- the walkthrough ---------------------------------------------------------------------

    def run(self) -> None:
        quote_url, billing_url, ledger_url = (self.urls[s] for s in ("quote", "billing", "ledger"))
        self.say(f"Revline demo: BILLING_RULES.md F1 for customer account {self.account}")
        for product in PRODUCTS:
            self.post("quote", "/v1/products", product, key=f"demo-product-{product['sku']}")
        self.done(
            "products DEMO-SEAT (USD 50.00 a seat a month) and DEMO-SETUP (USD 250.00 once)",
            f"GET {quote_url}/v1/products/DEMO-SEAT",
        )

        draft = self.post(
            "quote",
            "/v1/quotes",
            {
                "account_id": self.account,
                "currency": "USD",
                "start_date": START,
                "term_months": 12,
                "bill_cycle_day": 1,
                "billing_timing": "advance",
                "lines": [
                    {"sku": "DEMO-SEAT", "quantity": 10, "discount_percent": "10"},
                    {"sku": "DEMO-SETUP", "quantity": 1},
                ],
            },
            key=f"{self.account}-quote",
        )
        quote = self.post(
            "quote", f"/v1/quotes/{draft['id']}/accept", key=f"{self.account}-accept", status=200
        )
        totals = quote["totals"]
        self.done(
            f"quote {quote['id']} accepted: {money(totals['recurring_per_period'])} a month, "
            f"{money(totals['one_time'])} once, {money(totals['total_contract_value'])} in all",
            f"GET {quote_url}/v1/quotes/{quote['id']}",
        )

        contract = self.until(
            "the contract",
            lambda: next(
                iter(self.listing("contract", "/v1/contracts", quote_id=quote["id"])), None
            ),
        )
        self.done(
            f"contract {contract['id']}: {contract['start_date']} to {contract['end_date']}, "
            f"{len(contract['subscriptions'])} subscriptions (made by the contract service "
            "from QuoteAccepted)",
            f"GET {self.urls['contract']}/v1/contracts/{contract['id']}",
        )
        order = self.until(
            "the order",
            lambda: next(
                iter(self.listing("order", "/v1/orders", contract_id=contract["id"])), None
            ),
        )
        self.done(
            f"order {order['id']} ({order['kind']}, {order['status']})",
            f"GET {self.urls['order']}/v1/orders/{order['id']}",
        )
        schedules = self.until(
            "the billing schedules",
            lambda: (
                found
                if len(
                    found := self.listing(
                        "billing", "/v1/billing-schedules", account_id=self.account
                    )
                )
                == 2
                else None
            ),
        )
        self.done(
            f"{len(schedules)} billing schedules",
            f"GET {billing_url}/v1/billing-schedules?account_id={self.account}",
        )

        invoices: list[dict[str, Any]] = []
        for as_of in BILL_RUNS:
            run = self.post(
                "billing",
                "/v1/bill-runs",
                {"as_of": as_of, "account_id": self.account},
                key=f"{self.account}-run-{as_of}",
            )
            for invoice_id in run["invoice_ids"]:
                invoices.append(self.call("GET", "billing", f"/v1/invoices/{invoice_id}"))
        if [i["total"] for i in invoices] != F1_TOTALS:
            raise DemoError(f"invoice totals {[i['total'] for i in invoices]}, F1 says {F1_TOTALS}")
        for invoice in invoices:
            self.done(
                f"invoice {invoice['number']} of {invoice['invoice_date']}: "
                f"{money(invoice['total'])}, due {invoice['due_date']}, "
                + ", ".join(f"{line['kind']} {money(line['amount'])}" for line in invoice["lines"]),
                f"GET {billing_url}/v1/invoices/{invoice['id']}",
            )

        self.until(
            "the invoices booked at the ledger",
            lambda: len(
                [
                    e
                    for e in self.listing("ledger", "/v1/journal-entries", account_id=self.account)
                    if e["kind"] == "invoice_posted"
                ]
            )
            == len(invoices),
        )
        self.done(
            "both invoices booked at the ledger (debit 1100 receivable, credit revenue "
            "and deferred revenue)",
            f"GET {ledger_url}/v1/journal-entries?account_id={self.account}",
        )

        first = invoices[0]
        payment = self.post(
            "ledger",
            "/v1/payments",
            {
                "account_id": self.account,
                "amount": first["total"],
                "currency": "USD",
                "received_on": PAID_ON,
                "reference": "demo wire",
            },
            key=f"{self.account}-payment",
        )
        applied = ", ".join(
            f"{money(a['amount'])} to {a['invoice_id']}" for a in payment["applications"]
        )
        self.done(
            f"payment {payment['id']} of {money(payment['amount'])} on {PAID_ON}: {applied}",
            f"GET {ledger_url}/v1/payments/{payment['id']}",
        )
        self.until(
            "billing to show the first invoice paid",
            lambda: self.call("GET", "billing", f"/v1/invoices/{first['id']}")["status"] == "paid",
        )
        self.done(
            f"billing shows invoice {first['number']} paid (from the ledger's event)",
            f"GET {billing_url}/v1/invoices/{first['id']}",
        )

        owed = self.call(
            "GET", "ledger", f"/v1/receivables/{self.account}", params={"as_of": BILL_RUNS[-1]}
        )
        self.done(
            f"receivable as of {BILL_RUNS[-1]}: {money(owed['balance'])} owed, "
            f"{len(owed['open_invoices'])} open invoice",
            f"GET {ledger_url}/v1/receivables/{self.account}?as_of={BILL_RUNS[-1]}",
            f"GET {ledger_url}/v1/accounts/{self.account}/statement?from={START}&to={AGING_AS_OF}",
        )
        trial = self.call(
            "GET", "ledger", "/v1/reports/trial-balance", params={"as_of": BILL_RUNS[-1]}
        )
        usd = next(c for c in trial["currencies"] if c["currency"] == "USD")
        if usd["total_debit"] != usd["total_credit"]:
            raise DemoError(f"the trial balance does not balance: {usd}")
        self.done(
            f"trial balance as of {BILL_RUNS[-1]} (every account on this ledger, USD): debits "
            f"{money(usd['total_debit'])} = credits {money(usd['total_credit'])}",
            f"GET {ledger_url}/v1/reports/trial-balance?as_of={BILL_RUNS[-1]}"
            "   (Accept: text/csv for CSV)",
        )
        aging = self.call("GET", "ledger", "/v1/reports/ar-aging", params={"as_of": AGING_AS_OF})
        mine = next((a for a in aging["accounts"] if a["account_id"] == self.account), None)
        if mine is None:
            raise DemoError(f"{self.account} is not in the AR aging as of {AGING_AS_OF}")
        buckets = ", ".join(
            f"{name} {money(mine[name])}"
            for name in ("current", "1_30", "31_60", "61_90", "over_90")
            if mine[name]
        )
        self.done(
            f"AR aging as of {AGING_AS_OF}: {buckets or 'nothing owed'}",
            f"GET {ledger_url}/v1/reports/ar-aging?as_of={AGING_AS_OF}",
        )
        self.say(
            "Done. Every service's API and its Swagger UI: "
            + ", ".join(f"{name} {url}/docs" for name, url in self.urls.items())
        )


def stack_admin_key(var_dir: Path, environ: Mapping[str, str]) -> str:
    """The admin key `make run` gives the services (devstack.admin_key), or DemoError."""
    keys_file = None
    if not environ.get("REVLINE_API_KEYS"):
        keys_file = Path(environ.get("REVLINE_DEV_KEYS_FILE") or var_dir / "dev-keys.json")
        if not keys_file.exists():
            raise DemoError(f"no {keys_file}: is the stack running (make run)?")
    key = admin_key(keys_file, environ)
    if key is None:
        raise DemoError("REVLINE_API_KEYS names no admin key")
    return key


def main(argv: Sequence[str] | None = None) -> int:
    """Run the walkthrough; 0 when every step held."""
    parser = argparse.ArgumentParser(
        prog="python -m revline_testkit.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--var-dir",
        type=Path,
        default=Path(os.environ.get("REVLINE_VAR_DIR", "var")),
        help="where make run keeps dev-keys.json (default: $REVLINE_VAR_DIR or ./var)",
    )
    parser.add_argument(
        "--within",
        type=float,
        default=30.0,
        help="seconds to wait for each event-driven step (default 30)",
    )
    args = parser.parse_args(argv)
    try:
        services = discover_services()
        missing = {"quote", "contract", "order", "billing", "ledger"} - set(services)
        if missing:
            raise DemoError(f"services missing: {', '.join(sorted(missing))}")
        urls = {name: plan_service(name, args.var_dir, os.environ).url for name in services}
        demo = Demo(urls, stack_admin_key(args.var_dir, os.environ), args.within, say)
        try:
            demo.run()
        finally:
            demo.close()
    except (DemoError, httpx.TransportError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        if isinstance(error, httpx.TransportError):
            print("is the stack running? start it with `make run`", file=sys.stderr)
        return 1
    return 0


def say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
