"""Writes spec/cases/billing/** from the scenarios below. Each scenario states, by hand, the figures
that matter (amounts, reasons, quantities); the script refuses to write a case whose computed
result disagrees with them, then stores the full result as the expectation."""
import sys, pathlib
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from billing_cases_lib import *  # noqa: F401,F403

P = "preview_invoice"

# 1. Pricing basics.
case(P, "approved-entry-billed", "an approved, billable entry of 8 h at 150.00 bills 1200.00",
     req([te("TE-1")]), lambda p: (eq(lines(p), [("TE-1", "1200.00")]), eq(total(p), "1200.00"), eq(p["lines"][0]["rate_source"], "rate_card:role=Consultant@2026-01-01")))
case(P, "dated-rate-before-change", "work on 2026-06-30 takes the Senior rate of 200.00 (the 2026-07-01 rate is not yet in force)",
     req([te("TE-1", role="Senior", date="2026-06-30")], period={"start": "2026-06-01", "end": "2026-07-31"}, as_of="2026-08-01"),
     lambda p: eq(lines(p), [("TE-1", "1600.00")]))
case(P, "dated-rate-on-change-day", "work on 2026-07-01 takes the new Senior rate of 220.00",
     req([te("TE-1", role="Senior", date="2026-07-01")], period={"start": "2026-06-01", "end": "2026-07-31"}, as_of="2026-08-01"),
     lambda p: eq(lines(p), [("TE-1", "1760.00")]))
case(P, "manual-rate-override-wins", "a manual rate override wins over the card and says so",
     req([te("TE-1", rate_override=money("175.00"))]), lambda p: (eq(lines(p), [("TE-1", "1400.00")]), eq(p["lines"][0]["rate_source"], "rate_override")))
case(P, "day-rate-bills-days", "6 h at a day rate of 1200.00 with 8 hours a day bills 0.75 day = 900.00",
     req([te("TE-1", hours="6", resource_id="R-DAY")], c=contract(rate_card={"hours_per_day": "8", "entries": [
         {"resource_id": "R-DAY", "rate": money("1200.00"), "unit": "day", "effective_from": "2026-01-01"}]})),
     lambda p: (eq(lines(p), [("TE-1", "900.00")]), eq(p["lines"][0]["quantity"], "0.75"), eq(p["lines"][0]["unit"], "day")))
case(P, "resource-rate-beats-role-rate", "a rate for the resource beats the rate for the role",
     req([te("TE-1", resource_id="R-STAR")], c=contract(rate_card={"entries": [
         {"role": "Consultant", "rate": money("150.00"), "effective_from": "2026-01-01"},
         {"resource_id": "R-STAR", "rate": money("190.00"), "effective_from": "2026-01-01"}]})),
     lambda p: (eq(lines(p), [("TE-1", "1520.00")]), eq(p["lines"][0]["rate_source"], "rate_card:resource=R-STAR@2026-01-01")))

# 2. Every hold reason.
case(P, "held-not-approved-submitted", "a submitted entry is held as not_approved",
     req([te("TE-1", status="submitted")]), lambda p: eq(held(p), [("TE-1", "not_approved")]))
case(P, "held-not-approved-draft-and-rejected", "draft and rejected entries are held as not_approved",
     req([te("TE-1", status="draft"), te("TE-2", status="rejected")]), lambda p: eq(held(p), [("TE-1", "not_approved"), ("TE-2", "not_approved")]))
case(P, "held-not-billable-entry", "an entry marked non-billable is held as not_billable",
     req([te("TE-1", billable=False)]), lambda p: eq(held(p), [("TE-1", "not_billable")]))
case(P, "held-not-billable-task", "an entry on a non-billable task is held as not_billable",
     req([te("TE-1", task_id="T-NB")]), lambda p: eq(held(p), [("TE-1", "not_billable")]))
case(P, "held-not-billable-unknown-task", "an entry on a task the project does not have is held as not_billable",
     req([te("TE-1", task_id="T-GHOST")]), lambda p: eq(held(p), [("TE-1", "not_billable")]))
case(P, "held-project-on-hold", "work on a project on hold is held with the billable statuses named",
     req([te("TE-1")], projects=[project(status="on_hold")]),
     lambda p: (eq(held(p), [("TE-1", "project_status")]), eq(p["held"][0]["sentence"], "project P-1 is on_hold; billable statuses are active, completed")))
case(P, "held-project-planned", "work on a planned project is held as project_status", req([te("TE-1")], projects=[project(status="planned")]),
     lambda p: eq(held(p), [("TE-1", "project_status")]))
case(P, "billed-project-completed", "work on a completed project is billable", req([te("TE-1")], projects=[project(status="completed")]),
     lambda p: eq(lines(p), [("TE-1", "1200.00")]))
