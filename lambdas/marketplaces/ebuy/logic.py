"""eBuy's order as its webhook sends it -> MarketplaceOrderReceived data. Pure.

eBuy's order (its field names, not ours)::

    {"orderNumber": "EB-1001", "buyer": {"userId": "u77", "email": "..."},
     "lines": [{"sellerSku": "MUG-BLUE", "qty": 2}],
     "shipTo": {"fullName": "...", "street": "...", "city": "...", "zip": "...", "countryCode": "DE"},
     "grandTotal": "23.79", "currency": "EUR", "paymentId": "EBPAY-..."}

Everything eBuy sells ships; its total is what the buyer paid eBuy (its discount and shipping included).
"""

from __future__ import annotations

from typing import Any

from lambdas.marketplaces.connector import InvalidMarketplaceOrder, cents, required
from lambdas.shared import constants


def translate(webhook: Any) -> dict[str, Any]:
    buyer = required(webhook, "buyer", "")
    ship_to = required(webhook, "shipTo", "")
    lines = required(webhook, "lines", "")
    if not isinstance(lines, list):
        raise InvalidMarketplaceOrder("lines: must be a list")
    return {
        "marketplace": "ebuy",
        "marketplaceOrderId": str(required(webhook, "orderNumber", "")),
        "customer": {"id": f"ebuy:{required(buyer, 'userId', 'buyer.')}", "email": required(buyer, "email", "buyer.")},
        "items": [
            {"sku": str(required(line, "sellerSku", f"lines[{i}].")), "quantity": required(line, "qty", f"lines[{i}].")}
            for i, line in enumerate(lines)
        ],
        "fulfilment": constants.FULFILMENT_SHIPPED,
        "shippingAddress": {
            "name": required(ship_to, "fullName", "shipTo."),
            "line1": required(ship_to, "street", "shipTo."),
            "city": required(ship_to, "city", "shipTo."),
            "postalCode": required(ship_to, "zip", "shipTo."),
            "country": required(ship_to, "countryCode", "shipTo."),
        },
        "totalCents": cents(required(webhook, "grandTotal", ""), "grandTotal"),
        "currency": required(webhook, "currency", ""),
        "paymentReference": str(required(webhook, "paymentId", "")),
    }
