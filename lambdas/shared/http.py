"""API Gateway's Lambda proxy integration (REST API, payload 1.0): what an API handler reads from the event
and how it answers, without a web framework (Powertools' event handler costs ~0.2x `import boto3` at every
cold start, docs/BENCH.md).

    ROUTES = {("GET", "/orders/{orderId}"): get_order}        # the resources as API Gateway names them
    route = ROUTES.get(route_key(event))
    if route is None:
        return no_route(event)
    return answer(200, {"orderId": path_parameter(event, "orderId")}, {"Location": ...})
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

JSON: Final = "application/json"

Event = Mapping[str, Any]
Answer = dict[str, Any]
Route = Callable[[Event], Answer]


def route_key(event: Event) -> tuple[str, str]:
    """(method, resource) as API Gateway names them: ("POST", "/backoffice/reviews/{orderId}/decision")."""
    return event.get("httpMethod", ""), event.get("resource", "")


def no_route(event: Event) -> Answer:
    """404 naming the method and resource: API Gateway routes only the methods its resources declare."""
    method, resource = route_key(event)
    return problem(404, f"no route {method} {resource}")


def path_parameter(event: Event, name: str) -> str | None:
    """A {name} of the resource, as API Gateway decoded it from the path."""
    value: str | None = (event.get("pathParameters") or {}).get(name)
    return value


def query_parameter(event: Event, name: str) -> str | None:
    value: str | None = (event.get("queryStringParameters") or {}).get(name)
    return value


def request_body(event: Event) -> str | bytes | None:
    """The request body as sent (API Gateway base64-encodes the ones it takes for binary)."""
    raw: str | None = event.get("body")
    return base64.b64decode(raw) if raw and event.get("isBase64Encoded") else raw


def answer(status: int, content: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Answer:
    """A Lambda proxy response: the content as JSON, without the fields that do not apply (null)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, **(headers or {})},
        "body": json.dumps(without_nulls(content), separators=(",", ":")),
        "isBase64Encoded": False,
    }


def problem(status: int, message: str, field: str | None = None) -> Answer:
    """An error answer: {"message", "field"?} (the field the message is about, when there is one)."""
    return answer(status, {"message": message, "field": field})


def with_headers(response: Answer, headers: Mapping[str, str]) -> Answer:
    """The same answer with these headers added (CORS headers on every answer of an API, say)."""
    return {**response, "headers": {**response.get("headers", {}), **headers}}


def without_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value
