"""The moto fix tests run in an empty sandbox account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.account import Sandbox


@pytest.fixture
def account() -> Iterator[Sandbox]:
    """An empty sandbox account: every fix on, nothing deployed."""
    with Sandbox(cdk_out=None) as sandbox:
        sandbox.client("iam").create_role(RoleName="fixture", AssumeRolePolicyDocument="{}")
        yield sandbox
