"""`python -m sandbox serve`: deploy cdk.out into a sandbox served on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import json
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sandbox import api_gateway, backoffice, scenarios
from sandbox.account import Sandbox
from sandbox.deploy import DeployError, stack_environment, template_path

# The console-ready happy-path example (examples/orders/happy.json): one order, not a retyped copy.
EXAMPLE_ORDER: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "examples" / "orders" / "happy.json").read_text()
)


def main(cdk_out: Path, port: int, seed: bool = True) -> int:
    try:
        template_path(cdk_out)
    except DeployError as error:
        print(error)
        return 2
    print(f"deploying {cdk_out} into the sandbox ...", flush=True)
    with ExitStack() as running:
        try:
            sandbox = running.enter_context(
                Sandbox(cdk_out, port=port, seed_catalog=scenarios.CATALOG_PATH if seed else None)
            )
        except DeployError as error:
            print(error, file=sys.stderr)
            return 2
        gateway = api_gateway.mount(sandbox)
        print(f"  the order API: {gateway.url()}  (sign requests with SigV4)", flush=True)
        office = backoffice.install(sandbox, gateway)
        print(f"  the back-office page: {office.page_url}", flush=True)
        for user, secret in sorted(office.passwords.items()):
            print(f"    sign in as {user:<9} password {secret}  ({backoffice.SEEDED[user]})", flush=True)
        url = sandbox.endpoint_url
        outputs = sandbox.outputs
        pinned = ", which cdk.out was synthesized for" if stack_environment(cdk_out).region else ""
        print(f"\nThe sandbox is serving on {url} (region {sandbox.region}{pinned}; any credentials). Stack outputs:")
        for key in sorted(outputs):
            print(f"  {key:<42} {outputs[key]}")
        print(
            # --endpoint-url on the command itself: AWS CLI v1 and v2 before 2.13 ignore AWS_ENDPOINT_URL and
            # would send a pasted command to real AWS.
            "\nTry (more in docs/SANDBOX.md):\n"
            f"  export AWS_ENDPOINT_URL={url} AWS_DEFAULT_REGION={sandbox.region} "
            "AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox\n"
            f"  aws --endpoint-url {url} stepfunctions start-execution "
            f"--state-machine-arn {outputs['StateMachineArn']} "
            f"--name {EXAMPLE_ORDER['orderId']} --input '{json.dumps(EXAMPLE_ORDER)}'\n"
            f"  curl -X POST '{url}/_sandbox/clock/advance?seconds=259200'   # 72 h pass\n"
            "\nCtrl-C stops it (everything is in memory and is gone then).",
            flush=True,
        )
        # The handlers only append to a list: Event.set() from a signal handler can race the main thread's own
        # Event.wait() (a SIGTERM once left `serve` waiting forever); time.sleep is interrupted by the signal.
        signals: list[int] = []
        signal.signal(signal.SIGINT, lambda number, _frame: signals.append(number))
        signal.signal(signal.SIGTERM, lambda number, _frame: signals.append(number))
        while not signals:
            time.sleep(0.2)
    print("stopped", file=sys.stderr)
    return 0
