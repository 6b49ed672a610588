"""Check the audit trail: ``python -m lambdas.subscribers.audit.verify --table <AuditTable>``.

Exits 1 and names the first broken or missing record when the chain was tampered with.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from lambdas.shared.adapters.audit import AuditTable
from lambdas.subscribers.audit.logic import Verification, verify


def verify_table(table_name: str) -> Verification:
    store = AuditTable(table_name)
    # Head first: records appended while we walk then only extend past what the head promised.
    head = store.head()
    records = (r for r in store.records() if head is None or int(r["seq"]) <= head.seq)
    return verify(records, head)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True)
    result = verify_table(parser.parse_args(argv).table)
    print(json.dumps(asdict(result)))
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
