"""Headless Chromium for tests that load a page as a person would, with no network but loopback.

Usage: ``python -m revline_testkit.browser`` (``make browser``) installs Debian's
``chromium`` package when no ``chromium`` is on the PATH; tests call
`ensure_chromium()`, which does the same, so nothing is installed by hand.

`dump_dom()` loads a URL with ``chromium --headless --dump-dom`` and returns the
DOM once the page's scripts ran (``--virtual-time-budget``). Every request the
page makes to a host other than loopback is sent to a `RecordingProxy` on
127.0.0.1 (Chromium never proxies loopback addresses), which notes it and
refuses it: so a test both keeps all traffic on this machine and learns which
outside URL the page wanted, if any.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "chromium"
APT_TIMEOUT_S = 600.0
# Chromium's own traffic (component updates, network time, sign-in, field trials): off, or
# pointed at a closed loopback port (the discard port), so that the proxy hears only what
# the page asks for.
NOWHERE = "http://127.0.0.1:9/"
QUIET_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container: the sandbox needs user namespaces
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    f"--component-updater=url-source={NOWHERE}",
    f"--gaia-url={NOWHERE}",
    "--disable-field-trial-config",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
    "AutofillServerCommunication",
)


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed and could not be installed; the message says why."""


def ensure_chromium() -> str:
    """The path of `chromium`, installing Debian's package first if it is missing."""
    found = shutil.which(CHROMIUM)
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise BrowserUnavailable("no chromium on the PATH and no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", CHROMIUM]
    steps = (["apt-get", "update"], install)
    for step in steps:
        done = subprocess.run(
            step, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S, check=False
        )
        if done.returncode != 0:
            raise BrowserUnavailable(
                f"{' '.join(step)} exited with code {done.returncode} "
                f"(blocked: no package mirror?):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
    found = shutil.which(CHROMIUM)
    if not found:
        raise BrowserUnavailable(f"apt-get installed {CHROMIUM} but it is not on the PATH")
    return found


@dataclass
class RecordingProxy:
    """An HTTP proxy on loopback that refuses every request and notes its first line."""

    requests: list[str] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """host:port for --proxy-server."""
        assert self._sock is not None, "start() first"
        host, port = self._sock.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> None:
        """Listen on a free loopback port and answer in a background thread."""
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the socket; the thread ends with it."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        if self._thread is not None:
            self._thread.join(5)

    def _serve(self) -> None:
        assert self._sock is not None
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5.0)
                with contextlib.suppress(OSError):
                    head = conn.recv(4096).decode("latin-1")
                    self.requests.append(head.split("\r\n", 1)[0])
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


@contextlib.contextmanager
def recording_proxy() -> Iterator[RecordingProxy]:
    """A started RecordingProxy, stopped on exit."""
    proxy = RecordingProxy()
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@dataclass(frozen=True)
class LoadedPage:
    """What headless Chromium saw: the DOM after the scripts ran, and outside requests."""

    dom: str
    outside_requests: list[str]


def dump_dom(url: str, *, budget_ms: int = 15000, timeout_s: float = 90.0) -> LoadedPage:
    """Load `url` in headless Chromium with no network but loopback; its DOM and outside asks."""
    chromium = ensure_chromium()
    with recording_proxy() as proxy, tempfile.TemporaryDirectory() as profile:
        argv = [
            chromium,
            *QUIET_FLAGS,
            f"--user-data-dir={Path(profile)}",
            f"--proxy-server=http://{proxy.address}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"chromium exited with code {done.returncode}:\n{done.stderr[-3000:]}"
            )
        return LoadedPage(dom=done.stdout, outside_requests=list(proxy.requests))


def main() -> int:
    """`make browser`: install chromium when missing, print its path."""
    try:
        print(ensure_chromium())
    except BrowserUnavailable as error:
        print(f"make browser: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
