"""Lambda code: one folder per function (thin Powertools handler + its domain logic) and `shared/`.

Every handler imports this package first, so the SDK is imported here, before any module of ours: measured with
`python -m bench --only cold` on python3.11 and python3.13, a handler that reaches boto3 through its own modules
(store -> adapters -> boto3) spends up to a tenth of boto3's import time more than one that imports boto3 first,
most of it in urllib3's regular expressions compiling slower (docs/BENCH.md; the cause is not pinned down).
"""

import boto3  # noqa: F401  (imported for its side effect: loaded before our modules, see above)
