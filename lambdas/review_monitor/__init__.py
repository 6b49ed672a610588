"""Review monitor: every few minutes, how many orders wait for a payment reviewer and for how long."""
