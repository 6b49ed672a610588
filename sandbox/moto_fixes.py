"""Every change the sandbox makes to moto, in one place. Verified against moto == MOTO_VERSION only.

Each ``Fix`` names the moto behaviour it corrects and the patches that correct it. ``applied()``
switches all of them on for the life of a sandbox and restores moto afterwards (so other tests in
the same process see plain moto). ``suspended(name)`` switches one off again: the tests in
``tests/sandbox/test_moto_fixes.py`` use it to prove that each fix is still needed (moto's own
behaviour is still broken) and that the fix works, so a moto upgrade that changes either fails a test.

The fixes that run code (Lambda, EventBridge -> Lambda, clocks) delegate to ``Hooks``, set by the
sandbox that is running: the in-process runtime, the delivery engine, the clock.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import version
from typing import Any

MOTO_VERSION = "5.2.5"
_MISSING = object()


# ---------------------------------------------------------------------------
# Hooks: what the code-running fixes call into (set by the running sandbox)
# ---------------------------------------------------------------------------
@dataclass
class Hooks:
    clock: Any = None  # sandbox.clock.Clock
    invoke: Callable[[Any, Any], tuple[str, bool, str]] | None = None  # (LambdaFunction, event) -> moto's triple
    send_to_lambda_targets: Callable[[Any, dict[str, Any], Callable[..., None]], None] | None = None


hooks = Hooks()


# ---------------------------------------------------------------------------
# The fix registry
# ---------------------------------------------------------------------------
@dataclass
class Fix:
    name: str
    moto_behaviour: str  # what moto MOTO_VERSION does wrong (or cannot do) without the fix
    targets: list[tuple[str, str]]  # (module:qualname of the owner, attribute) patched
    replacements: list[Any]
    _originals: list[Any] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self._originals)

    def apply(self) -> None:
        if self.active:
            return
        for (owner_path, attribute), replacement in zip(self.targets, self.replacements, strict=True):
            owner = _resolve(owner_path)
            self._originals.append(vars(owner).get(attribute, _MISSING))
            setattr(owner, attribute, replacement)

    def revert(self) -> None:
        if not self.active:
            return
        for (owner_path, attribute), original in zip(self.targets, self._originals, strict=True):
            owner = _resolve(owner_path)
            if original is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)
        self._originals.clear()

    def original(self, index: int = 0) -> Any:
        """The moto attribute this fix replaced (while active)."""
        return self._originals[index]


def _resolve(path: str) -> Any:
    module_name, _, qualname = path.partition(":")
    owner: Any = import_module(module_name)
    for part in filter(None, qualname.split(".")):
        owner = getattr(owner, part)
    return owner


FIXES: dict[str, Fix] = {}


def _register(name: str, moto_behaviour: str, patches: dict[tuple[str, str], Any]) -> None:
    FIXES[name] = Fix(name, moto_behaviour, list(patches), list(patches.values()))


def _original(name: str, index: int = 0) -> Any:
    return FIXES[name].original(index)


# ---------------------------------------------------------------------------
# CloudFormation
# ---------------------------------------------------------------------------
# CloudFormation's limits on names it generates, where moto's generic <stack>-<logicalId>-<suffix> breaks them.
_NAME_LIMITS = {"AWS::SQS::Queue": 80, "AWS::Events::Archive": 48}


def _parse_resource_and_generate_name(logical_id: str, resource_json: dict[str, Any], resources_map: Any) -> Any:
    parsed = _original("cfn-generated-names")(logical_id, resource_json, resources_map)
    if not parsed:
        return parsed
    resource_class, resource_json, name = parsed
    resource_type = resource_json["Type"]
    properties = resource_json.get("Properties", {})
    name_property = resource_class.cloudformation_name_type() if resource_class else None
    if resource_type not in _NAME_LIMITS or (name_property and name_property in properties):
        return parsed
    fifo = resource_type == "AWS::SQS::Queue" and str(properties.get("FifoQueue", "")).lower() == "true"
    suffix = ".fifo" if fifo else ""
    prefix, _, random_part = str(name).rpartition("-")
    limit = _NAME_LIMITS[resource_type] - len(suffix) - len(random_part) - 1
    return resource_class, resource_json, f"{prefix[:limit]}-{random_part}{suffix}"


_register(
    "cfn-generated-names",
    "Names moto generates for unnamed resources break AWS's rules: a FIFO queue's lacks the '.fifo' "
    "suffix (InvalidParameterValue) and an archive's exceeds 48 characters (ValidationException).",
    {("moto.cloudformation.parsing:", "parse_resource_and_generate_name"): _parse_resource_and_generate_name},
)


def _archive_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    properties = cloudformation_json["Properties"]
    if isinstance(properties.get("EventPattern"), dict):
        properties = {**properties, "EventPattern": json.dumps(properties["EventPattern"])}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    return _original("cfn-archive-pattern").__func__(cls, resource_name, cloudformation_json, account_id, region_name)


_register(
    "cfn-archive-pattern",
    "An AWS::Events::Archive's EventPattern (a JSON object in the template) fails to load: moto parses "
    "it as a string (TypeError: the JSON object must be str). Rules get this right; archives do not.",
    {("moto.events.models:Archive", "create_from_cloudformation_json"): classmethod(_archive_from_cloudformation)},
)

_register(
    "cfn-event-bus-ref",
    "Ref to an AWS::Events::EventBus resolves to the moto object instead of the bus name, so every "
    "EVENT_BUS_NAME variable, ASL substitution and output reads '<moto.events.models.EventBus ...>'.",
    {("moto.events.models:EventBus", "physical_resource_id"): property(lambda self: self.name)},
)


def _state_machine_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> Any:
    from moto.stepfunctions.responses import get_backend

    properties = cloudformation_json["Properties"]
    definition = properties.get("DefinitionString")
    if definition is None and "Definition" in properties:
        definition = json.dumps(properties["Definition"])
    # CloudFormation replaces ${Name} with DefinitionSubstitutions (values already resolved by moto).
    for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    return get_backend(account_id, region_name).create_state_machine(
        properties.get("StateMachineName", resource_name),
        definition,
        properties.get("RoleArn", ""),
        tags=properties.get("Tags") or [],
        loggingConfiguration=properties.get("LoggingConfiguration"),
        tracingConfiguration=properties.get("TracingConfiguration"),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def _delete_state_machine_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    from moto.stepfunctions.responses import get_backend

    get_backend(account_id, region_name).delete_state_machine(resource_name)


_register(
    "cfn-state-machine",
    "An AWS::StepFunctions::StateMachine from CloudFormation lands in the non-executing backend (its "
    "executions never run) and ignores DefinitionSubstitutions (the ASL keeps '${...}') and Definition.",
    {
        ("moto.stepfunctions.models:StateMachine", "create_from_cloudformation_json"): classmethod(
            _state_machine_from_cloudformation
        ),
        ("moto.stepfunctions.models:StateMachine", "delete_from_cloudformation_json"): classmethod(
            _delete_state_machine_from_cloudformation
        ),
    },
)


class _Resource:
    """A CloudFormation resource moto has no model for, created through moto's own backends where
    they exist (duck-typed: subclassing CloudFormationModel would register it with moto for good)."""

    TYPE = ""
    ATTRIBUTES: tuple[str, ...] = ()

    def __init__(self, physical_id: str, attributes: dict[str, str] | None = None) -> None:
        self.physical_resource_id = physical_id
        self._attributes = attributes or {}

    @classmethod
    def create_from_cloudformation_json(
        cls, name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _Resource:
        return cls.create(name, dict(cloudformation_json["Properties"]), account_id, region_name)

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        raise NotImplementedError

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self._attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
        return None


class _EventInvokeConfig(_Resource):
    """Lambda's async retries and on-failure destination: moto's API has them, its CloudFormation not."""

    TYPE = "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.awslambda.models import lambda_backends

        function_name = properties.pop("FunctionName")
        properties.pop("Qualifier", None)
        lambda_backends[account_id][region_name].put_function_event_invoke_config(function_name, properties)
        return cls(f"{function_name}-event-invoke-config")


class _QueuePolicy(_Resource):
    TYPE = "AWS::SQS::QueuePolicy"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.sqs.models import sqs_backends

        policy = {"Policy": json.dumps(properties["PolicyDocument"])}
        for queue_url in properties["Queues"]:
            sqs_backends[account_id][region_name].set_queue_attributes(queue_url.rsplit("/", 1)[-1], policy)
        return cls(name)


class _EventBusPolicy(_Resource):
    TYPE = "AWS::Events::EventBusPolicy"

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        from moto.events.models import events_backends

        backend = events_backends[account_id][region_name]
        bus, sid = properties.get("EventBusName", "default"), properties["StatementId"]
        if statement := properties.get("Statement"):
            backend.put_permission(bus, "", "", "", {}, json.dumps({"Statement": [{"Sid": sid, **statement}]}))
        else:
            action, principal = properties.get("Action"), properties.get("Principal", "")
            backend.put_permission(bus, action, principal, sid, properties.get("Condition", {}), "")
        return cls(sid)


class _SchemaRegistry(_Resource):
    """moto has no EventBridge Schemas service: the registry is recorded, its attributes resolve."""

    TYPE = "AWS::EventSchemas::Registry"
    ATTRIBUTES = ("RegistryName", "RegistryArn")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        registry = properties.get("RegistryName", name)
        arn = f"arn:aws:schemas:{region_name}:{account_id}:registry/{registry}"
        return cls(arn, {"RegistryName": registry, "RegistryArn": arn})


class _Schema(_Resource):
    TYPE = "AWS::EventSchemas::Schema"
    ATTRIBUTES = ("SchemaArn", "SchemaName", "SchemaVersion")

    @classmethod
    def create(cls, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> _Resource:
        schema = properties.get("SchemaName", name)
        arn = f"arn:aws:schemas:{region_name}:{account_id}:schema/{properties['RegistryName']}/{schema}"
        return cls(arn, {"SchemaArn": arn, "SchemaName": schema, "SchemaVersion": "1"})


_MISSING_MODELS = {m.TYPE: m for m in (_EventInvokeConfig, _QueuePolicy, _EventBusPolicy, _SchemaRegistry, _Schema)}


def _resource_class_from_type(resource_type: str) -> Any:
    if resource_type in _MISSING_MODELS:
        return _MISSING_MODELS[resource_type]
    return _original("cfn-missing-types")(resource_type)


_register(
    "cfn-missing-types",
    "moto's CloudFormation skips resource types it has no model for (with a warning), and fails the "
    "whole stack when an output reads an attribute of one ('NoneType' has no attribute 'has_cfn_attr'). "
    "This stack uses five: AWS::Lambda::EventInvokeConfig (the subscribers' async retries and on-failure "
    "queue), AWS::SQS::QueuePolicy, AWS::Events::EventBusPolicy, AWS::EventSchemas::Registry and ::Schema.",
    {("moto.cloudformation.parsing:", "resource_class_from_type"): _resource_class_from_type},
)


# ---------------------------------------------------------------------------
# Lambda
# ---------------------------------------------------------------------------
def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    if hooks.invoke is None:
        raise RuntimeError("lambda-in-process: no sandbox is running (sandbox.moto_fixes.hooks.invoke unset)")
    return hooks.invoke(self, event)


_register(
    "lambda-in-process",
    "Without Docker moto runs no Lambda code: every invoke answers 'error running docker'. Every invoke "
    "path (API, Step Functions, EventBridge) goes through LambdaFunction._invoke_lambda.",
    {("moto.awslambda.models:LambdaFunction", "_invoke_lambda"): _invoke_lambda},
)


def _lambda_init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
    _original("lambda-dead-letter-config")(self, account_id, spec, region, version)
    self.dead_letter_config = spec.get("DeadLetterConfig") or {}


_register(
    "lambda-dead-letter-config",
    "A function's DeadLetterConfig (where Lambda sends an async event whose retries are exhausted) is "
    "dropped: it is neither stored nor returned by GetFunctionConfiguration.",
    {("moto.awslambda.models:LambdaFunction", "__init__"): _lambda_init},
)


# ---------------------------------------------------------------------------
# EventBridge
# ---------------------------------------------------------------------------
def _send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
    original = _original("events-lambda-targets")
    if hooks.send_to_lambda_targets is None:
        original(self, original_event, transform_input)
        return

    def moto_targets(rule: Any, event: dict[str, Any]) -> None:
        original(rule, event, transform_input)

    hooks.send_to_lambda_targets(self, original_event, moto_targets)


_register(
    "events-lambda-targets",
    "PutEvents raises NotImplementedError when a matching rule targets a Lambda function, and delivers "
    "to rules whose State is DISABLED.",
    {("moto.events.models:Rule", "send_to_targets"): _send_to_targets},
)


# ---------------------------------------------------------------------------
# Step Functions interpreter
# ---------------------------------------------------------------------------
_BOTO_CLIENT_MODULES = [
    "moto.stepfunctions.parser.asl.utils.boto_client",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
]
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def _cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    key = (region, service, botocore_stubber.enabled, moto_server_port())
    with _clients_lock:
        if key not in _clients:
            original = FIXES["sfn-client-cache"].original(0)
            _clients[key] = original(region, service, state_credentials)
        return _clients[key]


_register(
    "sfn-client-cache",
    "The interpreter builds a new boto3 client for every task it runs (~80 ms each: 5 executions/s "
    "instead of 14). Clients are thread-safe; the sandbox keeps one per region, service and endpoint.",
    {(f"{module}:", "boto_client_for"): _cached_boto_client_for for module in _BOTO_CLIENT_MODULES},
)

_dynamodb_lock = threading.RLock()


def _dynamodb_call_action(self: Any) -> Any:
    with _dynamodb_lock:
        return _original("dynamodb-serializable")(self)


_register(
    "dynamodb-serializable",
    "DynamoDB calls on concurrent threads are not isolated: TransactWriteItems deep-copies a table "
    "while another thread writes it ('RuntimeError: dictionary changed size during iteration' fails an "
    "order), and a condition check and its write can interleave with another writer's, so two orders "
    "could both take the last unit. DynamoDB makes each request atomic; the sandbox runs one at a time.",
    {("moto.dynamodb.responses:DynamoHandler", "call_action"): _dynamodb_call_action},
)


def _backend_dict_getitem(self: Any, account_id: str) -> Any:
    # Existing accounts need no lock: a dict lookup is atomic. Only a new account goes through moto.
    if dict.__contains__(self, account_id):
        return dict.__getitem__(self, account_id)
    return _original("backend-lookup-lock")(self, account_id)


_register(
    "backend-lookup-lock",
    "Every backend lookup (several per API call) takes one process-wide lock, even for an account that "
    "exists: with dozens of executions and handlers on threads, about a quarter of all thread time "
    "was spent queueing for it.",
    {("moto.core.base_backend:BackendDict", "__getitem__"): _backend_dict_getitem},
)


def _send_task_failure(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


_register(
    "sfn-task-failure-cause",
    "SendTaskFailure drops its `cause`: the waiting task fails with the error but a null Cause, so a "
    "reviewer's reason for rejecting a payment never reaches the execution (or OrderFailed).",
    {("moto.stepfunctions.responses:StepFunctionResponse", "send_task_failure"): _send_task_failure},
)

_programs: dict[str, Any] = {}


def _warm_heap_keys(component: Any, seen: set[int]) -> None:
    """Assign every component's lazily created heap key now, on one thread: shared by concurrent
    executions, a key assigned twice in a race would reset a retrier's attempt counter."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    if id(component) in seen:
        return
    seen.add(id(component))
    if isinstance(component, EvalComponent):
        _ = component.heap_key
    children = vars(component).values() if hasattr(component, "__dict__") else component
    for child in children:
        if isinstance(child, list | tuple | dict):
            for item in child.values() if isinstance(child, dict) else child:
                if hasattr(item, "__dict__"):
                    _warm_heap_keys(item, seen)
        elif hasattr(child, "__dict__") and type(child).__module__.startswith("moto.stepfunctions.parser.asl"):
            _warm_heap_keys(child, seen)


