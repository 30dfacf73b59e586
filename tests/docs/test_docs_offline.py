"""/docs and /redoc work with no network but loopback: assets from an installed package.

One service (quote) runs as a real process on SQLite and the module's Tansu
broker. The page's HTML names no outside host, every asset it names is served
by the service, the pages forbid the browser anything but the service's own
URLs (Content-Security-Policy), and headless Chromium (Debian's package,
installed by `revline_testkit.browser` when missing) renders every operation
of the OpenAPI document on both pages while no request leaves loopback.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from revline_testkit.broker import TansuBroker
from revline_testkit.browser import dump_dom
from revline_testkit.live import ServiceProcess, api_keys_setting

SERVICE = "quote"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# src= and href= attributes, and url(...) in CSS: what a page or stylesheet loads.
HTML_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
JS_STRING_URL = re.compile(r"""["'](https?://[^"']+|/[^"'\s]*)["']""")
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
OPBLOCK_PATH = re.compile(r'class="opblock-summary-path"[^>]*data-path="([^"]+)"')
REDOC_OPERATION = re.compile(r'id="tag/[^/"]+/operation/([^"]+)"')


@pytest.fixture(scope="module")
def docs_service(tansu: TansuBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The quote service as a process; yields its base URL."""
    tmp: Path = tmp_path_factory.mktemp("docs")
    env = {
        "QUOTE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'quote.db'}",
        "QUOTE_KAFKA_BOOTSTRAP": tansu.bootstrap,
        "QUOTE_API_KEYS": api_keys_setting(),
        "QUOTE_DEV_KEYS_FILE": str(tmp / "dev-keys.json"),
        "QUOTE_CONSUMER_SESSION_TIMEOUT_MS": "2000",
    }
    process = ServiceProcess(SERVICE, env, log_path=tmp / "quote.log")
    process.start()
    try:
        asyncio.run(process.wait_ready(within=60))
        yield process.base_url
    finally:
        process.stop()


def is_outside(url: str, base: str) -> bool:
    """True when `url`, read relative to `base`, names a host other than loopback."""
    absolute = urlsplit(urljoin(base, url))
    if absolute.scheme in ("data", "blob", "javascript", "about"):
        return False
    return absolute.hostname not in LOOPBACK_HOSTS


def openapi(base: str) -> dict[str, Any]:
    """The service's OpenAPI document."""
    spec: dict[str, Any] = httpx.get(f"{base}/openapi.json").json()
    return spec


def operation_ids(spec: dict[str, Any]) -> set[str]:
    """The operationId of every operation in `spec`."""
    return {
        operation["operationId"]
        for path in spec["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_html_names_no_outside_host_and_its_assets_are_served(
    docs_service: str, page: str
) -> None:
    response = httpx.get(f"{docs_service}{page}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    urls = [unescape(u) for u in HTML_URL.findall(html)] + JS_STRING_URL.findall(html)
    assert urls, html
    outside = [u for u in urls if is_outside(u, docs_service + page)]
    assert outside == [], f"{page} names outside URLs: {outside}"
    assets = [u for u in HTML_URL.findall(html) if "/assets/" in u]
    assert any(u.endswith(".js") for u in assets), html
    for asset in assets:
        served = httpx.get(urljoin(docs_service + page, unescape(asset)))
        assert served.status_code == 200, asset
        assert len(served.content) > 1000, asset
        if asset.endswith(".css"):
            css_outside = [u for u in CSS_URL.findall(served.text) if is_outside(u, asset)]
            assert css_outside == [], css_outside
    assert "/openapi.json" in html
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "img-src 'self' data:" in policy


def test_swagger_ui_renders_every_operation_in_headless_chromium_offline(
    docs_service: str,
) -> None:
    page = dump_dom(f"{docs_service}/docs")
    assert page.outside_requests == [], page.outside_requests
    rendered = set(OPBLOCK_PATH.findall(page.dom))
    assert rendered, page.dom[-3000:]
    assert rendered == set(openapi(docs_service)["paths"])
    assert 'class="opblock-summary-description"' in page.dom
    assert "Failed to load API definition" not in page.dom


def test_redoc_renders_every_operation_in_headless_chromium_offline(docs_service: str) -> None:
    page = dump_dom(f"{docs_service}/redoc")
    assert page.outside_requests == [], page.outside_requests
    rendered = set(REDOC_OPERATION.findall(page.dom))
    assert rendered, page.dom[-3000:]
    assert rendered == operation_ids(openapi(docs_service))
