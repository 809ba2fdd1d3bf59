"""Writes spec/cases/rates/resolve_rate/*.json and spec/cases/changes/apply_change_order/*.json from
the inputs below, taking each expectation from the current CLI (`billwise run`). Run once, then read
every expectation against spec/domain/rate-cards.md and spec/domain/change-orders.md."""
import json, pathlib, subprocess, sys, tempfile

root = pathlib.Path(__file__).resolve().parent.parent
bw = sys.argv[1] if len(sys.argv) > 1 else str(root / "target" / "debug" / "billwise")
ex = root / "spec" / "examples"

def load(name):
    return json.loads((ex / name).read_text())

def usd(a):
    return {"amount": a, "currency": "USD"}

def contract(**changes):
    c = {"schema_version": 1, "kind": "contract", "id": "C-1", "account_id": "A-1", "legal_entity": "US01",
         "currency": "USD", "billing_model": "time_and_materials", "status": "active",
         "start_date": "2026-01-01", "end_date": "2026-12-31",
         "ceiling": {"amount": usd("100000.00"), "scope": "fees", "mode": "split"},
         "rate_card": {"hours_per_day": "7.5", "entries": [
             {"role": "Consultant", "rate": usd("150.00"), "effective_from": "2026-01-01", "effective_to": "2026-06-30"},
             {"role": "Consultant", "rate": usd("160.00"), "effective_from": "2026-07-01"},
             {"role": "Consultant", "task_id": "T-2", "rate": usd("170.00"), "effective_from": "2026-01-01"},
             {"role": "Architect", "rate": usd("200.00"), "effective_from": "2026-01-01"},
             {"role": "Analyst", "rate": usd("100.00"), "effective_from": "2026-01-01"},
             {"role": "Analyst", "rate": usd("90.00"), "effective_from": "2026-03-01", "effective_to": "2026-03-31"},
             {"resource_id": "R-1", "rate": usd("1400.00"), "unit": "day", "effective_from": "2026-03-01"},
             {"resource_id": "R-1", "task_id": "T-2", "rate": usd("190.00"), "effective_from": "2026-01-01", "effective_to": "2026-03-31"}]},
         "milestones": [
             {"id": "M-1", "name": "Design signed off", "amount": usd("5000.00"), "due_date": "2026-03-31", "status": "billed"},
             {"id": "M-2", "name": "Go-live", "amount": usd("8000.00"), "due_date": "2026-09-30", "status": "pending"}],
         "expense_policy": {"billable_categories": ["travel"], "markup_percent": "5"}}
    c.update(changes)
    return c

def co(seq, changes, eff="2026-05-01", approved="2026-05-20", status="approved", retro=False, **extra):
    c = {"schema_version": 1, "kind": "change_order", "id": f"CO-{seq}", "contract_id": "C-1", "sequence": seq,
         "status": status, "effective_date": eff, "retroactive": retro, "changes": changes}
    if approved:
        c["approved_on"] = approved
    c.update(extra)
    return c

def set_rate(role=None, rate="155.00", **kw):
    c = {"type": "set_rate", "rate": usd(rate)}
    if role:
        c["role"] = role
    c.update(kw)
    return c

def query(role="Consultant", date="2026-03-02", **kw):
    q = {"role": role, "work_date": date}
    q.update(kw)
    return q

def item(i, date, hours, rate, amount, role="Consultant", version=0, source=None, **kw):
    """A billed time item, as a ledger entry of invoice INV-1."""
    it = {"invoice_id": "INV-1", "kind": "time", "item_id": i, "date": date, "quantity": hours,
          "unit_price": usd(rate), "amount": usd(amount), "contract_version": version,
          "against_ceiling": True, "role": role}
    if source:
        it["rate_source"] = source
    it.update(kw)
    return it

def milestone_item(i, amount, date="2026-03-31"):
    return {"invoice_id": "INV-1", "kind": "milestone", "item_id": i, "date": date, "quantity": "1",
            "unit_price": usd(amount), "amount": usd(amount), "contract_version": 0, "against_ceiling": True}

