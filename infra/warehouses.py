"""One FIFO queue per warehouse: the workflow's NotifyWarehouse state sends the ship order there.

FIFO with content-independent deduplication by order id, so a retried send ships once.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StackConfig


class WarehouseQueues(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[str, sqs.Queue] = {}
        for warehouse in config.warehouses:
            warehouse_id = str(warehouse["id"])
            dlq = sqs.Queue(
                self,
                f"{warehouse_id}DeadLetters",
                fifo=True,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            self.queues[warehouse_id] = sqs.Queue(
                self,
                warehouse_id,
                fifo=True,
                content_based_deduplication=False,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5),
            )
        self._config = config

    def routing_json(self) -> str:
        """WAREHOUSES_JSON for ReserveStock: id, served countries and queue URL, in preference order."""
        routing = [
            {"id": str(w["id"]), "countries": list(w["countries"]), "queueUrl": self.queues[str(w["id"])].queue_url}
            for w in self._config.warehouses
        ]
        return Stack.of(self).to_json_string(routing)
