"""audit-verify and sales: the audit and analytics subscribers' own checks and reports, on the
deployed tables (the pure logic is theirs: lambdas/subscribers/audit|analytics)."""

from __future__ import annotations

from datetime import date

from lambdas.shared import constants
from lambdas.subscribers.analytics import store as analytics
from lambdas.subscribers.audit.store import verify_stored
from orderctl import render
from orderctl.errors import OrderctlError
from orderctl.stack import DeployedStack


def audit_verify(stack: DeployedStack) -> render.Output:
    name = stack.subscriber_output("audit", constants.OUTPUT_SUBSCRIBER_TABLE)
    bucket = stack.output(constants.OUTPUT_AUDIT_CHECKPOINT_BUCKET)
    result = verify_stored(stack.table(name), stack.client("s3"), bucket)
    data = result._asdict()
    if result.ok:
        unanchored = result.checked - result.anchored_seq
        tail = f", anchored up to record {result.anchored_seq} in {bucket}" if result.checked else ""
        if unanchored:
            tail += f" ({unanchored} appended since, not yet anchored)"
        return render.Output(data, f"Audit trail intact: {result.checked} records checked{tail}.")
    where = f" at record {result.first_broken_seq}" if result.first_broken_seq is not None else ""
    text = (
        f"Audit trail BROKEN{where}: {result.problem}.\n"
        f"  {result.checked} records before it check out. Compare with a backup (point-in-time recovery) of {name}\n"
        f"  and with the checkpoints in {bucket} (write-once, object-locked)."
    )
    return render.Output(data, text, ok=False)


def parse_split(text: str | None) -> dict[str, float] | None:
    """control=0.5,checkout-v2=0.5 -> {"control": 0.5, "checkout-v2": 0.5}"""
    if not text:
        return None
    split = {}
    for part in text.split(","):
        variant, _, share = part.partition("=")
        try:
            split[variant.strip()] = float(share)
        except ValueError:
            raise OrderctlError(
                f"--split {text!r}: write variant=share,..., e.g. control=0.5,checkout-v2=0.5"
            ) from None
    return split


def sales(
    stack: DeployedStack,
    first: date,
    last: date,
    sku: str | None = None,
    baseline: str = "control",
    split: dict[str, float] | None = None,
) -> render.Output:
    if first > last:
        raise OrderctlError(f"--from {first} is after --to {last}")
    if (last - first).days > 366:
        raise OrderctlError("at most 366 days at a time (one query per day)")
    name = stack.subscriber_output("analytics", constants.OUTPUT_SUBSCRIBER_TABLE)
    report = analytics.sales_report(stack.table(name), first, last, sku, baseline, split)
    currency, stats = report.currency, report.variants
    data = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "sku": sku,
        "baseline": baseline,
        "currency": currency,
        "variants": [s._asdict() for s in stats],
        "channels": [c._asdict() for c in report.channels],
    }
    period = f"{first}" if first == last else f"{first} to {last}"
    scope = f" of {sku}" if sku else ""
    if not stats:
        return render.Output(data, f"No sales{scope} from {period} (UTC days).")

    def lift(value: float | None) -> str:
        return "-" if value is None else f"{value:+.1f}%"

    table = render.table(
        ("VARIANT", "ORDERS", "UNITS", "REVENUE", "AVG ORDER", "UNITS/ORDER", "ORDERS vs BASE", "REVENUE vs BASE"),
        [
            (
                s.variant + (" (baseline)" if s.variant == baseline else ""),
                s.orders,
                s.units,
                render.money(s.revenue_cents, currency),
                render.money(round(s.avg_order_value_cents), currency),
                f"{s.units_per_order:g}",
                lift(s.orders_lift_pct),
                lift(s.revenue_lift_pct),
            )
            for s in stats
        ],
    )
    note = "merchandise revenue (before tax and shipping)"
    if split:
        note += "; lifts normalised by the traffic split"
    text = f"Sales by site variant{scope}, {period} (UTC), {note}:\n{table}"
    if not sku:  # channels count whole orders, not one product's share of them
        channels = render.table(
            ("CHANNEL", "ORDERS", "UNITS", "REVENUE"),
            [(c.channel, c.orders, c.units, render.money(c.revenue_cents, currency)) for c in report.channels],
        )
        text += f"\nSales by channel (web, marketplace:<name>, store:<name>):\n{channels}"
    return render.Output(data, text)
