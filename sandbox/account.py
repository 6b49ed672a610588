"""The sandbox: an in-memory AWS account (moto) with the synthesized stack deployed into it.

    with Sandbox(Path("cdk.out")) as sandbox:
        runner = sandbox.runner()
        result = runner.run([order])[0]

In-process mode (default) intercepts boto3 in this process; server mode (``port=``) also serves the
account on 127.0.0.1 for the AWS CLI and other processes. Either way the Lambda handlers, the state
machine and the EventBridge rules are the ones in the template, running here.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from lambdas.shared import clock as function_clock
from lambdas.shared import constants
from sandbox import lambda_runtime, moto_fixes
from sandbox.clock import Clock
from sandbox.deploy import Deployment, deploy, stack_environment
from sandbox.events import LambdaTargets
from sandbox.lambda_runtime import FunctionSpec, Invocation
from sandbox.queues import QueuePollers

DEFAULT_REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"  # moto's default account
# No real credentials are ever used; these make every client (and the AWS CLI) sign requests.
SANDBOX_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
    "AWS_SESSION_TOKEN": "sandbox",
}
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}}
# Wraps every Lambda invocation: (function, event, proceed) -> the invocation's result. `proceed()` runs
# the real handler; a hook may skip it, run it and report a failure, or (for synchronous invokes only:
# Step Functions, the API) raise a Lambda API error (moto's JsonRESTError), which the caller receives as
# the Invoke API's answer. Used to inject faults (sandbox/faults.py).
InvocationHook = Callable[[FunctionSpec, Any, Callable[[], Invocation]], Invocation]
# Wraps every call a Step Functions optimized integration makes to another service: sqs:sendMessage and
# events:putEvents. Called as hook(service, action, parameters, proceed) on the interpreter's thread, with
# service "sqs" or "events", action the integration's API action ("sendMessage", "putEvents"), parameters
# the request as boto3 sends it (QueueUrl/MessageBody...; Entries, with Resources appended) -- read it, do
# not change it -- and proceed() making the call and returning the service's response (a dict). The hook
# returns the response the task sees. It may:
# - return proceed() (no fault), or a response of its own (e.g. {"FailedEntryCount": 1, "Entries": [...]}
#   without calling proceed: the task fails with EventBridge.FailedEntry, as in AWS);
# - raise before proceed(): the call never happened (throttled, unavailable, queue/bus missing);
# - call proceed() and then raise: the message was sent / the event is on the bus, but the task fails
#   (a lost reply). A TimeoutError is the task's TimeoutSeconds running out (States.Timeout).
# Raise the service's API error as botocore.exceptions.ClientError({"Error": {"Code": ..., "Message": ...},
# "ResponseMetadata": {"HTTPStatusCode": ...}}, "SendMessage"): Step Functions reports it the way AWS
# does (sandbox.moto_fixes.integration_error: "SQS.QueueDoesNotExistException", "SQS.AmazonSQSException"
# for an unmodelled code, "EventBridge.ThrottlingException"), and Retry/Catch on States.TaskFailed or
# States.ALL match it. EventBridge's own delivery to Lambda targets has its hook in sandbox/events.py
# (LambdaTargets.delivery_hook).
IntegrationHook = moto_fixes.IntegrationHook


@dataclass(frozen=True)
class InvocationRecord:
    """One Lambda invocation in the sandbox (from Step Functions, EventBridge or the API)."""

    function: str
    handler: str
    request_id: str
    errored: bool
    error_type: str | None
    duration_ms: float


def region_for(cdk_out: Path | None, stack_name: str = constants.STACK_NAME) -> str:
    """The region a sandbox deploys `cdk_out` into: the one the stack was synthesized for (as `cdk deploy`
    does), else AWS_DEFAULT_REGION, else DEFAULT_REGION."""
    synthesized_for = stack_environment(cdk_out, stack_name).region if cdk_out is not None else None
    return synthesized_for or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


class Sandbox:
    def __init__(
        self,
        cdk_out: Path | str | None = "cdk.out",
        region: str | None = None,
        port: int | None = None,
        seed_catalog: Path | str | None = None,
        invocation_hook: InvocationHook | None = None,
        integration_hook: IntegrationHook | None = None,
        stage: str = constants.DEFAULT_STAGE,
    ) -> None:
        self.cdk_out = Path(cdk_out) if cdk_out is not None else None  # None: an empty account
        # The stage whose stack `cdk_out` holds (`cdk synth -c stage=NAME`); add_stage() deploys another beside it.
        self.stack_name = constants.stack_name(stage)
        self.region = region or region_for(self.cdk_out, self.stack_name)
        self.port = port
        self.seed_catalog = Path(seed_catalog) if seed_catalog else None
        self.invocation_hook = invocation_hook
        self.integration_hook = integration_hook
        self.clock = Clock()
        self.invocations: list[InvocationRecord] = []
        self._invocations_lock = threading.Lock()
        self._stack = ExitStack()
        self._log_groups: dict[str, str] = {}
        self.deployment: Deployment | None = None
        self.session: boto3.Session | None = None
        self.targets: LambdaTargets | None = None
        self.queues: QueuePollers | None = None  # SQS -> Lambda event source mappings (sandbox/queues.py)
        self.server: Any = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def region_name(self) -> str:
        return self.region

    @property
    def endpoint_url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None

    def _start(self) -> None:
        stack = self._stack
        stack.enter_context(_environment({**SANDBOX_CREDENTIALS, "AWS_DEFAULT_REGION": self.region}, ("AWS_PROFILE",)))
        stack.enter_context(moto_fixes.applied())
        stack.enter_context(_quiet_moto())
        lambda_runtime.install()
        stack.callback(lambda_runtime.uninstall)
        lambda_runtime.reset_warm_state()  # a new deployment: every function starts cold
        stack.callback(lambda_runtime.reset_warm_state)
        if self.port:
            from sandbox.server import start_server

            # The interpreter reaches the server at localhost:$MOTO_PORT; handlers via AWS_ENDPOINT_URL.
            stack.enter_context(_environment({"MOTO_PORT": str(self.port)}, ()))
            self.server = start_server(self.port, MOTO_CONFIG, self._control)
            stack.callback(self.server.stop)
        else:
            from moto import mock_aws

            stack.enter_context(mock_aws(config=MOTO_CONFIG))

        self.targets = LambdaTargets(self.clock, self._invoke_for_events, self._find_function, self._dead_letter)
        stack.callback(self.targets.close)
        stack.enter_context(_hooks(self.clock, self._invoke, self.targets.send, self._integration))

        self.session = boto3.Session(region_name=self.region)
        if self.cdk_out is None:
            return
        self.deployment = deploy(self, self.cdk_out, self.stack_name)
        self.queues = QueuePollers(self.clock, self._invoke_for_events, self._find_function, self.targets.deliveries)
        self.queues.take_over(ACCOUNT_ID, self.region)
        self._stack.callback(self.queues.close)
        # Closed first (the stack unwinds in reverse): nothing of this account may run on into the next one.
        self._stack.callback(self._stop_executions)
        self._log_groups = self.deployment.function_log_groups()
        self._verify_email_senders(self.deployment)
        if self.seed_catalog:
            self.seed(self.seed_catalog)

    def client(self, service: str) -> Any:
        assert self.session is not None, "the sandbox is not running"
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def resource(self, service: str) -> Any:
        assert self.session is not None, "the sandbox is not running"
        return self.session.resource(service, endpoint_url=self.endpoint_url)

    # -- what the template created ----------------------------------------------------------------
    @property
    def outputs(self) -> dict[str, str]:
        assert self.deployment is not None
        return self.deployment.outputs

    def function_name(self, handler: str) -> str:
        """The deployed function whose Handler is `handler` (e.g. constants.REVIEW_DECISION_HANDLER)."""
        assert self.deployment is not None
        names = [name for name, props in self.deployment.functions().items() if props.get("Handler") == handler]
        if len(names) != 1:
            raise LookupError(f"{len(names)} functions in the template have handler {handler}")
        return names[0]

    def function_specs(self) -> list[FunctionSpec]:
        """Every deployed function as the sandbox runs it (environment resolved, log group): what a caller
        needs to run a handler itself with lambda_runtime (bench's direct baseline), not a second copy."""
        from moto.awslambda.models import lambda_backends

        assert self.deployment is not None
        backend = lambda_backends[ACCOUNT_ID][self.region]
        return [self._spec(backend.get_function(name)) for name in self.deployment.functions()]

    def environment_of(self, handler: str) -> dict[str, str]:
        """The deployed environment variables of the function with `handler` (references resolved)."""
        configuration = self.client("lambda").get_function_configuration(FunctionName=self.function_name(handler))
        return dict(configuration.get("Environment", {}).get("Variables", {}))

    def seed(self, catalog_path: Path) -> None:
        """Load the example catalog and stock (examples/seed.py) into the deployed inventory table."""
        from examples.seed import seed_inventory

        catalog = json.loads(Path(catalog_path).read_text())
        with self.client_environment():
            seed_inventory(self.outputs["InventoryTableName"], catalog)

    def add_stage(self, cdk_out: Path | str, stage: str) -> Deployment:
        """Deploy another stage's stack (synthesized with `-c stage=NAME` into `cdk_out`) into this account,
        beside the first: its functions log, send e-mail and read their queues as the first stage's do.
        The sandbox's other methods (outputs, runner, invoke) stay the first stage's; use the returned outputs."""
        assert self.queues is not None, "add_stage needs a sandbox with a first stack"
        deployment = deploy(self, Path(cdk_out), constants.stack_name(stage))
        self._log_groups.update(deployment.function_log_groups())
        self._verify_email_senders(deployment)
        self.queues.take_over(ACCOUNT_ID, self.region)
        return deployment

    def _verify_email_senders(self, deployment: Deployment) -> None:
        """Verify every SES sender a function is configured with: the one manual step of a real
        deployment (README: "verify it in SES"); without it SES rejects the send, here as in AWS."""
        ses = self.client("ses")
        for properties in deployment.functions().values():
            variables = properties.get("Environment", {}).get("Variables", {})
            sender = variables.get(constants.ENV_NOTIFICATION_SENDER)
            if isinstance(sender, str):
                ses.verify_email_identity(EmailAddress=sender)

    def client_environment(self) -> Any:
        """A block in which the project's own adapters (lambdas/shared/adapters) reach this sandbox."""
        return lambda_runtime.function_environment(self._client_environment())

    def missing_handlers(self) -> dict[str, str]:
        """Handlers in the template that cannot be imported: function name -> why (empty when all load)."""
        assert self.deployment is not None
        missing = {}
        for name, properties in self.deployment.functions().items():
            try:
                lambda_runtime.load_handler(properties["Handler"])
            except lambda_runtime.HandlerImportError as error:
                missing[name] = f"{properties['Handler']}: {error}"
        return missing

    def _client_environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint_url} if self.endpoint_url else {}

    def invoke(self, handler: str, payload: Mapping[str, Any]) -> tuple[Any, str | None]:
        """Invoke the deployed function with `handler` through the Lambda API, as from the console.

        Returns (response payload, function error or None).
        """
        response = self.client("lambda").invoke(
            FunctionName=self.function_name(handler), Payload=json.dumps(payload).encode()
        )
        return json.loads(response["Payload"].read() or b"null"), response.get("FunctionError")

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait for every EventBridge delivery in flight (subscribers run asynchronously), and every message of
        a subscriber's queue (what one delivers may put events on the bus for another, and back)."""
        assert self.targets is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = max(0.0, deadline - time.monotonic())
            drained = self.targets.drain(left) and (self.queues is None or self.queues.drain(left))
            if drained and self.targets.drain(0) and (self.queues is None or self.queues.idle()):
                return True
        return False

    def runner(self) -> Any:
        from sandbox.runner import Runner

        return Runner(self)

    def _control(self, command: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """The server's /_sandbox/ routes (see sandbox/server.py)."""
        if command == "clock/advance":
            self.clock.advance(float(query["seconds"][0]))
        elif command == "drain":
            self.drain()
        elif command != "status":
            raise KeyError(f"unknown sandbox command {command!r}")
        assert self.targets is not None
        outcomes: dict[str, int] = {}
        for delivery in self.targets.deliveries:
            outcomes[delivery.outcome] = outcomes.get(delivery.outcome, 0) + 1
        return {
            "clockOffsetSeconds": round(self.clock.now() - time.time()),
            "lambdaInvocations": len(self.invocations),
            "deliveries": outcomes,
            "outputs": self.outputs,
        }

    # -- hooks called by moto (via moto_fixes) ----------------------------------------------------
    def _spec(self, function: Any) -> FunctionSpec:
        return FunctionSpec(
            name=function.function_name,
            arn=function.function_arn,
            handler=function.handler,
            environment=dict(function.environment_vars or {}),
            timeout_seconds=float(function.timeout),
            memory_mb=int(function.memory_size),
            region=function.region,
            log_group=self._log_groups.get(function.function_name),
        )

    def _run(self, function: Any, event: Any) -> Invocation:
        spec = self._spec(function)
        with self.clock.running():  # counted: the clock skips time only while none runs (Clock.quiet)
            if self.invocation_hook is None:
                return self._execute(function, spec, event)
            return self.invocation_hook(spec, event, lambda: self._execute(function, spec, event))

    def _stop_executions(self, settle_seconds: float = 10.0) -> None:
        """Stop every execution still running and wait for the invocations in progress to return.

        moto's backends and the hooks moto_fixes calls are process-wide, and an execution runs on its own
        thread: left running (a review waiting for its decision, a task mid-flight), it would go on inside
        whichever sandbox the process opens next, invoking that one's functions and putting its order's events
        on that one's bus. A stopped execution runs no further state (as StopExecution in AWS).
        """
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[ACCOUNT_ID][self.region]
        for machine in list(backend.state_machines):
            for execution in list(machine.executions):
                if execution.status == "RUNNING":
                    backend.stop_execution(execution.execution_arn)
        self.clock.wait_idle(settle_seconds)

    def _execute(self, function: Any, spec: FunctionSpec, event: Any) -> Invocation:
        invocation = lambda_runtime.invoke(spec, event, self._client_environment())
        self._write_logs(function, spec, invocation)
        with self._invocations_lock:
            self.invocations.append(
                InvocationRecord(
                    spec.name,
                    spec.handler,
                    invocation.request_id,
                    invocation.errored,
                    invocation.error_type,
                    invocation.duration_ms,
                )
            )
        return invocation

    def _integration(self, service: str, action: str, parameters: dict[str, Any], proceed: Callable[[], Any]) -> Any:
        if self.integration_hook is None:
            return proceed()
        return self.integration_hook(service, action, parameters, proceed)

    def _invoke(self, function: Any, event: Any) -> tuple[str, bool, str]:
        invocation = self._run(function, event)
        return invocation.payload, invocation.errored, invocation.logs

    def _invoke_for_events(self, function: Any, event: Any) -> Invocation:
        return self._run(function, event)

    def _find_function(self, arn: str) -> Any | None:
        from moto.awslambda.models import lambda_backends
        from moto.utilities.arns import parse_arn

        parsed = parse_arn(arn)
        try:
            return lambda_backends[parsed.account][parsed.region].get_function(arn)
        except Exception:
            return None

    def _dead_letter(self, arn: str, body: str, attributes: dict[str, str]) -> None:
        from moto.utilities.arns import parse_arn

        parsed = parse_arn(arn)
        message_attributes = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items() if v}
        if parsed.service == "sqs":
            from moto.sqs.models import sqs_backends

            sqs_backends[parsed.account][parsed.region].send_message(
                queue_name=parsed.resource_id, message_body=body, message_attributes=message_attributes
            )
        elif parsed.service == "sns":
            from moto.sns.models import sns_backends

            sns_backends[parsed.account][parsed.region].publish(body, arn=arn)

    def _write_logs(self, function: Any, spec: FunctionSpec, invocation: Invocation) -> None:
        from moto.core.utils import unix_time_millis
        from moto.logs.models import logs_backends

        backend = logs_backends[function.account_id][function.region]
        group = spec.log_group_name
        backend.ensure_log_group(group)
        stream = f"sandbox/[{spec.version}]{invocation.request_id}"
        lines = [
            f"START RequestId: {invocation.request_id} Version: {spec.version}",
            *invocation.logs.splitlines(),
            f"END RequestId: {invocation.request_id}",
            f"REPORT RequestId: {invocation.request_id}\tDuration: {invocation.duration_ms:.2f} ms",
        ]
        backend.create_log_stream(group, stream)
        now = unix_time_millis()
        backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])


@contextmanager
def _environment(values: Mapping[str, str], remove: tuple[str, ...]) -> Iterator[None]:
    """Set (and remove) process environment variables for the block; restore them afterwards."""
    saved = {key: os.environ.get(key) for key in (*values, *remove)}
    os.environ.update(values)
    for key in remove:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _quiet_moto() -> Iterator[None]:
    """moto logs every caught task failure (with the whole state's repr) and every skipped resource
    type: in the sandbox those are expected outcomes, read from execution histories instead."""
    logger = logging.getLogger("moto")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="moto")
        try:
            yield
        finally:
            logger.setLevel(level)


@contextmanager
def _hooks(clock: Clock, invoke: Any, send: Any, integration: Any) -> Iterator[None]:
    hooks = moto_fixes.hooks
    saved = (hooks.clock, hooks.invoke, hooks.send_to_lambda_targets, hooks.integration)
    hooks.clock, hooks.invoke, hooks.send_to_lambda_targets, hooks.integration = clock, invoke, send, integration
    try:
        with function_clock.source(clock.now):  # the functions' deadlines are the ones the sandbox keeps
            yield
    finally:
        hooks.clock, hooks.invoke, hooks.send_to_lambda_targets, hooks.integration = saved
