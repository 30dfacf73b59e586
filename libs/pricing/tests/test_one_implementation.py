"""Quote's totals and billing's spans come from this library, and nothing else prices.

The services' source is parsed (ast), not imported: a service, the kernel or the
chassis that defines its own period grid, proration, net unit price or rounding,
or rounds a Decimal by other means, fails here; so does quote or billing not
importing the grid and the amounts from revline_pricing, and so does this
library importing anything beyond the standard library or reading a clock.
Tests are not scanned: billing's tests/domain/reference.py is an independent
oracle on purpose.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PRICING = ROOT / "libs" / "pricing"

# Functions and classes only revline_pricing may define (any case, leading underscores).
RULE_NAMES = re.compile(
    r"_*(round_?half\w*|(iter_)?billing_spans|billing_grid|period_(grid|starts|boundaries|months)"
    r"|first_boundary|span_(amount|fraction|formula|days)|net_unit_price|prorat\w*|add_months"
    r"|term_end|date_?span)",
    re.IGNORECASE,
)
# Decimal's rounding is pricing's alone: its modes, and the methods that round.
ROUNDING_METHODS = {"quantize", "to_integral", "to_integral_value", "to_integral_exact"}
ROUNDING_MODE = re.compile(r"ROUND_[A-Z0-9_]+")
# The period lengths: a mapping of "month" and "quarter" to numbers is a second grid.
PERIOD_KEYS = {"month", "quarter"}

STDLIB_ALLOWED = {
    "__future__",
    "calendar",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "itertools",
    "types",
    "typing",
}
IO_BUILTINS = {"open", "print", "input", "exec", "eval", "compile", "__import__", "breakpoint"}
CLOCK_READS = {"today", "now", "utcnow", "time", "monotonic", "perf_counter"}


def copies_in(source: str) -> list[str]:
    """What in `source` duplicates a pricing rule or rounds outside revline_pricing."""
    tree = ast.parse(source)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if RULE_NAMES.fullmatch(node.name):
                found.append(f"line {node.lineno}: defines {node.name}")
        elif isinstance(node, ast.Name) and ROUNDING_MODE.fullmatch(node.id):
            found.append(f"line {node.lineno}: uses {node.id}")
        elif isinstance(node, ast.Attribute):
            if ROUNDING_MODE.fullmatch(node.attr) or node.attr in ROUNDING_METHODS:
                found.append(f"line {node.lineno}: uses .{node.attr}")
            elif node.attr == "monthrange":
                found.append(f"line {node.lineno}: month arithmetic with .monthrange")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if ROUNDING_MODE.fullmatch(alias.name) or alias.name == "monthrange":
                    found.append(f"line {node.lineno}: imports {alias.name}")
        elif isinstance(node, ast.Dict):
            lengths = {
                k.value
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant)
                and isinstance(v, ast.Constant)
                and isinstance(v.value, int)
            }
            if lengths >= PERIOD_KEYS:
                found.append(f"line {node.lineno}: a table of period lengths")
    for statement in tree.body:  # module-level names: PERIOD_MONTHS = ..., round_half_up = ...
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        for target in targets:
            if isinstance(target, ast.Name) and RULE_NAMES.fullmatch(target.id):
                found.append(f"line {statement.lineno}: binds {target.id}")
    return found


def impurities_in(source: str) -> list[str]:
    """What in `source` would make revline_pricing impure: non-stdlib imports, I/O, clocks."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            modules = [node.module]
        for module in modules:
            top = module.split(".")[0]
            if top != "revline_pricing" and top not in STDLIB_ALLOWED:
                found.append(f"line {node.lineno}: imports {module}")
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id in IO_BUILTINS:
                found.append(f"line {node.lineno}: calls {function.id}()")
            if isinstance(function, ast.Attribute) and function.attr in CLOCK_READS:
                found.append(f"line {node.lineno}: reads a clock with .{function.attr}()")
    return found


def production_files() -> Iterator[Path]:
    """Every Python file a service image ships, apart from revline_pricing itself."""
    for folder in (ROOT / "libs", ROOT / "services"):
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] == ("libs", "pricing") or "tests" in relative.parts:
                continue
            yield path


def imported_from_pricing(package: Path) -> set[str]:
    """Names a package imports from revline_pricing (any submodule)."""
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "revline_pricing"
            ):
                names |= {alias.name for alias in node.names}
    return names


