"""The order API served by `python -m sandbox serve`: the template's methods routed to the real handler,
called with SigV4-signed HTTP requests (botocore's SigV4Auth), as the storefront's backend would."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sandbox.serve import EXAMPLE_ORDER
from tests.e2e.serving import serving

pytestmark = pytest.mark.e2e
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def api(cdk_out: Path) -> Iterator[str]:
    with serving(cdk_out) as (_, lines):
        found = re.search(r"the order API: (\S+)", lines)
        assert found, lines
        yield found[1]


def call(url: str, method: str = "GET", body: Any = None, signed: bool = True) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"}
    if signed:
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(Credentials("storefront", "secret"), "execute-api", REGION).add_auth(request)
        headers = dict(request.headers.items())
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers)) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_until_ended(api: str, order_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, order = call(f"{api}/orders/{order_id}")
        assert status == 200, order
        if order["status"] != "RUNNING" or time.monotonic() > deadline:
            return order
        time.sleep(0.2)


def test_an_unsigned_request_is_refused_with_403(api: str) -> None:
    status, body = call(f"{api}/orders/{EXAMPLE_ORDER['orderId']}", signed=False)
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    assert call(f"{api}/nowhere")[0] == 403  # no such route: API Gateway's answer too


def test_an_order_placed_through_the_api_runs_and_shows_its_timeline(api: str) -> None:
    order = {**EXAMPLE_ORDER, "orderId": "api-happy-1"}
    status, accepted = call(f"{api}/orders", "POST", order)
    assert status == 202, accepted
    assert accepted["started"] is True and accepted["executionArn"].endswith(":api-happy-1")

    shown = wait_until_ended(api, "api-happy-1")
    assert shown["status"] == "SUCCEEDED", shown
    assert shown["states"][0] == "ValidateOrder" and shown["states"][-1] == "PublishOrderCompleted"
    states = [e for e in shown["timeline"] if e["source"] == "workflow" and "state" in e]
    assert [e["state"] for e in states] == shown["states"]
    assert all(e["outcome"] == "succeeded" for e in states)
    assert shown["timeline"][-1]["outcome"] == "SUCCEEDED" or any(
        e["source"] == "subscriber" for e in shown["timeline"]
    )
    times = [e["at"] for e in shown["timeline"]]
    assert times == sorted(times)

    # The same order again: answered with the order, nothing started.
    status, again = call(f"{api}/orders", "POST", order)
    assert status == 200, again
    assert (again["started"], again["status"]) == (False, "SUCCEEDED")
    # Another order under that id: 409, and the order is unchanged.
    status, refused = call(f"{api}/orders", "POST", {**order, "items": [{**order["items"][0], "quantity": 3}]})
    assert status == 409, refused
    assert call(f"{api}/orders/api-happy-1")[1]["status"] == "SUCCEEDED"


def test_an_invalid_order_is_refused_naming_the_field_and_starts_nothing(api: str) -> None:
    order = {**EXAMPLE_ORDER, "orderId": "api-invalid-1", "items": [{**EXAMPLE_ORDER["items"][0], "quantity": 0}]}
    status, body = call(f"{api}/orders", "POST", order)
    assert status == 400 and body["field"] == "items[0].quantity", body
    assert call(f"{api}/orders/api-invalid-1")[0] == 404

    status, body = call(f"{api}/orders", "POST", b"[1, 2")
    assert status == 400, body


def test_an_order_over_256_kib_gets_413(api: str) -> None:
    order = {**EXAMPLE_ORDER, "orderId": "api-large-1", "note": "x" * (256 * 1024)}
    status, body = call(f"{api}/orders", "POST", order)
    assert status == 413, body
    assert call(f"{api}/orders/api-large-1")[0] == 404
