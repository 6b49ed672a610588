"""The inventory subscriber of the order bus."""
