"""Deploys a synthesized CDK app (cdk.out) into the sandbox the way `cdk deploy` does.

0. Check that the stack may be deployed here: a template synthesized for a region or an account (a
   `cdk synth` with a region or a profile) deploys only there, as `cdk deploy` would deploy it; an
   environment-agnostic one (``aws://unknown-account/unknown-region``) deploys anywhere.
1. Bootstrap the account (what `cdk bootstrap` leaves behind and the template checks): the SSM
   parameter ``/cdk-bootstrap/<qualifier>/version`` and the assets bucket.
2. Publish the file assets listed in ``<Stack>.assets.json`` (directories zipped) to that bucket.
3. Create the CloudFormation stack from ``<Stack>.template.json``, unchanged, and read its outputs
   and physical resource ids.

The template is the only description of the system used: names, environments, rules, patterns and
the state machine definition all come from it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambdas.shared import constants

BOOTSTRAP_QUALIFIER = "hnb659fds"  # CDK's default qualifier
BOOTSTRAP_VERSION = "28"  # any version the template's CheckBootstrapVersion rule accepts (>= 6)


class DeployError(RuntimeError):
    pass


@dataclass(frozen=True)
class StackResource:
    logical_id: str
    physical_id: str
    type: str


@dataclass
class Deployment:
    """What the stack created: outputs by name, resources by logical id, and what moto skipped."""

    stack_name: str
    template: dict[str, Any]
    outputs: dict[str, str]
    resources: dict[str, StackResource]
    not_simulated: dict[str, str] = field(default_factory=dict)  # logical id -> resource type

    def of_type(self, resource_type: str) -> list[StackResource]:
        return [r for r in self.resources.values() if r.type == resource_type]

    def functions(self) -> dict[str, dict[str, Any]]:
        """Lambda functions by physical name -> their template properties (handler, environment...)."""
        return {
            self.resources[logical].physical_id: properties
            for logical, properties in template_functions(self.template).items()
            if logical in self.resources
        }

    def function_log_groups(self) -> dict[str, str]:
        """Function name -> the log group its LoggingConfig names (CDK's explicit log groups)."""
        groups = {}
        for name, properties in self.functions().items():
            reference = properties.get("LoggingConfig", {}).get("LogGroup")
            if isinstance(reference, dict) and reference.get("Ref") in self.resources:
                groups[name] = self.resources[reference["Ref"]].physical_id
            elif isinstance(reference, str):
                groups[name] = reference
        return groups


def template_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's Lambda functions that run a handler: logical id -> properties (CDK's own helper
    functions with inline code and no Handler are left out, and so are custom resources' providers, e.g.
    CDK's BucketDeployment handler: CloudFormation alone invokes them, and the sandbox completes those
    resources itself, sandbox/moto_fixes/cloudformation.py)."""
    providers = custom_resource_providers(template)
    return {
        logical: resource["Properties"]
        for logical, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Lambda::Function"
        and "Handler" in resource.get("Properties", {})
        and logical not in providers
    }


def custom_resource_providers(template: dict[str, Any]) -> set[str]:
    """Logical ids of the functions that custom resources (``Custom::*``) name as their ServiceToken."""
    providers: set[str] = set()
    for resource in template["Resources"].values():
        if str(resource.get("Type", "")).startswith("Custom::"):
            token = resource.get("Properties", {}).get("ServiceToken")
            if isinstance(token, dict) and "Fn::GetAtt" in token:
                providers.add(str(token["Fn::GetAtt"][0]))
    return providers


@dataclass(frozen=True)
class StackEnvironment:
    """The account and region a stack was synthesized for (None: environment-agnostic)."""

    account: str | None = None
    region: str | None = None


def stack_environment(cdk_out: Path, stack_name: str = constants.STACK_NAME) -> StackEnvironment:
    """From the cloud assembly's manifest.json: ``aws://<account>/<region>``, where `cdk synth` writes
    unknown-account / unknown-region for what it was not given. (A `npx cdk synth` with no region
    configured at all gives the app us-east-1, the CLI's fallback: that stack deploys only there.)"""
    manifest_path = Path(cdk_out) / "manifest.json"
    if not manifest_path.exists():
        return StackEnvironment()
    artifact = json.loads(manifest_path.read_text()).get("artifacts", {}).get(stack_name, {})
    account, _, region = str(artifact.get("environment", "")).removeprefix("aws://").partition("/")
    return StackEnvironment(
        account=None if account in ("", "unknown-account") else account,
        region=None if region in ("", "unknown-region") else region,
    )


def check_environment(cdk_out: Path, stack_name: str, account: str, region: str) -> None:
    """DeployError (one line: what to do) when the stack was synthesized for another account or region."""
    pinned = stack_environment(cdk_out, stack_name)
    if pinned.region and pinned.region != region:
        raise DeployError(
            f"{stack_name} in {cdk_out} was synthesized for region {pinned.region}, the sandbox runs in {region}: "
            f"start the sandbox without a region (it then uses {pinned.region}), or synthesize for {region} "
            f"(`AWS_REGION={region} npx cdk synth`)"
        )
    if pinned.account and pinned.account != account:
        raise DeployError(
            f"{stack_name} in {cdk_out} was synthesized for account {pinned.account} (a profile's), the sandbox "
            f"is account {account}: synthesize without a profile or credentials (`env -u AWS_PROFILE npx cdk synth`)"
        )


def template_path(cdk_out: Path, stack_name: str = constants.STACK_NAME) -> Path:
    path = Path(cdk_out) / f"{stack_name}.template.json"
    if not path.exists():
        raise DeployError(f"{path} does not exist: synthesize first (`make synth`)")
    return path


def _substitute(text: str, account: str, region: str) -> str:
    return (
        text.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region).replace("${AWS::Partition}", "aws")
    )


