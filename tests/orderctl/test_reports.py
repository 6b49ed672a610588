"""audit-verify and sales against the sandbox server."""

from __future__ import annotations

import json

import pytest

from sandbox.account import Sandbox
from tests.orderctl.conftest import Orderctl, OrderIds


def test_audit_verify_passes_an_intact_trail_and_names_an_edited_record(
    orderctl: Orderctl, server: Sandbox, new_id: OrderIds
) -> None:
    for _ in range(2):
        orderctl.ok("start", "--example", "happy", "--order-id", new_id("audit"), "--wait", "30")
    assert server.drain(30)
    intact = orderctl.ok("audit-verify")
    assert intact.out.startswith("Audit trail intact: ")
    checked = orderctl.data("audit-verify")
    assert checked["ok"] is True and checked["checked"] >= 2
    assert f"anchored up to record {checked['anchoredSeq']} in " in intact.out  # each append's checkpoint

    table = server.resource("dynamodb").Table(server.outputs["AuditSubscriberTableName"])
    key = {"pk": "CHAIN", "sk": "SEQ#000000000002"}
    original = table.get_item(Key=key)["Item"]
    detail = json.loads(original["detail"])
    detail["data"]["totalCents"] = 1  # somebody rewrites history
    table.put_item(Item={**original, "detail": json.dumps(detail, sort_keys=True, separators=(",", ":"))})
    try:
        broken = orderctl("audit-verify")
        assert broken.code == 1
        assert "Audit trail BROKEN at record 2: record content does not match its hash (edited)." in broken.out
        assert "1 records before it check out" in broken.out
        assert orderctl("audit-verify", "--json").json["firstBrokenSeq"] == 2
    finally:
        table.put_item(Item=original)
    assert orderctl("audit-verify").code == 0


def web_orders(orderctl: Orderctl) -> int:
    return next((c["orders"] for c in orderctl.data("sales")["channels"] if c["channel"] == "web"), 0)


def test_sales_compares_variants_against_the_baseline(orderctl: Orderctl, server: Sandbox, new_id: OrderIds) -> None:
    web_before = web_orders(orderctl)
    for variant in ("sales-a", "sales-b", "sales-b"):
        orderctl.ok("start", "--example", "happy", "--order-id", new_id("sales"), "--variant", variant, "--wait", "30")
    assert server.drain(30)
    report = orderctl.data("sales", "--baseline", "sales-a", "--sku", "MUG-BLUE")
    variants = {v["variant"]: v for v in report["variants"]}
    assert report["variants"][0]["variant"] == "sales-a"  # the baseline first
    assert (variants["sales-a"]["orders"], variants["sales-a"]["units"]) == (1, 2)
    assert variants["sales-a"]["revenueCents"] == 2004  # merchandise only: 2 mugs at 10.02
    assert (variants["sales-b"]["orders"], variants["sales-b"]["ordersLiftPct"]) == (2, 100.0)
    assert report["currency"] == "EUR"

    text = orderctl.ok("sales", "--baseline", "sales-a", "--sku", "MUG-BLUE").out
    assert "Sales by site variant of MUG-BLUE" in text
    assert "sales-a (baseline)" in text
    assert "+100.0%" in text

    weighted = orderctl.data("sales", "--baseline", "sales-a", "--split", "sales-a=0.25,sales-b=0.75")
    lifts = {v["variant"]: v["ordersLiftPct"] for v in weighted["variants"]}
    assert lifts["sales-b"] == pytest.approx(-33.33, abs=0.01)  # twice the orders on three times the traffic

    assert web_orders(orderctl) == web_before + 3  # and per channel: all three came through the web
    assert "Sales by channel" in orderctl.ok("sales").out
    assert "Sales by channel" not in text  # one product's report has no per-channel totals


def test_sales_of_days_without_orders_and_bad_arguments(orderctl: Orderctl) -> None:
    quiet_day = orderctl.ok("sales", "--from", "2020-01-01", "--to", "2020-01-01")
    assert "No sales from 2020-01-01 (UTC days)." in quiet_day.out
    assert orderctl.data("sales", "--to", "2020-01-05", "--days", "3")["from"] == "2020-01-03"

    backwards = orderctl("sales", "--from", "2026-02-01", "--to", "2026-01-01")
    assert backwards.code == 2 and "--from 2026-02-01 is after --to 2026-01-01" in backwards.err

    bad_split = orderctl("sales", "--split", "half")
    assert bad_split.code == 2 and "write variant=share" in bad_split.err

    assert orderctl("sales", "--from", "last week").code == 2


def test_a_split_whose_shares_do_not_add_up_to_one_is_refused(orderctl: Orderctl) -> None:
    """Issue 12: `--split a=0.7,b=0.7` was accepted and normalised lifts by 140 % of the traffic."""
    over = orderctl("sales", "--split", "a=0.7,b=0.7")
    assert over.code == 2 and over.out == ""
    assert "argument --split: 'a=0.7,b=0.7': the shares add up to 1.4, not 1" in over.err
    zero = orderctl("sales", "--split", "a=0,b=1")
    assert zero.code == 2 and "a=0 is not in (0, 1]" in zero.err
    assert orderctl("sales", "--split", "a=0.3,b=0.7").code == 0