case(P, "held-project-unknown", "work on a project not in the run is held as project_status", req([te("TE-1", project_id="P-9")]),
     lambda p: eq(held(p), [("TE-1", "project_status")]))
case(P, "held-project-of-another-contract", "work on another contract's project is held as project_status",
     req([te("TE-1")], projects=[project(contract_id="C-2")]), lambda p: eq(held(p), [("TE-1", "project_status")]))
case(P, "billable-statuses-option", "the billable project statuses can be widened to on_hold",
     req([te("TE-1")], projects=[project(status="on_hold")], options={"billable_project_statuses": ["active", "on_hold"]}),
     lambda p: eq(lines(p), [("TE-1", "1200.00")]))
case(P, "held-outside-contract-period", "work after the contract end is held as outside_contract_period, with the amount it would bill",
     req([te("TE-1", date="2026-03-20")], c=contract(end_date="2026-03-15")),
     lambda p: (eq(held(p), [("TE-1", "outside_contract_period")]), eq(p["held"][0]["amount"]["amount"], "1200.00")))
case(P, "held-before-contract-start", "work before the contract start is held as outside_contract_period",
     req([te("TE-1", date="2026-03-02")], c=contract(start_date="2026-03-10")), lambda p: eq(held(p), [("TE-1", "outside_contract_period")]))
case(P, "held-outside-billing-period", "February work in a March run is held as outside_billing_period",
     req([te("TE-1", date="2026-02-27")]), lambda p: eq(held(p), [("TE-1", "outside_billing_period")]))
case(P, "billing-period-bounds-inclusive", "work on the first and last day of the period is billed",
     req([te("TE-1", date="2026-03-01"), te("TE-2", date="2026-03-31")]), lambda p: eq(len(p["lines"]), 2))
case(P, "held-legal-entity-mismatch", "a project delivered by another legal entity is held as legal_entity_mismatch",
     req([te("TE-1")], projects=[project(legal_entity="UK01")]), lambda p: eq(held(p), [("TE-1", "legal_entity_mismatch")]))
case(P, "held-currency-mismatch-expense", "an expense in CAD without fx_rate is held as currency_mismatch",
     req(expenses=[ex("EX-1", "100.00", "CAD")]), lambda p: eq(held(p), [("EX-1", "currency_mismatch")]))
case(P, "held-currency-mismatch-override", "a manual rate in EUR on a USD contract is held as currency_mismatch",
     req([te("TE-1", rate_override=money("150.00", "EUR"))]), lambda p: eq(held(p), [("TE-1", "currency_mismatch")]))
case(P, "held-missing-rate", "a role with no rate is held as missing_rate",
     req([te("TE-1", role="Astronaut")]), lambda p: eq(held(p), [("TE-1", "missing_rate")]))
case(P, "held-missing-rate-before-first-rate", "work dated before the first rate is held as missing_rate",
     req([te("TE-1", date="2026-03-02")], c=contract(rate_card={"entries": [{"role": "Consultant", "rate": money("150.00"), "effective_from": "2026-03-03"}]})),
     lambda p: eq(held(p), [("TE-1", "missing_rate")]))
case(P, "first-failing-reason-wins", "an entry that is submitted, non-billable and unpriced is held for the first reason: not_approved",
     req([te("TE-1", status="submitted", billable=False, role="Astronaut")]), lambda p: eq(held(p), [("TE-1", "not_approved")]))
case(P, "reason-order-project-before-period", "on_hold project and outside the period: project_status comes first",
     req([te("TE-1", date="2026-02-02")], projects=[project(status="on_hold")]), lambda p: eq(held(p), [("TE-1", "project_status")]))

# 3. Expenses.
case(P, "expense-markup", "a 100.00 travel expense with a 10% markup bills 110.00",
     req(expenses=[ex("EX-1")]), lambda p: (eq(lines(p), [("EX-1", "110.00")]), eq(p["lines"][0]["rate_source"], "expense_policy:markup=10%")))
case(P, "expense-fx-and-markup", "189.00 CAD at 0.7321 with 10% markup bills 152.20 USD (152.20329 rounded once)",
     req(expenses=[ex("EX-1", "189.00", "CAD", fx_rate="0.7321")]), lambda p: eq(lines(p), [("EX-1", "152.20")]))
case(P, "expense-category-not-billable", "a meals expense is held as not_billable when meals are not a billable category",
     req(expenses=[ex("EX-1", category="meals")]),
     lambda p: (eq(held(p), [("EX-1", "not_billable")]), eq(p["held"][0]["sentence"], "expense category meals is not billable under C-1 (billable: lodging, travel)")))
