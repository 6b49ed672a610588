"""The workflow's task functions: a registry, one entry per ASL task function.

An entry is keyed by the ASL substitution that carries its function's ARN
(``${ValidateOrderFunctionArn}`` in `statemachines/order_workflow.asl.json`); the function's construct,
its grants and the ASL placeholder all come from that one entry (`infra/workflow.py` builds them).
The handler path is the kernel's (`constants.TASK_FUNCTIONS`): the sandbox, bench and tools find a
deployed task function by it without importing aws-cdk-lib.

Adding a task = a state in the ASL with ``"FunctionName": "${<State>FunctionArn}"``, its folder
``lambdas/<state>/`` and handler path in `constants.TASK_FUNCTIONS`, and one `TaskSpec` below; the
synth fails if the three disagree (`validate`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from infra.config import LAMBDA_TIMEOUT_SECONDS
from infra.grants import CATALOG, TABLE_ENV, TableAccess
from lambdas.shared import constants

ARN_SUFFIX = "FunctionArn"


@dataclass(frozen=True)
class TaskSpec:
    """One task function of the workflow: what it is, and what it may touch (least privilege)."""

    substitution: str  # the ASL placeholder of its ARN: "<State>FunctionArn"
    description: str  # for the Lambda console
    # The stack's order tables it uses and the operations its code calls on each, e.g. {"inventory": CATALOG}.
    tables: Mapping[str, TableAccess] = field(default_factory=dict)
    # May publish on the order bus.
    publishes: bool = False
    # Talks to the simulated payment gateway, which keeps its own ledger (name in its environment).
    gateway_ledger: bool = False
    timeout_seconds: int = LAMBDA_TIMEOUT_SECONDS

    @property
    def state(self) -> str:
        """The ASL state (and the function's name): "ValidateOrder"."""
        return self.substitution.removesuffix(ARN_SUFFIX)

    @property
    def construct_id(self) -> str:
        return self.substitution.removesuffix("Arn")

    @property
    def handler(self) -> str:
        return constants.TASK_FUNCTIONS[self.substitution]


VALIDATE_ORDER = TaskSpec(
    "ValidateOrderFunctionArn",
    "ValidateOrder: schema and catalog checks, returns the normalised order",
    tables={"inventory": CATALOG},
)
RESERVE_STOCK = TaskSpec(
    "ReserveStockFunctionArn",
    "ReserveStock: picks the warehouse for the address and holds the stock",
    # inventory.hold_stock: reads the shards (BatchGetItem), one transaction of Updates and the holds' Puts;
    # inventory.order_holds (Query)
    tables={"inventory": ("BatchGetItem", "Query", "PutItem", "UpdateItem")},
)
PRICE_ORDER = TaskSpec(
    "PriceOrderFunctionArn",
    "PriceOrder: prices, tax, shipping; compares with displayedTotal",
    tables={"inventory": CATALOG},
)
COLLECT_PAYMENT = TaskSpec(
    "CollectPaymentFunctionArn",
    "CollectPayment: charges once per order through the payment gateway",
    tables={"payments": ("GetItem", "PutItem", "UpdateItem")},  # payments adapter: create, get, update
    gateway_ledger=True,
)
WAIT_FOR_PAYMENT_REVIEW = TaskSpec(
    "WaitForPaymentReviewFunctionArn",
    "WaitForPaymentReview: stores the task token, announces the review",
    tables={"payments": ("GetItem", "UpdateItem")},  # payments adapter: update, get
    publishes=True,
)
RECORD_ACCOUNTING = TaskSpec(
    "RecordAccountingFunctionArn",
    "RecordAccounting: double-entry ledger transaction, once per order",
    tables={"ledger": ("GetItem", "PutItem")},  # ledger adapter: get_item, put_item (no delete)
)
REFUND_PAYMENT = TaskSpec(
    "RefundPaymentFunctionArn",
    "RefundPayment (compensation): refunds or voids the order's charge",
    # payments: get, update; the ledger: get_item, put_item
    tables={"payments": ("GetItem", "UpdateItem"), "ledger": ("GetItem", "PutItem")},
    gateway_ledger=True,
)
RELEASE_STOCK = TaskSpec(
    "ReleaseStockFunctionArn",
    "ReleaseStock (compensation): returns held stock",
    tables={"inventory": ("Query", "UpdateItem")},  # inventory.release_holds: the order's holds, one transaction each
)

TASKS: tuple[TaskSpec, ...] = (
    VALIDATE_ORDER,
    RESERVE_STOCK,
    PRICE_ORDER,
    COLLECT_PAYMENT,
    WAIT_FOR_PAYMENT_REVIEW,
    RECORD_ACCOUNTING,
    REFUND_PAYMENT,
    RELEASE_STOCK,
)

_PLACEHOLDER = re.compile(r"\$\{(\w+" + ARN_SUFFIX + r")\}")


def asl_task_placeholders(definition: str) -> set[str]:
    """The function ARN placeholders of an ASL text: {"ValidateOrderFunctionArn", ...}."""
    return set(_PLACEHOLDER.findall(definition))


def validate(specs: Iterable[TaskSpec], definition: str) -> None:
    """Fail the synth when the registry, the ASL and the kernel's handler paths disagree."""
    specs = list(specs)
    keys = [s.substitution for s in specs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"task substitutions must be unique: {keys}")
    if missing := asl_task_placeholders(definition) - set(keys):
        raise ValueError(f"ASL task functions without a registry entry: {sorted(missing)}")
    if unused := set(keys) - asl_task_placeholders(definition):
        raise ValueError(f"registry entries no ASL state invokes: {sorted(unused)}")
    if unknown := set(keys) - set(constants.TASK_FUNCTIONS):
        raise ValueError(f"tasks without a handler in constants.TASK_FUNCTIONS: {sorted(unknown)}")
    for spec in specs:
        if unknown_tables := set(spec.tables) - set(TABLE_ENV):
            raise ValueError(f"task {spec.state}: unknown tables {sorted(unknown_tables)}")
