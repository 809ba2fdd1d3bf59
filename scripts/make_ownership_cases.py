"""Writes spec/cases/{ownership,reconcile,activation}/... from the inputs below, taking each
expectation from the current CLI (`billwise run OP`). Run once, then read every expectation: a case
is only as good as its review. Usage: BILLWISE=path/to/billwise python3 scripts/make_ownership_cases.py"""
import copy, json, os, subprocess, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
ex = root / "spec" / "examples"
bw = os.environ.get("BILLWISE", str(root / "target" / "debug" / "billwise"))

def load(name):
    return json.loads((ex / name).read_text())

POLICY = load("ownership-policy.json")
ACCOUNT = load("account-northwind.json")
ACCOUNT_UK = load("account-northwind-uk.json")
OPP = load("opportunity-northwind-wms.json")

def money(a, c="USD"):
    return {"amount": a, "currency": c}

cases = []
def case(area, op, slug, description, req=None, text=None):
    cases.append((area, op, slug, description, req, text))

# --- check_update ---------------------------------------------------------------------------
def upd(slug, description, entity, source, changes, stage=None, mode=None, policy=POLICY):
    req = {"policy": policy, "entity": entity, "source": source, "changes": changes}
    if stage is not None:
        req["stage"] = stage
    if mode is not None:
        req["mode"] = mode
    case("ownership", "check_update", slug, description, req)

upd("crm-edits-a-draft-contract", "CRM owns every field of a contract in draft", "contract", "crm",
    {"end_date": "2026-12-31", "billing_model": "fixed_fee"}, stage="draft")
upd("crm-edits-a-signed-contract", "once signed, ERP owns the contract: CRM's change is refused with the owner named", "contract", "crm",
    {"end_date": "2027-06-30"}, stage="signed")
upd("erp-edits-a-signed-contract", "ERP may change a signed contract", "contract", "erp",
    {"end_date": "2027-06-30"}, stage="signed")
upd("lenient-update-is-split", "lenient mode applies the fields the source owns and refuses the rest", "account", "crm",
    {"name": "Northwind Logistics, Inc.", "tax_profile": "US-EXEMPT"}, stage="active")
upd("strict-update-is-refused-whole", "strict mode refuses the whole update when one field is refused", "account", "crm",
    {"name": "Northwind Logistics, Inc.", "tax_profile": "US-EXEMPT"}, stage="active", mode="strict")
upd("strict-update-all-owned", "strict mode accepts an update whose every field the source owns", "account", "erp",
    {"payment_terms": "NET45", "tax_profile": "US-EXEMPT"}, stage="active", mode="strict")
upd("unknown-field", "a field the entity does not have is refused as unknown", "account", "crm",
    {"colour": "blue", "name": "Northwind"}, stage="active")
upd("no-stage-uniform-owner", "without a stage, a field owned by one system at every stage still has its owner", "account", "crm",
    {"name": "Northwind"})
upd("no-stage-contract", "without a stage, a contract field has no single owner and is refused", "contract", "erp",
    {"end_date": "2027-06-30"})
upd("source-owning-nothing", "a system that owns nothing in the policy is refused everywhere", "time_entry", "hris",
    {"hours": "7.5"}, stage="submitted")
upd("payment-has-no-lifecycle", "a payment has no stages; billing owns it", "payment", "billing",
    {"amount": money("500.00"), "date": "2026-03-10"})
upd("billing-may-not-edit-invoice", "ERP owns invoices; billing's change to a posted invoice is refused", "invoice", "billing",
    {"status": "paid"}, stage="posted")
upd("empty-update", "an update with no fields is accepted and changes nothing", "project", "psa", {}, stage="active")
named_policy = {"schema_version": 1, "rules": [
    {"entity": "project", "fields": ["*"], "stages": ["*"], "owner": "psa"},
    {"entity": "project", "fields": ["legal_entity"], "stages": ["*"], "owner": "erp"}]}
upd("named-field-beats-wildcard", "a rule naming a field beats the wildcard rule", "project", "psa",
    {"legal_entity": "UK01", "status": "on_hold"}, stage="active", policy=named_policy)
