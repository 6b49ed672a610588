#!/usr/bin/env python3
"""CDK app: `npx cdk synth` / `make synth` (cdk-nag AwsSolutions checks always on)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from aws_cdk import App, Environment

from infra import names
from infra.config import StackConfig
from infra.deploy_access import DeployAccessStack
from infra.nag import enable_nag
from infra.stack import OrderProcessingStack


def build_app(context: dict[str, object] | None = None, outdir: str | None = None) -> tuple[App, OrderProcessingStack]:
    """Build the app. `python app.py` reads cdk.json's context itself, so plain and CLI synth agree."""
    base = json.loads((Path(__file__).parent / "cdk.json").read_text())["context"]
    app = App(context={**base, **(context or {})}, outdir=outdir)
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
    # -c stage=NAME (default dev): an independent copy, its settings from cdk.json's "stages".
    config = StackConfig.from_node(app.node)
    stack = OrderProcessingStack(app, names.stack_name(config.stage), config, env=env)
    # GitHub Actions' deploy access (docs: .github/workflows): only when a repository is named, once per account.
    if repository := app.node.try_get_context("githubRepository"):
        DeployAccessStack(app, "OrderProcessingDeployAccess", repository=repository, env=env)
    enable_nag(app)
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
