"""Writes the money-integrity cases: one case per defect that money integrity fixed (each fails on
the code before it), and one per decision `spec/domain/billing.md` took where the prose was silent.
Each states by hand the figures that matter; the script refuses to write a case whose computed
result disagrees with them. Numbering continues the hand-written cases of each operation.

Usage: python3 scripts/make_integrity_cases.py   (after `cargo build -p billwise-cli`)"""
import json, pathlib, subprocess, sys
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from billing_cases_lib import *  # noqa: F401,F403
from billing_cases_lib import bw, counters, root

P = "preview_invoice"
counters[P] = 98
counters["record_credit"] = 4
counters["commit_invoice"] = 2


def set_rate(rate, role="Consultant", currency="USD", **target):
    t = {"type": "set_rate", "rate": money(rate, currency)}
    t.update(target or {"role": role})
    return t


def adjustments(p):
    return [(a["item_id"], a["change_order_id"], a["amount"]["amount"]) for a in p["adjustments"]]


def held_full(p):
    return [(h["id"], h["reason"], (h.get("amount") or {}).get("amount"), h.get("change_order_id")) for h in p["held"]]


L8 = bill("TE-1", "8", "1200.00")

# --- The defects of "Money integrity", one case each -------------------------------------------

# 1. An unrelated retroactive change order re-prices billed work.
case(P, "retroactive-markup-change-does-not-reprice-billed-time",
     "a retroactive change order that only changes the expense markup adjusts no billed time, even after a prospective rate change: it does not change the time's rate",
     req([te("TE-1")], ledger=ledger([L8]), change_orders=[
         co(1, [set_rate("165.00")]),
         co(2, [{"type": "set_expense_markup", "markup_percent": "5"}], retroactive=True, approved="2026-03-21")]),
     lambda p: (eq(adjustments(p), []), eq(held(p), [("TE-1", "already_billed")]), eq(total(p), "0.00")))

# 2. Expenses and milestones count as billed by quantity.
case(P, "expense-billed-once-stays-billed-after-a-markup-change",
     "an expense billed once at 110.00 is billed whatever its markup is now: a later markup of 20 percent bills nothing more",
     req(expenses=[ex("EX-1")], ledger=ledger([bill("EX-1", "1", "110.00", "110.00", kind="expense", date="2026-03-03")]),
         change_orders=[co(1, [{"type": "set_expense_markup", "markup_percent": "20"}])]),
     lambda p: (eq(lines(p), []), eq(held(p), [("EX-1", "already_billed")])))
case(P, "milestone-billed-once-stays-billed-after-its-amount-rises",
     "a milestone billed at 25000.00 is billed: raising it to 26000.00 afterwards bills nothing more (a new milestone or a change order bills the difference)",
     req(c=contract(billing_model="milestone"), milestones=[
         {"id": "M-1", "name": "Go-live", "amount": money("26000.00"), "due_date": "2026-03-15", "status": "accepted"}],
         ledger=ledger([bill("M-1", "1", "25000.00", "25000.00", kind="milestone", date="2026-03-15")])),
     lambda p: (eq(lines(p), []), eq(held(p), [("M-1", "already_billed")])))
case(P, "fully-credited-foreign-expense-without-fx-rate-is-a-currency-mismatch",
     "an expense in EUR credited in full is billable again, and without an fx_rate it is held as currency_mismatch, not already_billed",
     req(expenses=[ex("EX-1", "100.00", "EUR")],
         ledger=ledger([bill("EX-1", "1", "118.80", "118.80", kind="expense", date="2026-03-03")],
                       [credit("EX-1", kind="expense", quantity="1")])),
     lambda p: eq(held(p), [("EX-1", "currency_mismatch")]))

# 3. Unrounded money.
partly = ledger([bill("TE-1", "2", "300.00"), bill("TE-1", "1", "150.00", against=True, invoice="INV-2")],
                [credit("TE-1", amount="100.00")])
partly_run = req([te("TE-1", hours="3")], c=contract(ceiling={"amount": money("200.00")}), ledger=partly)
case(P, "credit-on-an-item-billed-partly-against-the-ceiling-gives-back-a-rounded-share",
     "a 100.00 credit of an item billed 450.00, 150.00 of it against the ceiling, gives back 33.33 of the ceiling (rounded half up): billed before is 116.67 and every amount has two decimals",
     partly_run,
     lambda p: (eq(p["ceiling"]["billed_before"]["amount"], "116.67"), eq(lines(p), [("TE-1", "83.33")]),
                eq(p["lines"][0]["billed_hours"], "0.555533333333"), eq(held_full(p), [("TE-1", "ceiling_exceeded", "16.67", None)]),
                eq(p["ceiling"]["utilisation_percent"], "100")))
case(P, "after-committing-a-split-the-rerun-bills-nothing-more",
     "after the run above is committed, the same run bills nothing: the ceiling is used up and the rest stays held",
     dict(partly_run, ledger=ledger_after(partly_run, "INV-3")),
     lambda p: (eq(lines(p), []), eq(held_full(p), [("TE-1", "ceiling_exceeded", "16.67", None)]), eq(p["ceiling"]["this_run"]["amount"], "0.00")))

# 4. A change order counts although the one before it is not in force.
case(P, "change-order-waits-for-its-predecessor-approved-later",
     "change order 2 (rate 180.00, approved 03-25) builds on change order 1 (approved 04-10): on 04-02 neither is in force, so the run is version 0 and bills 150.00",
     req([te("TE-1")], change_orders=[co(1, [{"type": "set_end_date", "end_date": "2026-03-01"}], approved="2026-04-10"),
                                      co(2, [set_rate("180.00")], approved="2026-03-25")]),
     lambda p: (eq(p["contract_version"], 0), eq(lines(p), [("TE-1", "1200.00")])))

