"""The Python side of `make parity`: every case of OUT_DIR/cases.jsonl through `billwise.run`
on the exact request bytes; writes OUT_DIR/python.jsonl (see tests/src/parity.rs)."""

import json
import sys
from pathlib import Path

import billwise


def main(out: Path) -> None:
    lines = []
    for raw in (out / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(raw)
        data = (out / case["input"]).read_bytes()
        try:
            answer = {"id": case["id"], "result": billwise.run(case["op"], data)}
        except billwise.BillwiseError as e:
            answer = {"id": case["id"], "error": {"code": e.code, "exception": type(e).__name__, "path": e.path}}
        # The answer line itself is written with the standard library, as the JS runner writes
        # it with JSON.stringify: keys sorted, no whitespace. (`billwise.to_json` would apply the
        # input limits to it, and a large result is one string longer than the 64 KB limit.)
        lines.append(json.dumps(answer, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    (out / "python.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"parity: python answered {len(lines)} cases")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
