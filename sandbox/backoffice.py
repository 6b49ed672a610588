"""The back-office in the sandbox: the template's Cognito user pools (moto's CloudFormation has no Cognito),
seeded users, the Cognito authoriser for sandbox/api_gateway.py, and the page.

    gateway = api_gateway.mount(sandbox)
    office = backoffice.install(sandbox, gateway)      # -> office.page_url, office.passwords

- Pools, clients and groups are created in moto's cognito-idp from the template's properties (logical id ->
  physical id kept here). A reviewer (group reviewers) and an operator (group operators) are seeded with
  random passwords that `make serve` prints.
- The authoriser (COGNITO_USER_POOLS) verifies the ID token as API Gateway does: RS256 signature against the
  pool's JWKS (moto signs every pool's tokens with one key pair and publishes it at
  /<poolId>/.well-known/jwks.json: the same document is read here), issuer (the pool), audience (one of the
  pool's clients), token_use "id", expiry. Refusals are 401 Unauthorized. The claims reach the function as
  API Gateway passes them (strings; cognito:groups comma-separated).
- The page: web/ at /backoffice/ with a config.json pointing at the sandbox's API and at /backoffice/cognito,
  which forwards InitiateAuth to moto (moto answers unsigned Cognito calls from us-east-1 only).
"""

from __future__ import annotations

import gzip
import json
import mimetypes
import secrets
import time
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import ClientError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from infra.backoffice import GROUPS
from lambdas.backoffice_api.settings import OPERATORS_GROUP, REVIEWERS_GROUP
from sandbox.api_gateway import ApiGateway, ApiRequest, Refused, Route

PAGE_PREFIX: Final = "/backoffice/"
WEB_ROOT: Final = Path(__file__).resolve().parent.parent / "web"
COGNITO_TYPE: Final = "COGNITO_USER_POOLS"
# The seeded users: name -> group.
SEEDED: Final = {"reviewer": REVIEWERS_GROUP, "operator": OPERATORS_GROUP}
StartResponse = Callable[..., Any]


def moto_jwks() -> dict[str, Any]:
    """The public keys moto signs Cognito tokens with (what it serves at /<poolId>/.well-known/jwks.json)."""
    data = resources.files("moto").joinpath("cognitoidp/resources/jwks-public.json.gz").read_bytes()
    return json.loads(gzip.decompress(data))


def password() -> str:
    """A random password the pool's policy accepts (12+ characters, all four classes)."""
    return f"Sb-{secrets.token_urlsafe(12)}-7a"


