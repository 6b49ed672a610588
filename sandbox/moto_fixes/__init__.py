"""Every change the sandbox makes to moto, one module per AWS service. Verified against moto == MOTO_VERSION only.

    base             the registry (Fix, FIXES, applied, suspended) and the hooks the sandbox sets
    cloudformation   deploying a CDK template: generated names, archives, bus Ref, state machines, missing types
    awslambda        handlers run in-process; DeadLetterConfig kept
    eventbridge      Lambda targets delivered, DISABLED rules skipped; replay filters and window;
                     TestEventPattern
    dynamodb         each request atomic under threads
    core             backend lookups without the process-wide lock
    stepfunctions    interpreter speed, time on the sandbox clock, callbacks, input quota, integration
                     errors and hook, RedriveExecution, ListExecutions' page token

Importing the package registers every fix, in the order above (``applied()`` switches them on in that
order and off in reverse; no two fixes patch the same attribute, so the order is only for reading).
Each fix has two tests in ``tests/sandbox/moto_fixes/``: moto is still broken without it, and it works.
"""

from __future__ import annotations

# isort: off
from sandbox.moto_fixes import cloudformation
from sandbox.moto_fixes import awslambda
from sandbox.moto_fixes import eventbridge
from sandbox.moto_fixes import dynamodb
from sandbox.moto_fixes import core
from sandbox.moto_fixes import stepfunctions

# isort: on
from sandbox.moto_fixes.base import (
    FIXES,
    MOTO_VERSION,
    Fix,
    Hooks,
    IntegrationHook,
    applied,
    check_moto_version,
    hooks,
    resolve,
    suspended,
)
from sandbox.moto_fixes.stepfunctions import (
    MAX_EXECUTION_INPUT_BYTES,
    REDRIVABLE_STATUSES,
    integration_error,
    unsuccessful_state,
)

__all__ = [
    "FIXES",
    "MAX_EXECUTION_INPUT_BYTES",
    "MOTO_VERSION",
    "REDRIVABLE_STATUSES",
    "Fix",
    "Hooks",
    "IntegrationHook",
    "applied",
    "awslambda",
    "check_moto_version",
    "cloudformation",
    "core",
    "dynamodb",
    "eventbridge",
    "hooks",
    "integration_error",
    "resolve",
    "stepfunctions",
    "suspended",
    "unsuccessful_state",
]
