"""The functions' code asset (infra/code_asset.py): our package only, with bytecode Lambda's Python uses as shipped.

The checks that need an interpreter of the runtime's version skip, naming why, on a machine without one; the
asset then ships sources only, which the last tests check.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from bench.template import functions
from infra import code_asset

RUNTIME_PYTHON = code_asset.runtime_python()
needs_runtime_python = pytest.mark.skipif(
    RUNTIME_PYTHON is None, reason=f"no python{code_asset.RUNTIME_VERSION} here: the asset ships sources only"
)
TAG = f"cpython-{code_asset.RUNTIME_VERSION.replace('.', '')}"
# PEP 552: the flags word after the magic number; 0b01 = hash-based, without checking the source.
UNCHECKED_HASH = 0b01


def sources(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*.py"))


@pytest.fixture(scope="module")
def asset_dir(cdk_out: Path) -> Path:
    """The one directory every function's Code.S3Key names."""
    dirs = {f.asset_dir for f in functions(cdk_out)}
    assert len(dirs) == 1 and None not in dirs, dirs
    found = dirs.pop()
    assert found is not None
    return found


def test_the_asset_is_the_package_without_tests_or_local_caches(asset_dir: Path) -> None:
    repo = code_asset.REPO_ROOT
    assert [p.name for p in asset_dir.iterdir()] == [code_asset.PACKAGE]
    shipped = sources(asset_dir)
    expected = [p for p in sources(repo / code_asset.PACKAGE) if "tests" not in p.parts]
    assert shipped == [Path(code_asset.PACKAGE) / p for p in expected]
    local_tag = sys.implementation.cache_tag
    assert not [p for p in asset_dir.rglob("*.pyc") if local_tag in p.name and local_tag != TAG]


@needs_runtime_python
def test_every_module_ships_unchecked_bytecode_for_the_runtime(asset_dir: Path) -> None:
    for source in asset_dir.rglob("*.py"):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{TAG}.pyc"
        assert pyc.is_file(), f"{source.relative_to(asset_dir)} ships no {TAG} bytecode"
        header = pyc.read_bytes()[:16]
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, f"{pyc.name} is checked against its source"
        # Tracebacks in Lambda name where the asset is unpacked, not where synth built it.
        assert f"{code_asset.LAMBDA_TASK_ROOT}/{code_asset.PACKAGE}/".encode() in pyc.read_bytes()


@needs_runtime_python
def test_the_runtime_imports_the_shipped_bytecode_from_a_read_only_copy(asset_dir: Path, tmp_path: Path) -> None:
    """As in /var/task: nothing can be written, and the sources' timestamps are the zip's (1980)."""
    assert RUNTIME_PYTHON is not None
    task = tmp_path / "task"
    subprocess.run(["cp", "-r", str(asset_dir), str(task)], check=True)
    for path in task.rglob("*"):
        if path.suffix == ".py":
            os.utime(path, (315532800, 315532800))  # 1980-01-01, as CDK zips the asset
    module = "lambdas.shared.constants"
    result = subprocess.run(
        [RUNTIME_PYTHON, "-v", "-c", f"import {module}"],
        cwd=task,
        # boto3 (which the package imports first) is the runtime's in Lambda: here the venv's, pure Python.
        env={
            "PATH": os.environ["PATH"],
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": sysconfig.get_paths()["purelib"],
        },
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = [line for line in result.stderr.splitlines() if line.startswith("# code object from")]
    ours = [line for line in loaded if str(task) in line]
    assert ours and all(line.rstrip("'").endswith(f".{TAG}.pyc") for line in ours), ours


@needs_runtime_python
def test_two_builds_are_byte_for_byte_the_same(tmp_path: Path) -> None:
    """The asset's hash is its output's: a rebuild of the same code must not change it (and redeploy)."""
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        out.mkdir()
        assert code_asset.build(out, RUNTIME_PYTHON)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert [p for p in files if (first / p).read_bytes() != (second / p).read_bytes()] == []


def test_without_the_runtime_python_the_asset_ships_sources_only(tmp_path: Path) -> None:
    assert code_asset.build(tmp_path, None) is False
    assert list(tmp_path.rglob("*.pyc")) == []
    expected = [p for p in sources(code_asset.REPO_ROOT / code_asset.PACKAGE) if "tests" not in p.parts]
    assert sources(tmp_path) == [Path(code_asset.PACKAGE) / p for p in expected]


def test_a_named_interpreter_of_another_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(code_asset.BYTECODE_PYTHON_VARIABLE, sys.executable)  # this venv's 3.11
    if sys.version_info[:2] == tuple(int(n) for n in code_asset.RUNTIME_VERSION.split(".")):
        pytest.skip("this interpreter is the runtime's version")
    with pytest.raises(ValueError, match=code_asset.BYTECODE_PYTHON_VARIABLE):
        code_asset.runtime_python()
