"""Synthesizing a stage, or for a region, as `cdk synth -c stage=NAME` does with a profile's region.

tests/synth.py reads the default stage's template; a stage's template is named after its stack
(infra/names.stack_name), and a region comes from CDK_DEFAULT_REGION as the CDK CLI sets it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.synth import Synthesized


@contextmanager
def default_region(region: str | None) -> Iterator[None]:
    saved = os.environ.get("CDK_DEFAULT_REGION")
    if region is None:
        os.environ.pop("CDK_DEFAULT_REGION", None)
    else:
        os.environ["CDK_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CDK_DEFAULT_REGION", None)
        else:
            os.environ["CDK_DEFAULT_REGION"] = saved


def synthesize_for(outdir: Path, context: dict[str, Any] | None = None, region: str | None = None) -> Synthesized:
    from app import build_app

    with default_region(region):
        app, stack = build_app(context=context, outdir=str(outdir))
        app.synth()
    template_path = outdir / stack.template_file
    return Synthesized(outdir, template_path, json.loads(template_path.read_text()))


def own_functions(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """The stack's own functions (infra/functions.py builds them all): every AWS::Lambda::Function but CDK's
    custom-resource providers, i.e. the functions a ``Custom::*`` resource names as its ServiceToken (today
    CDK's BucketDeployment handler for the back-office page). aws-cdk-lib ships their code, runtime and layer
    and CloudFormation alone invokes them, during deployments; they run none of our code."""
    from sandbox.deploy import custom_resource_providers

    providers = custom_resource_providers(synthesized.template)
    functions = synthesized.resources("AWS::Lambda::Function")
    for name in providers & set(functions):
        handler = str(functions[name]["Properties"].get("Handler", ""))
        assert not handler.startswith("lambdas."), f"{name} runs our code ({handler}): it is ours, not CDK's"
    return {name: f for name, f in functions.items() if name not in providers}


def flatten(value: Any) -> str:
    """A template value as text: Fn::Join parts joined, other intrinsics as {Ref:...} JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(flatten(p) for p in parts)
    return json.dumps(value, sort_keys=True)
