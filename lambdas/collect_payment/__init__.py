"""CollectPayment: charges an order once through the payment gateway."""
