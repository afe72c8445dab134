"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium) in a phone viewport.

No browser is ever downloaded. If Chromium is missing the tests fail with the install
command (``make test`` installs it); they are never skipped silently.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("ACADEMY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    assert Path(CHROMIUM).exists() or shutil.which(CHROMIUM), (
        f"{CHROMIUM} not found: run `apt-get install -y chromium` (make test does this as root)"
    )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": PHONE, "device_scale_factor": 2, "is_mobile": True,
            "has_touch": True, "locale": "zh-CN",
            "user_agent": ("Mozilla/5.0 (Linux; Android 12; M2102J2SC) AppleWebKit/537.36 (KHTML, like Gecko) "
                           "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.47")}


@pytest.fixture(scope="session")
def live_server(app):
    """Serve the session's app on a free localhost port in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def shot(page):
    """``shot(name)`` saves a screenshot under test-artifacts/ for a reviewer."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def assert_fits_phone(page) -> None:
    """No horizontal scrolling at 390 px and every visible button/link tap target ≥ 44 px high."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page scrolls sideways: {width}px"
    small = page.evaluate(
        """() => [...document.querySelectorAll('main .btn, main button, main input[type=submit]')]
              .filter(e => e.offsetParent !== null)
              .map(e => [e.textContent.trim(), e.getBoundingClientRect().height])
              .filter(([t, h]) => h < 44)"""
    )
    assert small == [], f"tap targets under 44px: {small}"
