"""Choreography: one package per subscriber of the order bus (registered in infra/subscribers.py).

Each is ``handler.py`` (thin Powertools handler) + ``logic.py`` (pure domain logic); AWS calls
live in ``lambdas/shared/adapters/``. Every subscriber is idempotent on a business key, because
EventBridge delivers at least once and archive replays deliver again.
"""
