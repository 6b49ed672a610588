"""The import graph (issue 12): no cycle, the Lambda kernel (lambdas/shared) imports no feature, and no
module imports another module's private names (``from x import _name`` or ``x._name``).

Every import counts, a function's lazy ones too. The checker is tried on a small tree with each fault first,
so a checker that finds nothing cannot pass for a clean graph.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lambdas", "infra", "orderctl", "sandbox", "bench", "tools")
KERNEL = "lambdas.shared"


@dataclass
class Graph:
    imports: dict[str, set[str]] = field(default_factory=dict)  # module -> project modules it imports
    private: list[str] = field(default_factory=list)  # "importer: module._name"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> Graph:
    paths = {module_name(root, p): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    if (root / "app.py").exists():
        paths["app"] = root / "app.py"

    def project_module(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph = Graph()
    for module, path in paths.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        imported: set[str] = set()
        aliases: dict[str, str] = {}  # a name bound to a project module -> that module
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if target := project_module(alias.name):
                        imported.add(target)
                        if alias.asname:
                            aliases[alias.asname] = target
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in paths else project_module(base)
                    if target is None:
                        continue
                    imported.add(target)
                    if target == full:
                        aliases[alias.asname or alias.name] = target
                    elif _private(alias.name) and target != module:
                        graph.private.append(f"{module}: from {target} import {alias.name}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
                target = aliases.get(node.value.id)
                if target and target != module:
                    graph.private.append(f"{module}: {target}.{node.attr}")
        imported.discard(module)
        graph.imports[module] = imported
    return graph


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(imports):
        if start in index:
            continue
        work = [(start, iter(sorted(imports[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(imports.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def kernel_imports_of_features(imports: dict[str, set[str]]) -> list[str]:
    def in_kernel(name: str) -> bool:
        return name == KERNEL or name.startswith(f"{KERNEL}.")

    return sorted(
        f"{module} -> {target}"
        for module, targets in imports.items()
        if in_kernel(module)
        for target in targets
        if target.startswith("lambdas.") and not in_kernel(target)
    )


def logic_importing_adapters(imports: dict[str, set[str]]) -> list[str]:
    """A feature's domain code (``logic``) takes its stores as arguments typed by the domain's Protocols
    (``payment_status.PaymentStore``, ``ledger.LedgerStore``): it imports no adapter, not even for a type."""

    def is_adapter(name: str) -> bool:
        return name.startswith(f"{KERNEL}.adapters") or name.rpartition(".")[2] in ("adapters", "store")

    return sorted(
        f"{module} -> {target}"
        for module, targets in imports.items()
        if module.startswith("lambdas.") and module.rpartition(".")[2] == "logic"
        for target in targets
        if is_adapter(target)
    )


def test_the_checker_finds_each_fault(tmp_path: Path) -> None:
    files = {
        "lambdas/__init__.py": "",
        "lambdas/shared/__init__.py": "",
        "lambdas/shared/model.py": "def f() -> None:\n    from lambdas.feature import logic\n",
        "lambdas/shared/adapters/__init__.py": "",
        "lambdas/shared/adapters/table.py": "",
        "lambdas/other/__init__.py": "",
        "lambdas/other/logic.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from lambdas.shared.adapters.table import T\n",
        "lambdas/feature/__init__.py": "",
        "lambdas/feature/logic.py": "import lambdas.feature.store as s\nfrom . import store\nX = s._SECRET\n",
        "lambdas/feature/store.py": "from lambdas.feature.logic import X\n_SECRET = 1\n",
        "infra/__init__.py": "",
        "infra/a.py": "from infra.b import _helper\n",
        "infra/b.py": "def _helper() -> None: ...\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = read_graph(tmp_path, ("lambdas", "infra"))
    assert cycles(graph.imports) == [["lambdas.feature.logic", "lambdas.feature.store"]]
    assert kernel_imports_of_features(graph.imports) == ["lambdas.shared.model -> lambdas.feature.logic"]
    assert logic_importing_adapters(graph.imports) == [
        "lambdas.feature.logic -> lambdas.feature.store",
        "lambdas.other.logic -> lambdas.shared.adapters.table",
    ]
    assert sorted(graph.private) == [
        "infra.a: from infra.b import _helper",
        "lambdas.feature.logic: lambdas.feature.store._SECRET",
    ]


GRAPH = read_graph(ROOT)


def test_the_graph_covers_the_project() -> None:
    assert {"sandbox.account", "sandbox.server", "infra.workflow", "orderctl.events", f"{KERNEL}.events"} <= set(
        GRAPH.imports
    )
    assert "sandbox.account" in GRAPH.imports["sandbox.server"] or "sandbox.server" in GRAPH.imports["sandbox.account"]


def test_no_import_cycle() -> None:
    assert cycles(GRAPH.imports) == []


def test_the_kernel_imports_no_feature() -> None:
    assert kernel_imports_of_features(GRAPH.imports) == []


def test_domain_logic_imports_no_adapter() -> None:
    assert logic_importing_adapters(GRAPH.imports) == []


def test_no_module_imports_another_modules_private_names() -> None:
    assert GRAPH.private == []


def test_tests_use_public_names_too() -> None:
    """A test asserts what users of a module rely on: what it makes public (tests/ is read apart: it may import
    every package, so it stays out of the graph the layering checks read)."""
    assert read_graph(ROOT, (*PACKAGES, "tests")).private == []


def test_lambda_code_ships_no_command_line() -> None:
    """Issue 12: generators and checks run from tools/, orderctl or the sandbox, not from a function's package."""
    commands = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "lambdas").rglob("*.py")
        if path.name == "__main__.py" or re.search(r"^if __name__ == .__main__.:", path.read_text(), re.MULTILINE)
    ]
    assert commands == []