case(P, "expense-not-approved", "a submitted expense is held as not_approved", req(expenses=[ex("EX-1", status="submitted")]), lambda p: eq(held(p), [("EX-1", "not_approved")]))
case(P, "expense-marked-non-billable", "an expense marked non-billable is held", req(expenses=[ex("EX-1", billable=False)]), lambda p: eq(held(p), [("EX-1", "not_billable")]))
case(P, "expense-markup-change-order", "a change order setting the markup to 5% prices expenses dated on or after its effective date",
     req(expenses=[ex("EX-1", date="2026-03-02"), ex("EX-2", date="2026-02-27")], change_orders=[co(1, [{"type": "set_expense_markup", "markup_percent": "5"}])],
         period={"start": "2026-02-01", "end": "2026-03-31"}),
     lambda p: eq(sorted(lines(p)), [("EX-1", "105.00"), ("EX-2", "110.00")]))

# 4. Rounding.
case(P, "half-up-on-half-cent", "0.5 h at 100.01 is 50.005, rounded half_up to 50.01",
     req([te("TE-1", hours="0.5", rate_override=money("100.01"))]), lambda p: eq(lines(p), [("TE-1", "50.01")]))
case(P, "half-even-on-half-cent", "0.5 h at 100.01 is 50.005, rounded half_even to 50.00",
     req([te("TE-1", hours="0.5", rate_override=money("100.01"))], c=contract(rounding={"mode": "half_even"})), lambda p: eq(lines(p), [("TE-1", "50.00")]))
case(P, "each-line-rounded-once", "three lines of 0.333 h at 100.00 are each 33.30; the total is their sum 99.90",
     req([te("TE-1", hours="0.333", rate_override=money("100.00")), te("TE-2", hours="0.333", rate_override=money("100.00")), te("TE-3", hours="0.333", rate_override=money("100.00"))]),
     lambda p: eq(total(p), "99.90"))
jpy = contract(currency="JPY", rate_card={"entries": [{"role": "Consultant", "rate": money("1001", "JPY"), "effective_from": "2026-01-01"}]},
               expense_policy={"billable_categories": ["travel"], "markup_percent": "0"})
case(P, "jpy-half-up", "2.5 h at 1001 JPY is 2502.5, rounded half_up to 2503 (no minor unit)", req([te("TE-1", hours="2.5")], c=jpy),
     lambda p: eq(lines(p), [("TE-1", "2503")]))
case(P, "jpy-half-even", "2.5 h at 1001 JPY is 2502.5, rounded half_even to 2502", req([te("TE-1", hours="2.5")], c=dict(jpy, rounding={"mode": "half_even"})),
     lambda p: eq(lines(p), [("TE-1", "2502")]))
bhd = contract(currency="BHD", rate_card={"entries": [{"role": "Consultant", "rate": money("0.025", "BHD"), "effective_from": "2026-01-01"}]},
               expense_policy={"billable_categories": [], "markup_percent": "0"})
case(P, "bhd-three-decimals-half-up", "2.5 h at 0.025 BHD is 0.0625, rounded half_up to 0.063 (three minor digits)", req([te("TE-1", hours="2.5")], c=bhd),
     lambda p: eq(lines(p), [("TE-1", "0.063")]))
case(P, "bhd-three-decimals-half-even", "2.5 h at 0.025 BHD is 0.0625, rounded half_even to 0.062", req([te("TE-1", hours="2.5")], c=dict(bhd, rounding={"mode": "half_even"})),
     lambda p: eq(lines(p), [("TE-1", "0.062")]))
case(P, "time-rounding-up", "7.1 h rounded up to the quarter hour bills 7.25 h; the line shows both",
     req([te("TE-1", hours="7.1")], c=contract(rounding={"time_increment": "0.25", "time_rounding": "up"})),
     lambda p: (eq(lines(p), [("TE-1", "1087.50")]), eq(p["lines"][0]["worked_hours"], "7.1"), eq(p["lines"][0]["billed_hours"], "7.25")))
case(P, "time-rounding-down", "7.2 h rounded down to the quarter hour bills 7 h",
     req([te("TE-1", hours="7.2")], c=contract(rounding={"time_increment": "0.25", "time_rounding": "down"})), lambda p: eq(lines(p), [("TE-1", "1050.00")]))
case(P, "time-rounding-nearest-half", "7.125 h rounded to the nearest quarter hour (halves up) bills 7.25 h",
     req([te("TE-1", hours="7.125")], c=contract(rounding={"time_increment": "0.25", "time_rounding": "nearest"})), lambda p: eq(lines(p), [("TE-1", "1087.50")]))

# 5. The ceiling.
ceil = lambda mode="split", scope="fees", amount="10000.00": contract(ceiling={"amount": money(amount), "mode": mode, "scope": scope})
prior = {"contract_id": "C-1", "entries": [{"invoice_id": "INV-0", "kind": "time", "item_id": "TE-0", "date": "2026-02-10", "quantity": "60",
          "unit_price": money("150.00"), "amount": money("9000.00"), "contract_version": 0, "against_ceiling": True}], "credits": []}