# -- the guard finds a copy when there is one ---------------------------------------------------

A_COPY = """
from decimal import ROUND_HALF_UP, Decimal
import decimal

PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
LENGTHS = dict(year=12) | {"month": 1, "quarter": 3}

def round_half_up(x: Decimal) -> int:
    return int(x.to_integral_value(rounding=ROUND_HALF_UP))

LABELS = {"month": "Monthly", "quarter": "Quarterly"}

def billing_spans(start, end, period, bcd):
    return []

class DateSpan:
    pass

def share(x):
    return x.quantize(Decimal("0.01"), rounding=decimal.ROUND_HALF_EVEN)

def _prorate(x):
    return x
"""

CLEAN = """
from revline_pricing.periods import billing_spans
from revline_pricing.proration import span_amount

class QuoteLine:
    net_unit_price: int
    billing_period: str | None

def total(lines):
    return sum(span_amount(l.net_unit_price, l.quantity, s.days, s.nominal_days)
               for l in lines for s in billing_spans(l.start, l.end, l.period, 1))
"""


def test_the_guard_reports_every_kind_of_copy() -> None:
    found = "\n".join(copies_in(A_COPY))
    for expected in (
        "imports ROUND_HALF_UP",
        "binds PERIOD_MONTHS",
        "a table of period lengths",
        "defines round_half_up",
        "uses .to_integral_value",
        "uses ROUND_HALF_UP",
        "defines billing_spans",
        "defines DateSpan",
        "uses .quantize",
        "uses .ROUND_HALF_EVEN",
        "defines _prorate",
    ):
        assert expected in found, expected
    assert found.count("a table of period lengths") == 2  # not LABELS: no lengths there


def test_the_guard_passes_code_that_uses_the_library() -> None:
    assert copies_in(CLEAN) == []


def test_the_purity_check_reports_io_clocks_and_foreign_imports() -> None:
    source = (
        "import os\nimport sqlalchemy\nfrom fastapi import FastAPI\nfrom aiokafka import x\n"
        "from quote.domain import quote\nfrom datetime import date\n"
        "open('f')\nprint(1)\ndate.today()\n"
    )
    found = "\n".join(impurities_in(source))
    for expected in (
        "imports os",
        "imports sqlalchemy",
        "imports fastapi",
        "imports aiokafka",
        "imports quote.domain",
        "calls open()",
        "calls print()",
        "reads a clock with .today()",
    ):
        assert expected in found, expected
    assert "imports datetime" not in found


# -- the repository holds one implementation ----------------------------------------------------


def test_there_are_production_files_to_scan() -> None:
    scanned = {path.relative_to(ROOT).parts[:2] for path in production_files()}
    assert {
        ("libs", "events"),
        ("libs", "service"),
        ("services", "quote"),
        ("services", "billing"),
        ("services", "contract"),
        ("services", "order"),
    } <= scanned


@pytest.mark.parametrize("path", list(production_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_service_or_kernel_module_copies_a_pricing_rule(path: Path) -> None:
    assert copies_in(path.read_text()) == [], (
        f"{path.relative_to(ROOT)} prices or rounds on its own: use revline_pricing"
    )


def test_quote_prices_its_totals_with_revline_pricing() -> None:
    names = imported_from_pricing(ROOT / "services" / "quote" / "quote")
    assert {"billing_spans", "span_amount", "net_unit_price", "term_end"} <= names


def test_billing_bills_its_spans_with_revline_pricing() -> None:
    names = imported_from_pricing(ROOT / "services" / "billing" / "billing")
    assert {"iter_billing_spans", "span_amount", "span_formula"} <= names


def test_the_kernel_rounds_money_with_revline_pricing() -> None:
    names = imported_from_pricing(ROOT / "libs" / "events" / "revline_events")
    assert "round_half_up" in names


# -- revline_pricing is pure ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted((PRICING / "revline_pricing").rglob("*.py")),
    ids=lambda p: p.name,
)
def test_revline_pricing_imports_only_the_standard_library_and_does_no_io(path: Path) -> None:
    assert impurities_in(path.read_text()) == []


def test_the_allowed_imports_are_all_standard_library() -> None:
    assert set(sys.stdlib_module_names) | {"__future__"} >= STDLIB_ALLOWED


def test_revline_pricing_depends_on_no_package() -> None:
    project = tomllib.loads((PRICING / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == []
