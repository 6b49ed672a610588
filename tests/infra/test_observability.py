"""The observability construct in the synthesized template: topic, alarms, dashboard, metric filters,
the review monitor and the outputs orderctl reads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra import alarms, config, names, review_monitor
from infra.alarms import events_refused
from infra.subscribers import REGISTRY, construct_id
from lambdas.shared import constants
from tests.infra.synth_support import flatten, own_functions
from tests.synth import Synthesized, synthesize

ALARM = "AWS::CloudWatch::Alarm"
PREFIX = names.name_prefix("dev")  # alarm names: OrderProcessing-<stage>-<id>
NAMESPACE = names.metrics_namespace("dev")  # the stage's metrics (tests/infra/test_stages.py: one per stage)


def by_id(synthesized: Synthesized, resource_type: str, prefix: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synthesized.resources(resource_type).items() if k.startswith(prefix)}


def one_id(synthesized: Synthesized, resource_type: str, prefix: str) -> str:
    (found,) = by_id(synthesized, resource_type, prefix)
    return found


def alarm(synthesized: Synthesized, name: str) -> dict[str, Any]:
    (found,) = [a["Properties"] for a in synthesized.resources(ALARM).values() if a["Properties"]["AlarmName"] == name]
    return found


# -- a small evaluator of CloudWatch Logs JSON filter patterns (the subset the stack uses) ------------
_CONDITION = re.compile(r'\(?\s*\$\.([\w.]+)\s*(=|!=)\s*"([^"]*)"\s*\)?')


def matches(pattern: str, event: dict[str, Any]) -> bool:
    body = pattern.strip()
    assert body.startswith("{") and body.endswith("}"), pattern
    conditions = [c.strip() for c in body[1:-1].split("&&")]
    for condition in conditions:
        parsed = _CONDITION.fullmatch(condition)
        assert parsed, f"not understood: {condition}"
        path, operator, expected = parsed.groups()
        value: Any = event
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if (value == expected) != (operator == "="):
            return False
    return True


def execution_log_event(event_type: str, **details: str) -> dict[str, Any]:
    """A Step Functions execution log event (CloudWatch Logs, level ALL) as AWS documents it."""
    return {
        "id": "17",
        "type": event_type,
        "details": details,
        "previous_event_id": "16",
        "event_timestamp": "1795313651461",
        "execution_arn": "arn:aws:states:eu-west-1:123456789012:execution:OrderWorkflow:ord-1001",
        "redrive_count": "0",
    }


def test_alarm_topic_is_encrypted_with_a_rotating_key_ssl_only_and_open_to_cloudwatch_alarms(
    synthesized: Synthesized,
) -> None:
    topic_id = one_id(synthesized, "AWS::SNS::Topic", "Observability")
    key_id = one_id(synthesized, "AWS::KMS::Key", "Observability")
    topic = synthesized.template["Resources"][topic_id]["Properties"]
    key = synthesized.template["Resources"][key_id]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["EnableKeyRotation"] is True
    assert any(
        s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and "kms:GenerateDataKey*" in s["Action"]
        for s in key["KeyPolicy"]["Statement"]
    )
    (policy,) = [p["Properties"] for p in synthesized.resources("AWS::SNS::TopicPolicy").values()]
    statements = policy["PolicyDocument"]["Statement"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [
        s.get("Condition") for s in statements if s["Effect"] == "Deny"
    ]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert ":alarm:*" in flatten(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    assert synthesized.resources("AWS::SNS::Subscription") == {}  # no onCallEmail in cdk.json


def test_every_alarm_notifies_the_topic_and_says_what_to_do(synthesized: Synthesized) -> None:
    topic = {"Ref": one_id(synthesized, "AWS::SNS::Topic", "Observability")}
    alarms = [a["Properties"] for a in synthesized.resources(ALARM).values()]
    assert len(alarms) >= 4 + 2 * len(REGISTRY)
    for props in alarms:
        assert props["AlarmActions"] == [topic] and props["OKActions"] == [topic], props["AlarmName"]
        assert props["AlarmName"].startswith(f"{PREFIX}-")
        assert "orderctl" in props["AlarmDescription"] or "ask its team" in props["AlarmDescription"]


def test_any_message_in_any_dead_letter_queue_alarms(synthesized: Synthesized) -> None:
    queues = synthesized.resources("AWS::SQS::Queue")
    redrive_targets = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for q in queues.values()
                       if "RedrivePolicy" in q["Properties"]}  # fmt: skip
    subscriber_dlqs = {f"Subscribers{construct_id(s.name)}DeadLetters" for s in REGISTRY}
    dead_letter_queues = redrive_targets | {q for q in queues if any(q.startswith(p) for p in subscriber_dlqs)}
    watched = {}
    for props in (a["Properties"] for a in synthesized.resources(ALARM).values()):
        if props.get("MetricName") == "ApproximateNumberOfMessagesVisible":
            (dimension,) = props["Dimensions"]
            watched[dimension["Value"]["Fn::GetAtt"][0]] = props
    assert set(watched) == dead_letter_queues
    assert len(dead_letter_queues) == len(REGISTRY) + len(config.DEFAULT_WAREHOUSES)
    for props in watched.values():
        assert (props["Threshold"], props["ComparisonOperator"], props["Statistic"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
            "Maximum",
        )


def test_each_subscriber_has_an_errors_alarm_that_ignores_a_one_off(synthesized: Synthesized) -> None:
    for spec in REGISTRY:
        props = alarm(synthesized, f"{PREFIX}-SubscriberErrors{construct_id(spec.name)}")
        (dimension,) = props["Dimensions"]
        assert dimension["Value"]["Ref"].startswith(f"Subscribers{construct_id(spec.name)}Function")
        assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Errors")
        assert (props["DatapointsToAlarm"], props["EvaluationPeriods"]) == (2, 3)
        assert f"orderctl redrive {spec.name}" in props["AlarmDescription"]


def test_a_refused_event_alarms_at_once(synthesized: Synthesized) -> None:
    """Whoever put it spoke for the shop and may not (issue 11): one refusal by any subscriber alarms. The query
    matches what the entry point emits: tests/unit/subscribers/test_entry_point.py."""
    props = alarm(synthesized, f"{PREFIX}-EventsRefused")
    (query,) = props["Metrics"]
    # In the namespace the subscribers publish to (the stage's, from their environment)
    namespaces = {
        f["Properties"]["Environment"]["Variables"][names.ENV_POWERTOOLS_NAMESPACE]
        for n, f in synthesized.resources("AWS::Lambda::Function").items()
        if n.startswith("Subscribers")
    }
    (namespace,) = namespaces
    assert (query["Expression"], query["ReturnData"]) == (events_refused(namespace).expression, True)
    assert query["Period"] == config.ALARM_PERIOD_MINUTES * 60
    assert (props["Threshold"], props["ComparisonOperator"], props["EvaluationPeriods"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert props["TreatMissingData"] == "notBreaching"
    assert "event refused" in props["AlarmDescription"]


def test_failed_orders_are_counted_by_reason_from_the_execution_log(synthesized: Synthesized) -> None:
    filters = {
        f["Properties"]["MetricTransformations"][0]["MetricName"]: f["Properties"]
        for f in synthesized.resources("AWS::Logs::MetricFilter").values()
    }
    log_group = {"Ref": one_id(synthesized, "AWS::Logs::LogGroup", "WorkflowExecutionLogs")}
    machine = synthesized.one("AWS::StepFunctions::StateMachine")["Properties"]
    logged_to = machine["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert logged_to["Fn::GetAtt"][0] == log_group["Ref"]
    assert machine["LoggingConfiguration"]["Level"] == "ERROR"

    by_reason = filters[names.METRIC_ORDERS_FAILED]
    assert by_reason["LogGroupName"] == log_group
    (transform,) = by_reason["MetricTransformations"]
    assert transform["Dimensions"] == [{"Key": names.METRIC_ERROR_DIMENSION, "Value": "$.details.error"}]
    assert (transform["MetricNamespace"], transform["MetricValue"]) == (NAMESPACE, "1")
    declined = execution_log_event("ExecutionFailed", error=constants.ERROR_PAYMENT_DECLINED, cause="declined")
    assert matches(by_reason["FilterPattern"], declined)
    assert not matches(by_reason["FilterPattern"], execution_log_event("ExecutionSucceeded", output="{}"))
    assert not matches(by_reason["FilterPattern"], execution_log_event("TaskFailed", error="Lambda.Unknown"))

    unexpected = filters[names.METRIC_ORDERS_FAILED_UNEXPECTEDLY]["FilterPattern"]
    for business in alarms.BUSINESS_ERRORS:
        assert not matches(unexpected, execution_log_event("ExecutionFailed", error=business, cause="x"))
    for fault in (constants.ERROR_COMPENSATION_FAILED, "States.Runtime", "States.Timeout"):
        assert matches(unexpected, execution_log_event("ExecutionFailed", error=fault, cause="x"))
    props = alarm(synthesized, f"{PREFIX}-OrdersFailedUnexpectedly")
    assert (props["MetricName"], props["Threshold"]) == (names.METRIC_ORDERS_FAILED_UNEXPECTEDLY, 1)


def test_the_failure_rate_alarm_waits_for_enough_orders(synthesized: Synthesized) -> None:
    props = alarm(synthesized, f"{PREFIX}-OrderFailureRateHigh")
    metrics = {m["Id"]: m for m in props["Metrics"]}
    assert metrics["expr_1"]["Expression"] == (
        f"IF(started >= {config.FAILURE_RATE_ALARM_MIN_ORDERS}, 100 * failed / started, 0)"
    )
    assert metrics["started"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsStarted"
    assert metrics["failed"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsFailed"
    assert props["Threshold"] == config.FAILURE_RATE_ALARM_PERCENT


def test_a_review_waiting_half_its_timeout_alarms_and_so_does_a_silent_monitor(synthesized: Synthesized) -> None:
    props = alarm(synthesized, f"{PREFIX}-ReviewWaitingTooLong")
    (metric,) = props["Metrics"]
    stat = metric["MetricStat"]
    assert stat["Metric"] == {
        "Dimensions": [{"Name": "service", "Value": constants.SERVICE_NAME}],
        "MetricName": constants.METRIC_OLDEST_REVIEW_WAIT,
        "Namespace": NAMESPACE,
    }
    assert stat["Stat"] == "Maximum"
    assert props["Threshold"] == config.DEFAULT_REVIEW_TIMEOUT_SECONDS * config.REVIEW_WAIT_ALARM_FRACTION
    assert props["TreatMissingData"] == "breaching"


def test_the_review_monitor_runs_on_a_schedule_with_least_privilege(synthesized: Synthesized) -> None:
    functions = synthesized.resources("AWS::Lambda::Function")
    (monitor_id,) = [
        k for k, f in functions.items() if f["Properties"]["Handler"] == review_monitor.REVIEW_MONITOR_HANDLER
    ]
    env = functions[monitor_id]["Properties"]["Environment"]["Variables"]
    machine_id = one_id(synthesized, "AWS::StepFunctions::StateMachine", "Workflow")
    payments_id = one_id(synthesized, "AWS::DynamoDB::Table", "TablesPayments")
    assert env[constants.ENV_STATE_MACHINE_ARN] == {"Ref": machine_id}
    assert env[constants.ENV_PAYMENTS_TABLE] == {"Ref": payments_id}

    (schedule,) = [
        r["Properties"]
        for r in synthesized.resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
        and r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [monitor_id, "Arn"]}
    ]
    assert schedule["ScheduleExpression"] == f"rate({config.REVIEW_MONITOR_INTERVAL_MINUTES} minutes)"

    role = functions[monitor_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p["Properties"]
        for p in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
    ]
    grants = {
        (action, flatten(resource))
        for s in policy["PolicyDocument"]["Statement"]
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        for resource in ([s["Resource"]] if not isinstance(s["Resource"], list) else s["Resource"])
        if not action.startswith("xray:")
    }
    own_logs = flatten({"Fn::GetAtt": [functions[monitor_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]})
    assert grants == {
        ("states:ListExecutions", json.dumps({"Ref": machine_id})),
        ("dynamodb:BatchGetItem", json.dumps({"Fn::GetAtt": [payments_id, "Arn"]}, sort_keys=True)),
        ("logs:CreateLogStream", own_logs),  # its own log group only (no AWSLambdaBasicExecutionRole)
        ("logs:PutLogEvents", own_logs),
    }


def test_the_dashboard_shows_orders_reviews_subscribers_queues_and_durations(synthesized: Synthesized) -> None:
    (dashboard,) = synthesized.resources("AWS::CloudWatch::Dashboard").values()
    body = flatten(dashboard["Properties"]["DashboardBody"])
    for title in (
        "Orders started / succeeded / failed",
        "Failed orders by reason",
        "Payment reviews waiting",
        "Subscriber errors",
        "Dead-letter queues (messages waiting)",
        "Lambda duration (p99, ms)",
        "Alarms",
    ):
        assert f'"title":"{title}"' in body
    for metric in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed"):
        assert metric in body
    assert f"SEARCH('{{{NAMESPACE},{names.METRIC_ERROR_DIMENSION}}} " in body
    for name in (constants.METRIC_REVIEWS_WAITING, constants.METRIC_OLDEST_REVIEW_WAIT,
                 constants.METRIC_ORDERS_COMPLETED, constants.METRIC_REVENUE_CENTS):  # fmt: skip
        assert f'"{name}"' in body
    for function_id in own_functions(synthesized):  # not CDK's deploy-time providers (synth_support)
        assert json.dumps({"Ref": function_id}) in body, f"{function_id} has no duration graph"
    for props in (a["Properties"] for a in synthesized.resources(ALARM).values()):
        assert f":alarm:{props['AlarmName']}" in body  # the alarm status widget shows every alarm


def test_outputs_lead_orderctl_to_every_subscriber(synthesized: Synthesized) -> None:
    outputs = synthesized.template["Outputs"]
    assert outputs[names.OUTPUT_DASHBOARD_NAME]["Value"] == {
        "Ref": one_id(synthesized, "AWS::CloudWatch::Dashboard", "Observability")
    }
    assert outputs[names.OUTPUT_ALARM_TOPIC_ARN]["Value"] == {
        "Ref": one_id(synthesized, "AWS::SNS::Topic", "Observability")
    }
    for spec in REGISTRY:
        prefix = construct_id(spec.name) + constants.OUTPUT_SUBSCRIBER_INFIX
        function = outputs[prefix + constants.OUTPUT_SUBSCRIBER_FUNCTION]["Value"]["Ref"]
        rule = outputs[prefix + constants.OUTPUT_SUBSCRIBER_RULE_ARN]["Value"]["Fn::GetAtt"]
        assert function.startswith(f"Subscribers{construct_id(spec.name)}Function")
        assert rule[0].startswith(f"Subscribers{construct_id(spec.name)}Rule") and rule[1] == "Arn"
        assert prefix + constants.OUTPUT_SUBSCRIBER_DEAD_LETTER_QUEUE in outputs


@pytest.fixture(scope="module")
def on_call(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(
        tmp_path_factory.mktemp("on-call"), {"onCallEmail": "oncall@example.com", "reviewTimeoutHours": 2}
    )


def test_on_call_email_subscribes_to_the_topic_and_the_review_alarm_follows_the_timeout(on_call: Synthesized) -> None:
    (subscription,) = on_call.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "oncall@example.com"
    assert subscription["Properties"]["TopicArn"] == {"Ref": one_id(on_call, "AWS::SNS::Topic", "Observability")}
    props = alarm(on_call, f"{PREFIX}-ReviewWaitingTooLong")
    assert props["Threshold"] == 3600  # half of 2 hours