three = [te("TE-1", date="2026-03-02"), te("TE-2", date="2026-03-03"), te("TE-3", date="2026-03-04")]
case(P, "ceiling-split-crossing-entry", "with 1000.00 left under the ceiling, the crossing entry is split: 1000.00 billed, 200.00 held, later entries held",
     req(three, c=ceil(), ledger=prior),
     lambda p: (eq(lines(p), [("TE-1", "1000.00")]), eq(p["lines"][0]["ceiling_split"], True), eq(p["lines"][0]["quantity"], "6.6666"),
                eq(held(p), [("TE-1", "ceiling_exceeded"), ("TE-2", "ceiling_exceeded"), ("TE-3", "ceiling_exceeded")]),
                eq(p["held"][0]["amount"]["amount"], "200.00"), eq(p["ceiling"]["remaining"]["amount"], "0.00"), eq(p["ceiling"]["this_run"]["amount"], "1000.00")))
case(P, "ceiling-hold-whole", "in hold_whole mode the crossing entry is held whole and nothing is billed",
     req(three, c=ceil("hold_whole"), ledger=prior),
     lambda p: (eq(lines(p), []), eq(p["ceiling"]["remaining"]["amount"], "1000.00"), eq(p["held"][0]["amount"]["amount"], "1200.00")))
case(P, "ceiling-exact-fit", "an entry of 1200.00 with exactly 1200.00 left under the ceiling is billed whole; the next is held",
     req(three[:2], c=ceil(amount="10200.00"), ledger=prior),
     lambda p: (eq(lines(p), [("TE-1", "1200.00")]), eq(p["lines"][0].get("ceiling_split"), None), eq(held(p), [("TE-2", "ceiling_exceeded")]), eq(p["ceiling"]["utilisation_percent"], "100")))
case(P, "ceiling-order-is-date-kind-id", "the ceiling takes items by date, then kind, then id: TE-B on 03-02 before TE-A on 03-03",
     req([te("TE-A", date="2026-03-03"), te("TE-B", date="2026-03-02")], c=ceil(amount="10600.00"), ledger=prior),
     lambda p: (eq(lines(p), [("TE-B", "1200.00"), ("TE-A", "400.00")])))
case(P, "ceiling-fees-scope-ignores-expenses", "with a fees ceiling, expenses are billed even when the ceiling is full",
     req(three[:1], [ex("EX-1")], c=ceil(), ledger=dict(prior, entries=[dict(prior["entries"][0], amount=money("10000.00"))])),
     lambda p: (eq(lines(p), [("EX-1", "110.00")]), eq(held(p), [("TE-1", "ceiling_exceeded")])))
case(P, "ceiling-fees-and-expenses-scope", "with a fees_and_expenses ceiling, an expense counts against it too",
     req([], [ex("EX-1", "1000.00")], c=ceil(scope="fees_and_expenses"), ledger=prior),
     lambda p: (eq(lines(p), [("EX-1", "1000.00")]), eq(p["lines"][0]["ceiling_split"], True), eq(p["held"][0]["amount"]["amount"], "100.00")))
case(P, "ceiling-raise-releases-held", "a change order raising the ceiling by 5000.00 releases the items the ceiling held",
     req(three, c=ceil(), ledger=prior, change_orders=[co(1, [{"type": "adjust_ceiling", "delta": money("5000.00")}])]),
     lambda p: (eq(len(p["lines"]), 3), eq(held(p), []), eq(p["ceiling"]["limit"]["amount"], "15000.00")))
case(P, "ceiling-raise-not-yet-approved", "a ceiling raise approved after as_of does not count yet",
     req(three, c=ceil(), ledger=prior, change_orders=[co(1, [{"type": "adjust_ceiling", "delta": money("5000.00")}], approved="2026-04-10")]),
     lambda p: eq(p["ceiling"]["limit"]["amount"], "10000.00"))

# 6. Ledger, credits, billing twice.
base = req([te("TE-1", hours="20")])
l1 = ledger_after(base)
case(P, "commit-then-rerun-is-empty", "after committing a run, running the same period again bills nothing: every item is already_billed",
     dict(base, ledger=l1), lambda p: (eq(lines(p), []), eq(held(p), [("TE-1", "already_billed")]), eq(total(p), "0.00")))
credited = dict(l1, credits=[{"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1", "quantity": "11"}])
case(P, "credit-then-more-hours-bills-sixteen", "bill 20 h, credit 11 h, log 5 h more: the next invoice bills exactly 16 h",
     req([te("TE-1", hours="25")], ledger=credited),
     lambda p: (eq(lines(p), [("TE-1", "2400.00")]), eq(p["lines"][0]["billed_hours"], "16"), eq(p["lines"][0]["worked_hours"], "25")))
