"""Runs a deployed Lambda function's real handler in this process, as the Lambda runtime would.

moto stores the function (from the template: handler path, environment, timeout, memory) but without
Docker runs no code. The sandbox imports the function's ``Handler`` (``lambdas.x.handler.handler``; the
code asset root is the repository root, so the same path imports here) and calls it with a Lambda
context object, under the function's own environment variables, and answers like the Lambda service:
the handler's JSON result, or an error payload ``{errorMessage, errorType, requestId, stackTrace}``
flagged as a function error, so Step Functions' Catch matches ``errorType`` (our exceptions are named
after their Step Functions error, e.g. "Order.OutOfStock").

Environment: many executions run handlers on many threads at once, so ``os.environ`` is never
mutated. Instead, ``os.environ`` gets a per-thread overlay (see ``EnvironOverlay``); ``os.getenv``,
boto3 and Powertools all read through it.

Output: whatever a handler prints (Powertools' JSON logs, EMF metrics) goes to the function's
CloudWatch log group in the sandbox, not to the terminal (``aws logs tail`` works in serve mode).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

Handler = Callable[[Any, Any], Any]

# The sandbox runs every handler on one interpreter (one GIL), so under a batch a handler takes longer
# than it would in its own Lambda sandbox: its Timeout is enforced with this much slack.
TIMEOUT_SLACK = float(os.environ.get("SANDBOX_LAMBDA_TIMEOUT_SLACK", "3"))
# What the sandbox adds to every function's environment. X-Ray is not simulated: Powertools' Tracer
# is told so instead of trying to reach a daemon.
SANDBOX_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true"}

_local = threading.local()


# ---------------------------------------------------------------------------
# Per-thread environment and output
# ---------------------------------------------------------------------------
class EnvironOverlay(type(os.environ)):  # type: ignore[misc]
    """``os.environ`` whose reads see the current thread's function environment first.

    Installed by swapping the class of the existing ``os.environ`` object, so every module that
    already holds a reference to it (``from os import environ``) sees the overlay too.
    """

    def _overlay(self) -> Mapping[str, str] | None:
        return getattr(_local, "environment", None)

    def __getitem__(self, key: str) -> str:
        overlay = self._overlay()
        if overlay is not None and key in overlay:
            return overlay[key]
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        overlay = self._overlay()
        if overlay is None:
            yield from super().__iter__()
            return
        yield from overlay
        yield from (k for k in super().__iter__() if k not in overlay)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)


class _ThreadOutput(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` stand-in: a handler's output goes to its invocation's buffer."""

    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback

    def write(self, text: str) -> int:
        buffer = getattr(_local, "output", None)
        return (buffer or self.fallback).write(text)

    def flush(self) -> None:
        if getattr(_local, "output", None) is None:
            self.fallback.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.fallback.isatty()


@dataclass
class _Installed:
    environ_class: type
    stdout: TextIO
    stderr: TextIO
    retargeted: list[Any] = field(default_factory=list)


_installed: _Installed | None = None
_install_lock = threading.Lock()


_install_count = 0  # sandboxes alive at once (a test's own sandbox inside a package's): the last one switches off


def install() -> None:
    """Switch on the per-thread environment and output capture; counted, so that a sandbox started inside
    another one (and stopped first) leaves the outer one's runtime on."""
    global _installed, _install_count
    with _install_lock:
        _install_count += 1
        if _installed is not None:
            return
        _installed = _Installed(type(os.environ), sys.stdout, sys.stderr)
        os.environ.__class__ = EnvironOverlay
        sys.stdout = _ThreadOutput(_installed.stdout)
        sys.stderr = _ThreadOutput(_installed.stderr)
        _isolate_powertools_metrics(True)
        _isolate_dynamodb_conditions(True)


def uninstall() -> None:
    global _installed, _install_count
    with _install_lock:
        _install_count = max(0, _install_count - 1)
        if _installed is None or _install_count:
            return
        os.environ.__class__ = _installed.environ_class
        sys.stdout, sys.stderr = _installed.stdout, _installed.stderr
        _isolate_powertools_metrics(False)
        _isolate_dynamodb_conditions(False)
        for handler, stream in _installed.retargeted:
            handler.setStream(stream)
        _installed = None


