"""Check a PSA time export and the contract it bills against, before they reach invoicing.

Reads time entries from a PSA's CSV export (US dates, "Approved"/"Submitted" statuses, "Yes"/"No"
billable flags) and a contract from JSON, validates both with billwise and prints every problem,
grouped by time entry. Exit status: 0 when both are clean, 1 when something needs fixing.

    python check_time_export.py [TIME_EXPORT.csv] [CONTRACT.json]
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import DefaultDict, Dict, List, Sequence, Tuple

import billwise
from billwise.types import Contract, Problem, TimeEntry, WorkLog

HERE = Path(__file__).resolve().parent
DEFAULT_EXPORT = HERE / "data" / "psa-time-export.csv"
DEFAULT_CONTRACT = HERE.parents[1] / "spec" / "examples" / "contract-northwind-tm.json"


def parse_row(row: Dict[str, str]) -> TimeEntry:
    """One CSV row as a billwise time entry; raises ValueError for values a PSA should not emit."""
    try:
        hours = Decimal(row["Hours"].strip())
    except InvalidOperation:
        raise ValueError(f"hours `{row['Hours']}` is not a number") from None
    work_date: date = datetime.strptime(row["Date"].strip(), "%m/%d/%Y").date()
    return {
        "id": row["Entry ID"].strip(),
        "project_id": row["Project"].strip(),
        "task_id": row["Task"].strip(),
        "resource_id": row["Resource"].strip(),
        "role": row["Role"].strip(),
        "work_date": work_date,
        "hours": hours,
        "status": "approved" if row["Status"].strip().lower() == "approved" else "submitted",
        "billable": row["Billable"].strip().lower() in ("yes", "y", "true", "1"),
    }


def read_export(path: Path) -> Tuple[WorkLog, List[int], List[str]]:
    """The work log, the CSV line of each entry, and the rows that could not be read."""
    entries: List[TimeEntry] = []
    lines: List[int] = []
    unreadable: List[str] = []
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                entries.append(parse_row(row))
                lines.append(line)
            except (KeyError, ValueError) as e:
                unreadable.append(f"line {line} ({row.get('Entry ID', '?')}): {e}")
    work_log: WorkLog = {"schema_version": 1, "kind": "work_log", "time_entries": entries}
    return work_log, lines, unreadable


def group_by_entry(problems: Sequence[Problem]) -> Dict[int, List[Problem]]:
    """Problems keyed by the index of their time entry (-1 for the work log as a whole)."""
    grouped: DefaultDict[int, List[Problem]] = defaultdict(list)
    for problem in problems:
        parts = problem["path"].split("/")
        if len(parts) > 2 and parts[1] == "time_entries" and parts[2].isdigit():
            grouped[int(parts[2])].append(problem)
        else:
            grouped[-1].append(problem)
    return dict(grouped)


def main(argv: Sequence[str]) -> int:
    export = Path(argv[1]) if len(argv) > 1 else DEFAULT_EXPORT
    contract_path = Path(argv[2]) if len(argv) > 2 else DEFAULT_CONTRACT
    clean = True

    contract: Contract = json.loads(contract_path.read_text(encoding="utf-8"))
    try:
        report = billwise.validate(document=contract)
    except billwise.InputError as e:
        print(f"contract {contract_path.name}: cannot be read: {e}")
        return 1
    if report["valid"]:
        print(f"contract {contract['id']}: valid")
    else:
        clean = False
        print(f"contract {contract['id']}: {len(report['problems'])} problem(s)")
        for problem in report["problems"]:
            print(f"  {problem['path']}: {problem['code']}: {problem['message']}")

    work_log, lines, unreadable = read_export(export)
    for message in unreadable:
        clean = False
        print(f"skipped {message}")
    report = billwise.validate(document=work_log)
    count = len(work_log.get("time_entries", []))
    if report["valid"]:
        print(f"time export {export.name}: {count} entries, all valid")
    else:
        clean = False
        print(f"time export {export.name}: {count} entries, {len(report['problems'])} problem(s)")
        entries = work_log.get("time_entries", [])
        for i, problems in sorted(group_by_entry(report["problems"]).items()):
            print(f"  {entries[i]['id']} (line {lines[i]})" if i >= 0 else "  work log")
            for problem in problems:
                field = problem["path"].split("/")[-1]
                print(f"    {field}: {problem['code']}: {problem['message']}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
