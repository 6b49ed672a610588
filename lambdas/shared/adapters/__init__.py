"""Adapters: the only modules that call AWS. Domain code receives them as arguments."""

# boto3 first, before any adapter's `from botocore.exceptions import ...`: with botocore entered
# that way the payment functions' cold import measured 35-60 ms CPU slower on CPython 3.11 (same
# modules, same calls; urllib3's regex compilation ran ~5x slower), see docs/BENCH.md. Every
# handler imports boto3 anyway, so this costs nothing where it does not help.
import boto3  # noqa: F401
