"""RefundPayment (compensation): refunds a captured payment or voids one that was never settled."""
