"""`make run`: the dev broker (Tansu) and every service on SQLite under var/, or on a
PostgreSQL the stack runs itself under var/ (``REVLINE_DATABASE=postgresql``).

Usage: ``python -m revline_testkit.devstack [--var-dir DIR] [--ready-timeout S]``.

What it does, in order:

1. Finds the services (``services/*/pyproject.toml`` with a ``<name>/main.py``;
   the folder name is the package, so ``python -m <name>`` runs it) and plans each one from its own
   settings class: port and host (the settings defaults are the dev ports,
   ``<NAME>_PORT`` / ``<NAME>_HOST`` override them) and database
   (``sqlite+aiosqlite:///<var>/<name>.db`` unless ``<NAME>_DATABASE_URL`` is set;
   with ``REVLINE_DATABASE=postgresql``, database ``<name>`` of the stack's PostgreSQL).
   A port that is taken, or wanted twice, stops it before anything starts.
2. Creates ``<var>/dev-keys.json`` once (a random key per role) unless
   ``REVLINE_API_KEYS`` is set, and points every service at it.
3. With ``REVLINE_DATABASE=postgresql`` (default ``sqlite``): starts PostgreSQL 15
   on 127.0.0.1 and ``REVLINE_POSTGRES_PORT`` (default: a free port, so the URLs
   change between runs; they are printed), as one of its processes, from the
   cluster kept in ``<var>/postgres`` (made by initdb on the first run, as the
   ``postgres`` OS user when run as root, reused after), and creates each
   service's database when it is missing (``KeptPostgres``). Then starts Tansu on
   ``REVLINE_BROKER_PORT`` (default 9092) through ``python -m revline_testkit.broker``.
4. Republishes every service's event store (see below), then starts each
   service as ``python -m <name> serve`` and waits until its ``/readyz`` is 200.
5. Prints the URLs and the API keys, then supervises. A service that exits on
   its own once the stack is ready (a crash, SIGKILL, the OOM killer) is
   started again after a backoff (0.5 s, doubling up to 10 s, back to 0.5 s
   once a run stayed up for 30 s), with a line saying which service exited,
   its exit code and when it restarts, and another once its /readyz is 200
   again; the other services keep serving. The broker is restarted the same
   way (same backoff), and since its log was in memory, every service is then
   asked to publish its whole event store again (``POST /v1/admin/republish``
   with the admin key, once it serves), while it keeps serving. A service that
   exits before the stack is first ready (a broken setting or migration), or a
   broker that does not come back, still stops the whole stack.
   Ctrl-C, SIGTERM or SIGHUP stops the services (SIGTERM, then SIGKILL after
   a grace period), then the broker and PostgreSQL (a fast shutdown). PostgreSQL
   exiting stops the whole stack (not restarted: it keeps its data, so a crash
   there is worth a look at ``log/postgres.log`` before running again).

Why republish on every start: the dev broker keeps its log in memory, so each
run starts with an empty broker while the services' databases under var/ keep
their event stores with every outbox row marked sent. Downstream services could
then never rebuild from the log. So before serving, each service's own topic is
created (with its configured partition count: a producer naming an unknown
topic would make Tansu create it with its own default) and
``python -m <name> republish`` queues and publishes the whole event store again.
Consumers de-duplicate by event_id, so nothing doubles. It runs before
``serve`` because on SQLite nothing stops two relays publishing the same rows,
and it applies the migrations first, so a broken migration shows up here. A
database new to this run (no SQLite file yet, or created just now on the stack's
PostgreSQL) has nothing to publish again and is skipped: ``serve`` migrates it.

Every path is under the var dir (``--var-dir``, else ``REVLINE_VAR_DIR``, else
``var``): databases (``postgres/`` on PostgreSQL), ``log/<name>.log``,
``log/broker.log``, ``log/postgres.log``, ``dev-keys.json``.
Each run truncates the logs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import importlib
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from pydantic import ValidationError
from revline_events.topics import ensure_topics, events_topic
from revline_service.auth import KeyConfigError, Role, dev_keys, parse_keys
from revline_service.settings import ServiceSettings
from sqlalchemy.engine import make_url

from revline_testkit.broker import free_loopback_port
from revline_testkit.postgres import READY_MARK as POSTGRES_READY_MARK
from revline_testkit.postgres import KeptPostgres, PostgresError

ROOT = Path(__file__).resolve().parents[3]
# Services start (and are listed) in the order events flow; others follow by name.
FLOW_ORDER = ("quote", "contract", "order", "billing", "ledger")
DEFAULT_BROKER_PORT = 9092
LOOPBACK = "127.0.0.1"
READY_LINE = "Revline dev stack is ready"
BROKER_READY_MARK = "tansu listening on"
SERVICE_GRACE_S = 20.0  # a service finishes the event in hand, commits, stops
BROKER_GRACE_S = 15.0  # the broker wrapper stops Tansu within 10 s
POSTGRES_GRACE_S = 30.0  # a fast shutdown writes a checkpoint
DATABASES = ("sqlite", "postgresql")  # REVLINE_DATABASE
STEP_TIMEOUT_S = 60.0  # republish of one service's event store
LOG_TAIL_LINES = 40
RESTART_FIRST_DELAY_S = 0.5  # a service that exited starts again after this ...
RESTART_MAX_DELAY_S = 10.0  # ... doubling on each exit in a row, up to this
RESTART_STABLE_AFTER_S = 30.0  # a run that stayed up this long resets the delay
WATCH_INTERVAL_S = 0.2


class DevStackError(RuntimeError):
    """The dev stack cannot start or keep running; the message says why and what to do."""


class StopRequested(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived: stop everything cleanly."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# -- the services of the workspace ---------------------------------------------------------


def discover_services(root: Path = ROOT) -> list[str]:
    """Names of the services in the work tree, flow order.

    A service is a workspace member `services/<name>/pyproject.toml` whose package
    has an app to serve (`services/<name>/<name>/main.py`). A member that is only
    a domain so far (the ledger, before its service is built) is no service yet:
    nothing to run, migrate or deploy.
    """
    names = {
        path.parent.name
        for path in root.glob("services/*/pyproject.toml")
        if (path.parent / path.parent.name / "main.py").is_file()
    }
    known = [name for name in FLOW_ORDER if name in names]
    return known + sorted(names - set(known))


def settings_class(service: str) -> type[ServiceSettings]:
    """The ServiceSettings subclass defined in `<service>.settings`; LookupError otherwise."""
    module = importlib.import_module(f"{service}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise LookupError(f"{module.__name__} must define exactly one ServiceSettings subclass")
    return found[0]


def env_prefix(settings_cls: type[ServiceSettings]) -> str:
    """The prefix of the service's own variables, e.g. `QUOTE_`."""
    return str(settings_cls.model_config.get("env_prefix", ""))


