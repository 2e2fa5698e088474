"""The classroom app in a real headless Chromium (Debian's `chromium`, driven by Playwright), with
the network cut: the page loads, draws its four figures and reacts to the dose slider.

Run by `make test-browser` (and by .ci/run, which installs chromium when it is missing); not part
of the default suite. `RLCRAVING_APP_SCREENSHOT=path.png` also saves a screenshot of the page.
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


def test_page_loads_offline_draws_its_figures_and_follows_the_slider(server):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set RLCRAVING_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    outside: list[str] = []
    with sync_api.sync_playwright() as p:
        # Every host name but the local ones resolves to nothing: the page must not need the network.
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, "
                                          "EXCLUDE localhost", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        page.on("request", lambda r: outside.append(r.url) if r.url.startswith(("http:", "https:", "ws:", "wss:"))
                and not any(f"//{h}:" in r.url or f"//{h}/" in r.url for h in LOCAL_HOSTS) else None)
        page.goto(server, timeout=PAGE_TIMEOUT_MS)
        drawn = "[...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
        page.wait_for_function(f"{drawn}.filter(i => i.complete && i.naturalWidth > 200).length == 4",
                               timeout=PAGE_TIMEOUT_MS)
        metrics = page.locator('[data-testid="stMetricLabel"]')
        assert "baclofen 2.5 mg/kg i.p." in " ".join(metrics.all_inner_texts())
        shot = os.environ.get("RLCRAVING_APP_SCREENSHOT")
        if shot:
            page.screenshot(path=shot, full_page=True)
        dose = page.locator('[data-testid="stSidebar"] [data-testid="stSlider"] input[type="range"]').first
        assert dose.get_attribute("aria-valuetext") == "2.5 mg/kg i.p."
        dose.focus()
        dose.press("ArrowRight")   # 2.5 -> 5 mg/kg
        page.wait_for_function("[...document.querySelectorAll('[data-testid=\"stMetricLabel\"]')]"
                               ".some(e => e.innerText.includes('baclofen 5 mg/kg i.p.'))", timeout=PAGE_TIMEOUT_MS)
        browser.close()
    assert not outside, f"the page asked for outside addresses: {outside[:5]}"
