"""Root conftest: loads the shared fixtures (Tansu broker, throwaway PostgreSQL, db URLs),
and starts the longest test modules first."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

pytest_plugins = ["revline_testkit.pytest_plugin"]

# Modules that take half a minute or more (real processes killed and restarted, whole
# stacks, schemathesis, rebuilds, timers), longest first as a full run measured them.
# `make test` hands whole modules to its workers in collection order: started last, one
# of them is the suite's tail while the others sit idle. Started first, longest first,
# the short modules fill in around them.
LONG_MODULES = (
    "*/openapi/test_live_openapi.py",
    "*/test_make_run.py",
    "*/load/*",
    "*/faults/*",
    "*/e2e/*",
    "*/test_random_sequences.py",
    "*/test_quote_lifecycle.py",
    "*/test_recognition_timer.py",
    "*/test_rebuild.py",
    "*/test_contract_read_model.py",
    "*/test_consumer_batches.py",
    "*/test_consumer_crash.py",
    "*/test_crash*",
    "*/test_service_properties.py",
    "*/test_report_totals.py",
    "*/test_dlq_commands.py",
)


def _rank(item: pytest.Item) -> int:
    path = item.path.as_posix()
    for rank, pattern in enumerate(LONG_MODULES):
        if fnmatch(path, pattern):
            return rank
    return len(LONG_MODULES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long modules first, longest first; the order within a module and among the rest
    stays (the sort is stable)."""
    items.sort(key=_rank)
