"""The back-office page in a real browser: a reviewer approves a waiting review and watches the order end with
every subscriber in its timeline; an operator is refused a decision; approval works with the keyboard alone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from infra.subscribers import REGISTRY
from lambdas.shared import constants
from tests.web.conftest import Served

pytestmark = pytest.mark.e2e


def _hears_order_completed(pattern: dict[str, Any]) -> bool:
    if constants.EVENT_SOURCE not in pattern.get("source", []):
        return False
    return constants.EVENT_ORDER_COMPLETED in pattern.get("detail-type", [constants.EVENT_ORDER_COMPLETED])


# Every subscriber registered for our OrderCompleted (infra/subscribers.py): each shows in the order's timeline.
COMPLETED_SUBSCRIBERS = tuple(spec.name for spec in REGISTRY if _hears_order_completed(spec.event_pattern))


def sign_in(page: Page, served: Served, user: str) -> None:
    page.goto(served.page_url)
    expect(page.get_by_label("User name")).to_be_focused()  # the page is ready (its config read)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(served.passwords[user])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user")).to_have_text(user)


def open_waiting_review(page: Page, order_id: str) -> None:
    """The order appears among the waiting reviews once its payment waits (refreshing as a person would)."""
    row = page.get_by_role("button", name=f"Open order {order_id}")
    for _ in range(60):
        if row.count():
            break
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(500)
    row.click()
    expect(page.locator("#order-title")).to_have_text(f"Order {order_id}")


def expect_succeeded_with_every_subscriber(page: Page) -> None:
    facts = page.locator("#order-facts")
    expect(facts).to_contain_text(re.compile(r"Status\s*SUCCEEDED"), timeout=60_000)
    timeline = page.locator("#timeline")
    assert len(COMPLETED_SUBSCRIBERS) >= 5, COMPLETED_SUBSCRIBERS
    for name in COMPLETED_SUBSCRIBERS:
        expect(timeline).to_contain_text(f"{name}: OrderCompleted applied", timeout=30_000)


def test_a_reviewer_approves_a_waiting_review_with_a_note(page: Page, served: Served) -> None:
    order_id = served.place_review_order()
    sign_in(page, served, "reviewer")
    open_waiting_review(page, order_id)
    page.get_by_label("Note (optional, recorded with your name)").fill("Called the customer: genuine order.")
    page.get_by_role("button", name="Approve payment").click()
    expect_succeeded_with_every_subscriber(page)
    facts = page.locator("#order-facts")
    expect(facts).to_contain_text("Reviewed by")
    expect(facts).to_contain_text("reviewer at")
    expect(facts).to_contain_text("Called the customer: genuine order.")
    expect(page.get_by_role("button", name=f"Open order {order_id}")).to_have_count(0)  # no longer waiting


def test_an_operator_sees_the_review_but_is_refused_a_decision(page: Page, served: Served) -> None:
    order_id = served.place_review_order()
    sign_in(page, served, "operator")
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    open_waiting_review(page, order_id)
    expect(page.get_by_role("button", name="Approve payment")).to_be_hidden()
    # The API refuses what the page does not offer: the operator's own token, the reviewers' route.
    refused = page.evaluate(
        """async (orderId) => {
            try { await api("POST", `/backoffice/reviews/${orderId}/decision`, { decision: "approve" }); }
            catch (error) { return { status: error.status, message: error.message }; }
            return { status: 200 };
        }""",
        order_id,
    )
    assert refused["status"] == 403, refused
    page.get_by_role("button", name="Refresh").click()
    expect(page.get_by_role("button", name=f"Open order {order_id}")).to_be_visible()  # still waiting


def test_a_reviewer_approves_with_the_keyboard_alone(page: Page, served: Served) -> None:
    order_id = served.place_review_order()
    page.goto(served.page_url)
    keys = page.keyboard
    expect(page.get_by_label("User name")).to_be_focused()  # the page puts the focus there when ready
    keys.type("reviewer")
    keys.press("Tab")
    keys.type(served.passwords["reviewer"])
    keys.press("Enter")
    expect(page.locator("#user")).to_have_text("reviewer")
    expect(page.locator("#main")).to_be_focused()  # where the page puts the focus once the reviews are listed
    for _ in range(40):  # Tab along the page to the order's button
        keys.press("Tab")
        if page.evaluate("document.activeElement.textContent") == order_id:
            break
    else:
        pytest.fail(f"Tab never reached the order {order_id}")
    keys.press("Enter")
    expect(page.locator("#order-title")).to_be_focused()
    keys.press("Tab")
    expect(page.locator("#note")).to_be_focused()
    keys.type("Approved from the keyboard.")
    keys.press("Tab")
    expect(page.get_by_role("button", name="Approve payment")).to_be_focused()
    keys.press("Enter")
    expect_succeeded_with_every_subscriber(page)
    expect(page.locator("#order-facts")).to_contain_text("Approved from the keyboard.")
