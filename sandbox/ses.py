"""SES as a shop meets it, modelled on top of moto's SES (which sends anything from a verified sender):

- **the sending rate** (``send_rate_per_second``): SES accepts at most that many messages per second and
  answers the rest ``Throttling: Maximum sending rate exceeded.`` (1 per second in the SES sandbox, 14 by
  default in production). Seconds are the sandbox clock's (``Clock.now()``), so a test that advances the
  clock lets the quota refill at once; GetSendQuota answers that rate as ``MaxSendRate``;
- **SES sandbox mode** (``verify_recipients``): a new account may send only to verified identities, so a
  customer's address is refused: ``MessageRejected: Email address is not verified. The following
  identities failed the check in region ...``;
- **addresses SES cannot send to**, always on: a non-ASCII local part (SES wants 7-bit ASCII before the
  ``@``) is refused with ``InvalidParameterValue``, as moto already refuses an address with no domain.

    from sandbox import ses

    with Sandbox("cdk.out") as sandbox, ses.modelled(sandbox.clock, ses.SesLimits(send_rate_per_second=1)) as model:
        ...                        # moto's SendEmail throttles above 1 e-mail per virtual second
        model.sent, model.throttled, model.rejected

Only SendEmail (what lambdas/subscribers/notifications sends with) is modelled. ``modelled`` patches
moto's SES backend for the block (in-process and server mode alike: both run moto in this process) and
restores it afterwards; blocks do not nest.
"""

from __future__ import annotations

import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sandbox import patching
from sandbox.clock import Clock

THROTTLING = "Throttling"
THROTTLING_MESSAGE = "Maximum sending rate exceeded."
SES_SANDBOX_SEND_RATE = 1.0  # e-mails per second for an account in the SES sandbox
SES_PRODUCTION_SEND_RATE = 14.0  # the default maximum send rate once production access is granted


@dataclass(frozen=True)
class SesLimits:
    send_rate_per_second: float | None = None  # None: no rate limit (moto's own behaviour)
    verify_recipients: bool = False  # SES sandbox mode: every recipient must be a verified identity

    def __post_init__(self) -> None:
        if self.send_rate_per_second is not None and self.send_rate_per_second <= 0:
            raise ValueError(f"send_rate_per_second must be positive or None, got {self.send_rate_per_second}")


class SesModel:
    """What the modelled SES did: messages accepted, throttled and rejected (each with its reason)."""

    def __init__(self, clock: Clock, limits: SesLimits) -> None:
        self.clock = clock
        self.limits = limits
        self.sent = 0
        self.throttled = 0
        self.rejected: list[str] = []  # "<code>: <message>" per refused message
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()  # clock times of the sends within the last second

    def check(self, backend: Any, source: str, destinations: dict[str, list[str]]) -> None:
        """Raise SES's error for a message it would not take now; count it otherwise (moto then sends)."""
        from moto.ses.exceptions import InvalidParameterValue, MessageRejectedError, SesError

        recipients = [address for addresses in destinations.values() for address in addresses]
        for address in recipients:
            local = parseaddr(address)[1].rpartition("@")[0]
            if not local.isascii():
                self._refuse(InvalidParameterValue(f"Local address contains non-ASCII characters: {address!r}"))
        if self.limits.verify_recipients:
            unverified = [a for a in recipients if not backend._is_verified_address(a)]
            if unverified:
                region = backend.region_name.upper()
                self._refuse(
                    MessageRejectedError(
                        "Email address is not verified. The following identities failed the check in region "
                        f"{region}: {', '.join(unverified)}"
                    )
                )
        rate = self.limits.send_rate_per_second
        with self._lock:
            now = self.clock.now()
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if rate is not None and len(self._recent) >= rate:
                self.throttled += 1
                raise SesError(THROTTLING, THROTTLING_MESSAGE)
            self._recent.append(now)
            self.sent += 1

    def _refuse(self, error: Exception) -> None:
        with self._lock:
            self.rejected.append(f"{getattr(error, 'code', type(error).__name__)}: {error}")
        raise error


@contextmanager
def modelled(clock: Clock, limits: SesLimits) -> Iterator[SesModel]:
    """moto's SendEmail behaves as SES with `limits` for the block (see the module's docstring)."""
    from moto.ses.models import SESBackend

    model = SesModel(clock, limits)

    def send_email(original: Callable[..., Any]) -> Callable[..., Any]:
        def send(self: Any, source: str, subject: str, body: str, destinations: dict[str, list[str]]) -> Any:
            if self._is_verified_address(source):
                model.check(self, source, destinations)
            return original(self, source, subject, body, destinations)

        return send

    def get_send_quota(original: Callable[..., Any]) -> Callable[..., Any]:
        def quota(self: Any) -> Any:
            answer = original(self)
            if model.limits.send_rate_per_second is not None:
                answer.max_send_rate = model.limits.send_rate_per_second  # what it answers
            return answer

        return quota

    with (
        patching.wrapped(SESBackend, {"send_email": send_email, "get_send_quota": get_send_quota}, "an SES model"),
        warnings.catch_warnings(),
    ):
        # SES's service model has no Throttling shape (the code travels as a generic error, as in AWS).
        warnings.filterwarnings("ignore", message=r"Exception\(SesError\) with code Throttling", category=UserWarning)
        yield model
