"""ValidateOrder: checks an execution's input against the order contract and the catalog."""
