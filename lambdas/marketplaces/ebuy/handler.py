"""eBuy's order webhook -> MarketplaceOrderReceived on the order bus (source com.example.marketplace.ebuy)."""

from __future__ import annotations

from lambdas.marketplaces.connector import make_handler
from lambdas.marketplaces.ebuy.logic import translate

handler = make_handler("ebuy", translate, __name__, correlation_path="orderNumber")
