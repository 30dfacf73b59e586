"""`/dashboard` on a live ledger (real broker, SQLite, HTTP): sign-in by cookie, the figures
of M1 and of booked invoices on the page, its CSV downloads.

The ledger is fed M1's quote and contract events (its metrics read model then holds
M1's History) and invoices of M1's accounts on billing.events (seeded_ledger.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape

import httpx
import pytest
from ledger.dashboard.routes import COOKIE
from revline_testkit.live import TEST_KEYS, LiveService, client_tls
from seeded_ledger import APRIL, A, B, C


@pytest.fixture
async def browser_client(seeded: LiveService) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar of its own, as one person's browser."""
    async with httpx.AsyncClient(
        verify=client_tls(), base_url=seeded.base_url, timeout=30.0
    ) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, role: str) -> httpx.Response:
    """POST the role's test key through the form, as the browser does."""
    return await client.post("/dashboard/login", data={"key": TEST_KEYS[role]})


def shown(html: str, element_id: str) -> str:
    """The text of the element with `element_id` (a KPI)."""
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, f"no #{element_id}"
    return unescape(found.group(1))


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The body rows of a table, as cell texts."""
    body = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, f"no table {table_id}"
    return [
        [unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1))
    ]


async def test_without_a_key_the_page_is_the_sign_in_form_and_a_csv_is_a_401(
    browser_client: httpx.AsyncClient,
) -> None:
    page = await browser_client.get("/dashboard", params=APRIL)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/dashboard/login" id="login">' in page.text
    assert 'type="password"' in page.text and "mrr-now" not in page.text
    download = await browser_client.get("/dashboard/csv/mrr", params=APRIL)
    assert download.status_code == 401
    assert download.headers["content-type"].startswith("application/problem+json")


async def test_a_bearer_header_does_not_open_the_page(browser_client: httpx.AsyncClient) -> None:
    page = await browser_client.get(
        "/dashboard", headers={"Authorization": f"Bearer {TEST_KEYS['finance']}"}
    )
    assert 'id="login"' in page.text and "mrr-now" not in page.text


async def test_an_unknown_key_is_refused_with_the_form_again_and_no_cookie(
    browser_client: httpx.AsyncClient,
) -> None:
    refused = await browser_client.post("/dashboard/login", data={"key": "k-nobody"})
    assert refused.status_code == 401
    assert 'id="login-error">Unknown key.<' in refused.text
    assert "set-cookie" not in refused.headers
    empty = await browser_client.post("/dashboard/login", data={"key": ""})
    assert empty.status_code == 422 and 'id="login"' in empty.text


async def test_a_sales_or_ops_key_gets_a_403_page_and_no_cookie(
    browser_client: httpx.AsyncClient, seeded: LiveService
) -> None:
    for role in ("sales", "ops"):
        refused = await sign_in(browser_client, role)
        assert refused.status_code == 403
        assert f"The role {role} may not read the finance dashboard" in refused.text
        assert "set-cookie" not in refused.headers
    # A cookie holding a sales key (set before its role changed, say): 403 too.
    async with httpx.AsyncClient(
        verify=client_tls(), base_url=seeded.base_url, cookies={COOKIE: TEST_KEYS["sales"]}
    ) as sales:
        page = await sales.get("/dashboard", params=APRIL)
        assert page.status_code == 403 and "mrr-now" not in page.text
        download = await sales.get("/dashboard/csv/trial-balance", params=APRIL)
        assert download.status_code == 403


async def test_a_finance_key_sets_an_http_only_same_site_strict_cookie_and_never_a_url(
    browser_client: httpx.AsyncClient,
) -> None:
    signed = await sign_in(browser_client, "finance")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/dashboard"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={TEST_KEYS['finance']};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/dashboard"} <= attributes
    assert "secure" not in attributes  # plain http on loopback; Secure when https
    page = await browser_client.get("/dashboard", params=APRIL)
    assert page.status_code == 200
    assert TEST_KEYS["finance"] not in page.text
    assert all(
        TEST_KEYS["finance"] not in link for link in re.findall(r'href="([^"]*)"', page.text)
    )
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_sign_out_clears_the_cookie_and_shows_the_form(
    browser_client: httpx.AsyncClient,
) -> None:
    await sign_in(browser_client, "admin")
    assert "mrr-now" in (await browser_client.get("/dashboard", params=APRIL)).text
    out = await browser_client.post("/dashboard/logout")
    assert out.status_code == 303 and out.headers["location"] == "/dashboard"
    assert out.headers["set-cookie"].startswith(f'{COOKIE}="";')
    after = await browser_client.get("/dashboard", params=APRIL)
    assert 'id="login"' in after.text and "mrr-now" not in after.text


async def test_m1_and_the_booked_invoices_as_of_the_end_of_april(
    browser_client: httpx.AsyncClient,
) -> None:
    await sign_in(browser_client, "finance")
    html = (await browser_client.get("/dashboard", params=APRIL)).text
    assert shown(html, "mrr-now") == "1,720.00"
    assert shown(html, "arr-now") == "20,640.00"
    assert shown(html, "customers-now") == "3"
    assert shown(html, "arpa-now") == "573.33"
    assert table_rows(html, "table-movements")[-3:] == [
        ["2025-02", "0.00", "200.00", "0.00", "0.00", "150.00", "50.00"],
        ["2025-03", "0.00", "0.00", "0.00", "83.33", "0.00", "-83.33"],
        ["2025-04", "0.00", "0.00", "120.00", "100.00", "0.00", "20.00"],
    ]
    assert table_rows(html, "table-churn")[-3] == ["2025-02", "1/3", "33.33 %", "8.65 %", "-2.88 %"]
    # AR aging: A's 1,500.00 80 days and 700.00 49 days past due, B's 1,000.00 30, C's current.
    assert table_rows(html, "table-aging-totals") == [
        ["all accounts", "120.00", "1,000.00", "700.00", "1,500.00", "0.00", "3,320.00", "0.00"]
    ]
    assert [row[0] for row in table_rows(html, "table-aging-top")] == [A, B, C]
    assert shown(html, "open-due") == "3,320.00"
    trial = table_rows(html, "table-trial-balance")
    assert trial[1] == ["1100 Accounts Receivable", "3,320.00", "0.00"]
    assert trial[-1][0] == "Total" and trial[-1][1] == trial[-1][2]
    revenue = {row[0]: row for row in table_rows(html, "table-revenue")}
    assert revenue["2025-01"][2] == "1,000.00"  # A's one-time setup, earned on its date
    assert len(revenue) == 12


async def test_the_currency_switch_lists_every_currency_and_shows_the_one_chosen(
    browser_client: httpx.AsyncClient,
) -> None:
    await sign_in(browser_client, "finance")
    html = (await browser_client.get("/dashboard", params={**APRIL, "currency": "JPY"})).text
    assert '<option value="JPY" selected>JPY</option>' in html
    assert '<option value="EUR">EUR</option>' in html
    assert shown(html, "mrr-now") == "0"  # no JPY lines: zero, with JPY's no decimals
    default = (await browser_client.get("/dashboard", params={"as_of": "2025-04-30"})).text
    assert '<option value="EUR" selected>EUR</option>' in default


async def test_bad_query_parameters_are_problem_json_422s(
    browser_client: httpx.AsyncClient,
) -> None:
    await sign_in(browser_client, "finance")
    for params in ({"as_of": "2025-02-30"}, {"currency": "euro"}):
        answer = await browser_client.get("/dashboard", params=params)
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
    unknown = await browser_client.get("/dashboard/csv/payroll", params=APRIL)
    assert unknown.status_code == 422


async def test_each_table_s_csv_has_the_page_s_figures_in_minor_units(
    browser_client: httpx.AsyncClient,
) -> None:
    await sign_in(browser_client, "finance")

    async def csv(table: str) -> list[str]:
        answer = await browser_client.get(f"/dashboard/csv/{table}", params=APRIL)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        assert f'filename="{table}-EUR-2025-04-30.csv"' in answer.headers["content-disposition"]
        return answer.text.splitlines()

    mrr = await csv("mrr")
    assert mrr[0] == "currency,month,on,mrr,arr" and len(mrr) == 13
    assert mrr[-1] == "EUR,2025-04,2025-04-30,172000,2064000"
    movements = await csv("movements")
    assert movements[-1] == "EUR,2025-04,170000,0,0,12000,10000,0,2000,172000"
    churn = await csv("churn")
    assert churn[-3] == "EUR,2025-02,1,3,33.33,15000,-5000,173333,8.65,-2.88"
    assert await csv("retention") == [
        "currency,cohort_month,month,account_id,mrr_start,mrr_end,nrr_percent,grr_percent"
    ]  # nobody had MRR at the end of April 2024
    aging = await csv("ar-aging")
    assert aging[1:] == [
        f"{A},EUR,0,0,70000,150000,0,220000,0",
        f"{B},EUR,0,100000,0,0,0,100000,0",
        f"{C},EUR,12000,0,0,0,0,12000,0",
    ]
    trial = await csv("trial-balance")
    assert trial[0] == "currency,ledger_account,name,debit,credit"
    assert "EUR,1100,Accounts Receivable,332000,0" in trial
    assert all(line.startswith("EUR,") for line in trial[1:])
    revenue = await csv("revenue")
    assert revenue[0] == "currency,month,subscription,one_time,deferred_revenue_at_to"
    assert len(revenue) == 13 and revenue[1].startswith("EUR,2024-05,")


async def test_a_csv_without_a_currency_takes_the_page_s_default(
    browser_client: httpx.AsyncClient,
) -> None:
    await sign_in(browser_client, "finance")
    for table in ("ar-aging", "mrr"):
        answer = await browser_client.get(f"/dashboard/csv/{table}", params={"as_of": "2025-04-30"})
        assert answer.status_code == 200
        assert f'filename="{table}-EUR-2025-04-30.csv"' in answer.headers["content-disposition"]
        assert len(answer.text.splitlines()) == (4 if table == "ar-aging" else 13)


async def test_signing_in_comes_back_to_the_date_and_currency_asked_for(
    browser_client: httpx.AsyncClient,
) -> None:
    form = await browser_client.get("/dashboard", params=APRIL)
    assert '<input type="hidden" name="as_of" value="2025-04-30">' in form.text
    assert '<input type="hidden" name="currency" value="EUR">' in form.text
    signed = await browser_client.post(
        "/dashboard/login", data={"key": TEST_KEYS["finance"], **APRIL}
    )
    assert signed.headers["location"] == "/dashboard?as_of=2025-04-30&currency=EUR"
    # Only a date and a currency code go back into the URL: anything else is dropped.
    odd = await browser_client.post(
        "/dashboard/login",
        data={"key": TEST_KEYS["finance"], "as_of": "//elsewhere", "currency": "https://x"},
    )
    assert odd.headers["location"] == "/dashboard"
    refused = await browser_client.post("/dashboard/login", data={"key": "k-nobody", **APRIL})
    assert '<input type="hidden" name="as_of" value="2025-04-30">' in refused.text


async def test_as_known_on_the_first_of_april_c_s_return_is_not_yet_known(
    browser_client: httpx.AsyncClient,
) -> None:
    """C's new contract (from 2025-04-05) was recorded on 2025-04-05: as known at the end
    of 1 April, April ends at A 60000 + B 100000; as known now, 172000 (METRICS.md)."""
    await sign_in(browser_client, "finance")
    then = {**APRIL, "known_on": "2025-04-01"}
    html = (await browser_client.get("/dashboard", params=then)).text
    assert shown(html, "mrr-now") == "1,600.00" and shown(html, "customers-now") == "2"
    assert 'id="known-note">Metrics as known at the end of 2025-04-01.<' in html
    assert '<input type="date" id="known_on" name="known_on" value="2025-04-01">' in html
    assert "/dashboard/csv/mrr?as_of=2025-04-30&amp;currency=EUR&amp;known_on=2025-04-01" in html
    mrr = await browser_client.get("/dashboard/csv/mrr", params=then)
    assert mrr.text.splitlines()[-1] == "EUR,2025-04,2025-04-30,160000,1920000"
    now = (await browser_client.get("/dashboard", params=APRIL)).text
    assert shown(now, "mrr-now") == "1,720.00" and "known-note" not in now


async def test_an_emptied_date_field_is_not_given(browser_client: httpx.AsyncClient) -> None:
    """A GET form sends an emptied field as `name=`: the default, not a 422."""
    await sign_in(browser_client, "finance")
    page = await browser_client.get(
        "/dashboard", params={"as_of": "2025-04-30", "currency": "", "known_on": ""}
    )
    assert page.status_code == 200
    assert shown(page.text, "mrr-now") == "1,720.00"
