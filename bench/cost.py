"""The cost model: what one order uses (counted, not guessed) -> dollars per million orders.

Pure arithmetic on measured usage; the measuring happens in bench.orders (execution histories and
the API calls the handlers make). Prices: bench/prices.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace

from bench import prices

ORDERS = 1_000_000
# The split every report shows, in this order.
SERVICES = (
    "stepfunctions",
    "lambda",
    "eventbridge",
    "sqs",
    "dynamodb",
    "ses",
    "cloudwatch_logs",
    "xray",
    "kms",
    "storage",
)
# How long an order's records are kept for the storage figure (the "kept a year").
STORAGE_MONTHS = 12


def chunks(size_bytes: int, chunk_bytes: int) -> int:
    """Billed units of a payload billed per chunk (EventBridge, SQS: 64 KB); an empty one is one."""
    return max(1, math.ceil(size_bytes / chunk_bytes))


def billed_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the next 1 ms (at least 1 ms)."""
    step = prices.LAMBDA_BILLING_INCREMENT_MS
    return max(step, math.ceil(duration_ms / step) * step)


def gb_seconds(memory_mb: int, duration_ms: float) -> float:
    return memory_mb / 1024 * billed_ms(duration_ms) / 1000


@dataclass
class Usage:
    """What one order (on one path) uses of each billed dimension."""

    transitions: int = 0  # Standard workflow
    express_requests: int = 0  # Express workflow executions (the what-if)
    express_gb_seconds: float = 0.0
    lambda_requests: int = 0
    lambda_gb_seconds: float = 0.0
    eventbridge_events: int = 0  # 64 KB chunks
    sqs_requests: int = 0  # 64 KB chunks
    dynamodb_wru: float = 0.0
    dynamodb_rru: float = 0.0
    ses_emails: int = 0
    log_bytes: int = 0  # ingested into CloudWatch Logs (function logs and the execution log)
    log_stored_bytes: int = 0  # the same, compressed as CloudWatch stores it
    log_retention_days: int = 0  # the template's (bench.template.log_retention_days)
    traces: int = 0  # X-Ray traces the order starts (before sampling)
    xray_sampling_rate: float = prices.XRAY_DEFAULT_SAMPLING_RATE
    kms_requests: float = 0.0
    stored_bytes: int = 0  # DynamoDB bytes the order leaves in tables (with the per-item overhead)
    # Lambda invocations by function (for the report; lambda_requests is their sum).
    invocations: dict[str, int] = field(default_factory=dict)

    def add_invocation(self, function: str, memory_mb: int, duration_ms: float) -> None:
        self.lambda_requests += 1
        self.lambda_gb_seconds += gb_seconds(memory_mb, duration_ms)
        self.invocations[function] = self.invocations.get(function, 0) + 1

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def cost_per_million(usage: Usage) -> dict[str, float]:
    """Dollars per million orders like this one, split by service (plus "total")."""
    per_order = {
        "stepfunctions": usage.transitions * prices.SFN_STANDARD_PER_TRANSITION
        + usage.express_requests * prices.SFN_EXPRESS_PER_REQUEST
        + usage.express_gb_seconds * prices.SFN_EXPRESS_PER_GB_SECOND,
        "lambda": usage.lambda_requests * prices.LAMBDA_PER_REQUEST
        + usage.lambda_gb_seconds * prices.LAMBDA_ARM64_PER_GB_SECOND,
        "eventbridge": usage.eventbridge_events * prices.EVENTBRIDGE_PER_CUSTOM_EVENT,
        "sqs": usage.sqs_requests * prices.SQS_FIFO_PER_REQUEST,
        "dynamodb": usage.dynamodb_wru * prices.DYNAMODB_PER_WRITE_REQUEST_UNIT
        + usage.dynamodb_rru * prices.DYNAMODB_PER_READ_REQUEST_UNIT,
        "ses": usage.ses_emails * prices.SES_PER_EMAIL,
        "cloudwatch_logs": usage.log_bytes / prices.GB * prices.LOGS_PER_GB_INGESTED
        + usage.log_stored_bytes / prices.GB * usage.log_retention_days / 30 * prices.LOGS_PER_GB_MONTH_STORED,
        "xray": usage.traces * usage.xray_sampling_rate * prices.XRAY_PER_TRACE_RECORDED,
        "kms": usage.kms_requests * prices.KMS_PER_REQUEST,
        # Each order's items stay STORAGE_MONTHS months: that many GB-months of table and of PITR.
        "storage": usage.stored_bytes
        / prices.GB
        * STORAGE_MONTHS
        * (prices.DYNAMODB_STORAGE_PER_GB_MONTH + prices.DYNAMODB_PITR_PER_GB_MONTH),
    }
    split = {service: round(per_order[service] * ORDERS, 4) for service in SERVICES}
    split["total"] = round(sum(per_order.values()) * ORDERS, 4)
    return split


