"""What each Lambda uploads: the directory CDK staged for its Code.S3Key, zipped as `cdk deploy` zips it."""

from __future__ import annotations

from pathlib import Path

from bench.template import FunctionInfo
from sandbox.deploy import zip_directory


def sizes(functions: list[FunctionInfo]) -> dict[str, object]:
    """KB per function, the files in each asset, and whether any third-party code slipped in."""
    per_function: dict[str, float] = {}
    measured: dict[Path, tuple[float, int, list[str]]] = {}
    for function in functions:
        if function.asset_dir is None:
            raise RuntimeError(f"{function.logical_id}: no staged asset directory in cdk.out (synthesize first)")
        if function.asset_dir not in measured:
            files = [p for p in function.asset_dir.rglob("*") if p.is_file()]
            top_level = sorted({p.relative_to(function.asset_dir).parts[0] for p in files})
            measured[function.asset_dir] = (len(zip_directory(function.asset_dir)) / 1024, len(files), top_level)
        per_function[function.short_name] = round(measured[function.asset_dir][0], 1)
    return {
        "lambda_asset_kb": per_function,
        "lambda_asset_kb_max": max(per_function.values()) if per_function else 0.0,
        "distinct_assets": [
            {"dir": path.name, "kb": round(kb, 1), "files": count, "top_level": top}
            for path, (kb, count, top) in measured.items()
        ],
    }
