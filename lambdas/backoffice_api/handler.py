"""The back-office API (behind the REST API's Cognito authoriser): reviewers decide, operators look.

    GET  /backoffice/me                            who the token says you are, what you may do
    GET  /backoffice/reviews                       waiting reviews, oldest first
    POST /backoffice/reviews/{orderId}/decision    {"decision": "approve"|"reject", "note"?}  (reviewers)
    GET  /backoffice/orders?status=FAILED          one page of orders in a status              (operators)
    GET  /backoffice/orders/{orderId}              an order's detail
    GET  /backoffice/failures?days=7               failed orders by named error                (operators)

The caller is the authoriser's verified claims (requestContext.authorizer.claims), never the body.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from lambdas.backoffice_api import adapters, logic
from lambdas.backoffice_api.logic import BadRequest, Forbidden, Permission, Unauthenticated
from lambdas.backoffice_api.settings import BackOfficeSettings
from lambdas.decide_payment_review.logic import decide
from lambdas.order_api.store import Executions
from lambdas.review_monitor.logic import waiting_reviews
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.adapters.executions import running_order_ids
from lambdas.shared.adapters.payments import PaymentsTable, ReviewCallbacks
from lambdas.shared.clock import utc_now
from lambdas.shared.errors import ReviewDecisionError
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.settings import cold_start

settings = cold_start(BackOfficeSettings.from_env, __name__)
_resolvers: dict[str, APIGatewayRestResolver] = {}


def _error(status: int, message: str) -> Response:
    return Response(status_code=status, content_type="application/json", body={"message": message})


def resolver(allowed_origin: str) -> APIGatewayRestResolver:
    """One resolver per container (its CORS origin is the page's, from the settings)."""
    if allowed_origin in _resolvers:
        return _resolvers[allowed_origin]
    app = APIGatewayRestResolver(
        cors=CORSConfig(allow_origin=allowed_origin, allow_headers=["Authorization", "Content-Type"], max_age=600)
    )

    def me(permission: Permission | None = None) -> logic.Caller:
        authorizer = app.current_event.request_context.authorizer
        found = logic.caller(authorizer.claims if authorizer else None)
        if permission is not None:
            found.require(permission)
        return found

    @app.exception_handler(Unauthenticated)
    def unauthenticated(error: Unauthenticated) -> Response:
        return _error(401, str(error))

    @app.exception_handler(Forbidden)
    def forbidden(error: Forbidden) -> Response:
        logger.info("refused", extra={"reason": str(error), "path": app.current_event.path})
        return _error(403, str(error))

    @app.exception_handler(BadRequest)
    def bad_request(error: BadRequest) -> Response:
        return _error(400, str(error))

    @app.exception_handler(ReviewDecisionError)
    def refused_decision(error: ReviewDecisionError) -> Response:
        return _error(409, str(error))

    @app.get("/backoffice/me")
    def who_am_i() -> dict[str, Any]:
        return me().view()

    @app.get("/backoffice/reviews")
    def reviews() -> dict[str, Any]:
        me(Permission.READ_REVIEWS)
        s = settings()
        running = running_order_ids(client("stepfunctions"), s.state_machine_arn)
        waiting = waiting_reviews(running, PaymentsTable(table(s.payments_table)).get_many)
        now = utc_now()
        return {"reviews": [logic.review_view(review, now) for review in waiting], "now": now.isoformat()}

    @app.post("/backoffice/reviews/<order_id>/decision")
    def decision(order_id: str) -> dict[str, Any]:
        reviewer = me(Permission.DECIDE)
        try:
            body = app.current_event.json_body
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        request = logic.decision_request(order_id, body, reviewer)
        s = settings()
        callbacks = ReviewCallbacks(client("stepfunctions"), s.state_machine_arn)
        result = decide(request, PaymentsTable(table(s.payments_table)), callbacks, utc_now())
        logger.info("payment review decided", extra={"orderId": order_id, "decision": result["decision"]})
        return result

    @app.get("/backoffice/orders")
    def orders() -> dict[str, Any]:
        me(Permission.OPERATE)
        query = app.current_event.query_string_parameters or {}
        status = logic.order_status(query.get("status"))
        return adapters.orders_by_status(
            client("stepfunctions"), settings().state_machine_arn, status, query.get("nextToken")
        )

    @app.get("/backoffice/orders/<order_id>")
    def order(order_id: str) -> dict[str, Any]:
        me(Permission.READ_ORDERS)
        logic.order_id(order_id)
        s = settings()
        executions = Executions(client("stepfunctions"), s.state_machine_arn)
        payments = PaymentsTable(table(s.payments_table))
        detail = adapters.order_detail(executions, payments, table(s.timeline_table), order_id)
        if detail is None:
            raise NotFoundError(f"No order {order_id!r}.")
        return detail

    @app.get("/backoffice/failures")
    def failures() -> dict[str, Any]:
        me(Permission.OPERATE)
        days = logic.failure_days((app.current_event.query_string_parameters or {}).get("days"))
        counters = adapters.failure_counters(table(settings().failure_stats_table), utc_now().date(), days)
        return {"days": days, "failures": logic.failures_by_reason(counters)}

    _resolvers[allowed_origin] = app
    return app


@lambda_handler(correlation_id_path="pathParameters.orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return resolver(settings().allowed_origin).resolve(event, context)
