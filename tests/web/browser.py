"""Headless Chromium for the browser tests (Debian's chromium and chromedriver, never a
downloaded browser), axe-core from npm (``make tools``), and a partner's web server on another
loopback port."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
AXE = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
#: The rules of WCAG 2.1 A and AA, as axe-core tags them.
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Collects the host page's Content-Security-Policy violations from the first moment.
WATCH_VIOLATIONS = ("window.__violations = [];"
                    "document.addEventListener('securitypolicyviolation', (e) => "
                    "window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")


def _missing(what: str, how: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI (.ci/run installs it)")
    pytest.skip(f"{what} not installed ({how})")


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium driven by Selenium, with a profile of its own (its own cache and
    localStorage), that reports CSP violations in ``window.__violations``."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        _missing("chromium and chromedriver", "apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="htc-chromium-")
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_VIOLATIONS})
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """What axe-core finds on the page (open shadow roots included) against WCAG 2.1 AA."""
    if not AXE.exists():
        _missing("axe-core", "make tools")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then((r) => done(JSON.stringify(r.violations)), (e) => done(JSON.stringify("
        "[{id: 'axe-error', help: String(e)}])));", WCAG21_AA)
    return [{"id": v["id"], "help": v.get("help"),
             "nodes": [n.get("target") for n in v.get("nodes", [])][:5]}
            for v in json.loads(result)]


class PartnerSite:
    """A partner's web server on 127.0.0.1 (another origin than the API): serves the pages
    put in :attr:`pages` with the Content-Security-Policy :attr:`policy`."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.policy = "default-src 'none'"
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook
                if self.path == "/favicon.ico":  # none: not an error in the console
                    self.send_response(204)
                    self.end_headers()
                    return
                page = site.pages.get(self.path.split("?")[0])
                body = (page or "not found").encode()
                self.send_response(200 if page is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Security-Policy", site.policy)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # "localhost", not the API's "127.0.0.1": another site, as a partner's is.
        self.url = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Relay:
    """A relay in front of the API on another loopback port that passes requests on, or, while
    :attr:`stalled`, holds the API's requests unanswered (a network that drops packets)."""

    HOLD_SECONDS = 60

    def __init__(self, api_url: str) -> None:
        import requests

        self.stalled = threading.Event()
        self.closing = threading.Event()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                if self.path.startswith("/api/") and relay.stalled.is_set():
                    relay.closing.wait(relay.HOLD_SECONDS)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.request(self.command, api_url + self.path, headers=headers,
                                          allow_redirects=False, timeout=10)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("transfer-encoding", "connection",
                                            "content-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_OPTIONS = _relay  # noqa: N815 - the http.server hooks

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def wait_for(driver: Any, condition: Callable[[Any], Any], timeout: float = 20) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)