def zip_directory(directory: Path) -> bytes:
    """A directory asset as `cdk deploy` uploads it: deflated, in sorted order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(files):
                path = Path(root) / name
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


@functools.lru_cache(maxsize=8)
def zipped_asset(directory: Path) -> bytes:
    """zip_directory of a staged asset, once per process: CDK names it by its content's hash (asset.<hash>), so the
    same path always holds the same files (the dependency layer is ~10 MB: a deployment per test would re-zip it)."""
    return zip_directory(directory)


def bootstrap(session: Any, account: str, region: str) -> str:
    """What `cdk bootstrap` creates that a deployment needs; returns the assets bucket name."""
    session.client("ssm").put_parameter(
        Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version", Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
    )
    bucket = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{account}-{region}"
    s3 = session.client("s3")
    kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket, **kwargs)
    return bucket


def publish_assets(session: Any, cdk_out: Path, stack_name: str, account: str, region: str) -> int:
    """Upload the stack's file assets (as `cdk deploy` does); returns how many were published."""
    manifest_path = Path(cdk_out) / f"{stack_name}.assets.json"
    if not manifest_path.exists():
        return 0
    manifest = json.loads(manifest_path.read_text())
    s3 = session.client("s3")
    published = 0
    for asset in manifest.get("files", {}).values():
        source = Path(cdk_out) / asset["source"]["path"]
        body = zipped_asset(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
        for destination in asset["destinations"].values():
            s3.put_object(
                Bucket=_substitute(destination["bucketName"], account, region),
                Key=_substitute(destination["objectKey"], account, region),
                Body=body,
            )
            published += 1
    return published


def deploy(session: Any, cdk_out: Path, stack_name: str = constants.STACK_NAME) -> Deployment:
    """Bootstrap, publish assets and create the stack from `cdk_out`; raises DeployError on failure."""
    account = session.client("sts").get_caller_identity()["Account"]
    region = session.region_name
    path = template_path(cdk_out, stack_name)
    check_environment(cdk_out, stack_name, account, region)
    body = path.read_text()
    template = json.loads(body)
    bootstrap(session, account, region)
    publish_assets(session, cdk_out, stack_name, account, region)

    cloudformation = session.client("cloudformation")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cloudformation.create_stack(
                StackName=stack_name,
                TemplateBody=body,
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            )
        except Exception as error:
            raise DeployError(f"CloudFormation could not create {stack_name} in the sandbox: {error}") from error
    del caught  # moto warns per unsupported type; the resource list below is the precise record
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise DeployError(f"{stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")

    resources: dict[str, StackResource] = {}
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            resources[summary["LogicalResourceId"]] = StackResource(
                summary["LogicalResourceId"], summary["PhysicalResourceId"], summary["ResourceType"]
            )
    not_simulated = {
        logical: spec["Type"] for logical, spec in template["Resources"].items() if logical not in resources
    }
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return Deployment(stack_name, template, outputs, resources, not_simulated)
