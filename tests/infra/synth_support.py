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
