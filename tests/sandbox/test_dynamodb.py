"""The sandbox's DynamoDB partition model (sandbox/dynamodb.py): write units per partition key and virtual second,
answered as DynamoDB answers a throttled transaction and a throttled write; moto alone takes every write."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox import dynamodb
from sandbox.clock import Clock
from tests.conftest import create_table

HOT = "PRODUCT#LAMP"
TABLE = "inventory"
OTHER_TABLE = "audit"


@pytest.fixture
def client(aws: None) -> Any:
    create_table(TABLE, ("pk", "sk"))
    create_table(OTHER_TABLE, ("pk", "sk"))
    return boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))  # boto3 retries throttles


def _hold(client: Any, order: str, table: str = TABLE) -> None:
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": HOT}, "sk": {"S": "STOCK#WH"}},
                    "UpdateExpression": "ADD held :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Put": {"TableName": table, "Item": {"pk": {"S": f"ORDER#{order}"}, "sk": {"S": "HOLD#LAMP"}}}},
        ]
    )


def _put(client: Any, pk: str) -> None:
    client.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": "x"}})


def test_a_hot_key_is_throttled_within_a_virtual_second_and_serves_again_when_the_clock_moves(client: Any) -> None:
    for order in range(5):
        _hold(client, f"free-{order}")  # moto alone: no limit
    clock = Clock()
    with dynamodb.modelled(clock, dynamodb.DynamoLimits(write_units_per_second=4)) as model:
        _hold(client, "a")
        _hold(client, "b")  # 2 + 2 units on HOT: its budget
        with pytest.raises(ClientError) as refused:
            _hold(client, "c")
        error = refused.value.response
        assert error["Error"]["Code"] == "TransactionCanceledException"
        # The stock item over its budget, the order's own HOLD item (another partition) fine.
        assert [reason["Code"] for reason in error["CancellationReasons"]] == [dynamodb.THROTTLING_ERROR, "None"]
        assert "hot key" in error["CancellationReasons"][0]["Message"]
        assert "Item" not in client.get_item(TableName=TABLE, Key={"pk": {"S": "ORDER#c"}, "sk": {"S": "HOLD#LAMP"}})
        _put(client, "ORDER#d")  # another key has its own budget
        clock.advance(1.0)
        _hold(client, "c")
    assert model.throttled == 1 and model.throttled_keys == {(TABLE, HOT): 1}
    held = client.get_item(TableName=TABLE, Key={"pk": {"S": HOT}, "sk": {"S": "STOCK#WH"}})["Item"]["held"]
    assert held == {"N": "8"}  # 5 + a, b and c once: the refused transaction wrote nothing
    _hold(client, "after")  # restored afterwards
    _hold(client, "after-2")


def test_a_single_write_is_answered_provisioned_throughput_exceeded_with_the_key_range_reason(client: Any) -> None:
    with dynamodb.modelled(Clock(), dynamodb.DynamoLimits(write_units_per_second=2)) as model:
        _put(client, HOT)
        _put(client, HOT)
        with pytest.raises(ClientError) as refused:
            _put(client, HOT)
    error = refused.value.response
    assert error["Error"]["Code"] == dynamodb.THROUGHPUT_EXCEEDED
    assert [r["reason"] for r in error["ThrottlingReasons"]] == [dynamodb.KEY_RANGE_THROTTLED]
    assert error["ThrottlingReasons"][0]["resource"].endswith(f":table/{TABLE}")
    assert model.throttled == 1


def test_only_the_tables_named_are_limited(client: Any) -> None:
    with dynamodb.modelled(Clock(), dynamodb.DynamoLimits(2, tables=frozenset({OTHER_TABLE}))) as model:
        for order in range(3):
            _hold(client, f"o{order}")
        _hold(client, "x", table=OTHER_TABLE)
        with pytest.raises(ClientError):
            _hold(client, "y", table=OTHER_TABLE)
    assert model.throttled_keys == {(OTHER_TABLE, HOT): 1}


def test_a_limit_below_a_transactional_write_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        dynamodb.DynamoLimits(write_units_per_second=1)


def test_an_occupied_key_is_throttled_until_the_clock_passes_the_time_given(client: Any) -> None:
    clock = Clock()
    with dynamodb.modelled(clock, dynamodb.DynamoLimits(tables=frozenset({TABLE}))) as model:
        model.occupy(TABLE, HOT, 60.0)
        with pytest.raises(ClientError):
            _hold(client, "a")  # 2 units of 1,000: the key is taken by other writers
        _put(client, "PRODUCT#OTHER")
        clock.advance(60.0)
        _hold(client, "a")
    assert model.throttled == 1