@dataclass(frozen=True)
class PlannedService:
    """One service as the dev stack will run it."""

    name: str
    prefix: str
    host: str
    port: int
    database_url: str
    topic_partitions: int
    replication_factor: int
    log_path: Path

    @property
    def url(self) -> str:
        """Where a browser or client on this machine reaches it."""
        host = LOOPBACK if self.host in ("", "0.0.0.0", "::") else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def topic(self) -> str:
        """The topic it publishes on."""
        return events_topic(self.name)

    def env(self, base: Mapping[str, str], shared: Mapping[str, str]) -> dict[str, str]:
        """The child process's environment: `base` plus its own and the stack's settings."""
        return {
            **base,
            **shared,
            f"{self.prefix}DATABASE_URL": self.database_url,
            f"{self.prefix}HOST": self.host,
            f"{self.prefix}PORT": str(self.port),
            # A prefixed bootstrap would win over the shared one (settings.py).
            f"{self.prefix}KAFKA_BOOTSTRAP": shared["REVLINE_KAFKA_BOOTSTRAP"],
            "PYTHONUNBUFFERED": "1",
        }


def plan_service(
    name: str, var_dir: Path, environ: Mapping[str, str], database_url: str | None = None
) -> PlannedService:
    """Resolve a service's settings as its process will see them; DevStackError if invalid.

    The settings class reads this process's environment, so `environ` must be
    that environment (or a copy): it only decides whether the database is ours.
    Ours is `database_url` when given (the stack's PostgreSQL), else a SQLite file
    in `var_dir`.
    """
    try:
        cls = settings_class(name)
    except (ImportError, LookupError) as error:
        raise DevStackError(f"service {name}: cannot load its settings: {error}") from error
    prefix = env_prefix(cls)
    overrides: dict[str, Any] = {}
    if f"{prefix}DATABASE_URL" not in environ:
        overrides["database_url"] = database_url or f"sqlite+aiosqlite:///{var_dir / f'{name}.db'}"
    try:
        settings = cls(**overrides)
    except ValidationError as error:
        raise DevStackError(f"service {name}: invalid {prefix}* settings:\n{error}") from error
    return PlannedService(
        name=name,
        prefix=prefix,
        host=settings.host,
        port=settings.port,
        database_url=settings.database_url,
        topic_partitions=settings.topic_partitions,
        replication_factor=settings.replication_factor,
        log_path=var_dir / "log" / f"{name}.log",
    )


