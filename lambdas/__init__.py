"""Lambda code: one folder per function (thin Powertools handler + its domain logic) and `shared/`."""
