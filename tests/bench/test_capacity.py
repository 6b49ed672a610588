"""The capacity model: docs/CAPACITY.md is what bench/usage.json and bench/quotas.py give, and the arithmetic."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench import capacity
from bench.quotas import QUOTAS


def test_capacity_document_is_not_stale():
    assert capacity.DOCUMENT_PATH.read_text() == capacity.render(capacity.UsagePerOrder.load()), (
        "docs/CAPACITY.md is stale: run `.venv/bin/python -m bench.capacity`"
    )
    assert capacity.main(["--check"]) == 0


def test_every_quota_names_its_page_and_a_usage_the_model_measures():
    names = {f.name for f in dataclasses.fields(capacity.UsagePerOrder)}
    for quota in QUOTAS:
        assert quota.source.startswith("https://docs.aws.amazon.com/"), quota.key
        assert quota.usage in names, quota.key


def _usage(**changes: float) -> capacity.UsagePerOrder:
    return dataclasses.replace(capacity.UsagePerOrder.load(), **changes)


def test_the_lowest_quota_binds_and_the_hot_item_is_stated_apart():
    usage = _usage(emails=0, transitions=100)  # 5,000 transitions/s over 100 per order
    result = capacity.model(usage)
    assert result["binding_quota"] == "sfn_state_transitions"
    assert result["max_orders_per_second"] == pytest.approx(50.0)
    assert result["hot_product_orders_per_second"] == pytest.approx(1_000 / usage.hot_item_wru)
    rows = {r["quota"]: r for r in result["quotas"]}
    assert rows["ses_sending_rate"]["orders_per_second"] is None  # the order sends none


def test_a_usage_file_missing_a_field_says_which(tmp_path):
    path = tmp_path / "usage.json"
    values = dataclasses.asdict(capacity.UsagePerOrder.load())
    del values["emails"]
    path.write_text(json.dumps(values))
    with pytest.raises(ValueError, match="missing emails"):
        capacity.UsagePerOrder.load(path)
