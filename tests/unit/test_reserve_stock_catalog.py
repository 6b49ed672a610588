"""The example catalog and `python -m examples.seed`: what the demos reserve, price and race for."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from examples import seed
from infra import config
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from tests.conftest import TEST_TABLES

CATALOG = seed.load_catalog()
PRODUCTS = CATALOG["products"]
WAREHOUSE_IDS = {str(w["id"]) for w in config.DEFAULT_WAREHOUSES}
INVENTORY_TABLE = TEST_TABLES[constants.ENV_INVENTORY_TABLE][0]


def test_the_example_catalog_is_small_sellable_and_stocked_in_known_warehouses() -> None:
    skus = [p["sku"] for p in PRODUCTS]
    assert 5 <= len(skus) <= 8 and len(set(skus)) == len(skus)
    for product in PRODUCTS:
        assert re.fullmatch(constants.SKU_PATTERN, product["sku"]), product["sku"]
        assert isinstance(product["priceCents"], int) and product["priceCents"] > 0
        assert isinstance(product["leadTimeDays"], int) and product["leadTimeDays"] > 0
        assert product["name"] and set(product["stock"]) <= WAREHOUSE_IDS
        assert all(isinstance(units, int) and units >= 0 for units in product["stock"].values())


def test_the_example_catalog_has_a_product_with_only_a_few_units_left() -> None:
    assert any(0 < p["stock"].get("WH-EU-1", 0) <= 3 for p in PRODUCTS)


def test_seed_inventory_writes_catalog_and_stock(tables: dict[str, Any]) -> None:
    written = seed.seed_inventory(INVENTORY_TABLE, CATALOG)
    # One item per product, one per stock shard (a sharded product's level is spread over its shards).
    assert written == len(PRODUCTS) + sum(len(p["stock"]) * p.get("stockShards", 1) for p in PRODUCTS)
    catalog = inventory.get_catalog([p["sku"] for p in PRODUCTS], table_name=INVENTORY_TABLE)
    for product in PRODUCTS:
        item = catalog[product["sku"]]
        assert (item.name, item.price_cents, item.lead_time_days, item.active) == (
            product["name"],
            product["priceCents"],
            product["leadTimeDays"],
            True,
        )
        levels = inventory.stock_levels(product["sku"], table_name=INVENTORY_TABLE)
        assert {wh: level["available"] for wh, level in levels.items()} == product["stock"]
        assert all(level["held"] == level["sold"] == 0 for level in levels.values())


def test_get_catalog_reads_more_skus_than_one_batch_holds(tables: dict[str, Any]) -> None:
    products = [{"sku": f"SKU-{n:03d}", "name": f"P{n}", "priceCents": n + 1, "leadTimeDays": 1} for n in range(130)]
    inventory.seed({"products": products}, table_name=INVENTORY_TABLE)
    found = inventory.get_catalog([p["sku"] for p in products] + ["NOT-THERE"], table_name=INVENTORY_TABLE)
    assert len(found) == 130 and found["SKU-129"].price_cents == 130


def deploy_stack_with_outputs(outputs: dict[str, Any]) -> None:
    template = {
        "Resources": {
            "Inventory": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "stack-inventory",
                    "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                },
            }
        },
        "Outputs": outputs,
    }
    boto3.client("cloudformation").create_stack(StackName=constants.STACK_NAME, TemplateBody=json.dumps(template))


def test_seed_finds_the_table_through_the_stack_outputs(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    deploy_stack_with_outputs({"InventoryTableName": {"Value": {"Ref": "Inventory"}}})
    assert seed.main([]) == 0
    assert "into stack-inventory" in capsys.readouterr().out
    skus = [p["sku"] for p in PRODUCTS]
    assert sorted(inventory.get_catalog(skus, table_name="stack-inventory")) == sorted(skus)


def test_seed_says_which_output_is_missing(aws: None) -> None:
    deploy_stack_with_outputs({})
    with pytest.raises(LookupError, match="has no output InventoryTableName"):
        seed.main([])
