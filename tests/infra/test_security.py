"""Security checks on the synthesized template: least privilege, encryption at rest, who may publish.

- No policy allows every action ("*"), and no identity policy allows every action of a service.
- An identity policy names Resource "*" only for actions AWS offers nothing narrower for: each is
  listed below with its reason. Anything else must name its resources.
- No function carries an AWS managed policy (they grant on "*": each function writes its own log group).
- Encryption at rest on every table, queue and topic; the log group that holds order data itself (the
  workflow's execution log, with execution data: names, addresses, e-mail) under a customer managed KMS
  key; the functions' log groups under the stack's function-log key (tests/infra/test_checkov.py).
- Resource policies: a service principal only with a source condition (no confused deputy); the bus
  admits this account and the configured accounts, nobody else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from tests.synth import Synthesized, synthesize

OTHER_ACCOUNT = "111122223333"

# action -> why it needs Resource "*" (IAM has no resource-level permissions for it).
ALLOWED_ON_EVERY_RESOURCE: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray tracing: no resource-level permissions exist for X-Ray writes.",
    "ses:GetSendQuota": "The account's SES sending quota (notifications paces to it): account-level, no resource.",
    "xray:PutTelemetryRecords": "X-Ray tracing: no resource-level permissions exist for X-Ray writes.",
    "xray:GetSamplingRules": "X-Ray sampling (state machine tracing): account-wide, no resource type.",
    "xray:GetSamplingTargets": "X-Ray sampling (state machine tracing): account-wide, no resource type.",
    "logs:CreateLogDelivery": "Step Functions' vended log delivery: these actions take no resource ARN.",
    "logs:GetLogDelivery": "Step Functions' vended log delivery: these actions take no resource ARN.",
    "logs:UpdateLogDelivery": "Step Functions' vended log delivery: these actions take no resource ARN.",
    "logs:DeleteLogDelivery": "Step Functions' vended log delivery: these actions take no resource ARN.",
    "logs:ListLogDeliveries": "Step Functions' vended log delivery: these actions take no resource ARN.",
    "logs:PutResourcePolicy": "Log delivery writes the log group's resource policy: account-level in IAM.",
    "logs:DescribeResourcePolicies": "Log delivery reads the resource policies: account-level in IAM.",
    "logs:DescribeLogGroups": "Log delivery lists log groups: AWS documents Resource '*' for it.",
}
# service principal -> why a resource policy admits it without a source condition.
UNCONDITIONED_SERVICES: dict[str, str] = {
    '"cloudwatch.amazonaws.com"': "The alarm topic's key: AWS's documented key policy for alarms that publish "
    "to an encrypted topic; the topic's own policy admits only this account's alarms (aws:SourceArn).",
}
IDENTITY_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
RESOURCE_POLICY_PATHS = {
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
}


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("security"), {"eventBusAllowedAccounts": [OTHER_ACCOUNT]})


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def identity_statements(synthesized: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    for type_ in IDENTITY_POLICY_TYPES:
        for name, resource in synthesized.resources(type_).items():
            for statement in as_list(resource["Properties"]["PolicyDocument"]["Statement"]):
                yield name, statement
    for name, role in synthesized.resources("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in as_list(policy["PolicyDocument"]["Statement"]):
                yield name, statement


def resource_statements(synthesized: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    for type_, (key,) in RESOURCE_POLICY_PATHS.items():
        for name, resource in synthesized.resources(type_).items():
            for statement in as_list(resource["Properties"][key]["Statement"]):
                yield name, statement
    for name, policy in synthesized.resources("AWS::Events::EventBusPolicy").items():
        yield name, policy["Properties"]["Statement"]


def test_no_policy_allows_every_action(synthesized: Synthesized) -> None:
    found = [
        (name, statement.get("Action"))
        for name, statement in [*identity_statements(synthesized), *resource_statements(synthesized)]
        if statement.get("Effect", "Allow") == "Allow"
        and ("NotAction" in statement or {"*", "*:*"} & set(as_list(statement.get("Action", []))))
    ]
    assert not found


def test_no_identity_policy_allows_a_whole_service(synthesized: Synthesized) -> None:
    found = [
        (name, action)
        for name, statement in identity_statements(synthesized)
        if statement.get("Effect", "Allow") == "Allow"
        for action in as_list(statement["Action"])
        if action.endswith(":*")
    ]
    assert not found


def test_resource_star_only_for_actions_with_nothing_narrower(synthesized: Synthesized) -> None:
    found = sorted(
        {
            action
            for _, statement in identity_statements(synthesized)
            if statement.get("Effect", "Allow") == "Allow" and "*" in as_list(statement.get("Resource", []))
            for action in as_list(statement["Action"])
        }
    )
    unexplained = [action for action in found if action not in ALLOWED_ON_EVERY_RESOURCE]
    assert not unexplained, f"Resource '*' without a reason in ALLOWED_ON_EVERY_RESOURCE: {unexplained}"
    assert found, "the workflow's tracing and log delivery need some: the check reads the policies"


def test_no_role_carries_an_aws_managed_policy(synthesized: Synthesized) -> None:
    # AWSLambdaBasicExecutionRole lets a function create and write any log group in the account.
    found = {
        name: role["Properties"]["ManagedPolicyArns"]
        for name, role in synthesized.resources("AWS::IAM::Role").items()
        if role["Properties"].get("ManagedPolicyArns")
    }
    assert not found


def test_each_function_writes_only_its_own_log_group(synthesized: Synthesized) -> None:
    for name, function in synthesized.resources("AWS::Lambda::Function").items():
        log_group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        grants = [
            s
            for policy in synthesized.resources("AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"])
            if "logs:PutLogEvents" in as_list(s["Action"])
        ]
        assert [s["Resource"] for s in grants] == [{"Fn::GetAtt": [log_group, "Arn"]}], name


def test_tables_queues_and_topics_are_encrypted_at_rest(synthesized: Synthesized) -> None:
    tables = synthesized.resources("AWS::DynamoDB::Table")
    assert tables and all(t["Properties"]["SSESpecification"]["SSEEnabled"] is True for t in tables.values())
    queues = synthesized.resources("AWS::SQS::Queue")
    unencrypted = [
        name
        for name, queue in queues.items()
        if not (queue["Properties"].get("SqsManagedSseEnabled") or queue["Properties"].get("KmsMasterKeyId"))
    ]
    assert queues and not unencrypted
    assert all(t["Properties"].get("KmsMasterKeyId") for t in synthesized.resources("AWS::SNS::Topic").values())


def test_the_log_group_with_order_data_uses_a_customer_managed_key(synthesized: Synthesized) -> None:
    machine = synthesized.one("AWS::StepFunctions::StateMachine")["Properties"]["LoggingConfiguration"]
    # The execution log records transitions only: inputs carry the review task's token and whole orders
    # (issue 11); the log stays under its own key all the same.
    assert machine["IncludeExecutionData"] is False
    (destination,) = machine["Destinations"]
    group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    key = synthesized.template["Resources"][group]["Properties"].get("KmsKeyId", {}).get("Fn::GetAtt", [None])[0]
    assert key in synthesized.resources("AWS::KMS::Key"), f"{group} is not under a customer managed key"
    assert synthesized.template["Resources"][key]["Properties"]["EnableKeyRotation"] is True
    # CloudWatch Logs may use the key for this account's log groups only.
    statements = as_list(synthesized.template["Resources"][key]["Properties"]["KeyPolicy"]["Statement"])
    (logs,) = [s for s in statements if "logs." in json.dumps(s.get("Principal", {}))]
    assert "kms:EncryptionContext:aws:logs:arn" in json.dumps(logs["Condition"])
    # Any log group without a customer key must be a function's (all are, today: test_checkov); listed so
    # that a new log group with execution data fails here.
    others = {n for n, g in synthesized.resources("AWS::Logs::LogGroup").items() if not g["Properties"].get("KmsKeyId")}
    function_groups = {
        f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
    }
    assert others <= function_groups


def test_service_principals_only_with_a_source_condition(synthesized: Synthesized) -> None:
    loose = {
        json.dumps(statement["Principal"]["Service"])
        for _, statement in resource_statements(synthesized)
        if statement.get("Effect") == "Allow"
        and "Service" in statement.get("Principal", {})
        and not any(
            k in json.dumps(statement.get("Condition", {}))
            for k in ("SourceArn", "SourceAccount", "aws:logs:arn", "aws:events:event-bus:arn")
        )
    }
    assert loose <= set(UNCONDITIONED_SERVICES), loose
    for name, permission in synthesized.resources("AWS::Lambda::Permission").items():
        assert permission["Properties"].get("SourceArn"), f"{name}: any rule in any account could invoke it"


def _bus_principals(synthesized: Synthesized) -> list[str]:
    found = []
    for policy in synthesized.resources("AWS::Events::EventBusPolicy").values():
        statement = policy["Properties"]["Statement"]
        if statement["Effect"] == "Allow":
            found += [json.dumps(p) for p in as_list(statement["Principal"]["AWS"])]
    return found


def test_the_bus_admits_no_unknown_account(synthesized: Synthesized, configured: Synthesized) -> None:
    this_account = '{"Ref": "AWS::AccountId"}'
    (only,) = _bus_principals(synthesized)
    assert this_account in only and "*" not in only
    admitted = _bus_principals(configured)
    assert len(admitted) == 2 and all(this_account in p or OTHER_ACCOUNT in p for p in admitted)
    for template in (synthesized, configured):
        policies = template.resources("AWS::Events::EventBusPolicy").values()
        assert not any(
            "Condition" not in p["Properties"]["Statement"] and p["Properties"]["Statement"].get("Principal") == "*"
            for p in policies
        )


# Least privilege by action (issue 11, finding 4). Two lists a reviewer can read against the code: the DynamoDB
# actions each function (and the state machine) may call on each table, and every other action its role may call
# (besides writing its own log group and X-Ray, checked above). Keys are logical id prefixes. A grant wider than
# a list (another action, another table, a function not listed) fails here until the list names it, with the
# code that calls it. A transaction needs the action of each part: PutItem for a Put, UpdateItem for an Update.
_GET, _BATCH_GET, _QUERY, _PUT, _UPDATE, _CHECK, _SCAN = (
    f"dynamodb:{a}" for a in ("GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "ConditionCheckItem", "Scan")
)
_CATALOG = {_BATCH_GET}  # adapters/inventory.get_catalog
_TIMELINE_WRITE = {_PUT, _UPDATE}  # lambdas/timeline/store.py: put, count_failure (every subscriber's entry point)
_TIMELINE_READ = {_QUERY}  # timeline_items
_SALE_CHECK = {_GET}  # lambdas/subscribers/trust.py: the entry point's "was the order sold?" on the ledger
_GATEWAY = {_GET, _PUT, _CHECK}  # payment_gateway's ledger: get, first (a Put, or a Put and a ConditionCheck)
TABLE_ACTIONS: dict[str, dict[str, set[str]]] = {
    # Workflow tasks
    "WorkflowValidateOrderFunction": {"TablesInventory": _CATALOG},
    # hold_stock: the shards (BatchGetItem), a transaction of Updates and the holds' Puts; order_holds (Query)
    "WorkflowReserveStockFunction": {"TablesInventory": {_BATCH_GET, _QUERY, _PUT, _UPDATE}},
    "WorkflowPriceOrderFunction": {"TablesInventory": _CATALOG},
    # payments: create, get, update
    "WorkflowCollectPaymentFunction": {"TablesPayments": {_GET, _PUT, _UPDATE}, "TablesGatewayLedger": _GATEWAY},
    "WorkflowWaitForPaymentReviewFunction": {"TablesPayments": {_GET, _UPDATE}},
    # lambdas/shared/adapters/ledger.py: get_item, put_item (a transaction is written once, never deleted)
    "WorkflowRecordAccountingFunction": {"TablesLedger": {_GET, _PUT}},
    "WorkflowRefundPaymentFunction": {
        "TablesPayments": {_GET, _UPDATE},
        "TablesLedger": {_GET, _PUT},
        "TablesGatewayLedger": _GATEWAY,
    },
    "WorkflowReleaseStockFunction": {"TablesInventory": {_QUERY, _UPDATE}},  # release_holds: Query, transactions
    "WorkflowStateMachineRole": {"TablesPayments": {_GET}},  # ConfirmReviewDecision (dynamodb:getItem)
    # People: lambdas/decide_payment_review/logic.py decide: payments.get, payments.update
    "WorkflowDecidePaymentReview": {"TablesPayments": {_GET, _UPDATE}},
    "ApiHandler": {"TablesInventory": _CATALOG, "ApiTimelineTable": _TIMELINE_READ},  # check_order; the timeline
    # decide (get, update), waiting reviews (get_many: BatchGetItem), failure_counters (Query), order detail
    "BackOfficeFunction": {
        "TablesPayments": {_GET, _BATCH_GET, _UPDATE},
        "SubscribersFailureStatsTable": {_QUERY},
        "ApiTimelineTable": _TIMELINE_READ,
    },
    # Subscribers: their own table, the timeline; the ledger's GetItem for those that hear OrderCompleted
    "SubscribersAnalyticsFunction": {  # store.record_order: add_once
        "SubscribersAnalyticsTable": {_PUT, _UPDATE},
        "TablesLedger": _SALE_CHECK,
        "ApiTimelineTable": _TIMELINE_WRITE,
    },
    "SubscribersAuditFunction": {  # store: get_item, a transaction of conditional Puts (append only)
        "SubscribersAuditTable": {_GET, _PUT},
        "TablesLedger": _SALE_CHECK,
        "ApiTimelineTable": _TIMELINE_WRITE,
    },
    "SubscribersFailureStatsFunction": {
        "SubscribersFailureStatsTable": {_PUT, _UPDATE},
        "ApiTimelineTable": _TIMELINE_WRITE,
    },
    "SubscribersInventoryFunction": {
        # record_sales (add_once), is_done, mark_done, daily_units (Query), claim_suggestion, mark_suggestion_published
        "SubscribersInventoryTable": {_GET, _PUT, _UPDATE, _QUERY},
        # sell_held_stock (Query, transactions of Updates), stock_levels (Query, BatchGetItem), get_catalog
        "TablesInventory": {_BATCH_GET, _QUERY, _UPDATE},
        "TablesLedger": _SALE_CHECK,
        "ApiTimelineTable": _TIMELINE_WRITE,
    },
    "SubscribersLogisticsFunction": {
        "SubscribersLogisticsTable": {_GET, _PUT, _UPDATE},  # store.get, store._set; the simulated carriers' book
        "TablesInventory": _CATALOG,
        "TablesLedger": _SALE_CHECK,
        "ApiTimelineTable": _TIMELINE_WRITE,
    },
    "SubscribersMarketplaceIntakeFunction": {"ApiTimelineTable": _TIMELINE_WRITE},
    "SubscribersNotificationsFunction": {
        "SubscribersNotificationsTable": {_GET, _PUT, _UPDATE},  # store: claim, release, mark_sent, mark_not_sent
        "TablesLedger": _SALE_CHECK,
        "ApiTimelineTable": _TIMELINE_WRITE,
    },
    # Operations
    "ObservabilityReviewMonitor": {"TablesPayments": {_BATCH_GET}},  # waiting reviews' payments: get_many
    "SweeperFunction": {
        "SweeperRepairs": {_GET, _BATCH_GET, _PUT, _UPDATE},
        "TablesPayments": {_GET, _QUERY, _SCAN},
        "TablesInventory": {_GET, _QUERY, _SCAN},
        "TablesLedger": {_GET},
        "SubscribersNotificationsTable": {_SCAN},  # notifications.store.expired_claims
    },
}


def _table_of(resource: Any, tables: set[str]) -> str | None:
    text = json.dumps(resource)
    found = [t for t in tables if f'"{t}"' in text]
    return found[0] if found else None


def _statements_by_grantee(synthesized: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    """(function logical id, or the state machine's role's) and each statement of its role's policies."""
    grantee_of = {
        f["Properties"]["Role"]["Fn::GetAtt"][0]: name
        for name, f in synthesized.resources("AWS::Lambda::Function").items()
    }
    grantee_of |= {
        role: role for role in synthesized.resources("AWS::IAM::Role") if role.startswith("WorkflowStateMachineRole")
    }
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        for role in (r.get("Ref") for r in policy["Properties"]["Roles"]):
            if role in grantee_of:
                for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
                    yield grantee_of[role], statement


