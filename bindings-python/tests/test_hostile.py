"""Hostile input never escapes as a Rust panic (pyo3's PanicException) or crashes the process."""

from __future__ import annotations

import random
import sys
from decimal import Decimal
from typing import Any, Callable, Dict, List

import pytest

import billwise


def never_panics(call: Callable[[], Any]) -> None:
    """Runs `call`; it may return or raise a billwise error, nothing else."""
    try:
        call()
    except billwise.BillwiseError:
        pass
    except BaseException as e:  # noqa: BLE001 - the point is to see every escape
        assert "PanicException" not in type(e).__name__, repr(e)
        raise


def deep_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def deep_dict(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value


HOSTILE: Dict[str, Callable[[], Any]] = {
    "list nested far deeper than Python's recursion limit": lambda: deep_list(sys.getrecursionlimit() * 20),
    "dict nested far deeper than the depth limit": lambda: deep_dict(5000),
    "a dict that contains itself": lambda: (lambda d: (d.__setitem__("self", d), d)[1])({}),
    "a list that contains itself": lambda: (lambda l: (l.append(l), l)[1])([]),
    "a string of 10 MB": lambda: {"kind": "work_log", "schema_version": 1, "x": "a" * 10_000_000},
    "a lone surrogate": lambda: {"kind": "\ud800"},
    "a key with a lone surrogate": lambda: {"\udfff": 1},
    "nan": lambda: {"kind": "work_log", "time_entries": [{"hours": float("nan")}]},
    "decimal nan and infinity": lambda: {"kind": "work_log", "time_entries": [{"hours": Decimal("NaN")}, {"hours": Decimal("-Infinity")}]},
    "decimal with a huge exponent": lambda: {"kind": "work_log", "time_entries": [{"hours": Decimal("1E+999999")}]},
    "an integer of 1000 digits": lambda: {"schema_version": 10**1000},
    "negative zero and huge negative integers": lambda: {"schema_version": -(2**63) - 1, "x": -0.0},
    "bytes inside a document": lambda: {"kind": b"work_log"},
    "a set": lambda: {"kind": {"work_log"}},
    "a type object": lambda: {"kind": int},
    "a million empty objects": lambda: {"kind": "work_log", "schema_version": 1, "time_entries": [{}] * 1_000_000},
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_python_values_never_raise_panic_exception(name: str) -> None:
    value = HOSTILE[name]()
    never_panics(lambda: billwise.validate(document=value))
    never_panics(lambda: billwise.validate({"document": {"schema_version": 1, "kind": "change_order"}, "contract": value}))
    never_panics(lambda: billwise.run("validate", {"document": value}))
    never_panics(lambda: billwise.to_json(value))


HOSTILE_TEXT: List[bytes] = [
    b"",
    b"\xff\xfe\xfd",
    b'{"document": "\xc3\x28"}',
    b'{"document": {"kind": "work_log", "schema_version": 1, "time_entries": [{"hours": 1e400}]}}',
    b'{"document": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"document": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}",
    b'{"document": "' + b"\\u0000" * 100_000 + b'"}',
    b'{"document": {"kind": "work_log", "schema_version": 1, "time_entries": [{"hours": "' + b"9" * 100_000 + b'"}]}}',
    b'{"document": {"kind": "work_log", "schema_version": 18446744073709551616}}',
    b'{"document": {"kind": "\\ud800"}}',
    b"NaN",
    b'{"document": {}, "document": {}}',
]


@pytest.mark.parametrize("text", HOSTILE_TEXT, ids=[f"text-{i}" for i in range(len(HOSTILE_TEXT))])
def test_hostile_json_text_never_raises_panic_exception(text: bytes) -> None:
    never_panics(lambda: billwise.validate(text))
    never_panics(lambda: billwise.run("validate", text))
    never_panics(lambda: billwise.validate(text.decode("utf-8", "surrogateescape")))


def test_random_bytes_and_mutated_documents_never_raise_panic_exception() -> None:
    rng = random.Random(7)
    seed = b'{"document": {"schema_version": 1, "kind": "work_log", "time_entries": [{"id": "TE-1", "project_id": "P", "task_id": "T", "resource_id": "R", "role": "C", "work_date": "2026-02-29", "hours": "7.5", "status": "approved"}]}}'
    alphabet = b'{}[]",:0123456789.-eE\\u \x00\xff'
    for _ in range(3000):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(data))
            data[i] = alphabet[rng.randrange(len(alphabet))]
        never_panics(lambda: billwise.validate(bytes(data)))
    for _ in range(500):
        blob = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
        never_panics(lambda: billwise.validate(blob))
