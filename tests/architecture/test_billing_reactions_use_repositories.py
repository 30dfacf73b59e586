"""Billing's reactions to upstream events reach the database only through repositories.

The scan of test_handlers_use_repositories.py, on the billing handler modules the
consumer runs (billing joins that test's SERVICES once all its handlers do).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
REACTION_MODULES = ("upstream.py", "order_batch.py")


def _scan() -> ModuleType:
    """test_handlers_use_repositories.py, loaded by path (tests are no package)."""
    spec = importlib.util.spec_from_file_location(
        "handlers_scan", HERE / "test_handlers_use_repositories.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_billing_s_reactions_talk_to_repositories_not_to_the_session() -> None:
    scan = _scan()
    handlers = scan.ROOT / "services" / "billing" / "billing" / "handlers"
    offences = {
        name: found
        for name in REACTION_MODULES
        if (found := scan.findings((handlers / name).read_text()))
    }

    assert offences == {}
