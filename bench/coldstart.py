"""Cold import of every handler, relative to `import boto3` (the floor every Python Lambda pays).

Each sample is a fresh interpreter that times one ``import`` (interpreter start-up is the same for
both and left out). A baseline sample is taken just before every handler sample, in the same directory and
environment, so a load change on this shared machine hits both; the figure per handler is fastest(handler) /
fastest(the baseline samples taken next to it): as many samples on each side, from the same moments.

The ratio uses the importing process's CPU time (time.process_time), not wall time: an import is
CPU-bound work (the files are in the page cache), and on a machine shared with colleagues' test
runs the wall clock mostly measures the neighbours (load average 16 on 2 cores moved wall-time
ratios between 1.2 and 1.8 from one run to the next). Even CPU time is not immune: with a neighbour
busy on the other core, the same import's samples split in two clusters (~200 and ~320 ms here),
and where the median falls depends on how many samples the neighbour hit; a handler measured
below the floor it imports. Interference only ever adds, so the fastest sample is the estimate of
the import's own cost (the reading Python's timeit documentation recommends), as in a Lambda
microVM, which has no neighbour inside. The fastest of many more samples is the lower by chance alone, and the
machine's speed drifts over minutes (one run's handlers clustered 8-15 % apart with the same imports): so the
baseline a handler is divided by is the same number of samples as its own, taken at the same moments, not the
fastest of the whole run (``pooled_ratio``, reported alongside, erred up to 0.13x high in two runs).
Medians and the median of per-pair ratios are reported alongside.

Measured as Lambda would import it:
- from the asset directory CDK staged (cdk.out/asset.<hash>), i.e. exactly the code that uploads,
  with the task root as the working directory;
- with Lambda's reserved variables set, LAMBDA_TASK_ROOT in particular: Powertools' Tracer is only
  active inside Lambda, and active tracing (the template sets Tracing: Active) imports the X-Ray
  SDK and patches botocore. Leaving it unset would hide that cost, so it is set;
- PYTHONDONTWRITEBYTECODE=1: /var/task is read-only, so Lambda imports our modules from the bytecode the asset
  ships (infra/code_asset.py compiles it for the runtime's Python when synth finds one) or compiles them on
  every cold start. The asset's .pyc are for python3.13, which this interpreter ignores: when the asset ships
  them, the handlers are timed in a copy compiled for this interpreter instead (`shipped_bytecode` in the
  result says which); third-party code (boto3 in the runtime, Powertools in the dependency layer, at the venv's
  versions) is precompiled, as in the venv.
Caveat: the venv's Python (this machine's CPU) stands in for python3.13 on Graviton.
"""

from __future__ import annotations

import compileall
import contextlib
import os
import py_compile
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.template import FunctionInfo
from sandbox.lambda_runtime import reserved_environment

BASELINE = "boto3"
# What every handler imports before its own code: boto3, Powertools Logger/Metrics and the Tracer (with
# active tracing it builds the X-Ray recorder and patches botocore). Timed once a round, in steps, so the
# floor the handlers share is measured, not assumed. (POWERTOOLS_TRACE_DISABLED does not take the X-Ray SDK
# out: a disabled Tracer still imports aws_xray_sdk.core, it only patches nothing. So the steps are imports.)
OBSERVABILITY = "lambdas.shared.observability"
FLOOR = f"{BASELINE}, {OBSERVABILITY}"  # one import statement: boto3 and then what the handlers share
FLOOR_STEPS = {
    # Powertools' Logger, Metrics and Tracer classes; the Tracer imports the X-Ray SDK only when created.
    "boto3_powertools_no_xray_sdk": f"{BASELINE}, aws_lambda_powertools",
    # + the X-Ray SDK (its recorder and wrapt, pinned below 2.2, whose later versions import asyncio).
    "boto3_powertools_xray_sdk": f"{BASELINE}, aws_lambda_powertools, aws_xray_sdk.core",
    # + what lambdas/shared/observability.py does: Logger, Metrics and Tracer created, botocore patched.
    "boto3_powertools_tracer": FLOOR,
}
_TIMER = (
    "import time; t, c = time.perf_counter(), time.process_time(); import {module}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)


@dataclass
class ImportTiming:
    module: str
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)

    def add(self, sample: tuple[float, float]) -> None:
        wall, cpu = sample
        self.wall_ms.append(wall)
        self.cpu_ms.append(cpu)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.cpu_ms)

    @property
    def fastest_ms(self) -> float:
        return min(self.cpu_ms)

    @property
    def median_wall_ms(self) -> float:
        return statistics.median(self.wall_ms)


