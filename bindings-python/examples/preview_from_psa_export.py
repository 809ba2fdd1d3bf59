"""Preview the invoice a PSA time export would produce, and say why the rest does not bill.

Reads time entries from a PSA's CSV export (the format `check_time_export.py` checks), the contract
from JSON and the projects from a JSON list, previews the month's invoice with billwise and prints
the lines (with what priced each), the totals, the ceiling, and the held items grouped by reason.
Nothing is recorded: run it before the export reaches the billing platform.

    python preview_from_psa_export.py [TIME_EXPORT.csv] [CONTRACT.json] [PROJECTS.json]
        [--month YYYY-MM] [--as-of YYYY-MM-DD]

Exit status: 0 when the preview ran (held items are an outcome, not a failure), 1 when a row of the
export cannot be read, 2 when billwise cannot evaluate the request (the code and path say why).
"""

from __future__ import annotations

import argparse
import calendar
import csv
import json
import sys
from datetime import date
from pathlib import Path
from typing import Dict, List, Sequence

import billwise
from billwise.types import Contract, HeldItem, InvoicePreview, Period, Project, TimeEntry
from check_time_export import parse_row

HERE = Path(__file__).resolve().parent
DEFAULT_EXPORT = HERE / "data" / "psa-time-march-2026.csv"
DEFAULT_CONTRACT = HERE.parents[1] / "spec" / "examples" / "contract-northwind-tm.json"
DEFAULT_PROJECTS = HERE / "data" / "psa-projects.json"


def read_entries(path: Path) -> List[TimeEntry]:
    """Every row of the export as a time entry; a row that cannot be read stops the run."""
    entries: List[TimeEntry] = []
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                entries.append(parse_row(row))
            except (KeyError, ValueError) as e:
                raise SystemExit(f"{path.name} line {line}: cannot read the row: {e}") from None
    return entries


def month_period(month: str) -> Period:
    """`2026-03` as the period 2026-03-01 to 2026-03-31 (an argparse type)."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{month}` is not a month like 2026-03") from None
    last = calendar.monthrange(first.year, first.month)[1]
    return {"start": first, "end": first.replace(day=last)}


def print_preview(preview: InvoicePreview) -> None:
    currency = preview["currency"]
    period = preview["period"]
    print(
        f"invoice preview {preview['contract_id']} v{preview['contract_version']}, "
        f"{period['start']} to {period['end']}, as of {preview['as_of']}"
    )
    for line in preview["lines"]:
        ids = ", ".join(line["source_ids"])
        print(
            f"  {line['date']}  {ids:<9} {line['description']:<44} "
            f"{line['quantity']:>5} {line['unit']} x {line['unit_price']['amount']:>7} = "
            f"{line['amount']['amount']:>9} {currency}  ({line['rate_source']})"
        )
    print(f"total: {preview['totals']['total']['amount']} {currency} in {len(preview['lines'])} line(s)")
    ceiling = preview.get("ceiling")
    if ceiling:
        print(
            f"ceiling: {ceiling['remaining']['amount']} of {ceiling['limit']['amount']} {currency} "
            f"left after this run ({ceiling['utilisation_percent']}% used)"
        )

    grouped: Dict[str, List[HeldItem]] = {}
    for item in preview["held"]:
        grouped.setdefault(item["reason"], []).append(item)
    if not grouped:
        print("held items: none")
        return
    print(f"held items: {len(preview['held'])}")
    # The summary lists the reasons in the order of the checks (spec/domain/billing.md).
    for row in preview["summary"]["held_by_reason"]:
        items = grouped.get(row["reason"], [])
        would_bill = row["amount"]["amount"]
        amount = f", would bill {would_bill} {currency}" if would_bill else ""
        print(f"  {row['reason']} ({row['count']}{amount})")
        for item in items:
            print(f"    {item['id']}: {item['sentence']}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("export", nargs="?", type=Path, default=DEFAULT_EXPORT)
    parser.add_argument("contract", nargs="?", type=Path, default=DEFAULT_CONTRACT)
    parser.add_argument("projects", nargs="?", type=Path, default=DEFAULT_PROJECTS)
    parser.add_argument("--month", default="2026-03", type=month_period, help="the billing month, YYYY-MM")
    parser.add_argument("--as-of", default="2026-04-02", type=date.fromisoformat, help="the run date")
    args = parser.parse_args(argv[1:])

    try:
        entries = read_entries(args.export)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 1
    contract: Contract = json.loads(args.contract.read_text(encoding="utf-8"))
    projects: List[Project] = json.loads(args.projects.read_text(encoding="utf-8"))
    try:
        preview = billwise.preview_invoice(
            contract=contract,
            period=args.month,
            as_of=args.as_of,
            projects=projects,
            time_entries=entries,
        )
    except billwise.BillwiseError as e:
        print(f"cannot preview: {e.code} at {e.path or '/'}: {e}", file=sys.stderr)
        return 2
    print_preview(preview)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
