"""Step Functions: the interpreter and the service API.

- Speed: the interpreter's per-task clients, per-execution ASL parse and per-evaluation JSONPath parse.
- Time: Retry back-off, Wait and a callback's TimeoutSeconds run on the sandbox's clock (``hooks.clock``), and so
  do the times an execution shows (start, stop, history events, ``$$.State.EnteredTime``).
- Callbacks: SendTaskFailure keeps its cause; a task token answers once.
- StartExecution's input quota; the optimized integrations' error names and their fault hook
  (``hooks.integration``); RedriveExecution.
- ListExecutions: a page token that survives an execution of the next page finishing.
"""

from __future__ import annotations

import datetime
import functools
import json
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sandbox.moto_fixes.base import FIXES, IntegrationHook, hooks, original, register, sandbox_now

# ---------------------------------------------------------------------------
# Speed: clients, parsed programs and JSONPaths made once
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
            _clients[key] = original("sfn-client-cache", 0)(region, service, state_credentials)
        client = _clients[key]
    return _hooked_client(client, service)


register(
    "sfn-client-cache",
    "The interpreter builds a new boto3 client for every task it runs (~80 ms each: 5 executions/s "
    "instead of 14). Clients are thread-safe; the sandbox keeps one per region, service and endpoint.",
    {(f"{module}:", "boto_client_for"): _cached_boto_client_for for module in _BOTO_CLIENT_MODULES},
    reset=_clients.clear,
)


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


_programs: dict[str, Any] = {}
_parse_lock = threading.Lock()


def _cached_entrypoint(self: Any) -> Any:
    definition = self._evaluation_details.state_machine_details.definition
    program = _programs.get(definition)
    if program is None:
        # One parse per definition: a batch of executions starting together would otherwise all parse.
        with _parse_lock:
            program = _programs.get(definition)
            if program is None:
                program = original("sfn-program-cache")(self)
                _warm_heap_keys(program, set())
                _programs[definition] = program
    return program


register(
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
    reset=_programs.clear,
)


@functools.lru_cache(maxsize=4096)
def _jsonpath_ext_parse(path: str) -> Any:
    return original("sfn-jsonpath-cache", 0)(path)


@functools.lru_cache(maxsize=4096)
def _jsonpath_parse(path: str) -> Any:
    return original("sfn-jsonpath-cache", 1)(path)


def _forget_jsonpaths() -> None:
    _jsonpath_ext_parse.cache_clear()
    _jsonpath_parse.cache_clear()


register(
    "sfn-jsonpath-cache",
    "Every JSONPath the interpreter evaluates (InputPath, Parameters '.$', ResultSelector, ResultPath, "
    "Choice variables) is parsed anew, and jsonpath_ng builds a new PLY parser per parse (~2.5 ms; "
    "~50 per order). Parsed paths are immutable: the sandbox parses each one once.",
    {
        ("moto.stepfunctions.parser.asl.utils.json_path:", "parse"): _jsonpath_ext_parse,
        ("moto.stepfunctions.parser.asl.component.common.path.result_path:", "parse"): _jsonpath_parse,
    },
    reset=_forget_jsonpaths,
)


# ---------------------------------------------------------------------------
# Time: back-off, Wait and callback timeouts on the sandbox's clock
# ---------------------------------------------------------------------------

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
        hooks.clock.back_off("retry", seconds, execution, state)  # waits only if the clock paces back-offs


def _where(env: Any) -> tuple[str | None, str | None]:
    if env is None:
        return None, None
    context = env.states.context_object.context_object_data
    return context["Execution"]["Id"], context["State"]["Name"]


def _retrier_eval_body(self: Any, env: Any) -> None:
    _retry_context.env = env
    try:
        original("sfn-instant-retry", 1)(self, env)
    finally:
        _retry_context.env = None


