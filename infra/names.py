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


# -- per stage: every physical name carries the stage, so two stages share an account ----------------------
# The stack of a stage: named in the kernel, since orderctl --stage and the sandbox look it up too.
stack_name = constants.stack_name


def metrics_namespace(stage: str) -> str:
    """The CloudWatch namespace of a stage's own metrics: its stack's name, so two stages in one account keep
    their metrics, and the alarms and graphs on them, apart. The functions get it in their environment
    (ENV_POWERTOOLS_NAMESPACE, where Powertools reads it); the alarms, metric filters and dashboard use it."""
    return stack_name(stage)


def name_prefix(stage: str) -> str:
    """What alarm, dashboard and schema registry names start with: "OrderProcessing-<stage>"."""
    return f"{constants.STACK_NAME}-{stage}"


# The workflow's definition, relative to the repository root (infra/workflow.py fills it in; tools/diagram.py draws it).
ASL_FILE = "statemachines/order_workflow.asl.json"

# ASL substitutions besides the task function ARNs (infra/workflow.py fills them in).
SUB_EVENT_BUS_NAME = "EventBusName"
SUB_EVENT_SOURCE = "EventSource"
SUB_EVENT_VERSION = "EventVersion"
SUB_PRODUCER = "Producer"
SUB_ORDER_COMPLETED = "OrderCompletedDetailType"
SUB_ORDER_FAILED = "OrderFailedDetailType"
SUB_PAYMENTS_TABLE = "PaymentsTableName"  # ConfirmReviewDecision reads the recorded decision

# The schema registry: "<prefix>-events".
SCHEMA_REGISTRY_SUFFIX = "-events"

# SSM parameters other stacks import the bus from (also stack outputs, see infra/stack.py):
# /orders/<stage>/event-bus/<key>.
SSM_EVENT_BUS_NAME = "name"
SSM_EVENT_BUS_ARN = "arn"
SSM_EVENT_ARCHIVE_ARN = "archive-arn"
SSM_SCHEMA_REGISTRY_NAME = "schema-registry-name"


def ssm_parameter(stage: str, key: str) -> str:
    return f"/orders/{stage}/event-bus/{key}"


def bus_statement_id(stage: str, sid: str) -> str:
    """A bus policy statement's id: CloudFormation treats it as a physical id of the whole account."""
    return f"orders-{stage}-{sid}"


def execution_log_group(stage: str) -> str:
    """Under /aws/vendedlogs/: Step Functions' log delivery then needs no growing resource policy."""
    return f"/aws/vendedlogs/states/{stage}-{constants.STACK_NAME}-executions"


# Stack outputs for people (the console, the README), not read by orderctl or the sandbox.
OUTPUT_SCHEMA_REGISTRY = "SchemaRegistryName"
OUTPUT_DASHBOARD_NAME = "DashboardName"
OUTPUT_ALARM_TOPIC_ARN = "AlarmTopicArn"
OUTPUT_STAGE = "Stage"
OUTPUT_SENDER_IDENTITY = "SenderIdentity"

# Metrics from the state machine's execution log (metric filters; dimension "error" = the named error).
METRIC_ORDERS_FAILED = "OrdersFailed"
METRIC_ORDERS_FAILED_UNEXPECTEDLY = "OrdersFailedUnexpectedly"
METRIC_ERROR_DIMENSION = "error"

# What Powertools reads in every function.
ENV_POWERTOOLS_SERVICE = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
