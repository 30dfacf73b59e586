"""The dashboard in a real browser: headless Chromium (Debian's package, installed by the
test kit when missing) signs in through the form and renders M1's April, with no
network but loopback.

Chromium is driven over the DevTools pipe (`revline_testkit.cdp`): every request to
another host goes to a refusing proxy that notes it, and host names do not resolve.
The checks read the DOM as Chromium rendered it and the charts' drawn sizes.
`REVLINE_DASHBOARD_SCREENSHOT=path` also saves the page as a PNG there (how
services/ledger/docs/dashboard.png is made).
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

from ledger.dashboard.routes import COOKIE
from revline_testkit.cdp import Browser
from revline_testkit.live import TEST_KEYS, LiveService

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
# What each chart drew: (selector of its marks, how many), for M1 and the seeded invoices.
CHARTS = {
    "chart-mrr": ("path.line", 1),
    "chart-movements": ("rect.bar", 8),  # Jun and Aug 2024 new, Jan new, Feb 2, Mar 1, Apr 2
    "chart-revenue": ("rect.bar", None),  # some months earn, the count is the ledger's
}


def text_of(browser: Browser, element_id: str) -> Any:
    """The rendered text of an element."""
    return browser.evaluate(f"document.getElementById({element_id!r}).textContent")


def drawn(browser: Browser, chart: str, marks: str) -> dict[str, Any]:
    """The chart's SVG size on screen and its marks' count and total drawn area."""
    script = f"""(() => {{
        const svg = document.querySelector('#{chart} svg');
        const box = svg.getBoundingClientRect();
        const marks = [...svg.querySelectorAll('{marks}')].map(m => m.getBBox());
        return {{width: box.width, height: box.height, marks: marks.length,
                 area: marks.reduce((a, b) => a + b.width * b.height, 0)}};
    }})()"""
    found: dict[str, Any] = browser.evaluate(script)
    return found


def sign_in_and_read(base_url: str, shot: Path) -> dict[str, Any]:
    """A person's visit, in Chromium: what each step showed (runs in a thread)."""
    seen: dict[str, Any] = {}
    with Browser(width=1600, height=1000) as browser:
        seen["first"] = browser.goto(f"{base_url}/dashboard")
        seen["first_has_form"] = browser.evaluate("!!document.getElementById('login')")
        seen["bad"] = browser.submit("login", key="k-nobody")
        seen["bad_error"] = text_of(browser, "login-error")
        seen["sales"] = browser.submit("login", key=TEST_KEYS["sales"])
        seen["sales_text"] = text_of(browser, "refused")
        seen["sales_cookies"] = browser.cookies()
        browser.goto(f"{base_url}/dashboard")
        seen["finance"] = browser.submit("login", key=TEST_KEYS["finance"])
        seen["finance_url"] = browser.evaluate("location.href")
        seen["cookies"] = browser.cookies()
        seen["script_sees_cookie"] = browser.evaluate("document.cookie")
        # The date picker and currency switch: a GET form.
        seen["april"] = browser.submit("view", as_of="2025-04-30", currency="EUR")
        seen["april_url"] = browser.evaluate("location.href")
        seen["mrr_now"] = text_of(browser, "mrr-now")
        seen["arr_now"] = text_of(browser, "arr-now")
        seen["april_point"] = browser.evaluate(
            "document.querySelector('#chart-mrr circle[data-label=\"2025-04\"] title').textContent"
        )
        seen["charts"] = {
            chart: drawn(browser, chart, marks) for chart, (marks, _) in CHARTS.items()
        }
        seen["dom"] = browser.dom()
        seen["resources"] = browser.evaluate(
            "performance.getEntriesByType('resource').map(r => r.name)"
        )
        browser.screenshot(shot)
        seen["out"] = browser.submit("logout")
        seen["out_has_form"] = browser.evaluate("!!document.getElementById('login')")
        seen["out_cookies"] = browser.cookies()
        seen["outside"] = browser.outside_requests
    return seen


async def test_chromium_signs_in_and_renders_m1_s_april_offline(
    seeded: LiveService, tmp_path: Path
) -> None:
    shot = tmp_path / "dashboard.png"
    seen = await asyncio.to_thread(sign_in_and_read, seeded.base_url, shot)

    # No key: the form. A bad key: 401 and the form's error. A sales key: 403, no cookie.
    assert (seen["first"], seen["first_has_form"]) == (200, True)
    assert (seen["bad"], seen["bad_error"]) == (401, "Unknown key.")
    assert seen["sales"] == 403 and "role sales may not read" in seen["sales_text"]
    assert seen["sales_cookies"] == []
    # Finance: the cookie is HttpOnly (no script sees it) and SameSite=Strict, and the key
    # is in no URL the browser went to.
    assert seen["finance"] == 200
    [cookie] = seen["cookies"]
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (COOKIE, True, "Strict")
    assert seen["script_sees_cookie"] == ""
    for url in (seen["finance_url"], seen["april_url"]):
        assert TEST_KEYS["finance"] not in url
    # The form's emptied "as known on" field is sent empty: as known now.
    assert seen["april_url"].endswith("/dashboard?as_of=2025-04-30&currency=EUR&known_on=")

    # M1's April MRR 172000 cents, as Chromium shows it.
    assert seen["april"] == 200
    assert (seen["mrr_now"], seen["arr_now"]) == ("1,720.00", "20,640.00")
    assert seen["april_point"] == "2025-04: 1,720.00"
    for chart, (_, count) in CHARTS.items():
        figure = seen["charts"][chart]
        assert figure["width"] > 300 and figure["height"] > 100, (chart, figure)
        assert figure["marks"] == count if count is not None else figure["marks"] > 0, figure
        assert figure["area"] > 0, (chart, figure)

    # Offline: nothing was asked of another host, the page loaded nothing, and its HTML
    # names no URL but the service's own (and the SVG namespace, an identifier).
    assert seen["outside"] == []
    assert seen["resources"] == []
    dom = seen["dom"]
    assert "<script" not in dom
    absolute = set(re.findall(r"[a-z]+://[^\"'\s)<>]+", dom))
    assert absolute == {SVG_NAMESPACE}, absolute
    assert all(
        u.startswith("/dashboard") for u in re.findall(r'(?:href|action|src)="([^"]*)"', dom)
    )

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000
    if target := os.environ.get("REVLINE_DASHBOARD_SCREENSHOT"):
        Path(target).write_bytes(shot.read_bytes())

    # Sign out: the cookie is gone and the form is back.
    assert (seen["out"], seen["out_has_form"], seen["out_cookies"]) == (200, True, [])