# 5. A credit given only as an amount drifts.
drift = req([te("TE-1", hours="10")], ledger=ledger([bill("TE-1", "10", "1500.00")], [credit("TE-1", amount="750.00")]),
            change_orders=[co(1, [set_rate("100.00")])])
case(P, "credit-by-amount-gives-back-its-hours-once",
     "a 750.00 credit of 10 h billed 1500.00 gives back 5 h; at the new rate of 100.00 they bill 500.00",
     drift, lambda p: (eq(lines(p), [("TE-1", "500.00")]), eq(p["lines"][0]["billed_hours"], "5")))
case(P, "a-credit-gives-back-what-it-gave-when-recorded-whatever-is-billed-later",
     "once the 5 h are billed again, the 750.00 credit still gave back 5 h (not 5.625 h of a larger bill): the run bills nothing",
     dict(drift, ledger=ledger_after(drift, "INV-2")),
     lambda p: (eq(lines(p), []), eq(held(p), [("TE-1", "already_billed")])))

# 6. Retroactive adjustments only for items re-sent.
case(P, "retroactive-change-adjusts-billed-time-the-run-was-not-sent",
     "a retroactive rise to 165.00 adjusts time billed in the ledger even when the run's time entries do not list it: 8 h x 15.00 = 120.00",
     req(ledger=ledger([L8]), change_orders=[co(1, [set_rate("165.00")], retroactive=True)]),
     lambda p: (eq(adjustments(p), [("TE-1", "CO-1", "120.00")]), eq(total(p), "120.00")))

# 7. A ceiling below what is billed; a ceiling set on a contract without one.
nine = ledger([bill(f"TE-{i}", "10", "1500.00", against=True, date="2026-02-02") for i in range(1, 7)])
case(P, "ceiling-set-below-what-is-billed-is-refused",
     "a change order setting the ceiling to 5000.00 with 9000.00 billed against it is refused, as apply_change_order refuses it",
     req([te("TE-9")], c=contract(ceiling={"amount": money("10000.00")}), ledger=nine,
         change_orders=[co(1, [{"type": "set_ceiling", "amount": money("5000.00")}])]),
     refused("CHANGES_CEILING_BELOW_BILLED", "/change_orders/0/changes/0"))
case(P, "ceiling-set-on-a-contract-without-one-applies",
     "set_ceiling 500.00 on a contract without a ceiling gives it one (fees, split): 8 h at 150.00 bills 500.00 and holds 700.00",
     req([te("TE-1")], change_orders=[co(1, [{"type": "set_ceiling", "amount": money("500.00")}])]),
     lambda p: (eq(lines(p), [("TE-1", "500.00")]), eq(held_full(p), [("TE-1", "ceiling_exceeded", "700.00", None)])))

# 8. Rate-card problems that validate refuses.
def card(entries, **kw):
    rc = {"entries": entries}
    rc.update(kw)
    return contract(rate_card=rc)
C150 = {"role": "Consultant", "rate": money("150.00"), "effective_from": "2026-01-01"}
case(P, "rate-entry-with-role-and-resource-is-refused", "a rate-card entry naming both a role and a resource is refused, as validate refuses it",
     req([te("TE-1")], c=card([dict(C150, resource_id="R-1")])), refused("RATES_ENTRY_TARGET", "/contract/rate_card/entries/0"))
case(P, "hours-per-day-over-24-is-refused", "hours_per_day of 25 is refused, not billed as 288.00",
     req([te("TE-1")], c=card([C150], hours_per_day="25")), refused("RATES_INVALID_HOURS_PER_DAY", "/contract/rate_card/hours_per_day"))
case(P, "hours-per-day-of-zero-is-refused", "hours_per_day of 0 is refused with its own code and path, not an overflow",
     req([te("TE-1")], c=card([C150], hours_per_day="0")), refused("RATES_INVALID_HOURS_PER_DAY", "/contract/rate_card/hours_per_day"))
case(P, "overlapping-rate-entries-are-refused", "a dated entry running into the start of the next one for the same role is refused",
     req([te("TE-1")], c=card([dict(C150, effective_to="2026-06-30"), dict(C150, rate=money("160.00"), effective_from="2026-03-01")])),
     refused("RATES_OVERLAPPING_ENTRIES", "/contract/rate_card/entries/0/effective_to"))
case(P, "rate-entry-ending-before-it-starts-is-refused", "an entry whose effective_to is before its effective_from is refused",
     req([te("TE-1")], c=card([dict(C150, effective_to="2025-12-31")])), refused("DOCUMENT_DATE_ORDER", "/contract/rate_card/entries/0/effective_to"))
case(P, "time-increment-of-zero-is-refused", "a time increment of 0 is refused, not ignored",
     req([te("TE-1")], c=contract(rounding={"time_increment": "0"})), refused("CONTRACT_INVALID_TIME_INCREMENT", "/contract/rounding/time_increment"))
case(P, "time-increment-over-a-day-is-refused", "a time increment of 25 hours is refused, not billed as 0 h",
     req([te("TE-1")], c=contract(rounding={"time_increment": "25"})), refused("CONTRACT_INVALID_TIME_INCREMENT", "/contract/rounding/time_increment"))

# 9. Change orders not validated.
case(P, "change-order-with-a-negative-rate-is-refused", "set_rate -5.00 is refused, not billed as -40.00",
     req([te("TE-1")], change_orders=[co(1, [set_rate("-5.00")])]), refused("RATES_NON_POSITIVE_RATE", "/change_orders/0/changes/0/rate/amount"))
