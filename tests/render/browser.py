"""Headless Chromium driven over the DevTools protocol on a pipe: what reviewers' browsers do, for real.

No browser-automation package is needed: ``--remote-debugging-pipe`` makes Chromium read
NUL-terminated JSON commands on fd 3 and write replies and events on fd 4, which is a
few dozen lines here. One :class:`Browser` per test module (starting one costs about a
second); pages are tabs in it.

The machine's network is closed and the tests must not reach out anyway: every flag that
makes Chromium phone home is set, and the profile is a fresh temporary directory.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "tests" / "npm" / "node_modules"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--disable-dev-shm-usage",
         "--font-render-hinting=none", "--remote-debugging-pipe")
#: How long one protocol call may take before the test fails (a wait, not a measured assertion).
CALL_TIMEOUT = 120.0


class BrowserMissing(RuntimeError):
    """Chromium or the pinned npm packages are not installed: run ``bash scripts/test-deps.sh``."""


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing("chromium not found — run `bash scripts/test-deps.sh` as root (Debian package 'chromium')")


def npm_file(relative: str) -> Path:
    path = NODE_MODULES / relative
    if not path.is_file():
        raise BrowserMissing(f"{path} not found — run `bash scripts/test-deps.sh` (pinned in tests/npm/package.json)")
    return path


class Browser:
    """One Chromium process; :meth:`page` opens a tab."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="mlops-ci-chromium-")
        to_child_r, self._write_fd = _pipe()
        self._read_fd, from_child_w = _pipe()
        log = os.open(os.path.join(self.profile, "chromium.log"), os.O_WRONLY | os.O_CREAT, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        argv = [chromium_path(), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        actions = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2),
                   (os.POSIX_SPAWN_DUP2, to_child_r, 3), (os.POSIX_SPAWN_DUP2, from_child_w, 4)]
        self.pid = os.posix_spawn(argv[0], argv, dict(os.environ), file_actions=actions)
        for fd in (to_child_r, from_child_w, log, null):
            os.close(fd)
        self._next_id = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, queue.Queue] = {}
        self._sessions: dict[str, Page] = {}
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.version = self.call("Browser.getVersion")["product"]

    # -- protocol -------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._read_fd, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                for box in list(self._waiting.values()):
                    box.put({"error": {"message": "chromium exited"}})
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    box = self._waiting.pop(message["id"], None)
                    if box is not None:
                        box.put(message)
                elif message.get("sessionId") in self._sessions:
                    self._sessions[message["sessionId"]].event(message["method"], message.get("params", {}))

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            box: queue.Queue = queue.Queue()
            self._waiting[ident] = box
            message: dict[str, Any] = {"id": ident, "method": method, "params": params}
            if session:
                message["sessionId"] = session
            os.write(self._write_fd, json.dumps(message).encode() + b"\0")
        try:
            reply = box.get(timeout=CALL_TIMEOUT)
        except queue.Empty:
            raise TimeoutError(f"chromium did not answer {method} within {CALL_TIMEOUT:.0f} s") from None
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def page(self, width: int = 1012, height: int = 800, dark: bool = False) -> "Page":
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, target, session)
        self._sessions[session] = page
        for domain in ("Page", "Runtime", "Network", "Log"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 500)
        page.call("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme",
                                                          "value": "dark" if dark else "light"}])
        return page

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        for fd in (self._write_fd, self._read_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """A tab: navigation, script evaluation, screenshots, and what it logged and requested."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self._loaded = threading.Event()

    def event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, self.session, **params)

    def goto(self, url: str) -> None:
        self._loaded.clear()
        self.call("Page.navigate", url=url)
        if not self._loaded.wait(CALL_TIMEOUT):
            raise TimeoutError(f"{url} did not finish loading within {CALL_TIMEOUT:.0f} s")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited), as JSON."""
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.browser.call("Target.closeTarget", targetId=self.target)


def _pipe() -> tuple[int, int]:
    """A pipe whose ends sit above fd 4, so dup2 onto 3 and 4 in the child never clobbers them."""
    r, w = os.pipe()
    import fcntl

    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (r, w)]
    os.close(r)
    os.close(w)
    return high[0], high[1]