_parse_lock = threading.Lock()


def _cached_entrypoint(self: Any) -> Any:
    definition = self._evaluation_details.state_machine_details.definition
    program = _programs.get(definition)
    if program is None:
        # One parse per definition: a batch of executions starting together would otherwise all parse.
        with _parse_lock:
            program = _programs.get(definition)
            if program is None:
                program = _original("sfn-program-cache")(self)
                _warm_heap_keys(program, set())
                _programs[definition] = program
    return program


_register(
    "sfn-program-cache",
    "Every execution re-parses the ASL with the pure-Python ANTLR parser (~0.3 s of CPU for this "
    "workflow, most of an execution's cost). The parsed program is immutable (per-execution state "
    "lives in the Environment), so the sandbox parses each definition once.",
    {
        (
            "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker",
            "_get_evaluation_entrypoint",
        ): _cached_entrypoint
    },
)


@functools.lru_cache(maxsize=4096)
def _jsonpath_ext_parse(path: str) -> Any:
    return FIXES["sfn-jsonpath-cache"].original(0)(path)


@functools.lru_cache(maxsize=4096)
def _jsonpath_parse(path: str) -> Any:
    return FIXES["sfn-jsonpath-cache"].original(1)(path)


_register(
    "sfn-jsonpath-cache",
    "Every JSONPath the interpreter evaluates (InputPath, Parameters '.$', ResultSelector, ResultPath, "
    "Choice variables) is parsed anew, and jsonpath_ng builds a new PLY parser per parse (~2.5 ms; "
    "~50 per order). Parsed paths are immutable: the sandbox parses each one once.",
    {
        ("moto.stepfunctions.parser.asl.utils.json_path:", "parse"): _jsonpath_ext_parse,
        ("moto.stepfunctions.parser.asl.component.common.path.result_path:", "parse"): _jsonpath_parse,
    },
)

