"""Lambda code: one folder per function (thin Powertools handler + its domain logic) and `shared/`.

Every handler imports this package first, so the SDK is imported here, before any module of ours. On python3.11
(this repository's local interpreter, which the bench's cold imports run on) a handler that reached boto3 through its
own modules spent up to a tenth of boto3's import time more, most of it in urllib3's regular expressions compiling
slower; on python3.13 (Lambda's runtime) the order made no difference beyond noise (docs/BENCH.md). So this changes
nothing in Lambda and keeps the local measurements free of a 3.11-only cost.
"""

import boto3  # noqa: F401  (imported for its side effect: loaded before our modules, see above)
