"""A throwaway PostgreSQL 15 cluster in a temporary directory, for tests; and a kept one
under var/ for `make run` on PostgreSQL (KeptPostgres).

initdb and pg_ctl refuse to run as root, so when this process is root they
run as the ``postgres`` OS user (through ``runuser``) on a directory owned by
that user. The cluster listens on a free loopback port with trust
authentication and durability turned off (fsync, synchronous_commit,
full_page_writes): it is fast and loses everything on a crash, by design.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from revline_testkit.broker import free_loopback_port, port_accepts_connections, tail

DEFAULT_BINDIR = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"
_OS_USER = "postgres"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# libpq variables that would redirect or alter our client binaries' connections.
_LIBPQ_ENV_VARS = (
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGDATA",
)


class PostgresError(RuntimeError):
    """A PostgreSQL binary failed; the message carries its output and the server log tail."""


def find_bindir() -> Path:
    """Directory of the PostgreSQL server binaries: ``pg_config --bindir``, else the 15 path."""
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        candidate = Path(result.stdout.strip())
        if result.returncode == 0 and (candidate / "initdb").is_file():
            return candidate
    if (DEFAULT_BINDIR / "initdb").is_file():
        return DEFAULT_BINDIR
    raise PostgresError(f"no PostgreSQL binaries: pg_config --bindir and {DEFAULT_BINDIR} failed")


class ThrowawayPostgres:
    """A private PostgreSQL cluster on 127.0.0.1:<free port>, removed on stop.

    ``create_database(name)`` returns an SQLAlchemy async URL
    (``postgresql+asyncpg://postgres@127.0.0.1:PORT/name``). It shells out to
    ``createdb``, so it is synchronous and safe to call from inside a running
    event loop. Usable as a context manager (start on enter, stop on exit).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        bindir: str | os.PathLike[str] | None = None,
        max_connections: int = 200,
    ) -> None:
        self.host = "127.0.0.1"
        self.max_connections = max_connections
        self._port = port
        self._requested_port = port
        self._bindir = Path(bindir) if bindir is not None else None
        self._root: Path | None = None
        self._running = False
        self._atexit_registered = False

    # -- properties -----------------------------------------------------

    @property
    def port(self) -> int:
        """TCP port the server listens on (chosen by start() when not given)."""
        if self._port is None:
            raise RuntimeError("the server has no port yet: call start() first")
        return self._port

    @property
    def bindir(self) -> Path:
        """Directory holding initdb, pg_ctl and createdb."""
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    @property
    def root(self) -> Path:
        """The temporary directory holding data/, the socket and server.log."""
        if self._root is None:
            raise RuntimeError("the server is not started")
        return self._root

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.root / "server.log"

    def is_running(self) -> bool:
        """True between a successful start() and stop()."""
        return self._running

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy async URL of database `dbname` (which must exist)."""
        _check_name(dbname)
        return f"postgresql+asyncpg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq / asyncpg DSN of database `dbname`."""
        _check_name(dbname)
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log."""
        return tail(self.log_path, lines) if self._root is not None else ""

    # -- lifecycle --------------------------------------------------------

    def start(self) -> Self:
        """initdb a fresh cluster in a temp dir and start it; block until it accepts connections."""
        if self._running:
            return self
        if self._port is None:
            self._port = free_loopback_port(self.host)
        self._root = Path(tempfile.mkdtemp(prefix="revline-pg-"))
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        try:
            if _is_root():
                entry = pwd.getpwnam(_OS_USER)
                os.chown(self._root, entry.pw_uid, entry.pw_gid)
            self._server_tool(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            )
            # A port chosen here may be taken before the server listens (a parallel
            # test worker starting its own cluster): then take another one.
            attempts = 1 if self._requested_port is not None else 3
            for attempt in range(1, attempts + 1):
                try:
                    self._start_server()
                    break
                except PostgresError:
                    if attempt == attempts or not port_accepts_connections(self.host, self.port):
                        raise
                    self._port = free_loopback_port(self.host)
        except BaseException:
            self.stop()
            raise
        self._running = True
        return self

    def _start_server(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                f"-c listen_addresses={self.host}",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                f"-c max_connections={self.max_connections}",
            ]
        )
        self._server_tool(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            "30",
        )

    def halt(self) -> None:
        """Stop the server but keep its data: connections are refused until `resume`
        (a database outage, for fault tests)."""
        result = self._run_tool(
            "pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "10",
            as_owner=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresError(f"pg_ctl stop failed: {result.stdout}\n{self.log_tail()}")

    def resume(self) -> None:
        """Start the halted server again, on the same port, with the same data."""
        self._start_server()

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and delete its directory. Idempotent."""
        root, self._root = self._root, None
        self._running = False
        if self._atexit_registered:
            atexit.unregister(self.stop)
            self._atexit_registered = False
        if root is None:
            return
        data = root / "data"
        if (data / "postmaster.pid").exists():
            for mode in ("fast", "immediate"):
                result = self._run_tool(
                    "pg_ctl", "stop", "-D", str(data), "-m", mode, "-w", "-t", "10", as_owner=True
                )
                if result.returncode == 0:
                    break
        shutil.rmtree(root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create database `name` (createdb over TCP) and return its SQLAlchemy async URL."""
        _check_name(name)
        self._client_tool("createdb", name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, disconnecting its sessions (``dropdb --force``)."""
        _check_name(name)
        self._client_tool("dropdb", "--if-exists", "--force", name)

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server and remove its directory."""
        self.stop()

    def __repr__(self) -> str:
        """Address and state, for test output."""
        state = "running" if self._running else "stopped"
        return f"ThrowawayPostgres({self.host}:{self._port}, {state})"

    # -- internals ----------------------------------------------------------

    def _client_tool(self, tool: str, *args: str) -> None:
        """Run a client binary as the current user; trust auth over TCP needs no OS user."""
        if not self._running:
            raise RuntimeError("the server is not running: call start() first")
        result = self._run_tool(
            tool, "-h", self.host, "-p", str(self.port), "-U", SUPERUSER, *args, as_owner=False
        )
        if result.returncode != 0:
            raise PostgresError(f"{tool} {' '.join(args)} failed:\n{result.stdout}")

    def _server_tool(self, tool: str, *args: str) -> None:
        result = self._run_tool(tool, *args, as_owner=True)
        if result.returncode != 0:
            raise PostgresError(
                f"{tool} failed (exit {result.returncode}):\n{result.stdout}\n"
                f"--- last lines of the server log ---\n{self.log_tail()}"
            )

    def _run_tool(self, tool: str, *args: str, as_owner: bool) -> subprocess.CompletedProcess[str]:
        return _run_tool(
            self.bindir, tool, *args, as_owner=as_owner, cwd=self._root or tempfile.gettempdir()
        )


class KeptPostgres:
    """A PostgreSQL 15 cluster kept in a directory across runs: `make run` on PostgreSQL.

    Unlike ThrowawayPostgres it is never removed and keeps the server's durability
    (only ``synchronous_commit`` is off: a crash may lose the last commits, never
    corrupts). The dev stack supervises the server as one of its processes:
    ``prepare()`` creates the cluster in ``<root>/data`` on first use (initdb, as
    the ``postgres`` OS user when this process is root), ``server_argv()`` is the
    foreground server (run it as ``os_user()``; stop it with SIGINT, a fast
    shutdown), and once its log says READY_MARK, ``ensure_databases()`` creates
    the databases that are missing. Trust authentication on 127.0.0.1 only: for
    development on one's own machine.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        port: int,
        *,
        bindir: str | os.PathLike[str] | None = None,
        max_connections: int = 200,
    ) -> None:
        self.root = Path(root).resolve()
        self.port = port
        self.host = "127.0.0.1"
        self.max_connections = max_connections
        self._bindir = Path(bindir) if bindir is not None else None

    @property
    def bindir(self) -> Path:
        """Directory holding initdb, postgres, psql and createdb."""
        if self._bindir is None:
            self._bindir = find_bindir()
        return self._bindir

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    def exists(self) -> bool:
        """True once initdb has made the cluster."""
        return (self.data_dir / "PG_VERSION").is_file()

    @staticmethod
    def os_user() -> pwd.struct_passwd | None:
        """The OS user the server runs as: ``postgres`` when this process is root, else None
        (the current user)."""
        return pwd.getpwnam(_OS_USER) if _is_root() else None

    def prepare(self) -> bool:
        """Create the cluster unless it exists; True when it was created now."""
        self.root.mkdir(parents=True, exist_ok=True)
        owner = self.os_user()
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        if self.exists():
            return False
        # initdb writes into a directory of its own, renamed once complete: a run stopped
        # half-way leaves no data directory that looks made and is not.
        making = self.root / "data.initdb"
        shutil.rmtree(making, ignore_errors=True)
        result = _run_tool(
            self.bindir,
            "initdb",
            "-D",
            str(making),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
            as_owner=True,
            cwd=self.root,
        )
        if result.returncode != 0:
            hint = ""
            if owner is not None:
                hint = (
                    f"\n(initdb runs as the {_OS_USER} OS user: every directory above "
                    f"{self.root} must let it in)"
                )
            raise PostgresError(f"initdb failed (exit {result.returncode}):\n{result.stdout}{hint}")
        making.rename(self.data_dir)
        return True

    def server_argv(self) -> list[str]:
        """The server in the foreground on 127.0.0.1:port, TCP only (no Unix socket)."""
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": "",
            "synchronous_commit": "off",
            "max_connections": str(self.max_connections),
        }
        argv = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        return argv

    def ensure_databases(self, names: list[str]) -> list[str]:
        """Create each database of `names` that does not exist yet; the ones created."""
        for name in names:
            _check_name(name)
        listed = self._client("psql", "-d", "postgres", "-Atc", "SELECT datname FROM pg_database")
        existing = set(listed.split())
        created = [name for name in names if name not in existing]
        for name in created:
            self._client("createdb", name)
        return created

    def url(self, dbname: str) -> str:
        """SQLAlchemy async URL of database `dbname`."""
        _check_name(dbname)
        return f"postgresql+asyncpg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def _client(self, tool: str, *args: str) -> str:
        result = _run_tool(
            self.bindir,
            tool,
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            *args,
            as_owner=False,
            cwd=self.root,
        )
        if result.returncode != 0:
            raise PostgresError(f"{tool} {' '.join(args)} failed:\n{result.stdout}")
        return result.stdout


# What the server logs once it accepts connections (PostgreSQL 15).
READY_MARK = "database system is ready to accept connections"


def _run_tool(
    bindir: Path, tool: str, *args: str, as_owner: bool, cwd: Path | str
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary; `as_owner`: as the postgres OS user when this process is root."""
    command = [str(bindir / tool), *args]
    if as_owner and _is_root():
        command = ["runuser", "-u", _OS_USER, "--", *command]
    env = {k: v for k, v in os.environ.items() if k not in _LIBPQ_ENV_VARS}
    env["LC_ALL"] = "C"
    return subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
        timeout=60,
    )


def _is_root() -> bool:
    return os.geteuid() == 0


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r} (letters, digits, _; max 63)")
