"""orderctl against the sandbox server, the way an operator runs it."""