def table_actions(synthesized: Synthesized) -> dict[str, dict[str, set[str]]]:
    """Grantee -> table logical id -> the DynamoDB actions its policies allow on that table (or its indexes)."""
    tables = set(synthesized.resources("AWS::DynamoDB::Table"))
    found: dict[str, dict[str, set[str]]] = {}
    for grantee, statement in _statements_by_grantee(synthesized):
        actions = {a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")}
        for resource in as_list(statement.get("Resource", [])):
            table = _table_of(resource, tables)
            assert not actions or table, (grantee, statement)  # a DynamoDB action on no table of ours
            if table and actions:
                found.setdefault(grantee, {}).setdefault(table, set()).update(actions)
    return found


def _listed(name: str, prefixes: Iterable[str]) -> str:
    """The prefix of ``prefixes`` that ``name`` (a logical id) starts with, or "" (none; more than one fails)."""
    (prefix,) = [p for p in prefixes if name.startswith(p)] or [""]
    return prefix


def test_each_function_may_call_only_the_table_actions_its_code_calls(synthesized: Synthesized) -> None:
    granted = table_actions(synthesized)
    unlisted = sorted(g for g in granted if not _listed(g, TABLE_ACTIONS))
    assert not unlisted, f"DynamoDB grants with no line in TABLE_ACTIONS: {unlisted}"
    for prefix, expected in TABLE_ACTIONS.items():
        (grantee,) = [g for g in granted if g.startswith(prefix)] or [f"no grantee {prefix}*"]
        actual = {_listed(t, expected) or t: a for t, a in granted.get(grantee, {}).items()}
        assert actual == expected, (
            prefix,
            {t: sorted(actual.get(t, set()) ^ expected.get(t, set())) for t in {*actual, *expected}},
        )


def test_no_function_may_delete_batch_write_or_scan_but_the_sweeper(synthesized: Synthesized) -> None:
    # What CDK's grant_read_write_data and grant_read_data add and no handler calls.
    wide = {
        (grantee, table)
        for grantee, tables in table_actions(synthesized).items()
        for table, actions in tables.items()
        if {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable", "dynamodb:GetRecords"} & actions
        or (_SCAN in actions and not grantee.startswith("SweeperFunction"))
    }
    assert not wide


def test_reviewers_are_named_principals_whose_session_is_their_user_name(synthesized: Synthesized) -> None:
    (decide,) = [
        f
        for n, f in synthesized.resources("AWS::Lambda::Function").items()
        if n.startswith("WorkflowDecidePaymentReview")
    ]
    principals = json.dumps(decide["Properties"]["Environment"]["Variables"]["REVIEWER_PRINCIPALS"])
    (role_name,) = [n for n in synthesized.resources("AWS::IAM::Role") if n.startswith("WorkflowPaymentReviewerRole")]
    assert role_name in principals
    trust = synthesized.template["Resources"][role_name]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert all(s["Condition"] == {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}} for s in as_list(trust))


# Every action besides DynamoDB's (TABLE_ACTIONS) each function's role may call.
# Lambda's on-failure queue, under the subscribers' queue key (CDK's grant to send to a KMS-encrypted queue)
_DEAD_LETTER = {
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:SendMessage",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
}
# The notifications buffer: Lambda's event source mapping reads, deletes and returns its messages
_BUFFER = {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"}
_READ_EXECUTIONS = {"states:DescribeExecution", "states:GetExecutionHistory"}
_ANSWER_TASKS = {"states:SendTaskFailure", "states:SendTaskSuccess"}  # a decision: no heartbeat
OTHER_ACTIONS: dict[str, set[str]] = {
    "WorkflowWaitForPaymentReviewFunction": {"events:PutEvents"},
    "WorkflowDecidePaymentReview": _READ_EXECUTIONS | _ANSWER_TASKS,
    "ApiHandler": {"states:StartExecution"} | _READ_EXECUTIONS,
    "BackOfficeFunction": _READ_EXECUTIONS | _ANSWER_TASKS | {"states:ListExecutions"},
    "SubscribersAnalyticsFunction": _DEAD_LETTER,
    # its checkpoints to the object-locked bucket (infra/audit.py)
    "SubscribersAuditFunction": {"s3:PutObject"} | _DEAD_LETTER,
    "SubscribersFailureStatsFunction": _DEAD_LETTER,
    "SubscribersInventoryFunction": _DEAD_LETTER | {"events:PutEvents"},
    "SubscribersLogisticsFunction": _DEAD_LETTER | {"events:PutEvents"},
    "SubscribersMarketplaceIntakeFunction": {"states:StartExecution"} | _DEAD_LETTER | _READ_EXECUTIONS,
    "SubscribersNotificationsFunction": _DEAD_LETTER | _BUFFER | {"ses:SendEmail", "ses:GetSendQuota"},
    "SweeperFunction": {"events:PutEvents", "lambda:InvokeFunction", "states:ListExecutions"}
    | {"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}  # CancelShipment
    | _READ_EXECUTIONS,
    "ObservabilityReviewMonitor": {"states:ListExecutions"},
    "MarketplacesEbuy": {"events:PutEvents"},
    "MarketplacesCityStore": {"events:PutEvents"},
}


def function_actions(synthesized: Synthesized) -> dict[str, set[str]]:
    """Function logical id -> every action its role's policies allow, but its log group's and X-Ray's."""
    found: dict[str, set[str]] = {name: set() for name in synthesized.resources("AWS::Lambda::Function")}
    for grantee, statement in _statements_by_grantee(synthesized):
        if grantee in found:
            found[grantee] |= {a for a in as_list(statement["Action"]) if not a.startswith(("logs:", "xray:"))}
    return found


def test_each_function_may_call_only_the_listed_actions(synthesized: Synthesized) -> None:
    granted = function_actions(synthesized)
    # Every function of ours is listed (the page deployment's CDK function is infra/web.py's, checked there).
    ours = {f for f in granted if not f.startswith("CustomCDKBucketDeployment")}
    listed = {*OTHER_ACTIONS, *(p for p in TABLE_ACTIONS if not p.startswith("WorkflowStateMachineRole"))}
    assert {f for f in ours if not _listed(f, listed)} == set()
    for function in sorted(ours):
        tables = TABLE_ACTIONS.get(_listed(function, TABLE_ACTIONS), {})
        expected = OTHER_ACTIONS.get(_listed(function, OTHER_ACTIONS), set()).union(*tables.values())
        assert granted[function] == expected, (
            function,
            sorted(granted[function] - expected),
            sorted(expected - granted[function]),
        )