upd("unknown-entity", "an unknown entity kind is an error at /entity", "spaceship", "crm", {"name": "x"})
upd("unknown-stage", "a stage the entity does not have is an error at /stage", "contract", "crm", {"end_date": "2026-12-31"}, stage="orbit")
conflict_policy = {"schema_version": 1, "rules": [
    {"entity": "contract", "fields": ["*"], "stages": ["*"], "owner": "crm"},
    {"entity": "contract", "fields": ["*"], "stages": ["signed"], "owner": "erp"}]}
upd("invalid-policy", "a policy with a conflict is refused with the first problem's code and path", "contract", "crm",
    {"end_date": "2026-12-31"}, stage="draft", policy=conflict_policy)

# --- golden_record ----------------------------------------------------------------------------
def gold(slug, description, entity, records, stage=None, policy=POLICY):
    req = {"policy": policy, "entity": entity, "records": records}
    if stage is not None:
        req["stage"] = stage
    case("ownership", "golden_record", slug, description, req)

gold("account-from-crm-and-erp", "each account field comes from its owner: the name from CRM, tax profile and terms from ERP", "account", {
    "crm": {"id": "ACC-1042", "name": "Northwind Logistics Inc.", "tax_profile": "US-EXEMPT", "status": "active"},
    "erp": {"id": "ACC-1042", "name": "NORTHWIND LOGISTICS", "tax_profile": "US-TAXABLE", "payment_terms": "NET30", "status": "active"},
})
gold("contract-stage-read-from-records", "CRM still says negotiation but ERP, which owns a signed contract, says signed: fields come from ERP", "contract", {
    "crm": {"id": "CTR-1", "status": "negotiation", "end_date": "2026-12-31", "currency": "USD"},
    "erp": {"id": "CTR-1", "status": "signed", "end_date": "2027-03-31", "currency": "USD"},
})
gold("draft-contract-from-crm", "a draft contract is CRM's: its values win over ERP's copy", "contract", {
    "crm": {"id": "CTR-2", "status": "draft", "end_date": "2026-12-31"},
    "erp": {"id": "CTR-2", "end_date": "2026-11-30"},
})
gold("owner-lacks-field", "a field only a non-owner holds is not taken: it is listed as unresolved with its owner", "invoice", {
    "billing": {"id": "INV-9", "status": "posted", "total": money("100.00")},
    "erp": {"id": "INV-9", "status": "posted"},
})
gold("unknown-fields-ignored", "fields the entity does not define are left out and listed", "time_entry", {
    "psa": {"id": "TE-1", "hours": "8", "work_date": "2026-03-02", "timesheet_ref": "W10"},
    "erp": {"id": "TE-1", "hours": "7.5"},
}, stage="approved")

# --- reconcile --------------------------------------------------------------------------------
def inv(i, total="1200.00", date="2026-03-31", status="posted", **kw):
    r = {"id": f"INV-{i}", "contract_id": "CTR-2026-014", "status": status, "issue_date": date,
         "currency": "USD", "total": money(total)}
    r.update(kw)
    return r

def rec(slug, description, entity, records, cross_refs=None, stage=None, policy=POLICY):
    req = {"policy": policy, "entity": entity, "records": records}
    if cross_refs is not None:
        req["cross_refs"] = cross_refs
    if stage is not None:
        req["stage"] = stage
    case("reconcile", "reconcile", slug, description, req)

rec("all-systems-agree", "three systems holding the same invoices: nothing to report", "invoice",
    {"erp": [inv(1), inv(2)], "billing": [inv(2), inv(1)], "psa": [inv(1), inv(2)]})
rec("missing-in-one-system", "an invoice billing does not have is reported with a create correction from the owner's values", "invoice",
    {"erp": [inv(1), inv(2)], "billing": [inv(1)], "psa": [inv(1), inv(2)]})
rec("changed-amount", "billing's total differs: ERP owns invoices, so billing is corrected to ERP's total", "invoice",
    {"erp": [inv(1)], "billing": [inv(1, total="1250.00")], "psa": [inv(1)]})
rec("amounts-equal-as-decimals", "1200, 1200.0 and 1200.00 are the same amount", "invoice",
    {"erp": [inv(1, total="1200.00")], "billing": [inv(1, total="1200")], "psa": [inv(1, total="1200.0")]})
