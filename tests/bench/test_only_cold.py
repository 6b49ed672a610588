"""`python -m bench --only cold`: the cold imports alone, written into the same document, the rest kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as bench_main


def test_only_cold_updates_the_cold_imports_and_keeps_the_previous_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "latest.json"
    out.write_text(json.dumps({"generated_at": "before", "happy_path_transitions": 8, "burst": {"lost": 0}}))
    cold = {
        "handlers": {"h": {"ratio": 1.2, "median_cpu_ms": 180.0}},
        "worst_handler": "h",
        "cold_import_ratio_max": 1.2,
        "baseline_median_cpu_ms": 150.0,
    }
    measured: list[int] = []

    def cold_imports(functions: list[Any], repeats: int) -> dict[str, Any]:
        measured.append(repeats)
        return {"cold_import": dict(cold), "cold_import_ratio_max": 1.2}

    monkeypatch.setattr(bench_main.template, "functions", lambda cdk_out: [])
    monkeypatch.setattr(bench_main.assets, "sizes", lambda functions: {"lambda_asset_kb": 1})
    monkeypatch.setattr(bench_main, "_cold_imports", cold_imports)
    monkeypatch.setattr(bench_main.report, "table", lambda document: "")
    assert bench_main.main(["--only", "cold", "--out", str(out), "--import-repeats", "3"]) == 0

    written = json.loads(out.read_text())
    assert measured == [3]
    assert written["cold_import_ratio_max"] == 1.2 and written["goals"]["cold_import_ratio_max"]["met"] is True
    assert written["cold_import"]["measured_at"] != "before"
    assert (written["generated_at"], written["happy_path_transitions"], written["burst"]) == ("before", 8, {"lost": 0})
    assert written["goals"]["happy_path_transitions"]["met"] is True
