"""The one stack: data, warehouses, bus, workflow (and the concerns later issues add)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.bus import OrderEventBus
from infra.config import StackConfig
from infra.data import OrderTables
from infra.functions import FunctionFactory
from infra.subscribers import Subscribers
from infra.warehouses import WarehouseQueues
from infra.workflow import OrderWorkflow

# Stack output names: orderctl, the sandbox and the README find resources through these.
OUTPUT_STATE_MACHINE_ARN = "StateMachineArn"
OUTPUT_EVENT_BUS_NAME = "EventBusName"
OUTPUT_EVENT_BUS_ARN = "EventBusArn"
OUTPUT_INVENTORY_TABLE = "InventoryTableName"
OUTPUT_PAYMENTS_TABLE = "PaymentsTableName"
OUTPUT_LEDGER_TABLE = "LedgerTableName"
OUTPUT_REVIEW_FUNCTION = "ReviewDecisionFunctionName"
OUTPUT_EVENT_ARCHIVE_ARN = "EventArchiveArn"
OUTPUT_SCHEMA_REGISTRY = "SchemaRegistryName"


class OrderProcessingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = StackConfig.from_node(self.node)
        functions = FunctionFactory(self, self.config)
        self.tables = OrderTables(self, "Tables")
        self.warehouses = WarehouseQueues(self, "Warehouses", self.config)
        self.event_bus = OrderEventBus(self, "Events", self.config)
        self.workflow = OrderWorkflow(
            self, "Workflow", self.config, functions, self.tables, self.warehouses, self.event_bus.bus
        )
        # Choreography: the workflow above does not know these exist.
        self.subscribers = Subscribers(self, "Subscribers", self.config, functions, self.event_bus.bus, self.tables)

        outputs = {
            OUTPUT_STATE_MACHINE_ARN: self.workflow.state_machine.state_machine_arn,
            OUTPUT_EVENT_BUS_NAME: self.event_bus.bus.event_bus_name,
            OUTPUT_EVENT_BUS_ARN: self.event_bus.bus.event_bus_arn,
            OUTPUT_INVENTORY_TABLE: self.tables.inventory.table_name,
            OUTPUT_PAYMENTS_TABLE: self.tables.payments.table_name,
            OUTPUT_LEDGER_TABLE: self.tables.ledger.table_name,
            OUTPUT_REVIEW_FUNCTION: self.workflow.review_decision_function.function_name,
            OUTPUT_EVENT_ARCHIVE_ARN: self.event_bus.archive.archive_arn,
            OUTPUT_SCHEMA_REGISTRY: self.event_bus.registry_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
