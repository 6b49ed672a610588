"""The audit trail's anchor (infra/audit.py): a write-once, object-locked checkpoint bucket, and a writer that
may only append."""

from __future__ import annotations

import json

from infra.audit import CHECKPOINT_RETENTION_DAYS
from infra.subscribers import REGISTRY
from lambdas.shared import constants
from tests.infra.bus_support import actions, function_of, role_statements
from tests.synth import Synthesized


def _bucket(synthesized: Synthesized) -> tuple[str, dict]:
    (found,) = [(n, b) for n, b in synthesized.resources("AWS::S3::Bucket").items() if n.startswith("AuditCheckpoints")]
    return found


def test_checkpoints_are_locked_for_everyone_in_compliance_mode(synthesized: Synthesized) -> None:
    _, bucket = _bucket(synthesized)
    props = bucket["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": CHECKPOINT_RETENTION_DAYS}},
    }
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["DeletionPolicy"] == "Retain"


def test_a_checkpoint_cannot_be_replaced(synthesized: Synthesized) -> None:
    name, _ = _bucket(synthesized)
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": name}
    ]
    (write_once,) = [s for s in policy if s.get("Sid") == "WriteOnce"]
    assert write_once["Effect"] == "Deny" and write_once["Principal"] == {"AWS": "*"}
    assert write_once["Action"] == "s3:PutObject"
    assert write_once["Condition"] == {"Null": {"s3:if-none-match": "true"}}


def test_the_writer_may_only_put_checkpoints_and_the_tools_find_them(synthesized: Synthesized) -> None:
    name, _ = _bucket(synthesized)
    _, function = function_of(synthesized, next(s for s in REGISTRY if s.name == "audit"))
    on_bucket = [s for s in role_statements(synthesized, function) if name in json.dumps(s)]
    assert [actions(s) for s in on_bucket] == [{"s3:PutObject"}]
    assert on_bucket[0]["Resource"]["Fn::Join"][1][1] == "/" + constants.AUDIT_CHECKPOINT_PREFIX + "*"
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables[constants.ENV_AUDIT_CHECKPOINT_BUCKET] == {"Ref": name}
    assert synthesized.template["Outputs"][constants.OUTPUT_AUDIT_CHECKPOINT_BUCKET]["Value"] == {"Ref": name}
