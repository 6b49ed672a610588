"""The back-office's rules, free of AWS: who may do what, and what reviewers and operators are shown.

Who the caller is comes only from the token the API's Cognito authoriser verified (its claims): the user
name is the reviewer a decision records, the ``cognito:groups`` claim says what they may do. Nothing a
request body says about its sender is believed: a body naming a reviewer is refused.

- reviewers: see the waiting reviews and any order's detail; decide (approve / reject with a note);
- operators: see everything (reviews, orders by status, failures by reason, order detail); decide nothing;
- anyone else (signed in, in neither group): nothing, 403.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Final, NamedTuple

from lambdas.backoffice_api.settings import OPERATORS_GROUP, REVIEWERS_GROUP
from lambdas.decide_payment_review.logic import Decision
from lambdas.review_monitor.logic import WaitingReview
from lambdas.shared import constants

_PK, _SK = constants.SUBSCRIBER_TABLE_KEYS

MAX_NOTE: Final = 1000
# Step Functions' execution statuses an operator may list by.
ORDER_STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
MAX_FAILURE_DAYS: Final = 90
_DECISIONS: Final = {"approve": "approve", "reject": "reject"}
_BODY_FIELDS: Final = frozenset({"decision", "note"})


class Forbidden(Exception):
    """The caller is signed in but may not do this (HTTP 403); the message says why."""


class Unauthenticated(Exception):
    """No verified user in the request (HTTP 401): the authoriser did not run or gave no user."""


class BadRequest(ValueError):
    """The request itself is wrong (HTTP 400); the message names the field."""


class NotFound(LookupError):
    """What the request names does not exist (HTTP 404): no such order."""


class Permission(Enum):
    READ_REVIEWS = "read reviews"
    READ_ORDERS = "read an order"
    DECIDE = "decide a payment review"
    OPERATE = "see orders by status and failures by reason"


_GRANTS: Final = {
    REVIEWERS_GROUP: {Permission.READ_REVIEWS, Permission.READ_ORDERS, Permission.DECIDE},
    OPERATORS_GROUP: {Permission.READ_REVIEWS, Permission.READ_ORDERS, Permission.OPERATE},
}


class Caller(NamedTuple):
    user: str
    groups: frozenset[str]

    @property
    def permissions(self) -> set[Permission]:
        return set().union(*(_GRANTS.get(group, set()) for group in self.groups))

    def require(self, permission: Permission) -> None:
        if permission in self.permissions:
            return
        known = sorted(self.groups & _GRANTS.keys())
        if not known:
            raise Forbidden(
                f"{self.user} is in neither the {REVIEWERS_GROUP} nor the {OPERATORS_GROUP} group: "
                "ask an administrator to add you to one."
            )
        raise Forbidden(f"{self.user} ({', '.join(known)}) may not {permission.value}.")

    def view(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "groups": sorted(self.groups),
            "may": sorted(p.name.lower() for p in self.permissions),
        }


def groups_claim(value: Any) -> frozenset[str]:
    """``cognito:groups`` as API Gateway hands it over: a list, "a,b", "[a b]" or "a"."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        parts: Iterable[Any] = re.split(r"[\s,]+", value.strip().strip("[]"))
    elif isinstance(value, list | tuple):
        parts = value
    else:
        return frozenset()
    return frozenset(str(part).strip() for part in parts if str(part).strip())


def caller(claims: Mapping[str, Any] | None) -> Caller:
    """The signed-in user of a request, from the claims the Cognito authoriser verified."""
    if not claims:
        raise Unauthenticated("Sign in first: the request carries no verified user.")
    user = str(claims.get("cognito:username") or "").strip()
    if not user:
        raise Unauthenticated("The token names no user (cognito:username).")
    return Caller(user=user, groups=groups_claim(claims.get("cognito:groups")))


def order_id(value: str) -> str:
    if not re.fullmatch(constants.ORDER_ID_PATTERN, value or ""):
        raise BadRequest(f"order id {value!r} is not a valid order id (letters, digits, '-' and '_', at most 64)")
    return value


def decision_request(order: str, body: Any, reviewer: Caller) -> Decision:
    """{decision: approve|reject, note?} for an order, decided by the signed-in reviewer."""
    order = order_id(order)
    if not isinstance(body, Mapping):
        raise BadRequest('the body must be a JSON object: {"decision": "approve" | "reject", "note": "..."}')
    if "reviewer" in body:
        raise BadRequest("field 'reviewer' is not accepted: the reviewer is the signed-in user")
    if unknown := sorted(set(body) - _BODY_FIELDS):
        raise BadRequest(f"unknown fields {unknown}: only 'decision' and 'note' are accepted")
    raw = body.get("decision")
    decision = _DECISIONS.get(raw.strip().lower()) if isinstance(raw, str) else None
    if decision is None:
        raise BadRequest(f"field 'decision' must be 'approve' or 'reject', got {raw!r}")
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        raise BadRequest("field 'note' must be a string")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise BadRequest(f"field 'note' must be at most {MAX_NOTE} characters")
    return Decision(
        order_id=order,
        decision="APPROVED" if decision == "approve" else "REJECTED",
        reviewer=reviewer.user,
        note=note,
    )


def review_view(review: WaitingReview, now: datetime) -> dict[str, Any]:
    """One waiting review as the page lists it: amount, customer, time waited and time left."""
    left = (review.review_deadline - now).total_seconds() if review.review_deadline else None
    return {
        "orderId": review.order_id,
        "amountCents": review.amount_cents,
        "currency": review.currency,
        "customerId": review.customer_id,
        "requestedAt": review.requested_at.isoformat(),
        "reviewDeadline": review.review_deadline.isoformat() if review.review_deadline else None,
        "waitedSeconds": round(review.waited_seconds(now)),
        "leftSeconds": None if left is None else max(0, round(left)),
    }


def order_status(value: str | None) -> str:
    status = (value or "RUNNING").strip().upper()
    if status not in ORDER_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(ORDER_STATUSES)}, got {value!r}")
    return status


def failure_days(value: str | None, default: int = 7) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_FAILURE_DAYS:
        raise BadRequest(f"days must be a whole number from 1 to {MAX_FAILURE_DAYS}, got {value!r}")
    return int(value)


def failures_by_reason(counters: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """failure_stats counters (pk DAY#<day>, sk ERROR#<name>, orders) -> [{error, orders, days}] most first."""
    totals: dict[str, int] = {}
    days: dict[str, set[str]] = {}
    for item in counters:
        error = str(item.get(_SK, "")).removeprefix("ERROR#")
        totals[error] = totals.get(error, 0) + int(item.get("orders", 0))
        days.setdefault(error, set()).add(str(item.get(_PK, "")).removeprefix("DAY#"))
    return [
        {"error": error, "orders": count, "days": sorted(days[error])}
        for error, count in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def order_summary(execution: Mapping[str, Any]) -> dict[str, Any]:
    """One ListExecutions entry as an operator's list row."""
    stop = execution.get("stopDate")
    return {
        "orderId": execution["name"],
        "status": execution["status"],
        "startedAt": _iso(execution.get("startDate")),
        "stoppedAt": _iso(stop) if stop else None,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value is not None else None)
