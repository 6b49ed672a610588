"""The AWS quotas the capacity model divides by (bench/capacity.py), each with the page that states it.

Values are for Europe (Ireland), the sandbox's region, which shares the highest tier with US East
(N. Virginia) and US West (Oregon) for every quota below; other regions have lower Step Functions
and EventBridge figures (see each page). ``raised`` is what a first quota-increase request usually
asks for and gets for a soft quota (our choice, not an AWS promise); ``None`` where the quota is hard
or the figure is our own setting (then ``remedy`` says what to change).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from infra.api import THROTTLE_BURST, THROTTLE_RATE_PER_SECOND


@dataclass(frozen=True)
class Quota:
    key: str
    what: str
    per_second: float  # the quota, in its unit per second
    unit: str  # what one unit is; capacity.UsagePerOrder names how many an order uses
    usage: str  # the UsagePerOrder field it divides
    source: str
    remedy: str
    raised: float | None = None
    note: str = ""


_SFN = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html"
_LAMBDA = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
_LAMBDA_SCALING = "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html"
_DDB = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html"
_DDB_TX = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html"
_EB = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html"
_SES = "https://docs.aws.amazon.com/ses/latest/dg/quotas.html"
_SQS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html"
_APIGW = "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html"

QUOTAS: Final[tuple[Quota, ...]] = (
    Quota(
        "sfn_start_execution",
        "Step Functions StartExecution (Standard), refill rate (bucket 1,300)",
        300,
        "StartExecution call",
        "executions",
        _SFN,
        "request a higher StartExecution refill rate (soft quota)",
        raised=1_000,
    ),
    Quota(
        "sfn_state_transitions",
        "Step Functions state transitions (Standard), refill rate (bucket 5,000)",
        5_000,
        "state transition",
        "transitions",
        _SFN,
        "request more state transitions per second (soft quota); an Express fast path would not count them",
        raised=25_000,
    ),
    Quota(
        "lambda_concurrency",
        "Lambda concurrent executions per account and region",
        1_000,
        "concurrent execution",
        "lambda_seconds",
        _LAMBDA,
        "request more concurrency (soft quota; a new account may start lower than 1,000)",
        raised=10_000,
        note="concurrency / (Lambda seconds per order); each function also scales by at most 1,000 "
        f"executions every 10 seconds ({_LAMBDA_SCALING}), so a burst reaches this in tens of seconds",
    ),
    Quota(
        "dynamodb_table_writes",
        "DynamoDB on-demand write request units per table",
        40_000,
        "write request unit",
        "dynamodb_wru",
        _DDB,
        "request a higher per-table throughput (soft quota)",
        raised=80_000,
        note="divided by the order's write units on all tables together: a lower bound",
    ),
    Quota(
        "dynamodb_hot_item",
        "DynamoDB per partition (one item): 1,000 write units per second (hard)",
        1_000,
        "write request unit on the hot product's stock item",
        "hot_item_wru",
        _DDB,
        "redesign: spread one product's stock over several items (hard limit); transactions on one item "
        f"also conflict with each other ({_DDB_TX}), so contention lowers this further",
        note="the orders per second ONE product can take, all other products unaffected",
    ),
    Quota(
        "eventbridge_put_events",
        "EventBridge PutEvents entries per second",
        10_000,
        "PutEvents entry",
        "eventbridge_events",
        _EB,
        "request a higher PutEvents rate (soft quota)",
        raised=20_000,
    ),
    Quota(
        "eventbridge_invocations",
        "EventBridge target invocations per second",
        18_750,
        "target invocation",
        "eventbridge_invocations",
        _EB,
        "request a higher invocations rate (soft quota)",
        raised=37_500,
    ),
    Quota(
        "ses_sending_rate",
        "SES sending rate with production access (default; the SES sandbox allows 1 per second)",
        14,
        "e-mail",
        "emails",
        _SES,
        "request a higher sending rate; the e-mails wait in the notifications buffer meanwhile",
        raised=100,
        note="an SES sandbox account sends 1 e-mail per second (200 a day): see the burst run",
    ),
    Quota(
        "sqs_fifo_queue",
        "SQS FIFO sends per second per queue, without batching or high throughput (per message group: "
        "one in flight, the group is the order)",
        300,
        "SendMessage to one warehouse's queue",
        "warehouse_messages",
        _SQS,
        "turn on FIFO high throughput for the warehouse queues (thousands per second)",
        raised=9_000,
    ),
    Quota(
        "api_gateway_stage",
        f"Order API stage throttle (infra/api.py: {THROTTLE_RATE_PER_SECOND}/s, burst {THROTTLE_BURST}); "
        "the account's default is 10,000/s, burst 5,000",
        THROTTLE_RATE_PER_SECOND,
        "API request",
        "api_requests",
        _APIGW,
        "raise THROTTLE_RATE_PER_SECOND in infra/api.py (up to the account's 10,000/s)",
        raised=10_000,
    ),
)
