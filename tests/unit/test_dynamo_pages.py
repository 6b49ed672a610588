"""Every paginated read of DynamoDB goes through one helper (`dynamo.all_items`): each page, in order, the request
carried over with the key DynamoDB said to start from."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.shared.adapters import dynamo
from tests.conftest import create_table


class _Pages:
    """A Query or Scan that answers three pages of two items."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, **request: Any) -> dict[str, Any]:
        self.requests.append(dict(request))
        start = int(request.get("ExclusiveStartKey", {}).get("n", 0))
        page: dict[str, Any] = {"Items": [{"n": start}, {"n": start + 1}]}
        if start + 2 < 6:
            page["LastEvaluatedKey"] = {"n": start + 2}
        return page


def test_all_items_reads_every_page_with_the_same_request() -> None:
    pages = _Pages()
    assert [item["n"] for item in dynamo.all_items(pages, FilterExpression="f", ConsistentRead=True)] == list(range(6))
    assert [r.get("ExclusiveStartKey") for r in pages.requests] == [None, {"n": 2}, {"n": 4}]
    assert all(r["FilterExpression"] == "f" and r["ConsistentRead"] for r in pages.requests)


def test_query_all_addresses_the_tables_own_key_names(aws: Any) -> None:
    table = create_table("test-keys", ("partition", "sort"))
    for sort in ("A#1", "A#2", "B#1"):
        table.put_item(Item={"partition": "P", "sort": sort})
    found = dynamo.query_all(table, "P", sk_prefix="A#", keys=("partition", "sort"))
    assert [item["sort"] for item in found] == ["A#1", "A#2"]


class _Throttling:
    """A Table resource whose BatchGetItem leaves the last key of each call unprocessed ``throttled`` times."""

    name = "t"

    def __init__(self, throttled: int) -> None:
        self.meta = self
        self.client = self
        self.throttled = throttled
        self.calls: list[list[dict[str, Any]]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems[self.name]["Keys"]
        self.calls.append(keys)
        if self.throttled and len(keys) > 1:
            self.throttled -= 1
            return {"Responses": {self.name: keys[:-1]}, "UnprocessedKeys": {self.name: {"Keys": keys[-1:]}}}
        if self.throttled:
            self.throttled -= 1
            return {"Responses": {self.name: []}, "UnprocessedKeys": {self.name: {"Keys": keys}}}
        return {"Responses": {self.name: keys}}


def test_batch_get_asks_100_keys_a_call_and_again_for_the_unprocessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamo.time, "sleep", lambda _: None)
    table = _Throttling(throttled=2)
    keys = [{"k": str(n)} for n in range(150)]
    assert sorted(int(item["k"]) for item in dynamo.batch_get(table, keys)) == list(range(150))
    assert [len(call) for call in table.calls] == [100, 1, 1, 50]


def test_batch_get_gives_up_on_keys_that_stay_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamo.time, "sleep", lambda _: None)
    with pytest.raises(RuntimeError, match="throttled 6 times in a row"):
        dynamo.batch_get(_Throttling(throttled=99), [{"k": "1"}])
