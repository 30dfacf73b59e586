"""`make migrate`: apply every service's migrations to its configured database.

Runs ``python -m <service> migrate`` for each service under ``services/`` (flow
order), one after another, in the current environment: each service reads its
own ``<SERVICE>_DATABASE_URL``, or its settings default (SQLite under var/,
relative to the working directory). Stops at the first failure, with that
service's exit code, so a deploy step never goes on with half a schema.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from revline_testkit.devstack import discover_services, env_prefix, settings_class


def database_shown(service: str) -> str:
    """The service's configured database URL with any password hidden, for the log."""
    try:
        url = settings_class(service)().database_url
    except (ImportError, LookupError, ValidationError):
        return "its database (settings incomplete: the migration will say why)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "an unparsable database URL"


def main(argv: Sequence[str] | None = None) -> int:
    """Migrate the named services (default: all); 0 when all succeed, else the failing code."""
    services = discover_services()
    parser = argparse.ArgumentParser(
        prog="python -m revline_testkit.migrate_all",
        description="Apply every service's alembic migrations to its configured database.",
    )
    parser.add_argument(
        "services", nargs="*", metavar="SERVICE", help=f"default: all ({', '.join(services)})"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.services) - set(services))
    if unknown:
        parser.error(f"unknown service(s): {', '.join(unknown)}")
    chosen = [name for name in services if not args.services or name in args.services]
    for name in chosen:
        prefix = env_prefix(settings_class(name))
        print(f"migrating {name} ({prefix}DATABASE_URL: {database_shown(name)})", flush=True)
        code = subprocess.run([sys.executable, "-m", name, "migrate"], check=False).returncode
        if code != 0:
            print(f"make migrate: {name} failed with exit code {code}", file=sys.stderr)
            return code
    print(f"migrated {len(chosen)} service(s): {', '.join(chosen)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
