"""ValidateOrder's domain: the execution's name, the order's shape, then its SKUs against the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lambdas.marketplaces.registry import check_channel
from lambdas.shared import constants
from lambdas.shared.errors import InvalidOrder
from lambdas.shared.order import check_catalog, parse_order, shown
from lambdas.shared.stock import CatalogItem

CatalogLookup = Callable[[Iterable[str]], Mapping[str, CatalogItem]]


def validate_task(task: Any, currency: str, lookup: CatalogLookup) -> dict[str, Any]:
    """ValidateOrder's input, ``{"order": <execution input>, "executionName": $$.Execution.Name}``, ->
    the normalised order, or ``InvalidOrder`` naming the field.

    The execution must be named after the order: Step Functions then refuses a second execution of
    the same order (one order, one execution, one outcome). An order started under another name is
    refused here, before anything is held or published.
    """
    if not isinstance(task, Mapping) or "order" not in task or not isinstance(task.get("executionName"), str):
        raise InvalidOrder("ValidateOrder expects {order, executionName} from the workflow, got " + shown(task))
    order = validate(task["order"], currency, lookup, channel_orders=True)
    if task["executionName"] != order["orderId"]:
        raise InvalidOrder(
            f"orderId: must equal the execution name, got orderId {order['orderId']!r} in an execution named "
            f"{task['executionName']!r}; start the order with --name {order['orderId']}"
        )
    return order


def validate(raw: Any, currency: str, lookup: CatalogLookup, channel_orders: bool = False) -> dict[str, Any]:
    """The normalised order, or ``InvalidOrder`` naming the field.

    The shape is checked first, so the catalog is only asked about well-formed SKUs. The normalised order
    always names its ``channel`` (``web`` unless a marketplace's or store's) and ``fulfilment`` (``shipped``
    unless handed over in a store); only the workflow (``channel_orders``) accepts other values than those.
    """
    order = parse_order(raw, currency, channel_orders)
    order.setdefault("channel", constants.CHANNEL_WEB)
    order.setdefault("fulfilment", constants.FULFILMENT_SHIPPED)
    check_channel(order)
    check_catalog(order["items"], lookup(line["sku"] for line in order["items"]))
    return order
