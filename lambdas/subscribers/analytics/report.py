"""Compare site variants over a day range: ``python -m lambdas.subscribers.analytics.report``.

    python -m lambdas.subscribers.analytics.report --table <AnalyticsTable> --from 2026-11-01 --to 2026-11-21 \
        [--sku MUG-BLUE] [--baseline control] [--split control=0.5,checkout-v2=0.5]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date, timedelta

from lambdas.shared.adapters.analytics import counter_rows
from lambdas.subscribers.analytics.logic import VariantStats, compare_variants, day_pk


def days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def report(
    table_name: str,
    first: date,
    last: date,
    sku: str | None = None,
    baseline: str = "control",
    traffic_split: dict[str, float] | None = None,
) -> list[VariantStats]:
    rows = counter_rows(table_name, [day_pk(d) for d in days(first, last)])
    return compare_variants(rows, baseline=baseline, sku=sku, traffic_split=traffic_split)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True)
    parser.add_argument("--from", dest="first", required=True, type=date.fromisoformat)
    parser.add_argument("--to", dest="last", required=True, type=date.fromisoformat)
    parser.add_argument("--sku")
    parser.add_argument("--baseline", default="control")
    parser.add_argument("--split", help="traffic share per variant, e.g. control=0.5,checkout-v2=0.5")
    args = parser.parse_args(argv)
    split = {k: float(v) for k, v in (p.split("=") for p in args.split.split(","))} if args.split else None
    stats = report(args.table, args.first, args.last, args.sku, args.baseline, split)
    print(json.dumps([asdict(s) for s in stats], indent=2))


if __name__ == "__main__":
    main()
