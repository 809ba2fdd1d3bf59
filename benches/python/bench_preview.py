"""`make bench-python`: billwise's `preview_invoice` from Python against a pure-Python `Decimal`
implementation of the same rules and against GoRules ZEN deciding eligibility, side by side.

    python benches/python/bench_preview.py [--sizes 100000,1000000] [--repeat 3]

Every implementation gets the same request (`workload.py`). Before timing, the pure-Python result
(lines, held items, totals, ceiling) and ZEN's reasons are checked against billwise's at each size.
Times are the best of `--repeat` runs (one run for the alternatives at a million entries, which
take minutes) in CPU seconds of this process (`time.process_time`, all threads: billwise's work
with the GIL released counts too), so that other jobs on a shared machine do not inflate them;
wall-clock seconds are printed alongside. Throughput is time entries per CPU second.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).parent))

import billwise  # noqa: E402
import pure_preview  # noqa: E402
import workload  # noqa: E402

try:
    import zen_eligibility
    from zen import ZenEngine  # noqa: F401
except ImportError:  # pragma: no cover - the Makefile installs it
    zen_eligibility = None  # type: ignore[assignment]


def best(fn: Callable[[], Any], repeat: int) -> Tuple[float, float]:
    """The best CPU and wall-clock seconds of `repeat` runs."""
    cpu, wall = [], []
    for _ in range(repeat):
        gc.collect()
        start, start_wall = time.process_time(), time.perf_counter()
        result = fn()
        cpu.append(time.process_time() - start)
        wall.append(time.perf_counter() - start_wall)
        del result
    return min(cpu), min(wall)


def canon(value: Any) -> Any:
    return json.loads(billwise.to_json(value))


def check(n: int, req: Dict[str, Any], zen: Any) -> None:
    """The alternatives agree with billwise on this workload."""
    ours = billwise.preview_invoice(req)
    theirs = pure_preview.preview_invoice(req)
    for result in (ours, theirs):
        for line in result["lines"]:
            if line.get("ceiling_split"):
                # The exact hours of the split line end in its 28th digit, where rust_decimal's
                # division and Python's 28-digit context may round apart.
                line["billed_hours"] = line["billed_hours"].quantize(Decimal("1e-20"))
    for key in ("lines", "held", "totals", "ceiling"):
        assert canon(ours[key]) == canon(theirs[key]), f"pure Python differs from billwise in `{key}` at {n}"
    order = {r["reason"]: i for i, r in enumerate(ours["summary"]["held_by_reason"])}
    assert canon(ours["summary"]["held_by_reason"]) == canon(
        sorted(theirs["held_by_reason"], key=lambda r: order[r["reason"]])
    )
    if zen is not None:
        reasons = zen.from_rows(zen_eligibility.rows(req))
        held = {h["id"]: h["reason"] for h in ours["held"] if h["reason"] != "ceiling_exceeded"}
        decided = {e["id"]: r for e, r in zip(req["time_entries"], reasons) if r != "eligible"}
        assert held == decided, f"ZEN's eligibility differs from billwise at {n}"
    print(
        f"  checked at {n:,}: {len(ours['lines']):,} lines, {len(ours['held']):,} held, "
        f"total {ours['totals']['total']['amount']} USD; pure Python and ZEN agree",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-zen", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print(f"billwise {billwise.__version__}, Python {platform.python_version()}, {platform.machine()}")
    rows: List[Tuple[int, str, str, float, float]] = []
    for n in sizes:
        req = workload.request(n)
        text = json.dumps(req, separators=(",", ":")).encode()
        zen = None if args.no_zen or zen_eligibility is None else zen_eligibility.Eligibility(req)
        check(n, req, zen)
        slow = 1 if n >= 1_000_000 else args.repeat

        def row(impl: str, source: str, fn: Callable[[], Any], repeat: int) -> None:
            seconds, wall = best(fn, repeat)
            rows.append((n, impl, source, seconds, wall))
            print(
                f"  {n:>9,}  {impl:<40} {source:<11} {seconds:8.3f} s CPU {wall:8.3f} s wall {n / seconds:>12,.0f} /s",
                flush=True,
            )

        row("billwise.preview_invoice -> dict", "dicts", lambda: billwise.preview_invoice(req), args.repeat)
        row("billwise.preview_invoice -> dict", "JSON bytes", lambda: billwise.preview_invoice(text), args.repeat)
        row("billwise.run -> canonical JSON str", "JSON bytes", lambda: billwise.run("preview_invoice", text), args.repeat)
        row("pure Python Decimal (subset)", "dicts", lambda: pure_preview.preview_invoice(req), slow)
        row("pure Python Decimal (subset)", "JSON bytes", lambda: pure_preview.preview_invoice(json.loads(text)), slow)
        if zen is not None:
            joined = json.dumps({"entries": zen_eligibility.rows(req)}, separators=(",", ":")).encode()
            row("ZEN decision table (eligibility only)", "dicts", lambda: zen.from_rows(zen_eligibility.rows(req)), slow)
            row("ZEN decision table (eligibility only)", "JSON bytes*", lambda: zen.from_json(joined), slow)
            del joined
        del req, text, zen
        gc.collect()

    print()
    print("| entries | implementation | input | CPU s | wall s | entries/s (CPU) | CPU time / billwise's |")
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for n, impl, source, seconds, wall in rows:
        ours = next(
            c for m, i, src, c, _ in rows if m == n and i.startswith("billwise.preview") and src.startswith(source[:4])
        )
        ratio = "" if impl.startswith("billwise") else f"{seconds / ours:.1f}x"
        print(f"| {n:,} | {impl} | {source} | {seconds:.3f} | {wall:.3f} | {n / seconds:,.0f} | {ratio} |")
    print()
    print("* ZEN from JSON bytes reads rows already joined with their project (the join is not timed).")


if __name__ == "__main__":
    main()
