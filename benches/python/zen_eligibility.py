"""The eligibility part of the billing run as a GoRules ZEN decision table (`zen-engine`).

One decision table with hit policy `first`, evaluated in loop mode over all entries in one call
(ZEN's fastest route; one call per entry is far slower). A decision table reads one row at a
time, so the caller joins what the row needs (the project's status, whether the task is
billable) before the call: that join is part of ZEN's measured time from dicts. ZEN only decides
the reason (or `eligible`): no pricing, no ceiling, no sentences.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List


def decision(req: Dict[str, Any]) -> str:
    """The JDM document for the request's contract and period."""
    c = req["contract"]
    roles = sorted({e["role"] for e in c["rate_card"]["entries"]})
    p = req["period"]

    def column(i: str, name: str, field: str) -> Dict[str, str]:
        return {"id": i, "name": name, "field": field}

    inputs = [
        column("status", "status", "status"),
        column("billable", "billable", "billable"),
        column("task", "task billable", "task_billable"),
        column("project", "project status", "project_status"),
        column("date", "work date", "date(work_date)"),
        column("role", "role", "role"),
    ]
    blank = {"status": "", "billable": "", "task": "", "project": "", "date": "", "role": ""}

    def rule(n: int, reason: str, **cells: str) -> Dict[str, str]:
        return {"_id": f"r{n}", **blank, **cells, "reason": json.dumps(reason)}

    rules = [
        rule(1, "not_approved", status='!= "approved"'),
        rule(2, "not_billable", billable="false"),
        # The task check comes before the project check, as in the spec's order.
        rule(3, "not_billable", task="false"),
        rule(4, "project_status", project='not in ["active", "completed"]'),
        rule(5, "outside_contract_period", date=f'< date("{c["start_date"]}") or > date("{c["end_date"]}")'),
        rule(6, "outside_billing_period", date=f'< date("{p["start"]}") or > date("{p["end"]}")'),
        rule(7, "missing_rate", role=f"not in {json.dumps(roles)}"),
        rule(8, "eligible"),
    ]
    table = {
        "hitPolicy": "first",
        "inputs": inputs,
        "outputs": [{"id": "reason", "name": "reason", "field": "reason"}],
        "rules": rules,
        "passThrough": False,
        "inputField": "entries",
        "outputPath": "results",
        "executionMode": "loop",
    }
    at = {"x": 0, "y": 0}
    return json.dumps(
        {
            "nodes": [
                {"id": "in", "type": "inputNode", "name": "request", "position": at},
                {"id": "dt", "type": "decisionTableNode", "name": "eligibility", "position": at, "content": table},
                {"id": "out", "type": "outputNode", "name": "response", "position": at},
            ],
            "edges": [
                {"id": "e1", "sourceId": "in", "targetId": "dt", "type": "edge"},
                {"id": "e2", "sourceId": "dt", "targetId": "out", "type": "edge"},
            ],
        }
    )


def rows(req: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The table's rows: each entry with its project's status and its task's billable flag."""
    projects = {p["id"]: p for p in req.get("projects", [])}
    tasks = {pid: {t["id"]: t.get("billable", True) for t in p.get("tasks", [])} for pid, p in projects.items()}
    out = []
    for e in req["time_entries"]:
        p = projects.get(e["project_id"])
        out.append(
            {
                "status": e["status"],
                "billable": e.get("billable", True),
                "task_billable": tasks.get(e["project_id"], {}).get(e["task_id"], True),
                "project_status": p["status"] if p else "unknown",
                "work_date": e["work_date"],
                "role": e["role"],
            }
        )
    return out


class Eligibility:
    """A compiled ZEN decision for one contract and period."""

    def __init__(self, req: Dict[str, Any]) -> None:
        import zen

        self._decision = zen.ZenEngine().create_decision(decision(req))

    def from_rows(self, entries: List[Dict[str, Any]]) -> List[str]:
        result = self._decision.evaluate({"entries": entries})["result"]["results"]
        return [r["reason"] for r in result]

    def from_json(self, text: bytes) -> List[str]:
        result = self._decision.evaluate(text)["result"]["results"]
        return [r["reason"] for r in result]
