"""Code every function shares: names, errors, models, observability, the event contract and adapters."""
