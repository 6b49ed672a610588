"""MarketplaceOrderReceived -> the order workflow (StartExecution named after the order id), once.

A redelivery or replay finds the execution (running or ended) with the same input and changes nothing; an
invalid event or another order under a taken id raises, so it ends in the dead-letter queue (alarmed).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lambdas.shared import constants
from lambdas.shared.adapters.aws_clients import client
from lambdas.shared.adapters.executions import existing_input, start_once
from lambdas.shared.observability import logger
from lambdas.shared.settings import cold_start, text
from lambdas.subscribers import count_delivery, subscriber
from lambdas.subscribers.marketplace_intake import logic


class Settings(NamedTuple):
    state_machine_arn: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(text(constants.ENV_STATE_MACHINE_ARN))


settings = cold_start(Settings.from_env, __name__)


@subscriber("marketplace_intake")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    intake = logic.parse(event)
    machine = settings().state_machine_arn
    sfn = client("stepfunctions")
    started = start_once(sfn, machine, intake.order_id, intake.execution_input)
    if started is None and not logic.same_input(existing_input(sfn, machine, intake.order_id), intake.execution_input):
        raise logic.ChangedOrder(
            f"order {intake.order_id} was taken already with other content: nothing was changed "
            f"(ask {intake.connector.channel} why it changed; a new order needs a new order id)"
        )
    count_delivery("marketplace_intake", started is not None)
    logger.info("order started" if started else "already taken (redelivery)", extra={"orderId": intake.order_id})
    return {"orderId": intake.order_id, "channel": intake.connector.channel, "started": started is not None}
