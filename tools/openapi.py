"""docs/openapi.json from the order API's resolver: `.venv/bin/python -m tools.openapi > docs/openapi.json`
(tests/unit/test_order_api.py fails while the published document differs)."""

from __future__ import annotations

from lambdas.order_api.handler import openapi_json

if __name__ == "__main__":
    print(openapi_json(), end="")