# ---------------------------------------------------------------------------
# What-if, computed and not built: the fast path on an Express workflow, a Standard one for reviews
# ---------------------------------------------------------------------------
# The share of orders that wait for a review in the what-if's mix (an assumption: orders at or over the review
# threshold, infra/defaults.py DEFAULT_PAYMENT_REVIEW_THRESHOLD_CENTS, or flagged; the per-path figures are given too).
WHAT_IF_REVIEW_SHARE = 0.05
EXPRESS_GIVES_UP = (
    "exactly-once: an asynchronous Express execution is at-least-once (a synchronous one at-most-once), so a "
    "task may run twice; and Express does not refuse a second execution of the same name, so the start-or-detect "
    "by order id that stops a duplicate order today needs a guard of its own",
    "the execution history: Express has no GetExecutionHistory or DescribeExecution; `orderctl trace` and the "
    "console would read the execution log at level ALL (with execution data to see inputs: addresses, and "
    "privacy review), kept for the log retention instead of 90 days",
    "redrive: RedriveExecution is for Standard workflows only (`orderctl redrive` would restart orders instead)",
    "the 5-minute limit: the fast path with its throttle retries and back-off (make burst) must end within 5 "
    "minutes or the order is cut off mid-saga",
    "callbacks: .waitForTaskToken is Standard only, so an order that waits for a review hands over to a Standard "
    "execution (one more start, two executions to follow for one order)",
)


def express_gb_seconds(duration_ms: float) -> float:
    """GB-seconds of one Express execution: 64 MB chunks, duration rounded up to 100 ms."""
    step = prices.SFN_EXPRESS_BILLING_INCREMENT_MS
    billed = max(step, math.ceil(duration_ms / step) * step)
    return prices.SFN_EXPRESS_MEMORY_MB / 1024 * billed / 1000


def on_express(usage: Usage, duration_ms: float, log_bytes_at_all: int, log_stored_at_all: int) -> Usage:
    """The same order as an Express execution: no transitions billed, one request and its duration; the
    execution log at level ALL replaces the execution history (the only record Express keeps)."""
    express = replace(usage, transitions=0, invocations=dict(usage.invocations))
    express.express_requests += 1
    express.express_gb_seconds += express_gb_seconds(duration_ms)
    express.log_bytes += log_bytes_at_all
    express.log_stored_bytes += log_stored_at_all
    return express


def handed_over(review: Usage, duration_ms: float) -> Usage:
    """An order that waits for a review: its Express start (one request) hands over to a Standard execution.
    An upper bound: the Standard part is billed as today's whole execution."""
    split = replace(review, invocations=dict(review.invocations))
    split.express_requests += 1
    split.express_gb_seconds += express_gb_seconds(duration_ms)
    return split


