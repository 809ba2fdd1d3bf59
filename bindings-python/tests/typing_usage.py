"""Checked by `mypy --strict` (make test-python) and run by test_typing.py: the public types work."""

from __future__ import annotations

from decimal import Decimal
from typing import List, Mapping

from typing_extensions import assert_type

import billwise
from billwise.types import ErrorCode, Problem, ValidateResponse, WorkLog


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


if __name__ == "__main__":
    check()
