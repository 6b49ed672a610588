"""Every paginated read of DynamoDB goes through one helper (`dynamo.all_items`): each page, in order, the request
carried over with the key DynamoDB said to start from."""

from __future__ import annotations

from typing import Any

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
