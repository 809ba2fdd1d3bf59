"""Every shared case in spec/cases/ gives, in Python, the same canonical JSON as in Rust."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

import billwise
from case_inputs import expected_result, request, request_bytes
from conftest import SPEC

CASES: List[Path] = sorted((SPEC / "cases").rglob("*.json"))


def load(path: Path) -> Dict[str, Any]:
    case: Dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert case["id"] == path.relative_to(SPEC / "cases").with_suffix("").as_posix()
    return case


def check(case: Dict[str, Any], call: Callable[[], Any]) -> None:
    expect = case["expect"]
    expected = expected_result(case)
    if expected is not None:
        result = call()
        assert billwise.to_json(result) == billwise.to_json(expected)
    else:
        with pytest.raises(billwise.BillwiseError) as caught:
            call()
        assert caught.value.code == expect["error"]["code"]
        if "path" in expect["error"]:
            assert caught.value.path == expect["error"]["path"]


def test_the_spec_has_cases_for_python_to_run() -> None:
    assert len(CASES) > 0


@pytest.mark.parametrize("path", CASES, ids=[p.relative_to(SPEC / "cases").with_suffix("").as_posix() for p in CASES])
def test_case_gives_the_expected_result_from_python_objects(path: Path) -> None:
    case = load(path)
    assert hasattr(billwise, case["op"]), f"`{case['op']}` has no Python function (see bindings-python/README.md)"
    operation = getattr(billwise, case["op"])
    given = request(case)
    check(case, lambda: operation(given))


@pytest.mark.parametrize("path", CASES, ids=[p.relative_to(SPEC / "cases").with_suffix("").as_posix() for p in CASES])
def test_case_gives_the_same_bytes_as_the_core_from_json_text(path: Path) -> None:
    case = load(path)
    text = request_bytes(case)
    expected = expected_result(case)
    if expected is not None:
        canonical = billwise.run(case["op"], text)
        assert canonical == billwise.to_json(expected)
        assert billwise.to_json(getattr(billwise, case["op"])(text)) == canonical
    else:
        check(case, lambda: billwise.run(case["op"], text))
