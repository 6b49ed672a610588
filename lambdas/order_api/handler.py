"""The order API's Lambda handler: Powertools' REST resolver with request validation and the OpenAPI
document it generates (docs/openapi.json, ``python -m lambdas.order_api.handler`` prints it).

    POST /orders             202 started | 200 the same order, already placed | 400 invalid (names the field)
                             | 409 another order under this id | 413 over 256 KiB
    GET  /orders/{orderId}   200 status, states, error and cause, timeline | 404 no such order

API Gateway lets a request through only with a valid SigV4 signature (IAM authorisation on every method).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel, Field

from lambdas.order_api import logic, store
from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.aws_clients import client, table
from lambdas.shared.observability import lambda_handler, logger
from lambdas.shared.pricing import pricing_from_env
from lambdas.shared.settings import cold_start, text
from lambdas.timeline.store import ENV_TIMELINE_TABLE

TITLE = "Order API"
VERSION = "1.0.0"


@dataclass(frozen=True)
class Settings:
    state_machine_arn: str
    inventory_table: str  # the catalog ValidateOrder checks SKUs against
    currency: str  # the shop's (PRICING_JSON)
    timeline_table: str


def _read_settings() -> Settings:
    return Settings(
        text(constants.ENV_STATE_MACHINE_ARN),
        text(constants.ENV_INVENTORY_TABLE),
        pricing_from_env().currency,
        text(ENV_TIMELINE_TABLE),
    )


settings = cold_start(_read_settings, __name__)


# -- what the API answers (the OpenAPI document's schemas) ---------------------------------------------
class Problem(BaseModel):
    message: str = Field(description="What is wrong, for a person")
    field: str | None = Field(default=None, description="The path of the field at fault (400 only)")


class OrderAccepted(BaseModel):
    orderId: str
    status: str = Field(description="The execution's status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED")
    started: bool = Field(description="true: this request started it; false: it was placed before")
    executionArn: str
    startedAt: str | None = None


class TimelineEntry(BaseModel):
    at: str = Field(description="When (ISO 8601, UTC)")
    source: str = Field(description="workflow (a state or the end), bus (an event published) or subscriber")
    outcome: str = Field(
        description="workflow: entered, succeeded, failed, or SUCCEEDED/FAILED/... at the end; bus: published; "
        "subscriber: received, applied, ignored as a duplicate, failed, will be retried, failed, dead-lettered"
    )
    state: str | None = None
    endedAt: str | None = None
    attempts: int | None = None
    retriedAfter: str | None = None
    error: str | None = None
    event: str | None = None
    eventId: str | None = None
    subscriber: str | None = None


class OrderView(BaseModel):
    orderId: str
    status: str
    channel: str = Field(description="Where the order came from: web, marketplace:<name> or store:<name>")
    startedAt: str | None = None
    stoppedAt: str | None = None
    states: list[str] = Field(description="The states the order passed, in order")
    error: str | None = Field(default=None, description="The named error the order failed with")
    cause: str | None = None
    timeline: list[TimelineEntry]


ORDER_ID = Annotated[str, Path(pattern=constants.ORDER_ID_PATTERN, description="The order id (execution name)")]
ORDER_BODY = Annotated[
    dict[str, Any],
    Body(description="The order (docs/CONTRACTS.md): orderId, customer, items, shippingAddress, displayedTotal..."),
]

app = APIGatewayRestResolver(enable_validation=True)


def _json(model: BaseModel) -> dict[str, Any]:
    """A model's fields (checked on the way out), without the ones that do not apply."""
    return model.model_dump(exclude_none=True)


def _problem(status: int, message: str, field: str | None = None) -> Response[dict[str, Any]]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=Problem(message=message, field=field).model_dump(exclude_none=True),
    )


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[dict[str, Any]]:
    """Not a JSON object, or a bad path parameter: 400 naming where (Powertools would say 422)."""
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "path"))
    return _problem(400, f"{where or 'body'}: {first.get('msg', 'invalid request')}", where or "body")


