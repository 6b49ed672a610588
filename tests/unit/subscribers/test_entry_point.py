"""Every registered subscriber goes through the shared entry point, so it gets the timeline and
correlated logs for free (lambdas.subscribers.subscriber)."""

from __future__ import annotations

import importlib

import pytest

from infra.subscribers import REGISTRY
from lambdas.subscribers import ENTRY_POINT_MARK


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda spec: spec.name)
def test_each_subscriber_handler_is_wrapped_by_the_shared_entry_point(spec) -> None:
    module, _, function = spec.handler.rpartition(".")
    handler = getattr(importlib.import_module(module), function)
    assert getattr(handler, ENTRY_POINT_MARK, None) == spec.name, f"{spec.handler}: decorate it with @subscriber(...)"