def ledger(total="50000.00", items=()):
    """A ledger whose entries bill `total` against the ceiling: `items`, plus one expense for the rest."""
    from decimal import Decimal
    entries = list(items)
    rest = Decimal(total) - sum(Decimal(e["amount"]["amount"]) for e in entries)
    if rest > 0:
        entries.insert(0, {"invoice_id": "INV-0", "kind": "expense", "item_id": "EX-0", "date": "2026-01-30",
                           "quantity": "1", "unit_price": usd(str(rest)), "amount": usd(str(rest)),
                           "contract_version": 0, "against_ceiling": True})
    return {"schema_version": 1, "contract_id": "C-1", "entries": entries}

cases = {"rates/resolve_rate": [], "rates/validate": [], "changes/apply_change_order": []}

def card_case(slug, description, entries, **card):
    c = contract()
    c["rate_card"] = dict({"entries": entries}, **card)
    cases["rates/validate"].append((slug, description, "validate", {"document": c}))

def entry(role="Consultant", rate="150.00", frm="2026-01-01", to=None, currency="USD", **kw):
    e = {"role": role, "rate": {"amount": rate, "currency": currency}, "effective_from": frm}
    if to:
        e["effective_to"] = to
    e.update(kw)
    return e

def rate_case(slug, description, q, c=None, cos=()):
    req = {"contract": c or contract(), "query": q}
    if cos:
        req["change_orders"] = list(cos)
    cases["rates/resolve_rate"].append((slug, description, "resolve_rate", req))

def change_case(slug, description, change, c=None, applied=(), led=None):
    req = {"contract": c or contract(), "change_order": change}
    if applied:
        req["change_orders"] = list(applied)
    if led is not None:
        req["ledger"] = led
    cases["changes/apply_change_order"].append((slug, description, "apply_change_order", req))

