"""The fix registry and the hooks the code-running fixes call into.

A ``Fix`` names the moto behaviour it corrects and the patches (owner, attribute -> replacement) that
correct it; each service module registers its fixes with ``register``. ``applied()`` switches all of
them on for the life of a sandbox and restores moto afterwards (so other tests in the same process see
plain moto). ``suspended(name)`` switches one off again: the tests in ``tests/sandbox/moto_fixes/`` use
it to prove that each fix is still needed (moto's own behaviour is still broken) and that the fix works,
so a moto upgrade that changes either fails a test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import version
from typing import Any

MOTO_VERSION = "5.2.5"
_MISSING = object()

# (service, action, parameters, proceed) -> the service's response; see sandbox.account.Sandbox.
IntegrationHook = Callable[[str, str, dict[str, Any], Callable[[], Any]], Any]


@dataclass
class Hooks:
    """What the code-running fixes call into, set by the running sandbox (its runtime, delivery, clock)."""

    clock: Any = None  # sandbox.clock.Clock
    invoke: Callable[[Any, Any], tuple[str, bool, str]] | None = None  # (LambdaFunction, event) -> moto's triple
    send_to_lambda_targets: Callable[[Any, dict[str, Any], Callable[..., None]], None] | None = None
    integration: IntegrationHook | None = None  # wraps Step Functions' sqs:sendMessage / events:putEvents calls


hooks = Hooks()


def sandbox_now() -> float:
    """Epoch seconds on the running sandbox's clock (the wall clock while none runs)."""
    return hooks.clock.now() if hooks.clock is not None else time.time()


@dataclass
class Fix:
    name: str
    moto_behaviour: str  # what moto MOTO_VERSION does wrong (or cannot do) without the fix
    targets: list[tuple[str, str]]  # (module:qualname of the owner, attribute) patched
    replacements: list[Any]
    reset: Callable[[], None] | None = None  # forgets what the fix cached, when it is switched off
    _originals: list[Any] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return bool(self._originals)

    def apply(self) -> None:
        if self.active:
            return
        for (owner_path, attribute), replacement in zip(self.targets, self.replacements, strict=True):
            owner = resolve(owner_path)
            self._originals.append(vars(owner).get(attribute, _MISSING))
            setattr(owner, attribute, replacement)

    def revert(self) -> None:
        if not self.active:
            return
        for (owner_path, attribute), original in zip(self.targets, self._originals, strict=True):
            owner = resolve(owner_path)
            if original is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)
        self._originals.clear()
        if self.reset is not None:
            self.reset()

    def original(self, index: int = 0) -> Any:
        """The moto attribute this fix replaced (while active)."""
        return self._originals[index]


def resolve(path: str) -> Any:
    """The object a target path names: "package.module:Class.attribute" (qualname empty: the module)."""
    module_name, _, qualname = path.partition(":")
    owner: Any = import_module(module_name)
    for part in filter(None, qualname.split(".")):
        owner = getattr(owner, part)
    return owner


FIXES: dict[str, Fix] = {}


def register(
    name: str,
    moto_behaviour: str,
    patches: dict[tuple[str, str], Any],
    reset: Callable[[], None] | None = None,
) -> None:
    FIXES[name] = Fix(name, moto_behaviour, list(patches), list(patches.values()), reset)


def original(name: str, index: int = 0) -> Any:
    """What fix `name` replaced with its patch number `index` (moto's own function, to delegate to)."""
    return FIXES[name].original(index)


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
            "pin it (requirements-dev.txt) or re-verify with tests/sandbox/moto_fixes/."
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
                    resolve(owner)
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