case(P, "change-order-rate-in-another-currency-is-refused", "a rate of 165.00 EUR on a USD contract is refused, not billed in USD",
     req([te("TE-1")], change_orders=[co(1, [set_rate("165.00", currency="EUR")])]), refused("MONEY_CURRENCY_MISMATCH", "/change_orders/0/changes/0/rate/currency"))
case(P, "two-change-orders-with-one-sequence-are-refused", "two approved change orders with sequence 1 are refused; neither wins",
     req([te("TE-1")], change_orders=[co(1, [set_rate("165.00")]), dict(co(1, [set_rate("170.00")]), id="CO-1B")]),
     refused("CHANGES_DUPLICATE_SEQUENCE", "/change_orders/1/sequence"))
case(P, "change-order-sequence-gap-is-refused", "approved change orders 1 and 3 with no change order 2 are refused",
     req([te("TE-1")], change_orders=[co(1, [set_rate("165.00")]), co(3, [set_rate("170.00")])]),
     refused("CHANGES_OUT_OF_SEQUENCE", "/change_orders/1/sequence"))
case(P, "approved-change-order-waits-for-a-draft-before-it",
     "an approved change order 2 after a change order 1 still in draft is not in force: it waits for 1, and the run bills at 150.00",
     req([te("TE-1")], change_orders=[co(1, [set_rate("160.00")], status="draft"), co(2, [set_rate("165.00")])]),
     lambda p: (eq(p["contract_version"], 0), eq(lines(p), [("TE-1", "1200.00")])))
case(P, "change-order-of-another-contract-is-refused", "a change order amending another contract is refused, not ignored",
     req([te("TE-1")], change_orders=[dict(co(1, [set_rate("165.00")]), contract_id="C-2")]),
     refused("CHANGES_WRONG_CONTRACT", "/change_orders/0/contract_id"))
case(P, "change-order-for-an-unknown-role-is-refused", "a rate change for a role the card does not have is refused, not ignored",
     req([te("TE-1")], change_orders=[co(1, [set_rate("165.00", role="Janitor")])]),
     refused("CHANGES_UNKNOWN_TARGET", "/change_orders/0/changes/0/role"))

# 10. rate_before.
day_card = card([dict(C150), {"resource_id": "R-1", "rate": money("1400.00"), "unit": "day", "effective_from": "2026-01-01"}], hours_per_day="7.5")
case(P, "rate-before-is-the-day-rate-billed",
     "a day rate of 1400.00 re-priced to 1500.00: 6 h billed 1120.00 adjust by 80.00, with rate_before 1400.00, not 186.6667",
     req(c=day_card, ledger=ledger([bill("TE-1", "6", "1120.00", "1400.00", rate_source="rate_card:resource=R-1@2026-01-01")]),
         change_orders=[co(1, [set_rate("1500.00", resource_id="R-1", unit="day")], retroactive=True)]),
     lambda p: (eq(adjustments(p), [("TE-1", "CO-1", "80.00")]), eq(p["adjustments"][0]["rate_before"]["amount"], "1400.00"),
                eq(p["adjustments"][0]["rate_after"]["amount"], "1500.00")))

# 12. Zero credits.
case("record_credit", "zero-credit-is-refused", "a credit of 0.00 is refused: it would return the item to billing for nothing",
     {"ledger": ledger([L8]), "currency": "USD", "credits": [credit("TE-1", amount="0.00")]},
     refused("LEDGER_ZERO_CREDIT", "/credits/0"))

# --- Decisions where the prose was silent --------------------------------------------------------

case(P, "markup-change-orders-apply-by-expense-date-the-later-one-from-its-own-date",
     "markups are dated like rates: change order 1 sets 15 percent from 03-15, change order 2 (approved later) 20 percent from 03-01, replacing 1 from its own date: both expenses bill 120.00",
     req(expenses=[ex("EX-1", date="2026-03-05"), ex("EX-2", date="2026-03-20")], change_orders=[
         co(1, [{"type": "set_expense_markup", "markup_percent": "15"}], effective="2026-03-15"),
         co(2, [{"type": "set_expense_markup", "markup_percent": "20"}], effective="2026-03-01", approved="2026-03-21")]),
     lambda p: (eq(lines(p), [("EX-1", "120.00"), ("EX-2", "120.00")]), eq([l["contract_version"] for l in p["lines"]], [2, 2])))
case(P, "utilisation-rounds-down-and-shown-quantities-round-half-up",
     "200.00 of a 300.00 ceiling is 66.66 percent (rounded down: 100.00 only when used up); 5 h at a day rate of 7.5 h show 0.6667 day",
     req([te("TE-1", hours="5")], c=contract(ceiling={"amount": money("300.00")}, rate_card={"hours_per_day": "7.5", "entries": [
         {"role": "Consultant", "rate": money("300.00"), "unit": "day", "effective_from": "2026-01-01"}]})),
     lambda p: (eq(lines(p), [("TE-1", "200.00")]), eq(p["lines"][0]["quantity"], "0.6667"), eq(p["ceiling"]["utilisation_percent"], "66.66")))
case(P, "billed-status-with-a-credited-bill-is-billable",
     "an entry still marked billed whose bill was credited in full is billed again: the ledger knows it, and the credit returned it",
     req([te("TE-1", status="billed")], ledger=ledger([L8], [credit("TE-1", quantity="8")])),
     lambda p: eq(lines(p), [("TE-1", "1200.00")]))
