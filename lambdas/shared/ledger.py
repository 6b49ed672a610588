"""Double-entry bookkeeping for an order, in pure Python (no AWS).

A sale debits what the payment gateway now owes us (accounts receivable, settled to cash later)
with the order total and credits what it is made of: goods revenue, tax owed to the tax office
and shipping revenue. A refund is the exact mirror. Every transaction is checked to balance
before anything is written; ``assert`` is not used because ``python -O`` would drop it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple, Protocol

ACCOUNTS_RECEIVABLE: Final = "accounts-receivable"
SALES_REVENUE: Final = "sales-revenue"
TAX_PAYABLE: Final = "tax-payable"
SHIPPING_REVENUE: Final = "shipping-revenue"

SALE: Final = "SALE"
REFUND: Final = "REFUND"

# Fixed namespace: the same order and kind always give the same transaction id.
_TRANSACTION_NAMESPACE: Final = uuid.UUID("6f1c7a52-3b7e-4c8e-9a57-0e2d9b3c4a11")


class UnbalancedTransaction(ValueError):
    """Debits and credits differ, or an entry is malformed: nothing may be booked."""


class Entry(NamedTuple):
    account: str
    debit_cents: int = 0
    credit_cents: int = 0

    def to_item(self) -> dict[str, Any]:
        return {"account": self.account, "debitCents": self.debit_cents, "creditCents": self.credit_cents}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Entry:
        return cls(str(item["account"]), int(item["debitCents"]), int(item["creditCents"]))


def transaction_id(order_id: str, kind: str) -> str:
    return str(uuid.uuid5(_TRANSACTION_NAMESPACE, f"{order_id}#{kind}"))


def assert_balanced(entries: Iterable[Entry]) -> list[Entry]:
    """The entries, if each moves a non-negative amount on one side and debits equal credits."""
    entries = list(entries)
    if not entries:
        raise UnbalancedTransaction("a transaction needs at least one entry")
    for entry in entries:
        if entry.debit_cents < 0 or entry.credit_cents < 0:
            raise UnbalancedTransaction(f"negative amount on {entry.account}")
        if (entry.debit_cents > 0) == (entry.credit_cents > 0):
            raise UnbalancedTransaction(f"entry on {entry.account} must be either a debit or a credit")
    debits = sum(e.debit_cents for e in entries)
    credits = sum(e.credit_cents for e in entries)
    if debits != credits:
        raise UnbalancedTransaction(f"debits {debits} != credits {credits}")
    return entries


def sale_entries(subtotal_cents: int, tax_cents: int, shipping_cents: int, total_cents: int) -> list[Entry]:
    """The sale of one order; zero amounts (free shipping, no tax) get no entry."""
    if subtotal_cents + tax_cents + shipping_cents != total_cents:
        raise UnbalancedTransaction(
            f"total {total_cents} != subtotal {subtotal_cents} + tax {tax_cents} + shipping {shipping_cents}"
        )
    credits = [
        Entry(SALES_REVENUE, credit_cents=subtotal_cents),
        Entry(TAX_PAYABLE, credit_cents=tax_cents),
        Entry(SHIPPING_REVENUE, credit_cents=shipping_cents),
    ]
    debit = Entry(ACCOUNTS_RECEIVABLE, debit_cents=total_cents)
    return assert_balanced([debit, *(c for c in credits if c.credit_cents)])


def reversal_entries(entries: Iterable[Entry]) -> list[Entry]:
    """The mirror of a balanced transaction: what was debited is credited and vice versa."""
    return assert_balanced(Entry(e.account, e.credit_cents, e.debit_cents) for e in assert_balanced(entries))


class LedgerStore(Protocol):
    """Where an order's transactions are booked, each kind at most once (lambdas.shared.adapters.ledger.LedgerTable;
    a test may pass any object with these methods)."""

    def get(self, order_id: str, kind: str) -> dict[str, Any] | None:
        """The order's transaction of this kind (its ``entries`` as Entry), or None."""
        ...

    def put_once(self, order_id: str, kind: str, transaction: dict[str, Any], entries: list[Entry]) -> str:
        """Book the transaction unless the order has one of this kind; its transaction id either way."""
        ...
