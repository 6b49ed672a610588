"""Every price the cost model uses, in one place: AWS list prices, region us-east-1 (N. Virginia), USD.

Each constant names the page it comes from. Pages were read for the 2025-2026 price lists; the
DynamoDB on-demand figures are the ones in force since AWS halved on-demand throughput prices on
2024-11-01 (checked 2026 against the pricing page and third-party restatements of it). Free tiers
are ignored on purpose: the model answers "what does one more million orders cost".
"""

from __future__ import annotations

from typing import Final

REGION: Final = "us-east-1"
CURRENCY: Final = "USD"

# Step Functions, Standard workflows: $0.025 per 1,000 state transitions (retries are transitions too;
# waiting, including .waitForTaskToken, is free).
# https://aws.amazon.com/step-functions/pricing/
SFN_STANDARD_PER_TRANSITION: Final = 0.025 / 1_000

# Step Functions, Express workflows (the what-if only, bench.cost.express_what_if): $1.00 per million
# requests (executions started) and $0.00001667 per GB-second for the first 1,000 GB-hours a month
# (the tier a million orders stays in); memory billed in 64 MB chunks (the definition and the
# execution's data; ours fits the first), duration in 100 ms increments.
# https://aws.amazon.com/step-functions/pricing/
SFN_EXPRESS_PER_REQUEST: Final = 1.00 / 1_000_000
SFN_EXPRESS_PER_GB_SECOND: Final = 0.00001667
SFN_EXPRESS_MEMORY_MB: Final = 64
SFN_EXPRESS_BILLING_INCREMENT_MS: Final = 100

# Lambda, Arm (Graviton2) price: $0.0000133334 per GB-second (first 7.5 billion GB-s a month) and
# $0.20 per 1M requests. Duration is billed in 1 ms increments.
# https://aws.amazon.com/lambda/pricing/
LAMBDA_ARM64_PER_GB_SECOND: Final = 0.0000133334
LAMBDA_PER_REQUEST: Final = 0.20 / 1_000_000
LAMBDA_BILLING_INCREMENT_MS: Final = 1

# EventBridge: custom events published to an event bus, $1.00 per million; each 64 KB chunk of a
# payload is billed as one event. Deliveries to targets (our Lambda subscribers) are not charged.
# https://aws.amazon.com/eventbridge/pricing/
EVENTBRIDGE_PER_CUSTOM_EVENT: Final = 1.00 / 1_000_000
EVENTBRIDGE_CHUNK_BYTES: Final = 64 * 1024

# SQS, FIFO queues (the warehouse queues): $0.50 per million requests (first 100 billion a month);
# each 64 KB chunk of a payload is billed as one request.
# https://aws.amazon.com/sqs/pricing/
SQS_FIFO_PER_REQUEST: Final = 0.50 / 1_000_000
SQS_CHUNK_BYTES: Final = 64 * 1024

# DynamoDB on-demand, Standard table class: $0.625 per million write request units and $0.125 per
# million read request units (since 2024-11-01).
# https://aws.amazon.com/dynamodb/pricing/on-demand/
# Unit rules (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html):
# a write is 1 WRU per 1 KB of item (2 in a transaction); a strongly consistent read is 1 RRU per
# 4 KB (0.5 eventually consistent, 2 in a transaction).
DYNAMODB_PER_WRITE_REQUEST_UNIT: Final = 0.625 / 1_000_000
DYNAMODB_PER_READ_REQUEST_UNIT: Final = 0.125 / 1_000_000
DYNAMODB_WRITE_UNIT_BYTES: Final = 1024
DYNAMODB_READ_UNIT_BYTES: Final = 4 * 1024

# SES (the notifications subscriber's confirmation e-mail): $0.10 per 1,000 e-mails sent.
# https://aws.amazon.com/ses/pricing/
SES_PER_EMAIL: Final = 0.10 / 1_000

# CloudWatch Logs, Standard log class: $0.50 per GB ingested, $0.03 per GB-month archived (stored
# compressed). Custom metrics $0.30 per metric-month (first 10,000), standard-resolution alarms $0.10
# per alarm-month, dashboards $3.00 per dashboard-month (beyond the first 3 free: ignored, see above).
# https://aws.amazon.com/cloudwatch/pricing/
LOGS_PER_GB_INGESTED: Final = 0.50
LOGS_PER_GB_MONTH_STORED: Final = 0.03
CUSTOM_METRIC_PER_MONTH: Final = 0.30
ALARM_PER_MONTH: Final = 0.10
DASHBOARD_PER_MONTH: Final = 3.00
GB: Final = 1024**3

# X-Ray: $5.00 per million traces recorded. The default sampling rule (no custom rule in infra/)
# records the first request each second and 5% of the rest:
# https://aws.amazon.com/xray/pricing/
# https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html
XRAY_PER_TRACE_RECORDED: Final = 5.00 / 1_000_000
XRAY_DEFAULT_SAMPLING_RATE: Final = 0.05
XRAY_DEFAULT_RESERVOIR_PER_SECOND: Final = 1

# KMS: $1.00 per customer managed key-month, $0.03 per 10,000 requests.
# https://aws.amazon.com/kms/pricing/
KMS_PER_KEY_MONTH: Final = 1.00
KMS_PER_REQUEST: Final = 0.03 / 10_000

# DynamoDB storage, Standard table class: $0.25 per GB-month (each item counts 100 bytes of index
# overhead), continuous backups (PITR) $0.20 per GB-month of table size.
# https://aws.amazon.com/dynamodb/pricing/on-demand/
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
DYNAMODB_STORAGE_PER_GB_MONTH: Final = 0.25
DYNAMODB_PITR_PER_GB_MONTH: Final = 0.20
DYNAMODB_ITEM_OVERHEAD_BYTES: Final = 100

# A month of seconds (30 days), for the reservoir and the cached-key requests that scale with time.
SECONDS_PER_MONTH: Final = 30 * 24 * 3600

SOURCES: Final[dict[str, str]] = {
    "stepfunctions": "https://aws.amazon.com/step-functions/pricing/",
    "lambda": "https://aws.amazon.com/lambda/pricing/",
    "eventbridge": "https://aws.amazon.com/eventbridge/pricing/",
    "sqs": "https://aws.amazon.com/sqs/pricing/",
    "dynamodb": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "ses": "https://aws.amazon.com/ses/pricing/",
    "cloudwatch_logs": "https://aws.amazon.com/cloudwatch/pricing/",
    "xray": "https://aws.amazon.com/xray/pricing/",
    "kms": "https://aws.amazon.com/kms/pricing/",
    "storage": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
}
