"""The functions' third-party code: a layer built from this repository's pins, so Lambda runs what the tests run.

Powertools with its Tracer's X-Ray SDK, at the versions constraints.txt pins for the venv, installed for the
runtime (python3.13, arm64 wheels) and compiled ahead like the code asset (infra/code_asset.py): /opt is
read-only too, so a layer without bytecode compiles all of Powertools on every cold start. boto3 and what it
needs (botocore, jmespath, urllib3, ...) come from the runtime, as before.

The AWS-published Powertools layer remains a choice (`-c powertoolsLayerVersion=N` or `-c powertoolsLayerArn=...`,
infra/functions.py): offline, where PyPI cannot be reached, or to follow AWS's builds. Ours differs from it in
what we can check: its version is the venv's, and wrapt is pinned below 2.2, whose `import asyncio` added
about a tenth of boto3's import time to every cold start (docs/BENCH.md).

The build needs pip and PyPI (as `make setup` does) and takes a few seconds; it is kept under .build/ by a key of
everything that goes into it, so later synths (and every test's) reuse it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from aws_cdk import AssetHashType
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from packaging.utils import canonicalize_name

from infra import code_asset
from infra.code_asset import ARCHITECTURE, REPO_ROOT, RUNTIME, RUNTIME_VERSION

CONSTRAINTS = REPO_ROOT / "constraints.txt"
# aws-lambda-powertools[tracer] and what it needs beyond what the runtime ships with boto3
# (tests/infra/test_dependency_layer.py derives the same set from the installed packages' metadata).
PACKAGES = ("aws-lambda-powertools", "aws-xray-sdk", "typing-extensions", "wrapt")
# pip's name for the wheels Lambda can load on ARCHITECTURE.
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
# Where Lambda mounts a layer's python/ directory: the path the bytecode records.
LAYER_ROOT = "/opt/python"
CACHE = REPO_ROOT / ".build"


class DependencyLayerError(RuntimeError):
    """The layer could not be built (pip failed): the message says why and what to do instead."""


def pins(constraints: Path = CONSTRAINTS) -> dict[str, str]:
    """PACKAGES -> the version constraints.txt pins; DependencyLayerError naming any that it does not pin."""
    pinned: dict[str, str] = {}
    for line in constraints.read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pinned[canonicalize_name(name)] = version.strip()
    missing = [p for p in PACKAGES if p not in pinned]
    if missing:
        raise DependencyLayerError(f"{constraints.name} pins no version of {', '.join(missing)}")
    return {p: pinned[p] for p in PACKAGES}


def build(directory: Path, versions: dict[str, str], python: str | None) -> None:
    """Install the pinned wheels for the runtime into directory/python and compile them with `python` (when
    there is one)."""
    target = directory / "python"
    requirements = [f"{name}=={version}" for name, version in versions.items()]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--no-compile", "--only-binary=:all:",
        "--implementation", "cp", "--python-version", RUNTIME_VERSION, "--platform", PLATFORMS[ARCHITECTURE.name],
        "--target", str(target), *requirements,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise DependencyLayerError(
            f"building the dependency layer (pip install {' '.join(requirements)}) failed:\n"
            f"{result.stderr.strip()[-1500:]}\nWithout PyPI, deploy on AWS's Powertools layer instead: "
            "-c powertoolsLayerVersion=<version> (docs/OPERATIONS.md)."
        )
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: nothing runs them in Lambda
    if python is not None:
        code_asset.compile_bytecode(target, LAYER_ROOT, python)


def cache_key(versions: dict[str, str], bytecode: bool) -> str:
    """Everything the layer's bytes depend on: the pins, the runtime, whether it is compiled, and this builder."""
    recipe = json.dumps([versions, RUNTIME_VERSION, ARCHITECTURE.name, bytecode], sort_keys=True)
    return hashlib.sha256(Path(__file__).read_bytes() + recipe.encode()).hexdigest()


def built(versions: dict[str, str], python: str | None) -> tuple[Path, str]:
    """The layer's directory (built once per key, under .build/) and its key."""
    key = cache_key(versions, python is not None)
    directory = CACHE / f"dependency-layer-{key[:16]}"
    if not directory.is_dir():
        CACHE.mkdir(exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="dependency-layer-", dir=CACHE))
        try:
            build(scratch, versions, python)
            os.rename(scratch, directory)  # atomic: a concurrent synth (test workers) sees all of it or none
        except OSError:
            if not directory.is_dir():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return directory, key


def layer(scope: Construct) -> lambda_.LayerVersion:
    """The stack's dependency layer."""
    versions = pins()
    python = code_asset.runtime_python()
    directory, key = built(versions, python)
    return lambda_.LayerVersion(
        scope,
        "DependencyLayer",
        code=lambda_.Code.from_asset(str(directory), asset_hash_type=AssetHashType.CUSTOM, asset_hash=key),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="Powertools " + versions["aws-lambda-powertools"] + " with the X-Ray SDK, from constraints.txt",
    )
