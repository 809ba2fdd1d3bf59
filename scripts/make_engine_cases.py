"""Writes spec/cases/engine/{engine_replay,engine_apply}/*.json from the envelope sequences below,
taking each expectation from the current CLI (`billwise run OP`). Run once, then read every
expectation: a case is only as good as its review.

Usage: python3 scripts/make_engine_cases.py path/to/billwise"""
import copy, json, subprocess, sys, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
out_dir = root / "spec" / "cases" / "engine"
bw = sys.argv[1] if len(sys.argv) > 1 else str(root / "target" / "debug" / "billwise")


def run(op, req):
    p = subprocess.run([bw, "run", op, "-"], input=json.dumps(req), capture_output=True, text=True)
    return json.loads(p.stdout)


def contract(**changes):
    c = {"schema_version": 1, "id": "CTR-1", "account_id": "ACC-1", "legal_entity": "US01",
         "currency": "USD", "billing_model": "time_and_materials", "status": "active",
         "start_date": "2026-01-01", "end_date": "2026-12-31",
         "ceiling": {"amount": {"amount": "3000.00", "currency": "USD"}},
         "rate_card": {"entries": [{"role": "Developer", "rate": {"amount": "100.00", "currency": "USD"},
                                    "effective_from": "2026-01-01"}]}}
    c.update(changes)
    return c


def entry(id="TE-1", hours="8", status="submitted", **changes):
    e = {"id": id, "project_id": "PRJ-1", "task_id": "T-1", "resource_id": "R-1", "role": "Developer",
         "work_date": "2026-01-12", "hours": hours, "status": status}
    e.update(changes)
    return e


def env(key, source, event, at="2026-01-20T10:00:00Z", corr=None, expected=None):
    e = {"idempotency_key": key, "correlation_id": corr or ("c-" + key), "source": source,
         "occurred_at": at, "event": event}
    if expected is not None:
        e["expected_version"] = expected
    return e


def rec(e, key=None, source="psa"):
    return env(key or ("rec-" + e["id"]), source, {"type": "time_entry.recorded", "time_entry": e})


def ev(key, source, type_, id_):
    return env(key, source, {"type": type_, "id": id_})


def setup(*entries):
    """A contract (ERP), an active project (PSA) and approved entries."""
    out = [env("ctr", "erp", {"type": "contract.recorded", "contract": contract()}),
           env("prj", "psa", {"type": "project.recorded", "project": {
               "schema_version": 1, "id": "PRJ-1", "contract_id": "CTR-1", "legal_entity": "US01",
               "status": "active", "tasks": [{"id": "T-1", "name": "Build"}]}})]
    for e in entries:
        out.append(rec(e))
    return out


def draft(key, inv, as_of="2026-02-01"):
    return env(key, "erp", {"type": "invoice.drafted", "invoice_id": inv,
                            "period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": as_of})


def pay(key, pid, amount):
    return env(key, "billing", {"type": "payment.received", "payment_id": pid, "invoice_id": "INV-1",
                                "amount": {"amount": amount, "currency": "USD"}, "date": "2026-02-10"})


cases = []


def case(op, slug, description, **req):
    if op == "engine_replay":
        req.setdefault("return_snapshot", False)
    cases.append((op, slug, description, req))


R = "engine_replay"
A = "engine_apply"

case(R, "recorded-entry-applied", "a new time entry is applied as version 1; the change is the whole entry",
     envelopes=[rec(entry())])
case(R, "duplicate-delivery", "the same envelope delivered twice: the second is a duplicate returning the original version and changes",
     envelopes=[rec(entry()), rec(entry())])
case(R, "duplicate-under-another-correlation-id", "a retry with another correlation id is still a duplicate: the fingerprint leaves the correlation id out",
     envelopes=[rec(entry()), dict(rec(entry()), correlation_id="retry-7")])
case(R, "idempotency-conflict", "the same key with other hours is an idempotency conflict, not a duplicate: in a batch that is not atomic, a rejected outcome and an exception no retry under the key resolves",
     envelopes=[rec(entry()), rec(entry(hours="9"), key="rec-TE-1")])