case(P, "ledger-over-the-ceiling-leaves-nothing-remaining",
     "a ledger already billing 1200.00 against a 1000.00 ceiling leaves 0.00 remaining (never negative) at 120 percent, and holds new work",
     req([te("TE-2", hours="1")], c=contract(ceiling={"amount": money("1000.00")}), ledger=ledger([bill("TE-1", "8", "1200.00", against=True)])),
     lambda p: (eq(lines(p), []), eq(held_full(p), [("TE-2", "ceiling_exceeded", "150.00", None)]),
                eq(p["ceiling"]["remaining"]["amount"], "0.00"), eq(p["ceiling"]["utilisation_percent"], "120")))
case(P, "retainer-takes-back-a-negative-adjustment",
     "a retroactive cut from 200.00 to 190.00 on 40 h drawn from a 10000.00 retainer gives the retainer back 400.00: it has 2400.00 left and the invoice is 0.00",
     req(c=contract(billing_model="retainer", retainer={"amount": money("10000.00")}, rate_card={"entries": [
         {"role": "Consultant", "rate": money("200.00"), "effective_from": "2026-01-01"}]}),
         ledger=ledger([bill("TE-1", "40", "8000.00", "200.00")]),
         change_orders=[co(1, [set_rate("190.00")], retroactive=True)]),
     lambda p: (eq(adjustments(p), [("TE-1", "CO-1", "-400.00")]), eq(p["retainer"]["drawn_this_run"]["amount"], "-400.00"),
                eq(p["retainer"]["remaining"]["amount"], "2400.00"), eq(total(p), "0.00")))
case(P, "adjustment-names-the-retroactive-change-order-not-a-later-prospective-one",
     "change order 1 raises the rate to 165.00 retroactively, change order 2 to 180.00 prospectively: billed work is adjusted to 165.00 (120.00), naming change order 1",
     req(ledger=ledger([L8]), change_orders=[co(1, [set_rate("165.00")], retroactive=True), co(2, [set_rate("180.00")], approved="2026-03-21")]),
     lambda p: (eq(adjustments(p), [("TE-1", "CO-1", "120.00")]), eq(p["adjustments"][0]["contract_version"], 1)))
case(P, "adjustment-names-the-latest-retroactive-change-order",
     "change order 1 raises the rate to 165.00 prospectively, change order 2 to 170.00 retroactively: billed work is adjusted to 170.00 (160.00), naming change order 2",
     req(ledger=ledger([L8]), change_orders=[co(1, [set_rate("165.00")]), co(2, [set_rate("170.00")], retroactive=True, approved="2026-03-21")]),
     lambda p: (eq(adjustments(p), [("TE-1", "CO-2", "160.00")]), eq(p["adjustments"][0]["rate_source"], "change_order:CO-2")))
case(P, "repricing-reads-the-ledger-record-not-the-entry-as-sent-now",
     "billed Consultant time re-sent as Senior is re-priced as it was billed: the Consultant rise to 165.00 adjusts it by 120.00",
     req([te("TE-1", role="Senior")], ledger=ledger([L8]), change_orders=[co(1, [set_rate("165.00")], retroactive=True)]),
     lambda p: eq(adjustments(p), [("TE-1", "CO-1", "120.00")]))
case(P, "fx-rate-on-an-expense-in-the-contract-currency-is-refused",
     "an fx_rate of 1.1 on a USD expense of a USD contract is refused: the currency or the rate is wrong (1 is accepted)",
     req(expenses=[ex("EX-1", fx_rate="1"), ex("EX-2", fx_rate="1.1")]), refused("EXPENSE_INVALID_FX_RATE", "/expenses/1/fx_rate"))
case(P, "empty-milestones-list-bills-no-milestone",
     "milestones: [] bills no milestone, where leaving it out bills the contract's accepted ones",
     req(c=contract(billing_model="milestone", milestones=[{"id": "M-1", "name": "Go-live", "amount": money("5000.00"),
                                                             "due_date": "2026-03-15", "status": "accepted"}]), milestones=[]),
     lambda p: (eq(lines(p), []), eq(held(p), [])))
task_card = card([C150, {"role": "Consultant", "task_id": "T-1", "rate": money("170.00"), "effective_from": "2026-01-01"}])
case(P, "retroactive-end-rate-reprices-at-the-rate-behind-it",
     "ending the Consultant rate of task T-1 retroactively re-prices billed work at the Consultant rate behind it: 8 h x (150.00 - 170.00) = -160.00",
     req(c=task_card, ledger=ledger([bill("TE-1", "8", "1360.00", "170.00", rate_source="rate_card:role=Consultant,task=T-1@2026-01-01")]),
         change_orders=[co(1, [{"type": "end_rate", "role": "Consultant", "task_id": "T-1"}], retroactive=True)]),
     lambda p: eq(adjustments(p), [("TE-1", "CO-1", "-160.00")]))
case(P, "retroactive-end-rate-with-no-rate-behind-it-holds-the-adjustment",
     "ending the only Consultant rate retroactively leaves billed work without a rate: its adjustment is held as missing_rate, naming the change order, for a person to decide",
     req(ledger=ledger([L8]), change_orders=[co(1, [{"type": "end_rate", "role": "Consultant"}], retroactive=True)]),
     lambda p: (eq(adjustments(p), []), eq(held_full(p), [("TE-1", "missing_rate", None, "CO-1")])))
case(P, "amount-with-more-decimals-than-the-currency-is-refused",
     "a JPY milestone of 66700.9 is refused: an amount has no more decimals than its currency (rates may)",
     req(c=contract(currency="JPY", billing_model="milestone", rate_card={"entries": [
         {"role": "Consultant", "rate": money("15000.5", "JPY"), "effective_from": "2026-01-01"}]},
         milestones=[{"id": "M-1", "name": "Go-live", "amount": money("66700.9", "JPY"), "due_date": "2026-03-15", "status": "accepted"}])),
     refused("MONEY_INVALID_SCALE", "/contract/milestones/0/amount/amount"))
