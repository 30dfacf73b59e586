"""/docs (Swagger UI) and /redoc served from an installed package, never from a CDN.

FastAPI's own pages load their JavaScript and CSS from a CDN, so on a machine
without internet (a laptop on a plane, an air-gapped cluster) they stay blank.
The assets ship in the `fastapi-offline` wheel, pinned with its hash in
requirements.lock; every service mounts that package's `static/` folder under
`/docs/assets/` and renders the same two pages pointing at it. Nothing on
either page names a host: every URL is relative to the service. The bundles
themselves still hold a few outside URLs (ReDoc's sidebar shows its maker's
logo from their CDN), so the pages also carry a Content-Security-Policy that
lets the browser load nothing but the service's own URLs (and inline data).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
# Swagger UI would otherwise show a badge that asks validator.swagger.io about the spec.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# Inline script and style: FastAPI's pages start Swagger UI from an inline script, and
# both UIs set styles inline. Workers from blob: for ReDoc's search.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
    )
)


def assets_dir() -> Path:
    """The folder of Swagger UI's and ReDoc's files inside the installed package."""
    return Path(str(files("fastapi_offline") / "static"))


def self_only(page: HTMLResponse) -> HTMLResponse:
    """`page` with a policy that keeps the browser from loading anything from elsewhere."""
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def install_offline_docs(app: FastAPI) -> None:
    """Serve /docs, /docs/oauth2-redirect and /redoc with assets from `assets_dir()`.

    The app must be built with `docs_url=None, redoc_url=None` so FastAPI's CDN
    pages are not registered first. Plain routes, as FastAPI adds its own pages:
    they are no operations of the API (route tables and role checks skip them).
    """
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")

    def openapi_url(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{app.openapi_url}"

    def asset(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}{ASSETS_URL}/{name}"

    async def swagger_ui(request: Request) -> HTMLResponse:
        return self_only(
            get_swagger_ui_html(
                openapi_url=openapi_url(request),
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=OAUTH2_REDIRECT_URL,
                swagger_js_url=asset(request, "swagger-ui-bundle.js"),
                swagger_css_url=asset(request, "swagger-ui.css"),
                swagger_favicon_url=asset(request, "favicon.png"),
                swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
            )
        )

    async def swagger_ui_redirect(_: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        return self_only(
            get_redoc_html(
                openapi_url=openapi_url(request),
                title=f"{app.title} - ReDoc",
                redoc_js_url=asset(request, "redoc.standalone.js"),
                redoc_favicon_url=asset(request, "favicon.png"),
                with_google_fonts=False,
            )
        )

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_URL, swagger_ui_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
