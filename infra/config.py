"""Stack configuration: every tunable of the stack, each default written here once.

`StackConfig` holds those a user may change with CDK context, in cdk.json (``"context"``) or on the
command line (``npx cdk deploy -c reviewTimeoutHours=24``); every key is listed in the README.
A stage (``-c stage=NAME``, default ``dev``) is an independent copy of the stack; cdk.json's
``"stages": {"<name>": {<key>: <value>, ...}}`` holds each stage's own values of those keys, and a key
given at the top level (``-c`` on the command line) wins over the stage's for that synth. Its
defaults are the module constants below, `infra/defaults.py`'s for those the tools read too (the review
threshold: importing this module costs aws-cdk-lib), or the kernel's (`lambdas/shared/constants.py`) for pricing,
which the functions read.
The other constants below are fixed facts of the stack that only `infra/` reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from constructs import Node

from infra import defaults
from lambdas.marketplaces import registry as marketplaces
from lambdas.shared import constants

# -- defaults of the context keys below ---------------------------------------------------------------
DEFAULT_LOG_RETENTION_DAYS = 30
DEFAULT_ARCHIVE_RETENTION_DAYS = 90
DEFAULT_NOTIFICATION_SENDER = "orders@example.com"
# How long a payment waits for a reviewer's decision before the order fails Order.ReviewTimedOut.
DEFAULT_REVIEW_TIMEOUT_SECONDS = 72 * 3600
# Warehouses: each serves a set of countries and has its own FIFO queue.
DEFAULT_WAREHOUSES: list[dict[str, object]] = [
    {"id": "WH-EU-1", "countries": ["DE", "AT", "FR", "NL", "BE", "LU", "IT", "ES", "PL"]},
    {"id": "WH-UK-1", "countries": ["GB", "IE"]},
    {"id": "WH-US-1", "countries": ["US", "CA"]},
]
DEFAULT_STAGE = constants.DEFAULT_STAGE
# What the stack verifies in SES for the sender: the address itself (SES mails it a link), its domain
# (DKIM records to publish in DNS, infra/email.py), or nothing (an identity that exists
# already, e.g. the domain another stage of this account verifies).
SENDER_IDENTITY_KINDS = ("address", "domain", "none")
DEFAULT_SENDER_IDENTITY = "address"
STAGE_PATTERN = re.compile(constants.STAGE_PATTERN)

# -- functions ---------------------------------------------------------------------------------------
LAMBDA_TIMEOUT_SECONDS = 10

# -- subscribers -------------------------------------------------------------------------------------
DEAD_LETTER_RETENTION_DAYS = 14
# Markers must outlive every redelivery: the archive's replay window plus a DLQ redrive.
MARKER_TTL_MARGIN_DAYS = 30

# -- alarms and the review monitor -------------------------------------------------------------------
ALARM_PERIOD_MINUTES = 5
# Alarm when at least this share of the orders started in the window failed, once enough started.
FAILURE_RATE_ALARM_PERCENT = 25
FAILURE_RATE_ALARM_MIN_ORDERS = 20
FAILURE_RATE_ALARM_MINUTES = 15
# How often the review monitor counts the waiting reviews.
REVIEW_MONITOR_INTERVAL_MINUTES = 5
# Alarm when the oldest review has waited this share of the review timeout: reviewers still have
# the rest of it to decide before the order is cancelled (Order.ReviewTimedOut).
REVIEW_WAIT_ALARM_FRACTION = 0.5

# Context keys a user may set.
CTX_POWERTOOLS_LAYER_VERSION = "powertoolsLayerVersion"
CTX_REVIEW_TIMEOUT_HOURS = "reviewTimeoutHours"
CTX_WAREHOUSES = "warehouses"
CTX_PRICING = "pricing"
CTX_PAYMENT_REVIEW_THRESHOLD_CENTS = "paymentReviewThresholdCents"
CTX_LOG_RETENTION_DAYS = "logRetentionDays"
CTX_ARCHIVE_RETENTION_DAYS = "eventArchiveRetentionDays"
CTX_ALLOWED_ACCOUNTS = "eventBusAllowedAccounts"
# {connector name: account id}: a marketplace connector running in another account (infra/bus.py).
CTX_MARKETPLACE_ACCOUNTS = "marketplaceAccounts"
CTX_NOTIFICATION_SENDER = "notificationSenderEmail"
CTX_ON_CALL_EMAIL = "onCallEmail"
CTX_SENDER_IDENTITY = "notificationSenderIdentity"
CTX_POWERTOOLS_LAYER_ARN = "powertoolsLayerArn"
CTX_STAGE = "stage"
CTX_STAGES = "stages"
# The keys a stage block may set (every tunable above).
STAGE_KEYS = (
    CTX_POWERTOOLS_LAYER_VERSION,
    CTX_POWERTOOLS_LAYER_ARN,
    CTX_REVIEW_TIMEOUT_HOURS,
    CTX_WAREHOUSES,
    CTX_PRICING,
    CTX_PAYMENT_REVIEW_THRESHOLD_CENTS,
    CTX_LOG_RETENTION_DAYS,
    CTX_ARCHIVE_RETENTION_DAYS,
    CTX_ALLOWED_ACCOUNTS,
    CTX_MARKETPLACE_ACCOUNTS,
    CTX_NOTIFICATION_SENDER,
    CTX_SENDER_IDENTITY,
    CTX_ON_CALL_EMAIL,
)


@dataclass(frozen=True)
class StackConfig:
    stage: str = DEFAULT_STAGE
    # None: the stack's own dependency layer (infra/dependency_layer.py); a version: AWS's public Powertools layer.
    powertools_layer_version: int | None = None
    review_timeout_seconds: int = DEFAULT_REVIEW_TIMEOUT_SECONDS
    warehouses: list[dict[str, Any]] = field(default_factory=lambda: list(DEFAULT_WAREHOUSES))
    pricing: dict[str, Any] = field(default_factory=lambda: dict(constants.DEFAULT_PRICING))
    payment_review_threshold_cents: int = defaults.DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    archive_retention_days: int = DEFAULT_ARCHIVE_RETENTION_DAYS
    allowed_accounts: list[str] = field(default_factory=list)
    marketplace_accounts: dict[str, str] = field(default_factory=dict)
    notification_sender: str = DEFAULT_NOTIFICATION_SENDER
    on_call_email: str | None = None
    sender_identity: str = DEFAULT_SENDER_IDENTITY
    powertools_layer_arn: str | None = None

    def __post_init__(self) -> None:
        if not STAGE_PATTERN.match(self.stage):
            raise ValueError(
                f"{CTX_STAGE} {self.stage!r}: use 1-20 lower-case letters, digits and '-', starting with a letter"
            )
        if self.sender_identity not in SENDER_IDENTITY_KINDS:
            raise ValueError(
                f"{CTX_SENDER_IDENTITY} must be one of {SENDER_IDENTITY_KINDS}, got {self.sender_identity!r}"
            )
        if "@" not in self.notification_sender.strip("@"):
            raise ValueError(f"{CTX_NOTIFICATION_SENDER} {self.notification_sender!r} is not an e-mail address")
        if self.review_timeout_seconds <= 0:
            raise ValueError(f"{CTX_REVIEW_TIMEOUT_HOURS} must be positive")
        ids = [w.get("id") for w in self.warehouses]
        if not ids or len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
            raise ValueError(f"{CTX_WAREHOUSES} needs at least one warehouse and unique ids, got {ids}")
        for account in self.allowed_accounts:
            if not (isinstance(account, str) and account.isdigit() and len(account) == 12):
                raise ValueError(f"{CTX_ALLOWED_ACCOUNTS}: {account!r} is not a 12-digit AWS account id")
        for name, account in self.marketplace_accounts.items():
            if marketplaces.by_name(name) is None:
                raise ValueError(f"{CTX_MARKETPLACE_ACCOUNTS}: {name!r} is not in lambdas/marketplaces/registry.py")
            if not (isinstance(account, str) and account.isdigit() and len(account) == 12):
                raise ValueError(f"{CTX_MARKETPLACE_ACCOUNTS}.{name}: {account!r} is not a 12-digit AWS account id")

    @classmethod
    def from_node(cls, node: Node) -> StackConfig:
        """Read the context of a construct node (cdk.json plus ``-c`` overrides), for its stage."""
        stage = str(node.try_get_context(CTX_STAGE) or DEFAULT_STAGE)
        stages = node.try_get_context(CTX_STAGES) or {}
        if isinstance(stages, str):
            stages = json.loads(stages)
        settings = stages.get(stage) or {}
        if unknown := sorted(set(settings) - set(STAGE_KEYS)):
            raise ValueError(f"{CTX_STAGES}.{stage}: unknown keys {unknown} (known: {', '.join(STAGE_KEYS)})")

        def ctx(key: str) -> Any:
            value = node.try_get_context(key)
            if value is None:
                value = settings.get(key)
            # `-c key=[...]` arrives as a string: accept JSON there.
            if isinstance(value, str) and value[:1] in "[{":
                return json.loads(value)
            return value

        kwargs: dict[str, Any] = {"stage": stage}
        if (v := ctx(CTX_POWERTOOLS_LAYER_VERSION)) is not None:
            kwargs["powertools_layer_version"] = int(v)
        if (v := ctx(CTX_REVIEW_TIMEOUT_HOURS)) is not None:
            kwargs["review_timeout_seconds"] = int(float(v) * 3600)
        if (v := ctx(CTX_WAREHOUSES)) is not None:
            kwargs["warehouses"] = v
        if (v := ctx(CTX_PRICING)) is not None:
            kwargs["pricing"] = v
        if (v := ctx(CTX_PAYMENT_REVIEW_THRESHOLD_CENTS)) is not None:
            kwargs["payment_review_threshold_cents"] = int(v)
        if (v := ctx(CTX_LOG_RETENTION_DAYS)) is not None:
            kwargs["log_retention_days"] = int(v)
        if (v := ctx(CTX_ARCHIVE_RETENTION_DAYS)) is not None:
            kwargs["archive_retention_days"] = int(v)
        if (v := ctx(CTX_ALLOWED_ACCOUNTS)) is not None:
            kwargs["allowed_accounts"] = [str(a) for a in v]
        if (v := ctx(CTX_MARKETPLACE_ACCOUNTS)) is not None:
            kwargs["marketplace_accounts"] = {str(k): str(a) for k, a in dict(v).items()}
        if (v := ctx(CTX_NOTIFICATION_SENDER)) is not None:
            kwargs["notification_sender"] = str(v)
        if (v := ctx(CTX_ON_CALL_EMAIL)) is not None:
            kwargs["on_call_email"] = str(v) or None
        if (v := ctx(CTX_SENDER_IDENTITY)) is not None:
            kwargs["sender_identity"] = str(v)
        if (v := ctx(CTX_POWERTOOLS_LAYER_ARN)) is not None:
            kwargs["powertools_layer_arn"] = str(v) or None
        return cls(**kwargs)
