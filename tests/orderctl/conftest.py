"""The synthesized stack served by the sandbox on a free port, and orderctl run against it.

orderctl runs in this process (its main(), the same code path as the ``orderctl`` command) with
``--endpoint-url`` pointing at the server: every call it makes goes over HTTP to the sandbox,
exactly as from another process; the handlers behind the server run here too.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orderctl.__main__ import main
from sandbox import scenarios
from sandbox.account import Sandbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="package")
def server(cdk_out: Path) -> Iterator[Sandbox]:
    """`python -m sandbox serve`, in this process: the stack deployed and served on 127.0.0.1."""
    with Sandbox(cdk_out, port=free_port(), seed_catalog=scenarios.CATALOG_PATH) as running:
        yield running


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@dataclass(frozen=True)
class Orderctl:
    endpoint_url: str

    def __call__(self, *argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):  # argparse's usage errors go to sys.stderr
            try:
                code = main([*argv, "--endpoint-url", self.endpoint_url], stdout=out, stderr=err)
            except SystemExit as exited:  # argparse: --help (0) or a usage mistake (2)
                code = int(exited.code or 0)
        return Run(code, out.getvalue(), err.getvalue())

    def ok(self, *argv: str) -> Run:
        run = self(*argv)
        assert run.code == 0, f"orderctl {' '.join(argv)} failed:\n{run.out}{run.err}"
        return run

    def data(self, *argv: str) -> Any:
        return self.ok(*argv, "--json").json


@pytest.fixture(scope="package")
def orderctl(server: Sandbox) -> Orderctl:
    assert server.endpoint_url
    return Orderctl(server.endpoint_url)


class OrderIds:
    """Fresh order ids: the sandbox is shared by the package's tests."""

    def __init__(self) -> None:
        self._serial = 0

    def __call__(self, prefix: str = "ctl") -> str:
        self._serial += 1
        return f"{prefix}-{self._serial:04d}"


@pytest.fixture(scope="package")
def new_id() -> OrderIds:
    return OrderIds()