case(P, "expense-amount-with-more-decimals-than-the-currency-is-refused",
     "an expense of 12.345 USD is refused with its path", req(expenses=[ex("EX-1", "12.345")]),
     refused("MONEY_INVALID_SCALE", "/expenses/0/amount/amount"))
case(P, "retroactive-repricing-keeps-a-price-reduction",
     "8 h billed 1200.00 with a 100.00 price reduction (a credit of money and no hours) re-priced at 165.00: the adjustment is 120.00, the hours' change, and the reduction stays (not 220.00)",
     req(ledger=ledger([L8], [credit("TE-1", quantity="0", amount="100.00")]),
         change_orders=[co(1, [set_rate("165.00")], retroactive=True)]),
     lambda p: eq(adjustments(p), [("TE-1", "CO-1", "120.00")]))
case(P, "ledger-entry-without-a-role-is-read-only-when-a-change-order-could-reprice-it",
     "a bill written without a role on 2026-02-10 is not refused by a retroactive rise from 2026-03-01 (it cannot re-price that day); one from 2026-02-01 needs the role and is refused",
     req(ledger=ledger([without(bill("TE-0", "6", "900.00", date="2026-02-10"), "role")]),
         change_orders=[co(1, [set_rate("165.00")], retroactive=True)]),
     lambda p: eq(adjustments(p), []))
case(P, "ledger-entry-without-a-role-a-change-order-could-reprice-is-refused",
     "a bill written without a role on 2026-02-10, with a retroactive rise from 2026-02-01 and no time entry of that id in the run, is refused at its role",
     req(ledger=ledger([without(bill("TE-0", "6", "900.00", date="2026-02-10"), "role")]),
         change_orders=[co(1, [set_rate("165.00")], effective="2026-02-01", retroactive=True)]),
     refused("INPUT_MISSING_FIELD", "/ledger/entries/0/role"))

# Credits are frozen when recorded.
case("record_credit", "credit-is-recorded-with-both-sides",
     "a credit of 3 h of 8 h billed 1200.00 is recorded with its amount, 450.00, so later bills cannot change what it gave back",
     {"ledger": ledger([L8]), "currency": "USD", "credits": [credit("TE-1", quantity="3")]},
     lambda l: eq((l["credits"][0]["quantity"], l["credits"][0]["amount"]["amount"]), ("3", "450.00")))
case("record_credit", "all-hours-with-part-of-the-amount-is-refused",
     "a credit of all 8 h billed with 800.00 of the 1200.00 is refused: a credit of all of the quantity gives back all of the amount",
     {"ledger": ledger([L8]), "currency": "USD", "credits": [credit("TE-1", quantity="8", amount="800.00")]},
     refused("LEDGER_INVALID_CREDIT", "/credits/0"))
case("record_credit", "credit-with-more-decimals-than-the-currency-is-refused",
     "a credit of 10.005 USD is refused", {"ledger": ledger([L8]), "currency": "USD", "credits": [credit("TE-1", amount="10.005")]},
     refused("MONEY_INVALID_SCALE", "/credits/0/amount/amount"))
case("record_credit", "all-the-amount-for-part-of-the-hours-is-refused",
     "a credit of 4 h of 8 h billed with all of the 1200.00 is refused: the 4 h left would stay billed for nothing (a hair short of 8 h, left worth under half a cent, is accepted)",
     {"ledger": ledger([L8]), "currency": "USD", "credits": [credit("TE-1", quantity="4", amount="1200.00")]},
     refused("LEDGER_INVALID_CREDIT", "/credits/0"))
case("record_credit", "all-the-amount-for-a-hair-short-of-the-hours-is-accepted",
     "a credit of 7.99999 h of 8 h billed 1200.00 with all of the 1200.00 is accepted: the 0.00001 h left is worth under half a cent, and the next run bills it again",
     {"ledger": ledger([L8]), "currency": "USD", "credits": [credit("TE-1", quantity="7.99999", amount="1200.00")]},
     lambda l: eq((l["credits"][0]["quantity"], l["credits"][0]["amount"]["amount"]), ("7.99999", "1200.00")))
case("commit_invoice", "commit-writes-hand-credits-with-both-sides",
     "committing a run writes back a credit the ledger gave by amount only with the hours it gave back (4 h for 600.00 of 1200.00)",
     {"invoice_id": "INV-2", "run": req([te("TE-1")], ledger=ledger([L8], [credit("TE-1", amount="600.00")]))},
     lambda r: (eq(r["ledger"]["credits"][0]["quantity"], "4"), eq(lines(r["preview"]), [("TE-1", "600.00")])))

case(P, "two-change-orders-with-one-id-are-refused",
     "two change orders both named CO-1 are refused at the later one: a version, an adjustment and a held item name their change order by id",
     req([te("TE-1")], change_orders=[co(1, [set_rate("165.00")]), dict(co(2, [set_rate("170.00")]), id="CO-1")]),
     refused("DOCUMENT_DUPLICATE_ID", "/change_orders/1/id"))

case("commit_invoice", "adjustment-is-recorded-as-the-item-was-billed",
     "billed Consultant time re-sent as Senior: the Consultant rise to 165.00 adjusts it by 120.00, and committing records the adjustment as Consultant time, what priced it",
     {"invoice_id": "INV-2", "run": req([te("TE-1", role="Senior")], ledger=ledger([L8]),
                                        change_orders=[co(1, [set_rate("165.00")], retroactive=True)])},
     lambda r: eq([(e["item_id"], e["amount"]["amount"], e["role"]) for e in r["ledger"]["entries"] if e["invoice_id"] == "INV-2"],
                  [("TE-1", "120.00", "Consultant")]))

