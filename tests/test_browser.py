"""A real browser opens a rendered report: no request leaves the file, no console error, a screenshot.

Headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it) is driven over the DevTools
protocol on ``--remote-debugging-pipe`` (fd 3 for commands, fd 4 for replies, each JSON message
ended by a NUL byte) by a small stdlib-only client. The network is off twice over: the host
resolver maps every name to nowhere, and the page's network is emulated offline. Every request
the page starts is recorded; only the report file itself and ``data:`` URLs are allowed.

The test is skipped, with the reason shown, only when no Chromium is installed.
``IMBREPORT_CHROMIUM`` names another browser binary.
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
from pathlib import Path

import pytest
from report_factory import make_report

from imbreport.render import render_html

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEADLINE_SECONDS = 25
WINDOW = (1280, 1600)


def find_browser() -> str | None:
    override = os.environ.get("IMBREPORT_CHROMIUM")
    if override:
        return override
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, browser: str, profile: str, width: int, height: int):
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        # The shell puts the two pipe ends on fds 3 and 4, where Chromium expects them.
        args = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--hide-scrollbars",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            ["sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', "sh", *args],
            stdin=commands_read,
            stdout=replies_write,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.deadline = time.monotonic() + DEADLINE_SECONDS

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait for its reply (events arriving meanwhile are kept)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, method: str) -> dict:
        """Wait for an event (returned), keeping every event seen on the way."""
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._receive()
            if event.get("method") == method:
                return event

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._replies], [], [], left)
            if ready:
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the debugging pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "method" in message:
            self.events.append(message)
        return message

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)


def open_offline(browser: str, path: Path, width: int, height: int) -> tuple[DevTools, bytes]:
    """Load ``path`` with the network off; return the client (with its events) and a screenshot."""
    profile = tempfile.mkdtemp(prefix="imbreport-chromium-")
    tools = DevTools(browser, profile, width, height)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Network", "Runtime", "Log"):
            tools.send(f"{domain}.enable", session=session)
        tools.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            session=session,
        )
        tools.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        tools.events.clear()
        tools.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        tools.wait_for("Page.loadEventFired")
        shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=session)
        return tools, base64.b64decode(shot["data"])
    finally:
        tools.close()
        shutil.rmtree(profile, ignore_errors=True)


def requested_urls(events: list[dict]) -> list[str]:
    return [
        e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"
    ]


def console_errors(events: list[dict]) -> list[str]:
    errors = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params.get("exceptionDetails", {}))[:300])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args", []))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", "")[:300])
    return errors


@pytest.fixture(scope="module")
def browser() -> str:
    path = find_browser()
    if path is None:
        pytest.skip(
            "no Chromium found (looked for chromium, chromium-browser, google-chrome; "
            "set IMBREPORT_CHROMIUM or run .ci/run, which installs it)"
        )
    return path


def test_report_opens_offline_without_requests_or_errors(browser, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(make_report(hostile=True)), encoding="utf-8")
    tools, png = open_offline(browser, page, *WINDOW)
    urls = requested_urls(tools.events)
    assert urls and urls[0] == page.resolve().as_uri()
    outgoing = [u for u in urls if u != page.resolve().as_uri() and not u.startswith("data:")]
    assert outgoing == [], f"the report asked for {outgoing}"
    assert console_errors(tools.events) == []
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    screenshot = tmp_path / "report.png"
    screenshot.write_bytes(png)
    print(f"screenshot saved to {screenshot}")


def test_client_sees_a_request_when_there_is_one(browser, tmp_path):
    """The check above can fail: a page that asks for an external image is caught."""
    page = tmp_path / "leaky.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>leak</title></head><body>"
        '<img src="http://example.invalid/pixel.png" alt="x"></body></html>',
        encoding="utf-8",
    )
    tools, _ = open_offline(browser, page, 400, 300)
    assert "http://example.invalid/pixel.png" in requested_urls(tools.events)
    assert console_errors(tools.events), "the failed load should be logged as an error"


def main(argv: list[str]) -> int:
    """``python tests/test_browser.py REPORT.html OUT.png [WIDTH HEIGHT]``: screenshot a report."""
    if len(argv) not in (2, 4):
        print(main.__doc__)
        return 2
    browser = find_browser()
    if browser is None:
        print("no Chromium found")
        return 1
    width, height = (int(argv[2]), int(argv[3])) if len(argv) == 4 else WINDOW
    tools, png = open_offline(browser, Path(argv[0]), width, height)
    Path(argv[1]).write_bytes(png)
    print(f"{argv[1]}: {len(png):,} bytes; requests: {requested_urls(tools.events)[:3]}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
