"""The adapters' retry back-off draws its jitter from its own generator, never the process's `random`.

A Lambda's threads (and the sandbox's, all in one process) share the global generator: Hypothesis warns
("Do not use the random module inside strategies") when another thread moves it during a draw, which a
back-off in a leftover execution did in `make test`.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas.shared.adapters import dynamo


class _ConflictOnce:
    """A Table resource whose first TransactWriteItems is cancelled by a concurrent transaction."""

    def __init__(self) -> None:
        self.calls = 0
        self.meta = self
        self.client = self

    def transact_write_items(self, **_: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            reasons = [{"Code": "TransactionConflict"}]
            raise ClientError(
                {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons},
                "TransactWriteItems",
            )


def test_a_retried_transaction_leaves_the_global_random_state_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(dynamo.time, "sleep", slept.append)
    table = _ConflictOnce()
    before = random.getstate()
    assert dynamo.transact(table, [{"Put": {}}]) is None
    assert table.calls == 2 and len(slept) == 1 and 0 <= slept[0] <= 0.02
    assert random.getstate() == before


def test_the_back_off_grows_and_is_jittered() -> None:
    draws = [dynamo.backoff_seconds(3) for _ in range(50)]
    assert all(0 <= d <= 0.02 * 2**3 for d in draws) and len(set(draws)) > 1
