"""The Lambda functions of the synthesized template (cdk.out), as the bench needs them: each one's
sandbox FunctionSpec (what the sandbox would run), plus what only the bench reads (asset, architectures)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cost import FixedCosts
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


def resources(cdk_out: Path) -> dict[str, dict[str, Any]]:
    """Logical id -> resource of the synthesized template."""
    resources: dict[str, dict[str, Any]] = json.loads(template_path(cdk_out).read_text()).get("Resources", {})
    return resources


def _uses_kms(resource: dict[str, Any]) -> bool:
    props = resource.get("Properties", {})
    kind = resource.get("Type")
    if kind == "AWS::Logs::LogGroup":
        return "KmsKeyId" in props
    if kind == "AWS::DynamoDB::Table":  # SSEEnabled: a KMS key (AWS managed unless one is named)
        return bool(props.get("SSESpecification", {}).get("SSEEnabled"))
    if kind == "AWS::SQS::Queue":
        return "KmsMasterKeyId" in props
    if kind == "AWS::StepFunctions::StateMachine":
        return props.get("EncryptionConfiguration", {}).get("Type") == "CUSTOMER_MANAGED_KMS_KEY"
    if kind == "AWS::SNS::Topic":
        return "KmsMasterKeyId" in props
    return False


def kms_users(cdk_out: Path) -> list[str]:
    """Logical ids of the resources whose data a KMS key encrypts (each caches its data key)."""
    return sorted(logical_id for logical_id, resource in resources(cdk_out).items() if _uses_kms(resource))


def fixed_costs(cdk_out: Path, custom_metrics: int) -> FixedCosts:
    kinds = [str(resource.get("Type")) for resource in resources(cdk_out).values()]
    return FixedCosts(
        alarms=kinds.count("AWS::CloudWatch::Alarm"),
        custom_metrics=custom_metrics,
        dashboards=kinds.count("AWS::CloudWatch::Dashboard"),
        kms_keys=kinds.count("AWS::KMS::Key"),
        kms_cached_key_resources=len(kms_users(cdk_out)),
    )


def log_retention_days(cdk_out: Path) -> int:
    """The function log groups' retention (the longest, if they differ)."""
    days = [
        int(resource.get("Properties", {}).get("RetentionInDays", 0))
        for resource in resources(cdk_out).values()
        if resource.get("Type") == "AWS::Logs::LogGroup"
    ]
    return max(days, default=0)
