"""Root conftest: loads the shared fixtures (Tansu broker, throwaway PostgreSQL, db URLs),
and starts the longest test modules first."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

pytest_plugins = ["revline_testkit.pytest_plugin"]

# Modules that take a minute or more (real processes killed and restarted, whole
# stacks, rebuilds, timers). `make test` hands whole modules to its workers in
# collection order: started last, one of them is the suite's tail while the others
# sit idle. Started first, the short modules fill in around them.
LONG_MODULES = (
    "*/faults/*",
    "*/test_crash*",
    "*/test_consumer_crash.py",
    "*/e2e/*",
    "*/test_rebuild.py",
    "*/test_recognition_timer.py",
    "*/test_make_run.py",
    "*/test_service_properties.py",
    "*/test_report_totals.py",
    "*/test_dlq_commands.py",
    "*/load/*",
)


def _long(item: pytest.Item) -> bool:
    path = item.path.as_posix()
    return any(fnmatch(path, pattern) for pattern in LONG_MODULES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long modules first; the order within a module and among the rest stays."""
    items.sort(key=lambda item: not _long(item))