_RETRIER = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl"
register(
    "sfn-instant-retry",
    "Retry back-off really sleeps (IntervalSeconds x BackoffRate^n): a compensation step's 6 retries "
    "would hold an execution for minutes.",
    {(f"{_RETRIER}:", "time"): _RecordedTime(), (f"{_RETRIER}:RetrierDecl", "_eval_body"): _retrier_eval_body},
)


def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    execution, state = _where(env)
    hooks.clock.record("wait", wait_seconds, execution, state)


register(
    "sfn-instant-wait",
    "A Wait state really sleeps for its Seconds/Timestamp.",
    {
        (
            "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function:WaitFunction",
            "_wait_interval",
        ): _wait_interval
    },
)


class _SandboxDatetime(datetime.datetime):
    """``datetime.datetime`` whose ``now()`` reads the sandbox's clock (what it makes are plain datetimes)."""

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
        return datetime.datetime.fromtimestamp(sandbox_now(), tz)


# The `datetime` module as these moto modules see it: each calls datetime.datetime.now(...) for a time it shows.
_SANDBOX_DATETIME = types.ModuleType("datetime")
_SANDBOX_DATETIME.__dict__.update({**vars(datetime), "datetime": _SandboxDatetime})
_STAMPING_MODULES = [
    "moto.stepfunctions.parser.models",  # an execution's startDate
    "moto.stepfunctions.parser.backend.execution",  # its stopDate
    "moto.stepfunctions.parser.asl.eval.event.event_manager",  # its history events' timestamps
    "moto.stepfunctions.parser.asl.component.state.state",  # $$.State.EnteredTime
]

register(
    "sfn-clock-times",
    "An execution's startDate, stopDate, history timestamps and $$.State.EnteredTime are wall-clock times, "
    "while its timeouts and the functions run on the sandbox's clock: after an advance, the workflow's states "
    "sorted days before the events they published and what the subscribers did with them.",
    {(module, "datetime"): _SANDBOX_DATETIME for module in _STAMPING_MODULES},
)


def _wait_for_task_token_timeout(self: Any, timeout_seconds: int, callback_endpoint: Any) -> Any:
    # The endpoint's event is set by SendTaskSuccess/Failure and when the execution is stopped.
    answered = hooks.clock.wait(callback_endpoint._notify_event, timeout_seconds)
    if not answered and FIXES["sfn-callback-single-use"].active:
        _close_callback(callback_endpoint, timed_out=True)
    return callback_endpoint.get_outcome()


