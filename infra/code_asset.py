"""The functions' one code asset: the repository's `lambdas/` package, with bytecode for the runtime compiled ahead.

Lambda unpacks the asset into /var/task, which is read-only: without bytecode in the asset Python compiles every
one of our modules on every cold start (`python -m bench --only cold` measures it). So the asset is built by a
local bundling step (no Docker) that copies `lambdas/` and compiles it with the runtime's Python version:

- unchecked-hash .pyc (PEP 552): the asset is immutable, and CDK zips it with fixed 1980 timestamps, so
  timestamp-checked .pyc would never match their sources and be ignored;
- the bytes repeat from one synth to the next, and with them the asset hash (computed from the output): the
  recorded source paths are /var/task's, and PYTHONHASHSEED=0 (a set literal marshals in hash order);
- an interpreter of the runtime's version is needed (bytecode is per minor version): `python3.13` on PATH, or
  the one named by LAMBDA_BYTECODE_PYTHON, or a pyenv install. Without one the asset ships the sources only
  and synth says so on stderr: the functions behave the same, only their cold starts are slower.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, BundlingOutput, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
RUNTIME_VERSION = RUNTIME.name.removeprefix("python")  # "3.13"
PACKAGE = "lambdas"
# Never copied: local caches (the runtime's bytecode is compiled fresh) and tests.
NOT_SHIPPED = ("__pycache__", "*.pyc", "tests")
BYTECODE_PYTHON_VARIABLE = "LAMBDA_BYTECODE_PYTHON"
# Where Lambda unpacks the asset: the source paths the bytecode records (tracebacks name them), and not the
# build's temporary directory, which would change the bytes on every synth.
LAMBDA_TASK_ROOT = "/var/task"


def runtime_python() -> str | None:
    """An interpreter of the Lambda runtime's Python version, or None. One named by LAMBDA_BYTECODE_PYTHON must be
    one (a wrong name is an error, not a silent source-only asset); the others are tried by running them: a
    pyenv shim of an installed but unselected version is on PATH and fails."""
    named = os.environ.get(BYTECODE_PYTHON_VARIABLE)
    if named:
        if _version(named) != RUNTIME_VERSION:
            raise ValueError(f"{BYTECODE_PYTHON_VARIABLE}={named} is not a working python{RUNTIME_VERSION}")
        return named
    candidates = [shutil.which(f"python{RUNTIME_VERSION}")]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{RUNTIME_VERSION}.*/bin/python3")))
    return next((c for c in candidates if c and _version(c) == RUNTIME_VERSION), None)


def _version(python: str) -> str | None:
    """The interpreter's "major.minor", or None when it does not run."""
    try:
        probe = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        )
    except OSError:
        return None
    return probe.stdout.strip() if probe.returncode == 0 else None


def build(output_dir: Path, python: str | None) -> bool:
    """Copy `lambdas/` into output_dir and compile it with `python`; returns whether bytecode was compiled."""
    shutil.copytree(REPO_ROOT / PACKAGE, output_dir / PACKAGE, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    if python is None:
        return False
    compile_bytecode(output_dir / PACKAGE, f"{LAMBDA_TASK_ROOT}/{PACKAGE}", python)
    return True


def compile_bytecode(directory: Path, deployed_as: str, python: str) -> None:
    """Unchecked-hash .pyc for every module under `directory`, recording `deployed_as` as its path in Lambda,
    byte for byte the same from one build to the next."""
    subprocess.run(
        [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", "-d", deployed_as, str(directory)],
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=True,
    )


@jsii.implements(ILocalBundling)
class _LocalBuild:
    """CDK's local bundling hook: always builds here, so Docker is never needed."""

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        python = runtime_python()
        if not build(Path(output_dir), python):
            print(
                f"code asset: no python{RUNTIME_VERSION} found (PATH, ${BYTECODE_PYTHON_VARIABLE}, pyenv): shipping "
                "sources only, so every cold start compiles our modules",
                file=sys.stderr,
            )
        return True


def code() -> lambda_.AssetCode:
    """The asset every function of the stack shares."""
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        # The hash is the built output's, bytecode included (no `exclude`: CDK would apply it to the output's
        # fingerprint too, and a .pyc pattern would let two different builds share one hash).
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Required by CDK, never pulled: the local build always succeeds (try_bundle returns True).
            image=RUNTIME.bundling_image,
            # jsii calls try_bundle(output_dir, options) positionally; its stub declares the options as keywords.
            local=_LocalBuild(),  # type: ignore[arg-type]
            output_type=BundlingOutput.NOT_ARCHIVED,
        ),
    )
