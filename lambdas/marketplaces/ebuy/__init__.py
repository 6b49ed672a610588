"""eBuy, a (simulated) electronic marketplace: its order webhook, translated into MarketplaceOrderReceived."""
