#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the spec cases (and spec/examples) before `make fuzz` runs.

Each seed is a request a case sends, as bytes; libFuzzer mutates from there, so it reaches past
parsing into the rules. Generated (huge) inputs are left out: a seed should be small.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
SPEC = FUZZ.parent / "spec"
MAX_SEED = 64 * 1024

# target -> the operations whose case inputs seed it
OPS = {
    "parse_documents": {"validate"},
    "preview_invoice": {"preview_invoice"},
    "reconcile": {"reconcile", "golden_record"},
    "engine_apply": {"engine_replay", "engine_apply"},
}


def case_bytes(case: dict) -> bytes | None:
    if "input" in case:
        return json.dumps(case["input"], separators=(",", ":")).encode()
    if "input_text" in case:
        return case["input_text"].encode("utf-8", "surrogatepass")
    if "input_base64" in case:
        return base64.b64decode(case["input_base64"])
    return None


def save(target: str, data: bytes) -> None:
    if len(data) > MAX_SEED:
        return
    folder = FUZZ / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> int:
    for path in sorted((SPEC / "cases").rglob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        data = case_bytes(case)
        if data is None:
            continue
        for target, ops in OPS.items():
            if case["op"] in ops:
                save(target, data)
        if case["op"] in ("engine_replay", "engine_apply") and isinstance(case.get("input"), dict):
            envelopes = case["input"].get("envelopes")
            if envelopes:
                save("engine_apply", json.dumps(envelopes, separators=(",", ":")).encode())
        if case["op"] == "validate" and isinstance(case.get("input"), dict):
            doc = case["input"].get("document")
            if isinstance(doc, dict):
                save("parse_documents", json.dumps(doc, separators=(",", ":")).encode())
    for path in sorted((SPEC / "examples").glob("*.json")):
        save("parse_documents", path.read_bytes())
    # The differential target reads choice bytes, not JSON: a few plain starting points.
    for seed in (b"", b"\x00" * 64, bytes(range(256)), b"\x01\x02\x03\x04" * 40, b"\xff" * 128):
        save("billing_differential", seed)
    for target in [*OPS, "billing_differential"]:
        count = len(list((FUZZ / "corpus" / target).glob("*")))
        print(f"seed corpus {target}: {count} inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