class _PerInvocation:
    """An attribute whose value is per thread, i.e. per invocation (each runs on its own thread)."""

    def __init__(self, name: str, initial: Callable[[Any], Any]) -> None:
        self.name = name
        self.initial = initial

    def _state(self) -> dict[tuple[int, str], Any]:
        if not hasattr(_local, "powertools"):
            _local.powertools = {}
        return _local.powertools

    def __get__(self, owner: Any, owner_type: type | None = None) -> Any:
        if owner is None:
            return self
        state, key = self._state(), (id(owner), self.name)
        if key not in state:
            state[key] = self.initial(owner)
        return state[key]

    def __set__(self, owner: Any, value: Any) -> None:
        self._state()[(id(owner), self.name)] = value
        vars(owner)[self.name] = value  # what the object keeps once the sandbox is gone


# Powertools' Metrics keeps one metric set per process (the module-level `metrics` object): in Lambda a
# container runs one invocation at a time, here concurrent invocations of every function share it, and
# one's flush clears another's metrics mid-flush ("SchemaValidationError: Must contain at least one
# metric." failed an order). Each invocation gets its own set, as it would in its own container.
_METRICS_STATE: dict[str, Callable[[Any], Any]] = {
    "metric_set": lambda provider: {},
    "dimension_set": lambda provider: {k: str(v) for k, v in provider.default_dimensions.items()},
    "dimension_sets": lambda provider: [],
    "metadata_set": lambda provider: {},
    "timestamp": lambda provider: None,
    # Powertools reads the namespace from the environment once, when the module is imported: here one import
    # serves every function that runs the handler (two stages' alike), so each invocation reads its own.
    "namespace": lambda provider: _environment_namespace() or vars(provider).get("namespace"),
}


def _environment_namespace() -> str | None:
    from aws_lambda_powertools.shared.constants import METRICS_NAMESPACE_ENV

    return os.environ.get(METRICS_NAMESPACE_ENV)


def _isolate_powertools_metrics(on: bool) -> None:
    try:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
    except ImportError:  # pragma: no cover - every function here uses Powertools
        return
    for name, initial in _METRICS_STATE.items():
        if on:
            setattr(AmazonCloudWatchEMFProvider, name, _PerInvocation(name, initial))
        elif isinstance(vars(AmazonCloudWatchEMFProvider).get(name), _PerInvocation):
            delattr(AmazonCloudWatchEMFProvider, name)


# boto3's DynamoDB Table resource turns Key/Attr conditions into placeholders with one builder per resource, reset on
# every call; boto3's documentation says resources are not thread-safe, and in Lambda none is shared (one invocation
# per container at a time). Here every function's cached Table serves concurrent invocations: one thread's reset
# renumbered another's placeholders mid-call ("Query condition missed key schema element: pk" failed an order's
# ReserveStock). Each invocation gets its own builder, as it would in its own container.
def _isolate_dynamodb_conditions(on: bool) -> None:
    from boto3.dynamodb.conditions import ConditionExpressionBuilder
    from boto3.dynamodb.transform import TransformationInjector

    name = "_condition_builder"
    if on:
        setattr(TransformationInjector, name, _PerInvocation(name, lambda injector: ConditionExpressionBuilder()))
    elif isinstance(vars(TransformationInjector).get(name), _PerInvocation):
        delattr(TransformationInjector, name)


def _retarget_log_handlers() -> None:
    """Loggers created before `install()` (Powertools binds sys.stdout when a Logger is built) write
    to the real terminal: point their handlers at the per-thread output too."""
    import logging

    if _installed is None:
        return
    originals = {id(_installed.stdout), id(_installed.stderr), id(sys.__stdout__), id(sys.__stderr__)}
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for candidate in loggers:
        for handler in getattr(candidate, "handlers", []):
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and id(stream) in originals:
                target = sys.stdout if stream in (_installed.stdout, sys.__stdout__) else sys.stderr
                _installed.retargeted.append((handler, stream))
                handler.setStream(target)


@contextmanager
def function_environment(environment: Mapping[str, str]) -> Iterator[io.StringIO]:
    """Run the block with `environment` overlaid on os.environ and its output captured (this thread)."""
    previous = getattr(_local, "environment", None), getattr(_local, "output", None)
    _local.environment = dict(environment)
    _local.output = io.StringIO()
    try:
        yield _local.output
    finally:
        _local.environment, _local.output = previous


# ---------------------------------------------------------------------------
# Handlers and invocations
# ---------------------------------------------------------------------------
class HandlerImportError(Exception):
    """The function's handler cannot be imported (Lambda's Runtime.ImportModuleError)."""


_handlers: dict[str, Handler] = {}
_handlers_lock = threading.Lock()


