"""Names only the stack writes and nothing at runtime reads: SSM parameters, outputs no tool reads,
the metrics the stack itself derives from logs, the variables it sets for Powertools.

Names the functions, orderctl or the sandbox read too (environment variables, metric names the
handlers publish, stack outputs the tools look up) stay in `lambdas/shared/constants.py`.
"""

from __future__ import annotations

from lambdas.shared import constants

# Every source we publish under: the archive keeps these, and the bus policy forbids other accounts
# from publishing under them.
OUR_EVENT_SOURCES = (constants.EVENT_SOURCE,)
# The schema registry is named after the stack: "<stack>-events".
SCHEMA_REGISTRY_SUFFIX = "-events"

# SSM parameters other stacks import the bus from (also stack outputs, see infra/stack.py).
SSM_EVENT_BUS_NAME = "/orders/event-bus/name"
SSM_EVENT_BUS_ARN = "/orders/event-bus/arn"
SSM_EVENT_ARCHIVE_ARN = "/orders/event-bus/archive-arn"
SSM_SCHEMA_REGISTRY_NAME = "/orders/event-bus/schema-registry-name"

# Stack outputs for people (the console, the README), not read by orderctl or the sandbox.
OUTPUT_SCHEMA_REGISTRY = "SchemaRegistryName"
OUTPUT_DASHBOARD_NAME = "DashboardName"
OUTPUT_ALARM_TOPIC_ARN = "AlarmTopicArn"

# Metrics from the state machine's execution log (metric filters; dimension "error" = the named error).
METRIC_ORDERS_FAILED = "OrdersFailed"
METRIC_ORDERS_FAILED_UNEXPECTEDLY = "OrdersFailedUnexpectedly"
METRIC_ERROR_DIMENSION = "error"

# What Powertools reads in every function.
ENV_POWERTOOLS_SERVICE = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