register(
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


def _stop_execution(self: Any, **kwargs: Any) -> None:
    original("sfn-stop-releases-callback")(self, **kwargs)
    worker = self.exec_worker
    if worker is not None and worker.env is not None:
        for endpoint in list(worker.env.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()  # the waiting task returns; a stopped program runs no further state


def _set_error(self: Any, error: Any) -> None:
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    if isinstance(self.program_state(), ProgramStopped):
        return  # the task woken by the stop fails on its way out: the execution stays ABORTED, as in AWS
    original("sfn-stop-releases-callback", 1)(self, error)


register(
    "sfn-stop-releases-callback",
    "StopExecution on an execution waiting in a .waitForTaskToken task leaves it RUNNING until the token's "
    "timeout: the stop does not wake the waiting task (AWS ends the execution ABORTED at once). A review left "
    "waiting also outlives its sandbox and runs on in the next one the process opens.",
    {
        ("moto.stepfunctions.parser.backend.execution:Execution", "stop"): _stop_execution,
        ("moto.stepfunctions.parser.asl.eval.environment:Environment", "set_error"): _set_error,
    },
)


# ---------------------------------------------------------------------------
# Callbacks: a task token's answer
# ---------------------------------------------------------------------------


def _send_task_failure(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


register(
    "sfn-task-failure-cause",
    "SendTaskFailure drops its `cause`: the waiting task fails with the error but a null Cause, so a "
    "reviewer's reason for rejecting a payment never reaches the execution (or OrderFailed).",
    {("moto.stepfunctions.responses:StepFunctionResponse", "send_task_failure"): _send_task_failure},
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


register(
    "sfn-callback-single-use",
    "A task token answers more than once: a second SendTaskSuccess/Failure for a task that was already "
    "answered, or one for a task that timed out while its execution still runs (compensating), is "
    "accepted silently instead of failing with TaskDoesNotExist / TaskTimedOut. A reviewer would be told "
    "a decision took effect that never did.",
    {("moto.stepfunctions.parser.asl.eval.callback.callback:CallbackPoolManager", "notify"): _callback_notify},
)


# ---------------------------------------------------------------------------
# StartExecution's input quota
# ---------------------------------------------------------------------------
# Step Functions' payload quota: "Length constraints apply to the payload size, and are expressed as bytes in
# UTF-8 encoding" (botocore stepfunctions service model, StartExecutionInput.input: SensitiveData, max 262144).
MAX_EXECUTION_INPUT_BYTES = 262_144
_PARSER_BACKEND = "moto.stepfunctions.parser.models:StepFunctionsParserBackend"


def _start_execution(
    self: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None, trace_header: Any = None
) -> Any:
    from moto.core.exceptions import AWSError

    size = len((execution_input or "").encode("utf-8"))
    if size > MAX_EXECUTION_INPUT_BYTES:
        # A violated length constraint of the service model: ValidationException, in AWS's wording,
        # with the input's size added.
        raise AWSError(
            "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have "
            f"length less than or equal to {MAX_EXECUTION_INPUT_BYTES} (the input is {size} bytes in UTF-8)",
            "ValidationException",
        )
    return original("sfn-input-size")(self, state_machine_arn, name, execution_input, trace_header)


register(
    "sfn-input-size",
    "StartExecution accepts an input of any size: AWS refuses one over 262,144 bytes (UTF-8) with a "
    "ValidationException, so an order the real service would never run ran in the sandbox.",
    {(_PARSER_BACKEND, "start_execution"): _start_execution},
)

# Errors of the optimized integrations, named as AWS names them. The Step Functions docs:
# - "States can report errors with other names. However, these error names can't begin with the States.
#   prefix." (Handling errors in Step Functions workflows, "Error names")
# - "If an AWS SDK integration encounters an error, the resulting Error field will be composed of the
#   service name and the error name, separated by a period character: ServiceName.ErrorName ... Be sure to
#   include the Exception suffix ... even if the suffix isn't already part of the service-provided error
#   name." (Learning to use AWS service SDK integrations in Step Functions)
# - "If the response from PutEvents contains a non-zero FailedEntryCount then the Task state fails with the
#   error EventBridge.FailedEntry." (Add EventBridge events with Step Functions) -- moto does this already.
# Optimized integrations report the service's Java SDK v1 exception (as Lambda.ServiceException,
# Lambda.AWSLambdaException and Lambda.SdkClientException do): the modelled exception, else the service's
# base exception, with a cause "<message> (Service: <id>; Status Code: ..; Error Code: ..; Request ID: ..;
# Proxy: null)"; a failure to reach the service at all is <Service>.SdkClientException.
_SQS_TASK = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs"
_EVENTS_TASK = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events"


@dataclass(frozen=True)
class _Integration:
    boto_service: str  # botocore's service name (for its error shapes)
    error_prefix: str  # Step Functions' prefix of the error name
    service_id: str  # the Java SDK's service id in the cause


_INTEGRATIONS = {
    "sqs": _Integration("sqs", "SQS", "AmazonSQS"),
    "events": _Integration("events", "EventBridge", "AmazonEventBridge"),
}


@functools.lru_cache(maxsize=8)
def _modelled_errors(boto_service: str) -> dict[str, str]:
    """Error code (and query-protocol code) -> modelled exception name, from botocore's service model."""
    import botocore.session

    names: dict[str, str] = {}
    for shape in botocore.session.get_session().get_service_model(boto_service).error_shapes:
        names[shape.name] = shape.name
        names[shape.error_code] = shape.name
    return names


def integration_error(service: str, error: Exception) -> tuple[str, str] | None:
    """(error name, cause) AWS reports for `error` raised by a `service` ("sqs", "events") integration,
    or None when it is not a service error (moto's own handling applies: timeouts, FailedEntry)."""
    from botocore.exceptions import BotoCoreError, ClientError

    integration = _INTEGRATIONS[service]
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        modelled = _modelled_errors(integration.boto_service)
        name = modelled.get(str(details.get("QueryErrorCode", ""))) or modelled.get(code)
        exception = f"{name}Exception" if name and not name.endswith("Exception") else name
        exception = exception or f"{integration.service_id}Exception"
        metadata = error.response.get("ResponseMetadata", {})
        cause = (
            f"{details.get('Message', '')} (Service: {integration.service_id}; Status Code: "
            f"{metadata.get('HTTPStatusCode', 400)}; Error Code: {code}; Request ID: {metadata.get('RequestId', '')}; "
            "Proxy: null)"
        )
        return f"{integration.error_prefix}.{exception}", cause
    if isinstance(error, BotoCoreError | ConnectionError):
        return f"{integration.error_prefix}.SdkClientException", f"Unable to execute HTTP request: {error}"
    return None


def _integration_from_error(service: str, fix_index: int) -> Callable[[Any, Any, Exception], Any]:
    def from_error(self: Any, env: Any, ex: Exception) -> Any:
        from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        reported = integration_error(service, ex)
        if reported is None:
            return original("sfn-integration-errors", fix_index)(self, env, ex)
        error_name, cause = reported
        # A CustomErrorName (not States.*): Retry/Catch on States.TaskFailed and States.ALL match it.
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error_name),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]  # moto's TypedDict marks every key required
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error_name,
                    cause=cause,
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            ),
        )

    return from_error