def lambda_environment(function: FunctionInfo, task_root: Path) -> dict[str, str]:
    """The variables Lambda sets for this function in a fresh interpreter: the runtime's own, the reserved
    ones describing the function (as the sandbox sets them), then the function's. Tracing stays on."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        **reserved_environment(function.spec),
        **function.spec.environment,
    }


def _time_import(module: str, cwd: Path, env: dict[str, str], python: str) -> tuple[float, float]:
    """(wall ms, CPU ms) of `import module` in a fresh interpreter."""
    result = subprocess.run(
        [python, "-c", _TIMER.format(module=module)], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed in {cwd}:\n{result.stderr[-2000:]}")
    wall, cpu = result.stdout.strip().splitlines()[-1].split()
    return float(wall) * 1000, float(cpu) * 1000


def shipped_bytecode(asset_dir: Path) -> str | None:
    """The interpreter tag of the bytecode an asset ships ("cpython-313"), or None when it ships sources only."""
    tags = sorted({pyc.name.split(".")[-2] for pyc in asset_dir.rglob("*.pyc")})
    return ",".join(tags) or None


def _compile_copy(asset_dir: Path, scratch: Path) -> Path:
    """A copy of the asset with bytecode for this interpreter (unchecked hashes, as infra/code_asset.py builds)."""
    copy = scratch / "task"
    shutil.copytree(asset_dir, copy)
    compileall.compile_dir(copy, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return copy


@contextlib.contextmanager
def as_shipped(functions: list[FunctionInfo]) -> Iterator[dict[Path, Path]]:
    """Each asset directory -> where to import it from as Lambda would: the asset itself when it ships sources
    only; a copy compiled for this interpreter when it ships bytecode for the runtime's."""
    with tempfile.TemporaryDirectory() as scratch:
        roots = {}
        for asset_dir in {f.asset_dir for f in functions if f.asset_dir is not None}:
            compiled = shipped_bytecode(asset_dir) is not None
            roots[asset_dir] = _compile_copy(asset_dir, Path(scratch) / asset_dir.name) if compiled else asset_dir
        yield roots


def measure(functions: list[FunctionInfo], repeats: int, python: str = sys.executable) -> dict[str, object]:
    """Each handler module's cold import (fastest and median CPU time) and its ratio to the boto3 baseline's."""
    by_module: dict[str, FunctionInfo] = {}
    for function in functions:
        if function.asset_dir is None:
            raise RuntimeError(f"{function.logical_id}: no staged asset directory in cdk.out (synthesize first)")
        by_module.setdefault(function.module, function)
    with as_shipped(list(by_module.values())) as roots:
        result = _measure(by_module, roots, repeats, python)
    shipped = {shipped_bytecode(f.asset_dir) or "sources only" for f in by_module.values() if f.asset_dir}
    result["shipped_bytecode"] = sorted(shipped)
    return result


def _measure(
    by_module: dict[str, FunctionInfo], roots: dict[Path, Path], repeats: int, python: str
) -> dict[str, object]:
    baseline = ImportTiming(BASELINE)  # every baseline sample, pooled
    floor = {name: ImportTiming(statement) for name, statement in FLOOR_STEPS.items()}
    floor_baseline = ImportTiming(BASELINE)  # the baseline samples taken next to the floor's
    timings = {module: ImportTiming(module) for module in by_module}
    paired = {module: ImportTiming(BASELINE) for module in by_module}  # the baseline samples taken next to each
    pair_ratios: dict[str, list[float]] = {module: [] for module in by_module}
    for round_index in range(repeats):
        # Rotate the order each round so no handler always runs right after start-up of the batch.
        modules = list(by_module)
        shift = round_index % len(modules)
        for index, module in enumerate(modules[shift:] + modules[:shift]):
            function = by_module[module]
            assert function.asset_dir is not None
            root = roots[function.asset_dir]
            env = lambda_environment(function, root)
            base = _time_import(BASELINE, root, env, python)
            baseline.add(base)
            paired[module].add(base)
            sample = _time_import(module, root, env, python)
            timings[module].add(sample)
            pair_ratios[module].append(sample[1] / base[1])
            if index == 0:  # once a round: the shared floor, step by step
                floor_baseline.add(base)
                for timing in floor.values():
                    timing.add(_time_import(timing.module, root, env, python))
    handlers = {}
    for module, timing in timings.items():
        handlers[by_module[module].short_name] = {
            "module": module,
            "fastest_cpu_ms": round(timing.fastest_ms, 1),
            "baseline_fastest_cpu_ms": round(paired[module].fastest_ms, 1),  # of the samples taken next to it
            "median_cpu_ms": round(timing.median_ms, 1),
            "median_wall_ms": round(timing.median_wall_ms, 1),
            # Fastest over fastest of as many baseline samples, each taken just before one of the handler's.
            "ratio": round(timing.fastest_ms / paired[module].fastest_ms, 3),
            # Over the fastest of all baseline samples (~22x more): errs high (see the module's docstring).
            "pooled_ratio": round(timing.fastest_ms / baseline.fastest_ms, 3),
            "median_ratio": round(timing.median_ms / paired[module].median_ms, 3),
            "wall_ratio": round(timing.median_wall_ms / baseline.median_wall_ms, 3),
            # The median of per-pair ratios: a cross-check that load drift did not skew the figure.
            "pair_ratio_median": round(statistics.median(pair_ratios[module]), 3),
            "cpu_samples_ms": [round(s, 1) for s in timing.cpu_ms],
        }
    worst = max(handlers, key=lambda name: handlers[name]["ratio"])  # type: ignore[arg-type,return-value]
    ratios = [float(h["ratio"]) for h in handlers.values()]  # type: ignore[arg-type]
    return {
        "baseline_module": BASELINE,
        "measure": "fastest CPU time of the importing process (time.process_time); medians and wall time alongside",
        "baseline_fastest_cpu_ms": round(baseline.fastest_ms, 1),
        "baseline_median_cpu_ms": round(baseline.median_ms, 1),
        "baseline_median_wall_ms": round(baseline.median_wall_ms, 1),
        "baseline_samples": len(baseline.cpu_ms),
        "repeats": repeats,
        "handlers": handlers,
        "worst_handler": worst,
        "cold_import_ratio_max": handlers[worst]["ratio"],
        # The floor every handler shares (boto3 + Powertools + the Tracer), as a ratio to boto3.
        "floor_ratio": {
            name: round(timing.fastest_ms / floor_baseline.fastest_ms, 3) for name, timing in floor.items()
        },
        # Context, not a goal: the typical handler, and the worst by the medians' ratio.
        "cold_import_ratio_median": round(statistics.median(ratios), 3),
        "median_ratio_max": max(float(h["median_ratio"]) for h in handlers.values()),  # type: ignore[arg-type]
        "pooled_ratio_max": max(float(h["pooled_ratio"]) for h in handlers.values()),  # type: ignore[arg-type]
    }