case(R, "expected-version-matches", "an envelope expecting the current version is applied",
     envelopes=[rec(entry()), dict(ev("ap", "psa", "time_entry.approved", "TE-1"), expected_version=1)])
case(R, "stale-expected-version", "an envelope expecting an older version is rejected into the exception queue; the state is unchanged",
     envelopes=[rec(entry()), dict(ev("ap", "psa", "time_entry.approved", "TE-1"), expected_version=0)],
     return_state=True)
case(R, "approval-before-its-entry", "an approval that arrives before its entry is rejected; the retry after the entry is applied and resolves the exception",
     envelopes=[ev("ap", "psa", "time_entry.approved", "TE-1"), rec(entry()), ev("ap", "psa", "time_entry.approved", "TE-1")])
case(R, "rejected-twice-counts-attempts", "an envelope rejected twice stays one exception with two attempts",
     envelopes=[ev("ap", "psa", "time_entry.approved", "TE-9"), ev("ap", "psa", "time_entry.approved", "TE-9")])
case(R, "transition-not-allowed", "approving a draft entry is not a transition of the time entry machine",
     envelopes=[rec(entry(status="draft")), ev("ap", "psa", "time_entry.approved", "TE-1")])
case(R, "source-not-allowed", "the CRM may not submit time",
     envelopes=[rec(entry(status="draft")), ev("sub", "crm", "time_entry.submitted", "TE-1")])
case(R, "time-entry-lifecycle", "draft, submitted, rejected, resubmitted, approved, recalled: each step is one version",
     envelopes=[rec(entry(status="draft")), ev("s1", "psa", "time_entry.submitted", "TE-1"),
                ev("r1", "psa", "time_entry.rejected", "TE-1"), ev("s2", "psa", "time_entry.submitted", "TE-1"),
                ev("a1", "psa", "time_entry.approved", "TE-1"), ev("rc", "psa", "time_entry.recalled", "TE-1")],
     return_state=True)
case(R, "expense-lifecycle", "an expense is recorded, submitted and approved",
     envelopes=[env("x", "psa", {"type": "expense.recorded", "expense": {
         "id": "EX-1", "project_id": "PRJ-1", "date": "2026-01-13", "amount": {"amount": "612.40", "currency": "USD"},
         "category": "travel", "status": "draft"}}),
         ev("xs", "psa", "expense.submitted", "EX-1"), ev("xa", "psa", "expense.approved", "EX-1")],
     return_state=True)
case(R, "upsert-may-not-set-status", "an upsert that changes a held entry's status is refused: statuses move by lifecycle events",
     envelopes=[rec(entry()), rec(entry(status="approved"), key="rec-TE-1-again")])
case(R, "new-entry-may-not-arrive-billed", "a new entry may not arrive as billed",
     envelopes=[rec(entry(status="billed"))])
case(R, "upsert-changes-fields", "an upsert of a held entry records each changed field with before and after",
     envelopes=[rec(entry()), rec(entry(hours="7.5", task_id="T-2"), key="rec-TE-1-fix")])
case(R, "upsert-unchanged-is-applied-with-no-changes", "an upsert that changes nothing is applied with an empty change list",
     envelopes=[rec(entry()), rec(entry(), key="rec-TE-1-again")])
case(R, "billed-entry-is-locked", "once billed, an entry's hours cannot change",
     envelopes=setup(entry(status="approved")) + [draft("inv", "INV-1"),
                                                  rec(entry(hours="9", status="billed"), key="fix")])
case(R, "invoice-drafted", "a draft invoice bills the approved entries up to the ceiling, records the ledger and marks the entries billed",
     envelopes=setup(entry(status="approved"), entry(id="TE-2", hours="20", status="approved"),
                     entry(id="TE-3", hours="10", status="approved")) + [draft("inv", "INV-1")],
     return_state=True)
case(R, "second-run-bills-nothing", "a second draft for the same period finds nothing to bill",
     envelopes=setup(entry(status="approved")) + [draft("inv", "INV-1"), draft("inv2", "INV-2")])
