"""The cold-import bench times the asset as Lambda imports it: from the bytecode it ships, or from its sources."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

from bench import coldstart
from bench.template import FunctionInfo
from sandbox.lambda_runtime import FunctionSpec


def _function(asset_dir: Path, handler: str = "pkg.mod.handler") -> FunctionInfo:
    spec = FunctionSpec(
        name="F",
        arn="arn:aws:lambda:eu-west-1:123456789012:function:F",
        handler=handler,
        environment={},
        timeout_seconds=3,
        memory_mb=128,
        region="eu-west-1",
    )
    return FunctionInfo("F", spec, ("arm64",), asset_dir)


def _asset(root: Path, runtime_bytecode: bool) -> Path:
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("VALUE = 1\n")
    if runtime_bytecode:  # what infra/code_asset.py ships: bytecode for the runtime's Python, not this one's
        (root / "pkg" / "__pycache__" / "mod.cpython-313.pyc").write_bytes(b"runtime's")
    return root


def test_an_asset_shipping_runtime_bytecode_is_timed_from_bytecode_for_this_interpreter(tmp_path: Path) -> None:
    asset = _asset(tmp_path / "asset", runtime_bytecode=True)
    assert coldstart.shipped_bytecode(asset) == "cpython-313"
    with coldstart.as_shipped([_function(asset)]) as roots:
        root = roots[asset]
        assert root != asset
        assert (root / "pkg" / "__pycache__" / f"mod.{sys.implementation.cache_tag}.pyc").is_file()
    assert not root.exists()  # a scratch copy, gone afterwards; the asset itself is left as it was
    assert sorted(p.name for p in (asset / "pkg" / "__pycache__").iterdir()) == ["mod.cpython-313.pyc"]


def test_an_asset_of_sources_only_is_timed_as_it_is(tmp_path: Path) -> None:
    asset = _asset(tmp_path / "asset", runtime_bytecode=False)
    assert coldstart.shipped_bytecode(asset) is None
    with coldstart.as_shipped([_function(asset)]) as roots:
        assert roots[asset] == asset


def test_the_ratio_reads_the_fastest_samples_so_a_busy_neighbour_does_not_move_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interference only adds CPU time: a handler whose samples a neighbour hit more often than the baseline's
    keeps its ratio; only the medians' ratio moves (docs/BENCH.md, "How each figure is measured")."""
    asset = _asset(tmp_path / "asset", runtime_bytecode=False)
    costs = {"boto3": 100.0, "pkg.mod": 130.0}  # each import's own cost, ms
    hits = {"boto3": itertools.cycle([False, False, True]), "pkg.mod": itertools.cycle([False, True, True])}

    def time_import(module: str, cwd: Path, env: dict[str, str], python: str) -> tuple[float, float]:
        own = costs.get(module, 120.0)  # the floor's steps
        cpu = own * 1.6 if next(hits.get(module, itertools.repeat(False))) else own
        return cpu, cpu

    monkeypatch.setattr(coldstart, "_time_import", time_import)
    result = coldstart.measure([_function(asset)], repeats=9)
    (handler,) = result["handlers"].values()  # type: ignore[attr-defined]
    assert handler["ratio"] == 1.3 and result["cold_import_ratio_max"] == 1.3
    assert handler["median_ratio"] == 2.08  # 208 ms (two thirds of its samples disturbed) over 100
    assert result["shipped_bytecode"] == ["sources only"]


def test_each_handler_is_divided_by_the_baseline_samples_taken_next_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A neighbour busy while one handler is measured (here: whatever runs in b's directory) slows its baseline
    samples as much: its ratio stays its own; over the fastest of all baseline samples it would not."""
    a, b = _asset(tmp_path / "a", runtime_bytecode=False), _asset(tmp_path / "b", runtime_bytecode=False)
    (b / "pkg" / "mod.py").rename(b / "pkg" / "other.py")

    def time_import(module: str, cwd: Path, env: dict[str, str], python: str) -> tuple[float, float]:
        own = {"boto3": 100.0, "pkg.mod": 130.0, "pkg.other": 130.0}.get(module, 120.0)
        cpu = own * 1.25 if cwd == b else own
        return cpu, cpu

    monkeypatch.setattr(coldstart, "_time_import", time_import)
    result = coldstart.measure([_function(a), _function(b, "pkg.other.handler")], repeats=4)
    handlers = result["handlers"]
    assert {name: h["ratio"] for name, h in handlers.items()} == {"pkg.mod": 1.3, "pkg.other": 1.3}  # type: ignore[attr-defined]
    assert handlers["pkg.other"]["pooled_ratio"] == 1.625  # type: ignore[index]
    assert result["cold_import_ratio_max"] == 1.3 and result["pooled_ratio_max"] == 1.625
