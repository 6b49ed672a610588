"""Fixtures shared by every test: an offline AWS (moto) and the project's tables in it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

# No test may reach AWS: fake credentials and a fixed region before anything creates a client.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "OrderProcessing",
        "POWERTOOLS_DEV": "0",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from moto import mock_aws

from lambdas.shared import constants
from tests.synth import Synthesized, synthesize, synthesized_once

TEST_TABLES = {
    constants.ENV_INVENTORY_TABLE: ("test-inventory", constants.INVENTORY_TABLE_KEYS),
    constants.ENV_PAYMENTS_TABLE: ("test-payments", constants.PAYMENTS_TABLE_KEYS),
    constants.ENV_LEDGER_TABLE: ("test-ledger", constants.LEDGER_TABLE_KEYS),
}


@pytest.fixture
def aws() -> Iterator[None]:
    """An empty in-memory AWS account for one test."""
    with mock_aws():
        yield


def create_table(name: str, keys: tuple[str, str | None]) -> Any:
    partition, sort = keys
    schema = [{"AttributeName": partition, "KeyType": "HASH"}]
    attributes = [{"AttributeName": partition, "AttributeType": "S"}]
    if sort:
        schema.append({"AttributeName": sort, "KeyType": "RANGE"})
        attributes.append({"AttributeName": sort, "AttributeType": "S"})
    return boto3.resource("dynamodb").create_table(
        TableName=name, KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )


@pytest.fixture
def tables(aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The project's three tables (same key schemas as the stack), named in the environment."""
    created = {}
    for env_name, (table_name, keys) in TEST_TABLES.items():
        created[env_name] = create_table(table_name, keys)
        monkeypatch.setenv(env_name, table_name)
    return created


def lambda_context(function_name: str = "test-function") -> Any:
    """A stand-in for the Lambda context object: what Powertools reads from it."""
    return SimpleNamespace(
        function_name=function_name,
        memory_limit_in_mb=256,
        invoked_function_arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}",
        aws_request_id="11111111-2222-3333-4444-555555555555",
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Synthesized:
    """The app synthesized once per session (cdk-nag on), shared by infra, e2e, orderctl and reliability.

    Under pytest-xdist every worker has this session fixture: the first to ask synthesizes into the run's
    shared temporary directory, the others wait for it and read it (a synth costs a core for half a minute)."""
    if worker_id == "master":
        return synthesize(tmp_path_factory.mktemp("cdk.out"))
    return synthesized_once(tmp_path_factory.getbasetemp().parent / "cdk.out")


@pytest.fixture(scope="session")
def cdk_out(synthesized: Synthesized) -> Path:
    """The cloud assembly directory, as `make synth` writes cdk.out/."""
    return synthesized.outdir


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marks into groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup``, keep the tests that share a package- or module-scoped fixture on one worker.

    A package's sandbox (tests/e2e, tests/orderctl, ...) or a module's own synth is then set up once, not once
    per worker. A module goes whole into the group of the widest such fixture any of its tests uses; tests
    using only function- or session-scoped fixtures are spread test by test.
    """
    widest: dict[Path, str] = {}
    for item in items:
        module = item.path
        for group in _shared_fixture_groups(item):
            if module not in widest or len(group) < len(widest[module]):
                widest[module] = group  # a package's path is shorter than any of its modules'
    for item in items:
        if item.path in widest:
            item.add_marker(pytest.mark.xdist_group(widest[item.path]))


def _shared_fixture_groups(item: pytest.Item) -> list[str]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    groups = []
    for definitions in info.name2fixturedefs.values():
        for definition in definitions:
            if definition.scope == "package":
                groups.append(definition.baseid or ".")
            elif definition.scope == "module":
                groups.append(item.nodeid.split("::", 1)[0])
    return groups
