"""Observability: the alarm topic and alarms (infra/alarms.py), the review monitor
(infra/review_monitor.py) and the operations dashboard (infra/dashboard.py), put together in one
construct whose path every alarm, the topic and the dashboard keep (their names are fixed: a new
path would replace them under a name that is taken).
"""

from __future__ import annotations

from constructs import Construct

from infra import names
from infra.alarms import Alarms, add_delivery_alarms, add_order_alarms, count_failed_orders, watched_queues
from infra.config import StackConfig
from infra.dashboard import OperationsDashboard
from infra.data import OrderTables
from infra.functions import FunctionFactory
from infra.review_monitor import ReviewMonitor
from infra.subscribers import Subscribers
from infra.warehouses import WarehouseQueues
from infra.workflow import OrderWorkflow


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        config: StackConfig,
        functions: FunctionFactory,
        tables: OrderTables,
        workflow: OrderWorkflow,
        subscribers: Subscribers,
        warehouses: WarehouseQueues,
    ) -> None:
        super().__init__(scope, construct_id)
        namespace = names.metrics_namespace(config.stage)
        self.alarms = Alarms(self, config.on_call_email, names.name_prefix(config.stage), namespace)
        count_failed_orders(self, workflow, namespace)
        self.review_monitor = ReviewMonitor(self, config, functions, tables, workflow)
        add_order_alarms(self.alarms, workflow)
        self.review_monitor.add_alarm(self.alarms)
        watched = watched_queues(subscribers, warehouses)
        add_delivery_alarms(self.alarms, subscribers, watched)
        self.dashboard = OperationsDashboard(
            self, names.name_prefix(config.stage), self.alarms, workflow, subscribers, self.review_monitor, watched
        )
