#!/usr/bin/env python3
"""Writes spec/examples/scenario/events.jsonl: the three-month scenario as the event log the
connected systems would send (CRM, ERP, PSA, billing), including a duplicate delivery, an
out-of-order approval, a CRM write to an ERP-owned field, a retroactive change order and a
partial credit.

Usage: scripts/make_engine_example.py path/to/billwise
The January invoice total (paid in full in February) is computed with `billwise preview --json`.
"""

import copy
import json
import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
sc = root / "spec" / "examples" / "scenario"
bw = sys.argv[1] if len(sys.argv) > 1 else str(root / "target" / "debug" / "billwise")


def load(name):
    return json.loads((sc / name).read_text())


contract = load("contract.json")
co1 = load("change-order-co1.json")
m1, m2, m3 = load("month-1-january.json"), load("month-2-february.json"), load("month-3-march.json")
project = m1["projects"][0]
opportunity = json.loads((root / "spec" / "examples" / "opportunity-northwind-wms.json").read_text())

events = []


def env(key, corr, source, at, event, expected=None):
    e = {
        "idempotency_key": key,
        "correlation_id": corr,
        "source": source,
        "occurred_at": at,
        "event": event,
    }
    if expected is not None:
        e["expected_version"] = expected
    events.append(e)
    return e


def entry(e, status):
    d = copy.deepcopy(e)
    d["status"] = status
    return d


# Sales: the opportunity is negotiated and won in the CRM.
opp = copy.deepcopy(opportunity)
opp["stage"] = "negotiation"
opp.pop("kind", None)
env("crm-opp-7781-v3", "OPP-7781", "crm", "2025-12-15T16:20:00Z",
    {"type": "opportunity.recorded", "opportunity": opp})
env("crm-opp-7781-won", "OPP-7781", "crm", "2025-12-19T11:05:00Z",
    {"type": "opportunity.won", "id": "OPP-7781"})

# The signed contract arrives from the ERP; the PSA sets up and starts the project.
env("erp-ctr-2026-031", "OPP-7781", "erp", "2026-01-02T09:00:00Z",
    {"type": "contract.recorded", "contract": contract})
prj = copy.deepcopy(project)
prj["status"] = "planned"
env("psa-prj-5530", "OPP-7781", "psa", "2026-01-02T09:30:00Z",
    {"type": "project.recorded", "project": prj})
env("psa-prj-5530-start", "OPP-7781", "psa", "2026-01-05T08:00:00Z",
    {"type": "project.activated", "id": "PRJ-5530"})

by_id = {e["id"]: e for e in m3["time_entries"]}
jan = [e for e in m1["time_entries"]]


def week_of(e):
    return "week-" + e["work_date"]


# January time: each entry is recorded as submitted, then approved.
# TE-JAN-23's approval arrives before the entry itself (out of order): it is rejected, and the
# PSA's retry after the entry arrives is applied.
out_of_order = None
for e in jan:
    rec = entry(e, "submitted")
    if e["id"] == "TE-JAN-23":
        out_of_order = env(f"psa-{e['id']}-approve", week_of(e), "psa", e["work_date"] + "T18:00:00Z",
                           {"type": "time_entry.approved", "id": e["id"]})
    env(f"psa-{e['id']}-rec", week_of(e), "psa", e["work_date"] + "T17:00:00Z",
        {"type": "time_entry.recorded", "time_entry": rec})
    if e["id"] == "TE-JAN-12":
        # The message bus delivers the same envelope twice.
        events.append(copy.deepcopy(events[-1]))
    if e["status"] == "approved" and e["id"] != "TE-JAN-23":
        env(f"psa-{e['id']}-approve", week_of(e), "psa", e["work_date"] + "T18:00:00Z",
            {"type": "time_entry.approved", "id": e["id"]})
    if e["id"] == "TE-JAN-23":
        events.append(copy.deepcopy(out_of_order))  # the retry

for x in m1["expenses"]:
    env(f"psa-{x['id']}-rec", "expenses-2026-01", "psa", x["date"] + "T19:00:00Z",
        {"type": "expense.recorded", "expense": entry(x, "submitted")})
    env(f"psa-{x['id']}-approve", "expenses-2026-01", "psa", x["date"] + "T19:30:00Z",
        {"type": "expense.approved", "id": x["id"]})

# The change order is drafted in the CRM and sent to the customer.
co = copy.deepcopy(co1)
co["status"] = "submitted"
co.pop("approved_on", None)
env("crm-co-1", "CO-1", "crm", "2026-01-26T15:00:00Z",
    {"type": "change_order.recorded", "change_order": co})

# February 2: the ERP drafts, approves and posts the January invoice (the ceiling is reached).
env("erp-inv-2026-0107-draft", "INV-2026-0107", "erp", "2026-02-02T07:00:00Z",
    {"type": "invoice.drafted", "invoice_id": "INV-2026-0107",
     "period": m1["period"], "as_of": m1["as_of"]})
