"""The stack's dependency layer (infra/dependency_layer.py): Powertools and the X-Ray SDK at the versions the tests run,
for the runtime's Python and architecture, compiled ahead, and nothing the runtime already ships."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra import code_asset, dependency_layer
from tests.infra.test_code_asset import TAG, UNCHECKED_HASH, needs_runtime_python

# Where the layer runs: markers are evaluated as Lambda's python3.13 on arm64 Linux would.
LAMBDA_ENVIRONMENT = {"python_version": "3.13", "sys_platform": "linux", "platform_machine": "aarch64"}


def requirements(distribution: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """The distribution and everything it needs in Lambda (with these extras), by the installed packages' metadata."""
    found: set[str] = set()
    pending = [(distribution, extras)]
    while pending:
        name, wanted = pending.pop()
        if canonicalize_name(name) in found:
            continue
        found.add(canonicalize_name(name))
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({**LAMBDA_ENVIRONMENT, "extra": e}) for e in wanted or {""}):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return found


def test_the_layer_is_powertools_with_its_tracer_less_what_the_runtime_ships() -> None:
    # Lambda's Python runtime ships boto3 and what it needs; the layer carries the rest of Powertools[tracer].
    needed = requirements("aws-lambda-powertools", frozenset({"tracer"})) - requirements("boto3")
    assert needed == set(dependency_layer.PACKAGES)


def test_the_layer_pins_are_the_versions_the_tests_run() -> None:
    assert dependency_layer.pins() == {name: metadata.version(name) for name in dependency_layer.PACKAGES}


def test_a_package_constraints_do_not_pin_is_named(tmp_path: Path) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("aws-lambda-powertools==3.37.0\naws_xray_sdk==2.15.0  # a comment\nwrapt==2.1.2\n")
    with pytest.raises(dependency_layer.DependencyLayerError, match="pins no version of typing-extensions"):
        dependency_layer.pins(constraints)


def test_the_tracer_does_not_import_asyncio() -> None:
    # wrapt 2.2 and later import asyncio (~12 ms of every cold start, docs/BENCH.md); constraints.txt keeps 2.1.
    probe = "import sys, aws_xray_sdk.core; print('asyncio' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.fixture(scope="module")
def layer_dir(cdk_out: Path) -> Path:
    """The layer's directory as synth staged it (what uploads)."""
    template = json.loads((cdk_out / "OrderProcessing.template.json").read_text())
    layers = [r for name, r in template["Resources"].items() if name.startswith("DependencyLayer")]
    assert len(layers) == 1
    # CDK stages an asset as asset.<hash>, the name of the object that uploads (<hash>.zip).
    return cdk_out / ("asset." + layers[0]["Properties"]["Content"]["S3Key"].removesuffix(".zip"))


def test_the_layer_holds_the_pinned_wheels_for_the_runtime(layer_dir: Path) -> None:
    root = layer_dir / "python"
    assert [p.name for p in layer_dir.iterdir()] == ["python"]  # Lambda puts /opt/python on sys.path
    installed = dict(p.name.removesuffix(".dist-info").rsplit("-", 1) for p in root.glob("*.dist-info"))
    assert {canonicalize_name(k): v for k, v in installed.items()} == dependency_layer.pins()
    extensions = [p.name for p in root.rglob("*.so")]
    assert extensions and all("cpython-313-aarch64-linux-gnu" in name for name in extensions), extensions
    assert not (root / "bin").exists()
    assert not [p for p in root.rglob("*.pyc") if TAG not in p.name]  # nothing compiled for this machine


@needs_runtime_python
def test_every_module_ships_unchecked_bytecode_naming_opt(layer_dir: Path) -> None:
    sources = list((layer_dir / "python").rglob("*.py"))
    assert len(sources) > 100
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{TAG}.pyc"
        assert pyc.is_file(), f"{source.relative_to(layer_dir)} ships no {TAG} bytecode"
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == UNCHECKED_HASH, pyc.name
        assert f"{dependency_layer.LAYER_ROOT}/".encode() in pyc.read_bytes(), pyc.name


def test_the_build_is_kept_by_a_key_of_everything_in_it() -> None:
    versions = dependency_layer.pins()
    key = dependency_layer.cache_key(versions, bytecode=True)
    assert key == dependency_layer.cache_key(dict(versions), bytecode=True)
    assert key != dependency_layer.cache_key(versions, bytecode=False)
    assert key != dependency_layer.cache_key({**versions, "wrapt": "2.0.0"}, bytecode=True)
    directory, built_key = dependency_layer.built(versions, code_asset.runtime_python())
    assert directory.is_dir() and directory.name.endswith(built_key[:16])


def test_a_failed_build_says_why_and_what_to_do_instead(tmp_path: Path) -> None:
    with pytest.raises(dependency_layer.DependencyLayerError) as failed:
        dependency_layer.build(tmp_path, {"wrapt": "0.0.0"}, None)
    message = str(failed.value)
    assert "wrapt==0.0.0" in message and "powertoolsLayerVersion" in message
