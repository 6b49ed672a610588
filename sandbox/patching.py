"""A moto class's methods wrapped for a block: how the sandbox's service models (sandbox/ses.py, sandbox/dynamodb.py)
put a limit in front of moto, in-process and server mode alike (both run moto in this process)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]  # the original method -> its replacement

_lock = threading.Lock()
_wrapped: set[type] = set()


@contextmanager
def wrapped(owner: type, wraps: Mapping[str, Wrap], what: str) -> Iterator[None]:
    """For the block, each method `name` of `owner` is `wraps[name](original)`; restored afterwards. One block per
    class at a time (`what` names the model in the error): blocks do not nest."""
    with _lock:
        if owner in _wrapped:
            raise RuntimeError(f"{what} is already active: one at a time")
        originals = {name: owner.__dict__[name] for name in wraps}
        for name, wrap in wraps.items():
            setattr(owner, name, wrap(originals[name]))
        _wrapped.add(owner)
    try:
        yield
    finally:
        with _lock:
            for name, original in originals.items():
                setattr(owner, name, original)
            _wrapped.discard(owner)