_retry_context = threading.local()


class _RecordedTime:
    """Stands in for the `time` module inside the retrier: sleep is recorded, not slept."""

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        env = getattr(_retry_context, "env", None)
        execution, state = _where(env)
        hooks.clock.record("retry", seconds, execution, state)


def _where(env: Any) -> tuple[str | None, str | None]:
    if env is None:
        return None, None
    context = env.states.context_object.context_object_data
    return context["Execution"]["Id"], context["State"]["Name"]


def _retrier_eval_body(self: Any, env: Any) -> None:
    _retry_context.env = env
    try:
        _original("sfn-instant-retry", 1)(self, env)
    finally:
        _retry_context.env = None


_RETRIER = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl"
_register(
    "sfn-instant-retry",
    "Retry back-off really sleeps (IntervalSeconds x BackoffRate^n): a compensation step's 6 retries "
    "would hold an execution for minutes.",
    {(f"{_RETRIER}:", "time"): _RecordedTime(), (f"{_RETRIER}:RetrierDecl", "_eval_body"): _retrier_eval_body},
)


def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    execution, state = _where(env)
    hooks.clock.record("wait", wait_seconds, execution, state)


_register(
    "sfn-instant-wait",
    "A Wait state really sleeps for its Seconds/Timestamp.",
    {
        (
            "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function:WaitFunction",
            "_wait_interval",
        ): _wait_interval
    },
)