case(P, "credit-by-amount-rebills-the-amount", "a credit of 300.00 on a 3000.00 bill makes 2 h billable again",
     dict(base, ledger=dict(l1, credits=[{"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1", "amount": money("300.00")}])),
     lambda p: (eq(lines(p), [("TE-1", "300.00")]), eq(p["lines"][0]["billed_hours"], "2")))
case(P, "full-credit-rebills-everything", "a full credit makes the whole item billable again",
     dict(base, ledger=dict(l1, credits=[{"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1", "quantity": "20"}])),
     lambda p: eq(lines(p), [("TE-1", "3000.00")]))
case(P, "credit-over-billed-is-refused", "a credit giving back more than was billed is an error",
     dict(base, ledger=dict(l1, credits=[{"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1", "quantity": "21"}])),
     lambda p: eq(p["error"]["code"], "LEDGER_INVALID_CREDIT"))
case(P, "credit-of-unknown-item-is-refused", "a credit of an item the ledger never billed is an error",
     dict(base, ledger=dict(l1, credits=[{"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-9", "quantity": "1"}])),
     lambda p: eq(p["error"]["code"], "LEDGER_UNKNOWN_ITEM"))
case(P, "ledger-of-another-contract-is-refused", "a ledger of another contract is an error", dict(base, ledger=dict(l1, contract_id="C-9")),
     lambda p: eq(p["error"]["code"], "LEDGER_WRONG_CONTRACT"))
case(P, "billed-status-without-ledger-is-held", "an entry the PSA marks billed but the ledger does not know is held as not_approved",
     req([te("TE-1", status="billed")]), lambda p: eq(held(p), [("TE-1", "not_approved")]))
split = ledger_after(req(three, c=ceil(), ledger=prior), "INV-2")
case(P, "split-remainder-billed-after-ceiling-raise", "after a split, raising the ceiling bills the held remainder of the split entry and the rest",
     req(three, c=ceil(), ledger=split, change_orders=[co(1, [{"type": "adjust_ceiling", "delta": money("5000.00")}])]),
     lambda p: (eq(lines(p), [("TE-1", "200.00"), ("TE-2", "1200.00"), ("TE-3", "1200.00")]), eq(p["lines"][0]["quantity"], "1.3333")))

# 7. Change orders and retroactive adjustments.
raise_rate = [{"type": "set_rate", "role": "Consultant", "rate": money("165.00")}]
billed_before_co = ledger_after(req([te("TE-1", date="2026-03-02")]))
case(P, "retroactive-change-order-adjusts-billed-work", "a retroactive rate rise from 03-01 adds an adjustment of 8 h x 15.00 = 120.00 for billed work",
     req([te("TE-1", date="2026-03-02")], ledger=billed_before_co, change_orders=[co(1, raise_rate, retroactive=True)]),
     lambda p: (eq(lines(p), []), eq([(a["item_id"], a["amount"]["amount"], a["rate_before"]["amount"], a["rate_after"]["amount"]) for a in p["adjustments"]], [("TE-1", "120.00", "150.00", "165.00")]), eq(total(p), "120.00")))
case(P, "prospective-change-order-does-not-adjust", "a non-retroactive rate rise leaves billed work alone and prices new work at 165.00",
     req([te("TE-1", date="2026-03-02"), te("TE-2", date="2026-03-05")], ledger=billed_before_co, change_orders=[co(1, raise_rate)]),
     lambda p: (eq(p["adjustments"], []), eq(lines(p), [("TE-2", "1320.00")]), eq(p["lines"][0]["rate_source"], "change_order:CO-1")))
case(P, "retroactive-only-after-effective-date", "billed work before the effective date is not adjusted",
     req([te("TE-1", date="2026-03-02")], ledger=billed_before_co, change_orders=[co(1, raise_rate, effective="2026-03-10", retroactive=True)]),
     lambda p: eq(p["adjustments"], []))
case(P, "unapproved-change-order-ignored", "a submitted change order does not price anything",
     req([te("TE-1", date="2026-03-05")], change_orders=[co(1, raise_rate, status="submitted")]), lambda p: eq(lines(p), [("TE-1", "1200.00")]))
case(P, "change-order-end-date-holds-later-work", "a change order ending the contract on 03-15 holds later work as outside_contract_period",
     req([te("TE-1", date="2026-03-10"), te("TE-2", date="2026-03-20")], change_orders=[co(1, [{"type": "set_end_date", "end_date": "2026-03-15"}])]),
     lambda p: eq(held(p), [("TE-2", "outside_contract_period")]))

