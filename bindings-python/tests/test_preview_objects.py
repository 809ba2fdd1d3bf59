"""A billing preview's lines and held items, which `preview_invoice` builds directly, are the
objects every other result is built as: the same keys in the same order, the same types and the
same exact values. The reference is `commit_invoice`, whose `preview` goes through the general
conversion."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

import billwise
from case_inputs import expected_result, request_bytes
from conftest import REPO, SPEC

sys.path.insert(0, str(REPO / "benches" / "python"))

import workload  # noqa: E402

PREVIEW_CASES: List[Path] = sorted((SPEC / "cases").rglob("preview_invoice/*.json"))


def committed_preview(run: Dict[str, Any]) -> Any:
    """The preview of `run` as `commit_invoice` returns it (the general conversion)."""
    return billwise.commit_invoice({"invoice_id": "INV-OBJECTS-CHECK", "run": run})["preview"]


def same_objects(a: Any, b: Any) -> None:
    # `repr` shows a dict's key order, a Decimal's exact digits (1.0 is not 1.00), a date, and
    # tells True from 1 and "1" from 1: `==` would accept all of those.
    assert type(a) is type(b)
    ra, rb = repr(a), repr(b)
    if ra != rb:
        at = next((i for i, (x, y) in enumerate(zip(ra, rb)) if x != y), min(len(ra), len(rb)))
        pytest.fail(f"the objects differ at {at}: {ra[at - 60 : at + 60]!r} against {rb[at - 60 : at + 60]!r}")


def test_every_preview_case_is_checked() -> None:
    assert len(PREVIEW_CASES) > 20


@pytest.mark.parametrize(
    "path", PREVIEW_CASES, ids=[p.relative_to(SPEC / "cases").with_suffix("").as_posix() for p in PREVIEW_CASES]
)
def test_a_previews_lines_and_held_items_are_the_objects_the_general_conversion_builds(path: Path) -> None:
    case: Dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if expected_result(case) is None:
        pytest.skip("the case expects an error")
    run = json.loads(request_bytes(case))
    direct = billwise.preview_invoice(run)
    same_objects(direct, committed_preview(run))
    same_objects(billwise.preview_invoice(request_bytes(case)), direct)


def test_a_large_run_gives_the_same_objects_and_shares_only_immutable_ones() -> None:
    run = workload.request(3000)
    direct = billwise.preview_invoice(run)
    assert len(direct["lines"]) > 1000 and len(direct["held"]) > 500
    assert any("amount" in h for h in direct["held"])
    same_objects(direct, committed_preview(run))
    # Equal amounts share one Decimal, but every money value is a dict of its own: changing one
    # line changes no other.
    first, second = direct["lines"][0], direct["lines"][1]
    assert first["unit_price"] is not second["unit_price"]
    first["unit_price"]["amount"] = None
    assert second["unit_price"]["amount"] is not None
