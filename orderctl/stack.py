"""Finding the deployed stack: its CloudFormation outputs name every resource orderctl touches.

The same code talks to AWS (your profile and region) and to the offline sandbox server
(``--endpoint-url http://127.0.0.1:5000``): only the endpoint differs.
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas.shared import constants
from lambdas.shared.adapters.executions import execution_arn
from orderctl.errors import OrderctlError, UsageError

# Fail fast on a wrong endpoint: an operator waits for every retry of every call.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=60)
# The sandbox's region when none is configured (sandbox/account.py DEFAULT_REGION; a test checks).
SANDBOX_DEFAULT_REGION = "eu-west-1"
SANDBOX_HINT = "for the offline sandbox: `make serve`, then orderctl --endpoint-url http://127.0.0.1:5000 ..."
_ORDER_ID = re.compile(constants.ORDER_ID_PATTERN)
# A command a message tells the person to run: `orderctl status ord-1` (or `python -m orderctl ...`),
# `aws events describe-replay ...`. Not "orderctl: error" nor "orderctl:alice" (no space, or no command).
_ORDERCTL_COMMAND = re.compile(r"(?:python -m )?\borderctl(?= [a-z<])")
_AWS_COMMAND = re.compile(r"\baws(?= [a-z0-9-]+ [a-z])")
# The sandbox server's own route (sandbox/server.py): its clock offset among other things.
SANDBOX_STATUS_PATH = "/_sandbox/status"


@dataclass(frozen=True)
class Target:
    """Where orderctl points: its global options. Every command it prints repeats them, so that a
    command copied from its output runs against the same stack (the sandbox stays the sandbox)."""

    stack: str = constants.STACK_NAME
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    def _options(self, with_stack: bool) -> list[str]:
        pairs = [
            ("--endpoint-url", self.endpoint_url),
            ("--region", self.region),
            ("--profile", self.profile),
            ("--stack", self.stack if with_stack and self.stack != constants.STACK_NAME else None),
        ]
        return [part for option, value in pairs if value for part in (option, shlex.quote(value))]

    def qualify(self, text: str) -> str:
        """``text`` with every orderctl and aws command it shows completed with these options."""
        orderctl = " ".join(["orderctl", *self._options(with_stack=True)])
        aws = " ".join(["aws", *self._options(with_stack=False)])
        return _AWS_COMMAND.sub(lambda _: aws, _ORDERCTL_COMMAND.sub(lambda _: orderctl, text))


def check_order_id(order_id: str) -> str:
    if not _ORDER_ID.match(order_id):
        raise UsageError(
            f"{order_id!r} is not an order id",
            "order ids are 1 to 64 letters, digits, '-' or '_' (the execution name of the order), e.g. ord-1001",
        )
    return order_id


def is_local(endpoint_url: str | None) -> bool:
    return bool(endpoint_url) and urlparse(endpoint_url).hostname in ("127.0.0.1", "localhost", "::1")


def client_session(profile: str | None, region: str | None, endpoint_url: str | None) -> boto3.Session:
    """Your profile and region; for the sandbox on this machine, whatever is missing of them is made up
    (the sandbox takes any credentials, and nothing leaves the machine)."""
    session = boto3.Session(profile_name=profile, region_name=region)
    credentials = session.get_credentials()
    if not is_local(endpoint_url) or (credentials is not None and session.region_name):
        return session
    keys = credentials.get_frozen_credentials() if credentials else None
    return boto3.Session(
        aws_access_key_id=keys.access_key if keys else "sandbox",
        aws_secret_access_key=keys.secret_key if keys else "sandbox",
        aws_session_token=keys.token if keys else None,
        region_name=session.region_name or SANDBOX_DEFAULT_REGION,
    )


@dataclass
class DeployedStack:
    name: str
    outputs: dict[str, str]
    session: boto3.Session
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _clock_offset: timedelta | None = field(default=None, repr=False)

    @classmethod
    def find(
        cls,
        name: str = constants.STACK_NAME,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
    ) -> DeployedStack:
        session = client_session(profile, region, endpoint_url)
        stack = cls(name, {}, session, endpoint_url)
        try:
            described = stack.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ValidationError":
                where = f"at {endpoint_url}" if endpoint_url else f"in region {session.region_name}"
                raise OrderctlError(
                    f"stack {name!r} not found {where}",
                    f"deploy it (`make deploy`), name another with --stack, or {SANDBOX_HINT}",
                ) from None
            raise
        status = described.get("StackStatus", "")
        if status.endswith("_FAILED") or status.startswith("DELETE"):
            raise OrderctlError(f"stack {name!r} is {status}", "fix and redeploy it (`make deploy`)")
        stack.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        return stack

    # -- AWS clients -----------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url, config=_CONFIG)
        return self._clients[service]

    def table(self, name: str) -> Any:
        """A DynamoDB Table resource (plain Python values in and out)."""
        return self.session.resource("dynamodb", endpoint_url=self.endpoint_url, config=_CONFIG).Table(name)

    def now(self) -> datetime:
        """The account's time: AWS's is the wall clock; the sandbox's is its own clock, which
        ``POST /_sandbox/clock/advance`` moves (read once from ``GET /_sandbox/status``)."""
        if self._clock_offset is None:
            self._clock_offset = timedelta(seconds=self._sandbox_clock_offset())
        return datetime.now(UTC) + self._clock_offset

    def _sandbox_clock_offset(self) -> float:
        if not self.endpoint_url or not is_local(self.endpoint_url):
            return 0.0
        try:
            with urllib.request.urlopen(self.endpoint_url.rstrip("/") + SANDBOX_STATUS_PATH, timeout=5) as response:
                return float(json.load(response).get("clockOffsetSeconds", 0))
        except (OSError, ValueError, AttributeError):
            return 0.0  # another local endpoint (not the sandbox): the wall clock

    # -- outputs ---------------------------------------------------------------------------------
    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise OrderctlError(
                f"stack {self.name!r} has no output {key}",
                "it was deployed from an older version of this repository: redeploy it (`make deploy`)",
            ) from None

    def subscribers(self) -> list[str]:
        """Subscriber names (snake_case, as in infra/subscribers.py) the stack has outputs for."""
        suffix = constants.OUTPUT_SUBSCRIBER_INFIX + constants.OUTPUT_SUBSCRIBER_FUNCTION
        camel = [key.removesuffix(suffix) for key in self.outputs if key.endswith(suffix)]
        return sorted(re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() for name in camel)

    def subscriber_output(self, subscriber: str, suffix: str) -> str:
        known = self.subscribers()
        if subscriber not in known:
            raise UsageError(
                f"no subscriber named {subscriber!r} in stack {self.name!r}",
                f"subscribers: {', '.join(known) or 'none'}",
            )
        camel = "".join(part.capitalize() for part in subscriber.split("_"))
        return self.output(camel + constants.OUTPUT_SUBSCRIBER_INFIX + suffix)

    @property
    def state_machine_arn(self) -> str:
        return self.output(constants.OUTPUT_STATE_MACHINE_ARN)

    def execution_arn(self, order_id: str) -> str:
        """The execution of an order: it is named after the order id."""
        return execution_arn(self.state_machine_arn, check_order_id(order_id))
