"""Render a page in real headless Chromium over the DevTools protocol (no extra packages).

Chromium is started with ``--remote-debugging-pipe``: commands go in on file descriptor 3
and answers come out on 4, as JSON messages ended by a NUL byte. We open the page, wait
for its load event, read the rendered text and DOM, take a full-page screenshot
(``captureBeyondViewport``), and collect every console message, uncaught exception,
browser log entry (failed resource loads, blocked requests) and network request seen on
the way.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "apt-get install -y chromium (Debian; .ci/run does this when it is missing)"


def chromium_path() -> str | None:
    """The Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class Rendered:
    text: str  # document.body.innerText
    dom: str  # document.documentElement.outerHTML after rendering
    png: bytes  # full-page screenshot
    console: list[dict] = field(default_factory=list)  # console API calls (type, text)
    exceptions: list[str] = field(default_factory=list)  # uncaught exceptions
    log: list[dict] = field(default_factory=list)  # browser log entries (level, text)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for

    def errors(self) -> list[str]:
        """Console errors/warnings, uncaught exceptions and error-level log entries."""
        out = [
            f"console.{c['type']}: {c['text']}"
            for c in self.console
            if c["type"] in ("error", "assert", "warning")
        ]
        out += [f"uncaught: {e}" for e in self.exceptions]
        out += [
            f"log {e['level']}: {e['text']}" for e in self.log if e["level"] in ("error", "warning")
        ]
        return out


class _Pipe:
    def __init__(self, binary: str, profile: str):
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def child_fds():  # put the two pipe ends on fds 3 and 4 in the child
            hi_r, hi_w = os.dup(cmd_r), os.dup(res_w)  # never clobber one with the other
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--hide-scrollbars",
                "--mute-audio",
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=child_fds,
            pass_fds=(3, 4),  # kept open across the close of every other descriptor
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._next = 0
        self.events: list[dict] = []

    def send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 180.0,
    ) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self._next:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 180.0) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._res_r], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._res_r)


def render(page: Path, width: int = 1280, max_height: int = 20000) -> Rendered:
    """Open ``page`` (a file) in headless Chromium and return what it rendered."""
    binary = chromium_path()
    if binary is None:
        raise FileNotFoundError(f"Chromium not found; install it: {INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        pipe = _Pipe(binary, profile)
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                pipe.send(f"{domain}.enable", session=session)
            pipe.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            pipe.send("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=session)
            pipe.wait_event("Page.loadEventFired")

            def js(expr: str):
                r = pipe.send(
                    "Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session
                )
                return r["result"].get("value")

            text = js("document.body.innerText")
            dom = js("document.documentElement.outerHTML")
            height = int(min(js("document.documentElement.scrollHeight"), max_height))
            pipe.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            shot = pipe.send(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True},
                session=session,
            )
            js("0")  # let late console / log events arrive before we read them
        finally:
            pipe.close()
    out = Rendered(text=text, dom=dom, png=base64.b64decode(shot["data"]))
    for e in pipe.events:
        p = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            out.console.append({"type": p["type"], "text": args})
        elif e.get("method") == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.exceptions.append(d.get("exception", {}).get("description", d.get("text", "")))
        elif e.get("method") == "Log.entryAdded":
            out.log.append({"level": p["entry"]["level"], "text": p["entry"]["text"]})
        elif e.get("method") == "Network.requestWillBeSent":
            out.requests.append(p["request"]["url"])
    return out
