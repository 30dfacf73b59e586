"""Each service image carries every workspace library the service needs, on its import path.

A library a service depends on (directly, or through another library: the kernel
needs revline_pricing for its rounding) must be in the Dockerfile's build
context (Dockerfile.dockerignore), copied, and on PYTHONPATH, or the image
starts and fails at its first import. Parsed from the files; no Docker here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from revline_testkit.devstack import discover_services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(discover_services(ROOT))


def _project(folder: Path) -> dict[str, object]:
    loaded: dict[str, object] = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    return loaded


LIBS = {str(_project(p.parent)["name"]): p.parent for p in ROOT.glob("libs/*/pyproject.toml")}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]


def libraries_needed(service: str) -> set[str]:
    """The libs/<folder> names a service depends on, directly or through other libs."""
    needed: set[str] = set()
    pending = [ROOT / "services" / service]
    while pending:
        dependencies = _project(pending.pop())["dependencies"]
        assert isinstance(dependencies, list)
        for requirement in dependencies:
            library = LIBS.get(_requirement_name(str(requirement)))
            if library is not None and library.name not in needed:
                needed.add(library.name)
                pending.append(library)
    return needed


def test_the_kernel_brings_the_pricing_library_along() -> None:
    assert {"events", "service", "pricing"} <= libraries_needed("order")


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_copies_every_library_the_service_needs_onto_its_path(service: str) -> None:
    folder = ROOT / "services" / service
    dockerfile = (folder / "Dockerfile").read_text()
    ignore = (folder / "Dockerfile.dockerignore").read_text().splitlines()
    path_entries = re.search(r"PYTHONPATH=(\S+)", dockerfile)
    assert path_entries is not None, "no PYTHONPATH in the Dockerfile"
    on_path = path_entries[1].split(":")
    for library in sorted(libraries_needed(service)):
        assert f"COPY libs/{library}/ libs/{library}/" in dockerfile, library
        assert f"/app/libs/{library}" in on_path, library
        assert f"!libs/{library}/" in ignore, library