def express_what_if(
    fast: Usage, review: Usage, duration_ms: float, log_at_all: tuple[int, int], review_share: float
) -> dict[str, object]:
    """Cost per million orders, all on Standard (today) and split (Express fast path, Standard for reviews),
    for a mix where ``review_share`` of orders wait for a review; and what the split gives up."""
    standard = {"fast": cost_per_million(fast), "review": cost_per_million(review)}
    split = {
        "fast": cost_per_million(on_express(fast, duration_ms, *log_at_all)),
        "review": cost_per_million(handed_over(review, duration_ms)),
    }

    def mixed(costs: dict[str, dict[str, float]]) -> dict[str, float]:
        return {
            key: round((1 - review_share) * costs["fast"][key] + review_share * costs["review"][key], 4)
            for key in costs["fast"]
        }

    return {
        "review_share": review_share,
        "express_duration_ms": round(duration_ms, 1),
        "standard_only": {**standard, "mix": mixed(standard)},
        "express_fast_path": {**split, "mix": mixed(split)},
        "gives_up": list(EXPRESS_GIVES_UP),
    }


@dataclass(frozen=True)
class FixedCosts:
    """What the stack costs a month whatever the orders (counted from the template and the metrics)."""

    alarms: int
    custom_metrics: int
    dashboards: int
    kms_keys: int
    # Requests that scale with time, not orders: services cache a data key per resource (about one
    # request per resource every 5 minutes), and X-Ray's reservoir (1 trace a second at most).
    kms_cached_key_resources: int = 0

    def monthly(self) -> dict[str, float]:
        kms_requests = self.kms_cached_key_resources * prices.SECONDS_PER_MONTH / 300
        block = {
            "alarms": self.alarms * prices.ALARM_PER_MONTH,
            "custom_metrics": self.custom_metrics * prices.CUSTOM_METRIC_PER_MONTH,
            "dashboards": self.dashboards * prices.DASHBOARD_PER_MONTH,
            "kms_keys": self.kms_keys * prices.KMS_PER_KEY_MONTH,
            "kms_cached_key_requests": kms_requests * prices.KMS_PER_REQUEST,
            "xray_reservoir_max": prices.XRAY_DEFAULT_RESERVOIR_PER_SECOND
            * prices.SECONDS_PER_MONTH
            * prices.XRAY_PER_TRACE_RECORDED,
        }
        rounded = {k: round(v, 2) for k, v in block.items()}
        rounded["total"] = round(sum(block.values()), 2)
        return rounded


# ---------------------------------------------------------------------------
# DynamoDB request units of one API call (on-demand billing rules, see bench/prices.py)
# ---------------------------------------------------------------------------
def write_units(item_bytes: int, transactional: bool = False) -> float:
    units = max(1, math.ceil(item_bytes / prices.DYNAMODB_WRITE_UNIT_BYTES))
    return units * (2 if transactional else 1)


def read_units(item_bytes: int, consistent: bool = False, transactional: bool = False) -> float:
    units = max(1, math.ceil(item_bytes / prices.DYNAMODB_READ_UNIT_BYTES))
    if transactional:
        return units * 2.0
    return float(units) if consistent else units / 2


def query_units(item_sizes: Iterable[int], consistent: bool = False) -> float:
    """Query/Scan: the sizes of all items read are summed, then rounded up to 4 KB (an empty result: 1)."""
    return read_units(sum(item_sizes), consistent)


def attribute_value_bytes(value: Mapping[str, object]) -> int:
    """Size of one DynamoDB AttributeValue (low-level JSON shape), per the item size rules:
    strings UTF-8 bytes, numbers ~1 byte per 2 digits + 1, binary its length, containers 3 bytes
    plus 1 per element plus their contents."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = len(str(inner).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS") and isinstance(inner, list):
        return sum(attribute_value_bytes({kind[0]: v}) for v in inner)
    if kind == "L" and isinstance(inner, list):
        return 3 + sum(1 + attribute_value_bytes(v) for v in inner)
    if kind == "M" and isinstance(inner, Mapping):
        return 3 + sum(1 + len(k.encode()) + attribute_value_bytes(v) for k, v in inner.items())
    return len(str(inner))


def item_bytes(item: Mapping[str, Mapping[str, object]] | None) -> int:
    """Size of an item in low-level JSON shape: attribute names plus values."""
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_value_bytes(value) for name, value in item.items())
