"""PriceOrder: prices an order and checks the total against what the customer was shown."""
