"""Every route of every service is async all the way down: its endpoint and each of its
dependencies.

FastAPI runs a plain `def` endpoint or dependency in its thread pool: a thread hop
on every request, for what is usually an attribute read. Two such dependencies
(the runtime and the page request) were a quarter of the server's CPU on a
`GET /v1/products` (4.2 ms a request before, 3.0 after; bench/README.md).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from revline_service.service import create_app
from revline_testkit.devstack import discover_services

SERVICES = discover_services()


def _is_async(call: Callable[..., Any]) -> bool:
    # An async generator dependency is entered on the event loop, as an async context.
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(
            getattr(call, "__call__", None)  # noqa: B004  # a callable instance's method
        )
    )


def _sync_calls(dependant: Dependant) -> Iterator[str]:
    for dependency in dependant.dependencies:
        if dependency.call is not None and not _is_async(dependency.call):
            yield getattr(dependency.call, "__qualname__", repr(dependency.call))
        yield from _sync_calls(dependency)


def test_the_services_are_found() -> None:
    assert set(SERVICES) >= {"quote", "contract", "order", "billing", "ledger"}


@pytest.mark.parametrize("service", SERVICES)
def test_no_route_runs_in_the_thread_pool(service: str, tmp_path: Path) -> None:
    spec = importlib.import_module(f"{service}.main").SPEC
    settings = spec.settings_cls(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", api_keys="k:admin"
    )
    app = create_app(spec, settings)  # connects to nothing until its lifespan starts
    found = {}
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        sync = list(_sync_calls(route.dependant))
        if not _is_async(route.endpoint):
            sync.append(f"endpoint {route.endpoint.__qualname__}")
        if sync:
            found[f"{sorted(route.methods)} {route.path}"] = sorted(set(sync))
    assert found == {}
