"""The order event bus: the workflow publishes on it; subscribers (see `subscribers.py`) listen."""

from __future__ import annotations

from aws_cdk import aws_events as events
from constructs import Construct

from infra.config import StackConfig


class OrderEventBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus")