def _wait_for_task_token_timeout(self: Any, timeout_seconds: int, callback_endpoint: Any) -> Any:
    # The endpoint's event is set by SendTaskSuccess/Failure and when the execution is stopped.
    answered = hooks.clock.wait(callback_endpoint._notify_event, timeout_seconds)
    if not answered and FIXES["sfn-callback-single-use"].active:
        _close_callback(callback_endpoint, timed_out=True)
    return callback_endpoint.get_outcome()


_register(
    "sfn-callback-clock",
    "A .waitForTaskToken task's TimeoutSeconds runs on the wall clock: a 72-hour review timeout takes "
    "72 hours. The sandbox runs it on its virtual clock (real time plus Clock.advance).",
    {
        (
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
            "state_task_service_callback:StateTaskServiceCallback",
            "_wait_for_task_token_timeout",
        ): _wait_for_task_token_timeout
    },
)

_callback_lock = threading.RLock()


def _close_callback(endpoint: Any, timed_out: bool) -> None:
    """Mark a task token used up: later SendTask* calls get TaskTimedOut (timed out) or TaskDoesNotExist."""
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerLeft, CallbackConsumerTimeout

    with _callback_lock:
        if endpoint.consumer_error is None and (timed_out is False or endpoint.get_outcome() is None):
            endpoint.report(CallbackConsumerTimeout() if timed_out else CallbackConsumerLeft())


