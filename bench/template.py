"""The Lambda functions of the synthesized template (cdk.out), as the bench needs them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambdas.shared import constants


class TemplateMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class FunctionInfo:
    logical_id: str
    handler: str  # "lambdas.x.handler.handler"
    memory_mb: int
    architectures: tuple[str, ...]
    asset_dir: Path | None  # the directory CDK staged for Code.S3Key (cdk.out/asset.<hash>)
    environment: dict[str, str] = field(default_factory=dict)  # literal values only (refs dropped)

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def short_name(self) -> str:
        """lambdas.subscribers.audit.handler.handler -> subscribers.audit"""
        return self.module.removeprefix("lambdas.").removesuffix(".handler")


def template_path(cdk_out: Path) -> Path:
    path = Path(cdk_out) / f"{constants.STACK_NAME}.template.json"
    if not path.exists():
        raise TemplateMissing(f"{path} does not exist: run `make synth` first")
    return path


def functions(cdk_out: Path) -> list[FunctionInfo]:
    template = json.loads(template_path(cdk_out).read_text())
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        props: dict[str, Any] = resource["Properties"]
        if "Handler" not in props:  # CDK's own helper functions (none today) carry inline code
            continue
        key = props.get("Code", {}).get("S3Key")
        asset = Path(cdk_out) / f"asset.{key.removesuffix('.zip')}" if isinstance(key, str) else None
        variables = props.get("Environment", {}).get("Variables", {})
        found.append(
            FunctionInfo(
                logical_id=logical_id,
                handler=props["Handler"],
                memory_mb=int(props.get("MemorySize", 128)),
                architectures=tuple(props.get("Architectures", ["x86_64"])),
                asset_dir=asset if asset and asset.is_dir() else None,
                environment={k: v for k, v in variables.items() if isinstance(v, str)},
            )
        )
    return found
