"""The city store's tills (simulated): a receipt, translated into MarketplaceOrderReceived."""
