"""The order event bus: the workflow publishes on it; subscribers (see `subscribers.py`) listen.

- an archive of every event from our sources and the marketplaces' (retention from config), for replays,
  under its own customer managed key (events carry customer e-mails and addresses);
- who may publish what (docs/SECURITY.md): a publisher of this stack gets ``events:PutEvents`` for its own
  source only (`grant_publish`), and the bus policy denies our sources to every other principal, of this
  account too (an explicit Deny is the only thing that stops a same-account role whose identity policy allows
  PutEvents): only the shop speaks for the shop. The accounts in ``eventBusAllowedAccounts`` may publish
  ``MarketplaceOrderReceived`` under a marketplace source, and a connector's account (``marketplaceAccounts``)
  under its own source;
- the Schema Registry with one schema per event, from `lambdas/shared/schemas.py`, where the region has
  EventBridge Schemas (infra/regions.py: left out elsewhere, with its SSM parameter and output);
- SSM parameters ``/orders/<stage>/event-bus/...`` (and stack outputs) through which other stacks import the bus.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aws_cdk import Aws, CfnCondition, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import names, regions
from infra.config import StackConfig
from lambdas.marketplaces import registry as marketplaces
from lambdas.shared import constants, schemas


class StatementPolicy(events.CfnEventBusPolicy):
    """A bus policy in the statement form, which has no ``Principal`` property of its own.

    cdk-nag's AwsSolutions-EVB1 rule reads the deprecated `principal` property of every
    CfnEventBusPolicy, and that read alone makes jsii print "CfnEventBusPolicy#principal is deprecated"
    on every synth. Answering it here (there is none) keeps the synth free of warnings, and jsii still
    warns about any deprecated API our own code uses. EVB1 still checks the statement.
    """

    @property  # type: ignore[misc]  # a read-only answer to a read-write jsii property
    def principal(self) -> str | None:
        return None


class OrderBus(events.EventBus):
    """The order bus, which knows its publishers (each source and the roles `grant_publish` admitted for it)
    and keeps each Deny of its policy naming them: publishers are granted after the bus is built."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.publishers: dict[str, list[str]] = {}  # source -> role ARNs
        self._denies: list[tuple[StatementPolicy, dict[str, Any], list[str], list[str]]] = []

    def deny_others(self, policy: StatementPolicy, sources: list[str], accounts: list[str]) -> None:
        """Keep `policy` (a Deny of PutEvents) denying `sources` to everyone but their publishers' roles and
        `accounts` (a connector running in another account)."""
        self._denies.append((policy, dict(policy.statement), sources, accounts))
        self._render(self._denies[-1])

    def admit(self, source: str, role_arn: str) -> None:
        self.publishers.setdefault(source, []).append(role_arn)
        for deny in self._denies:
            if source in deny[2]:
                self._render(deny)

    def _render(self, deny: tuple[StatementPolicy, dict[str, Any], list[str], list[str]]) -> None:
        policy, statement, sources, accounts = deny
        roles = [arn for source in sources for arn in self.publishers.get(source, [])]
        condition: dict[str, Any] = {"StringEquals": {"events:source": sources}}
        if roles:  # none: nobody may (an empty list is not a valid condition value)
            condition["ArnNotEquals"] = {"aws:PrincipalArn": roles}
        if accounts:
            condition["StringNotEquals"] = {"aws:PrincipalAccount": accounts}
        policy.statement = {**statement, "Condition": condition}


def grant_publish(bus: events.IEventBus, grantee: iam.IGrantable, source: str, *detail_types: str) -> None:
    """``events:PutEvents`` on the order bus under `source` only (and these detail-types only, if given), and
    the bus admits `source` from this role.

    The identity policy's condition keeps a publisher to its own source; the bus policy's Deny (see
    `OrderEventBus`) keeps everybody else off it."""
    if not isinstance(bus, OrderBus):
        raise TypeError(f"grant_publish needs the stack's OrderBus, got {type(bus).__name__}")
    role_arn = getattr(grantee.grant_principal, "role_arn", None)  # iam.IRole is a Protocol: no isinstance
    if role_arn is None:
        raise TypeError(f"{grantee}: only a role can be admitted as a publisher (aws:PrincipalArn)")
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["events:PutEvents"],
        resource_arns=[bus.event_bus_arn],
        conditions={
            "StringEquals": {
                "events:source": [source],
                **({"events:detail-type": list(detail_types)} if detail_types else {}),
            }
        },
    )
    bus.admit(source, role_arn)


class OrderEventBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = OrderBus(self, "Bus")
        self.archive_key = _archive_key(self, self.bus)
        # EventBus.archive() drops its kms_key, and Archive's own key policy lets EventBridge DescribeKey
        # without a condition: the key is set on the resource and its policy written here.
        self.archive = events.Archive(
            self.bus,
            "Archive",
            source_event_bus=self.bus,
            description="Every event from the order sources and the marketplaces, for replays",
            event_pattern=events.EventPattern(source=archived_sources()),
            retention=Duration.days(config.archive_retention_days),
        )
        archive: events.CfnArchive = self.archive.node.default_child  # type: ignore[assignment]
        archive.kms_key_identifier = self.archive_key.key_arn
        self._stage = config.stage
        self._add_policy(config.allowed_accounts, config.marketplace_accounts)
        # None where the region has no EventBridge Schemas; with a condition when the region is unknown.
        self.registry: eventschemas.CfnRegistry | None = None
        self.registry_name: str | None = None
        self.registry_condition: CfnCondition | None = None
        has_registry, self.registry_condition = regions.available(
            self, "SchemaRegistryAvailable", regions.NO_SCHEMA_REGISTRY
        )
        if has_registry:
            self.registry = self._add_schemas(config.stage, self.registry_condition)
            self.registry_name = self.registry.attr_registry_name

        parameters = {
            "BusNameParameter": (names.SSM_EVENT_BUS_NAME, self.bus.event_bus_name, "name"),
            "BusArnParameter": (names.SSM_EVENT_BUS_ARN, self.bus.event_bus_arn, "ARN"),
            "ArchiveArnParameter": (names.SSM_EVENT_ARCHIVE_ARN, self.archive.archive_arn, "archive ARN"),
        }
        if self.registry_name is not None:
            parameters["RegistryNameParameter"] = (
                names.SSM_SCHEMA_REGISTRY_NAME,
                self.registry_name,
                "schema registry",
            )
        for construct_id_, (key, value, what) in parameters.items():
            parameter = ssm.StringParameter(
                self,
                construct_id_,
                parameter_name=names.ssm_parameter(config.stage, key),
                string_value=value,
                description=f"Order event bus {what} ({config.stage})",
            )
            if key == names.SSM_SCHEMA_REGISTRY_NAME and self.registry_condition is not None:
                parameter.node.default_child.cfn_options.condition = self.registry_condition  # type: ignore[union-attr]

    def _add_policy(self, allowed_accounts: list[str], marketplace_accounts: dict[str, str]) -> None:
        this_account = iam.AccountRootPrincipal()
        self._add_statement(
            iam.PolicyStatement(
                sid="PublishFromThisAccount",
                actions=["events:PutEvents"],
                principals=[this_account],
                resources=[self.bus.event_bus_arn],
            )
        )
        if allowed_accounts:
            # Partners report their orders: MarketplaceOrderReceived under a marketplace source, nothing else.
            self._add_statement(
                iam.PolicyStatement(
                    sid="PartnersPublishMarketplaceOrders",
                    actions=["events:PutEvents"],
                    principals=[iam.AccountPrincipal(account) for account in allowed_accounts],
                    resources=[self.bus.event_bus_arn],
                    conditions={
                        "StringLike": {"events:source": constants.MARKETPLACE_SOURCE_PREFIX + "*"},
                        "StringEquals": {"events:detail-type": constants.EVENT_MARKETPLACE_ORDER_RECEIVED},
                    },
                )
            )
        for name, account in sorted(marketplace_accounts.items()):
            connector = _connector(name)
            self._add_statement(
                iam.PolicyStatement(
                    sid="Marketplace" + _camel(name) + "PublishesItsOrders",
                    actions=["events:PutEvents"],
                    principals=[iam.AccountPrincipal(account)],
                    resources=[self.bus.event_bus_arn],
                    conditions={
                        "StringEquals": {
                            "events:source": connector.source,
                            "events:detail-type": constants.EVENT_MARKETPLACE_ORDER_RECEIVED,
                        }
                    },
                )
            )
        # Our sources from our publishers' roles only (Principal "*": this account's roles and users too).
        self._deny_others("OnlyTheShopPublishesOrderEvents", names.OUR_EVENT_SOURCES)
        for connector in marketplaces.REGISTRY:
            partner = [account for name, account in marketplace_accounts.items() if name == connector.name]
            self._deny_others(f"Only{_camel(connector.name)}PublishesItsSource", (connector.source,), partner)

    def _deny_others(self, sid: str, sources: Iterable[str], accounts: list[str] | None = None) -> None:
        """Deny PutEvents under `sources` to every principal but the roles `grant_publish` admitted for them
        (and `accounts`: a connector running in another account)."""
        statement = iam.PolicyStatement(
            sid=sid,
            effect=iam.Effect.DENY,
            actions=["events:PutEvents"],
            principals=[iam.AnyPrincipal()],
            resources=[self.bus.event_bus_arn],
        )
        self.bus.deny_others(self._add_statement(statement), list(sources), accounts or [])

    def _add_statement(self, statement: iam.PolicyStatement) -> StatementPolicy:
        """One statement of the bus's resource policy, at the construct path `EventBus.add_to_resource_policy`
        uses (so the same logical id), through `StatementPolicy`. Its StatementId (and Sid) carries the stage:
        CloudFormation treats it as a physical id of the whole account (aws-cdk #29627)."""
        statement_id = names.bus_statement_id(self._stage, str(statement.sid))
        return StatementPolicy(
            Construct(self.bus, f"cdk-{statement.sid}"),
            "Resource",
            event_bus_name=self.bus.event_bus_name,
            statement_id=statement_id,
            statement={**statement.to_statement_json(), "Sid": statement_id},
        )

    def _add_schemas(self, stage: str, condition: CfnCondition | None) -> eventschemas.CfnRegistry:
        registry = eventschemas.CfnRegistry(
            self,
            "SchemaRegistry",
            registry_name=names.name_prefix(stage) + names.SCHEMA_REGISTRY_SUFFIX,
            description="Events published on the order bus (JSON Schema Draft 4); download code bindings here",
        )
        registry.cfn_options.condition = condition
        for detail_type in schemas.event_names():
            schema = schemas.registry_schema(detail_type)
            cfn_schema = eventschemas.CfnSchema(
                self,
                f"{detail_type}Schema",
                registry_name=registry.attr_registry_name,
                schema_name=schemas.schema_name(detail_type),
                type="JSONSchemaDraft4",
                description=schema["description"],
                content=json.dumps(schema, sort_keys=True),
            )
            cfn_schema.cfn_options.condition = condition
        return registry