# 8. Fixed fee, milestones, retainer.
ff = contract(billing_model="fixed_fee", fixed_fee=money("180000.00"), milestones=[
    {"id": "MS-1", "name": "Design signed off", "percent": "20", "due_date": "2026-03-13", "status": "accepted"},
    {"id": "MS-2", "name": "Pilot live", "percent": "40", "due_date": "2026-03-27", "status": "completed"},
    {"id": "MS-3", "name": "Hypercare", "amount": money("18000.00"), "due_date": "2026-06-30", "status": "pending"}])
case(P, "fixed-fee-accepted-milestone-bills-its-percent", "an accepted 20% milestone of a 180000.00 fixed fee bills 36000.00; completed and pending ones are held",
     req(c=ff), lambda p: (eq(lines(p), [("MS-1", "36000.00")]), eq(held(p), [("MS-2", "not_approved"), ("MS-3", "not_approved")]),
                           eq(p["held"][0]["amount"]["amount"], "72000.00"), eq(p["summary"]["backlog"]["amount"], "144000.00")))
case(P, "milestone-request-status-overrides", "milestones given in the request (from the PSA) carry the current status",
     req(c=ff, milestones=[dict(m, status="accepted") for m in ff["milestones"]]),
     lambda p: eq(lines(p), [("MS-1", "36000.00"), ("MS-2", "72000.00"), ("MS-3", "18000.00")]))
ms_model = contract(billing_model="milestone", milestones=[{"id": "MS-A", "name": "Go-live", "amount": money("25000.00"), "due_date": "2026-03-20", "status": "accepted"}])
case(P, "milestone-model-amount", "a milestone contract bills an accepted milestone's amount", req(c=ms_model),
     lambda p: (eq(lines(p), [("MS-A", "25000.00")]), eq(p["summary"]["backlog"]["amount"], "0.00")))
case(P, "milestone-billed-once", "a billed milestone is already_billed on the next run", req(c=ms_model, ledger=ledger_after(req(c=ms_model))),
     lambda p: eq(held(p), [("MS-A", "already_billed")]))
case(P, "milestone-added-by-change-order", "a milestone added by an approved change order bills once accepted",
     req(c=ms_model, change_orders=[co(1, [{"type": "add_milestone", "milestone": {"id": "MS-B", "name": "Extra site", "amount": money("5000.00"), "due_date": "2026-03-25", "status": "accepted"}}])]),
     lambda p: eq(lines(p), [("MS-A", "25000.00"), ("MS-B", "5000.00")]))
ret = contract(billing_model="retainer", retainer={"amount": money("10000.00")})
ret_ledger = {"contract_id": "C-1", "entries": [{"invoice_id": "INV-0", "kind": "time", "item_id": "TE-0", "date": "2026-02-10", "quantity": "53.3333",
              "unit_price": money("150.00"), "amount": money("8000.00"), "contract_version": 0, "against_ceiling": False}], "credits": []}
case(P, "retainer-draws-down-then-invoices-excess", "8000.00 of a 10000.00 retainer drawn before; 2400.00 of time draws the last 2000.00 and invoices 400.00",
     req([te("TE-1"), te("TE-2", date="2026-03-03", hours="8")], c=ret, ledger=ret_ledger),
     lambda p: (eq(p["retainer"]["drawn_this_run"]["amount"], "2000.00"), eq(p["retainer"]["excess"]["amount"], "400.00"), eq(total(p), "400.00"),
                eq(p["retainer"]["remaining"]["amount"], "0.00")))
case(P, "retainer-within-prepaid-invoices-nothing", "time within the retainer is drawn down and not invoiced again",
     req([te("TE-1")], c=ret), lambda p: (eq(p["retainer"]["drawn_this_run"]["amount"], "1200.00"), eq(total(p), "0.00")))

# 9. Summary figures.
case(P, "unbilled-approved-time-is-aged", "approved time held for a reason after approval is aged from as_of into buckets",
     req([te("TE-1", date="2026-03-25", role="Astronaut"), te("TE-2", date="2025-12-20")], as_of="2026-04-02", period={"start": "2026-03-01", "end": "2026-03-31"}, c=contract(start_date="2025-01-01")),
     lambda p: eq([(b["bucket"], b["entries"]) for b in p["summary"]["unbilled_approved"]], [("0-30", 1), ("31-60", 0), ("61-90", 0), ("90+", 1)]))
case(P, "held-by-reason-sums-amounts", "held items are counted and summed by reason",
     req([te("TE-1", date="2026-02-02"), te("TE-2", date="2026-02-03"), te("TE-3", status="submitted")]),
     lambda p: eq([(h["reason"], h["count"], h["amount"]["amount"]) for h in p["summary"]["held_by_reason"]], [("not_approved", 1, "0.00"), ("outside_billing_period", 2, "2400.00")]))
