"""Load the example catalog and stock into a deployed stack's inventory table.

    python -m examples.seed                 # the stack's table, found through its outputs
    python -m examples.seed --table NAME    # a table you name
    AWS_ENDPOINT_URL=http://localhost:5000 python -m examples.seed   # the offline sandbox server

Seeding again restocks: ``available`` is set to the catalog's level, held and sold units are kept.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lambdas.shared import constants
from lambdas.shared.adapters import inventory
from lambdas.shared.adapters.aws_clients import client

CATALOG_PATH = Path(__file__).with_name("catalog.json")
# Output key of the stack (infra/stack.py OUTPUT_INVENTORY_TABLE; not imported: that needs aws-cdk-lib).
INVENTORY_OUTPUT = "InventoryTableName"


def load_catalog(path: Path = CATALOG_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def inventory_table_name(stack_name: str = constants.STACK_NAME) -> str:
    """The inventory table of a deployed stack, from its CloudFormation outputs."""
    stacks = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == INVENTORY_OUTPUT:
            return str(output["OutputValue"])
    raise LookupError(f"stack {stack_name} has no output {INVENTORY_OUTPUT}: is it deployed from this repository?")


def seed_inventory(table_name: str, catalog: Mapping[str, Any]) -> int:
    """Write the catalog document into ``table_name``; returns the number of items written."""
    return inventory.seed(catalog, table_name=table_name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default=constants.STACK_NAME, help="stack name (default: %(default)s)")
    parser.add_argument("--table", help="inventory table name (default: the stack's InventoryTableName output)")
    parser.add_argument("--catalog", type=Path, default=CATALOG_PATH, help="catalog JSON (default: examples/)")
    args = parser.parse_args(argv)
    table_name = args.table or inventory_table_name(args.stack)
    catalog = load_catalog(args.catalog)
    written = seed_inventory(table_name, catalog)
    print(f"seeded {len(catalog['products'])} products ({written} items) into {table_name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
