"""Writes spec/cases/machines/{transition,describe_machines}/*.json from the inputs below, taking each
expectation from the current CLI. Run once, then read every expectation against
spec/domain/lifecycles.md: a case is only as good as its review.

Usage: python3 scripts/make_machine_cases.py [path/to/billwise]"""
import json, shutil, subprocess, sys, pathlib

root = pathlib.Path(__file__).resolve().parent.parent
bw = sys.argv[1] if len(sys.argv) > 1 else str(root / "target" / "debug" / "billwise")
cases_root = root / "spec" / "cases" / "machines"


def run(op, request):
    p = subprocess.run([bw, "run", op, "-"], input=json.dumps(request).encode(), capture_output=True)
    out = json.loads(p.stdout)
    if "error" in out:
        e = out["error"]
        expect = {"error": {"code": e["code"]}}
        if e.get("path"):
            expect["error"]["path"] = e["path"]
        return expect
    return {"result": out}


groups = {"transition": [], "describe_machines": []}


def case(op, slug, description, request):
    groups[op].append((slug, description, request))


def tr(slug, description, machine, state, event, source, **context):
    req = {"machine": machine, "state": state, "event": event, "source": source}
    if context:
        req["context"] = context
    case("transition", slug, description, req)


# One case per transition of every machine, in the order the machines declare them.

# Opportunity.
tr("opportunity-prospecting-qualify", "a prospect the CRM qualifies moves to qualification", "opportunity", "prospecting", "qualify", "crm")
tr("opportunity-qualification-propose", "sending a proposal moves a qualified opportunity to proposal", "opportunity", "qualification", "propose", "crm")
tr("opportunity-proposal-negotiate", "negotiating terms moves a proposal to negotiation", "opportunity", "proposal", "negotiate", "crm")
tr("opportunity-proposal-win", "a proposal accepted as sent is won and starts the activation gate", "opportunity", "proposal", "win", "crm")
tr("opportunity-negotiation-win", "a negotiated opportunity is won and starts the activation gate", "opportunity", "negotiation", "win", "crm")
tr("opportunity-prospecting-lose", "a prospect can be lost", "opportunity", "prospecting", "lose", "crm")
tr("opportunity-qualification-lose", "a qualified opportunity can be lost", "opportunity", "qualification", "lose", "crm")
tr("opportunity-proposal-lose", "an opportunity can be lost at proposal", "opportunity", "proposal", "lose", "crm")
tr("opportunity-negotiation-lose", "an opportunity can be lost in negotiation", "opportunity", "negotiation", "lose", "crm")
tr("opportunity-qualification-revert", "a qualified opportunity goes back to prospecting", "opportunity", "qualification", "revert", "crm")
tr("opportunity-proposal-revert", "a proposal goes back to qualification", "opportunity", "proposal", "revert", "crm")
tr("opportunity-negotiation-revert", "a negotiation goes back to proposal (a new proposal is needed)", "opportunity", "negotiation", "revert", "crm")
tr("opportunity-closed-lost-reopen", "a lost opportunity can be reopened as a prospect", "opportunity", "closed_lost", "reopen", "crm")

# Project.
tr("project-planned-activate", "activating a planned project makes its approved work billable", "project", "planned", "activate", "psa")
tr("project-active-hold", "putting an active project on hold holds its work from billing", "project", "active", "hold", "psa")
tr("project-on-hold-resume", "resuming a project on hold makes its work billable again", "project", "on_hold", "resume", "psa")
tr("project-active-complete", "an active project is completed; completed projects still bill", "project", "active", "complete", "psa")
tr("project-completed-close", "a completed project with nothing left to bill is closed", "project", "completed", "close", "psa", unbilled_items=0)

# Time entry and expense: the same lifecycle.
for m, noun in (("time_entry", "time entry"), ("expense", "expense")):
    slug = m.replace("_", "-")
    tr(f"{slug}-draft-submit", f"a draft {noun} is submitted for approval", m, "draft", "submit", "psa")
    tr(f"{slug}-submitted-approve", f"an approved {noun} becomes eligible for billing", m, "submitted", "approve", "psa")
    tr(f"{slug}-submitted-reject", f"the approver rejects a submitted {noun}", m, "submitted", "reject", "psa")
    tr(f"{slug}-rejected-submit", f"a rejected {noun} is corrected and resubmitted", m, "rejected", "submit", "psa")
    tr(f"{slug}-approved-recall-before-billing", f"an approved {noun} not yet billed is recalled to submitted and leaves billing", m, "approved", "recall", "psa", billed=False)
    tr(f"{slug}-approved-bill", f"a committed billing run marks an approved {noun} billed", m, "approved", "bill", "billing")
    tr(f"{slug}-billed-credit-issued", f"a credit note returns a billed {noun} to approved so what it gives back is billable again",
       m, "billed", "credit_issued", "erp" if m == "time_entry" else "billing")