day_card = card([C150, {"resource_id": "R-1", "rate": money("1400.00"), "unit": "day", "effective_from": "2026-01-01"}], hours_per_day="7.5")
case(P, "a-day-rate-become-the-same-figure-an-hour-adjusts-billed-work",
     "6 h billed at 1400.00 a day (7.5 h a day: 1120.00) re-priced retroactively at 1400.00 an hour are adjusted by 7280.00: the same figure in another unit is a new rate",
     req(c=day_card, ledger=ledger([bill("TE-1", "6", "1120.00", "1400.00", rate_source="rate_card:resource=R-1@2026-01-01")]),
         change_orders=[co(1, [{"type": "set_rate", "resource_id": "R-1", "rate": money("1400.00"), "unit": "hour"}], retroactive=True)]),
     lambda p: eq(adjustments(p), [("TE-1", "CO-1", "7280.00")]))

# --- apply_change_order lists adjustments by the billing run's rule ----------------------------
A = "apply_change_order"
counters[A] = 27


def change_case(slug, description, request, check):
    case(A, slug, description, request, check, area="changes")


change_case("retroactive-adjustment-keeps-a-price-reduction",
            "8 h billed 1200.00 with a 100.00 price reduction: a retroactive rise to 165.00 lists billed_amount 1200.00 and an adjustment of 120.00, as the billing run bills it",
            {"contract": contract(), "change_order": co(1, [set_rate("165.00")], retroactive=True),
             "ledger": ledger([L8], [credit("TE-1", quantity="0", amount="100.00")])},
            lambda r: eq([(a["item_id"], a["billed_amount"]["amount"], a["adjustment"]["amount"]) for a in r["adjustments"]],
                         [("TE-1", "1200.00", "120.00")]))
change_case("change-orders-with-one-id-are-refused",
            "applying a change order named CO-1 to a contract that CO-1 already amended is refused: a version, an adjustment and a milestone name their change order by id",
            {"contract": contract(), "change_order": dict(co(2, [set_rate("170.00")]), id="CO-1"),
             "change_orders": [co(1, [set_rate("165.00")])]},
            refused("DOCUMENT_DUPLICATE_ID", "/change_order/id"))

ff = contract(billing_model="fixed_fee", fixed_fee=money("10000.00"), milestones=[
    {"id": "M-1", "name": "Design", "percent": "60", "due_date": "2026-03-15", "status": "pending"}])
change_case("added-milestone-is-checked-as-the-contracts-own-are",
            "a change order adding a milestone of 100.005 USD is refused with MONEY_INVALID_SCALE at its amount, as the contract's own milestone would be",
            {"contract": contract(billing_model="milestone"), "change_order": co(1, [{"type": "add_milestone", "milestone": {
                "id": "M-9", "name": "Extra", "amount": money("100.005"), "due_date": "2026-04-30", "status": "pending"}}])},
            refused("MONEY_INVALID_SCALE", "/change_order/changes/0/milestone/amount/amount"))
change_case("added-milestone-percents-may-not-pass-100",
            "a fixed fee with 60 percent in milestones cannot gain one of 50 percent: milestone percents add up to at most 100",
            {"contract": ff, "change_order": co(1, [{"type": "add_milestone", "milestone": {
                "id": "M-2", "name": "Go-live", "percent": "50", "due_date": "2026-06-30", "status": "pending"}}])},
            refused("DOCUMENT_INVALID_PERCENT", "/change_order/changes/0/milestone/percent"))

# --- The engine: credits frozen, voids that would over-bill, zero credits ------------------------
E = "engine_replay"
counters[E] = 49


def engine_case(slug, description, request, check):
    case(E, slug, description, dict(request, return_snapshot=False), check, area="engine")


def rate_change(rate, retroactive):
    return [env("co", "crm", {"type": "change_order.recorded", "change_order": {
                "schema_version": 1, "id": "CO-1", "contract_id": "CTR-1", "sequence": 1, "status": "submitted",
                "effective_date": "2026-01-01", "retroactive": retroactive,
                "changes": [{"type": "set_rate", "role": "Developer", "rate": money(rate)}]}}),
            lifecycle("co-ok", "crm", "change_order.approved", "CO-1")]


engine_case("credit-note-is-frozen-so-invoices-and-ledger-agree",
            "8 h billed at 100.00, 3 h credited (300.00), then re-billed at 200.00: the invoices say 500.00 + 600.00 and the ledger bills 1100.00 against the ceiling, not 1018.18",
            {"envelopes": engine_setup() + [
                drafted("inv1", "INV-1", "2026-02-01"), lifecycle("ap1", "erp", "invoice.approved", "INV-1"),
                lifecycle("po1", "erp", "invoice.posted", "INV-1"),
                env("cn", "erp", {"type": "credit_note.issued", "credit_note_id": "CN-1", "invoice_id": "INV-1",
                                  "lines": [{"kind": "time", "item_id": "TE-1", "quantity": "3"}]})]
             + rate_change("200.00", False) + [drafted("inv2", "INV-2", "2026-02-15")],
             "preview": {"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-20"}},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], []),
                       eq(r["preview"]["ceiling"]["billed_before"]["amount"], "1100.00"),
                       eq([(l["source_ids"][0], l["amount"]["amount"]) for l in r["preview"]["lines"]], [])))