def _callback_notify(self: Any, callback_id: str, outcome: Any) -> bool:
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerTimeout

    with _callback_lock:
        endpoint = self._pool.get(callback_id, None)
        if endpoint is None:
            return False
        # Raised as the service answers (moto's own refusal path raises a TypeError instead).
        if isinstance(endpoint.consumer_error, CallbackConsumerTimeout):
            raise AWSError("Task Timed Out: 'Provided task does not exist anymore'", "TaskTimedOut")
        if endpoint.consumer_error is not None:
            raise AWSError("Task does not exist anymore: it was already answered", "TaskDoesNotExist")
        endpoint.notify(outcome=outcome)
        _close_callback(endpoint, timed_out=False)  # in the same lock: of two answers, one wins
    return True


_register(
    "sfn-callback-single-use",
    "A task token answers more than once: a second SendTaskSuccess/Failure for a task that was already "
    "answered, or one for a task that timed out while its execution still runs (compensating), is "
    "accepted silently instead of failing with TaskDoesNotExist / TaskTimedOut. A reviewer would be told "
    "a decision took effect that never did.",
    {("moto.stepfunctions.parser.asl.eval.callback.callback:CallbackPoolManager", "notify"): _callback_notify},
)


# ---------------------------------------------------------------------------
# Switching fixes on and off
# ---------------------------------------------------------------------------
_lock = threading.RLock()
_users = 0


