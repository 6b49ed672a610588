"""orderctl: start, follow, decide and repair orders; replay and redrive events; check audit and sales.

Works against the deployed stack (found through its CloudFormation outputs, with your AWS profile
and region) or the offline sandbox (``--endpoint-url http://127.0.0.1:5000``). Every command it
prints carries the same --endpoint-url/--region/--profile/--stack, so a copied command runs there too.
Exit status: 0 done, 1 refused or failed, 2 a usage or value mistake.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import math
import re
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from lambdas.shared import constants
from orderctl import events, orders, repair, reports, reviews, trace
from orderctl.errors import OrderctlError, UsageError
from orderctl.render import Output
from orderctl.stack import SANDBOX_HINT, DeployedStack, Target

PROG = "orderctl"
DEFAULT_WAIT_SECONDS = 60.0
SALES_MAX_DAYS = 366
_ORDER_ID = re.compile(constants.ORDER_ID_PATTERN)
Handler = Callable[[DeployedStack, argparse.Namespace], Output]


def _global_options(parser: argparse.ArgumentParser, inherited: bool) -> None:
    """Options every command takes, before or after its name (a subcommand's copy does not reset them)."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if inherited else value

    group = parser.add_argument_group("where and how")
    group.add_argument(
        "--stack", default=default(constants.STACK_NAME), help=f"stack name (default: {constants.STACK_NAME})"
    )
    group.add_argument(
        "--stage",
        dest="stack",
        type=_stage_stack,
        default=argparse.SUPPRESS,
        metavar="NAME",
        help=f"the stack of this stage (`cdk deploy -c stage=NAME`; {constants.DEFAULT_STAGE}: {constants.STACK_NAME})",
    )
    group.add_argument("--region", default=default(None), help="AWS region (default: your profile's)")
    group.add_argument("--profile", default=default(None), help="AWS profile (default: AWS_PROFILE)")
    group.add_argument(
        "--endpoint-url", default=default(None), help="AWS endpoint, e.g. the sandbox: http://127.0.0.1:5000"
    )
    group.add_argument("--json", action="store_true", default=default(False), help="JSON output for scripts")


def _stage_stack(stage: str) -> str:
    if not re.match(constants.STAGE_PATTERN, stage):
        raise argparse.ArgumentTypeError(
            f"{stage!r} is not a stage: 1-20 lower-case letters, digits and '-', starting with a letter"
        )
    return constants.stack_name(stage)


def _wait_option(parser: argparse.ArgumentParser, until: str) -> None:
    parser.add_argument(
        "--wait",
        nargs="?",
        type=float,
        const=DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"wait until {until} (at most SECONDS, default {DEFAULT_WAIT_SECONDS:g})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `orderctl <command> --help` for a command's options and examples "
        "(`python -m orderctl` works the same).",
    )
    _global_options(parser, inherited=False)
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    def command(name: str, summary: str, examples: str, handler: Handler) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog="examples:\n" + examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _global_options(sub, inherited=True)
        sub.set_defaults(handler=handler)
        return sub

    start = command(
        "start",
        "start an order (execution name = order id: starting the same order twice runs it once)",
        "  orderctl start --example review\n"
        "  orderctl start --file my-order.json --wait\n"
        "  orderctl start --order-id ord-2001 --item MUG-BLUE=3 --displayed-total 41.66",
        _start,
    )
    source = start.add_mutually_exclusive_group()
    source.add_argument("--file", type=Path, help="an order as JSON (docs/CONTRACTS.md, 'Order')")
    source.add_argument("--example", help=f"examples/orders/<name>.json: {', '.join(orders.example_names())}")
    start.add_argument("--order-id", help="use this order id (and execution name)")
    start.add_argument("--item", action="append", default=[], metavar="SKU=QTY", help="replace the items (repeat)")
    start.add_argument("--displayed-total", type=float, help="total the customer was shown (needed with --item)")
    start.add_argument("--token", help="payment token (tok_visa, tok_review_..., tok_decline_...)")
    start.add_argument("--variant", help="site variant (A/B test arm)")
    start.add_argument("--customer-id", help="customer id")
    start.add_argument("--email", help="customer e-mail")
    _wait_option(start, "the order ended or waits for a payment review")

    status = command(
        "status",
        "where an order is: status, states visited, error and cause, payment",
        "  orderctl status ord-1002\n  orderctl status ord-1002 --json",
        lambda stack, a: orders.status(stack, a.order_id),
    )
    status.add_argument("order_id", metavar="ORDER_ID")

    trace_order = command(
        "trace",
        "one order's timeline: each state, each event published, what each subscriber did with it",
        "  orderctl trace ord-1002\n  orderctl trace ord-1002 --json",
        lambda stack, a: trace.trace(stack, a.order_id),
    )
    trace_order.add_argument("order_id", metavar="ORDER_ID", type=_order_id)

    command(
        "reviews",
        "orders waiting for a payment review, oldest first, with how long they have waited",
        "  orderctl reviews\n  orderctl reviews --json",
        lambda stack, a: reviews.reviews(stack),
    )
    decisions = {
        "approve": "approve a payment review: the order continues",
        "reject": "reject a payment review: the payment is voided, the stock released, the order fails",
    }
    for verb, summary in decisions.items():
        decide = command(
            verb,
            summary,
            f"  orderctl {verb} ord-1002\n"
            f'  orderctl {verb} ord-1002 --reviewer alice --note "customer confirmed by phone" --wait',
            _decide,
        )
        decide.add_argument("order_id", metavar="ORDER_ID")
        decide.add_argument(
            "--reviewer",
            default=getpass.getuser(),
            help="decide as this session of the stack's reviewer role: your IAM user name, which its trust policy "
            "requires (default: %(default)s); the reviewer recorded is who signed, never a field",
        )
        decide.add_argument("--note", help="why (kept with the payment; a rejection's cause)")
        _wait_option(decide, "the order ended")

    repair_order = command(
        "repair",
        "finish an order left mid-way: redrive it after its commit point, finish the compensation it left "
        "undone, release / void what it still holds (a second repair does nothing)",
        "  orderctl repair ord-1002 --dry-run\n  orderctl repair ord-1002",
        lambda stack, a: repair.repair(stack, a.order_id, a.dry_run),
    )
    repair_order.add_argument("order_id", metavar="ORDER_ID", type=_order_id)
    repair_order.add_argument("--dry-run", action="store_true", help="say what would be repaired; change nothing")

    sweep = command(
        "sweep",
        "list every order left mid-way (what the scheduled sweeper reports), and repair them with --repair",
        "  orderctl sweep\n  orderctl sweep --repair --json",
        lambda stack, a: repair.sweep(stack, a.repair),
    )
    sweep.add_argument("--repair", action="store_true", help="repair each one as `repair ORDER_ID` would")

    replay = command(
        "replay",
        "send archived events of a time window again, to one rule only (e.g. a new subscriber)",
        "  orderctl replay analytics --from 2026-11-01 --to 2026-11-20\n"
        "  orderctl replay my-team-rule --from 6h --wait",
        _replay,
    )
    replay.add_argument("rule", metavar="RULE", help="a subscriber name, a rule name on the order bus, or a rule ARN")
    replay.add_argument("--from", dest="start", required=True, help="window start: 2026-11-20[T14:30] (UTC) or 6h/2d")
    replay.add_argument("--to", dest="end", default="0m", help="window end (default: now)")
    _wait_option(replay, "the replay completed")

    redrive = command(
        "redrive",
        "hand a subscriber the events in its dead-letter queue again (after fixing what failed)",
        "  orderctl redrive analytics --dry-run\n  orderctl redrive analytics",
        lambda stack, a: events.redrive(stack, a.subscriber, a.max, a.dry_run),
    )
    redrive.add_argument("subscriber", metavar="SUBSCRIBER", help="e.g. analytics, audit, inventory, notifications")
    redrive.add_argument("--max", type=int, help="at most this many messages")
    redrive.add_argument("--dry-run", action="store_true", help="list the messages and why they failed; change nothing")

    command(
        "audit-verify",
        "check the audit trail's hash chain (exit 1 and the first broken record when tampered with)",
        "  orderctl audit-verify",
        lambda stack, a: reports.audit_verify(stack),
    )

    sales = command(
        "sales",
        "orders, units and revenue by site variant, with the lift against the baseline",
        "  orderctl sales\n  orderctl sales --from 2026-11-01 --to 2026-11-21 --split control=0.5,checkout-v2=0.5",
        _sales,
    )
    sales.add_argument("--from", dest="first", type=_day, help="first UTC day (default: --days before --to)")
    sales.add_argument("--to", dest="last", type=_day, help="last UTC day (default: today)")
    sales.add_argument("--days", type=int, default=1, help="days up to --to when --from is not given (default: 1)")
    sales.add_argument("--sku", help="one product only")
    sales.add_argument("--baseline", default="control", help="variant to compare with (default: %(default)s)")
    sales.add_argument(
        "--split", type=_split, help="traffic share per variant when unequal, summing to 1: control=0.9,checkout-v2=0.1"
    )
    return parser


def _order_id(text: str) -> str:
    if not _ORDER_ID.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an order id (1 to 64 letters, digits, '-' or '_')")
    return text


def _split(text: str) -> dict[str, float]:
    """--split control=0.9,checkout-v2=0.1: shares of the traffic, each in (0, 1], together 1."""
    try:
        split = reports.parse_split(text) or {}
    except OrderctlError as error:
        raise argparse.ArgumentTypeError(error.message.removeprefix(f"--split {text!r}: ")) from None
    problems = [f"{variant or '(no name)'}={share:g} is not in (0, 1]" for variant, share in split.items()
                if not variant or not 0 < share <= 1]  # fmt: skip
    total = sum(split.values())
    if not problems and not math.isclose(total, 1.0, abs_tol=1e-6):
        problems.append(f"the shares add up to {total:g}, not 1")
    if problems:
        raise argparse.ArgumentTypeError(f"{text!r}: {'; '.join(problems)} (e.g. control=0.9,checkout-v2=0.1)")
    return split


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


# -- handlers that need more than one call --------------------------------------------------------
def _start(stack: DeployedStack, args: argparse.Namespace) -> Output:
    changes = orders.Overrides(
        order_id=args.order_id,
        items=args.item,
        displayed_total=args.displayed_total,
        token=args.token,
        variant=args.variant,
        customer_id=args.customer_id,
        email=args.email,
    )
    return orders.start(stack, orders.build_order(orders.load_order(args.file, args.example), changes), args.wait)


def _decide(stack: DeployedStack, args: argparse.Namespace) -> Output:
    return reviews.decide(stack, args.order_id, args.command, args.reviewer, args.note, args.wait)


def _replay(stack: DeployedStack, args: argparse.Namespace) -> Output:
    now = stack.now()  # the account's time, which the events' times are on
    start, end = events.parse_moment(args.start, now), events.parse_moment(args.end, now)
    return events.replay(stack, args.rule, start, end, args.wait, now)


def _sales(stack: DeployedStack, args: argparse.Namespace) -> Output:
    last = args.last or stack.now().date()  # days of the events (their occurredAt: the account's time)
    first = args.first or last - timedelta(days=max(1, args.days) - 1)
    if first > last:
        raise UsageError(f"--from {first} is after --to {last}")
    if (last - first).days >= SALES_MAX_DAYS:
        raise UsageError(f"at most {SALES_MAX_DAYS} days at a time (one query per day)")
    return reports.sales(stack, first, last, args.sku, args.baseline, args.split)


# -- entry point ----------------------------------------------------------------------------------
def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    target = Target(args.stack, args.region, args.profile, args.endpoint_url)

    def fail(message: str, hint: str | None = None, code: int = 1) -> int:
        print(f"{PROG}: error: {target.qualify(message)}", file=err)
        if hint:
            print(f"  {target.qualify(hint)}", file=err)
        return code

    try:
        stack = DeployedStack.find(args.stack, args.region, args.profile, args.endpoint_url)
        output = args.handler(stack, args)
        return dataclasses.replace(output, text=target.qualify(output.text)).emit(out, args.json)
    except OrderctlError as error:
        return fail(error.message, error.hint, error.exit_code)
    except EndpointConnectionError as error:
        return fail(f"cannot reach {error.kwargs.get('endpoint_url', 'AWS')}", SANDBOX_HINT)
    except NoCredentialsError:
        return fail("no AWS credentials", "set AWS_PROFILE or pass --profile; " + SANDBOX_HINT)
    except NoRegionError:
        return fail("no AWS region", "pass --region or set AWS_REGION")
    except ProfileNotFound as error:
        return fail(str(error), "list your profiles: aws configure list-profiles")
    except ClientError as error:
        details = error.response.get("Error", {})
        return fail(f"AWS refused {error.operation_name}: {details.get('Code')}: {details.get('Message')}")


if __name__ == "__main__":
    sys.exit(main())
