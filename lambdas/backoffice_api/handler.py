"""The back-office API (behind the REST API's Cognito authoriser): reviewers decide, operators look.

    GET  /backoffice/me                            who the token says you are, what you may do
    GET  /backoffice/reviews                       waiting reviews, oldest first
    POST /backoffice/reviews/{orderId}/decision    {"decision": "approve"|"reject", "note"?}  (reviewers)
    GET  /backoffice/orders?status=FAILED          one page of orders in a status              (operators)
    GET  /backoffice/orders/{orderId}              an order's detail
    GET  /backoffice/failures?days=7               failed orders by named error                (operators)

Each answer is JSON (without null fields); a refusal is {"message"}: 401 no verified user, 403 not allowed,
400 a bad request, 409 a decision that cannot be applied, 404 no such order (or route). Every answer
carries the page's CORS headers (API Gateway itself answers the preflights, infra/backoffice.py).
The caller is the authoriser's verified claims (requestContext.authorizer.claims), never the body.
Routed by (method, resource) as API Gateway names them (lambdas/shared/http.py), without Powertools'
event handler (~0.2x `import boto3` at every cold start; tests/unit/test_cold_imports.py keeps it out).
"""

from __future__ import annotations

import json
from typing import Any, Final

from lambdas.backoffice_api import adapters, logic
from lambdas.backoffice_api.logic import BadRequest, Forbidden, NotFound, Permission, Unauthenticated
from lambdas.backoffice_api.settings import CORS_ALLOW_HEADERS, CORS_MAX_AGE_SECONDS, BackOfficeSettings
from lambdas.decide_payment_review.logic import decide
from lambdas.order_api.store import Executions
from lambdas.review_monitor.logic import waiting_reviews
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.adapters.executions import running_order_ids
from lambdas.shared.adapters.payments import PaymentsTable, ReviewCallbacks
from lambdas.shared.clock import utc_now
from lambdas.shared.errors import ReviewDecisionError
from lambdas.shared.http import (
    Answer,
    Event,
    answer,
    no_route,
    path_parameter,
    problem,
    query_parameter,
    request_body,
    route_key,
    with_headers,
)
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.settings import cold_start

# The resources of the routes (infra/backoffice.py), as API Gateway names them in the event.
ME: Final = "/backoffice/me"
REVIEWS: Final = "/backoffice/reviews"
DECISION: Final = "/backoffice/reviews/{orderId}/decision"
ORDERS: Final = "/backoffice/orders"
ORDER: Final = "/backoffice/orders/{orderId}"
FAILURES: Final = "/backoffice/failures"
ORDER_ID: Final = "orderId"

settings = cold_start(BackOfficeSettings.from_env, __name__)


def me(event: Event, permission: Permission | None = None) -> logic.Caller:
    """The signed-in caller (the authoriser's claims), refused unless they hold ``permission``."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    found = logic.caller(authorizer.get("claims"))
    if permission is not None:
        found.require(permission)
    return found


def json_body(event: Event) -> Any:
    """The request's JSON (None without a body)."""
    raw = request_body(event)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None


def who_am_i(event: Event) -> dict[str, Any]:
    return me(event).view()


def reviews(event: Event) -> dict[str, Any]:
    me(event, Permission.READ_REVIEWS)
    s = settings()
    running = running_order_ids(client("stepfunctions"), s.state_machine_arn)
    waiting = waiting_reviews(running, PaymentsTable(table(s.payments_table)).get_many)
    now = utc_now()
    return {"reviews": [logic.review_view(review, now) for review in waiting], "now": now.isoformat()}


def decision(event: Event) -> dict[str, Any]:
    reviewer = me(event, Permission.DECIDE)
    order_id = path_parameter(event, ORDER_ID) or ""
    request = logic.decision_request(order_id, json_body(event), reviewer)
    s = settings()
    callbacks = ReviewCallbacks(client("stepfunctions"), s.state_machine_arn)
    result = decide(request, PaymentsTable(table(s.payments_table)), callbacks, utc_now())
    logger.info("payment review decided", extra={"orderId": order_id, "decision": result["decision"]})
    return result


def orders(event: Event) -> dict[str, Any]:
    me(event, Permission.OPERATE)
    status = logic.order_status(query_parameter(event, "status"))
    return adapters.orders_by_status(
        client("stepfunctions"), settings().state_machine_arn, status, query_parameter(event, "nextToken")
    )


def order(event: Event) -> dict[str, Any]:
    me(event, Permission.READ_ORDERS)
    order_id = logic.order_id(path_parameter(event, ORDER_ID) or "")
    s = settings()
    executions = Executions(client("stepfunctions"), s.state_machine_arn)
    payments = PaymentsTable(table(s.payments_table))
    detail = adapters.order_detail(executions, payments, table(s.timeline_table), order_id)
    if detail is None:
        raise NotFound(f"No order {order_id!r}.")
    return detail


def failures(event: Event) -> dict[str, Any]:
    me(event, Permission.OPERATE)
    days = logic.failure_days(query_parameter(event, "days"))
    counters = adapters.failure_counters(table(settings().failure_stats_table), utc_now().date(), days)
    return {"days": days, "failures": logic.failures_by_reason(counters)}


ROUTES: Final = {
    ("GET", ME): who_am_i,
    ("GET", REVIEWS): reviews,
    ("POST", DECISION): decision,
    ("GET", ORDERS): orders,
    ("GET", ORDER): order,
    ("GET", FAILURES): failures,
}


def cors(allowed_origin: str) -> dict[str, str]:
    """The headers that let the page (its origin only) read an answer."""
    return {
        "Access-Control-Allow-Origin": allowed_origin,
        "Access-Control-Allow-Headers": ",".join(CORS_ALLOW_HEADERS),
        "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
    }


def respond(event: Event) -> Answer:
    route = ROUTES.get(route_key(event))
    if route is None:  # API Gateway routes only the methods above here (and answers OPTIONS itself)
        return no_route(event)
    try:
        return answer(200, route(event))
    except Unauthenticated as error:
        return problem(401, str(error))
    except Forbidden as error:
        logger.info("refused", extra={"reason": str(error), "path": event.get("path")})
        return problem(403, str(error))
    except BadRequest as error:
        return problem(400, str(error))
    except ReviewDecisionError as error:
        return problem(409, str(error))
    except NotFound as error:
        return problem(404, str(error))


@lambda_handler(correlation_id_path="pathParameters.orderId")
def handler(event: dict[str, Any], context: Any) -> Answer:
    return with_headers(respond(event), cors(settings().allowed_origin))