register(
    "sfn-integration-errors",
    "A failed sqs:sendMessage or events:putEvents task reports moto's names, not AWS's: a missing event "
    "bus fails the execution with States.Runtime (uncatchable by States.ALL, and reserved: 'Custom Error "
    "Names MUST NOT begin with States.'), every SQS error is SQS.SdkClientException whatever its cause.",
    {
        (f"{_SQS_TASK}:StateTaskServiceSqs", "_from_error"): _integration_from_error("sqs", 0),
        (f"{_EVENTS_TASK}:StateTaskServiceEvents", "_from_error"): _integration_from_error("events", 1),
    },
)

# The integration hook: a service task's client calls go through hooks.integration (faults.py's injector).
_integration_call = threading.local()


class _HookedClient:
    """A boto3 client whose API calls go through the sandbox's integration hook."""

    def __init__(self, client: Any, service: str, action: str, hook: IntegrationHook) -> None:
        self._client, self._service, self._action, self._hook = client, service, action, hook

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name.startswith("_") or not callable(method):
            return method

        def call(**parameters: Any) -> Any:
            return self._hook(self._service, self._action, parameters, lambda: method(**parameters))

        return call


def _hooked_client(client: Any, service: str) -> Any:
    active = getattr(_integration_call, "active", None)
    if active is None or hooks.integration is None or active[0] != service:
        return client
    return _HookedClient(client, active[0], active[1], hooks.integration)


def _integration_eval_service_task(service: str, fix_index: int) -> Callable[..., None]:
    def eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        _integration_call.active = (service, self.resource.api_action)
        try:
            original("sfn-integration-hook", fix_index)(self, env, *args, **kwargs)
        finally:
            _integration_call.active = None

    return eval_service_task