case(R, "invoice-id-taken", "a second draft with the same invoice id is refused",
     envelopes=setup(entry(status="approved"), entry(id="TE-2", status="approved")) + [draft("inv", "INV-1"),
                                                                                      draft("inv-b", "INV-1")])
case(R, "no-contract", "drafting an invoice before any contract is recorded is refused",
     envelopes=[rec(entry(status="approved")), draft("inv", "INV-1")])
case(R, "project-of-another-contract", "a project of another contract is refused",
     envelopes=setup() + [env("p2", "psa", {"type": "project.recorded", "project": {
         "schema_version": 1, "id": "PRJ-2", "contract_id": "CTR-9", "legal_entity": "US01", "status": "active"}})])
case(R, "second-contract", "an engine holds one contract: another contract is refused",
     envelopes=setup() + [env("c2", "erp", {"type": "contract.recorded", "contract": contract(id="CTR-2")})])
case(R, "atomic-batch-poisoned", "an atomic batch with one bad member applies nothing: the bad one carries its reason, the others ENGINE_BATCH_ABORTED",
     envelopes=[rec(entry()), ev("ap", "psa", "time_entry.approved", "TE-1"), ev("ap9", "psa", "time_entry.approved", "TE-9")],
     atomic=True, return_state=True)
case(R, "batch-not-atomic", "without atomic, the good envelopes apply and the bad one is rejected alone",
     envelopes=[rec(entry()), ev("ap", "psa", "time_entry.approved", "TE-1"), ev("ap9", "psa", "time_entry.approved", "TE-9")])
posted = setup(entry(status="approved")) + [draft("inv", "INV-1"), ev("iap", "erp", "invoice.approved", "INV-1"),
                                            ev("ipo", "erp", "invoice.posted", "INV-1")]
case(R, "payments", "a partial payment leaves the invoice partially paid; the rest settles it",
     envelopes=posted + [pay("p1", "PAY-1", "300.00"), pay("p2", "PAY-2", "500.00")], return_state=True)
case(R, "overpayment-refused", "a payment above the open balance fails the balance guards",
     envelopes=posted + [pay("p1", "PAY-1", "900.00")])
case(R, "payment-id-taken", "a second payment with the same id is refused",
     envelopes=posted + [pay("p1", "PAY-1", "100.00"), pay("p1b", "PAY-1", "100.00")])
case(R, "crm-may-not-post", "the CRM may not post an invoice",
     envelopes=setup(entry(status="approved")) + [draft("inv", "INV-1"), ev("iap", "erp", "invoice.approved", "INV-1"),
                                                  ev("ipo", "crm", "invoice.posted", "INV-1")])
case(R, "dispute-and-resolve", "a posted invoice is disputed and the dispute resolved",
     envelopes=posted + [ev("d", "billing", "invoice.disputed", "INV-1"), ev("rd", "erp", "invoice.dispute_resolved", "INV-1")])
credit = env("cn", "erp", {"type": "credit_note.issued", "credit_note_id": "CN-1", "invoice_id": "INV-1",
                           "lines": [{"kind": "time", "item_id": "TE-1", "quantity": "3"}]})
case(R, "partial-credit", "a credit of 3 of 8 billed hours returns the entry to approved; after it is corrected to 10 h the next run bills 10 - (8 - 3) = 5 h",
     envelopes=posted + [credit, rec(entry(hours="10", status="approved"), key="fix")],
     preview={"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-15"})
case(R, "full-credit", "a credit of the whole invoice moves it to credited",
     envelopes=posted + [env("cn", "erp", {"type": "credit_note.issued", "credit_note_id": "CN-1", "invoice_id": "INV-1",
                                           "lines": [{"kind": "time", "item_id": "TE-1", "amount": {"amount": "800.00", "currency": "USD"}}]})],
     return_state=True)