engine_case("invoice-adjusted-by-a-later-invoice-cannot-be-voided-first",
            "INV-1 bills 8 h at 100.00; a retroactive rise to 120.00 puts a 160.00 adjustment on INV-2; voiding INV-1 first is refused (it would leave INV-2's adjustment and bill the 8 h again: 1120.00 for 960.00 of work); voiding INV-2 then INV-1 is accepted and INV-3 bills 960.00",
            {"envelopes": engine_setup() + [drafted("inv1", "INV-1", "2026-02-01")] + rate_change("120.00", True) + [
                drafted("inv2", "INV-2", "2026-02-15"), lifecycle("void1", "erp", "invoice.voided", "INV-1"),
                lifecycle("void2", "erp", "invoice.voided", "INV-2"), lifecycle("void1b", "erp", "invoice.voided", "INV-1"),
                drafted("inv3", "INV-3", "2026-02-20")],
             "preview": {"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-25"}},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], [("void1", "rejected", "LEDGER_ADJUSTED_LATER")]),
                       eq(r["preview"]["ceiling"]["billed_before"]["amount"], "960.00")))
engine_case("zero-credit-note-is-rejected-and-the-entry-stays-billed",
            "a credit note giving back 0.00 is rejected with LEDGER_ZERO_CREDIT: it would return the entry to approved and unlock it for nothing",
            {"envelopes": engine_setup() + [
                drafted("inv1", "INV-1", "2026-02-01"), lifecycle("ap1", "erp", "invoice.approved", "INV-1"),
                lifecycle("po1", "erp", "invoice.posted", "INV-1"),
                env("cn", "erp", {"type": "credit_note.issued", "credit_note_id": "CN-1", "invoice_id": "INV-1",
                                  "lines": [{"kind": "time", "item_id": "TE-1", "amount": money("0.00")}]})],
             "return_state": True},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], [("cn", "rejected", "LEDGER_ZERO_CREDIT")]),
                       eq(r["state"]["time_entries"]["TE-1"]["status"], "billed")))

engine_case("credit-note-by-hours-gives-back-the-invoices-own-price",
            "20 h: INV-1 bills 15 h at 100.00 up to the 1500.00 ceiling; a change order raises the rate to 120.00 and the ceiling; INV-2 bills the other 5 h at 120.00. A credit note of 5 h on INV-1 gives back 500.00, INV-1's price, not 525.00 at the item's average",
            {"envelopes": engine_setup("20", ceiling="1500.00") + [drafted("inv1", "INV-1", "2026-02-01"),
                env("co", "crm", {"type": "change_order.recorded", "change_order": {
                    "schema_version": 1, "id": "CO-1", "contract_id": "CTR-1", "sequence": 1, "status": "submitted",
                    "effective_date": "2026-01-01", "retroactive": False,
                    "changes": [{"type": "set_rate", "role": "Developer", "rate": money("120.00")},
                                {"type": "set_ceiling", "amount": money("10000.00")}]}}),
                lifecycle("co-ok", "crm", "change_order.approved", "CO-1"),
                drafted("inv2", "INV-2", "2026-02-10"),
                lifecycle("ap1", "erp", "invoice.approved", "INV-1"), lifecycle("po1", "erp", "invoice.posted", "INV-1"),
                env("cn", "erp", {"type": "credit_note.issued", "credit_note_id": "CN-1", "invoice_id": "INV-1",
                                  "lines": [{"kind": "time", "item_id": "TE-1", "quantity": "5"}]})],
             "return_state": True},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], []),
                       eq([(c["quantity"], c["amount"]["amount"]) for c in r["state"]["ledger"]["credits"]], [("5", "500.00")])))
engine_case("invoice-whose-later-adjustment-is-credited-can-be-voided",
            "INV-1 bills 8 h at 100.00; a retroactive rise to 120.00 puts a 160.00 adjustment on INV-2; once INV-2 is posted and its 160.00 credited, voiding INV-1 is accepted, TE-1 is approved again and INV-3 bills 960.00",
            {"envelopes": engine_setup() + [drafted("inv1", "INV-1", "2026-02-01")] + rate_change("120.00", True) + [
                drafted("inv2", "INV-2", "2026-02-15"), lifecycle("ap2", "erp", "invoice.approved", "INV-2"),
                lifecycle("po2", "erp", "invoice.posted", "INV-2"),
                env("cn", "erp", {"type": "credit_note.issued", "credit_note_id": "CN-1", "invoice_id": "INV-2",
                                  "lines": [{"kind": "time", "item_id": "TE-1", "amount": money("160.00")}]}),
                lifecycle("void1", "erp", "invoice.voided", "INV-1"),
                drafted("inv3", "INV-3", "2026-02-20")],
             "preview": {"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-25"},
             "return_state": True},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], []),
                       eq(r["state"]["invoices"]["INV-3"]["total"]["amount"], "960.00"),
                       eq(r["preview"]["ceiling"]["billed_before"]["amount"], "960.00")))
def co_env(key, seq, changes, status="submitted"):
    return env(key, "crm", {"type": "change_order.recorded", "change_order": {
        "schema_version": 1, "id": f"CO-{seq}", "contract_id": "CTR-1", "sequence": seq, "status": status,
        "effective_date": "2026-01-01", "retroactive": False, "changes": changes}})


