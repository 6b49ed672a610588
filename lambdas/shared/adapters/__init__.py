"""Adapters of the shared workflow tables and services; domain code receives them as arguments.

Only what several functions share lives here: the inventory table (validate, reserve, price, release,
the inventory subscriber), the payments and gateway-ledger tables (collect, review, refund, the review
monitor, the sweeper), the ledger table (record, refund), the order bus, executions, boto3 clients and the
DynamoDB helpers. A table that serves one feature is that feature's ``store.py``
(``lambdas/subscribers/<name>/store.py``): nothing here imports a feature.
"""

# boto3 first, before any adapter's `from botocore.exceptions import ...`: with botocore entered
# that way the payment functions' cold import measured 35-60 ms CPU slower on CPython 3.11 (same
# modules, same calls; urllib3's regex compilation ran ~5x slower), see docs/BENCH.md. Every
# handler imports boto3 anyway, so this costs nothing where it does not help.
import boto3  # noqa: F401