case(R, "credit-of-an-item-not-on-the-invoice", "a credit for an item the invoice did not bill is refused",
     envelopes=posted + [env("cn", "erp", {"type": "credit_note.issued", "credit_note_id": "CN-1", "invoice_id": "INV-1",
                                           "lines": [{"kind": "time", "item_id": "TE-2", "quantity": "1"}]})])
case(R, "void-releases-items", "voiding a draft invoice removes its ledger lines and returns its entries to approved",
     envelopes=setup(entry(status="approved")) + [draft("inv", "INV-1"), ev("v", "erp", "invoice.voided", "INV-1")],
     return_state=True)
co = lambda id_, seq: env("rec-" + id_, "crm", {"type": "change_order.recorded", "change_order": {
    "schema_version": 1, "id": id_, "contract_id": "CTR-1", "sequence": seq, "status": "submitted",
    "effective_date": "2026-02-01",
    "changes": [{"type": "adjust_ceiling", "delta": {"amount": "1000.00", "currency": "USD"}}]}})
case(R, "change-orders-in-sequence", "CO-2 cannot be applied before CO-1; approval dates come from occurred_at; each applied order is a contract version",
     envelopes=setup() + [co("CO-1", 1), co("CO-2", 2), ev("a2", "crm", "change_order.approved", "CO-2"),
                          ev("p2", "erp", "change_order.applied", "CO-2"), ev("a1", "crm", "change_order.approved", "CO-1"),
                          ev("p1", "erp", "change_order.applied", "CO-1"), ev("p2b", "erp", "change_order.applied", "CO-2")],
     return_state=True)
case(R, "change-order-withdrawn", "a submitted change order is withdrawn and can no longer be approved",
     envelopes=setup() + [co("CO-1", 1), ev("w", "crm", "change_order.withdrawn", "CO-1"),
                          ev("a", "crm", "change_order.approved", "CO-1")])
opp = {"schema_version": 1, "id": "OPP-1", "account_id": "ACC-1", "stage": "prospecting"}
case(R, "opportunity-won", "an opportunity goes from prospecting to won; a won opportunity cannot be lost",
     envelopes=[env("o", "crm", {"type": "opportunity.recorded", "opportunity": opp}),
                ev("q", "crm", "opportunity.qualified", "OPP-1"), ev("pr", "crm", "opportunity.proposed", "OPP-1"),
                ev("n", "crm", "opportunity.negotiated", "OPP-1"), ev("w", "crm", "opportunity.won", "OPP-1"),
                ev("l", "crm", "opportunity.lost", "OPP-1")],
     return_state=True)
case(R, "project-close-needs-billing", "a completed project with approved unbilled time cannot close; after the invoice it can",
     envelopes=setup(entry(status="approved")) + [ev("c", "psa", "project.completed", "PRJ-1"),
                                                  ev("x", "psa", "project.closed", "PRJ-1"), draft("inv", "INV-1"),
                                                  ev("x2", "psa", "project.closed", "PRJ-1")])
case(R, "project-on-hold", "a project put on hold: its approved time is held from the preview with reason project_status",
     envelopes=setup(entry(status="approved")) + [ev("h", "psa", "project.held", "PRJ-1")],
     preview={"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-01"})
ms_contract = contract(billing_model="milestone", ceiling=None, milestones=[
    {"id": "MS-1", "name": "Design signed off", "amount": {"amount": "5000.00", "currency": "USD"},
     "due_date": "2026-01-31", "status": "pending"}])
del ms_contract["ceiling"]
case(R, "milestone-billed", "a milestone of the contract is completed, accepted and billed",
     envelopes=[env("ctr", "erp", {"type": "contract.recorded", "contract": ms_contract}),
                ev("mc", "psa", "milestone.completed", "MS-1"), ev("ma", "psa", "milestone.accepted", "MS-1"),
                draft("inv", "INV-1")],
     return_state=True)
case(R, "invalid-timestamp", "an occurred_at that does not start with a date cannot be taken: in a batch that is not atomic, a rejected outcome and an exception",
     envelopes=[dict(rec(entry()), occurred_at="last tuesday")])