# Milestone.
tr("milestone-pending-complete", "delivery marks a pending milestone completed", "milestone", "pending", "complete", "psa")
tr("milestone-completed-accept", "an accepted milestone becomes eligible for billing", "milestone", "completed", "accept", "psa")
tr("milestone-completed-reject", "the customer rejects a completed milestone", "milestone", "completed", "reject", "psa")
tr("milestone-rejected-reopen", "a rejected milestone goes back to pending", "milestone", "rejected", "reopen", "psa")
tr("milestone-accepted-bill", "a committed billing run marks an accepted milestone billed", "milestone", "accepted", "bill", "billing")
tr("milestone-billed-credit-issued", "a credit note returns a billed milestone to accepted", "milestone", "billed", "credit_issued", "erp")

# Change order.
tr("change-order-draft-submit", "a draft change order is submitted to the customer", "change_order", "draft", "submit", "crm")
tr("change-order-submitted-approve", "the CRM records the change order's approval", "change_order", "submitted", "approve", "crm")
tr("change-order-submitted-reject", "the customer rejects a submitted change order", "change_order", "submitted", "reject", "crm")
tr("change-order-approved-apply-next-in-sequence", "approved change order 2 after 1 is applied and makes a new contract version",
   "change_order", "approved", "apply", "erp", sequence=2, last_applied_sequence=1)
tr("change-order-draft-withdraw", "a draft change order is withdrawn", "change_order", "draft", "withdraw", "psa")
tr("change-order-submitted-withdraw", "a submitted change order is withdrawn", "change_order", "submitted", "withdraw", "crm")
tr("change-order-approved-withdraw", "an approved change order not yet applied is withdrawn", "change_order", "approved", "withdraw", "crm")

# Invoice.
tr("invoice-draft-approve", "the ERP approves a draft invoice", "invoice", "draft", "approve", "erp")
tr("invoice-approved-post", "posting an approved invoice opens a receivable", "invoice", "approved", "post", "erp")
tr("invoice-draft-void", "voiding a draft invoice releases its items to billing", "invoice", "draft", "void", "erp")
tr("invoice-approved-void", "voiding an approved, unposted invoice releases its items", "invoice", "approved", "void", "erp")
tr("invoice-posted-partial-payment", "a payment leaving 250.00 open makes a posted invoice partially paid",
   "invoice", "posted", "payment_received", "billing", balance_after="250.00")
tr("invoice-posted-full-payment", "a payment settling the balance makes a posted invoice paid and closes the receivable",
   "invoice", "posted", "payment_received", "billing", balance_after="0.00")
tr("invoice-partially-paid-further-payment", "a further payment leaving 100.00 open keeps the invoice partially paid",
   "invoice", "partially_paid", "payment_received", "billing", balance_after="100.00")
tr("invoice-partially-paid-final-payment", "the final payment makes a partially paid invoice paid",
   "invoice", "partially_paid", "payment_received", "billing", balance_after="0")
tr("invoice-posted-dispute", "a disputed invoice pauses collection", "invoice", "posted", "dispute", "billing")
tr("invoice-disputed-resolve", "a resolved dispute returns the invoice to posted and resumes collection", "invoice", "disputed", "resolve_dispute", "erp")
tr("invoice-posted-partial-credit", "a credit note for part of a posted invoice leaves it posted with the rest open",
   "invoice", "posted", "credit_issued", "erp", balance_after="1200.00")
tr("invoice-posted-full-credit", "a credit note for the whole open balance reverses a posted invoice in full",
   "invoice", "posted", "credit_issued", "erp", balance_after="0.00")
tr("invoice-partially-paid-partial-credit", "a credit note on a partially paid invoice that leaves a balance keeps it partially paid",
   "invoice", "partially_paid", "credit_issued", "erp", balance_after="40.00")
