"""API Gateway in the sandbox: the template's REST API methods, served on the sandbox's port and routed to
the real handlers in this process, with the authorisers' decisions applied.

    http://127.0.0.1:PORT/_api/<stage>/<path>     e.g. POST /_api/dev/orders, GET /_api/dev/orders/o-1

Routes come from the deployed template (``AWS::ApiGateway::Resource`` paths, ``Method`` verbs, their
``AuthorizationType`` and the Lambda proxy integration's function), never from a list kept here. A request
becomes the REST API's Lambda proxy event (version 1.0), the function is invoked through the sandbox's Lambda
API (its own environment, in-process), and its answer becomes the HTTP response. As in AWS:

- ``AWS_IAM``: a request without a SigV4 ``Authorization`` header (service ``execute-api``) gets 403
  ``Missing Authentication Token``; the signature itself is not checked (the sandbox takes any credentials).
- an unknown path or verb gets 403 ``Missing Authentication Token``; a function error gets 502.
- other authorisation types are decided by ``authorizers[type]`` (``COGNITO_USER_POOLS`` is filled in by the
  back-office's sandbox code); without one, the request is refused with 401.

What it does not model: the stage's throttling, request validators, mapping templates (only Lambda proxy
integrations are served).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qs

from sandbox.account import ACCOUNT_ID

PREFIX: Final = "/_api/"
IAM: Final = "AWS_IAM"
_MISSING_TOKEN: Final = "Missing Authentication Token"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")

StartResponse = Callable[..., Any]


class Refused(Exception):
    """An authoriser's refusal: the HTTP status (401, 403) and the message API Gateway answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Route:
    """One method of the template: where it is, how it is authorised and which function it calls."""

    rest_api: str  # logical id
    resource_path: str  # "/orders/{orderId}"
    http_method: str
    authorization_type: str
    authorizer: str | None  # the AWS::ApiGateway::Authorizer's logical id
    function: str | None  # the integration's function (logical id)
    pattern: re.Pattern[str] = field(compare=False)


@dataclass
class ApiRequest:
    method: str
    path: str  # without /_api/<stage>
    stage: str
    headers: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    source_ip: str


# authorizer(request, route) -> the requestContext.authorizer of the event (claims...), or raise Refused.
Authorizer = Callable[[ApiRequest, Route], dict[str, Any] | None]


def iam_authorizer(request: ApiRequest, route: Route) -> dict[str, Any] | None:
    """API Gateway's IAM check, short of verifying the signature: a SigV4 header for execute-api."""
    header = request.headers.get("authorization", "")
    if not header:
        raise Refused(403, _MISSING_TOKEN)
    found = _CREDENTIAL.search(header)
    if not header.startswith("AWS4-HMAC-SHA256 ") or not found or found[4] != "execute-api":
        raise Refused(403, "Authorization header requires a SigV4 signature for the service execute-api")
    return None


def routes(template: dict[str, Any]) -> list[Route]:
    """Every method of every REST API in the template, read from its resources."""
    resources = template.get("Resources", {})
    paths: dict[str, str] = {}

    def path_of(reference: Any) -> str:
        if isinstance(reference, dict) and "Fn::GetAtt" in reference:  # the API's root resource
            return "/"
        logical = str(reference.get("Ref")) if isinstance(reference, dict) else ""
        if logical not in paths:
            props = resources[logical]["Properties"]
            parent = path_of(props["ParentId"])
            paths[logical] = parent.rstrip("/") + "/" + props["PathPart"]
        return paths[logical]

    found = []
    for spec in resources.values():
        if spec.get("Type") != "AWS::ApiGateway::Method":
            continue
        props = spec["Properties"]
        resource_path = path_of(props["ResourceId"])
        found.append(
            Route(
                rest_api=_ref(props["RestApiId"]) or "",
                resource_path=resource_path,
                http_method=props["HttpMethod"],
                authorization_type=props.get("AuthorizationType", "NONE"),
                authorizer=_ref(props.get("AuthorizerId")),
                function=_integration_function(props.get("Integration", {})),
                pattern=path_pattern(resource_path),
            )
        )
    return found


def stages(template: dict[str, Any]) -> dict[str, str]:
    """Stage name -> its REST API (logical id)."""
    return {
        spec["Properties"]["StageName"]: _ref(spec["Properties"]["RestApiId"]) or ""
        for spec in template.get("Resources", {}).values()
        if spec.get("Type") == "AWS::ApiGateway::Stage"
    }


