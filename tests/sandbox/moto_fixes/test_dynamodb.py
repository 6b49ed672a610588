"""DynamoDB fix (sandbox/moto_fixes/dynamodb.py): moto is still broken without it, and it works."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sandbox.account import Sandbox
from sandbox.moto_fixes import suspended


def _concurrent_write_while_a_read_is_inside_dynamodb(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> bool:
    """True when a put_item completes while another request is still inside the DynamoDB backend."""
    from moto.dynamodb.models import DynamoDBBackend

    sandbox.client("dynamodb").create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    inside, release = threading.Event(), threading.Event()
    original = DynamoDBBackend.get_item

    def slow_get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        inside.set()
        release.wait(5)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "get_item", slow_get_item)
    client = sandbox.client("dynamodb")
    reader = threading.Thread(target=lambda: client.get_item(TableName="t", Key={"pk": {"S": "a"}}))
    reader.start()
    assert inside.wait(5)
    writer = threading.Thread(target=lambda: client.put_item(TableName="t", Item={"pk": {"S": "b"}}))
    writer.start()
    writer.join(0.5)
    overlapped = not writer.is_alive()
    release.set()
    reader.join(5)
    writer.join(5)
    return overlapped


def test_dynamodb_isolation_without_fix(account: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with suspended("dynamodb-serializable"):
        assert _concurrent_write_while_a_read_is_inside_dynamodb(account, monkeypatch)


def test_dynamodb_isolation_with_fix(account: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _concurrent_write_while_a_read_is_inside_dynamodb(account, monkeypatch)
