"""The cost model's arithmetic: billing units and dollars per million orders."""

from __future__ import annotations

import pytest

from bench import cost, prices


def test_chunks_round_up_to_64_kb_and_never_below_one():
    assert cost.chunks(0, prices.EVENTBRIDGE_CHUNK_BYTES) == 1
    assert cost.chunks(64 * 1024, prices.EVENTBRIDGE_CHUNK_BYTES) == 1
    assert cost.chunks(64 * 1024 + 1, prices.EVENTBRIDGE_CHUNK_BYTES) == 2


def test_lambda_duration_is_billed_per_started_millisecond():
    assert cost.billed_ms(0.2) == 1
    assert cost.billed_ms(12.01) == 13
    assert cost.gb_seconds(256, 100.0) == pytest.approx(0.025)
    assert cost.gb_seconds(1024, 1000.0) == pytest.approx(1.0)


def test_dynamodb_units_follow_the_on_demand_rules():
    assert cost.write_units(10) == 1
    assert cost.write_units(1025) == 2
    assert cost.write_units(10, transactional=True) == 2
    assert cost.read_units(10) == 0.5  # eventually consistent
    assert cost.read_units(10, consistent=True) == 1
    assert cost.read_units(4097, consistent=True) == 2
    assert cost.read_units(10, transactional=True) == 2
    # A query sums its items before rounding: three 1.5 KB items are 4.5 KB = 2 units, 1 eventually consistent.
    assert cost.query_units([1536, 1536, 1536]) == 1
    assert cost.query_units([]) == 0.5


def test_item_size_counts_names_and_values():
    item = {"pk": {"S": "ORDER#1"}, "n": {"N": "1234"}, "ok": {"BOOL": True}}
    # "pk"+7, "n"+(2 digit pairs + 1), "ok"+1
    assert cost.item_bytes(item) == 2 + 7 + 1 + 3 + 2 + 1
    nested = {"m": {"M": {"a": {"S": "xy"}}}, "l": {"L": [{"S": "z"}]}}
    assert cost.item_bytes(nested) == (1 + 3 + 1 + 1 + 2) + (1 + 3 + 1 + 1)
    assert cost.item_bytes(None) == 0


def test_cost_per_million_splits_by_service():
    usage = cost.Usage(
        transitions=8,
        eventbridge_events=1,
        sqs_requests=1,
        dynamodb_wru=30,
        dynamodb_rru=8,
        ses_emails=1,
    )
    usage.add_invocation("validate_order", 256, 99.1)  # 100 ms billed = 0.025 GB-s
    split = cost.cost_per_million(usage)
    assert split["stepfunctions"] == pytest.approx(200.0)  # 8 x $0.025 / 1,000 x 1M
    assert split["lambda"] == pytest.approx(0.2 + 0.025 * 0.0000133334 * 1e6, abs=1e-4)
    assert split["eventbridge"] == pytest.approx(1.0)
    assert split["sqs"] == pytest.approx(0.5)
    assert split["dynamodb"] == pytest.approx(30 * 0.625 + 8 * 0.125)
    assert split["ses"] == pytest.approx(100.0)
    assert split["cloudwatch_logs"] == 0 and split["xray"] == 0 and split["storage"] == 0
    assert split["total"] == pytest.approx(sum(split[s] for s in cost.SERVICES), abs=1e-3)
    assert usage.invocations == {"validate_order": 1}


def test_every_price_cites_its_page():
    assert set(prices.SOURCES) == set(cost.SERVICES)
    assert all(url.startswith("https://aws.amazon.com/") for url in prices.SOURCES.values())
    assert prices.REGION == "us-east-1"


