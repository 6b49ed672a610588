"""`python -m tests.web.screenshot`: docs/backoffice.png, the page as a reviewer sees it (after `make synth`).

Two orders wait for a review, a third has just been approved with a note: the waiting reviews above, that
order's detail and its whole timeline (workflow states, events, every subscriber) below.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.e2e.serving import serving
from tests.web.conftest import CHROMIUM, FLAGS, Served
from tests.web.test_backoffice import expect_succeeded_with_every_subscriber, open_waiting_review, sign_in

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "docs" / "backoffice.png"


def main(cdk_out: Path = REPO / "cdk.out", output: Path = OUTPUT) -> int:
    with serving(cdk_out) as (_, lines):
        page_url = re.search(r"the back-office page: (\S+)", lines)
        api_url = re.search(r"the order API: (\S+)", lines)
        assert page_url and api_url, lines
        served = Served(page_url[1], api_url[1], dict(re.findall(r"sign in as (\S+)\s+password (\S+)", lines)))
        decided = served.place_review_order()
        for _ in range(2):
            served.place_review_order()
            time.sleep(1.1)  # different waiting times
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=list(FLAGS),
                viewport={"width": 1100, "height": 900},
                device_scale_factor=1,
            )
            page = context.pages[0] if context.pages else context.new_page()
            sign_in(page, served, "reviewer")
            open_waiting_review(page, decided)
            page.get_by_label("Note (optional, recorded with your name)").fill("Called the customer: genuine order.")
            page.get_by_role("button", name="Approve payment").click()
            expect_succeeded_with_every_subscriber(page)
            page.get_by_role("button", name="Refresh").click()
            expect(page.locator("#review-rows tr")).to_have_count(2)
            page.evaluate("document.activeElement.blur()")
            page.screenshot(path=str(output), full_page=True)
            context.close()
    print(f"wrote {output.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
