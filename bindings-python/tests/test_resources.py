"""Resource bounds from Python: memory stays flat over many calls, and a request at the size
limits of the core (`Limits::DEFAULT`) is read and answered without error."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List

import billwise

PAGE = os.sysconf("SC_PAGE_SIZE")

# Limits::DEFAULT in core/src/json/limits.rs.
MAX_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 64
MAX_ITEMS = 2_000_000
MAX_STRING_BYTES = 64 * 1024


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def entry(i: int, role: str = "Consultant") -> Dict[str, Any]:
    return {"id": f"TE-{i}", "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1", "role": role,
            "work_date": "2026-03-02", "hours": "7.5", "status": "approved"}


WORK_LOG: Dict[str, Any] = {"schema_version": 1, "kind": "work_log", "time_entries": [entry(1), entry(2)]}
WORK_LOG_BYTES = json.dumps({"document": WORK_LOG}).encode()
BAD_BYTES = b'{"document": {"schema_version": 1, "kind": "work_log", "time_entries": [{"hours": 7.5}]}}'


def call_mix() -> List[Callable[[], Any]]:
    def expect_error(call: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> None:
            try:
                call()
            except billwise.BillwiseError:
                return
            raise AssertionError("expected a billwise error")
        return run

    return [
        lambda: billwise.run("validate", WORK_LOG_BYTES),
        lambda: billwise.validate(document=WORK_LOG),
        lambda: billwise.run("validate", BAD_BYTES),
        expect_error(lambda: billwise.run("validate", b"{")),
        expect_error(lambda: billwise.run("no_such_operation", b"{}")),
        lambda: billwise.to_json(WORK_LOG),
    ]


def test_memory_stays_bounded_over_100000_calls() -> None:
    calls = call_mix()
    for k in range(5_000):  # warm-up: allocator pools, interned strings, lazily built tables
        calls[k % len(calls)]()
    before = rss_bytes()
    for k in range(100_000):
        calls[k % len(calls)]()
    growth = rss_bytes() - before
    assert growth < 4 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB over 100,000 calls"


def test_a_request_at_the_size_limits_is_answered() -> None:
    # MAX_ITEMS - 1 time entries, the first with a role of exactly MAX_STRING_BYTES bytes, all
    # inside MAX_BYTES; every entry valid, so the whole request is read and checked.
    long_role = "R" * MAX_STRING_BYTES
    first = json.dumps(entry(0, long_role), separators=(",", ":")).encode()
    template = json.dumps(entry(999_999_999), separators=(",", ":")).encode()
    head, tail = template.split(b"999999999")
    count = MAX_ITEMS - 1
    body = b",".join([first] + [head + str(i).encode() + tail for i in range(1, count)])
    request = b'{"document":{"schema_version":1,"kind":"work_log","time_entries":[' + body + b"]}}"
    assert len(request) < MAX_BYTES
    answer = json.loads(billwise.run("validate", request))
    assert answer == {"kind": "work_log", "problems": [], "schema_version": 1, "valid": True}


def test_one_past_each_size_limit_is_refused_with_its_code() -> None:
    over = [
        b'{"document":{"role":"' + b"R" * (MAX_STRING_BYTES + 1) + b'"}}',
        b'{"document":' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}",
        b'{"document":[' + b",".join([b"0"] * (MAX_ITEMS + 1)) + b"]}",
    ]
    for request in over:
        try:
            billwise.run("validate", request)
        except billwise.BillwiseError as e:
            assert e.code == "INPUT_LIMIT_EXCEEDED"
        else:
            raise AssertionError("a request over a limit was answered")
