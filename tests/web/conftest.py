"""The back-office page in Debian's Chromium (headless), driven by Playwright, against `make serve`.

Browsers cannot be downloaded here: Playwright drives the system's /usr/bin/chromium (packages chromium and
chromium-driver, which `make test` installs when missing). Without it these tests fail, naming the fix.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from tests.e2e.serving import serving
from tests.e2e.test_api import call

CHROMIUM = Path("/usr/bin/chromium")
# Headless, offline and quiet: no GPU, no QUIC, no first-run, sync, component updates or background traffic.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WAITING_STATE = "WaitForPaymentReview"
REVIEW_ORDER: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "orders" / "review.json").read_text()
)


@dataclass(frozen=True)
class Served:
    """`make serve` as a person uses it: the page's address, the order API, the seeded users' passwords."""

    page_url: str
    api_url: str
    passwords: dict[str, str]

    def place_review_order(self) -> str:
        """An order whose payment waits for a reviewer (examples/orders/review.json, a fresh id)."""
        order = copy.deepcopy(REVIEW_ORDER)
        order["orderId"] = f"ord-web-{uuid.uuid4().hex[:8]}"
        status, body = call(f"{self.api_url}/orders", "POST", order)
        assert status == 202, body
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until its payment waits for a reviewer
            status, body = call(f"{self.api_url}/orders/{order['orderId']}")
            if status == 200 and WAITING_STATE in body.get("states", []):
                return str(order["orderId"])
            time.sleep(0.2)
        pytest.fail(f"{order['orderId']} never reached {WAITING_STATE}: {body}")


@pytest.fixture(scope="package")
def served(cdk_out: Path) -> Iterator[Served]:
    with serving(cdk_out) as (_, lines):
        page = re.search(r"the back-office page: (\S+)", lines)
        api = re.search(r"the order API: (\S+)", lines)
        passwords = dict(re.findall(r"sign in as (\S+)\s+password (\S+)", lines))
        assert page and api and set(passwords) == {"reviewer", "operator"}, lines
        yield Served(page[1], api[1], passwords)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file() or shutil.which("chromedriver") is None:
        pytest.fail(
            f"{CHROMIUM} (Debian's Chromium) is missing: `make test` installs it as root "
            "(apt-get install -y chromium chromium-driver); or install those two packages yourself."
        )
    with sync_playwright() as running:
        yield running


@pytest.fixture
def browser(playwright: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    """A fresh Chromium profile (its own --user-data-dir) per test."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=str(CHROMIUM),
        headless=True,
        args=list(FLAGS),
        viewport={"width": 1200, "height": 900},
    )
    context.set_default_timeout(20_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Page:
    return browser.pages[0] if browser.pages else browser.new_page()
