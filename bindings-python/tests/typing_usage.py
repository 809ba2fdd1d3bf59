"""Checked by `mypy --strict` (make test-python) and run by test_typing.py: the public types work."""

from __future__ import annotations

from decimal import Decimal
import json
from pathlib import Path
from typing import List, Mapping

from typing_extensions import assert_type

import billwise
from billwise.types import (
    ApplyBatchResponse,
    AuditVerification,
    CheckUpdateResponse,
    FieldDecision,
    OwnershipPolicy,
    Envelope,
    ErrorCode,
    ExceptionEntry,
    InvoicePreview,
    Metrics,
    Outcome,
    Problem,
    ValidateResponse,
    WorkLog,
)


def check() -> None:
    log: WorkLog = {
        "schema_version": 1,
        "kind": "work_log",
        "time_entries": [
            {
                "id": "TE-1",
                "project_id": "P-1",
                "task_id": "T-1",
                "resource_id": "R-1",
                "role": "Consultant",
                "work_date": "2026-03-02",
                "hours": Decimal("7.5"),
                "status": "approved",
            }
        ],
    }
    report = billwise.validate(document=log)
    assert_type(report, ValidateResponse)
    assert_type(report["valid"], bool)
    problems: List[Problem] = report["problems"]
    codes: List[ErrorCode] = [p["code"] for p in problems]
    assert codes == []
    assert_type(billwise.run("validate", {"document": log}), str)
    assert_type(billwise.to_json(report), str)
    table: Mapping[ErrorCode, billwise.ErrorCodeInfo] = billwise.ERROR_CODES
    assert table["INPUT_NUMBER_NOT_ALLOWED"].error_class == "input"
    try:
        billwise.validate('{"document": 1')
    except billwise.InputError as e:
        assert_type(e.code, ErrorCode)
        assert_type(e.path, str)
        assert e.code == "INPUT_MALFORMED_JSON"



def check_engine() -> None:
    envelope: Envelope = {
        "idempotency_key": "psa-TE-1",
        "correlation_id": "week-2",
        "source": "psa",
        "occurred_at": "2026-01-12T17:00:00Z",
        "event": {"type": "time_entry.approved", "id": "TE-1"},
    }
    engine = billwise.Engine()
    outcome = engine.apply(envelope)
    assert_type(outcome, Outcome)
    assert outcome["status"] == "rejected"
    rejection = outcome.get("rejection")
    codes: List[ErrorCode] = [rejection["code"]] if rejection else []
    assert codes == ["ENGINE_UNKNOWN_ENTITY"]
    batch = engine.apply_batch([envelope], atomic=True)
    assert_type(batch, ApplyBatchResponse)
    assert_type(batch["outcomes"], List[Outcome])
    assert_type(batch["version"], int)
    assert_type(engine.exceptions(), List[ExceptionEntry])
    assert_type(engine.verify_audit(), AuditVerification)
    assert_type(engine.version, int)
    data = engine.snapshot()
    assert_type(data, bytes)
    assert billwise.Engine.restore(data).snapshot() == data
    try:
        engine.preview_invoice({"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-01"})
    except billwise.RuleError as e:
        assert e.code == "ENGINE_NO_CONTRACT"
    if False:  # types only
        assert_type(engine.preview_invoice({"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-01"}), InvoicePreview)
        assert_type(engine.metrics(as_of="2026-02-01"), Metrics)
    replayed = billwise.engine_replay(envelopes=[envelope], return_snapshot=False)
    assert replayed["outcomes"] == [outcome]



def check_ownership() -> None:
    path = Path(__file__).resolve().parents[2] / "spec" / "examples" / "ownership-policy.json"
    policy: OwnershipPolicy = json.loads(path.read_text(encoding="utf-8"))
    decision = billwise.check_update(
        policy=policy, entity="contract", source="crm", changes={"end_date": "2026-12-31"}, stage="draft"
    )
    assert_type(decision, CheckUpdateResponse)
    decisions: List[FieldDecision] = decision["decisions"]
    assert decision["outcome"] == "accepted" and decisions[0].get("owner") == "crm"


if __name__ == "__main__":
    check()
    check_engine()
    check_ownership()
