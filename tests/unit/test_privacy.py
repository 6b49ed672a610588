"""Traces without responses (issue 11, finding 5): a task's answer carries the order (customer e-mail, address),
so no handler's response goes to X-Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lambdas.shared import observability

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def test_the_shared_handler_decorator_traces_without_the_response(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def capture_lambda_handler(handler: Any, **options: Any) -> Any:
        seen.update(options)
        return handler

    monkeypatch.setattr(observability.tracer, "capture_lambda_handler", capture_lambda_handler)
    observability.lambda_handler()(lambda event, context: event)
    assert seen.get("capture_response") is False


def test_no_handler_is_traced_any_other_way() -> None:
    direct = [
        path.relative_to(LAMBDAS).as_posix()
        for path in LAMBDAS.rglob("*.py")
        if "capture_lambda_handler" in path.read_text() or "capture_method" in path.read_text()
    ]
    assert direct == ["shared/observability.py"], direct
