"""Writes spec/cases/validate/validate/*.json from the inputs below, taking each expectation from
the current CLI. Run once, then read every expectation: a case is only as good as its review."""
import copy, json, subprocess, sys, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
ex = root / "spec" / "examples"
out = root / "spec" / "cases" / "validate" / "validate"
out.mkdir(parents=True, exist_ok=True)
bw = str(root / "target" / "debug" / "billwise")

def load(name):
    return json.loads((ex / name).read_text())

contract = load("contract-northwind-tm.json")
co = load("change-order-northwind-co1.json")
work = load("work-log-northwind-march.json")

def small_contract(**changes):
    c = {"schema_version": 1, "kind": "contract", "id": "C-1", "account_id": "A-1", "legal_entity": "US01",
         "currency": "USD", "billing_model": "time_and_materials", "status": "active",
         "start_date": "2026-01-01", "end_date": "2026-12-31",
         "rate_card": {"entries": [{"role": "Consultant", "rate": {"amount": "150.00", "currency": "USD"}, "effective_from": "2026-01-01"}]}}
    c.update(changes)
    return c

def entry(**changes):
    e = {"id": "TE-1", "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1", "role": "Consultant",
         "work_date": "2026-03-02", "hours": "8", "status": "approved"}
    e.update(changes)
    return e

def work_log(*entries, expenses=()):
    return {"schema_version": 1, "kind": "work_log", "time_entries": list(entries), "expenses": list(expenses)}

cases = []
def case(slug, description, document=None, input_text=None, **extra):
    req = dict(extra)
    if document is not None:
        req["document"] = document
    cases.append((slug, description, req if input_text is None else None, input_text))

for name in sorted(p.name for p in ex.glob("*.json")):
    case("valid-" + name.removesuffix(".json"), f"the sample document {name} is valid", load(name))
case("change-order-checked-against-its-contract", "a change order naming roles on the contract's rate card is valid against it", co, contract=contract)

case("negative-hours", "negative hours are reported with the entry's path", work_log(entry(hours="-2")))
case("hours-over-a-day", "more than 24 hours on one day is reported", work_log(entry(hours="25.5")))
case("duplicate-time-entry-id", "a duplicate id is reported at its second occurrence", work_log(entry(), entry(work_date="2026-03-03")))
case("end-before-start", "a contract ending before it starts is reported", small_contract(end_date="2025-12-31"))
case("currency-mismatch-in-contract", "a rate and a ceiling in another currency are both reported",
     small_contract(ceiling={"amount": {"amount": "1000.00", "currency": "EUR"}},
                    rate_card={"entries": [{"role": "Consultant", "rate": {"amount": "150.00", "currency": "GBP"}, "effective_from": "2026-01-01"}]}))
case("ambiguous-rate-entries", "two rates for one role from the same date are ambiguous, never a silent pick",
     small_contract(rate_card={"entries": [
         {"role": "Consultant", "rate": {"amount": "150.00", "currency": "USD"}, "effective_from": "2026-01-01"},
         {"role": "Consultant", "rate": {"amount": "160.00", "currency": "USD"}, "effective_from": "2026-01-01"}]}))
case("overlapping-rate-entries", "a rate whose effective_to runs past its successor's start is reported",
     small_contract(rate_card={"entries": [
         {"role": "Consultant", "rate": {"amount": "150.00", "currency": "USD"}, "effective_from": "2026-01-01", "effective_to": "2026-07-15"},
         {"role": "Consultant", "rate": {"amount": "160.00", "currency": "USD"}, "effective_from": "2026-07-01"}]}))
case("rate-entry-needs-one-target", "a rate for both a role and a resource is reported; a zero rate too",
     small_contract(rate_card={"hours_per_day": "30", "entries": [
         {"role": "Consultant", "resource_id": "R-1", "rate": {"amount": "0", "currency": "USD"}, "effective_from": "2026-01-01"}]}))
bad_co = copy.deepcopy(co)
bad_co["changes"].append({"type": "set_rate", "role": "Astronaut", "rate": {"amount": "500.00", "currency": "USD"}})
bad_co["changes"].append({"type": "remove_milestone", "milestone_id": "MS-9"})
case("unknown-role-in-change-order", "a change order naming a role and a milestone the contract lacks is reported", bad_co, contract=contract)
case("change-order-for-another-contract", "a change order amending another contract is reported", dict(co, contract_id="CTR-OTHER"), contract=contract)
case("change-order-shape", "sequence 0, an approved order without approved_on and no changes are all reported",
     {"schema_version": 1, "kind": "change_order", "id": "CO-X", "contract_id": "C-1", "sequence": 0, "status": "approved", "effective_date": "2026-01-01", "changes": []})
case("fixed-fee-without-fee", "a fixed_fee contract without its fee, and milestones over 100 percent, are reported",
     small_contract(billing_model="fixed_fee", milestones=[
         {"id": "M-1", "name": "Design", "percent": "60", "due_date": "2026-03-01", "status": "pending"},
         {"id": "M-2", "name": "Build", "percent": "50", "due_date": "2026-06-01", "status": "pending"},
         {"id": "M-3", "name": "Both", "percent": "5", "amount": {"amount": "10.00", "currency": "USD"}, "due_date": "2026-06-01", "status": "pending"}]))
