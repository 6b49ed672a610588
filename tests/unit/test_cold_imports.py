"""Issue 16: what a handler imports is its cold start. Modules measured as heavy and not needed on the
import path stay out of it (docs/BENCH.md, "What the cold-import figure is made of").

The handlers are imported one after another in one fresh interpreter, as Lambda imports one (Lambda's
variables set, so the Tracer is active); a forbidden module is blamed on the first handler whose import
brought it in.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HANDLERS = sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts) for path in (REPO / "lambdas").rglob("handler.py")
)
# pydantic (with pydantic_core and annotated_types) was 40% of the order API's cold import: no handler needs it.
# Powertools' batch utility imports every event source's data classes (~0.07x `import boto3`) for a loop over
# SQS records (lambdas/subscribers/notifications/handler.py has it).
FORBIDDEN_EVERYWHERE = ("pydantic", "aws_lambda_powertools.utilities.batch")
# Powertools' event handler (every resolver, its data classes) costs ~0.2x `import boto3`: the two APIs route
# their methods themselves by (method, resource) (lambdas/shared/http.py).
_EVENT_HANDLER = ("aws_lambda_powertools.event_handler",)
FORBIDDEN = {"lambdas.order_api.handler": _EVENT_HANDLER, "lambdas.backoffice_api.handler": _EVENT_HANDLER}

_PROBE = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    before = set(sys.modules)
    importlib.import_module(name)
    found[name] = sorted(set(sys.modules) - before)
print(json.dumps(found))
"""


def imported_by(handlers: list[str]) -> dict[str, list[str]]:
    """The modules each handler's import added, in one interpreter with Lambda's variables."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": "probe",
        "LAMBDA_TASK_ROOT": str(REPO),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *handlers], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found: dict[str, list[str]] = json.loads(result.stdout)
    return found


def offences(imported: dict[str, list[str]]) -> list[str]:
    """``<handler> imports <forbidden package>`` for each forbidden package (or a module of it) a handler brought."""
    return sorted(
        f"{handler} imports {package}"
        for handler, modules in imported.items()
        for package in (*FORBIDDEN_EVERYWHERE, *FORBIDDEN.get(handler, ()))
        if any(module == package or module.startswith(f"{package}.") for module in modules)
    )


def test_the_checker_blames_the_handler_that_imports_a_forbidden_module() -> None:
    imported = {
        "lambdas.order_api.handler": ["aws_lambda_powertools.event_handler", "json"],
        "lambdas.backoffice_api.handler": ["aws_lambda_powertools.event_handler.api_gateway", "pydantic"],
    }
    assert offences(imported) == [
        "lambdas.backoffice_api.handler imports aws_lambda_powertools.event_handler",
        "lambdas.backoffice_api.handler imports pydantic",
        "lambdas.order_api.handler imports aws_lambda_powertools.event_handler",
    ]


def test_the_probe_sees_what_an_import_brings() -> None:
    assert "pydantic" in imported_by(["pydantic"])["pydantic"]


def test_no_handler_imports_a_module_it_does_not_need_at_cold_start() -> None:
    assert len(HANDLERS) >= 20, HANDLERS
    assert offences(imported_by(HANDLERS)) == []


# A class made by @dataclass costs ~0.8 ms at import when frozen (~0.4 ms otherwise): its methods are generated and
# exec-compiled. A handler's import path created 8-18 of them, ~0.1x `import boto3`. So what the functions ship
# writes value types as typing.NamedTuple (~0.1 ms) and the few state holders as plain classes.
def dataclasses_in(source: str) -> list[str]:
    """The classes a module's source decorates with dataclasses' @dataclass (either spelling, called or not)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name == "dataclass":
                    found.append(node.name)
    return found


def test_the_dataclass_finder_sees_every_spelling() -> None:
    source = (
        "import dataclasses\nfrom dataclasses import dataclass\n"
        "@dataclass(frozen=True)\nclass A:\n    x: int\n"
        "@dataclasses.dataclass\nclass B:\n    x: int\n"
        "class C(NamedTuple):\n    x: int\n"
    )
    assert dataclasses_in(source) == ["A", "B"]


def test_no_module_the_functions_ship_creates_a_dataclass() -> None:
    shipped = [p for p in (REPO / "lambdas").rglob("*.py") if "tests" not in p.relative_to(REPO).parts]
    assert len(shipped) > 50
    found = {str(p.relative_to(REPO)): dataclasses_in(p.read_text()) for p in shipped}
    assert {path: classes for path, classes in found.items() if classes} == {}
