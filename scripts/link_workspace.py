"""Put every workspace member's source folder on the venv's import path.

This is what an editable install does, without building the members: the
pinned third-party packages come from requirements.lock, our own code from the
work tree.
"""

from __future__ import annotations

import site
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    members = sorted(p.parent for p in ROOT.glob("libs/*/pyproject.toml"))
    members += sorted(p.parent for p in ROOT.glob("services/*/pyproject.toml"))
    paths = [str(ROOT)] + [str(m) for m in members]
    target = Path(site.getsitepackages()[0]) / "revline-workspace.pth"
    target.write_text("\n".join(paths) + "\n")
    print(f"linked {len(members)} workspace members into {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
