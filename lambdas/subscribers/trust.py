"""Which events a subscriber acts on: only the shop speaks for the shop (docs/SECURITY.md).

The bus policy already keeps our sources to our publishers' roles; this is the subscribers' own check, for
whatever reaches them anyway (a policy edited by hand, a redrive or an invoke from the console):

- the source must be one the subscriber's rule admits (``EXPECTED_EVENT_SOURCES``, set by the stack from the
  rule's pattern; without it, the shop's own source only);
- the account must be this one, or, for a marketplace source, one of the partner accounts the stack admits
  (``PARTNER_ACCOUNTS``): an event put on our bus by another account carries that account;
- an OrderCompleted must name an order whose sale is in the ledger: the workflow records it (RecordAccounting)
  before PublishOrderCompleted, so a completed order without a sale was never ours.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import table
from lambdas.shared.adapters.ledger import LedgerTable
from lambdas.shared.ledger import SALE

# Why an event was refused: the metric's dimension and the log's "reason" (never the event's data).
UNEXPECTED_SOURCE = "unexpected-source"
FOREIGN_ACCOUNT = "foreign-account"
UNKNOWN_ORDER = "unknown-order"


def expected_sources() -> list[Any]:
    """The rule's "source" list: strings and ``{"prefix": ...}`` matchers."""
    raw = os.environ.get(constants.ENV_EXPECTED_SOURCES, "").strip()
    return json.loads(raw) if raw else [constants.EVENT_SOURCE]


def partner_accounts() -> list[str]:
    raw = os.environ.get(constants.ENV_PARTNER_ACCOUNTS, "").strip()
    return [str(a) for a in json.loads(raw)] if raw else []


def account_of(context: Any) -> str | None:
    """This function's account, from its ARN (arn:aws:lambda:<region>:<account>:function:<name>)."""
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None


def source_admitted(source: Any, sources: Sequence[Any]) -> bool:
    for matcher in sources:
        if isinstance(matcher, str) and source == matcher:
            return True
        if isinstance(matcher, Mapping) and isinstance(source, str) and source.startswith(str(matcher["prefix"])):
            return True
    return False


def refusal(
    event: Mapping[str, Any], own_account: str | None, sources: Sequence[Any], partners: Sequence[str]
) -> str | None:
    """Why `event` must not be processed (UNEXPECTED_SOURCE, FOREIGN_ACCOUNT), or None. Pure: no AWS."""
    source = event.get("source")
    if not source_admitted(source, sources):
        return UNEXPECTED_SOURCE
    account = event.get("account")
    if own_account is not None and account == own_account:
        return None
    if isinstance(source, str) and source.startswith(constants.MARKETPLACE_SOURCE_PREFIX) and account in partners:
        return None
    return FOREIGN_ACCOUNT


def claims_a_sale(event: Mapping[str, Any]) -> str | None:
    """The order an OrderCompleted says was sold (its correlation id), or None for other events."""
    if event.get("detail-type") != constants.EVENT_ORDER_COMPLETED:
        return None
    detail = event.get("detail")
    metadata = detail.get("metadata") if isinstance(detail, Mapping) else None
    order_id = metadata.get("correlationId") if isinstance(metadata, Mapping) else None
    return str(order_id or "")


def sale_recorded(order_id: str) -> bool:
    """Is the order's sale in the ledger? The subscriber's stack names the table (GetItem on it only)."""
    name = os.environ.get(constants.ENV_LEDGER_TABLE, "").strip()
    if not name:
        raise RuntimeError(
            f"{constants.ENV_LEDGER_TABLE} is not set: a subscriber of OrderCompleted checks the order's sale "
            "in the ledger (infra/subscribers.py gives it the table)"
        )
    return bool(order_id) and LedgerTable(table(name)).get(order_id, SALE) is not None