# Precedence.
rate_case("role-rate", "a role with no more specific entry gets the role rate", query())
rate_case("role-and-task-rate", "a role + task entry wins over the role rate", query(task_id="T-2"))
rate_case("resource-day-rate", "a resource entry wins over role + task; a day rate reports hours_per_day", query(task_id="T-2", resource_id="R-1", date="2026-05-04"))
rate_case("resource-and-task-rate", "a resource + task entry wins over everything but an override", query(task_id="T-2", resource_id="R-1", date="2026-03-16"))
rate_case("manual-override-wins", "a manual rate_override wins over the most specific entry and is reported as such", query(task_id="T-2", resource_id="R-1", date="2026-03-16", rate_override=usd("99.00")))
rate_case("unknown-resource-falls-back-to-role", "a resource with no entry of its own is priced by its role", query(resource_id="R-9"))
rate_case("unknown-task-falls-back-to-role", "a task with no entry of its own is priced by the role rate", query(task_id="T-9"))
rate_case("unknown-role-is-missing-rate", "a role that is not on the card is a missing_rate result, not an error", query(role="Janitor"))
# Boundary dates.
rate_case("before-the-first-entry-is-missing-rate", "work dated before every entry's effective_from has no rate", query(date="2025-12-31"))
rate_case("effective-to-day-itself", "effective_to is inclusive: the 150.00 rate still applies on 2026-06-30", query(date="2026-06-30"))
rate_case("on-the-effective-date", "the 160.00 rate applies from its effective_from, 2026-07-01", query(date="2026-07-01"))
rate_case("day-after-the-effective-date", "the day after an effective date keeps the new rate", query(date="2026-07-02"))
rate_case("resource-rate-day-before-it-starts", "the day before the resource rate starts, the role rate applies", query(resource_id="R-1", date="2026-02-28"))
rate_case("resource-rate-on-its-first-day", "the resource day rate applies on its effective_from", query(resource_id="R-1", date="2026-03-01"))
rate_case("resource-task-on-its-last-day", "a resource + task entry applies on its effective_to day", query(resource_id="R-1", task_id="T-2", date="2026-03-31"))
rate_case("resource-task-after-its-last-day", "after a resource + task entry ends, the resource rate (next in precedence) applies", query(resource_id="R-1", task_id="T-2", date="2026-04-01"))
rate_case("temporary-rate-in-force", "a dated temporary rate (the latest effective_from in force) wins during its range", query(role="Analyst", date="2026-03-15"))
rate_case("temporary-rate-ended", "after a temporary rate ends, the open-ended rate from before applies again", query(role="Analyst", date="2026-04-01"))
rate_case("temporary-rate-day-before", "the day before a temporary rate starts, the earlier rate applies", query(role="Analyst", date="2026-02-28"))
# Change orders.
co1 = co(1, [set_rate("Consultant", "155.00")])
rate_case("change-order-day-before-effective", "the day before a change order's effective date, the rate card rate applies (version 1)", query(date="2026-04-30"), cos=[co1])
rate_case("change-order-on-effective-date", "from its effective date a change order's rate wins, named change_order:CO-1", query(date="2026-05-01"), cos=[co1])
rate_case("change-order-replaces-later-steps", "a change order's rate replaces later rate-card steps of the same role (the 2026-07-01 step)", query(date="2026-09-01"), cos=[co1])
rate_case("change-order-leaves-task-rate-alone", "a role rate change does not touch the role + task entry", query(task_id="T-2", date="2026-09-01"), cos=[co1])
co2 = co(2, [set_rate("Consultant", "158.00")], eff="2026-06-01", approved="2026-06-10")
rate_case("second-change-order-wins-from-its-date", "with two change orders, the second prices work from its own effective date (version 2)", query(date="2026-06-01"), cos=[co2, co1])
rate_case("first-change-order-before-second", "between the two effective dates the first change order's rate applies", query(date="2026-05-31"), cos=[co1, co2])
end_arch = co(1, [{"type": "end_rate", "role": "Architect"}], eff="2026-09-01")
rate_case("end-rate-last-day", "an ended rate still applies the day before the change order's effective date", query(role="Architect", date="2026-08-31"), cos=[end_arch])
rate_case("end-rate-is-missing-after", "from an end_rate change order's effective date the role has no rate", query(role="Architect", date="2026-09-01"), cos=[end_arch])
rate_case("change-order-day-rate-for-resource", "a change order can give a new resource its own day rate", query(resource_id="R-7", date="2026-05-02"), cos=[co(1, [{"type": "set_rate", "resource_id": "R-7", "rate": usd("1200.00"), "unit": "day"}])])
# Northwind.
nw = load("contract-northwind-tm.json")
nw_co1 = load("change-order-northwind-co1.json")
rate_case("northwind-cutover-task-rate", "Northwind: the Senior Architect cutover rate", query(role="Senior Architect", task_id="T-CUTOVER", date="2026-03-02"), c=nw)
rate_case("northwind-co1-architect-rate", "Northwind: CO-1 re-prices Senior Architect from 2026-03-01", query(role="Senior Architect", date="2026-03-02"), c=nw, cos=[nw_co1])
# Errors.
amb = contract()
amb["rate_card"]["entries"].append({"role": "Architect", "rate": usd("210.00"), "effective_from": "2026-01-01"})
rate_case("ambiguous-card-is-refused", "two role entries from the same day are ambiguous: refused, never a silent pick", query(role="Architect"), c=amb)
rate_case("unapproved-change-order-is-refused", "a submitted change order cannot make a contract version", query(), cos=[co(1, [set_rate("Consultant")], status="submitted", approved=None)])
rate_case("change-order-sequence-gap-is-refused", "change order 2 without change order 1 is out of sequence", query(), cos=[co2])
rate_case("duplicate-sequence-is-refused", "two change orders with sequence 1 are refused", query(), cos=[co1, dict(co1, id="CO-1b")])
rate_case("override-in-another-currency-is-refused", "a manual rate in another currency than the contract's is refused", query(rate_override={"amount": "99.00", "currency": "EUR"}))

