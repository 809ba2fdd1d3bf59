"""Compares the runtimes' answers of `make parity` byte for byte, and each with the case's
expectation (an expected error pins its code, and its path when the case gives one).

Usage: compare.py OUT_DIR RUNTIME... ; exits 1 on any difference or a missing runtime file."""

import json
import sys
from pathlib import Path


def read(path: Path) -> dict:
    return {json.loads(line)["id"]: line for line in path.read_text(encoding="utf-8").splitlines()}


def main(out: Path, runtimes: list) -> int:
    expect = {k: json.loads(v) for k, v in read(out / "expect.jsonl").items()}
    answers = {}
    for r in runtimes:
        f = out / f"{r}.jsonl"
        if not f.exists():
            print(f"parity: no answers from {r} ({f} is missing)")
            return 1
        answers[r] = read(f)
    diffs, skipped = [], 0
    for case_id, want in expect.items():
        seen = {}
        for r in runtimes:
            line = answers[r].get(case_id)
            if line is None:
                diffs.append(f"{case_id}: {r} gave no answer")
                continue
            got = json.loads(line)
            if "skipped" in got:
                skipped += 1
                continue
            seen[r] = line
            if "result" in want:
                if got.get("result") != want["result"]:
                    diffs.append(f"{case_id}: {r} differs from expect\n  expect: {want['result'][:300]}\n  {r}: {line[:300]}")
            else:
                e = got.get("error") or {}
                w = want["error"]
                if e.get("code") != w["code"] or (w.get("path") is not None and e.get("path") != w["path"]):
                    diffs.append(f"{case_id}: {r} gave {line[:300]}, expected error {w}")
        if len(set(seen.values())) > 1:
            diffs.append(f"{case_id}: runtimes disagree: " + "; ".join(f"{r}={l[:200]}" for r, l in seen.items()))
    for d in diffs:
        print(d)
    extra = f" ({skipped} answers not applicable: input not UTF-8 for JS)" if skipped else ""
    print(f"parity: {len(expect)} cases x {len(runtimes)} runtimes, {len(diffs)} differences{extra}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2:]))