class BackOfficeSandbox:
    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.template = sandbox.deployment.template
        self.idp = sandbox.client("cognito-idp")
        self.pools: dict[str, str] = {}  # logical id -> pool id
        self.clients: dict[str, list[str]] = {}  # pool id -> client ids
        self.client_ids: dict[str, str] = {}  # logical id -> client id
        self.passwords: dict[str, str] = {}
        self.keys = KeySet.import_key_set(moto_jwks())  # type: ignore[arg-type]  # a JWKS document (dict)
        self.api_url = ""

    def deploy(self) -> None:
        """The pools and clients the stack created (sandbox/moto_fixes/cloudformation.py: moto's CloudFormation has
        no Cognito models), by logical id."""
        deployment = self.sandbox.deployment
        for resource in deployment.of_type("AWS::Cognito::UserPool"):
            self.pools[resource.logical_id] = resource.physical_id
        for resource in deployment.of_type("AWS::Cognito::UserPoolClient"):
            pool = deployment.template["Resources"][resource.logical_id]["Properties"]["UserPoolId"]["Ref"]
            self.client_ids[resource.logical_id] = resource.physical_id
            self.clients.setdefault(self.pools[pool], []).append(resource.physical_id)

    def seed(self) -> dict[str, str]:
        """The seeded reviewer and operator (and their passwords), in every pool with both groups."""
        for pool in self.pools.values():
            for user, group in SEEDED.items():
                secret = password()
                self.idp.admin_create_user(
                    UserPoolId=pool,
                    Username=user,
                    MessageAction="SUPPRESS",
                    UserAttributes=[{"Name": "email", "Value": f"{user}@example.com"}],
                )
                self.idp.admin_set_user_password(UserPoolId=pool, Username=user, Password=secret, Permanent=True)
                self.idp.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)
                self.passwords[user] = secret
        return self.passwords

    def add_user(self, user: str, groups: Iterable[str] = ()) -> str:
        """Another user (e.g. one in neither group); returns the password."""
        secret = password()
        for pool in self.pools.values():
            self.idp.admin_create_user(UserPoolId=pool, Username=user, MessageAction="SUPPRESS")
            self.idp.admin_set_user_password(UserPoolId=pool, Username=user, Password=secret, Permanent=True)
            for group in groups:
                self.idp.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)
        return secret

    # -- the authoriser ------------------------------------------------------------------------------
    def _authorizer_pools(self, route: Route) -> list[str]:
        props = self.template["Resources"].get(route.authorizer or "", {}).get("Properties", {})
        pools = []
        for arn in props.get("ProviderARNs", []):
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                pools.append(self.pools[arn["Fn::GetAtt"][0]])
        return pools

    def verify(self, token: str, pools: list[str]) -> dict[str, Any]:
        """The ID token's claims, verified (signature, issuer, audience, token_use, expiry); Refused otherwise."""
        try:
            claims = jwt.decode(token, self.keys, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            raise Refused(401, "Unauthorized") from None
        region = self.sandbox.region
        issuers = {f"https://cognito-idp.{region}.amazonaws.com/{pool}": pool for pool in pools}
        pool = issuers.get(str(claims.get("iss")))
        if pool is None or claims.get("token_use") != "id" or claims.get("aud") not in self.clients.get(pool, []):
            raise Refused(401, "Unauthorized")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise Refused(401, "Unauthorized")
        return claims

    def authorize(self, request: ApiRequest, route: Route) -> dict[str, Any]:
        header = request.headers.get("authorization", "").strip()
        token = header.removeprefix("Bearer ").strip()
        if not token:
            raise Refused(401, "Unauthorized")
        claims = self.verify(token, self._authorizer_pools(route))
        as_api_gateway = {k: ",".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in claims.items()}
        return {"claims": as_api_gateway}

    # -- the page ------------------------------------------------------------------------------------
    def config(self) -> dict[str, str]:
        (client,) = self.client_ids.values()
        return {
            "apiUrl": self.api_url,
            "region": self.sandbox.region,
            "userPoolClientId": client,
            "cognitoUrl": f"{self.sandbox.endpoint_url}{PAGE_PREFIX}cognito",
        }

    @property
    def page_url(self) -> str:
        return f"{self.sandbox.endpoint_url}{PAGE_PREFIX}"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        name = environ.get("PATH_INFO", "").removeprefix(PAGE_PREFIX) or "index.html"
        if name == "cognito" and environ.get("REQUEST_METHOD") == "POST":
            return self._cognito(environ, start_response)
        if name == "config.json":
            return _answer(start_response, 200, "application/json", json.dumps(self.config()).encode())
        path = (WEB_ROOT / name).resolve()
        if path.parent != WEB_ROOT or not path.is_file():
            return _answer(start_response, 404, "text/plain", b"not found")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return _answer(start_response, 200, kind, path.read_bytes())

    def _cognito(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target != "AWSCognitoIdentityProviderService.InitiateAuth":
            return _answer(start_response, 400, "application/json", b'{"message": "only InitiateAuth is served"}')
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        try:
            answer = self.idp.initiate_auth(
                AuthFlow=body.get("AuthFlow", ""),
                ClientId=body.get("ClientId", ""),
                AuthParameters=body.get("AuthParameters", {}),
            )
        except ClientError as error:
            detail = error.response.get("Error", {})
            data = {"__type": detail.get("Code"), "message": detail.get("Message")}
            return _answer(start_response, 400, "application/x-amz-json-1.1", json.dumps(data).encode())
        answer.pop("ResponseMetadata", None)
        return _answer(start_response, 200, "application/x-amz-json-1.1", json.dumps(answer, default=str).encode())


def _answer(start_response: StartResponse, status: int, kind: str, body: bytes) -> Iterable[bytes]:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    start_response(f"{status} {reason}", [("Content-Type", kind), ("Cache-Control", "no-store")])
    return [body]


def install(sandbox: Any, gateway: ApiGateway) -> BackOfficeSandbox:
    """Pools from the template, seeded users, the Cognito authoriser on ``gateway``, the page mounted."""
    office = BackOfficeSandbox(sandbox)
    office.deploy()
    if all(group in GROUPS for group in SEEDED.values()) and office.pools:
        office.seed()
    office.api_url = gateway.url()
    gateway.authorizers[COGNITO_TYPE] = office.authorize
    sandbox.server.mounts[PAGE_PREFIX] = office
    return office
