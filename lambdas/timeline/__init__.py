"""One timeline per order: what the workflow did (its execution history) and what each subscriber did
with each event (recorded here by the shared subscriber entry point), merged in time order.

``logic.py`` is pure (records, merge); ``store.py`` is the timeline table (DynamoDB, TTL);
``recorder.py`` wraps a subscriber's handler so every subscriber records without code of its own.
"""
