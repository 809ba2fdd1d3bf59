"""The benchmark's billing run: one capped time-and-materials contract and `n` time entries.

Deterministic (no randomness): entry `i` takes its role, person, task, project, date, hours and
status from `i`, so every run and every implementation sees the same input. The mix exercises
eligibility checks 2, 3, 4, 6 and 9 (not approved, non-billable entry or task, project status,
outside the billing period, missing rate), dated rates, and the ceiling split (check 10): about
seven entries in ten are eligible and the ceiling is crossed about four fifths of the way through
them, so the last fifth is held as `ceiling_exceeded` after one split line.

Values are what a PSA export gives: decimals and dates as strings.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

ROLES = 20  # roles with rates; role 20 has none (missing_rate)
YEAR = 2026
DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def contract(n: int) -> Dict[str, Any]:
    entries: List[Dict[str, Any]] = []
    for r in range(ROLES):
        first = 100 + 5 * r
        entries.append(
            {
                "role": f"Role {r}",
                "rate": {"amount": f"{first}.00", "currency": "USD"},
                "effective_from": f"{YEAR}-01-01",
                "effective_to": f"{YEAR}-06-30",
            }
        )
        entries.append(
            {
                "role": f"Role {r}",
                "rate": {"amount": f"{first + 10}.50", "currency": "USD"},
                "effective_from": f"{YEAR}-07-01",
            }
        )
    return {
        "schema_version": 1,
        "kind": "contract",
        "id": "C-BENCH",
        "account_id": "A-1",
        "legal_entity": "US01",
        "currency": "USD",
        "billing_model": "time_and_materials",
        "status": "active",
        "start_date": f"{YEAR}-01-01",
        "end_date": f"{YEAR}-12-31",
        "rate_card": {"entries": entries},
        # About 560 USD per entry is eligible; the ceiling holds about four fifths of it.
        "ceiling": {"amount": {"amount": f"{n * 360}.00", "currency": "USD"}, "mode": "split"},
    }


def projects() -> List[Dict[str, Any]]:
    tasks = [{"id": f"T-{t}", "name": f"Task {t}"} for t in range(6)]
    tasks.append({"id": "T-6", "name": "Internal", "billable": False})
    return [
        {"schema_version": 1, "id": "P-1", "contract_id": "C-BENCH", "legal_entity": "US01", "status": "active", "tasks": tasks},
        {"schema_version": 1, "id": "P-2", "contract_id": "C-BENCH", "legal_entity": "US01", "status": "completed", "tasks": tasks},
        {"schema_version": 1, "id": "P-3", "contract_id": "C-BENCH", "legal_entity": "US01", "status": "on_hold", "tasks": tasks},
    ]


def time_entry(i: int) -> Dict[str, Any]:
    month = i % 12
    day = 1 + (i // 12) % DAYS_IN_MONTH[month]
    entry: Dict[str, Any] = {
        "id": f"TE-{i}",
        "project_id": "P-3" if i % 23 == 0 else f"P-{1 + i % 2}",
        "task_id": f"T-{(i // 5) % 7}",
        "resource_id": f"R-{i % 50}",
        "role": f"Role {i % (ROLES + 1)}",
        "work_date": f"{YEAR}-{month + 1:02d}-{day:02d}",
        "hours": f"{1 + i % 8}.{(i % 4) * 25:02d}",
        "status": "submitted" if i % 19 == 0 else "approved",
    }
    if i % 29 == 0:
        entry["billable"] = False
    return entry


def request(n: int) -> Dict[str, Any]:
    """The preview request: the year's work up to November, run on 1 December."""
    return {
        "contract": contract(n),
        "projects": projects(),
        "time_entries": [time_entry(i) for i in range(n)],
        "period": {"start": f"{YEAR}-01-01", "end": f"{YEAR}-11-30"},
        "as_of": f"{YEAR}-12-01",
    }


def request_bytes(n: int) -> bytes:
    return json.dumps(request(n), separators=(",", ":")).encode()
