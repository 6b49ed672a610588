"""A schema change that would break existing consumers fails here.

tests/contract/snapshots/ holds each event's published schema. A breaking change needs a new
event version (a new major `eventVersion`, published alongside the old one), not an edit.
An additive change passes the compatibility check but must be committed to the snapshot:
    UPDATE_SCHEMA_SNAPSHOTS=1 .venv/bin/pytest tests/contract
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from lambdas.shared import constants, schemas
from tests.contract.compat import breaking_changes

SNAPSHOTS = Path(__file__).parent / "snapshots"


def snapshot_path(detail_type: str) -> Path:
    return SNAPSHOTS / f"{detail_type}.v{constants.EVENT_VERSION}.json"


@pytest.mark.parametrize("detail_type", schemas.event_names())
def test_current_schema_does_not_break_consumers_of_the_published_one(detail_type: str) -> None:
    current = schemas.detail_schema(detail_type)
    path = snapshot_path(detail_type)
    if os.environ.get("UPDATE_SCHEMA_SNAPSHOTS"):
        if path.exists():
            assert breaking_changes(json.loads(path.read_text()), current) == [], "breaking: bump the event version"
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    published = json.loads(path.read_text())
    assert breaking_changes(published, current) == []
    assert published == current, f"additive change: commit the snapshot (see {Path(__file__).name} docstring)"


def test_every_event_has_a_snapshot_and_no_snapshot_is_orphaned() -> None:
    expected = {snapshot_path(name).name for name in schemas.event_names()}
    assert {p.name for p in SNAPSHOTS.glob("*.json")} == expected


# --- the checker itself: each rule catches what it should, and additive changes pass ---------------
BASE = schemas.detail_schema(constants.EVENT_ORDER_COMPLETED)


def _data(schema: dict) -> dict:
    return schema["properties"]["data"]


def _changed(edit: object) -> list[str]:
    new = copy.deepcopy(BASE)
    edit(new)  # type: ignore[operator]
    return breaking_changes(BASE, new)


def test_removing_a_field_is_breaking() -> None:
    def edit(s: dict) -> None:
        del _data(s)["properties"]["warehouseId"]
        _data(s)["required"].remove("warehouseId")

    assert _changed(edit) == ["$.data.warehouseId: removed or renamed", "$.data.warehouseId: no longer required"]


def test_renaming_a_nested_field_is_breaking() -> None:
    def edit(s: dict) -> None:
        line = _data(s)["properties"]["lines"]["items"]
        line["properties"]["qty"] = line["properties"].pop("quantity")
        line["required"] = ["qty" if r == "quantity" else r for r in line["required"]]

    assert "$.data.lines[].quantity: removed or renamed" in _changed(edit)


def test_retyping_a_field_is_breaking() -> None:
    def edit(s: dict) -> None:
        _data(s)["properties"]["totalCents"] = {"type": "string"}

    assert _changed(edit) == ["$.data.totalCents: type ['integer'] became ['string']"]


def test_a_new_required_field_is_breaking() -> None:
    def edit(s: dict) -> None:
        _data(s)["properties"]["channel"] = {"type": "string"}
        _data(s)["required"].append("channel")

    assert _changed(edit) == ["$.data.channel: new required field"]


def test_making_a_field_optional_is_breaking() -> None:
    def edit(s: dict) -> None:
        _data(s)["required"].remove("siteVariant")

    assert _changed(edit) == ["$.data.siteVariant: no longer required"]


def test_a_new_optional_field_or_description_is_not_breaking() -> None:
    def edit(s: dict) -> None:
        _data(s)["properties"]["channel"] = {"type": "string"}
        _data(s)["properties"]["orderId"]["description"] = "reworded"

    assert _changed(edit) == []
