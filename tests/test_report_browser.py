"""The HTML report in a real browser: headless Chromium, driven over the Chrome
DevTools protocol.

How (robust, no Python dependency beyond the standard library): Chromium is started
with ``--remote-debugging-pipe``; it reads DevTools commands as NUL-terminated JSON
on file descriptor 3 and writes replies and events on 4.  The test opens a page,
enables the Network, Runtime and Log domains *before* navigating, loads the report
from ``file://``, and collects

* every request the page makes (``Network.requestWillBeSent``): only the report's
  own ``file://`` URL (and ``data:``/``about:``) may appear -- any other is a
  network request and fails the test;
* console errors (``Runtime.consoleAPICalled`` of type error/assert), uncaught
  exceptions (``Runtime.exceptionThrown``) and browser log errors
  (``Log.entryAdded`` of level error);
* a PNG screenshot (``Page.captureScreenshot``) at 1200x1600, kept in
  ``tests/artifacts/`` (git-ignored), checked not blank (pixel variance);
* at phone width (390 px) the page must not scroll sideways (wide tables scroll
  inside their own boxes).

Skipped when ``/usr/bin/chromium`` (Debian's ``chromium`` package, installed by
``make browser``) is absent.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from distillproof.reports.html import render_html

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
FIXTURE = HERE / "golden" / "fixture.json"
ARTIFACTS = HERE / "artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--remote-debugging-pipe"]

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make browser)")


class DevTools:
    """A minimal DevTools client over ``--remote-debugging-pipe``."""

    def __init__(self, user_data_dir: str, timeout: float = 60.0):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds():
            # The child's fd 3 reads commands, fd 4 writes replies.  Copy both ends
            # above 10 first so that neither dup2 can clobber the other.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_r, from_browser_w)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)
        # close_fds=False: Python's own descriptors are close-on-exec anyway; only the
        # dup2'ed 3 and 4 (inheritable) reach chromium.
        # chromium's log goes to a file: a full stderr pipe would block the browser
        self._log = Path(user_data_dir) / "chromium-stderr.log"
        with open(self._log, "wb") as log:
            self.proc = subprocess.Popen(
                [CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                close_fds=False, preexec_fn=child_fds)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.timeout = timeout
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium over the DevTools pipe")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe: "
                                       + self._log.read_text("utf-8", "replace")[-2000:])
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, seconds: float = 30.0) -> dict:
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + seconds
        while True:
            e = self._read_message(deadline)
            self.events.append(e)
            if e.get("method") == method:
                return e

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:  # noqa: BLE001 -- closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def load_page(path: Path, width: int, height: int, screenshot: Path | None = None) -> dict:
    """Open ``path`` in a fresh headless Chromium; what happened, and the PNG."""
    with tempfile.TemporaryDirectory() as profile:
        dt = DevTools(profile)
        try:
            target = dt.send("Target.createTarget", url="about:blank")["targetId"]
            session = dt.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Network", "Runtime", "Log"):
                dt.send(f"{domain}.enable", session)
            dt.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                    deviceScaleFactor=1, mobile=width < 600)
            dt.send("Page.navigate", session, url=path.resolve().as_uri())
            dt.wait_for("Page.loadEventFired")
            metrics = dt.send("Runtime.evaluate", session, returnByValue=True, expression="""({
                scrollWidth: document.documentElement.scrollWidth,
                innerWidth: window.innerWidth,
                bodyText: document.body.innerText.length,
                math: document.querySelectorAll('math').length,
                mathWidth: Math.max(0, ...[...document.querySelectorAll('math')].slice(0, 20)
                                   .map(m => m.getBoundingClientRect().width)),
                svg: document.querySelectorAll('svg').length})""")["result"]["value"]
            png = None
            if screenshot is not None:
                png = base64.b64decode(dt.send("Page.captureScreenshot", session, format="png")["data"])
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(png)
            events = list(dt.events)
        finally:
            dt.close()
    requests = [e["params"]["request"]["url"] for e in events
                if e.get("method") == "Network.requestWillBeSent"]
    errors = [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"]
    errors += [e["params"] for e in events if e.get("method") == "Runtime.consoleAPICalled"
               and e["params"].get("type") in ("error", "assert")]
    errors += [e["params"]["entry"] for e in events if e.get("method") == "Log.entryAdded"
               and e["params"]["entry"].get("level") == "error"]
    return {"requests": requests, "errors": errors, "metrics": metrics, "png": png}


def _not_blank(png_path: Path) -> float:
    import matplotlib.image as mpimg
    pixels = mpimg.imread(str(png_path))
    return float(pixels[..., :3].var())


def _external(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file://", "data:", "about:"))]


@pytest.fixture(scope="module")
def catalogue_html(tmp_path_factory) -> Path:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("browser") / "report.html"
    path.write_text(render_html(data), encoding="utf-8")
    return path


@needs_chromium
def test_catalogue_report_renders_without_errors_or_network(catalogue_html):
    shot = ARTIFACTS / "report-catalogue.png"
    page = load_page(catalogue_html, 1200, 1600, shot)
    assert page["requests"], "the DevTools Network domain saw no request at all (not even the page)"
    assert not _external(page["requests"]), f"network requests: {_external(page['requests'])}"
    assert not page["errors"], f"console errors: {page['errors']}"
    assert shot.exists() and shot.stat().st_size > 10_000
    assert _not_blank(shot) > 1e-3, "the screenshot is blank"
    m = page["metrics"]
    assert m["bodyText"] > 5000 and m["math"] > 20
    assert m["mathWidth"] > 5, "MathML is not laid out"


@needs_chromium
def test_report_fits_a_phone_and_plots_render(tmp_path):
    from test_reports import with_sections
    data = with_sections(json.loads(FIXTURE.read_text(encoding="utf-8")))
    path = tmp_path / "report.html"
    path.write_text(render_html(data), encoding="utf-8")
    shot = ARTIFACTS / "report-phone.png"
    page = load_page(path, 390, 844, shot)
    assert not _external(page["requests"]), f"network requests: {_external(page['requests'])}"
    assert not page["errors"], f"console errors: {page['errors']}"
    m = page["metrics"]
    assert m["svg"] >= 2, "the simulation plots are missing"
    assert m["scrollWidth"] <= m["innerWidth"] + 1, (
        f"the page scrolls sideways on a phone: {m['scrollWidth']} > {m['innerWidth']}")
    assert _not_blank(shot) > 1e-3
