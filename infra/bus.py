"""The order event bus: the workflow publishes on it; subscribers (see `subscribers.py`) listen.

- an archive of every event from our sources (retention from config), for replays;
- a resource policy: this account and the configured accounts may publish, and the other
  accounts may not publish under our sources (nobody else can fake an OrderCompleted);
- the Schema Registry with one schema per event, from `lambdas/shared/schemas.py`, where the region has
  EventBridge Schemas (infra/regions.py: left out elsewhere, with its SSM parameter and output);
- SSM parameters ``/orders/<stage>/event-bus/...`` (and stack outputs) through which other stacks import the bus.
"""

from __future__ import annotations

import json

from aws_cdk import CfnCondition, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
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


class OrderEventBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus")
        self.archive = self.bus.archive(
            "Archive",
            description="Every event from the order sources, for replays to new or repaired subscribers",
            event_pattern=events.EventPattern(source=list(names.OUR_EVENT_SOURCES)),
            retention=Duration.days(config.archive_retention_days),
        )
        self._stage = config.stage
        self._add_policy(config.allowed_accounts)
        self._add_marketplace_policy(config.marketplace_accounts)
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

    def _add_policy(self, allowed_accounts: list[str]) -> None:
        principals: list[iam.IPrincipal] = [iam.AccountRootPrincipal()]
        principals += [iam.AccountPrincipal(account) for account in allowed_accounts]
        self._add_statement(
            iam.PolicyStatement(
                sid="PublishFromThisAndAllowedAccounts",
                actions=["events:PutEvents"],
                principals=principals,
                resources=[self.bus.event_bus_arn],
            )
        )
        if allowed_accounts:
            # Their events would otherwise trigger our subscribers as if the workflow had sent them.
            self._add_statement(
                iam.PolicyStatement(
                    sid="OnlyThisAccountPublishesOrderSources",
                    effect=iam.Effect.DENY,
                    actions=["events:PutEvents"],
                    principals=[iam.AccountPrincipal(account) for account in allowed_accounts],
                    resources=[self.bus.event_bus_arn],
                    conditions={"StringEquals": {"events:source": list(names.OUR_EVENT_SOURCES)}},
                )
            )

    def _add_marketplace_policy(self, marketplace_accounts: dict[str, str]) -> None:
        """A marketplace connector in another account publishes its own orders: MarketplaceOrderReceived under
        its own source only (never the shop's events, nor another marketplace's)."""
        for name, account in sorted(marketplace_accounts.items()):
            connector = marketplaces.by_name(name)
            if connector is None:
                raise ValueError(f"marketplace {name!r} is not in lambdas/marketplaces/registry.py")
            self._add_statement(
                iam.PolicyStatement(
                    sid="Marketplace" + "".join(part.capitalize() for part in name.split("_")) + "PublishesItsOrders",
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

    def _add_statement(self, statement: iam.PolicyStatement) -> None:
        """One statement of the bus's resource policy, at the construct path `EventBus.add_to_resource_policy`
        uses (so the same logical id), through `StatementPolicy`. Its StatementId (and Sid) carries the stage:
        CloudFormation treats it as a physical id of the whole account (aws-cdk #29627)."""
        statement_id = names.bus_statement_id(self._stage, str(statement.sid))
        StatementPolicy(
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