case("time-rounding-needs-increment", "time rounding without an increment is reported", small_contract(rounding={"time_rounding": "up"}))
case("expense-fx-rate-zero", "a zero fx rate and a negative expense are reported", work_log(expenses=[
    {"id": "EX-1", "project_id": "P-1", "date": "2026-03-02", "amount": {"amount": "-10.00", "currency": "CAD"}, "category": "travel", "status": "approved", "fx_rate": "0"}]))
case("invoice-total-differs", "an invoice whose total is not the sum of its lines is reported",
     dict(load("invoice-northwind-2026-02.json"), total={"amount": "3994.00", "currency": "USD"}))
case("account-own-parent", "an account that is its own parent is a hierarchy cycle", dict(load("account-northwind.json"), parent_id="ACC-1042"))
case("ownership-conflict-and-unknown-entity", "two owners of one field at one stage, and an unknown entity kind, are reported",
     {"schema_version": 1, "kind": "ownership_policy", "rules": [
         {"entity": "contract", "fields": ["*"], "stages": ["signed"], "owner": "erp"},
         {"entity": "contract", "fields": ["*"], "stages": ["signed"], "owner": "crm"},
         {"entity": "spaceship", "fields": ["name"], "stages": ["*"], "owner": "crm"}]})
case("unknown-field", "a misspelt field is refused with its path", work_log(dict(entry(), huors="8")))
case("missing-field", "a missing required field is reported with its path", small_contract(currency=None) | {"currency": None} if False else {k: v for k, v in small_contract().items() if k != "currency"})
case("impossible-date", "2026-02-30 is not a date", work_log(entry(work_date="2026-02-30")))
case("exponent-decimal", "1e400 is not a decimal string", work_log(entry(hours="1e400")))
case("nan-decimal", "NaN is not a decimal string", work_log(entry(hours="NaN")))
case("two-points-decimal", "12.3.4 is not a decimal string", work_log(entry(hours="12.3.4")))
case("number-instead-of-decimal-string", "a JSON number where a decimal string belongs is refused: a float may have lost cents", work_log(entry(hours=7.5)))
case("unknown-currency", "an unknown currency code is refused", small_contract(currency="XYZ"))
case("control-character-in-id", "an id with a control character is refused", work_log(entry(id="TE-\u0007")))
case("invalid-system-name", "a system name must be a lowercase identifier", dict(load("account-northwind.json"), external_ids={"Big CRM": "1"}))
case("forty-digit-decimal", "a 40-digit decimal exceeds the digit limit", work_log(entry(hours="1" * 40)))
case("unsupported-schema-version", "schema_version 2 is not supported by this build", dict(small_contract(), schema_version=2))
case("unknown-kind", "an unknown document kind cannot be validated", {"schema_version": 1, "kind": "spaceship"})
case("no-kind", "a document without kind needs the kind given explicitly", {"schema_version": 1, "id": "X"})
case("explicit-kind", "the kind may be given in the request instead of the document",
     {k: v for k, v in load("payment-northwind-2026-02.json").items() if k != "kind"}, kind="payment")
case("empty-name", "an account name of only spaces is an empty field", dict(load("account-northwind.json"), name="   "))
case("wrong-type", "an object where a list belongs names the field", {"schema_version": 1, "kind": "work_log", "time_entries": {}})
case("unknown-status", "a status that is not in the lifecycle is refused with the allowed values", work_log(entry(status="approvedd")))
big_line = {"kind": "time", "source_ids": ["TE-1"], "quantity": "1", "unit_price": {"amount": "9" * 28, "currency": "USD"}, "amount": {"amount": "9" * 28, "currency": "USD"}}
case("invoice-sum-overflows", "lines whose sum cannot be computed exactly are reported, not wrapped",
     {"schema_version": 1, "kind": "invoice", "id": "INV-X", "contract_id": "C-1", "status": "draft", "issue_date": "2026-01-31", "currency": "USD",
      "lines": [big_line] * 10, "total": {"amount": "1", "currency": "USD"}})
case("duplicate-key", "a key given twice is refused (the last one does not silently win)", None,
     input_text='{"document":{"schema_version":1,"kind":"payment","id":"PAY-1","id":"PAY-2","invoice_id":"I","amount":{"amount":"1.00","currency":"USD"},"date":"2026-01-01"}}')
case("malformed-json", "malformed JSON cannot be evaluated", None, input_text='{"document":{"schema_version":1,')
case("nesting-past-the-limit", "nesting far past the depth limit is refused before parsing", None,
     input_text='{"document":' + '[' * 200 + ']' * 200 + '}')

for n, (slug, description, req, text) in enumerate(cases, 1):
    body = text if text is not None else json.dumps(req)
    res = subprocess.run([bw, "run", "validate"], input=body.encode(), capture_output=True)
    got = json.loads(res.stdout)
    if "error" in got:
        expect = {"error": {"code": got["error"]["code"], "path": got["error"]["path"]}}
    else:
        expect = {"result": got}
    cid = f"validate/validate/{n:03d}-{slug}"
    doc = {"id": cid, "op": "validate", "description": description}
    if text is not None:
        doc["input_text"] = text
    else:
        doc["input"] = req
    doc["expect"] = expect
    (out / f"{n:03d}-{slug}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(cid, "->", json.dumps(expect)[:300])