case(R, "metrics", "metrics: unbilled approved time, held items by reason, open exceptions and the ceiling",
     envelopes=setup(entry(status="approved"), entry(id="TE-2", hours="20", status="approved"),
                     entry(id="TE-4", hours="10", status="approved"), entry(id="TE-3", status="submitted")) + [ev("bad", "psa", "time_entry.approved", "TE-9")],
     metrics_as_of="2026-02-01")

policy = json.loads((root / "spec" / "examples" / "ownership-policy.json").read_text())
crm_contract = contract()
crm_contract["ceiling"] = {"amount": {"amount": "9000.00", "currency": "USD"}}
case(R, "crm-writes-an-erp-owned-field", "with the ownership policy, the CRM may not change the ceiling of a signed contract; the ERP may",
     ownership_policy=policy,
     envelopes=setup() + [env("crm-ctr", "crm", {"type": "contract.recorded", "contract": crm_contract}),
                          env("erp-ctr", "erp", {"type": "contract.recorded", "contract": crm_contract})])
case(R, "psa-may-not-post-under-the-policy", "with the ownership policy, an invoice event from the PSA is refused by ownership before the machine",
     ownership_policy=policy,
     envelopes=setup(entry(status="approved")) + [draft("inv", "INV-1"), ev("iap", "psa", "invoice.approved", "INV-1")])

# engine_apply: a snapshot from a replay, then more envelopes.
base = run(R, {"envelopes": setup(entry(status="approved")) + [draft("inv", "INV-1")]})["snapshot"]
case(A, "apply-to-a-snapshot", "envelopes applied to an engine given by its snapshot continue its version and chain",
     snapshot=base, envelopes=[ev("iap", "erp", "invoice.approved", "INV-1"), draft("inv", "INV-1")],
     return_snapshot=False)
case(A, "new-engine", "without a snapshot, engine_apply starts a new engine",
     envelopes=[rec(entry())], return_snapshot=False)
t = copy.deepcopy(base)
t["audit"][2]["changes"][0]["after"]["hours"] = "80"
case(A, "tampered-snapshot", "a snapshot whose audit entry was edited is refused at that entry", snapshot=t, envelopes=[])
t = copy.deepcopy(base)
t["audit"].pop()
case(A, "cut-snapshot", "a snapshot whose last audit entry was cut off no longer ends at its recorded head", snapshot=t, envelopes=[])
t = copy.deepcopy(base)
del t["audit"][1]
case(A, "snapshot-missing-an-entry", "a snapshot missing an audit entry in the middle is refused", snapshot=t, envelopes=[])
t = copy.deepcopy(base)
t["audit"].insert(2, copy.deepcopy(t["audit"][1]))
case(A, "snapshot-with-a-repeated-entry", "a snapshot repeating an audit entry breaks the chain", snapshot=t, envelopes=[])
t = copy.deepcopy(base)
t["version"] = 7
case(A, "snapshot-version-mismatch", "a snapshot whose version disagrees with its audit chain is refused", snapshot=t, envelopes=[])
case(A, "snapshot-and-policy", "a policy is given only for a new engine",
     snapshot=base, ownership_policy={"schema_version": 1, "rules": []}, envelopes=[])

for d in (out_dir / "engine_replay", out_dir / "engine_apply"):
    d.mkdir(parents=True, exist_ok=True)
    # Only the numbers this script writes: later cases of the folder come from other scripts
    # and by hand.
    written = sum(1 for op, *_ in cases if op == d.name)
    for f in d.glob("*.json"):
        if int(f.name[:3]) <= written:
            f.unlink()
counters = {}
for op, slug, description, req in cases:
    n = counters[op] = counters.get(op, 0) + 1
    cid = f"engine/{op}/{n:03d}-{slug}"
    got = run(op, req)
    expect = {"error": {"code": got["error"]["code"], "path": got["error"]["path"]}} if "error" in got else {"result": got}
    doc = {"id": cid, "op": op, "description": description, "input": req, "expect": expect}
    (root / "spec" / "cases" / (cid + ".json")).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {len(cases)} cases")
