"""Replay the events the CRM, ERP, PSA and billing platform sent, then look at the month's invoice.

Reads an event log (one envelope per line, JSON Lines) and the ownership policy, feeds the
envelopes to a ``billwise.Engine``, and prints what was rejected and why, the invoice preview of a
month with the items it holds grouped by reason, and the audit check. It then ships the engine to
worker processes (an engine pickles as its canonical snapshot) to show they preview the same total.

    python replay_event_log.py [EVENTS.jsonl] [--policy POLICY.json] [--month YYYY-MM] [--as-of YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from operator import methodcaller
from pathlib import Path
from typing import DefaultDict, List, Optional, Sequence

import billwise
from billwise.types import Envelope, HeldItem, InvoicePreview, OwnershipPolicy, Period

EXAMPLES = Path(__file__).resolve().parents[2] / "spec" / "examples"


def read_log(path: Path) -> List[Envelope]:
    """The envelopes of a JSON Lines event log, in the order received."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def month(text: str) -> Period:
    """``2026-03`` as the period from its first to its last day."""
    year, number = (int(part) for part in text.split("-"))
    last = calendar.monthrange(year, number)[1]
    return {"start": date(year, number, 1), "end": date(year, number, last)}


def held_by_reason(held: Sequence[HeldItem]) -> List[str]:
    """One line per hold reason: how many items, a few of their ids, and what they would bill."""
    groups: DefaultDict[str, List[HeldItem]] = defaultdict(list)
    for item in held:
        groups[item["reason"]].append(item)
    lines = []
    for reason, items in sorted(groups.items()):
        ids = ", ".join(item["id"] for item in items[:3]) + (", ..." if len(items) > 3 else "")
        amounts = [a for a in (item.get("amount") for item in items) if a is not None]
        worth = f", {sum((Decimal(a['amount']) for a in amounts), Decimal(0))} {amounts[0]['currency']}" if amounts else ""
        lines.append(f"  {reason}: {len(items)} ({ids}){worth}")
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("events", nargs="?", type=Path, default=EXAMPLES / "scenario" / "events.jsonl")
    parser.add_argument("--policy", type=Path, default=EXAMPLES / "ownership-policy.json")
    parser.add_argument("--month", default="2026-03")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 4, 2))
    args = parser.parse_args(argv)

    policy: OwnershipPolicy = json.loads(args.policy.read_text(encoding="utf-8"))
    engine = billwise.Engine(ownership_policy=policy)
    envelopes = read_log(args.events)
    outcomes = engine.apply_batch(envelopes)["outcomes"]
    counts = Counter(outcome["status"] for outcome in outcomes)
    print(
        f"replayed {len(envelopes)} envelopes: {counts['applied']} applied, {counts['duplicate']} duplicate, "
        f"{counts['rejected']} rejected (engine version {engine.version})"
    )
    open_exceptions = [e for e in engine.exceptions() if e.get("resolved_by_version") is None]
    print(f"open exceptions: {len(open_exceptions)}")
    for e in open_exceptions:
        print(f"  {e['code']} {e['envelope']['idempotency_key']}: {e['message']}")

    period = month(args.month)
    try:
        preview: InvoicePreview = engine.preview_invoice({"period": period, "as_of": args.as_of})
    except billwise.RuleError as e:  # e.g. ENGINE_NO_CONTRACT: the log never recorded one
        print(f"no preview: {e.code}: {e.message}", file=sys.stderr)
        return 1
    total = preview["totals"]["total"]
    print(
        f"invoice preview {period['start']} to {period['end']} as of {args.as_of}: "
        f"{len(preview['lines'])} lines, total {total['amount']} {total['currency']}"
    )
    print("held items by reason:")
    for line in held_by_reason(preview["held"]):
        print(line)
    audit = engine.verify_audit()
    print(f"audit chain: {audit['entries']} entries, {'valid' if audit['valid'] else 'BROKEN'}")

    with ProcessPoolExecutor(max_workers=2) as pool:
        remote = list(pool.map(methodcaller("preview_invoice", period, args.as_of), [engine, engine]))
    same = all(billwise.to_json(p) == billwise.to_json(preview) for p in remote)
    print(f"previewed in 2 worker processes from a {len(engine.snapshot())}-byte snapshot: {'same' if same else 'DIFFERENT'}")
    return 0 if same and audit["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
