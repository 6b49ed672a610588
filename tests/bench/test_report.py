"""Goals are judged from the document, and the table renders what the document holds."""

from __future__ import annotations

import json

from bench import meter, report


def test_goals_pass_at_the_limit_and_fail_above_or_when_missing():
    judged = report.judge(
        {"cold_import_ratio_max": 1.25, "sandbox_over_direct_ratio": 2.01, "happy_path_transitions": 8}
    )
    assert judged["cold_import_ratio_max"]["met"] is True
    assert judged["sandbox_over_direct_ratio"]["met"] is False
    assert judged["happy_path_transitions"]["met"] is True
    assert judged["happy_path_lambda_invocations"]["met"] is False  # not measured = not met


def test_table_shows_every_goal():
    document = {"goals": report.judge({"happy_path_transitions": 8, "happy_path_lambda_invocations": 5})}
    text = report.table(document)
    for goal in report.GOALS:
        assert goal.key in text
    assert "MISSED" in text and "met" in text


def test_write_targets_cover_every_item_of_a_transaction():
    params = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "b"}}}},
            {"ConditionCheck": {"TableName": "u", "Key": {"pk": {"S": "c"}}}},
        ]
    }
    kinds = [(kind, table) for kind, table, _ in meter.write_targets("TransactWriteItems", params)]
    assert kinds == [("Put", "t"), ("Update", "t"), ("ConditionCheck", "u")]


def test_closing_note_explains_a_missed_goal_and_is_quiet_about_met_ones():
    from bench import notes

    document = {
        "cold_import": {
            "worst_handler": "refund_payment",
            "cold_import_ratio_max": 1.5,
            "cold_import_ratio_median": 1.3,
            "baseline_median_cpu_ms": 150.0,
            "handlers": {"refund_payment": {"median_cpu_ms": 225.0}},
            "extra_over_boto3": [{"package": "aws_xray_sdk", "self_ms": 18.0}],
            "floor_ratio": {
                "boto3_powertools_no_xray_sdk": 1.04,
                "boto3_powertools_xray_sdk": 1.15,
                "boto3_powertools_tracer": 1.16,
            },
            "bytecode": {"refund_payment": {"from_source_ratio": 1.5, "precompiled_ratio": 1.38}},
        },
        "throughput": {
            "sandbox_median_ms_per_order": 150.0,
            "direct_median_ms_per_order": 100.0,
            "sandbox_orders_per_second_sequential": 6.7,
            "sandbox_orders_per_second_concurrent": 8.0,
            "direct_handler_median_ms": {"subscribers.inventory": 30.0},
        },
    }
    document["goals"] = report.judge({"cold_import_ratio_max": 1.5, "sandbox_over_direct_ratio": 1.5})
    text = "\n".join(notes.closing(document))
    assert "Cold import MISSED" in text and "aws_xray_sdk 18.0 ms" in text
    assert notes.COLD_IMPORT_TRIED in text
    # The shared floor and the share of compiling our own code are reported from the run's figures.
    assert "Tracer classes) 1.04x boto3, + the X-Ray SDK 1.15x" in text and "observability.py) 1.16x" in text
    assert "refund_payment: 1.38x with the bytecode the asset ships, 1.5x from sources only" in text
    assert "Sandbox/direct met" in text and notes.SANDBOX_TRIED not in text


def test_a_bench_run_keeps_the_burst_block_and_replaces_its_own(tmp_path):
    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"burst": {"lost": 0}, "cold_import_ratio_max": 9.0}))
    report.write({"cold_import_ratio_max": 1.2}, path)
    assert json.loads(path.read_text()) == {"cold_import_ratio_max": 1.2, "burst": {"lost": 0}}
