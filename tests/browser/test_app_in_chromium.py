"""The classroom app in a real headless Chromium (Debian's `chromium`, driven by Playwright), with
the network cut: the page loads, draws its four figures and reacts to the dose slider, with a TD
agent and with the pre-trained PPO.

Run by `make test-browser` (and by .ci/run, which installs chromium when it is missing); not part
of the default suite. `RLCRAVING_APP_SCREENSHOT=path.png` also saves a screenshot of the page
(`RLCRAVING_APP_SCREENSHOT_PPO=path.png`: of the page with the pre-trained PPO).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = Path(os.environ.get("RLCRAVING_CHROMIUM", "/usr/bin/chromium"))
LOCAL_HOSTS = ("127.0.0.1", "localhost")
PAGE_TIMEOUT_MS = 180_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rlcraving", "app", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        assert f"open {url}" in first, f"the app did not print its address: {first!r}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            time.sleep(0.5)
        else:
            pytest.fail("the app's server did not answer within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


DRAWN = "[...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
METRICS = "[...document.querySelectorAll('[data-testid=\"stMetricLabel\"]')]"


@pytest.fixture()
def page(server: str) -> Iterator[Any]:
    """A fresh headless Chromium page on the app, with the network cut; after the test, no request
    may have gone anywhere but this machine."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set RLCRAVING_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    outside: list[str] = []
    with sync_api.sync_playwright() as p:
        # Every host name but the local ones resolves to nothing: the page must not need the network.
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, "
                                          "EXCLUDE localhost", "--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1500})
        tab.on("request", lambda r: outside.append(r.url) if r.url.startswith(("http:", "https:", "ws:", "wss:"))
               and not any(f"//{h}:" in r.url or f"//{h}/" in r.url for h in LOCAL_HOSTS) else None)
        tab.goto(server, timeout=PAGE_TIMEOUT_MS)
        yield tab
        browser.close()
    assert not outside, f"the page asked for outside addresses: {outside[:5]}"


def _wait_for_figures(page: Any) -> None:
    page.wait_for_function(f"{DRAWN}.filter(i => i.complete && i.naturalWidth > 200).length == 4",
                           timeout=PAGE_TIMEOUT_MS)


def _step_dose_slider(page: Any, now: str, then: str) -> None:
    """Move the dose slider one step right with the keyboard and wait for the page to follow."""
    dose = page.locator('[data-testid="stSidebar"] [data-testid="stSlider"] input[type="range"]').first
    assert dose.get_attribute("aria-valuetext") == now
    dose.focus()
    dose.press("ArrowRight")
    page.wait_for_function(f"{METRICS}.some(e => e.innerText.includes('baclofen {then}'))", timeout=PAGE_TIMEOUT_MS)


def test_page_loads_offline_draws_its_figures_and_follows_the_slider(page):
    _wait_for_figures(page)
    metrics = page.locator('[data-testid="stMetricLabel"]')
    assert "baclofen 2.5 mg/kg i.p." in " ".join(metrics.all_inner_texts())
    shot = os.environ.get("RLCRAVING_APP_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=True)
    _step_dose_slider(page, "2.5 mg/kg i.p.", "5 mg/kg i.p.")


def test_the_pretrained_ppo_runs_in_the_page_and_follows_the_slider(page):
    """The PPO chosen in the sidebar: the page runs it (progress bar, then four figures and its note),
    and the dose slider is served from what was run."""
    _wait_for_figures(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] button[aria-label="Open"]').first.click()
    page.locator('[role="option"]', has_text="PPO, pre-trained").click()
    page.wait_for_function("document.body.innerText.includes('shipped pre-trained on acquisition')",
                           timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function("document.body.innerText.includes('For the PPO it is the error of its critic')",
                           timeout=PAGE_TIMEOUT_MS)
    _wait_for_figures(page)
    shot = os.environ.get("RLCRAVING_APP_SCREENSHOT_PPO")
    if shot:
        page.screenshot(path=shot, full_page=True)
    _step_dose_slider(page, "2.5 mg/kg i.p.", "5 mg/kg i.p.")