tr("invoice-partially-paid-credit-settles", "a credit note for the rest of a partially paid invoice settles it as paid",
   "invoice", "partially_paid", "credit_issued", "erp", balance_after="0.00")
tr("invoice-disputed-partial-credit", "a partial credit on a disputed invoice leaves the dispute open",
   "invoice", "disputed", "credit_issued", "erp", balance_after="500.00")
tr("invoice-disputed-full-credit", "a full credit settles a disputed invoice as credited",
   "invoice", "disputed", "credit_issued", "erp", balance_after="0.00")

# More accepted transitions worth pinning.
tr("change-order-first-applied-after-none", "the first change order (sequence 1) applies to a contract with none applied",
   "change_order", "approved", "apply", "erp", sequence=1, last_applied_sequence=0)
tr("time-entry-credit-issued-by-billing", "the billing platform may also issue the credit that returns a billed entry",
   "time_entry", "billed", "credit_issued", "billing")
tr("time-entry-unrelated-context-is-ignored", "facts a transition's guards do not read change nothing",
   "time_entry", "draft", "submit", "psa", balance_after="10.00", unbilled_items=3)

# Rejections: not in the machine.
tr("reject-time-entry-billed-recall", "a billed entry cannot be recalled; only a credit returns it", "time_entry", "billed", "recall", "psa", billed=True)
tr("reject-time-entry-draft-approve", "a draft entry cannot be approved before it is submitted", "time_entry", "draft", "approve", "psa")
tr("reject-expense-rejected-approve", "a rejected expense must be resubmitted before approval", "expense", "rejected", "approve", "psa")
tr("reject-expense-submitted-bill", "an expense that is only submitted cannot be billed", "expense", "submitted", "bill", "billing")
tr("reject-milestone-pending-bill", "a milestone not accepted cannot be billed", "milestone", "pending", "bill", "billing")
tr("reject-milestone-completed-bill", "a completed but unaccepted milestone cannot be billed", "milestone", "completed", "bill", "billing")
tr("reject-invoice-draft-post", "a draft invoice must be approved before it is posted", "invoice", "draft", "post", "erp")
tr("reject-invoice-posted-void", "a posted invoice cannot be voided; only a credit note reverses it", "invoice", "posted", "void", "erp")
tr("reject-invoice-paid-credit", "a paid invoice is terminal: no event is accepted", "invoice", "paid", "credit_issued", "erp", balance_after="0")
tr("reject-invoice-disputed-payment", "no payment is applied while an invoice is disputed", "invoice", "disputed", "payment_received", "billing", balance_after="0")
tr("reject-invoice-draft-credit", "a credit note cannot reverse an invoice that was never posted", "invoice", "draft", "credit_issued", "erp", balance_after="0")
tr("reject-change-order-submitted-apply", "only an approved change order can be applied", "change_order", "submitted", "apply", "erp", sequence=1, last_applied_sequence=0)
tr("reject-change-order-applied-withdraw", "an applied change order is terminal", "change_order", "applied", "withdraw", "crm")
tr("reject-change-order-rejected-approve", "a rejected change order cannot be approved", "change_order", "rejected", "approve", "crm")
tr("reject-project-on-hold-complete", "a project on hold must resume before it completes", "project", "on_hold", "complete", "psa")
tr("reject-project-planned-close", "a planned project cannot be closed without being delivered", "project", "planned", "close", "psa", unbilled_items=0)
tr("reject-opportunity-closed-won-lose", "a won opportunity is terminal", "opportunity", "closed_won", "lose", "crm")
tr("reject-opportunity-prospecting-win", "a prospect cannot be won without a proposal", "opportunity", "prospecting", "win", "crm")

# Rejections: the sender may not send the event.
tr("reject-time-entry-approve-from-erp", "only the PSA approves time", "time_entry", "submitted", "approve", "erp")
tr("reject-time-entry-bill-from-psa", "the PSA cannot mark time billed; a billing run does", "time_entry", "approved", "bill", "psa")
tr("reject-milestone-accept-from-crm", "milestone acceptance is recorded in the PSA, not the CRM", "milestone", "completed", "accept", "crm")
tr("reject-invoice-payment-from-erp", "payments come from the billing platform", "invoice", "posted", "payment_received", "erp", balance_after="0")
tr("reject-invoice-credit-from-billing", "credit notes on invoices are ERP documents", "invoice", "posted", "credit_issued", "billing", balance_after="0")
tr("reject-change-order-apply-from-crm", "the ERP applies change orders to the contract", "change_order", "approved", "apply", "crm", sequence=1, last_applied_sequence=0)
tr("reject-opportunity-win-from-netsuite", "a system the machine does not name may not send any event", "opportunity", "negotiation", "win", "netsuite_eu")