def archived_sources() -> list[Any]:
    """What the archive keeps: our sources and every marketplace's (a replay may re-run an intake)."""
    return [*names.OUR_EVENT_SOURCES, *events.Match.prefix(constants.MARKETPLACE_SOURCE_PREFIX)]


def _archive_key(scope: Construct, bus: events.IEventBus) -> kms.Key:
    """The archive's key: its events hold customer e-mails, addresses and reviewers' notes for the retention."""
    key = kms.Key(
        scope,
        "ArchiveKey",
        description="Encrypts the order bus's event archive (order events: customer e-mails and addresses)",
        enable_key_rotation=True,
    )
    # EventBridge encrypts what it archives, and decrypts it for a replay: for this bus only (the encryption
    # context EventBridge binds is the bus's ARN), and may describe the key for this account's resources.
    events_service = iam.ServicePrincipal("events.amazonaws.com")
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:GenerateDataKey", "kms:Decrypt", "kms:ReEncrypt*"],
            principals=[events_service],
            resources=["*"],  # in a key policy: this key
            conditions={"StringEquals": {"kms:EncryptionContext:aws:events:event-bus:arn": bus.event_bus_arn}},
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:DescribeKey"],
            principals=[events_service],
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
        )
    )
    return key


def _connector(name: str) -> marketplaces.Connector:
    connector = marketplaces.by_name(name)
    if connector is None:
        raise ValueError(f"marketplace {name!r} is not in lambdas/marketplaces/registry.py")
    return connector


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
