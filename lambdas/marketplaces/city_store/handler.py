"""A city store till receipt -> MarketplaceOrderReceived on the bus (source com.example.marketplace.city_store)."""

from __future__ import annotations

from lambdas.marketplaces.city_store.logic import translate
from lambdas.marketplaces.connector import make_handler

handler = make_handler("city_store", translate, __name__, correlation_path="receiptNo")