# Rate-card validation: every problem, with its code and path.
card_case("effective-to-before-effective-from", "an entry ending before it starts is reported at its effective_to", [entry(frm="2026-07-01", to="2026-06-30")])
card_case("zero-and-negative-rates", "a zero and a negative rate are both reported", [entry(rate="0.00"), entry(role="Architect", rate="-5.00")])
card_case("rate-in-another-currency", "a rate in a currency other than the contract's is reported", [entry(currency="EUR")])
card_case("ambiguous-role-and-task-entries", "two role + task entries from the same day are ambiguous", [entry(task_id="T-1"), entry(task_id="T-1", rate="160.00")])
card_case("same-day-different-specificity-is-fine", "a role entry and a role + task entry from the same day are not ambiguous", [entry(), entry(task_id="T-1", rate="160.00")])
card_case("overlap-past-a-short-entry", "a long entry running past a later entry's start is reported even with a short entry between them",
          [entry(to="2026-12-31"), entry(rate="140.00", frm="2026-03-01", to="2026-03-31"), entry(rate="160.00", frm="2026-07-01")])
card_case("temporary-rate-over-open-ended-is-fine", "a dated temporary rate over an open-ended one is valid (it wins during its range)",
          [entry(), entry(rate="140.00", frm="2026-03-01", to="2026-03-31")])
card_case("entry-with-role-and-resource", "an entry naming both a role and a resource is reported", [entry(resource_id="R-1")])
card_case("hours-per-day-out-of-range", "hours_per_day of 0 is reported", [entry()], hours_per_day="0")

# apply_change_order.
change_case("northwind-co1", "Northwind CO-1: two role rates renegotiated from 2026-03-01 and the ceiling raised by 60000.00", nw_co1, c=nw)
change_case("ceiling-raise", "a ceiling raise is applied from approval; the impact shows the delta", co(1, [{"type": "adjust_ceiling", "delta": usd("25000.00")}]), led=ledger())
change_case("ceiling-cut-above-billed", "a ceiling cut that stays above what is billed is applied", co(1, [{"type": "set_ceiling", "amount": usd("60000.00")}]), led=ledger())
change_case("ceiling-cut-below-billed-is-refused", "a ceiling cut below the 50000.00 already billed is refused", co(1, [{"type": "set_ceiling", "amount": usd("40000.00")}]), led=ledger())
change_case("adjust-ceiling-below-billed-is-refused", "a negative ceiling adjustment that goes below what is billed is refused", co(1, [{"type": "adjust_ceiling", "delta": usd("-60000.00")}]), led=ledger())
change_case("submitted-is-not-approved", "a submitted change order cannot be applied", co(1, [set_rate("Consultant")], status="submitted", approved=None))
change_case("rejected-is-not-approved", "a rejected change order cannot be applied", co(1, [set_rate("Consultant")], status="rejected", approved=None))
change_case("applied-is-not-approved", "an already applied change order cannot be applied again", co(1, [set_rate("Consultant")], status="applied"))
change_case("sequence-gap-is-refused", "change order 2 cannot be applied to version 0", co(2, [set_rate("Consultant")]))
change_case("approved-before-predecessor-is-refused", "change order 2 approved before change order 1 is out of sequence", co(2, [set_rate("Consultant", "158.00")], eff="2026-06-01", approved="2026-05-01"), applied=[co1])
change_case("second-change-order-on-version-1", "change order 2 applied on top of change order 1 makes version 2", co2, applied=[co1])
change_case("unknown-role-is-refused", "a rate change for a role not on the card is refused", co(1, [set_rate("Janitor")]))
change_case("unknown-milestone-is-refused", "removing a milestone the contract does not have is refused", co(1, [{"type": "remove_milestone", "milestone_id": "M-9"}]))
change_case("end-rate-unknown-resource-is-refused", "ending the rate of a resource that has none is refused", co(1, [{"type": "end_rate", "resource_id": "R-9"}]))
change_case("billed-milestone-status-is-refused", "a milestone whose status is billed cannot be removed", co(1, [{"type": "remove_milestone", "milestone_id": "M-1"}]))
change_case("billed-milestone-in-ledger-is-refused", "a milestone the ledger shows as billed cannot be removed", co(1, [{"type": "remove_milestone", "milestone_id": "M-2"}]),
            led=ledger(items=[milestone_item("M-2", "8000.00")]))
