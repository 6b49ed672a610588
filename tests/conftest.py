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
from tests.synth import Synthesized, synthesize

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
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app synthesized once per session (cdk-nag on), shared by infra, e2e, orderctl and reliability."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def cdk_out(synthesized: Synthesized) -> Path:
    """The cloud assembly directory, as `make synth` writes cdk.out/."""
    return synthesized.outdir
