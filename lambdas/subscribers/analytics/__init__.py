"""The analytics subscriber of the order bus."""
