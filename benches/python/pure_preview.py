"""A hand-written pure-Python `Decimal` implementation of the billing run, for comparison.

It implements the subset of `spec/domain/billing.md` the benchmark's workload exercises, the way a
careful integration script would: eligibility checks 2-7 and 9 in order with the same reasons and
sentences (no ledger, so check 1 never holds; no expenses, milestones, change orders, manual rates,
time increments or day rates), hourly pricing from the dated rate card (role entries only) rounded
half-up to cents, and the ceiling in `split` mode over the eligible items sorted by date and id.
Its result carries lines, held items, totals, the ceiling status and held items by reason; it leaves
out the aging summary and the backlog. The benchmark checks that its lines, held items, totals and
ceiling equal billwise's before timing anything (the split line's hours are kept to 12 decimals,
rounded down, as the ledger keeps them).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Dict, List, Optional, Tuple

CENT = Decimal("0.01")
# The ledger keeps billed hours to 12 decimals (rounded down).
LEDGER_QUANTITY = Decimal("1e-12")
QUANTITY = Decimal("0.0001")
ZERO = Decimal("0")
ALLOWED = ("active", "completed")


def _money(amount: Decimal, currency: str) -> Dict[str, Any]:
    return {"amount": amount, "currency": currency}


def _plain(d: Decimal) -> Decimal:
    """Trailing zeros off, as billwise shows quantities and hours (`8.00` -> `8`)."""
    n = d.normalize()
    return n.quantize(Decimal(1)) if n == n.to_integral_value() else n


def preview_invoice(req: Dict[str, Any]) -> Dict[str, Any]:
    contract = req["contract"]
    currency = contract["currency"]
    start, end = date.fromisoformat(contract["start_date"]), date.fromisoformat(contract["end_date"])
    period_start = date.fromisoformat(req["period"]["start"])
    period_end = date.fromisoformat(req["period"]["end"])
    legal_entity = contract["legal_entity"]

    # Rate card: role -> [(from, to, rate, source)] in effective order.
    rates: Dict[str, List[Tuple[date, Optional[date], Decimal, str]]] = {}
    for e in contract["rate_card"]["entries"]:
        frm = date.fromisoformat(e["effective_from"])
        to = date.fromisoformat(e["effective_to"]) if e.get("effective_to") else None
        rates.setdefault(e["role"], []).append(
            (frm, to, Decimal(e["rate"]["amount"]), f"rate_card:role={e['role']}@{e['effective_from']}")
        )
    for lst in rates.values():
        lst.sort(key=lambda r: r[0])
    projects = {p["id"]: p for p in req.get("projects", [])}
    tasks = {
        p["id"]: {t["id"]: (t.get("billable", True), t["name"]) for t in p.get("tasks", [])} for p in projects.values()
    }
    statuses = ", ".join(ALLOWED)

    held: List[Dict[str, Any]] = []
    candidates: List[Tuple[date, str, Dict[str, Any], Decimal, Decimal]] = []

    def rate_for(role: str, d: date) -> Optional[Tuple[date, Optional[date], Decimal, str]]:
        for r in reversed(rates.get(role, ())):
            if r[0] <= d and (r[1] is None or d <= r[1]):
                return r
        return None

    for e in req.get("time_entries", []):
        eid = e["id"]
        d = date.fromisoformat(e["work_date"])
        hours = Decimal(e["hours"])

        def hold(reason: str, sentence: str, amount: Optional[Decimal] = None) -> None:
            item: Dict[str, Any] = {"kind": "time", "id": eid, "date": d, "reason": reason, "sentence": sentence}
            if amount is not None:
                item["amount"] = _money(amount, currency)
            held.append(item)

        def would_bill() -> Optional[Decimal]:
            r = rate_for(e["role"], d)
            return None if r is None else (hours * r[2]).quantize(CENT, ROUND_HALF_UP)

        if e["status"] != "approved":
            hold("not_approved", f"time entry {eid} is {e['status']}, not approved")
            continue
        if not e.get("billable", True):
            hold("not_billable", f"time entry {eid} is marked non-billable")
            continue
        pid = e["project_id"]
        p = projects.get(pid)
        # Check 3 (the task is billable) comes before check 4 (the project), for a known project.
        if p is not None:
            ptasks = tasks[pid]
            task = ptasks.get(e["task_id"])
            if task is None and ptasks:
                hold("not_billable", f"task {e['task_id']} is not a task of project {pid}")
                continue
            if task is not None and not task[0]:
                hold("not_billable", f"task {e['task_id']} of project {pid} is non-billable")
                continue
        if p is None:
            hold("project_status", f"project {pid} of time entry {eid} is not part of this billing run")
            continue
        if p["contract_id"] != contract["id"]:
            hold("project_status", f"project {pid} belongs to contract {p['contract_id']}, not {contract['id']}")
            continue
        if p["status"] not in ALLOWED:
            hold("project_status", f"project {pid} is {p['status']}; billable statuses are {statuses}")
            continue
        if d < start or d > end:
            hold(
                "outside_contract_period",
                f"time entry {eid} is dated {d}, outside the contract period {start} to {end}",
                would_bill(),
            )
            continue
        if d < period_start or d > period_end:
            hold(
                "outside_billing_period",
                f"time entry {eid} is dated {d}, outside the billing period {period_start} to {period_end}",
                would_bill(),
            )
            continue
        if p["legal_entity"] != legal_entity:
            hold(
                "legal_entity_mismatch",
                f"project {pid} is delivered by {p['legal_entity']}, but contract {contract['id']} is with {legal_entity}",
                would_bill(),
            )
            continue
        tid = e["task_id"]
        r = rate_for(e["role"], d)
        if r is None:
            hold(
                "missing_rate",
                f"no rate prices role {e['role']} (resource {e['resource_id']}, task {tid}) on {d} under contract version 0",
            )
            continue
        amount = (hours * r[2]).quantize(CENT, ROUND_HALF_UP)
        line = {
            "kind": "time",
            "source_ids": [eid],
            "date": d,
            "description": f"{e['role']}, {e['resource_id']}, {task[1] if task else tid}",
            "worked_hours": _plain(hours),
            "billed_hours": _plain(hours),
            "quantity": _plain(hours.quantize(QUANTITY, ROUND_HALF_UP)),
            "unit": "hour",
            "unit_price": _money(r[2], currency),
            "amount": _money(amount, currency),
            "rate_source": r[3],
            "contract_version": 0,
        }
        candidates.append((d, eid, line, amount, hours))

    # The ceiling, in split mode: items by date then id.
    candidates.sort(key=lambda c: (c[0], c[1]))
    ceiling = contract.get("ceiling")
    limit = Decimal(ceiling["amount"]["amount"]) if ceiling else None
    used = ZERO
    crossed = False
    lines: List[Dict[str, Any]] = []
    for d, eid, line, amount, hours in candidates:
        if limit is None:
            lines.append(line)
            continue
        nxt = used + amount
        if not crossed and nxt <= limit:
            used = nxt
            lines.append(line)
            continue
        room = ZERO if crossed else max(limit - used, ZERO)
        crossed = True
        if room > 0:
            # The hours the room pays for (multiplied before dividing, as billwise does), kept to
            # 12 decimals rounded down; shown to 4.
            part = hours * room / amount
            line["quantity"] = _plain(part.quantize(QUANTITY, ROUND_DOWN))
            line["billed_hours"] = _plain(part.quantize(LEDGER_QUANTITY, ROUND_DOWN))
            line["amount"] = _money(room, currency)
            line["ceiling_split"] = True
            used += room
            lines.append(line)
            rest = amount - room
            held.append(
                {
                    "kind": "time",
                    "id": eid,
                    "date": d,
                    "reason": "ceiling_exceeded",
                    "sentence": f"time entry {eid} was billed up to the ceiling of {limit}; {rest} is over it",
                    "amount": _money(rest, currency),
                }
            )
        else:
            held.append(
                {
                    "kind": "time",
                    "id": eid,
                    "date": d,
                    "reason": "ceiling_exceeded",
                    "sentence": f"time entry {eid} would bring the total billed against the ceiling to more than {limit} ({room:.2f} left)",
                    "amount": _money(amount, currency),
                }
            )
    held.sort(key=lambda h: (h["date"], h["id"]))

    time_total = sum((ln["amount"]["amount"] for ln in lines), ZERO)
    zero = _money(Decimal("0.00"), currency)
    by_reason: Dict[str, List[Any]] = {}
    for h in held:
        slot = by_reason.setdefault(h["reason"], [0, Decimal("0.00")])
        slot[0] += 1
        if "amount" in h:
            slot[1] += h["amount"]["amount"]
    result: Dict[str, Any] = {
        "lines": lines,
        "held": held,
        "totals": {
            "time": _money(time_total, currency),
            "expenses": zero,
            "milestones": zero,
            "adjustments": zero,
            "retainer_drawdown": zero,
            "total": _money(time_total, currency),
        },
        "held_by_reason": [{"reason": k, "count": v[0], "amount": _money(v[1], currency)} for k, v in by_reason.items()],
    }
    if limit is not None:
        result["ceiling"] = {
            "limit": _money(limit, currency),
            "scope": ceiling.get("scope", "fees"),
            "billed_before": zero,
            "this_run": _money(used, currency),
            "remaining": _money(max(limit - used, ZERO), currency),
            "utilisation_percent": _plain((used / limit * 100).quantize(CENT, ROUND_HALF_UP)),
        }
    return result
