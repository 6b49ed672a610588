"""Defaults of the stack that tools read too: the sandbox scenarios, the fault model and bench stay in step with
the stack by importing them from here. No CDK import (nor anything else of the project), so a tool pays nothing
for it; `infra/config.py` (the context keys) and the constructs take their defaults from here.
"""

from __future__ import annotations

from typing import Final

# Payments from this amount on need a human review (the simulated gateway's rule). The default of the
# `paymentReviewThresholdCents` context key (infra/config.py); the functions get the value in their environment.
DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS: Final = 100_000

# How often EventBridge retries a failed delivery to a subscriber's function (throttling, service errors) before
# the event goes to the subscriber's DLQ (infra/subscribers.py SubscriberSpec.retry_attempts).
SUBSCRIBER_RETRY_ATTEMPTS: Final = 8