register(
    "sfn-integration-hook",
    "Step Functions' optimized integrations (sqs:sendMessage, events:putEvents) call moto directly: "
    "nothing can make them fail the way AWS can (throttled, unavailable, a reply lost after the message "
    "was sent), so the workflow's handling of those failures could not be tested.",
    {
        (f"{_SQS_TASK}:StateTaskServiceSqs", "_eval_service_task"): _integration_eval_service_task("sqs", 0),
        (f"{_EVENTS_TASK}:StateTaskServiceEvents", "_eval_service_task"): _integration_eval_service_task("events", 1),
    },
)

# RedriveExecution (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html): "continues
# the failed execution from the unsuccessful step and uses the same input ... preserves the results and
# execution history of the successful steps, and doesn't rerun these steps ... same state machine definition
# and execution ARN" (botocore's RedriveExecution documentation).
REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


def unsuccessful_state(history: list[dict[str, Any]], top_level: set[str]) -> tuple[str, Any] | None:
    """The top-level state an execution stopped in (entered, never exited) and the input it entered with."""
    open_states: dict[str, int] = {}
    last: tuple[str, Any] | None = None
    for event in history:
        entered, exited = event.get("stateEnteredEventDetails"), event.get("stateExitedEventDetails")
        if entered and entered["name"] in top_level:
            open_states[entered["name"]] = open_states.get(entered["name"], 0) + 1
            last = (entered["name"], json.loads(entered.get("input") or "{}"))
        elif exited and exited["name"] in top_level:
            open_states[exited["name"]] = open_states.get(exited["name"], 0) - 1
    if last is None or open_states.get(last[0], 0) <= 0:
        return None
    return last


def _not_redrivable(execution: Any, reason: str) -> Exception:
    from moto.core.exceptions import AWSError

    return AWSError(f"Execution {execution.exec_arn} cannot be redriven: {reason}", "ExecutionNotRedrivable")


def _redrive_execution(self: Any, execution_arn: str, client_token: str | None = None) -> Any:
    from moto.stepfunctions.parser.api import ExecutionRedrivenEventDetails, ExecutionStatus, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext

    execution = self.describe_execution(execution_arn)  # ExecutionDoesNotExist, InvalidArn
    status = execution.exec_status.value if execution.exec_status else "RUNNING"
    if execution.sm_type != "STANDARD":
        raise _not_redrivable(execution, "only Standard workflows can be redriven")
    if status not in REDRIVABLE_STATUSES:
        raise _not_redrivable(execution, f"its status is {status}")
    old_env = execution.exec_worker.env
    history = old_env.event_manager.get_event_history()
    worker = execution._get_start_execution_worker()
    program = worker._get_evaluation_entrypoint()
    restart = unsuccessful_state(history, set(program.states.states))
    if restart is None:
        raise _not_redrivable(execution, "no state was left unfinished")
    state_name, state_input = restart

    execution.redrive_count = getattr(execution, "redrive_count", 0) + 1
    execution.redrive_date = datetime.datetime.fromtimestamp(sandbox_now(), datetime.UTC)
    env = worker._get_evaluation_environment()
    env.event_manager = old_env.event_manager  # the history goes on: new events are appended
    env.event_history_context = EventHistoryContext(previous_event_id=0)
    env.states.reset(state_input)
    env.states.context_object.context_object_data["Execution"]["RedriveCount"] = execution.redrive_count
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.ExecutionRedriven,
        event_details=cast(
            EventDetails,  # moto's EventDetails lists neither optional keys nor the redrive event's
            {"executionRedrivenEventDetails": ExecutionRedrivenEventDetails(redriveCount=execution.redrive_count)},
        ),
        update_source_event_id=False,
    )
    worker.env = env
    execution.exec_worker = worker
    execution.exec_status = ExecutionStatus.RUNNING
    execution.stop_date = execution.error = execution.cause = execution.output = None
    threading.Thread(target=_run_from, args=(worker, program, env, state_name), daemon=True).start()
    return execution


