"""`make run` as a child process for tests: start it on free ports under a tmp dir, read
what it prints, find its processes (to kill one), stop it.

Every port is a free one and every file lives under the test's directory, so the
repository's var/ and a developer's running stack are never touched.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from revline_testkit.devstack import READY_LINE, discover_services, env_prefix, settings_class
from revline_testkit.live import free_port

URL_LINE = re.compile(r"^\s+(?P<name>\S+)\s+(?P<url>http://\S+)\s+docs\s")


class StackFailure(AssertionError):
    """The stack did not do what a test waited for (with its output)."""


@dataclass
class Ports:
    """The ports one test gives the stack (the same for every run of it)."""

    broker: int = field(default_factory=free_port)
    services: dict[str, int] = field(
        default_factory=lambda: {name: free_port() for name in discover_services()}
    )

    def all(self) -> list[int]:
        return [self.broker, *self.services.values()]

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker}"


@dataclass
class RunningStack:
    """A started `python -m revline_testkit.devstack` and what it printed."""

    process: subprocess.Popen[str]
    lines: list[str]
    ready: threading.Event

    def output(self) -> str:
        return "\n".join(self.lines)

    def urls(self) -> dict[str, str]:
        found = (URL_LINE.match(line) for line in self.lines)
        return {m["name"]: m["url"] for m in found if m is not None}

    def wait_ready(self, within: float = 120.0) -> None:
        """Return once the stack printed its ready line."""
        deadline = time.monotonic() + within
        while not self.ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                time.sleep(0.2)  # let the reader catch the last lines
                raise StackFailure(f"the dev stack never said it was ready:\n{self.output()}")

    def wait_for_line(self, pattern: str, within: float = 90.0, after: int = 0) -> str:
        """The first line matching `pattern` (from line `after` on), once it is printed."""
        wanted = re.compile(pattern)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for line in list(self.lines)[after:]:
                if wanted.search(line):
                    return line
            time.sleep(0.05)
        raise StackFailure(f"no line matching {pattern!r} within {within:.0f}s:\n{self.output()}")

    def service_pid(self, name: str) -> int:
        """The pid of `python -m <name> serve` under the stack."""
        return self._one(lambda argv: argv[1:4] == [b"-m", name.encode(), b"serve"], name)

    def tansu_pid(self) -> int:
        """The Tansu process under the stack's broker wrapper."""
        return self._one(lambda argv: argv[1:2] == [b"broker"], "tansu")

    def _one(self, match: Callable[[list[bytes]], bool], what: str) -> int:
        found = []
        for pid in descendants(self.process.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if match(argv):
                found.append(pid)
        if len(found) != 1:
            raise StackFailure(f"{len(found)} {what} processes under the stack: {found}")
        return found[0]


def stack_env(
    tmp_path: Path, ports: Ports, more_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment less anything that would point the stack elsewhere, plus the ports."""
    services = list(ports.services)
    prefixes = ["REVLINE_", *(env_prefix(settings_class(name)) for name in services)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(prefixes))}
    env["REVLINE_BROKER_PORT"] = str(ports.broker)
    env["REVLINE_VAR_DIR"] = str(tmp_path / "var")
    for name, port in ports.services.items():
        env[f"{env_prefix(settings_class(name))}PORT"] = str(port)
    env.update(more_env or {})
    return env


@contextmanager
def dev_stack(
    tmp_path: Path, ports: Ports, more_env: Mapping[str, str] | None = None
) -> Iterator[RunningStack]:
    """Start the stack in tmp_path; make sure it is gone afterwards, whatever happened."""
    process = subprocess.Popen(
        [sys.executable, "-m", "revline_testkit.devstack"],
        cwd=tmp_path,
        env=stack_env(tmp_path, ports, more_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = RunningStack(process, [], threading.Event())

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            stack.lines.append(line.rstrip("\n"))
            if READY_LINE in line:
                stack.ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()  # its children get SIGTERM from the kernel (PDEATHSIG)
                process.wait()
        reader.join(5)


def proc_stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a live process, else None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), fields[19]


def descendants(root: int) -> dict[int, str]:
    """Every process below `root` (pid -> start time, to tell a reused pid apart)."""
    parents: dict[int, int] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[1]
            started[int(entry.name)] = stat[2]
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = started[pid]
                frontier.append(pid)
    return found