def test_logs_xray_kms_and_storage_are_billed_per_order():
    gib = 1024**3
    usage = cost.Usage(
        log_bytes=gib // 1000,  # a thousandth of a GB ingested per order
        log_stored_bytes=gib // 10_000,
        log_retention_days=30,
        traces=2,
        xray_sampling_rate=0.05,
        kms_requests=1,
        stored_bytes=gib // 100_000,
    )
    split = cost.cost_per_million(usage)
    assert split["cloudwatch_logs"] == pytest.approx(1000 * 0.50 + 100 * 0.03, rel=1e-3)
    assert split["xray"] == pytest.approx(2 * 0.05 * 5.00)  # sampled traces at $5 per million
    assert split["kms"] == pytest.approx(3.0)  # $0.03 per 10,000 requests
    # kept 12 months: 10 GB x 12 GB-months x (storage $0.25 + PITR $0.20)
    assert split["storage"] == pytest.approx(10 * 12 * 0.45, rel=1e-3)


def test_fixed_costs_are_a_monthly_block_apart_from_orders():
    block = cost.FixedCosts(alarms=10, custom_metrics=2, dashboards=1, kms_keys=3, kms_cached_key_resources=1).monthly()
    assert block["alarms"] == pytest.approx(1.0)
    assert block["custom_metrics"] == pytest.approx(0.6)
    assert block["dashboards"] == pytest.approx(3.0)
    assert block["kms_keys"] == pytest.approx(3.0)
    assert block["kms_cached_key_requests"] == pytest.approx(8640 * 0.03 / 10_000, abs=0.01)
    assert block["xray_reservoir_max"] == pytest.approx(2_592_000 * 5 / 1_000_000, abs=0.01)
    assert block["total"] == pytest.approx(sum(v for k, v in block.items() if k != "total"), abs=0.02)


def _order(transitions: int) -> cost.Usage:
    usage = cost.Usage(transitions=transitions, ses_emails=1, log_bytes=10_000, log_retention_days=30)
    usage.add_invocation("validate_order", 256, 40.0)
    return usage


def test_express_duration_is_billed_in_64_mb_and_100_ms_steps():
    assert cost.express_gb_seconds(1.0) == pytest.approx(64 / 1024 * 0.1)
    assert cost.express_gb_seconds(250.0) == pytest.approx(64 / 1024 * 0.3)


def test_express_what_if_figures_come_from_the_cost_model():
    fast, review = _order(8), _order(11)
    what_if = cost.express_what_if(fast, review, 250.0, (12_000, 3_000), review_share=0.1)
    standard, split = what_if["standard_only"], what_if["express_fast_path"]
    assert isinstance(standard, dict) and isinstance(split, dict)
    # All-Standard is today's model, path by path.
    assert standard["fast"] == cost.cost_per_million(fast) and standard["review"] == cost.cost_per_million(review)
    # On Express the fast path pays one request and its GB-seconds, no transitions, and logs at level ALL.
    express_sfn = prices.SFN_EXPRESS_PER_REQUEST + cost.express_gb_seconds(250.0) * prices.SFN_EXPRESS_PER_GB_SECOND
    assert split["fast"]["stepfunctions"] == pytest.approx(express_sfn * cost.ORDERS, abs=1e-4)
    assert split["fast"]["cloudwatch_logs"] > standard["fast"]["cloudwatch_logs"]
    assert split["fast"]["lambda"] == standard["fast"]["lambda"] and split["fast"]["ses"] == standard["fast"]["ses"]
    # A review order pays today's Standard execution plus its Express start.
    assert split["review"]["stepfunctions"] == pytest.approx(
        standard["review"]["stepfunctions"] + express_sfn * cost.ORDERS, abs=1e-4
    )
    # The mix weighs the two paths by the review share.
    assert split["mix"]["total"] == pytest.approx(
        0.9 * split["fast"]["total"] + 0.1 * split["review"]["total"], abs=1e-3
    )
    assert split["mix"]["total"] < standard["mix"]["total"]
    # The inputs are not changed by the what-if.
    assert fast.transitions == 8 and fast.express_requests == 0 and fast.log_bytes == 10_000
    assert any("exactly-once" in item for item in what_if["gives_up"])
