"""Concurrent invocations in the sandbox keep their Powertools metrics apart, as separate containers do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sandbox import lambda_runtime
from sandbox.lambda_runtime import FunctionSpec, Invocation
from tests.sandbox import metrics_handlers as handlers


def _spec(handler: str, namespace: str = "Test", name: str | None = None) -> FunctionSpec:
    return FunctionSpec(
        name=name or handler,
        arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{handler}",
        handler=f"tests.sandbox.metrics_handlers.{handler}",
        environment={"POWERTOOLS_METRICS_NAMESPACE": namespace, "POWERTOOLS_SERVICE_NAME": "test"},
        timeout_seconds=10,
        memory_mb=128,
        region="eu-west-1",
    )


@contextmanager
def runtime() -> Iterator[None]:
    # Installed inside the test body: pytest swaps sys.stdout back between setup and call.
    lambda_runtime.install()
    try:
        yield
    finally:
        lambda_runtime.uninstall()


def test_one_invocations_flush_does_not_take_another_invocations_metrics() -> None:
    handlers.adding_done.clear()
    handlers.other_flushed.clear()
    slow: list[Invocation] = []
    with runtime():
        waiting = threading.Thread(target=lambda: slow.append(lambda_runtime.invoke(_spec("slow_metric"), {})))
        waiting.start()
        assert handlers.adding_done.wait(10)
        quick = lambda_runtime.invoke(_spec("quick_metric"), {})  # flushes while slow_metric still runs
        handlers.other_flushed.set()
        waiting.join(10)
    assert not quick.errored and not slow[0].errored, (quick.payload, slow[0].payload)
    assert '"QuickMetric"' in quick.logs and '"SlowMetric"' not in quick.logs
    assert '"SlowMetric"' in slow[0].logs


def namespaces(logs: str) -> set[str]:
    """The namespaces of an invocation's EMF lines."""
    documents = [json.loads(line) for line in logs.splitlines() if '"_aws"' in line]
    return {d["Namespace"] for document in documents for d in document["_aws"]["CloudWatchMetrics"]}


def test_each_function_publishes_in_the_namespace_of_its_own_environment() -> None:
    # Two stages' functions run one handler: one import serves both here, where in Lambda each function has
    # containers of its own, whose Powertools read that function's POWERTOOLS_METRICS_NAMESPACE.
    with runtime():
        first = lambda_runtime.invoke(_spec("quick_metric", "Stage-a", name="a"), {})
        second = lambda_runtime.invoke(_spec("quick_metric", "Stage-b", name="b"), {})
        again = lambda_runtime.invoke(_spec("quick_metric", "Stage-a", name="a"), {})
    assert [namespaces(i.logs) for i in (first, second, again)] == [{"Stage-a"}, {"Stage-b"}, {"Stage-a"}]


def test_metrics_work_as_before_once_the_sandbox_is_gone() -> None:
    from lambdas.shared.observability import metrics

    with runtime():
        lambda_runtime.invoke(_spec("quick_metric"), {})
    metrics.add_metric(name="AfterTheSandbox", unit="Count", value=1)
    assert "AfterTheSandbox" in metrics.provider.metric_set
    metrics.provider.clear_metrics()


def test_a_sandbox_stopped_inside_another_leaves_the_outer_runtime_on() -> None:
    # Found: a test's own sandbox, stopped while the package's sandbox ran on, switched the per-thread
    # environment off for both: the outer sandbox's functions then read the process environment.
    import os

    outer_environ = type(os.environ)
    lambda_runtime.install()
    try:
        lambda_runtime.install()  # the inner sandbox
        lambda_runtime.uninstall()
        assert type(os.environ).__name__ == "EnvironOverlay"
    finally:
        lambda_runtime.uninstall()
    assert type(os.environ) is outer_environ
