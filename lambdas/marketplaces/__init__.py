"""Marketplace connectors: one package per marketplace or physical store the shop sells through.

A connector turns the marketplace's own order (its webhook, its till) into ``MarketplaceOrderReceived`` and
puts it on the order bus under its own source, ``com.example.marketplace.<name>``; the intake subscriber
(lambdas/subscribers/marketplace_intake) reacts. Adding one = a folder here (handler.py + logic.py) and a
``Connector`` in ``registry.py`` (its channel, pricing rules and promised delivery days).
"""
