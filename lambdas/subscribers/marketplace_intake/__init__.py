"""MarketplaceOrderReceived -> the order workflow, once per marketplace and its order id."""
