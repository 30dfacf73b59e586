"""Drive headless Chromium over the Chrome DevTools Protocol, through a pipe.

`chromium --remote-debugging-pipe` reads DevTools commands on its file descriptor 3
and writes answers and events on 4, each a JSON text ending in a NUL byte: no port,
no WebSocket library, nothing downloaded. A test uses `Browser` to load pages, fill
and submit forms, read the DOM as rendered, read cookies and take screenshots, as a
person's browser would. Like `browser.dump_dom`, every request to a host other than
loopback goes to a `RecordingProxy` that refuses and notes it, and host names do not
resolve (`--host-resolver-rules`): the page gets no network but loopback.

Blocking calls: a test serving the app in its own event loop runs the browser's
steps in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from revline_testkit.browser import QUIET_FLAGS, RecordingProxy, ensure_chromium

NO_NAMES = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
Message = dict[str, Any]


class Browser:
    """One headless Chromium and one page (tab) in it, driven over the DevTools pipe."""

    def __init__(self, *, width: int = 1400, height: int = 900, timeout_s: float = 30.0) -> None:
        self.width, self.height, self.timeout_s = width, height, timeout_s
        self.proxy = RecordingProxy()
        self._profile = tempfile.TemporaryDirectory()
        self._process: subprocess.Popen[bytes] | None = None
        self._to_browser: int | None = None
        self._from_browser: int | None = None
        self._messages: list[Message] = []
        self._arrived = threading.Condition()
        self._reader: threading.Thread | None = None
        self._next_id = 0
        self._session: str | None = None
        self.stderr_path = Path(self._profile.name) / "chromium.log"

    # -- life ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.proxy.start()
        chromium = ensure_chromium()
        commands_r, commands_w = os.pipe()
        answers_r, answers_w = os.pipe()

        def descriptors_3_and_4() -> None:  # in the child, before exec
            a, b = os.dup(commands_r), os.dup(answers_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        argv = [
            chromium,
            *QUIET_FLAGS,
            f"--user-data-dir={self._profile.name}",
            f"--proxy-server=http://{self.proxy.address}",
            f"--host-resolver-rules={NO_NAMES}",
            "--remote-debugging-pipe",
            f"--window-size={self.width},{self.height}",
            "--hide-scrollbars",
            "about:blank",
        ]
        with self.stderr_path.open("wb") as log:
            # The pipe's ends must be fds 3 and 4 in the child: dup2 there, and keep the
            # fds open (the child inherits only inheritable ones: these two; PEP 446).
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                close_fds=False,
                preexec_fn=descriptors_3_and_4,
            )
        os.close(commands_r)
        os.close(answers_w)
        self._to_browser, self._from_browser = commands_w, answers_r
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._attach()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(Exception):
            self._call("Browser.close", session=False, timeout_s=5)
        if self._process is not None:
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        for fd in (self._to_browser, self._from_browser):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self._reader is not None:
            self._reader.join(5)
        self.proxy.stop()
        self._profile.cleanup()

    def _read(self) -> None:
        assert self._from_browser is not None
        pending = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._arrived:
                    self._arrived.notify_all()
                return
            pending += chunk
            *whole, pending = pending.split(b"\0")
            with self._arrived:
                self._messages.extend(json.loads(text) for text in whole if text)
                self._arrived.notify_all()

    # -- protocol --------------------------------------------------------------------------

    def _wait(self, found: Callable[[Message], bool], timeout_s: float, what: str) -> Message:
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while True:
                for message in self._messages:
                    if found(message):
                        self._messages.remove(message)
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or (self._process is not None and self._process.poll() is not None):
                    log = self.stderr_path.read_text(errors="replace")[-2000:]
                    raise TimeoutError(f"chromium: no {what} within {timeout_s}s\n{log}")
                self._arrived.wait(min(left, 0.5))

    def _call(
        self, method: str, params: Message | None = None, *, session: bool = True,
        timeout_s: float | None = None,
    ) -> Message:  # fmt: skip
        """Send a command (to the page's session unless `session` is False); its result."""
        assert self._to_browser is not None
        self._next_id += 1
        ask: Message = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self._session is not None:
            ask["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(ask).encode() + b"\0")
        asked = self._next_id
        answer = self._wait(lambda m: m.get("id") == asked, timeout_s or self.timeout_s, method)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: Message = answer.get("result", {})
        return result

    def _attach(self) -> None:
        targets = self._call("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self._session = self._call(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
            session=False,
        )["sessionId"]  # fmt: skip
        for domain in ("Page", "Network", "Runtime"):
            self._call(f"{domain}.enable")
        self._call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
        )

    def _event(self, method: str) -> Callable[[Message], bool]:
        return lambda m: m.get("method") == method and m.get("sessionId") == self._session

    def _drop(self, method: str) -> None:
        with self._arrived:
            self._messages[:] = [m for m in self._messages if m.get("method") != method]

    # -- what a test does ------------------------------------------------------------------

    @contextlib.contextmanager
    def _navigation(self) -> Iterator[list[int]]:
        """Around a step that loads a page: waits for its load event; yields a list that
        ends up holding the status of the top document's last response."""
        self._drop("Page.loadEventFired")
        self._drop("Network.responseReceived")
        statuses: list[int] = []
        yield statuses
        self._wait(self._event("Page.loadEventFired"), self.timeout_s, "page load")
        with self._arrived:
            documents = [
                m["params"]["response"]["status"]
                for m in self._messages
                if m.get("method") == "Network.responseReceived"
                and m["params"].get("type") == "Document"
            ]
        statuses += documents[-1:]

    def goto(self, url: str) -> int:
        """Load `url` and wait for its load event; the document's HTTP status."""
        with self._navigation() as statuses:
            self._call("Page.navigate", {"url": url})
        return statuses[0]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (the test's script, not the
        page's: the page itself has none)."""
        answer = self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def submit(self, form_id: str, **fields: str) -> int:
        """Fill the named fields of a form, submit it as a person would (its button), and
        wait for the page it leads to; that document's HTTP status."""
        fill = "".join(
            f"f.elements[{json.dumps(name)}].value = {json.dumps(value)};"
            for name, value in fields.items()
        )
        script = (
            f"(() => {{ const f = document.getElementById({json.dumps(form_id)}); {fill}"
            "f.requestSubmit(); return true; })()"
        )
        with self._navigation() as statuses:
            self.evaluate(script)
        return statuses[0]

    def dom(self) -> str:
        """The document as rendered now (outerHTML)."""
        html: str = self.evaluate("document.documentElement.outerHTML")
        return html

    def cookies(self) -> list[Message]:
        """The browser's cookies for the current page (name, value, httpOnly, sameSite...)."""
        found: list[Message] = self._call("Network.getCookies")["cookies"]
        return found

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page (beyond the window's height) at `path`."""
        shot = self._call(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    @property
    def outside_requests(self) -> list[str]:
        """Requests the page tried to send to another host (refused by the proxy)."""
        return list(self.proxy.requests)