# Rejections: a guard failed.
tr("reject-time-entry-recall-after-billing", "an approved entry already on an invoice cannot be recalled", "time_entry", "approved", "recall", "psa", billed=True)
tr("reject-expense-recall-without-billed-fact", "recall needs the `billed` fact; without it the guard fails", "expense", "approved", "recall", "psa")
tr("reject-invoice-overpayment", "a payment leaving a negative balance fails both balance guards", "invoice", "posted", "payment_received", "billing", balance_after="-10.00")
tr("reject-invoice-payment-without-balance", "a payment needs `balance_after` to choose partially paid or paid", "invoice", "partially_paid", "payment_received", "billing")
tr("reject-invoice-credit-more-than-open", "a credit note larger than the open balance is refused", "invoice", "posted", "credit_issued", "erp", balance_after="-0.01")
tr("reject-change-order-out-of-sequence", "change order 3 cannot be applied when only 1 is applied", "change_order", "approved", "apply", "erp", sequence=3, last_applied_sequence=1)
tr("reject-change-order-already-applied-sequence", "a sequence number at or below the last applied one is out of sequence", "change_order", "approved", "apply", "erp", sequence=1, last_applied_sequence=1)
tr("reject-change-order-apply-without-last-applied", "apply needs `last_applied_sequence`", "change_order", "approved", "apply", "erp", sequence=1)
tr("reject-project-close-with-unbilled-work", "a project with 3 approved items still unbilled cannot be closed", "project", "completed", "close", "psa", unbilled_items=3)

# Input errors.
case("transition", "error-unknown-machine", "an unknown machine name is an input error at /machine",
     {"machine": "timesheet", "state": "draft", "event": "submit", "source": "psa"})
case("transition", "error-unknown-state", "a state the machine does not have is an input error at /state",
     {"machine": "time_entry", "state": "posted", "event": "submit", "source": "psa"})
case("transition", "error-unknown-event", "an event the machine does not have is an input error at /event",
     {"machine": "invoice", "state": "posted", "event": "pay", "source": "billing"})
case("transition", "error-invalid-source", "a source that is not a lowercase system name is an input error",
     {"machine": "invoice", "state": "draft", "event": "approve", "source": "ERP"})
case("transition", "error-unknown-context-field", "an unknown guard fact is refused, not ignored",
     {"machine": "time_entry", "state": "approved", "event": "recall", "source": "psa", "context": {"is_billed": False}})
case("transition", "error-balance-as-json-number", "balance_after must be a decimal string, not a JSON number",
     {"machine": "invoice", "state": "posted", "event": "payment_received", "source": "billing", "context": {"balance_after": 0.1}})
case("transition", "error-missing-source", "the source system is required",
     {"machine": "project", "state": "planned", "event": "activate"})
case("transition", "error-unsupported-schema-version", "schema version 2 is not supported",
     {"schema_version": 2, "machine": "project", "state": "planned", "event": "activate", "source": "psa"})

# describe_machines.
case("describe_machines", "all-machines", "every machine, in a fixed order", {})
case("describe_machines", "time-entry", "the time entry machine: states, events and senders, guards, effects, transitions", {"machine": "time_entry"})
case("describe_machines", "invoice", "the invoice machine, with credit notes and payment guards", {"machine": "invoice"})
case("describe_machines", "change-order", "the change order machine", {"machine": "change_order"})
case("describe_machines", "error-unknown-machine", "an unknown machine name is an input error", {"machine": "contract"})
case("describe_machines", "error-unknown-field", "an unknown request field is refused", {"machines": ["invoice"]})

for op, items in groups.items():
    d = cases_root / op
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for i, (slug, description, request) in enumerate(items, start=1):
        cid = f"machines/{op}/{i:03d}-{slug}"
        doc = {"id": cid, "op": op, "description": description, "input": request, "expect": run(op, request)}
        (cases_root / op / f"{i:03d}-{slug}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} cases to {d.relative_to(root)}")
