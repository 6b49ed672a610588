"""The marketplace connectors: one function per entry of lambdas/marketplaces/registry.py.

A connector translates a marketplace's (or a store's) order and puts ``MarketplaceOrderReceived`` on the order
bus under its own source, ``com.example.marketplace.<name>``: its role may publish that event under that source
only, and the bus denies that source to every other role (infra/bus.py).
A connector running in another account publishes through the bus policy instead (context
``marketplaceAccounts``: {name: account}, infra/bus.py), for its own source only. The intake subscriber
(infra/subscribers.py) reacts; the workflow does not know connectors exist.
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.bus import grant_publish
from infra.functions import FunctionFactory
from infra.subscribers import construct_id
from lambdas.marketplaces import registry
from lambdas.shared import constants


class MarketplaceConnectors(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        functions: FunctionFactory,
        bus: events.IEventBus,
        connectors: tuple[registry.Connector, ...] = registry.REGISTRY,
    ) -> None:
        super().__init__(scope, construct_id_)
        registry.validate(connectors)
        self.functions: dict[str, lambda_.Function] = {}
        for connector in connectors:
            function = functions.create(
                self,
                construct_id(connector.name),
                connector.handler,
                f"Marketplace connector: {connector.description}",
                environment={constants.ENV_EVENT_BUS: bus.event_bus_name},
            )
            grant_publish(bus, function, connector.source, constants.EVENT_MARKETPLACE_ORDER_RECEIVED)
            self.functions[connector.name] = function
