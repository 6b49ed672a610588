"""The audit subscriber of the order bus."""