env("erp-inv-2026-0107-approve", "INV-2026-0107", "erp", "2026-02-02T09:00:00Z",
    {"type": "invoice.approved", "id": "INV-2026-0107"})
env("erp-inv-2026-0107-post", "INV-2026-0107", "erp", "2026-02-02T09:05:00Z",
    {"type": "invoice.posted", "id": "INV-2026-0107"})

# TE-JAN-91 (recorded in January, still submitted) is approved in February.
env("psa-TE-JAN-91-approve", "week-2026-01-29", "psa", "2026-02-02T10:00:00Z",
    {"type": "time_entry.approved", "id": "TE-JAN-91"})

# February 3: CO-1 is approved in the CRM and applied in the ERP: rates from 19 January
# (retroactive), ceiling +75,000.00.
env("crm-co-1-approve", "CO-1", "crm", "2026-02-03T10:00:00Z",
    {"type": "change_order.approved", "id": "CO-1"})
env("erp-co-1-apply", "CO-1", "erp", "2026-02-03T12:00:00Z",
    {"type": "change_order.applied", "id": "CO-1"})

# The same day a CRM sync tries to write the raised ceiling straight into the signed contract:
# the contract is ERP-owned once signed, so the write is refused.
crm_contract = copy.deepcopy(contract)
crm_contract["ceiling"]["amount"]["amount"] = "100000.00"
env("crm-ctr-2026-031-sync", "CO-1", "crm", "2026-02-03T12:30:00Z",
    {"type": "contract.recorded", "contract": crm_contract})

# January's invoice is paid in full.
total = json.loads(subprocess.run([bw, "preview", "--json", str(sc / "month-1-january.json")],
                                  check=True, capture_output=True, text=True).stdout)["totals"]["total"]
env("bil-pay-0107", "INV-2026-0107", "billing", "2026-02-20T14:00:00Z",
    {"type": "payment.received", "payment_id": "PAY-2026-0107", "invoice_id": "INV-2026-0107",
     "amount": total, "date": "2026-02-20"})

# February time.
feb = [by_id[e["id"]] for e in m2["time_entries"] if e["id"].startswith("TE-FEB")]
for e in feb:
    rec = entry(e, "submitted")
    if e["id"] == "TE-FEB-13":
        rec["hours"] = "20"
    env(f"psa-{e['id']}-rec", week_of(e), "psa", e["work_date"] + "T17:00:00Z",
        {"type": "time_entry.recorded", "time_entry": rec})
    env(f"psa-{e['id']}-approve", week_of(e), "psa", e["work_date"] + "T18:00:00Z",
        {"type": "time_entry.approved", "id": e["id"]})

# March 2: the February invoice, with adjustments for January work the change order re-prices.
env("erp-inv-2026-0212-draft", "INV-2026-0212", "erp", "2026-03-02T07:00:00Z",
    {"type": "invoice.drafted", "invoice_id": "INV-2026-0212",
     "period": m2["period"], "as_of": m2["as_of"]})
env("erp-inv-2026-0212-approve", "INV-2026-0212", "erp", "2026-03-02T09:00:00Z",
    {"type": "invoice.approved", "id": "INV-2026-0212"})
env("erp-inv-2026-0212-post", "INV-2026-0212", "erp", "2026-03-02T09:05:00Z",
    {"type": "invoice.posted", "id": "INV-2026-0212"})

# A partial credit: 11 of the 20 h billed on TE-FEB-13 are given back; the PSA then corrects
# the entry to 24 h.
credit = load("credit-march.json")[0]
env("erp-cn-2026-004", "INV-2026-0212", "erp", "2026-03-10T16:00:00Z",
    {"type": "credit_note.issued", "credit_note_id": credit["credit_note_id"],
     "invoice_id": "INV-2026-0212",
     "lines": [{"kind": credit["kind"], "item_id": credit["item_id"], "quantity": credit["quantity"]}]})
fixed = entry(by_id["TE-FEB-13"], "approved")
env("psa-TE-FEB-13-fix", "week-2026-02-04", "psa", "2026-03-11T09:00:00Z",
    {"type": "time_entry.recorded", "time_entry": fixed})

# March time.
for e in (by_id[i] for i in by_id if i.startswith("TE-MAR")):
    env(f"psa-{e['id']}-rec", week_of(e), "psa", e["work_date"] + "T17:00:00Z",
        {"type": "time_entry.recorded", "time_entry": entry(e, "submitted")})
    env(f"psa-{e['id']}-approve", week_of(e), "psa", e["work_date"] + "T18:00:00Z",
        {"type": "time_entry.approved", "id": e["id"]})

out = sc / "events.jsonl"
out.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
print(f"wrote {len(events)} envelopes to {out.relative_to(root)}")