# -- the kernel's constants: each one is there because Lambda code reads it ------------------------------------------
CONSTANTS = Path("lambdas/shared/constants.py")

# Names no module under lambdas/ uses that may stay in the kernel all the same, each with its reason. Anything else
# the functions do not read belongs to infra/ (infra/config.py, infra/names.py or the module owning the concept).
RUNTIME_CONTRACT_OUTSIDE_LAMBDAS = {
    # A stage's stack: orderctl --stage, the sandbox and examples/seed.py find the deployed stack by it.
    "STACK_NAME",
    "DEFAULT_STAGE",
    "STAGE_PATTERN",
    "stack_name",
    # Stack outputs: orderctl, the sandbox and the e2e/reliability tests find a deployed stack's resources by them
    # (here so that those readers need not import aws-cdk-lib).
    "OUTPUT_STATE_MACHINE_ARN",
    "OUTPUT_EVENT_BUS_NAME",
    "OUTPUT_EVENT_BUS_ARN",
    "OUTPUT_INVENTORY_TABLE",
    "OUTPUT_PAYMENTS_TABLE",
    "OUTPUT_LEDGER_TABLE",
    "OUTPUT_GATEWAY_LEDGER_TABLE",
    "OUTPUT_REVIEW_FUNCTION",
    "OUTPUT_EVENT_ARCHIVE_ARN",
    "OUTPUT_BACK_OFFICE_URL",
    "OUTPUT_USER_POOL_ID",
    "OUTPUT_USER_POOL_CLIENT_ID",
    "OUTPUT_SUBSCRIBER_INFIX",
    "OUTPUT_SUBSCRIBER_DEAD_LETTER_QUEUE",
    "OUTPUT_SUBSCRIBER_TABLE",
    "OUTPUT_SUBSCRIBER_FUNCTION",
    "OUTPUT_SUBSCRIBER_RULE_ARN",
    "OUTPUT_AUDIT_CHECKPOINT_BUCKET",
    # The bus contract: the ASL ends orders in these errors and OrderFailed carries them (data.error), under
    # metadata.producer WORKFLOW_PRODUCER; other teams' subscribers and the sandbox scenarios read them.
    "ERROR_REVIEW_TIMED_OUT",
    "ERROR_REVIEW_NOT_RECORDED",
    "ERROR_STEP_TIMED_OUT",
    "ERROR_STEP_FAILED",
    "WORKFLOW_PRODUCER",
    # Handler paths and sizes the sandbox and bench run the functions with, as the stack deploys them.
    "TASK_FUNCTIONS",
    "REVIEW_DECISION_HANDLER",
    "LAMBDA_MEMORY_MB",
}


def constant_names(path: Path) -> set[str]:
    """The names a constants module defines at its top level."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def names_used_under(root: Path, package: str, skip: Path) -> set[str]:
    """Every name a module under ``package`` refers to: ``x.NAME``, ``NAME`` and ``from m import NAME``."""
    used: set[str] = set()
    for path in (root / package).rglob("*.py"):
        if path == root / skip:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.ImportFrom):
                used |= {alias.name for alias in node.names}
    return used


def constants_lambdas_do_not_use(root: Path) -> set[str]:
    return constant_names(root / CONSTANTS) - names_used_under(root, "lambdas", CONSTANTS)


def test_the_constants_checker_finds_a_name_no_function_uses(tmp_path: Path) -> None:
    files = {
        "lambdas/shared/constants.py": 'USED = "a"\nIMPORTED: str = "b"\nONLY_INFRA = USED\n'
        "\ndef helper() -> None: ...\n",
        "lambdas/feature/handler.py": "from lambdas.shared import constants\n"
        "from lambdas.shared.constants import IMPORTED\nX = constants.USED\n",
        "infra/stack.py": "from lambdas.shared import constants\nY = constants.ONLY_INFRA, constants.helper\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert constants_lambdas_do_not_use(tmp_path) == {"ONLY_INFRA", "helper"}


def test_every_kernel_constant_is_used_by_lambda_code_or_allowed() -> None:
    """Issue 12: infra-only names and tunables live in infra/, so they cannot creep back into the kernel."""
    assert constants_lambdas_do_not_use(ROOT) - RUNTIME_CONTRACT_OUTSIDE_LAMBDAS == set()


def test_the_allow_list_names_only_defined_constants_lambda_code_does_not_use() -> None:
    """An entry the functions now use, or one that no longer exists, goes from the list (it must not rot)."""
    assert RUNTIME_CONTRACT_OUTSIDE_LAMBDAS - constants_lambdas_do_not_use(ROOT) == set()


def key_names_typed_under(root: Path, names: set[str]) -> list[str]:
    """Every string literal under lambdas/ (but the kernel's constants) that is one of ``names``."""
    return sorted(
        f"{path.relative_to(root)}:{node.lineno} {node.value!r}"
        for path in (root / "lambdas").rglob("*.py")
        if path != root / CONSTANTS
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
    )


def test_lambda_code_reads_table_key_names_from_the_kernel() -> None:
    """The (pk, sk) tables' key names and the markers' TTL attribute are the stack's key schemas (infra/data.py):
    a store that typed them again would go on addressing the old names after a change of schema."""
    from lambdas.shared import constants

    names = {
        *constants.INVENTORY_TABLE_KEYS,
        *constants.SUBSCRIBER_TABLE_KEYS,
        *constants.LEDGER_TABLE_KEYS,
        constants.MARKER_TTL_ATTRIBUTE,
    }
    assert key_names_typed_under(ROOT, names) == []
