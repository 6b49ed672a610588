"""The failure_stats subscriber of the order bus."""