class ApiGateway:
    """The WSGI app behind ``PREFIX``: ``sandbox`` is the running Sandbox (its deployment and Lambda API)."""

    def __init__(self, sandbox: Any, authorizers: dict[str, Authorizer] | None = None) -> None:
        self.sandbox = sandbox
        self.authorizers: dict[str, Authorizer] = {IAM: iam_authorizer, "NONE": lambda request, route: None}
        self.authorizers.update(authorizers or {})
        template = sandbox.deployment.template
        self.routes = routes(template)
        self.stages = stages(template)

    def url(self, stage: str | None = None) -> str:
        """The sandbox address of a stage (the only one when there is one)."""
        name = stage or next(iter(self.stages))
        return f"{self.sandbox.endpoint_url}{PREFIX}{name}"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = _request(environ)
        try:
            status, headers, body = self.handle(request)
        except Refused as refused:
            status, headers, body = refused.status, {"Content-Type": "application/json"}, _message(refused.message)
        start_response(f"{status} {_reason(status)}", list(headers.items()))
        return [body]

    def handle(self, request: ApiRequest) -> tuple[int, dict[str, str], bytes]:
        api = self.stages.get(request.stage)
        route, parameters = self._match(api, request) if api else (None, {})
        if route is None:
            raise Refused(403, _MISSING_TOKEN)
        authorize = self.authorizers.get(route.authorization_type)
        if authorize is None:
            raise Refused(401, f"Unauthorized (the sandbox has no {route.authorization_type} authoriser)")
        authorizer_context = authorize(request, route)
        if route.function is None:
            return 500, {"Content-Type": "application/json"}, _message("only Lambda proxy integrations are served")
        event = proxy_event(request, route, parameters, authorizer_context, self.sandbox)
        function = self.sandbox.deployment.resources[route.function].physical_id
        response = self.sandbox.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
        answer = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError") or not isinstance(answer, dict) or "statusCode" not in answer:
            return 502, {"Content-Type": "application/json"}, _message("Internal server error")
        body = answer.get("body") or ""
        raw = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
        return int(answer["statusCode"]), sent_headers(answer), raw

    def _match(self, api: str, request: ApiRequest) -> tuple[Route | None, dict[str, str]]:
        candidates = [(r, r.pattern.fullmatch(request.path)) for r in self.routes if r.rest_api == api]
        matched = [(r, m) for r, m in candidates if m]
        # A literal path part wins over a {parameter} (as in API Gateway): fewer parameters first.
        matched.sort(key=lambda pair: pair[0].resource_path.count("{"))
        for route, found in matched:
            if route.http_method in (request.method, "ANY"):
                return route, {k: v for k, v in found.groupdict().items()}
        return None, {}


def sent_headers(answer: dict[str, Any]) -> dict[str, str]:
    """The headers API Gateway sends for a Lambda proxy answer: ``headers`` and ``multiValueHeaders`` merged."""
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ", ".join(str(v) for v in values)
    return headers


def proxy_event(
    request: ApiRequest, route: Route, parameters: dict[str, str], authorizer: dict[str, Any] | None, sandbox: Any
) -> dict[str, Any]:
    """The REST API's Lambda proxy event (payload 1.0) for one request."""
    credential = _CREDENTIAL.search(request.headers.get("authorization", ""))
    access_key = credential[1] if credential else None
    body = request.body.decode("utf-8") if request.body else None
    now = time.time()
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": sandbox.deployment.resources[route.rest_api].physical_id,
        "resourcePath": route.resource_path,
        "httpMethod": request.method,
        "path": f"/{request.stage}{request.path}",
        "stage": request.stage,
        "protocol": "HTTP/1.1",
        "requestId": str(uuid.uuid4()),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent"),
            "accessKey": access_key if route.authorization_type == IAM else None,
            "caller": access_key if route.authorization_type == IAM else None,
            "user": access_key if route.authorization_type == IAM else None,
        },
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    headers = {_title(k): v for k, v in request.headers.items()}
    return {
        "resource": route.resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in request.query.items()} or None,
        "multiValueQueryStringParameters": request.query or None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": False,
    }


def mount(sandbox: Any, authorizers: dict[str, Authorizer] | None = None) -> ApiGateway:
    """Serve the deployed REST APIs on the running sandbox server (``Sandbox(port=...)``) under ``PREFIX``."""
    gateway = ApiGateway(sandbox, authorizers)
    sandbox.server.mounts[PREFIX] = gateway
    return gateway


# -- helpers -----------------------------------------------------------------------------------------


def _request(environ: dict[str, Any]) -> ApiRequest:
    path = environ.get("PATH_INFO", "").removeprefix(PREFIX)
    stage, _, rest = path.partition("/")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return ApiRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        path="/" + rest,
        stage=stage,
        headers=headers,
        query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        body=body,
        source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
    )


def path_pattern(resource_path: str) -> re.Pattern[str]:
    """The paths a resource matches, its {name} and {name+} parts as named groups (the path parameters)."""
    parts = []
    for part in resource_path.strip("/").split("/") if resource_path != "/" else []:
        if part.startswith("{") and part.endswith("+}"):
            parts.append(f"(?P<{part[1:-2]}>.+)")
        elif part.startswith("{") and part.endswith("}"):
            parts.append(f"(?P<{part[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(part))
    return re.compile("/" + "/".join(parts))


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def _integration_function(integration: dict[str, Any]) -> str | None:
    """The function of an AWS_PROXY integration: the Fn::GetAtt [<function>, Arn] in its Uri."""
    if integration.get("Type") != "AWS_PROXY":
        return None
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
                found.append(value["Fn::GetAtt"][0])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(integration.get("Uri"))
    return found[0] if found else None


def _message(text: str) -> bytes:
    return json.dumps({"message": text}).encode()


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