rec("currency-differs", "the same number in another currency is a different amount", "invoice",
    {"erp": [inv(1)], "billing": [dict(inv(1), total=money("1200.00", "EUR"))]})
rec("dates-equal-as-dates", "a timestamp on the same calendar day equals the date", "invoice",
    {"erp": [inv(1, date="2026-03-31")], "billing": [inv(1, date="2026-03-31T18:30:00Z")]})
rec("changed-date", "a different issue date is reported and corrected to ERP's", "invoice",
    {"erp": [inv(1, date="2026-03-31")], "billing": [inv(1, date="2026-04-01")], "psa": [inv(1)]})
acct = {k: v for k, v in ACCOUNT.items() if k not in ("schema_version", "kind")}
rec("case-insensitive-name", "the policy makes account names case-insensitive; tax profiles stay exact", "account",
    {"crm": [dict(acct, name="Northwind Logistics Inc.")], "erp": [dict(acct, name="NORTHWIND LOGISTICS INC.", tax_profile="us-taxable")]})
rec("cross-references", "records known by different ids in each system are joined through cross-references", "account",
    {"crm": [dict(acct, id="0015g00000NWLOG")], "erp": [dict(acct, id="C-1042", payment_terms="NET45")]},
    cross_refs=[{"id": "ACC-1042", "ids": {"crm": "0015g00000NWLOG", "erp": "C-1042"}}])
rec("owner-lacks-field", "billing and psa disagree on a total ERP does not hold: it needs review, nothing is corrected", "invoice",
    {"erp": [{"id": "INV-1", "status": "posted"}], "billing": [inv(1, total="99.00")], "psa": [inv(1, total="98.00")]})
rec("owner-lacks-record", "ERP lacks the invoice: it is created there with no owned values to copy, and the disagreement needs review", "invoice",
    {"erp": [], "billing": [inv(1, total="99.00")], "psa": [inv(1, total="98.00")]})
rec("stage-decides-owner", "a contract in negotiation is corrected toward CRM, a signed one toward ERP", "contract", {
    "crm": [{"id": "CTR-1", "status": "negotiation", "end_date": "2026-12-31"}, {"id": "CTR-2", "status": "signed", "end_date": "2026-12-31"}],
    "erp": [{"id": "CTR-1", "status": "negotiation", "end_date": "2027-01-31"}, {"id": "CTR-2", "status": "signed", "end_date": "2027-01-31"}]})
rec("stage-field-disagrees", "CRM says negotiation, ERP says signed: ERP owns the status of a signed contract, so signed wins and CRM is corrected", "contract", {
    "crm": [{"id": "CTR-1", "status": "negotiation", "end_date": "2026-12-31"}],
    "erp": [{"id": "CTR-1", "status": "signed", "end_date": "2027-01-31"}]})
rec("explicit-stage", "a stage in the request judges every entity at that stage", "contract", {
    "crm": [{"id": "CTR-1", "status": "negotiation", "end_date": "2026-12-31"}],
    "erp": [{"id": "CTR-1", "status": "negotiation", "end_date": "2027-01-31"}]}, stage="signed")
rec("ignored-fields", "fields the entity does not define are not compared and are listed in the summary", "time_entry", {
    "psa": [{"id": "TE-1", "hours": "8", "work_date": "2026-03-02", "status": "approved", "timesheet_ref": "W10"}],
    "erp": [{"id": "TE-1", "hours": "8.00", "work_date": "2026-03-02", "status": "approved", "gl_batch": "B-7"}]})
rec("duplicate-record", "one system holding one invoice twice is an error naming the record", "invoice",
    {"erp": [inv(1), inv(1)], "billing": [inv(1)]})
rec("record-without-id", "a record without a text id is an error naming the record", "invoice",
    {"erp": [inv(1), {"total": money("1.00")}]})
rec("conflicting-cross-references", "one system's record mapped to two entities is an error", "account",
    {"crm": [dict(acct, id="X-1")], "erp": [dict(acct, id="C-1042")]},
    cross_refs=[{"id": "ACC-1", "ids": {"crm": "X-1"}}, {"id": "ACC-2", "ids": {"crm": "X-1"}}])

