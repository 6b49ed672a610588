"""The notifications subscriber of the order bus."""
