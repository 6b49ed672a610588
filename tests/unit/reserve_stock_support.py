"""Helpers for the order and stock tests (validate, reserve, price, release): data, seeding, moto lock."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.order import parse_order
from sandbox import moto_fixes

# DE is served by two warehouses, so the fallback from the first to the second can be tested.
WAREHOUSES = [
    {"id": "WH-EU-1", "countries": ["DE", "FR"], "queueUrl": "https://sqs.eu-west-1.amazonaws.com/1/wh-eu-1.fifo"},
    {"id": "WH-EU-2", "countries": ["DE", "AT"], "queueUrl": "https://sqs.eu-west-1.amazonaws.com/1/wh-eu-2.fifo"},
    {"id": "WH-UK-1", "countries": ["GB"], "queueUrl": "https://sqs.eu-west-1.amazonaws.com/1/wh-uk-1.fifo"},
]

CATALOG: dict[str, Any] = {
    "products": [
        {"sku": "MUG-BLUE", "name": "Mug", "priceCents": 1002, "leadTimeDays": 14, "stock": {"WH-EU-1": 50}},
        {"sku": "TEE-M", "name": "T-shirt", "priceCents": 1990, "leadTimeDays": 21, "stock": {"WH-EU-2": 10}},
        {
            "sku": "LAMP-ARC",
            "name": "Lamp",
            "priceCents": 14900,
            "leadTimeDays": 45,
            "stock": {"WH-EU-1": 3, "WH-EU-2": 1, "WH-UK-1": 2},
        },
        {"sku": "OLD-POSTER", "name": "Poster", "priceCents": 500, "leadTimeDays": 7, "active": False, "stock": {}},
    ]
}

CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md"


def contract_example() -> dict[str, Any]:
    """The order documented in docs/CONTRACTS.md (its first JSON block): the tests use the documented example."""
    text = CONTRACTS.read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", text, re.DOTALL)
    assert block, f"no JSON example in {CONTRACTS}"
    return json.loads(block.group(1))


# ord-1001: 2 x MUG-BLUE to Berlin, shown 29.74 EUR.
ORDER = contract_example()


def order(**changes: Any) -> dict[str, Any]:
    """A valid order (a deep copy) with top-level fields replaced."""
    return {**copy.deepcopy(ORDER), **changes}


def normalised(**changes: Any) -> dict[str, Any]:
    """``order(**changes)`` as ValidateOrder hands it on (what ReserveStock and PriceOrder receive)."""
    return parse_order(order(**changes), "EUR")


def seed_inventory(monkeypatch: pytest.MonkeyPatch, catalog: dict[str, Any] = CATALOG) -> None:
    """The test catalog and stock in the (moto) inventory table, and the warehouses in the environment."""
    monkeypatch.setenv(constants.ENV_WAREHOUSES, json.dumps(WAREHOUSES))
    inventory.seed(catalog)


def total_units(sku: str) -> int:
    """available + held + sold over every warehouse: only a restock may change it."""
    return sum(sum(level.values()) for level in inventory.stock_levels(sku).values())


@contextmanager
def serialized_dynamodb() -> Iterator[None]:
    """DynamoDB isolates each request; moto 5.2.5 does not (a cancelled transaction restores a deep copy
    of the table over other threads' writes). The sandbox's moto fixes serialize its requests: with
    them, a concurrency test tests our conditions, not moto.
    """
    with moto_fixes.applied():
        yield