@app.post(
    "/orders",
    summary="Place an order: start its workflow (idempotent on orderId)",
    responses={
        200: {
            "description": "The same order was placed before: its execution",
            "content": {"application/json": {"model": OrderAccepted}},
        },
        202: {"description": "Started", "content": {"application/json": {"model": OrderAccepted}}},
        400: {
            "description": "Invalid: the field is named; nothing started",
            "content": {"application/json": {"model": Problem}},
        },
        409: {
            "description": "Another order was placed under this orderId: nothing changed",
            "content": {"application/json": {"model": Problem}},
        },
        413: {"description": "Over 256 KiB", "content": {"application/json": {"model": Problem}}},
    },
    tags=["orders"],
)
def place_order(order: ORDER_BODY) -> Response[dict[str, Any]]:
    s = settings()
    if not isinstance(app.current_event.json_body, dict):  # what was posted, not what validation made of it
        return _problem(400, "body: must be a JSON object (the order)", "body")
    try:
        valid = logic.check_order(order, s.currency, partial(inventory.get_catalog, table_name=s.inventory_table))
        order_id = valid["orderId"]
        executions = store.Executions(client("stepfunctions"), s.state_machine_arn)
        existing = executions.describe(order_id)
        started = None
        if existing is None:
            started = executions.start(order_id, logic.execution_input(order))
            existing = executions.describe(order_id) if started is None else None  # None: started meanwhile
        if existing is not None:
            logic.repeated(order_id, existing, order)
            return Response(
                200, content_types.APPLICATION_JSON, _json(OrderAccepted(**logic.accepted(order_id, existing, False)))
            )
    except logic.Invalid as error:
        logger.info("order refused", extra={"reason": error.message})
        return _problem(400, error.message, error.field)
    except logic.Conflict as error:
        return _problem(409, str(error))
    except logic.TooLarge as error:
        return _problem(413, str(error))
    assert started is not None
    logger.info("order started", extra={"orderId": order_id})
    return Response(
        202,
        content_types.APPLICATION_JSON,
        _json(OrderAccepted(**logic.accepted(order_id, {"status": "RUNNING", **started}, True))),
        headers={"Location": f"/orders/{order_id}"},
    )


@app.get(
    "/orders/<orderId>",
    summary="An order: status, states passed, named error and cause, and its timeline",
    responses={
        200: {"description": "The order", "content": {"application/json": {"model": OrderView}}},
        404: {"description": "No order with this id", "content": {"application/json": {"model": Problem}}},
    },
    tags=["orders"],
)
def get_order(orderId: ORDER_ID) -> Response[dict[str, Any]]:
    s = settings()
    executions = store.Executions(client("stepfunctions"), s.state_machine_arn)
    described = executions.describe(orderId)
    if described is None:
        return _problem(404, f"no order {orderId}")
    view = logic.order_view(
        orderId, described, executions.history(orderId), store.timeline_items(table(s.timeline_table), orderId)
    )
    return Response(200, content_types.APPLICATION_JSON, _json(OrderView(**view)))


@lambda_handler(correlation_id_path="pathParameters.orderId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        logic.check_size(event.get("body"))
    except logic.TooLarge as error:
        return {
            "statusCode": 413,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": Problem(message=str(error)).model_dump_json(),
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)


def openapi_json() -> str:
    """The document published in docs/openapi.json: Powertools' own, less the 422 it documents for a
    request that fails validation (this API answers those with 400, see ``_invalid_request``)."""
    document = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description="Place and follow orders. Every method is IAM-authorised: sign requests with SigV4 "
            "(service execute-api).",
            # pydantic takes the field by its alias "in"; without pydantic's mypy plugin mypy only knows in_
            security_schemes={"sigv4": APIKey(name="Authorization", in_=APIKeyIn.header)},  # type: ignore[call-arg]
            security=[{"sigv4": []}],
        )
    )
    for path in document["paths"].values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        document.get("components", {}).get("schemas", {}).pop(unused, None)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
