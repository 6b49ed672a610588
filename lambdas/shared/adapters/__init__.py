"""Adapters: the only modules that call AWS. Domain code receives them as arguments."""