def precompiled(function: FunctionInfo, repeats: int, python: str = sys.executable) -> dict[str, float]:
    """The handler's cold import with its asset's bytecode compiled ahead (as infra/code_asset.py ships it) next to
    the same asset from sources only (a synth without python3.13), each over an interleaved boto3 baseline: what
    compiling our own modules on every cold start would cost."""
    assert function.asset_dir is not None
    with tempfile.TemporaryDirectory() as scratch:
        copy = _compile_copy(function.asset_dir, Path(scratch))
        sources = Path(scratch) / "sources"
        shutil.copytree(function.asset_dir, sources, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        baseline = ImportTiming(BASELINE)
        source, compiled = ImportTiming(function.module), ImportTiming(function.module)
        env = lambda_environment(function, sources)
        compiled_env = lambda_environment(function, copy)
        for _ in range(repeats):
            baseline.add(_time_import(BASELINE, sources, env, python))
            source.add(_time_import(function.module, sources, env, python))
            compiled.add(_time_import(function.module, copy, compiled_env, python))
    return {
        "from_source_ratio": round(source.fastest_ms / baseline.fastest_ms, 3),
        "precompiled_ratio": round(compiled.fastest_ms / baseline.fastest_ms, 3),
    }


# ---------------------------------------------------------------------------
# What costs the time: -X importtime of one handler, minus what boto3 imports anyway
# ---------------------------------------------------------------------------
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def importtime(module: str, cwd: Path, env: dict[str, str], python: str = sys.executable) -> list[tuple[str, int]]:
    """(module, self microseconds) for every module `import module` loads, from -X importtime."""
    result = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"], cwd=cwd, env=env, capture_output=True, text=True
    )
    rows = []
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            rows.append((match.group(4), int(match.group(1))))
    return rows


def extra_cost(
    function: FunctionInfo, python: str = sys.executable, top: int = 8, runs: int = 5
) -> list[dict[str, object]]:
    """The packages a handler imports beyond boto3's own, by self time (median of `runs` -X importtime runs), from
    its asset as shipped."""
    assert function.asset_dir is not None
    with as_shipped([function]) as roots:
        return _extra_cost(function, roots[function.asset_dir], python, top, runs)


def _extra_cost(function: FunctionInfo, root: Path, python: str, top: int, runs: int) -> list[dict[str, object]]:
    env = lambda_environment(function, root)
    floor = {name for name, _ in importtime(BASELINE, root, env, python)}
    per_package: dict[str, list[float]] = {}
    for _ in range(runs):
        extra: Counter[str] = Counter()
        for name, self_us in importtime(function.module, root, env, python):
            if name not in floor:
                extra[name.split(".")[0]] += self_us
        for package, us in extra.items():
            per_package.setdefault(package, []).append(us / 1000)
    medians = {package: statistics.median(values) for package, values in per_package.items()}
    ranked = sorted(medians.items(), key=lambda kv: -kv[1])[:top]
    return [{"package": name, "self_ms": round(ms, 1)} for name, ms in ranked]