# --- check_activation -------------------------------------------------------------------------
def act(slug, description, opportunity=None, accounts=None, policy=POLICY, account=None):
    req = {"opportunity": OPP if opportunity is None else opportunity,
           "accounts": [ACCOUNT, ACCOUNT_UK] if accounts is None else accounts}
    if policy is not None:
        req["policy"] = policy
    if account is not None:
        req["account"] = account
    case("activation", "check_activation", slug, description, req)

def opp(**kw):
    o = copy.deepcopy(OPP)
    for k, v in kw.items():
        if v is None:
            o.pop(k, None)
        else:
            o[k] = v
    return o

def account(**kw):
    a = copy.deepcopy(ACCOUNT)
    for k, v in kw.items():
        if v is None:
            a.pop(k, None)
        else:
            a[k] = v
    return a

act("ready", "the Northwind opportunity passes every check")
act("not-won", "an opportunity still in negotiation is not activated", opportunity=opp(stage="negotiation"))
act("missing-erp-id", "an account not yet in the ERP blocks activation", accounts=[account(external_ids={"crm": "0015g00000NWLOG"})])
act("inactive-account", "an inactive account blocks activation", accounts=[account(status="inactive")])
act("missing-delivery-fields", "every missing delivery field is reported, each at its path",
    opportunity=opp(service_line=None, contract_template=None, billing_model=None, expected_start=None))
act("account-fills-legal-entity", "legal entity, tax profile and currency may come from the account", opportunity=opp(legal_entity=None, tax_profile=None, currency=None))
act("no-legal-entity-anywhere", "with no legal entity on the opportunity or its account, it is missing",
    opportunity=opp(legal_entity=None, tax_profile=None), accounts=[account(legal_entity=None, tax_profile=None)])
act("currency-not-allowed", "US01 may only contract in USD", opportunity=opp(currency="GBP"))
act("legal-entity-not-in-policy", "a legal entity the policy lists no currencies for allows none", opportunity=opp(legal_entity="DE01"))
act("unknown-account", "an account that is not among the accounts given blocks activation", accounts=[ACCOUNT_UK])
act("unknown-parent", "a parent missing from the accounts given is reported at the child's parent_id",
    opportunity=opp(account_id="ACC-2210", currency="GBP", legal_entity="UK01"), accounts=[ACCOUNT_UK])
act("hierarchy-cycle", "a loop above the account is reported where it closes",
    opportunity=opp(account_id="ACC-2210", currency="GBP", legal_entity="UK01"),
    accounts=[account(parent_id="ACC-2210"), ACCOUNT_UK])
act("no-policy", "without a policy the currency check is skipped and said so", opportunity=opp(currency="GBP"), policy=None)
act("account-given-for-another-opportunity", "an account that is not the opportunity's is refused", account=ACCOUNT_UK, accounts=[])
act("account-given-directly", "the account may be passed on its own", account=ACCOUNT, accounts=[])
act("duplicate-accounts", "an account listed twice is reported", accounts=[ACCOUNT, ACCOUNT])
act("everything-wrong", "every violation at once, in check order",
    opportunity=opp(stage="proposal", currency="JPY", service_line=None),
    accounts=[account(status="prospect", external_ids={}, parent_id="ACC-0001")])

counters = {}
for area, op, slug, description, req, text in cases:
    key = (area, op)
    counters[key] = counters.get(key, 0) + 1
    n = counters[key]
    out = root / "spec" / "cases" / area / op
    out.mkdir(parents=True, exist_ok=True)
    body = text if text is not None else json.dumps(req)
    res = subprocess.run([bw, "run", op], input=body.encode(), capture_output=True)
    got = json.loads(res.stdout)
    if "error" in got:
        expect = {"error": {"code": got["error"]["code"], "path": got["error"]["path"]}}
    else:
        expect = {"result": got}
    cid = f"{area}/{op}/{n:03d}-{slug}"
    doc = {"id": cid, "op": op, "description": description}
    if text is not None:
        doc["input_text"] = text
    else:
        doc["input"] = req
    doc["expect"] = expect
    (out / f"{n:03d}-{slug}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
print(len(cases), "cases")