def load_handler(handler_path: str) -> Handler:
    """Import ``package.module.function`` once (a warm container), as the Lambda runtime does."""
    with _handlers_lock:
        if handler_path in _handlers:
            return _handlers[handler_path]
        module_name, _, attribute = handler_path.rpartition(".")
        if not module_name:
            raise HandlerImportError(f"Bad handler '{handler_path}': not of the form module.function")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise HandlerImportError(f"Unable to import module '{module_name}': {error}") from error
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise HandlerImportError(f"Handler '{attribute}' missing on module '{module_name}'")
        _retarget_log_handlers()
        _handlers[handler_path] = handler
        return handler


def reset_warm_state(package: str = "lambdas") -> None:
    """Forget every warm container: imported handlers and what the code cached per container.

    Handlers cache boto3 clients (``functools.cache``), and a client keeps the endpoint it was built
    for: one from an earlier sandbox (in-process, or a server on another port) would call the wrong
    place. A new sandbox is a new deployment, so every function starts cold.
    """
    with _handlers_lock:
        _handlers.clear()
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(package + ".")):
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs of a deployed function (read from moto's LambdaFunction)."""

    name: str
    arn: str
    handler: str
    environment: Mapping[str, str]
    timeout_seconds: float
    memory_mb: int
    region: str
    version: str = "$LATEST"
    log_group: str | None = None  # the function's LoggingConfig group, else Lambda's default

    @property
    def log_group_name(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"


class LambdaContext:
    """The context object the Lambda runtime passes (what Powertools and handlers read)."""

    def __init__(self, spec: FunctionSpec, request_id: str, deadline: float) -> None:
        self.function_name = spec.name
        self.function_version = spec.version
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = spec.log_group_name
        self.log_stream_name = f"sandbox/[{spec.version}]{request_id}"
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """One call of a handler: the response payload (JSON text) and whether it is a function error."""

    payload: str
    errored: bool
    logs: str
    request_id: str
    duration_ms: float

    @property
    def error_type(self) -> str | None:
        return json.loads(self.payload).get("errorType") if self.errored else None


def _error_payload(error: BaseException, request_id: str) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_list(frames),
        }
    )


def reserved_environment(spec: FunctionSpec) -> dict[str, str]:
    """The reserved variables Lambda sets that describe the function (a handler may read them)."""
    return {
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
        "_HANDLER": spec.handler,
    }


def lambda_environment(spec: FunctionSpec, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The function's environment in the sandbox: reserved variables, the sandbox's, `extra`, the function's own."""
    return {
        **reserved_environment(spec),
        **SANDBOX_ENVIRONMENT,
        **(extra or {}),
        **spec.environment,
    }


def invoke(spec: FunctionSpec, event: Any, extra_environment: Mapping[str, str] | None = None) -> Invocation:
    """Call the function's handler with `event`; never raises for handler errors (they are the answer).

    The handler runs on its own thread so the function's Timeout is enforced like Lambda's (the
    thread is abandoned, as Lambda abandons the sandbox).
    """
    request_id = str(uuid.uuid4())
    started = time.monotonic()
    deadline = started + spec.timeout_seconds
    result: dict[str, Any] = {}
    environment = lambda_environment(spec, extra_environment)

    def run() -> None:
        with function_environment(environment) as output:
            try:
                handler = load_handler(spec.handler)
                response = handler(event, LambdaContext(spec, request_id, deadline))
                result["payload"] = json.dumps(response)
                result["errored"] = False
            except HandlerImportError as error:
                result["payload"] = json.dumps(
                    {"errorMessage": str(error), "errorType": "Runtime.ImportModuleError", "requestId": request_id}
                )
                result["errored"] = True
                print(f"[ERROR] Runtime.ImportModuleError: {error}")
            except Exception as error:  # the handler's failure is the invocation's result
                result["payload"] = _error_payload(error, request_id)
                result["errored"] = True
                traceback.print_exc()
            finally:
                result["logs"] = output.getvalue()

    worker = threading.Thread(target=run, name=f"lambda:{spec.name}", daemon=True)
    worker.start()
    worker.join(spec.timeout_seconds * TIMEOUT_SLACK)
    duration_ms = (time.monotonic() - started) * 1000
    if worker.is_alive():
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        message = f"{stamp} {request_id} Task timed out after {spec.timeout_seconds:.2f} seconds"
        payload = json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"})
        return Invocation(payload, True, message, request_id, duration_ms)
    return Invocation(result["payload"], result["errored"], result.get("logs", ""), request_id, duration_ms)
