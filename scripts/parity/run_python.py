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
            answer = {"id": case["id"], "error": {"code": e.code, "path": e.path}}
        lines.append(billwise.to_json(answer))
    (out / "python.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"parity: python answered {len(lines)} cases")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