case(P, "empty-run", "a run with nothing to bill gives an empty invoice with zero totals", req(), lambda p: (eq(p["lines"], []), eq(total(p), "0.00")))
case(P, "output-does-not-depend-on-input-order", "lines come out by date, kind and id whatever the input order",
     req([te("TE-3", date="2026-03-04"), ex("EX-1", date="2026-03-02"), te("TE-1", date="2026-03-02")][::1][:2] + [te("TE-1", date="2026-03-02")], [ex("EX-1", date="2026-03-02")]) if False else
     req([te("TE-3", date="2026-03-04"), te("TE-1", date="2026-03-02")], [ex("EX-1", date="2026-03-02")]),
     lambda p: eq([l[0] for l in lines(p)], ["TE-1", "EX-1", "TE-3"]))

# 10. Input errors.
case(P, "number-for-hours-is-refused", "hours as a JSON number are refused: decimals travel as strings",
     req([dict(te("TE-1"), hours=8)]), lambda p: (eq(p["error"]["code"], "INPUT_NUMBER_NOT_ALLOWED"), eq(p["error"]["path"], "/time_entries/0/hours")))
case(P, "unknown-field-in-entry-is-refused", "a misspelt field in a time entry is refused with its path",
     req([dict(te("TE-1"), huors="8")]), lambda p: eq(p["error"]["path"], "/time_entries/0/huors"))
case(P, "missing-period-is-refused", "a run without a period is refused", {k: v for k, v in req().items() if k != "period"},
     lambda p: eq(p["error"]["code"], "INPUT_MISSING_FIELD"))

# 11. Found by the naive reference (an earlier oracle, since replaced by core/tests/billing_model).
case(P, "reason-order-task-before-project", "an entry on a non-billable task of an on_hold project is held as not_billable: check 3 comes before check 4",
     req([te("TE-1", task_id="T-NB")], projects=[project(status="on_hold")]),
     lambda p: (eq(held(p), [("TE-1", "not_billable")]), eq(p["held"][0]["sentence"], "task T-NB of project P-1 is non-billable")))
case(P, "reason-order-unknown-project-hides-its-tasks", "an entry of a project the run does not know is held as project_status: its tasks are unknown",
     req([te("TE-1", task_id="T-NB", project_id="P-9")]),
     lambda p: (eq(held(p), [("TE-1", "project_status")]), eq(p["held"][0]["sentence"], "project P-9 of time entry TE-1 is not part of this billing run")))
ex_billed = ledger_after(req(expenses=[ex("EX-1")]))
ex_credited = run("record_credit", {"ledger": ex_billed, "currency": "USD", "credits": [{"credit_note_id": "CN-1", "kind": "expense", "item_id": "EX-1", "amount": money("10.00")}]})
case(P, "expense-credited-in-part-bills-the-rest", "a 110.00 expense credited 10.00 bills 10.00 again: quantity 10/110 = 0.0909 (rounded down), unit price 110.00",
     req(expenses=[ex("EX-1")], ledger=ex_credited),
     lambda p: (eq(lines(p), [("EX-1", "10.00")]), eq(p["lines"][0]["quantity"], "0.0909"), eq(p["lines"][0]["unit_price"]["amount"], "110.00")))

case(P, "aging-counts-the-hours-still-to-bill", "25 h logged, 20 h billed and 11 h credited, held outside the April period: 16 h and 2400.00 age 31 days",
     req([te("TE-1", hours="25")], ledger=credited, period={"start": "2026-04-01", "end": "2026-04-30"}),
     lambda p: (eq(held(p), [("TE-1", "outside_billing_period")]), eq(p["held"][0]["amount"]["amount"], "2400.00"),
                eq([(b["bucket"], b["entries"], b["hours"], b["amount"]["amount"]) for b in p["summary"]["unbilled_approved"]],
                   [("0-30", 0, "0", "0.00"), ("31-60", 1, "16", "2400.00"), ("61-90", 0, "0", "0.00"), ("90+", 0, "0", "0.00")])))
case(P, "aging-counts-rounded-hours", "0.3 h rounded up to 0.5 h (increment 0.5) and held for a missing rate ages as 0.5 h",
     req([te("TE-1", hours="0.3", role="Astronaut")], c=contract(rounding={"mode": "half_up", "time_increment": "0.5", "time_rounding": "up"})),
     lambda p: (eq(held(p), [("TE-1", "missing_rate")]), eq(p["summary"]["unbilled_approved"][1]["hours"], "0.5")))

case(P, "day-rate-midpoint-is-exact", "1.25 h at a day rate of 999.99 with 7.5 hours a day is exactly 166.665: half_even bills 166.66",
     req([te("TE-1", hours="1.25", resource_id="R-DAY")], c=contract(rounding={"mode": "half_even"}, rate_card={"hours_per_day": "7.5", "entries": [
         {"resource_id": "R-DAY", "rate": money("999.99"), "unit": "day", "effective_from": "2026-01-01"}]})),
     lambda p: (eq(lines(p), [("TE-1", "166.66")]), eq(p["lines"][0]["quantity"], "0.1667"), eq(p["lines"][0]["unit"], "day")))