engine_case("change-order-removing-a-milestone-an-earlier-one-added-is-recorded",
            "change order 1 adds milestone M-2 and is approved; change order 2, removing M-2, is recorded and approved (the contract as signed has no M-2, the contract as amended does), and M-2 leaves the engine",
            {"envelopes": engine_setup() + [
                co_env("co1", 1, [{"type": "add_milestone", "milestone": {"id": "M-2", "name": "Extra", "amount": money("500.00"),
                                                                          "due_date": "2026-02-15", "status": "pending"}}]),
                lifecycle("co1-ok", "crm", "change_order.approved", "CO-1"),
                co_env("co2", 2, [{"type": "remove_milestone", "milestone_id": "M-2"}]),
                lifecycle("co2-ok", "crm", "change_order.approved", "CO-2")],
             "return_state": True},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], []),
                       eq(sorted(r["state"].get("milestones", {}).keys()), [])))
def posted(key, inv, as_of):
    return [drafted(key, inv, as_of), lifecycle(key + "-ap", "erp", "invoice.approved", inv),
            lifecycle(key + "-po", "erp", "invoice.posted", inv)]


def credit_note(key, note, inv, **line):
    return env(key, "erp", {"type": "credit_note.issued", "credit_note_id": note, "invoice_id": inv,
                            "lines": [dict({"kind": "time", "item_id": "TE-1"}, **line)]})


def credits_of(r):
    return [(c["credit_note_id"], c["quantity"], c["amount"]["amount"], c["ceiling_share"]["amount"])
            for c in r["state"]["ledger"]["credits"]]


engine_case("credit-note-by-hours-on-an-invoice-carrying-an-adjustment-gives-the-items-price",
            "8 h billed at 100.00 on INV-1, 3 h credited; a retroactive rise to 120.00: INV-2 bills the 3 h (360.00) and adjusts the other 5 h (100.00). A credit note of 3 h on INV-2 gives back 360.00, the item's price now, not 460.00 at INV-2's own average; INV-3 bills them again and the item nets 960.00, 8 h at 120.00",
            {"envelopes": engine_setup() + posted("inv1", "INV-1", "2026-02-01") + [
                credit_note("cn1", "CN-1", "INV-1", quantity="3")] + rate_change("120.00", True)
                + posted("inv2", "INV-2", "2026-02-10") + [credit_note("cn2", "CN-2", "INV-2", quantity="3"),
                                                           drafted("inv3", "INV-3", "2026-02-20")],
             "preview": {"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-25"},
             "return_state": True},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], []),
                       eq(credits_of(r), [("CN-1", "3", "300.00", "300.00"), ("CN-2", "3", "360.00", "360.00")]),
                       eq(r["state"]["invoices"]["INV-3"]["total"]["amount"], "360.00"),
                       eq(r["preview"]["lines"], [])))
engine_case("credit-note-on-an-invoice-billed-before-the-ceiling-frees-no-ceiling",
            "10 h billed on INV-1 before the contract had a ceiling, 5 h credited; a ceiling of 1500.00 is set and INV-2 bills those 5 h and 5 h more against it (1000.00). A credit note of INV-1's other 5 h gives back 500.00 and none of the ceiling: INV-1 billed nothing against it",
            {"envelopes": engine_setup("10", ceiling=None) + posted("inv1", "INV-1", "2026-02-01") + [
                credit_note("cn1", "CN-1", "INV-1", quantity="5"),
                co_env("co1", 1, [{"type": "set_ceiling", "amount": money("1500.00")}]),
                lifecycle("co1-ok", "crm", "change_order.approved", "CO-1"),
                env("te2", "psa", {"type": "time_entry.recorded", "time_entry": {
                    "id": "TE-2", "project_id": "PRJ-1", "task_id": "T-1", "resource_id": "R-1", "role": "Developer",
                    "work_date": "2026-01-13", "hours": "5", "status": "approved"}})]
                + posted("inv2", "INV-2", "2026-02-10") + [credit_note("cn2", "CN-2", "INV-1", quantity="5")],
             "preview": {"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-25"},
             "return_state": True},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], []),
                       eq(credits_of(r), [("CN-1", "5", "500.00", "0.00"), ("CN-2", "5", "500.00", "0.00")]),
                       eq(r["preview"]["ceiling"]["billed_before"]["amount"], "1000.00")))
engine_case("invoice-can-be-credited-in-full-once-a-later-adjustment-is-credited",
            "15 h: INV-1 bills 10 h at 100.00 up to a 1000.00 ceiling; a retroactive rise to 120.00 with a higher ceiling: INV-2 bills 5 h (600.00) and adjusts INV-1's 10 h (200.00). Once INV-2's adjustment is credited (200.00, no hours), INV-1's 10 h can be credited in full at its own 1000.00",
            {"envelopes": engine_setup("15", ceiling="1000.00") + [drafted("inv1", "INV-1", "2026-02-01"),
                co_env("co1", 1, [{"type": "set_rate", "role": "Developer", "rate": money("120.00")},
                                  {"type": "set_ceiling", "amount": money("10000.00")}]),
                lifecycle("co1-ok", "crm", "change_order.approved", "CO-1")]
                + [drafted("inv2", "INV-2", "2026-02-10"),
                   lifecycle("ap1", "erp", "invoice.approved", "INV-1"), lifecycle("po1", "erp", "invoice.posted", "INV-1"),
                   lifecycle("ap2", "erp", "invoice.approved", "INV-2"), lifecycle("po2", "erp", "invoice.posted", "INV-2"),
                   credit_note("cna", "CN-A", "INV-2", quantity="0", amount=money("200.00")),
                   credit_note("cnb", "CN-B", "INV-1", quantity="10")],
             "return_state": True},
            lambda r: (eq([s for s in statuses(r) if s[1] != "applied"], []),
                       eq([c[:3] for c in credits_of(r)], [("CN-A", "0", "200.00"), ("CN-B", "10", "1000.00")])))
print(counters, "cases written")
