"""A till receipt of the city store -> MarketplaceOrderReceived data. Pure.

The till's receipt (its field names, not ours)::

    {"receiptNo": "R-1001", "till": "T2", "customer": {"loyaltyId": "L-5", "email": "..."},
     "lines": [{"sku": "MUG-BLUE", "qty": 1}], "paidCents": 1193, "currency": "EUR",
     "cardTerminalRef": "CT-...", "deliverTo": null}

``deliverTo`` null: the customer took the goods home (handed over: nothing ships, the stock the store sells
from is the warehouse serving the store's own address). An address: the shop ships it.
"""

from __future__ import annotations

from typing import Any, Final

from lambdas.marketplaces.connector import InvalidMarketplaceOrder, required
from lambdas.shared import constants

STORE_ADDRESS: Final = {
    "name": "City Store",
    "line1": "5 Market Square",
    "city": "Berlin",
    "postalCode": "10117",
    "country": "DE",
}
_ADDRESS_FIELDS: Final = ("name", "line1", "city", "postalCode", "country")


def translate(receipt: Any) -> dict[str, Any]:
    customer = required(receipt, "customer", "")
    lines = required(receipt, "lines", "")
    if not isinstance(lines, list):
        raise InvalidMarketplaceOrder("lines: must be a list")
    deliver_to = receipt.get("deliverTo")
    if deliver_to is None:
        fulfilment, address = constants.FULFILMENT_HANDED_OVER, dict(STORE_ADDRESS)
    else:
        fulfilment = constants.FULFILMENT_SHIPPED
        address = {key: required(deliver_to, key, "deliverTo.") for key in _ADDRESS_FIELDS}
    paid = required(receipt, "paidCents", "")
    if isinstance(paid, bool) or not isinstance(paid, int) or paid <= 0:
        raise InvalidMarketplaceOrder(f"paidCents: a positive integer, got {paid!r:.40}")
    return {
        "marketplace": "city_store",
        "marketplaceOrderId": str(required(receipt, "receiptNo", "")),
        "customer": {
            "id": f"city_store:{required(customer, 'loyaltyId', 'customer.')}",
            "email": required(customer, "email", "customer."),
        },
        "items": [
            {"sku": str(required(line, "sku", f"lines[{i}].")), "quantity": required(line, "qty", f"lines[{i}].")}
            for i, line in enumerate(lines)
        ],
        "fulfilment": fulfilment,
        "shippingAddress": address,
        "totalCents": paid,
        "currency": required(receipt, "currency", ""),
        "paymentReference": str(required(receipt, "cardTerminalRef", "")),
    }