imported = copy.deepcopy(billed_before_co)
imported["entries"][0]["amount"] = money("1199.99")
case(P, "retroactive-change-order-leaving-the-rate-adjusts-nothing", "work billed 1199.99 at 150.00 (imported): a retroactive change order that only sets the expense markup adjusts nothing, not even 0.01",
     req([te("TE-1", date="2026-03-02")], ledger=imported, change_orders=[co(1, [{"type": "set_expense_markup", "markup_percent": "5"}], retroactive=True)]),
     lambda p: (eq(p["adjustments"], []), eq(held(p), [("TE-1", "already_billed")]), eq(total(p), "0.00")))

capped = contract(ceiling={"amount": money("1250.00")})
billed_capped = ledger_after(req([te("TE-1", date="2026-03-02")], c=capped))
case(P, "retroactive-adjustment-over-the-ceiling-is-held", "ceiling 1250.00, 1200.00 billed: a retroactive rise to 165.00 adjusts by 120.00, more than the 50.00 left, so the adjustment is held whole and so is the later entry",
     req([te("TE-1", date="2026-03-02"), te("TE-2", date="2026-03-05", hours="0.2")], c=capped, ledger=billed_capped, change_orders=[co(1, raise_rate, retroactive=True)]),
     lambda p: (eq(p["adjustments"], []), eq(lines(p), []),
                eq([(h["id"], h["reason"], h.get("change_order_id"), h.get("amount", {}).get("amount")) for h in p["held"]],
                   [("TE-1", "already_billed", None, None), ("TE-1", "ceiling_exceeded", "CO-1", "120.00"), ("TE-2", "ceiling_exceeded", None, "33.00")]),
                eq(p["held"][1]["sentence"], "the adjustment of time entry TE-1 for CO-1 would bring the total billed against the ceiling to more than 1250.00 (50.00 left)"),
                eq(p["ceiling"]["this_run"]["amount"], "0.00"), eq(total(p), "0.00")))
case(P, "retroactive-adjustment-billed-after-ceiling-raise", "the same run once a change order raises the ceiling by 500.00: the 120.00 adjustment and the later entry bill",
     req([te("TE-1", date="2026-03-02"), te("TE-2", date="2026-03-05", hours="0.2")], c=capped, ledger=billed_capped,
         change_orders=[co(1, raise_rate, retroactive=True), co(2, [{"type": "adjust_ceiling", "delta": money("500.00")}])]),
     lambda p: (eq([(a["item_id"], a["amount"]["amount"]) for a in p["adjustments"]], [("TE-1", "120.00")]), eq(lines(p), [("TE-2", "33.00")]),
                eq(p["ceiling"]["this_run"]["amount"], "153.00"), eq(total(p), "153.00")))

C = "commit_invoice"
case(C, "commit-records-lines", "committing records each line in the ledger with its quantity, amount and version",
     {"invoice_id": "INV-1", "run": req([te("TE-1"), te("TE-2", role="Astronaut")], [ex("EX-1")])},
     lambda r: eq([(e["item_id"], e["amount"]["amount"]) for e in r["ledger"]["entries"]], [("TE-1", "1200.00"), ("EX-1", "110.00")]))
case(C, "commit-duplicate-invoice-is-refused", "committing the same invoice id twice is an error",
     {"invoice_id": "INV-1", "run": dict(base, ledger=l1)}, lambda r: eq(r["error"]["code"], "LEDGER_DUPLICATE_INVOICE"))

R = "record_credit"
case(R, "record-partial-credit", "a partial credit of 11 h of the 20 h billed 3000.00 is added to the ledger with the 1650.00 it gives back",
     {"ledger": l1, "currency": "USD", "credits": [{"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1", "quantity": "11"}]},
     lambda r: (eq(len(r["credits"]), 1), eq(r["credits"][0]["amount"]["amount"], "1650.00")))
case(R, "record-credit-needs-quantity-or-amount", "a credit with neither quantity nor amount is refused",
     {"ledger": l1, "currency": "USD", "credits": [{"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1"}]},
     lambda r: eq(r["error"]["code"], "LEDGER_INVALID_CREDIT"))
case(R, "record-credit-by-amount-records-its-hours", "a credit of 300.00 of the 20 h billed 3000.00 is recorded with the 2 h it gives back",
     {"ledger": l1, "currency": "USD", "credits": [{"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1", "amount": money("300.00")}]},
     lambda r: eq(r["credits"][0]["quantity"], "2"))
print({k: v for k, v in counters.items()}, "cases written")