change_case("remove-unbilled-milestone", "removing an unbilled milestone lowers the contract value by its amount", co(1, [{"type": "remove_milestone", "milestone_id": "M-2"}]), led=ledger())
change_case("add-milestone", "adding a milestone raises the contract value by its amount",
            co(1, [{"type": "add_milestone", "milestone": {"id": "M-3", "name": "Hypercare", "amount": usd("4000.00"), "due_date": "2026-12-15", "status": "pending"}}]))
change_case("end-date-and-markup", "an end date and an expense markup change apply from approval", co(1, [{"type": "set_end_date", "end_date": "2027-03-31"}, {"type": "set_expense_markup", "markup_percent": "7.5"}]))
change_case("no-ceiling-to-adjust-is-refused", "adjusting the ceiling of a contract without one is refused", co(1, [{"type": "adjust_ceiling", "delta": usd("1000.00")}]), c={k: v for k, v in contract().items() if k != "ceiling"})
change_case("wrong-contract-is-refused", "a change order for another contract is refused", dict(co(1, [set_rate("Consultant")]), contract_id="C-2"))
change_case("history-mismatch-is-refused", "the contract lists an applied change order that is not given", co(1, [set_rate("Consultant")]), c=contract(change_orders=["CO-9"]))
change_case("currency-mismatch-is-refused", "a new rate in another currency than the contract's is refused", co(1, [{"type": "set_rate", "role": "Consultant", "rate": {"amount": "155.00", "currency": "EUR"}}]))
billed = [
    item("TE-1", "2026-04-28", "8", "150.00", "1200.00"),
    item("TE-2", "2026-05-04", "8", "150.00", "1200.00"),
    item("TE-3", "2026-05-05", "6.5", "150.00", "975.00"),
    item("TE-4", "2026-05-06", "4", "99.00", "396.00", source="rate_override"),
    item("TE-5", "2026-05-06", "8", "170.00", "1360.00", task_id="T-2"),
    item("TE-6", "2026-05-07", "8", "200.00", "1600.00", role="Architect"),
]
change_case("retroactive-rate-change-adjusts-billed-items", "a retroactive rate change lists an adjustment for each billed item on or after its effective date that it re-prices (not earlier work, not overrides, not other keys)",
            co(1, [set_rate("Consultant", "155.00")], retro=True), led=ledger(items=billed))
change_case("prospective-rate-change-adjusts-nothing", "a prospective rate change leaves billed items alone",
            co(1, [set_rate("Consultant", "155.00")], retro=False), led=ledger(items=billed))
change_case("retroactive-end-rate-holds-billed-items", "a retroactive end_rate leaves billed work without a rate: the adjustment has no amount and names missing_rate",
            co(1, [{"type": "end_rate", "role": "Architect"}], retro=True), led=ledger(items=billed))
day_billed = [item("TE-7", "2026-05-11", "6", "1400.00", "1120.00", resource_id="R-1", source="rate_card:resource=R-1@2026-03-01")]
change_case("retroactive-day-rate-change", "a retroactive day-rate change re-prices 6 hours as 6 / 7.5 days",
            co(1, [{"type": "set_rate", "resource_id": "R-1", "rate": usd("1500.00"), "unit": "day"}], eff="2026-05-01", retro=True), led=ledger(items=day_billed))

for area, items in cases.items():
    out = root / "spec" / "cases" / area
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for n, (slug, description, op, req) in enumerate(items, 1):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(req, f)
        r = subprocess.run([bw, "run", op, f.name], capture_output=True, text=True)
        got = json.loads(r.stdout)
        if "error" in got:
            expect = {"error": {"code": got["error"]["code"], "path": got["error"]["path"]}}
        else:
            expect = {"result": got}
        case_id = f"{area}/{n:03d}-{slug}"
        doc = {"id": case_id, "op": op, "description": description, "input": req, "expect": expect}
        (out / f"{n:03d}-{slug}.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{area}: {len(items)} cases")