# -- ports -----------------------------------------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    """True when nothing may listen on host:port now (a socket in TIME_WAIT does not count)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return True
    return False


def check_ports(wanted: Sequence[tuple[str, str, int, str]]) -> None:
    """Raise DevStackError naming each port that is taken or wanted twice.

    `wanted` holds (who, host, port, variable that moves it).
    """
    problems: list[str] = []
    seen: dict[int, str] = {}
    for who, host, port, variable in wanted:
        if port in seen:
            problems.append(f"port {port} is wanted by both {seen[port]} and {who}: set {variable}")
            continue
        seen[port] = who
        try:
            taken = port_in_use(host, port)
        except socket.gaierror as error:
            problems.append(f"host {host!r} of {who} does not resolve: {error}")
            continue
        if taken:
            problems.append(
                f"port {port} on {host} ({who}) is already in use: stop what listens there "
                f"(a dev stack still running?) or set {variable}"
            )
    if problems:
        raise DevStackError("\n".join(problems))


# -- child processes ---------------------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """On Linux, a pre-exec hook that makes the child get SIGTERM when the dev stack dies.

    Covers a dev stack killed with SIGKILL, which cannot clean up: its
    children would otherwise keep the ports and make the next run fail.
    """
    if not sys.platform.startswith("linux"):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM))
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return hook


class Child:
    """A process of the stack, in its own process group, output appended to `log_path`.

    Its own process group keeps the terminal's Ctrl-C away from it: the dev
    stack alone decides when and how it stops (one SIGTERM, so uvicorn shuts
    down gracefully instead of forcing an exit on a second signal).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        user: pwd.struct_passwd | None = None,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.user = user  # run as this OS user (PostgreSQL, when the stack runs as root)
        self.cwd = cwd
        self.stop_signal = stop_signal  # what `terminate` sends
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self, *, stdout: int | None = None) -> None:
        """Spawn it; stdout goes to the log unless `stdout` (e.g. subprocess.PIPE) is given."""
        self.started_at = time.monotonic()
        as_user: dict[str, Any] = {}
        if self.user is not None:  # the hook runs after the switch, which would clear it
            as_user = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log if stdout is None else stdout,
                stderr=log,
                process_group=0,
                preexec_fn=_die_with_parent(os.getpid()),
                **as_user,
            )

    @property
    def pid(self) -> int | None:
        """Its process id once started."""
        return None if self.process is None else self.process.pid

    def exit_code(self) -> int | None:
        """None while it runs (or before it started), else its exit code."""
        return None if self.process is None else self.process.poll()

    def running(self) -> bool:
        """True between start and exit."""
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        """Ask it to stop (its stop signal, SIGTERM unless told, to the process only)."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, self.stop_signal)

    def kill(self) -> None:
        """SIGKILL its whole process group (the broker wrapper's Tansu too) and reap it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of its log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def stop_children(children: Iterable[Child], grace: float, hurry: Callable[[], bool]) -> None:
    """SIGTERM every child at once, wait up to `grace` s, then SIGKILL the stragglers.

    `hurry()` turning true (a second Ctrl-C) skips the rest of the wait.
    """
    running = [child for child in children if child.running()]
    for child in running:
        child.terminate()
    deadline = time.monotonic() + grace
    while any(child.running() for child in running):
        if hurry() or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    for child in running:
        if child.running():
            say(f"  {child.name} did not stop within {grace:.0f}s: killing it")
            child.kill()


# -- supervision -------------------------------------------------------------------------------


@dataclass
class Backoff:
    """The delay before a service's next restart: doubles per exit in a row, resets when stable."""

    first: float = RESTART_FIRST_DELAY_S
    most: float = RESTART_MAX_DELAY_S
    stable_after: float = RESTART_STABLE_AFTER_S
    _next: float = field(init=False, default=RESTART_FIRST_DELAY_S)

    def __post_init__(self) -> None:
        self._next = self.first

    def after_exit(self, stayed_up_s: float) -> float:
        """The delay to wait now that a run that lasted `stayed_up_s` exited."""
        if stayed_up_s >= self.stable_after:
            self._next = self.first
        delay = self._next
        self._next = min(self._next * 2, self.most)
        return delay


@dataclass
class Supervised:
    """What the dev stack knows about one running service between restarts."""

    plan: PlannedService
    backoff: Backoff
    started_at: float
    restarts: int = 0
    restart_at: float | None = None  # set while it waits to be started again
    awaiting_ready: bool = False  # started again, /readyz not yet 200
    republish: bool = False  # the broker restarted empty: ask it to publish its store again


def describe_exit(code: int | None) -> str:
    """`code 1`, or `code -9 (SIGKILL)` for a process a signal ended."""
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"code {code} ({signal.Signals(-code).name})"
    return f"code {code}"


# -- the stack ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the command line and environment asked for."""

    var_dir: Path
    broker_port: int
    ready_timeout: float
    database: str = "sqlite"  # or "postgresql": the stack runs PostgreSQL under var_dir
    postgres_port: int | None = None  # None: a free loopback port


class DevStack:
    """The broker and every service: started broker first, stopped services first."""

    def __init__(self, options: Options, environ: Mapping[str, str], root: Path = ROOT) -> None:
        self.options = options
        self.environ = dict(environ)
        self.root = root
        self.var_dir = options.var_dir
        self.log_dir = self.var_dir / "log"
        self.broker: Child | None = None
        self.postgres: KeptPostgres | None = None  # REVLINE_DATABASE=postgresql
        self.postgres_server: Child | None = None
        self.services: list[tuple[PlannedService, Child]] = []
        self.steps: list[Child] = []  # short-lived: republish
        self.new_stores: set[str] = set()  # services whose database this run created
        self.plans: list[PlannedService] = []
        self.keys_file: Path | None = None
        self.broker_backoff = Backoff()
        self._hurry = False

    @property
    def bootstrap(self) -> str:
        """The dev broker's address."""
        return f"{LOOPBACK}:{self.options.broker_port}"

    # -- start ----------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Plan every service, check ports and keys; starts nothing."""
        names = discover_services(self.root)
        if not names:
            raise DevStackError(f"no services found under {self.root / 'services'}")
        if self.options.database == "postgresql":
            port = self.options.postgres_port or free_loopback_port(LOOPBACK)
            self.postgres = KeptPostgres(self.var_dir / "postgres", port)
        self.plans = [
            plan_service(name, self.var_dir, self.environ, self._database_url(name))
            for name in names
        ]
        wanted = [(p.name, p.host, p.port, f"{p.prefix}PORT") for p in self.plans]
        wanted.insert(0, ("the broker", LOOPBACK, self.options.broker_port, "REVLINE_BROKER_PORT"))
        if self.postgres is not None:
            wanted.insert(1, ("PostgreSQL", LOOPBACK, self.postgres.port, "REVLINE_POSTGRES_PORT"))
        check_ports(wanted)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        api_keys = self.environ.get("REVLINE_API_KEYS")
        if api_keys:
            try:
                parse_keys(api_keys)
            except KeyConfigError as error:
                raise DevStackError(f"REVLINE_API_KEYS: {error}") from error
        else:
            configured = self.environ.get("REVLINE_DEV_KEYS_FILE")
            self.keys_file = Path(configured) if configured else self.var_dir / "dev-keys.json"
            self.keys_file = self.keys_file.resolve()
            dev_keys(self.keys_file)  # created once, kept across runs

    def _database_url(self, name: str) -> str | None:
        """The service's database on the stack's PostgreSQL; None on SQLite."""
        return None if self.postgres is None else self.postgres.url(name)

    def _own_databases(self) -> list[str]:
        """The services' databases the stack's PostgreSQL holds (no <NAME>_DATABASE_URL set)."""
        postgres = self.postgres
        assert postgres is not None
        return [plan.name for plan in self.plans if plan.database_url == postgres.url(plan.name)]

    def start_postgres(self) -> None:
        """Create the kept cluster on first use, start the server, create missing databases."""
        postgres = self.postgres
        if postgres is None:
            return
        log_path = self.log_dir / "postgres.log"
        log_path.write_bytes(b"")
        shown = _shown(postgres.data_dir)
        try:
            if not postgres.exists():
                say(f"creating the PostgreSQL cluster in {shown} (kept between runs)")
            postgres.prepare()
        except (PostgresError, OSError, KeyError) as error:
            raise DevStackError(f"PostgreSQL: {error}") from error
        env = {**self.environ, "LC_ALL": "C"}
        self.postgres_server = Child(
            "postgres",
            postgres.server_argv(),
            env,
            log_path,
            user=postgres.os_user(),
            cwd=postgres.root,
            stop_signal=signal.SIGINT,  # a fast shutdown: the services are gone by then
        )
        address = f"{LOOPBACK}:{postgres.port}"
        say(f"starting PostgreSQL on {address} (data: {shown}, log: {_shown(log_path)})")
        self.postgres_server.start()
        _wait_for_mark(self.postgres_server, POSTGRES_READY_MARK, self.options.ready_timeout)
        try:
            created = postgres.ensure_databases(self._own_databases())
        except PostgresError as error:
            raise DevStackError(f"PostgreSQL: {error}") from error
        if created:
            say(f"  created the databases {', '.join(created)}")
        self.new_stores.update(created)

    def start_broker(self, *, again: bool = False) -> None:
        """Start Tansu and wait until it answers Kafka requests (`again`: after it exited,
        keeping the earlier run's log above the new one's)."""
        log_path = self.log_dir / "broker.log"
        if not again:
            log_path.write_bytes(b"")
        seen = log_path.stat().st_size
        argv = [sys.executable, "-m", "revline_testkit.broker"]
        argv += ["--port", str(self.options.broker_port), "--host", LOOPBACK]
        self.broker = Child("broker", argv, {**self.environ, "PYTHONUNBUFFERED": "1"}, log_path)
        say(f"starting the Tansu broker on {self.bootstrap} (log: {_shown(log_path)})")
        self.broker.start()
        within = min(self.options.ready_timeout, 30.0)
        deadline = time.monotonic() + within
        while BROKER_READY_MARK not in log_path.read_bytes()[seen:].decode(errors="replace"):
            if not self.broker.running():
                raise DevStackError(
                    f"the broker exited with code {self.broker.exit_code()}\n"
                    f"--- {_shown(log_path)} ---\n{self.broker.log_tail()}"
                )
            if time.monotonic() >= deadline:
                raise DevStackError(
                    f"the broker did not answer within {within:.0f}s\n"
                    f"--- {_shown(log_path)} ---\n{self.broker.log_tail()}"
                )
            time.sleep(0.05)

    def restart_broker(self, supervised: Mapping[str, Supervised]) -> None:
        """The broker exited: start it again after its backoff, and have every service
        publish its whole event store again once it is ready (the log was in memory)."""
        assert self.broker is not None
        delay = self.broker_backoff.after_exit(time.monotonic() - self.broker.started_at)
        say(
            f"the broker exited with {describe_exit(self.broker.exit_code())}: its log was in "
            f"memory; starting it again in {delay:g}s, then every service republishes"
        )
        time.sleep(delay)
        self.start_broker(again=True)
        for state in supervised.values():
            state.republish = True

    def republish_live(self, client: httpx.Client, state: Supervised) -> None:
        """Ask a serving service to publish its event store again (POST /v1/admin/republish)."""
        key = self.admin_key()
        if key is None:
            say(f"  {state.plan.name}: no admin key to ask it to republish (REVLINE_API_KEYS); "
                f"run `python -m {state.plan.name} republish` by hand")  # fmt: skip
            state.republish = False
            return
        try:
            answer = client.post(
                f"{state.plan.url}/v1/admin/republish", headers={"Authorization": f"Bearer {key}"}
            )
        except httpx.TransportError:
            return  # not serving right now: asked again on the next pass
        if answer.status_code == 202:
            state.republish = False
            say(f"  {state.plan.name}: republishing {answer.json()['queued']} events "
                f"to {state.plan.topic}")  # fmt: skip

    def admin_key(self) -> str | None:
        """The admin key the services accept (see `admin_key`)."""
        return admin_key(self.keys_file, self.environ)

    def shared_env(self) -> dict[str, str]:
        """What every service gets: the broker and, unless keys are configured, the keys file."""
        shared = {"REVLINE_KAFKA_BOOTSTRAP": self.bootstrap}
        # The dev broker answers a group join after half the session timeout.
        shared.setdefault("REVLINE_CONSUMER_SESSION_TIMEOUT_MS", "2000")
        if self.keys_file is not None:
            shared["REVLINE_DEV_KEYS_FILE"] = str(self.keys_file)
        return shared

    def republish(self) -> None:
        """Create each service's topic, then publish its event store again (module doc)."""
        try:
            asyncio.run(self._create_topics())
        except Exception as error:  # whatever aiokafka raises, said plainly
            raise DevStackError(f"creating the services' topics failed: {error!r}") from error
        steps: list[tuple[PlannedService, Child]] = []
        for plan in self.plans:
            plan.log_path.write_bytes(b"")
            if self._store_is_new(plan):
                # Nothing to publish again: a process (imports, migrations) saved per service.
                say(f"  {plan.name}: a new database, nothing to republish")
                continue
            env = plan.env(self.environ, self.shared_env())
            argv = _service_argv(plan, "republish")
            child = Child(f"{plan.name} republish", argv, env, plan.log_path)
            self.steps.append(child)  # before start: a signal in between still stops it
            child.start(stdout=subprocess.PIPE)
            steps.append((plan, child))
        failures: list[str] = []
        for plan, child in steps:
            assert child.process is not None
            try:
                out, _ = child.process.communicate(timeout=STEP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()
                failures.append(f"{plan.name}: republish took over {STEP_TIMEOUT_S:.0f}s")
                continue
            if child.process.returncode != 0:
                failures.append(
                    f"{plan.name}: republish exited with code {child.process.returncode}\n"
                    f"--- {_shown(plan.log_path)} ---\n{child.log_tail()}"
                )
                continue
            say(f"  {plan.name}: republished {_republished(out)} events to {plan.topic}")
        if failures:
            raise DevStackError("\n".join(failures))

    def _store_is_new(self, plan: PlannedService) -> bool:
        """True when the service's database did not exist before this run: its SQLite
        file is not there yet, or the stack's PostgreSQL created it just now."""
        if plan.name in self.new_stores:
            return True
        url = make_url(plan.database_url)
        database = url.database
        if url.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
            return False
        return not Path(str(database)).exists()

    async def _create_topics(self) -> None:
        await asyncio.gather(
            *(
                ensure_topics(
                    self.bootstrap,
                    [plan.topic],
                    partitions=plan.topic_partitions,
                    replication_factor=plan.replication_factor,
                )
                for plan in self.plans
            )
        )

    def _service_env(self, plan: PlannedService) -> dict[str, str]:
        return plan.env(self.environ, self.shared_env())

    def start_services(self) -> None:
        """Start `python -m <name> serve` for each service (returns at once)."""
        for plan in self.plans:
            child = Child(
                plan.name, _service_argv(plan, "serve"), self._service_env(plan), plan.log_path
            )
            self.services.append((plan, child))  # before start: a signal in between still stops it
            child.start()
            say(f"starting {plan.name} on {plan.url} (log: {_shown(plan.log_path)})")

    def wait_ready(self) -> None:
        """Return when every service's /readyz is 200; DevStackError with the log tail if not."""
        deadline = time.monotonic() + self.options.ready_timeout
        pending = list(self.services)
        last: dict[str, str] = {}
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for plan, child in list(pending):
                    if not child.running():
                        raise DevStackError(
                            f"{plan.name} exited with code {child.exit_code()} before it was "
                            f"ready\n--- {_shown(plan.log_path)} ---\n{child.log_tail()}"
                        )
                    try:
                        response = client.get(f"{plan.url}/readyz")
                    except httpx.TransportError as error:
                        last[plan.name] = f"no answer ({type(error).__name__})"
                        continue
                    if response.status_code == 200:
                        pending.remove((plan, child))
                        say(f"  {plan.name} is ready")
                    else:
                        last[plan.name] = f"{response.status_code} {response.text}"
                if pending and time.monotonic() >= deadline:
                    plan, child = pending[0]
                    raise DevStackError(
                        f"{plan.name} was not ready within {self.options.ready_timeout:.0f}s "
                        f"(/readyz: {last.get(plan.name, 'never asked')})\n"
                        f"--- {_shown(plan.log_path)} ---\n{child.log_tail()}"
                    )
                if pending:
                    time.sleep(0.1)

    def announce(self) -> None:
        """Print the URLs and the API keys, then the ready line."""
        width = max(len(name) for name in ["broker", *(plan.name for plan in self.plans)])
        say("")
        say(f"  {'broker'.ljust(width)}  {self.bootstrap}  (Tansu, in memory)")
        for plan in self.plans:
            say(
                f"  {plan.name.ljust(width)}  {plan.url}  docs {plan.url}/docs"
                f"  log {_shown(plan.log_path)}"
            )
        say("")
        if self.postgres is not None:
            say(
                f"Databases (PostgreSQL 15 on {LOOPBACK}:{self.postgres.port}, "
                f"data {_shown(self.postgres.data_dir)}, kept between runs):"
            )
        else:
            say("Databases (SQLite, kept between runs):")
        for plan in self.plans:
            say(f"  {plan.name.ljust(width)}  {plan.database_url}")
        say("")
        if self.keys_file is None:
            say("API keys: from REVLINE_API_KEYS (send 'Authorization: Bearer <key>')")
        else:
            say(f"API keys ({_shown(self.keys_file)}; send 'Authorization: Bearer <key>'):")
            by_role: dict[str, str] = json.loads(self.keys_file.read_text())
            for role, key in by_role.items():
                say(f"  {role.ljust(8)} {key}")
        say("")
        say(f"{READY_LINE}: {len(self.plans)} service(s). Ctrl-C stops everything.")

    # -- run and stop ---------------------------------------------------------------------------

    def watch(self) -> None:
        """Supervise until a signal arrives (StopRequested) or the broker cannot be restarted
        (DevStackError).

        A service that exits is started again after its backoff (module doc).
        """
        now = time.monotonic()
        supervised = {
            plan.name: Supervised(plan, Backoff(), started_at=now) for plan, _ in self.services
        }
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self.broker is not None and not self.broker.running():
                    self.restart_broker(supervised)
                postgres = self.postgres_server
                if postgres is not None and not postgres.running():
                    raise DevStackError(
                        f"PostgreSQL exited with code {postgres.exit_code()}\n"
                        f"--- {_shown(postgres.log_path)} ---\n{postgres.log_tail()}"
                    )
                for index, (plan, child) in enumerate(self.services):
                    state = supervised[plan.name]
                    if state.restart_at is None and not child.running():
                        self._schedule_restart(state, child)
                    elif state.restart_at is not None and time.monotonic() >= state.restart_at:
                        self._restart(index, state)
                    elif state.awaiting_ready and _ready(client, plan):
                        state.awaiting_ready = False
                        say(f"  {plan.name} is ready again")
                    elif state.republish and not state.awaiting_ready and child.running():
                        self.republish_live(client, state)
                time.sleep(WATCH_INTERVAL_S)

    def _schedule_restart(self, state: Supervised, child: Child) -> None:
        now = time.monotonic()
        delay = state.backoff.after_exit(now - state.started_at)
        state.restart_at = now + delay
        state.awaiting_ready = False
        say(
            f"{state.plan.name} exited with {describe_exit(child.exit_code())}: restarting it in "
            f"{delay:g}s (the other services keep serving; log: {_shown(state.plan.log_path)})"
        )

    def _restart(self, index: int, state: Supervised) -> None:
        plan = state.plan
        child = Child(
            plan.name, _service_argv(plan, "serve"), self._service_env(plan), plan.log_path
        )
        self.services[index] = (plan, child)  # before start: a signal in between still stops it
        state.restart_at = None
        state.restarts += 1
        state.started_at = time.monotonic()
        state.awaiting_ready = True
        child.start()
        say(f"restarted {plan.name} (restart {state.restarts}, pid {child.pid})")

    def hurry(self) -> None:
        """A second signal during shutdown: stop waiting, kill what is left."""
        self._hurry = True

    def stop(self) -> None:
        """Stop the services (gracefully, all at once), then the broker and PostgreSQL (at
        once). Idempotent."""
        children = [*self.steps, *(child for _, child in self.services)]
        if any(child.running() for child in children):
            say("stopping the services ...")
        stop_children(children, SERVICE_GRACE_S, lambda: self._hurry)
        backing = [child for child in (self.broker, self.postgres_server) if child is not None]
        if any(child.running() for child in backing):
            say(f"stopping {' and '.join(_called(child) for child in backing)} ...")
        grace = POSTGRES_GRACE_S if self.postgres_server is not None else BROKER_GRACE_S
        stop_children(backing, grace, lambda: self._hurry)

    def run(self) -> None:
        """Start everything, announce it, and block until told to stop (see `main`)."""
        self.prepare()
        self.start_postgres()
        self.start_broker()
        say("republishing each service's event store to the fresh broker")
        self.republish()
        self.start_services()
        self.wait_ready()
        self.announce()
        self.watch()


def _wait_for_mark(child: Child, mark: str, within: float) -> None:
    """Return once `mark` is in the child's log; DevStackError if it exits or takes too long."""
    deadline = time.monotonic() + within
    while mark not in child.log_path.read_text(errors="replace"):
        if not child.running():
            raise DevStackError(
                f"{_called(child)} exited with code {child.exit_code()}\n"
                f"--- {_shown(child.log_path)} ---\n{child.log_tail()}"
            )
        if time.monotonic() >= deadline:
            raise DevStackError(
                f"{_called(child)} did not answer within {within:.0f}s\n"
                f"--- {_shown(child.log_path)} ---\n{child.log_tail()}"
            )
        time.sleep(0.05)


def _called(child: Child) -> str:
    return "the broker" if child.name == "broker" else "PostgreSQL"


def admin_key(keys_file: Path | None, environ: Mapping[str, str]) -> str | None:
    """The admin key the stack's services accept: `keys_file`'s (dev-keys.json) when the
    stack made one, else the first admin key of REVLINE_API_KEYS; None when neither has."""
    if keys_file is not None:
        key: str = json.loads(keys_file.read_text())["admin"]
        return key
    configured = environ.get("REVLINE_API_KEYS")
    keys = parse_keys(configured) if configured else {}
    return next((key for key, role in keys.items() if role is Role.ADMIN), None)


def _ready(client: httpx.Client, plan: PlannedService) -> bool:
    try:
        return client.get(f"{plan.url}/readyz").status_code == 200
    except httpx.TransportError:
        return False


def _service_argv(plan: PlannedService, command: str) -> list[str]:
    return [sys.executable, "-m", plan.name, command]


def _republished(stdout: bytes) -> str:
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return str(json.loads(line)["republished"])
    return "?"


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def say(line: str) -> None:
    """Print one line of progress at once (stdout may be a pipe)."""
    print(line, flush=True)


# -- command line ------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Options:
    """Options from the command line, falling back to REVLINE_VAR_DIR and REVLINE_BROKER_PORT."""
    parser = argparse.ArgumentParser(
        prog="python -m revline_testkit.devstack",
        description="Run the Tansu broker and every service for development (make run).",
    )
    parser.add_argument(
        "--var-dir",
        type=Path,
        default=Path(environ.get("REVLINE_VAR_DIR") or "var"),
        help="databases, logs and dev-keys.json (default: $REVLINE_VAR_DIR or ./var)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=60.0,
        help="seconds each start-up step may take (default 60)",
    )
    args = parser.parse_args(argv)
    raw_port = environ.get("REVLINE_BROKER_PORT") or str(DEFAULT_BROKER_PORT)
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
        parser.error(f"REVLINE_BROKER_PORT must be a port number, got {raw_port!r}")
    database = environ.get("REVLINE_DATABASE") or "sqlite"
    if database not in DATABASES:
        parser.error(f"REVLINE_DATABASE must be one of {', '.join(DATABASES)}, got {database!r}")
    raw_pg_port = environ.get("REVLINE_POSTGRES_PORT") or None
    if raw_pg_port is not None and (
        not raw_pg_port.isdigit() or not 1 <= int(raw_pg_port) <= 65535
    ):
        parser.error(f"REVLINE_POSTGRES_PORT must be a port number, got {raw_pg_port!r}")
    return Options(
        var_dir=args.var_dir.resolve(),
        broker_port=int(raw_port),
        ready_timeout=args.ready_timeout,
        database=database,
        postgres_port=int(raw_pg_port) if raw_pg_port is not None else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the dev stack until Ctrl-C, SIGTERM or SIGHUP; 0 after a requested stop, else 1."""
    options = parse_options(argv, os.environ)
    stack = DevStack(options, os.environ)

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        raise StopRequested(signum)

    def during_shutdown(_signum: int, _frame: FrameType | None) -> None:
        stack.hurry()

    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for signum in handled:
        signal.signal(signum, request_stop)
    code = 0
    try:
        stack.run()
    except StopRequested as stop:
        say(f"\n{stop.args[0]} received")
    except DevStackError as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        code = 1
    finally:
        for signum in handled:
            signal.signal(signum, during_shutdown)
        stack.stop()
    if code == 0:
        say("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
