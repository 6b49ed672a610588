"""The one stack: data, warehouses, bus, workflow (and the concerns later issues add)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import names, regions
from infra.api import OrderApi
from infra.backoffice import add_back_office_where_available
from infra.bus import OrderEventBus
from infra.checkov import add_checkov_skips
from infra.config import StackConfig
from infra.data import OrderTables
from infra.email import SenderIdentity
from infra.functions import FunctionFactory
from infra.marketplaces import MarketplaceConnectors
from infra.observability import Observability
from infra.subscribers import Subscribers
from infra.subscribers import construct_id as camel_name
from infra.sweeper import Sweeper
from infra.warehouses import WarehouseQueues
from infra.workflow import OrderWorkflow
from lambdas.shared import constants


class OrderProcessingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        add_checkov_skips(self)  # checkov's accepted findings, each on its resource with its reason
        self.config = config
        functions = FunctionFactory(self, self.config)
        self.tables = OrderTables(self, "Tables")
        self.warehouses = WarehouseQueues(self, "Warehouses", self.config)
        self.event_bus = OrderEventBus(self, "Events", self.config)
        self.workflow = OrderWorkflow(
            self, "Workflow", self.config, functions, self.tables, self.warehouses, self.event_bus.bus
        )
        # Choreography: the workflow above does not know these exist.
        self.sender = SenderIdentity(self, "Sender", self.config)
        self.subscribers = Subscribers(
            self,
            "Subscribers",
            self.config,
            functions,
            self.event_bus.bus,
            self.tables,
            workflow=self.workflow,
        )
        # Marketplaces and stores put their orders on the bus; the intake subscriber above starts them.
        self.marketplaces = MarketplaceConnectors(self, "Marketplaces", functions, self.event_bus.bus)
        self.observability = Observability(
            self, "Observability", self.config, functions, self.tables, self.workflow, self.subscribers, self.warehouses
        )
        self.sweeper = Sweeper(
            self,
            "Sweeper",
            functions,
            self.tables,
            self.workflow,
            self.subscribers,
            self.warehouses,
            self.event_bus.bus,
            self.observability,
        )
        self.api = OrderApi(self, "Api", self.config, functions, self.tables, self.workflow, self.subscribers)
        # People in the loop: reviewers and operators on a page behind Cognito, routes on the same REST API
        # (not in the regions without Cognito user pools or CloudFront: infra/regions.py NO_BACK_OFFICE).
        self.back_office = add_back_office_where_available(self, functions, self.api, self.subscribers)
        # Where orders and people come in: every function has its duration on the dashboard.
        entry_points = {f"{name} connector": f for name, f in self.marketplaces.functions.items()}
        entry_points["Order API"] = self.api.function
        if self.back_office is not None:
            entry_points["Back-office API"] = self.back_office.function
        self.observability.dashboard.add_durations("Entry points: Lambda duration (p99, ms)", entry_points)

        outputs = {
            # What orderctl and the sandbox look up (names in the kernel: they need no aws-cdk-lib).
            constants.OUTPUT_STATE_MACHINE_ARN: self.workflow.state_machine.state_machine_arn,
            constants.OUTPUT_EVENT_BUS_NAME: self.event_bus.bus.event_bus_name,
            constants.OUTPUT_EVENT_BUS_ARN: self.event_bus.bus.event_bus_arn,
            constants.OUTPUT_INVENTORY_TABLE: self.tables.inventory.table_name,
            constants.OUTPUT_PAYMENTS_TABLE: self.tables.payments.table_name,
            constants.OUTPUT_LEDGER_TABLE: self.tables.ledger.table_name,
            constants.OUTPUT_GATEWAY_LEDGER_TABLE: self.tables.gateway_ledger.table_name,
            constants.OUTPUT_REVIEW_FUNCTION: self.workflow.review_decision_function.function_name,
            constants.OUTPUT_EVENT_ARCHIVE_ARN: self.event_bus.archive.archive_arn,
            # For people (the console, the README).
            names.OUTPUT_STAGE: self.config.stage,
            names.OUTPUT_DASHBOARD_NAME: self.observability.dashboard.dashboard_name,
            names.OUTPUT_ALARM_TOPIC_ARN: self.observability.alarms.topic.topic_arn,
        }
        # orderctl redrive / replay reach a subscriber's function and rule through these.
        for name, sub in self.subscribers.subscribers.items():
            prefix = camel_name(name) + constants.OUTPUT_SUBSCRIBER_INFIX
            outputs[prefix + constants.OUTPUT_SUBSCRIBER_FUNCTION] = sub.function.function_name
            outputs[prefix + constants.OUTPUT_SUBSCRIBER_RULE_ARN] = sub.rule.rule_arn
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        if self.back_office is not None:
            condition = regions.condition_of(self.back_office.function)
            for name, value in {
                constants.OUTPUT_BACK_OFFICE_URL: self.back_office.page_url,
                constants.OUTPUT_USER_POOL_ID: self.back_office.users.user_pool.user_pool_id,
                constants.OUTPUT_USER_POOL_CLIENT_ID: self.back_office.users.client.user_pool_client_id,
            }.items():
                CfnOutput(self, name, value=value, condition=condition)
        # Not in every region (infra/regions.py): with the registry's condition when the region is unknown.
        if self.event_bus.registry_name is not None:
            CfnOutput(
                self,
                names.OUTPUT_SCHEMA_REGISTRY,
                value=self.event_bus.registry_name,
                condition=self.event_bus.registry_condition,
            )
