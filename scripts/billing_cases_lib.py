"""Helpers the billing case scripts share: documents with defaults, running an operation through the
`billwise` CLI, and writing a case whose hand-checked figures the computed result must match."""
import copy, json, os, pathlib, subprocess, sys
from decimal import Decimal as D

root = pathlib.Path(__file__).resolve().parent.parent
target = os.environ.get("CARGO_TARGET_DIR", str(root / "target"))
bw = os.path.join(target, "debug", "billwise")

def money(a, c="USD"):
    return {"amount": a, "currency": c}

def contract(**kw):
    c = {"schema_version": 1, "kind": "contract", "id": "C-1", "account_id": "A-1", "legal_entity": "US01", "currency": "USD",
         "billing_model": "time_and_materials", "status": "active", "start_date": "2026-01-01", "end_date": "2026-12-31",
         "rate_card": {"entries": [
             {"role": "Consultant", "rate": money("150.00"), "effective_from": "2026-01-01"},
             {"role": "Senior", "rate": money("200.00"), "effective_from": "2026-01-01", "effective_to": "2026-06-30"},
             {"role": "Senior", "rate": money("220.00"), "effective_from": "2026-07-01"}]},
         "expense_policy": {"billable_categories": ["travel", "lodging"], "markup_percent": "10"}}
    c.update(kw)
    return c

def project(**kw):
    p = {"schema_version": 1, "kind": "project", "id": "P-1", "contract_id": "C-1", "legal_entity": "US01", "status": "active",
         "tasks": [{"id": "T-1", "name": "Delivery"}, {"id": "T-NB", "name": "Internal", "billable": False}]}
    p.update(kw)
    return p

def te(id, hours="8", date="2026-03-02", role="Consultant", **kw):
    e = {"id": id, "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1", "role": role, "work_date": date, "hours": hours, "status": "approved"}
    e.update(kw)
    return e

def ex(id, amount="100.00", currency="USD", date="2026-03-03", category="travel", **kw):
    e = {"id": id, "project_id": "P-1", "date": date, "amount": money(amount, currency), "category": category, "status": "approved"}
    e.update(kw)
    return e

def req(time=(), expenses=(), c=None, projects=None, **kw):
    r = {"contract": c or contract(), "projects": projects or [project()], "time_entries": list(time), "expenses": list(expenses),
         "period": {"start": "2026-03-01", "end": "2026-03-31"}, "as_of": "2026-04-02"}
    r.update(kw)
    return r

def co(seq, changes, effective="2026-03-01", approved="2026-03-20", retroactive=False, status="approved"):
    return {"schema_version": 1, "kind": "change_order", "id": f"CO-{seq}", "contract_id": "C-1", "sequence": seq, "status": status,
            "effective_date": effective, "approved_on": approved, "retroactive": retroactive, "changes": changes}

def run(op, request):
    res = subprocess.run([bw, "run", op], input=json.dumps(request).encode(), capture_output=True)
    return json.loads(res.stdout)

def ledger_after(request, invoice_id="INV-1"):
    return run("commit_invoice", {"invoice_id": invoice_id, "run": request})["ledger"]

counters = {}
def case(op, slug, description, request, check=None, input_text=None, area="billing"):
    """Runs `op` on the request, checks the figures stated by hand, and writes the case as the
    next one of `spec/cases/<area>/<op>/`."""
    folder = root / "spec" / "cases" / area / op
    folder.mkdir(parents=True, exist_ok=True)
    n = counters.get(op, 0) + 1
    counters[op] = n
    got = run(op, request) if input_text is None else json.loads(subprocess.run([bw, "run", op], input=input_text.encode(), capture_output=True).stdout)
    if check:
        try:
            check(got)
        except AssertionError as e:
            sys.exit(f"{area}/{op}/{n:03d}-{slug}: hand-checked figure differs: {e}\n{json.dumps(got, indent=1)[:4000]}")
    expect = {"error": {"code": got["error"]["code"], "path": got["error"]["path"]}} if "error" in got else {"result": got}
    doc = {"id": f"{area}/{op}/{n:03d}-{slug}", "op": op, "description": description}
    if input_text is None:
        doc["input"] = request
    else:
        doc["input_text"] = input_text
    doc["expect"] = expect
    (folder / f"{n:03d}-{slug}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")

# --- helpers for hand checks -------------------------------------------------------------
def lines(p): return [(l["source_ids"][0], l["amount"]["amount"]) for l in p["lines"]]
def held(p): return [(h["id"], h["reason"]) for h in p["held"]]
def total(p): return p["totals"]["total"]["amount"]
def eq(a, b):
    assert a == b, f"{a!r} != {b!r}"

