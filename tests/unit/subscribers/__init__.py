"""Subscribers of the order bus, on moto."""
