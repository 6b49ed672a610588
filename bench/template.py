"""The Lambda functions of the synthesized template (cdk.out), as the bench needs them: each one's
sandbox FunctionSpec (what the sandbox would run), plus what only the bench reads (asset, architectures)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sandbox.account import ACCOUNT_ID, region_for
from sandbox.deploy import template_functions, template_path
from sandbox.lambda_runtime import FunctionSpec


@dataclass(frozen=True)
class FunctionInfo:
    logical_id: str
    spec: FunctionSpec  # named by its logical id; environment: the template's literal values only (refs dropped)
    architectures: tuple[str, ...]
    asset_dir: Path | None  # the directory CDK staged for Code.S3Key (cdk.out/asset.<hash>)

    @property
    def module(self) -> str:
        return self.spec.handler.rpartition(".")[0]

    @property
    def short_name(self) -> str:
        """lambdas.subscribers.audit.handler.handler -> subscribers.audit"""
        return self.module.removeprefix("lambdas.").removesuffix(".handler")


def functions(cdk_out: Path) -> list[FunctionInfo]:
    """Every function of the template that runs a handler (sandbox.deploy.DeployError without a template)."""
    template = json.loads(template_path(cdk_out).read_text())
    region = region_for(cdk_out)
    found = []
    for logical_id, props in template_functions(template).items():
        key = props.get("Code", {}).get("S3Key")
        asset = Path(cdk_out) / f"asset.{key.removesuffix('.zip')}" if isinstance(key, str) else None
        variables = props.get("Environment", {}).get("Variables", {})
        spec = FunctionSpec(
            name=logical_id,
            arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{logical_id}",
            handler=props["Handler"],
            environment={k: v for k, v in variables.items() if isinstance(v, str)},
            timeout_seconds=float(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            region=region,
        )
        architectures = tuple(props.get("Architectures", ["x86_64"]))
        found.append(FunctionInfo(logical_id, spec, architectures, asset if asset and asset.is_dir() else None))
    return found