def check_moto_version() -> None:
    installed = version("moto")
    if installed != MOTO_VERSION:
        raise RuntimeError(
            f"The sandbox's moto fixes are verified for moto=={MOTO_VERSION}, found {installed}: "
            "pin it (requirements-dev.txt) or re-verify with tests/sandbox/test_moto_fixes.py."
        )


@contextmanager
def applied() -> Iterator[dict[str, Fix]]:
    """All fixes on for the block (nested sandboxes share them); moto restored afterwards."""
    global _users
    check_moto_version()
    with _lock:
        if _users == 0:
            # Import every patched module first: one imported after a patch would bind the patched
            # function (`from x import f`) and take it for the original, so a revert would not undo it.
            for fix in FIXES.values():
                for owner, _ in fix.targets:
                    _resolve(owner)
            for fix in FIXES.values():
                fix.apply()
        _users += 1
    try:
        yield FIXES
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                for fix in reversed(FIXES.values()):
                    fix.revert()
                _clients.clear()
                _programs.clear()
                _jsonpath_ext_parse.cache_clear()
                _jsonpath_parse.cache_clear()


@contextmanager
def suspended(*names: str) -> Iterator[None]:
    """Plain moto for the named fixes, for the block (tests prove each fix is still needed)."""
    with _lock:
        fixes = [FIXES[name] for name in names]
        was_active = [fix.active for fix in fixes]
        for fix in fixes:
            fix.revert()
    try:
        yield
    finally:
        with _lock:
            for fix, active in zip(fixes, was_active, strict=True):
                if active:
                    fix.apply()
