"""The bus in the template: archive, resource policy, schema registry, exports, and per subscriber
one rule whose target has a dead-letter queue and a retry policy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from infra import config, names
from infra.subscribers import REGISTRY, construct_id
from lambdas.marketplaces import registry as marketplaces
from lambdas.shared import constants, schemas
from tests.contract import samples
from tests.infra.bus_support import (
    actions,
    function_of,
    role_statements,
    rule_ids_by_subscriber,
    rules_by_subscriber,
)
from tests.synth import Synthesized, synthesize

OTHER_ACCOUNT = "111122223333"
SENDER = "shop@mail.example"


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {
        "eventArchiveRetentionDays": 30,
        "eventBusAllowedAccounts": [OTHER_ACCOUNT],
        "notificationSenderEmail": SENDER,
    }
    return synthesize(tmp_path_factory.mktemp("configured"), context)


def bus_id(synthesized: Synthesized) -> str:
    (name,) = synthesized.resources("AWS::Events::EventBus")
    return name


def test_the_archive_keeps_our_and_the_marketplaces_events_for_the_configured_days(
    synthesized: Synthesized, configured: Synthesized
) -> None:
    archive = synthesized.one("AWS::Events::Archive")["Properties"]
    assert archive["SourceArn"] == {"Fn::GetAtt": [bus_id(synthesized), "Arn"]}
    pattern = EventPattern.load(json.dumps(archive["EventPattern"]))
    # Every event we publish, MarketplaceOrderReceived included (a replay re-runs an intake); nobody else's.
    for detail_type, event in samples.every_event().items():
        assert pattern.matches_event(event), detail_type
    assert not pattern.matches_event({**samples.every_event()[constants.EVENT_ORDER_COMPLETED], "source": "x.y"})
    assert archive["RetentionDays"] == config.DEFAULT_ARCHIVE_RETENTION_DAYS
    assert configured.one("AWS::Events::Archive")["Properties"]["RetentionDays"] == 30


def test_the_archive_is_under_its_own_rotated_key_for_this_bus(synthesized: Synthesized) -> None:
    archive = synthesized.one("AWS::Events::Archive")["Properties"]
    key_id = archive["KmsKeyIdentifier"]["Fn::GetAtt"][0]
    key = synthesized.template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    by_events = [s for s in statements if s["Principal"] == {"Service": "events.amazonaws.com"}]
    crypto = next(s for s in by_events if "kms:GenerateDataKey" in s["Action"])
    assert crypto["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:events:event-bus:arn": {"Fn::GetAtt": [bus_id(synthesized), "Arn"]}}
    }
    assert all(s.get("Condition") for s in by_events)
    # The archive's key encrypts nothing else.
    users = [k for k, r in synthesized.template["Resources"].items() if key_id in json.dumps(r) and k != key_id]
    assert users == [next(iter(synthesized.resources("AWS::Events::Archive")))]


def _principals(statement: dict[str, Any]) -> list[str]:
    aws = statement["Principal"]["AWS"]
    return [json.dumps(p) for p in (aws if isinstance(aws, list) else [aws])]


def _statements(synthesized: Synthesized, effect: str) -> list[dict[str, Any]]:
    found = [p["Properties"]["Statement"] for p in synthesized.resources("AWS::Events::EventBusPolicy").values()]
    return [s for s in found if s["Effect"] == effect]


def test_by_default_only_this_account_may_publish(synthesized: Synthesized) -> None:
    (statement,) = _statements(synthesized, "Allow")
    assert statement["Action"] == "events:PutEvents" and "Condition" not in statement
    (principal,) = _principals(statement)
    assert '{"Ref": "AWS::AccountId"}' in principal


def test_our_sources_are_denied_to_everybody_but_their_publishers(configured: Synthesized) -> None:
    denies = {tuple(s["Condition"]["StringEquals"]["events:source"]): s for s in _statements(configured, "Deny")}
    assert set(denies) == {tuple(names.OUR_EVENT_SOURCES), *((c.source,) for c in marketplaces.REGISTRY)}
    for deny in denies.values():
        assert deny["Principal"] == {"AWS": "*"} and deny["Action"] == "events:PutEvents"
        assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]  # the publishers' roles (test_bus_publishers)
    # The configured accounts: MarketplaceOrderReceived under a marketplace source, nothing else.
    (partners,) = [s for s in _statements(configured, "Allow") if OTHER_ACCOUNT in json.dumps(s["Principal"])]
    assert partners["Condition"] == {
        "StringLike": {"events:source": constants.MARKETPLACE_SOURCE_PREFIX + "*"},
        "StringEquals": {"events:detail-type": constants.EVENT_MARKETPLACE_ORDER_RECEIVED},
    }


def test_other_stacks_find_the_bus_through_outputs_and_ssm(synthesized: Synthesized) -> None:
    bus = bus_id(synthesized)
    (archive,) = synthesized.resources("AWS::Events::Archive")
    (registry,) = synthesized.resources("AWS::EventSchemas::Registry")
    expected = {
        names.SSM_EVENT_BUS_NAME: {"Ref": bus},
        names.SSM_EVENT_BUS_ARN: {"Fn::GetAtt": [bus, "Arn"]},
        names.SSM_EVENT_ARCHIVE_ARN: {"Fn::GetAtt": [archive, "Arn"]},
        names.SSM_SCHEMA_REGISTRY_NAME: {"Fn::GetAtt": [registry, "RegistryName"]},
    }
    ssm = synthesized.resources("AWS::SSM::Parameter").values()
    parameters = {p["Properties"]["Name"]: p["Properties"]["Value"] for p in ssm}
    expected = {names.ssm_parameter("dev", key): value for key, value in expected.items()}
    assert parameters == expected
    assert "/orders/dev/event-bus/arn" in parameters  # what the README's import example reads
    outputs = synthesized.template["Outputs"]
    assert outputs["EventBusName"]["Value"] == {"Ref": bus}
    assert outputs["EventBusArn"]["Value"] == {"Fn::GetAtt": [bus, "Arn"]}
    assert outputs["EventArchiveArn"]["Value"] == {"Fn::GetAtt": [archive, "Arn"]}
    assert outputs["SchemaRegistryName"]["Value"] == {"Fn::GetAtt": [registry, "RegistryName"]}


def test_the_schema_registry_holds_each_event_schema_from_the_one_source(synthesized: Synthesized) -> None:
    (registry,) = synthesized.resources("AWS::EventSchemas::Registry")
    found = synthesized.resources("AWS::EventSchemas::Schema").values()
    published = {s["Properties"]["SchemaName"]: s["Properties"] for s in found}
    assert set(published) == {schemas.schema_name(name) for name in schemas.event_names()}
    for name in schemas.event_names():
        schema = published[schemas.schema_name(name)]
        assert schema["Type"] == "JSONSchemaDraft4"
        assert schema["RegistryName"] == {"Fn::GetAtt": [registry, "RegistryName"]}
        assert json.loads(schema["Content"]) == schemas.registry_schema(name)


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.name)
def test_each_subscriber_has_its_rule_with_retry_policy_and_dead_letter_queue(
    synthesized: Synthesized, spec: Any
) -> None:
    rule = rules_by_subscriber(synthesized)[spec.name]
    assert rule["EventBusName"] == {"Ref": bus_id(synthesized)}
    assert rule["EventPattern"] == spec.event_pattern
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": spec.max_event_age_seconds,
        "MaximumRetryAttempts": spec.retry_attempts,
    }
    dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    queue = synthesized.template["Resources"][dlq]
    assert queue["Type"] == "AWS::SQS::Queue"
    # Whole events (customer e-mails, reviewers' notes): under the subscribers' customer managed key.
    key = queue["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert synthesized.template["Resources"][key]["Type"] == "AWS::KMS::Key"
    assert synthesized.template["Resources"][key]["Properties"]["EnableKeyRotation"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == config.DEAD_LETTER_RETENTION_DAYS * 86_400
    if spec.buffer is not None:
        # The rule targets the subscriber's buffer queue, whose redrive ends in the same dead-letter queue.
        buffer = synthesized.template["Resources"][target["Arn"]["Fn::GetAtt"][0]]
        assert buffer["Properties"]["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
            "maxReceiveCount": spec.buffer.max_receive_count,
        }
        assert buffer["Properties"]["KmsMasterKeyId"] == queue["Properties"]["KmsMasterKeyId"]

    # A run that raises is retried by Lambda and then lands in the same queue.
    function_id, _ = function_of(synthesized, spec)
    (invoke_config,) = [
        c["Properties"]
        for c in synthesized.resources("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [dlq, "Arn"]}
    assert invoke_config["MaximumRetryAttempts"] == constants.SUBSCRIBER_ASYNC_RETRY_ATTEMPTS


def test_dead_letter_queues_refuse_plain_http_and_admit_only_their_own_rule(synthesized: Synthesized) -> None:
    for rule_id, rule in rule_ids_by_subscriber(synthesized).values():
        dlq = rule["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        (policy,) = [
            p["Properties"]["PolicyDocument"]["Statement"]
            for p in synthesized.resources("AWS::SQS::QueuePolicy").values()
            if p["Properties"]["Queues"] == [{"Ref": dlq}]
        ]
        plain_http = {"Bool": {"aws:SecureTransport": "false"}}
        assert any(s["Effect"] == "Deny" and s["Condition"] == plain_http for s in policy)
        (from_events,) = [s for s in policy if s.get("Principal") == {"Service": "events.amazonaws.com"}]
        assert from_events["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_the_audit_trail_cannot_be_deleted_by_its_writer(synthesized: Synthesized) -> None:
    spec = next(s for s in REGISTRY if s.name == "audit")
    _, function = function_of(synthesized, spec)
    on_trail = [s for s in role_statements(synthesized, function) if "SubscribersAuditTable" in json.dumps(s)]
    # Append only: conditional Puts (infra/audit.py: what IAM cannot enforce, the checkpoints catch).
    assert set().union(*(actions(s) for s in on_trail)) == {"dynamodb:GetItem", "dynamodb:PutItem"}
    (table,) = [t for n, t in synthesized.resources("AWS::DynamoDB::Table").items() if n.startswith("SubscribersAudit")]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def test_subscriber_tables_expire_their_markers(synthesized: Synthesized) -> None:
    owning = [construct_id(s.name) for s in REGISTRY if s.own_table]
    for name, table in synthesized.resources("AWS::DynamoDB::Table").items():
        if any(name.startswith(f"Subscribers{o}") for o in owning):
            assert table["Properties"]["TimeToLiveSpecification"] == {
                "AttributeName": constants.MARKER_TTL_ATTRIBUTE,
                "Enabled": True,
            }


def test_notifications_send_as_the_configured_sender_to_any_recipient(configured: Synthesized) -> None:
    spec = next(s for s in REGISTRY if s.name == "notifications")
    _, function = function_of(configured, spec)
    assert function["Properties"]["Environment"]["Variables"][constants.ENV_NOTIFICATION_SENDER] == SENDER
    (ses,) = [s for s in role_statements(configured, function) if actions(s) & {"ses:SendEmail"}]
    assert actions(ses) == {"ses:SendEmail"}
    assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": SENDER}}
    # Every identity of this account and region: SES in sandbox mode authorizes the recipient's too.
    resource = ses["Resource"]
    assert resource["Fn::Join"][1] == [
        "arn:",
        {"Ref": "AWS::Partition"},
        ":ses:",
        {"Ref": "AWS::Region"},
        ":",
        {"Ref": "AWS::AccountId"},
        ":identity/*",
    ]
    # The stack verifies the sender (an address by default, as here).
    assert configured.one("AWS::SES::EmailIdentity")["Properties"]["EmailIdentity"] == SENDER
    assert configured.template["Outputs"][names.OUTPUT_SENDER_IDENTITY]["Value"] == {
        "Ref": next(iter(configured.resources("AWS::SES::EmailIdentity")))
    }


def test_only_the_subscribers_that_publish_may(synthesized: Synthesized) -> None:
    for spec in REGISTRY:
        _, function = function_of(synthesized, spec)
        publishes = any("events:PutEvents" in actions(s) for s in role_statements(synthesized, function))
        assert publishes == spec.publishes, spec.name
        assert (constants.ENV_EVENT_BUS in function["Properties"]["Environment"]["Variables"]) == spec.publishes


def test_marker_ttl_outlives_the_replay_window(configured: Synthesized) -> None:
    for spec in REGISTRY:
        _, function = function_of(configured, spec)
        ttl = int(function["Properties"]["Environment"]["Variables"][constants.ENV_MARKER_TTL_DAYS])
        assert ttl == 30 + config.MARKER_TTL_MARGIN_DAYS


def test_a_kept_send_claim_outlives_every_retry_of_the_notifications_buffer(synthesized: Synthesized) -> None:
    """A send that may have reached SES keeps its claim: the buffer's retries must all meet it (and fail into the
    dead-letter queue), never an expired one that sends the e-mail again."""
    (spec,) = [s for s in REGISTRY if s.name == "notifications"]
    rule = rules_by_subscriber(synthesized)[spec.name]
    (target,) = rule["Targets"]
    buffer = synthesized.template["Resources"][target["Arn"]["Fn::GetAtt"][0]]["Properties"]
    retries_window = buffer["VisibilityTimeout"] * buffer["RedrivePolicy"]["maxReceiveCount"]
    assert retries_window < constants.NOTIFICATION_LEASE_SECONDS
