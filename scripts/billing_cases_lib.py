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


# --- engine envelopes -----------------------------------------------------------------
def env(key, source, event):
    return {"idempotency_key": key, "correlation_id": "c-" + key, "source": source,
            "occurred_at": "2026-01-20T10:00:00Z", "event": event}


def engine_setup(hours="8", ceiling="3000.00"):
    c = {"schema_version": 1, "id": "CTR-1", "account_id": "ACC-1", "legal_entity": "US01", "currency": "USD",
         "billing_model": "time_and_materials", "status": "active", "start_date": "2026-01-01", "end_date": "2026-12-31"}
    if ceiling:
        c["ceiling"] = {"amount": money(ceiling)}
    c["rate_card"] = {"entries": [{"role": "Developer", "rate": money("100.00"), "effective_from": "2026-01-01"}]}
    return [env("ctr", "erp", {"type": "contract.recorded", "contract": c}),
            env("prj", "psa", {"type": "project.recorded", "project": {
                "schema_version": 1, "id": "PRJ-1", "contract_id": "CTR-1", "legal_entity": "US01", "status": "active",
                "tasks": [{"id": "T-1", "name": "Build"}]}}),
            env("te", "psa", {"type": "time_entry.recorded", "time_entry": {
                "id": "TE-1", "project_id": "PRJ-1", "task_id": "T-1", "resource_id": "R-1", "role": "Developer",
                "work_date": "2026-01-12", "hours": hours, "status": "approved"}})]


def drafted(key, inv, as_of):
    return env(key, "erp", {"type": "invoice.drafted", "invoice_id": inv, "period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": as_of})


def lifecycle(key, source, type_, id_):
    return env(key, source, {"type": type_, "id": id_})


def statuses(r):
    return [(o["idempotency_key"], o["status"], (o.get("rejection") or {}).get("code")) for o in r["outcomes"]]


# --- billed ledgers ---------------------------------------------------------------------
def bill(item, qty, amount, unit_price="150.00", version=0, against=False, invoice="INV-1", kind="time",
         date="2026-03-02", role="Consultant", resource="R-1", task="T-1", rate_source=None):
    e = {"against_ceiling": against, "amount": money(amount), "contract_version": version, "date": date,
         "invoice_id": invoice, "item_id": item, "kind": kind, "quantity": qty, "unit_price": money(unit_price)}
    if kind == "time":
        e.update({"rate_source": rate_source or f"rate_card:role={role}@2026-01-01", "role": role,
                  "resource_id": resource, "task_id": task})
    return e


def without(e, *keys):
    return {k: v for k, v in e.items() if k not in keys}


def ledger(entries, credits=()):
    return {"schema_version": 1, "contract_id": "C-1", "entries": list(entries), "credits": list(credits)}


def credit(item, note="CN-1", kind="time", quantity=None, amount=None):
    c = {"credit_note_id": note, "kind": kind, "item_id": item}
    if quantity is not None:
        c["quantity"] = quantity
    if amount is not None:
        c["amount"] = money(amount)
    return c


def refused(code, path):
    def check(p):
        assert "error" in p, f"expected {code}, got a result"
        eq((p["error"]["code"], p["error"]["path"]), (code, path))
    return check
