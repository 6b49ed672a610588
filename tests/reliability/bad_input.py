"""Bad input: a hypothesis property over malformed and edge-case orders, run through the workflow.

Each generated order is a valid order with edge-case values where the contract allows them (unicode
names and cities, limit-length strings, line2, up to every catalog SKU, quantities up to the limit)
plus exactly one thing wrong, so the field the cause must name is known:

missing or extra fields (top level and nested), wrong JSON types, zero / negative / huge / fractional
quantities, bad totals, unknown and duplicate SKUs, no lines or hundreds of them, blank, overlong and
unicode values where a pattern applies, another currency, near-limit payloads (up to the 256 KiB
Step Functions input limit) and inputs that are not objects at all.

The property (per order): the execution ends FAILED with Order.Invalid after ValidateOrder only
(ValidateOrder > RejectOrder, nothing else; never States.Runtime), its cause names the field; and, for the batch,
nothing anywhere changed: no hold, payment, ledger entry, event or subscriber effect for it, every
stock level as before. Limits come from lambdas/shared/constants.py and the catalog in the sandbox.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from lambdas.shared import constants
from lambdas.shared.errors import readable_cause
from tests.reliability import invariants
from tests.reliability.world import OrderRun, World

# Step Functions' limit for an execution's input; generated orders stay under it.
MAX_INPUT_BYTES = 256 * 1024
LIMITS = {"name": 100, "line1": 100, "line2": 100, "city": 100, "postalCode": 16}
ORDER_FIELDS = ("orderId", "customer", "items", "shippingAddress", "currency", "displayedTotal", "payment")
NESTED_FIELDS = {
    "customer": ("id", "email"),
    "shippingAddress": ("name", "line1", "city", "postalCode", "country"),
    "payment": ("method", "token"),
}
# (path, max length, pattern or None) of every string field.
STRING_FIELDS: list[tuple[str, int, str | None]] = [
    ("orderId", 64, constants.ORDER_ID_PATTERN),
    ("customer.id", 64, r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
    ("customer.email", 254, r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"),
    ("shippingAddress.name", 100, None),
    ("shippingAddress.line1", 100, None),
    ("shippingAddress.city", 100, None),
    ("shippingAddress.postalCode", 16, None),
    ("shippingAddress.country", 2, r"^[A-Z]{2}$"),
    ("currency", 3, r"^[A-Z]{3}$"),
    ("payment.method", 32, None),
    ("payment.token", 256, None),
    ("siteVariant", 64, r"^[A-Za-z0-9_-]+$"),
]
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
Mutation = tuple[Any, str]  # (the order, the path its cause must start with)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


# ---------------------------------------------------------------------------
# Valid orders with edge-case values
# ---------------------------------------------------------------------------
def _free_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=max_size).filter(lambda s: bool(s.strip()))


@st.composite
def valid_order(draw: Any, skus: list[str], countries: list[str]) -> dict[str, Any]:
    lines = draw(st.lists(st.sampled_from(skus), min_size=1, max_size=len(skus), unique=True))
    address = {name: draw(_free_text(limit)) for name, limit in LIMITS.items() if name != "line2"}
    if draw(st.booleans()):
        address["line2"] = draw(_free_text(LIMITS["line2"]))
    address["country"] = draw(st.sampled_from(countries))
    order: dict[str, Any] = {
        "orderId": "placeholder",  # replaced by a fresh execution name
        "customer": {
            "id": draw(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}\Z")),
            "email": draw(st.from_regex(r"\A[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}\Z")),
        },
        "items": [{"sku": sku, "quantity": draw(st.integers(1, constants.MAX_LINE_QUANTITY))} for sku in lines],
        "shippingAddress": address,
        "currency": "EUR",
        "displayedTotal": draw(st.integers(0, 10**9)) / 100,
        "payment": {"method": draw(_free_text(32)), "token": draw(_free_text(256))},
    }
    if draw(st.booleans()):
        order["siteVariant"] = draw(st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"))
    return order


# ---------------------------------------------------------------------------
# One thing wrong
# ---------------------------------------------------------------------------
def _get(order: dict[str, Any], path: str) -> tuple[Any, Any]:
    """The object (or array) holding the field at `path` ("items[1].quantity") and its key (or index)."""
    keys: list[Any] = [int(p[1:-1]) if p.startswith("[") else p for p in re.findall(r"[^.\[\]]+|\[\d+\]", path)]
    holder: Any = order
    for key in keys[:-1]:
        holder = holder[key]
    return holder, keys[-1]


@st.composite
def missing_field(draw: Any, order: dict[str, Any]) -> Mutation:
    line = draw(st.integers(0, len(order["items"]) - 1))
    paths = [*ORDER_FIELDS, *(f"{o}.{f}" for o, fields in NESTED_FIELDS.items() for f in fields)]
    paths += [f"items[{line}].sku", f"items[{line}].quantity"]
    path = draw(st.sampled_from(paths))
    holder, name = _get(order, path)
    del holder[name]
    return order, f"{path}: is required"


@st.composite
def extra_field(draw: Any, order: dict[str, Any]) -> Mutation:
    line = draw(st.integers(0, len(order["items"]) - 1))
    where = draw(st.sampled_from(["", "customer", "shippingAddress", "payment", f"items[{line}]"]))
    holder = _get(order, where + ".x")[0] if where else order
    key = draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in holder and k not in ("line2", "siteVariant")))
    holder[key] = draw(JSON_VALUES)
    return order, f"{where + '.' if where else ''}{key}: unknown field"


@st.composite
def wrong_type(draw: Any, order: dict[str, Any]) -> Mutation:
    line = draw(st.integers(0, len(order["items"]) - 1))
    expected = {path: "string" for path, _, _ in STRING_FIELDS if path != "siteVariant"}
    expected.update(
        {
            "customer": "object",
            "shippingAddress": "object",
            "payment": "object",
            "items": "array",
            f"items[{line}]": "object",
            f"items[{line}].sku": "string",
            f"items[{line}].quantity": "integer",
            "displayedTotal": "number",
        }
    )
    path = draw(st.sampled_from(sorted(expected)))
    wanted = expected[path]

    def wrong(value: Any) -> bool:
        kind = _json_type(value)
        if wanted == "integer":  # JSON has no integer type: 2.0 and true are not integers here
            return not (isinstance(value, int) and not isinstance(value, bool))
        return kind != wanted

    holder, name = _get(order, path)
    holder[name] = draw(JSON_VALUES.filter(wrong))
    return order, f"{path}:"


@st.composite
def bad_quantity(draw: Any, order: dict[str, Any]) -> Mutation:
    line = draw(st.integers(0, len(order["items"]) - 1))
    order["items"][line]["quantity"] = draw(
        st.one_of(
            st.just(0),
            st.integers(max_value=-1),
            st.integers(min_value=constants.MAX_LINE_QUANTITY + 1, max_value=10**30),
            st.floats(min_value=0.5, max_value=10.0).filter(lambda f: f != int(f)),
        )
    )
    return order, f"items[{line}].quantity:"


@st.composite
def bad_total(draw: Any, order: dict[str, Any]) -> Mutation:
    order["displayedTotal"] = draw(
        st.one_of(
            st.integers(max_value=-1),
            st.floats(max_value=-0.01, allow_infinity=False),
            st.integers(min_value=10_000_001, max_value=10**40),
            st.integers(0, 10**8).map(lambda n: n / 1000).filter(lambda f: round(f, 2) != f),
        )
    )
    return order, "displayedTotal:"


@st.composite
def unknown_sku(draw: Any, order: dict[str, Any], catalog: set[str]) -> Mutation:
    line = draw(st.integers(0, len(order["items"]) - 1))
    sku = draw(st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{0,39}\Z").filter(lambda s: s not in catalog))
    order["items"][line]["sku"] = sku
    return order, f"items[{line}].sku:"


@st.composite
def line_count(draw: Any, order: dict[str, Any]) -> Mutation:
    count = draw(st.one_of(st.just(0), st.integers(constants.MAX_ORDER_LINES + 1, 400)))
    order["items"] = [{"sku": f"SKU-{i}", "quantity": 1} for i in range(count)]
    return order, "items: must have"


@st.composite
def duplicate_sku(draw: Any, order: dict[str, Any]) -> Mutation:
    first = draw(st.integers(0, len(order["items"]) - 1))
    order["items"].append({"sku": order["items"][first]["sku"], "quantity": 1})
    return order, f"items[{len(order['items']) - 1}].sku: duplicate"


@st.composite
def bad_string(draw: Any, order: dict[str, Any]) -> Mutation:
    path, limit, pattern = draw(st.sampled_from(STRING_FIELDS))
    matches: Callable[[str], bool] = (lambda s: re.fullmatch(pattern[1:-1], s) is not None) if pattern else bool
    choices = [
        st.text(alphabet=" \t\n\u00a0\u2003", min_size=1, max_size=5),  # blank
        st.integers(limit + 1, limit + 300).map(lambda n: "x" * n),  # one past the limit
        st.integers(200_000, 240_000).map(lambda n: "y" * n),  # near the input size limit
    ]
    if pattern:  # unicode, lower case, punctuation...: anything the pattern refuses
        choices.append(st.text(min_size=1, max_size=limit).filter(lambda s: bool(s.strip()) and not matches(s)))
    value = draw(st.one_of(choices))
    holder, name = _get(order, path)
    holder[name] = value
    return order, f"{path}:"


@st.composite
def other_currency(draw: Any, order: dict[str, Any]) -> Mutation:
    order["currency"] = draw(st.from_regex(r"\A[A-Z]{3}\Z").filter(lambda c: c != "EUR"))
    return order, "currency: must be EUR"


@st.composite
def not_an_object(draw: Any, order: dict[str, Any]) -> Mutation:
    # null is left out: moto hands a Lambda task {} for a null input ("orderId: is required").
    value = draw(JSON_VALUES.filter(lambda v: v is not None and not isinstance(v, dict)))
    return value, "order: must be an object"


@st.composite
def bad_order(draw: Any, skus: list[str], countries: list[str], catalog: set[str]) -> Mutation:
    order = draw(valid_order(skus, countries))
    mutation = draw(
        st.sampled_from(
            [
                missing_field,
                extra_field,
                wrong_type,
                bad_quantity,
                bad_total,
                lambda o: unknown_sku(o, catalog),
                line_count,
                duplicate_sku,
                bad_string,
                other_currency,
                not_an_object,
            ]
        )
    )
    return draw(mutation(order))


# ---------------------------------------------------------------------------
# The suite
# ---------------------------------------------------------------------------
def check_rejected(run: OrderRun) -> list[str]:
    assert run.result is not None and run.expected_field is not None
    result = run.result
    message = readable_cause(result.cause) or ""
    problems = []
    if (result.status, result.error) != ("FAILED", constants.ERROR_INVALID):
        problems.append(f"ended {result.status} {result.error}: {message[:200]}")
    # Rejected at ValidateOrder: from there straight to RejectOrder (a Choice that names the rejection
    # may sit between them), never a step that holds, charges, ships or publishes.
    if result.states[:1] != ["ValidateOrder"] or result.states[-1:] != ["RejectOrder"] or len(result.states) > 3:
        problems.append(f"went through {' > '.join(result.states)}")
    if not message.startswith(run.expected_field):
        problems.append(f"cause {message[:120]!r} does not name {run.expected_field!r}")
    return problems


def bad_input_suite(world: World, batches: int, batch_size: int = 10) -> list[str]:
    """Runs `batches` hypothesis examples of `batch_size` bad orders each (seeded by the world's seed)."""
    catalog = {p["sku"] for p in world.catalog["products"]}
    skus = sorted(catalog)[:8]
    countries = sorted(world.pricing.tax_rate_basis_points)
    before = invariants.read_state(world).stock
    found: list[str] = []

    @seed(world.seed)
    @settings(
        max_examples=batches,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(st.lists(bad_order(skus, countries, catalog), min_size=batch_size, max_size=batch_size))
    def every_bad_order_is_rejected_by_name(batch: list[Mutation]) -> None:
        runs = []
        for order, expected_field in batch:
            name = world.new_name("bad")
            if isinstance(order, dict) and "orderId" in order and order["orderId"] == "placeholder":
                order["orderId"] = name
            if len(json.dumps(order).encode()) > MAX_INPUT_BYTES:
                continue  # StartExecution would refuse it (InvalidExecutionInput): not an execution
            runs.append(OrderRun("bad input", order, name, expected_field=expected_field))
        world.run_batch(runs)
        problems = [f"{r.name}: {p}" for r in runs for p in check_rejected(r)]
        problems += invariants.check_no_trace(world, runs)
        assert not problems, "\n".join(problems[:10])

    try:
        every_bad_order_is_rejected_by_name()
    except AssertionError as error:
        found.append(f"bad input: {str(error)[:2000]}")
    found += [f"bad input: {p}" for p in invariants.check(world, [])]  # and everything else still holds
    after = invariants.read_state(world).stock
    if after != before:
        changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
        found.append(f"bad input changed stock levels: {dict(list(changed.items())[:3])}")
    world.say(f"bad input: {world.totals.bad_inputs} rejected orders checked, {len(found)} violations")
    return found
