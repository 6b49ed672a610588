"""The cold-import bench times the asset as Lambda imports it: from the bytecode it ships, or from its sources."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import coldstart
from bench.template import FunctionInfo
from sandbox.lambda_runtime import FunctionSpec


def _function(asset_dir: Path) -> FunctionInfo:
    spec = FunctionSpec(
        name="F",
        arn="arn:aws:lambda:eu-west-1:123456789012:function:F",
        handler="pkg.mod.handler",
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