def _run_from(worker: Any, program: Any, env: Any, state_name: str) -> None:
    """Program.eval, starting at `state_name` instead of StartAt (the state machine's timeout applies)."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    timeout = program.timeout_seconds.timeout_seconds if program.timeout_seconds else None
    env.next_state_name = state_name
    runner = threading.Thread(target=EvalComponent.eval, args=(program, env), daemon=True)
    runner.start()
    runner.join(timeout=timeout)
    if runner.is_alive():
        env.set_timed_out()
    worker._execution_communication.terminated()


def _redrive_execution_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    execution = self.stepfunction_backend.redrive_execution(
        self._get_param("executionArn"), client_token=self._get_param("clientToken")
    )
    return ActionResult({"redriveDate": execution.redrive_date})


def _describe_execution_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    answer = original("sfn-redrive", 2)(self)
    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    result = dict(answer.result)
    result["redriveCount"] = getattr(execution, "redrive_count", 0)
    if getattr(execution, "redrive_date", None) is not None:
        result["redriveDate"] = execution.redrive_date
    if execution.status in REDRIVABLE_STATUSES:
        result["redriveStatus"] = "REDRIVABLE"
    else:
        result["redriveStatus"] = "NOT_REDRIVABLE"
        result["redriveStatusReason"] = f"Execution is {execution.status} and cannot be redriven"
    if execution.status != "RUNNING" and execution.stop_date is not None:
        result["stopDate"] = execution.stop_date  # moto leaves it out for TIMED_OUT
    return ActionResult(result)


register(
    "sfn-redrive",
    "RedriveExecution is not implemented (the executing backend has no redrive_execution, the API answers "
    "that the action is not implemented) and DescribeExecution returns no redriveCount/redriveStatus: a "
    "failed execution cannot be restarted from the state it failed in.",
    {
        (_PARSER_BACKEND, "redrive_execution"): _redrive_execution,
        ("moto.stepfunctions.responses:StepFunctionResponse", "redrive_execution"): _redrive_execution_response,
        ("moto.stepfunctions.responses:StepFunctionResponse", "describe_execution"): _describe_execution_response,
    },
)


# ---------------------------------------------------------------------------
# ListExecutions: a page token that survives the listing changing
# ---------------------------------------------------------------------------
def _list_executions(
    self: Any,
    state_machine_arn: str,
    status_filter: str | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
) -> tuple[list[Any], str | None]:
    import base64

    from moto.stepfunctions.exceptions import InvalidToken

    listing = [state_machine_arn, status_filter]
    executions = [
        e
        for e in self.describe_state_machine(state_machine_arn).executions
        if not status_filter or e.status == status_filter
    ]
    # Newest first, as AWS lists them; the ARN breaks ties so the order is total.
    ordered = sorted(executions, key=lambda e: (e.start_date.isoformat(), e.execution_arn), reverse=True)
    if next_token:
        try:
            token = json.loads(base64.b64decode(next_token))
        except ValueError:
            raise InvalidToken("Invalid token") from None
        if token.get("listing") != listing:
            raise InvalidToken("Input inconsistent with page token")
        after = tuple(token["after"])
        ordered = [e for e in ordered if (e.start_date.isoformat(), e.execution_arn) < after]
    page = ordered[: max_results or 100]
    if len(page) == len(ordered):
        return page, None
    last = page[-1]
    token = {"listing": listing, "after": [last.start_date.isoformat(), last.execution_arn]}
    return page, base64.b64encode(json.dumps(token).encode()).decode()


register(
    "sfn-list-executions-token",
    "ListExecutions' nextToken names the first execution of the next page: if that execution no longer "
    "matches the status filter when the page is asked for (a RUNNING execution finished), moto answers "
    "InvalidToken, so a listing of more than one page (100 executions) fails while executions end.",
    {("moto.stepfunctions.models:StepFunctionBackend", "list_executions"): _list_executions},
)
