"""Writes the cases of "invalid input never enters state": each states by hand the figures that
matter, and the script refuses to write a case whose computed result disagrees with them.
Numbering continues the cases of each operation.

Usage: python3 scripts/make_input_cases.py   (after `cargo build -p billwise-cli`)"""
import pathlib, sys
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from billing_cases_lib import *  # noqa: F401,F403
from billing_cases_lib import counters

E = "engine_replay"
counters[E] = 58


def engine_case(slug, description, request, check):
    case(E, slug, description, dict(request, return_snapshot=False), check, area="engine")


def time_entry(id, hours="8", role="Developer", key=None, **kw):
    t = {"id": id, "project_id": "PRJ-1", "task_id": "T-1", "resource_id": "R-1", "role": role,
         "work_date": "2026-01-12", "hours": hours, "status": "approved"}
    t.update(kw)
    return env(key or "rec-" + id, "psa", {"type": "time_entry.recorded", "time_entry": t})


def rejection(r, key):
    o = next(o for o in r["outcomes"] if o["idempotency_key"] == key)
    return o["rejection"]


def problems(r, key):
    return [(p["code"], p["path"]) for p in rejection(r, key).get("problems", [])]


JAN = {"period": {"start": "2026-01-01", "end": "2026-01-31"}, "as_of": "2026-02-01"}

engine_case("invalid-time-entry-is-rejected-with-every-problem",
            "a time entry of -3 hours with an empty role is rejected with both problems at their paths in the envelope; the engine's state does not change and its preview still bills the valid entry (8 h, 800.00)",
            {"envelopes": engine_setup() + [time_entry("TE-2", hours="-3", role="")], "preview": JAN, "return_state": True},
            lambda r: (eq(statuses(r)[-1], ("rec-TE-2", "rejected", "DOCUMENT_EMPTY_FIELD")),
                       eq(problems(r, "rec-TE-2"), [("DOCUMENT_EMPTY_FIELD", "/event/time_entry/role"),
                                                    ("DOCUMENT_NEGATIVE_AMOUNT", "/event/time_entry/hours")]),
                       eq(sorted(r["state"]["time_entries"]), ["TE-1"]),
                       eq(lines(r["preview"]), [("TE-1", "800.00")])))
engine_case("corrected-time-entry-resolves-the-exception",
            "30 hours on one day is rejected (TIME_HOURS_OUT_OF_RANGE); the corrected entry, sent under a key of its own, is applied and resolves the exception: no exception stays open and an invoice can be drafted",
            {"envelopes": engine_setup() + [time_entry("TE-2", hours="30"), time_entry("TE-2", hours="3", key="rec-TE-2-fix"),
                                            drafted("inv1", "INV-1", "2026-02-01")],
             "metrics_as_of": "2026-02-01"},
            lambda r: (eq(statuses(r)[-3:], [("rec-TE-2", "rejected", "TIME_HOURS_OUT_OF_RANGE"), ("rec-TE-2-fix", "applied", None),
                                             ("inv1", "applied", None)]),
                       eq([(x["code"], x.get("resolved_by_version")) for x in r["exceptions"]], [("TIME_HOURS_OUT_OF_RANGE", 4)]),
                       eq(r["metrics"]["open_exceptions"], 0)))
engine_case("invalid-expense-milestone-and-project-are-rejected",
            "an expense of -10.005 USD with an fx_rate of 0, a milestone with neither amount nor percent and a project whose task has no name are each rejected with every problem; none enters the state",
            {"envelopes": engine_setup() + [
                env("ex", "psa", {"type": "expense.recorded", "expense": {
                    "id": "EX-1", "project_id": "PRJ-1", "date": "2026-01-13", "category": "travel",
                    "amount": money("-10.005"), "fx_rate": "0", "status": "approved"}}),
                env("ms", "crm", {"type": "milestone.recorded", "milestone": {
                    "id": "M-1", "name": "Go-live", "due_date": "2026-01-31", "status": "pending"}}),
                env("prj2", "psa", {"type": "project.recorded", "project": {
                    "schema_version": 1, "id": "PRJ-2", "contract_id": "CTR-1", "legal_entity": "US01", "status": "active",
                    "tasks": [{"id": "T-1", "name": " "}]}})],
             "return_state": True},
            lambda r: (eq(problems(r, "ex"), [("DOCUMENT_NEGATIVE_AMOUNT", "/event/expense/amount/amount"),
                                              ("MONEY_INVALID_SCALE", "/event/expense/amount/amount"),
                                              ("EXPENSE_INVALID_FX_RATE", "/event/expense/fx_rate")]),
                       eq(problems(r, "ms"), [("CONTRACT_MILESTONE_AMOUNT", "/event/milestone")]),
                       eq(problems(r, "prj2"), [("DOCUMENT_EMPTY_FIELD", "/event/project/tasks/0/name")]),
                       eq(r["state"].get("expenses", {}), {}), eq(r["state"].get("milestones", {}), {}),
                       eq(sorted(r["state"]["projects"]), ["PRJ-1"])))
engine_case("batch-that-is-not-atomic-gives-every-envelope-its-outcome",
            "a batch that is not atomic, with an idempotency conflict in the middle: the envelopes before and after it are applied, the conflict is a rejected outcome and an exception, and the same conflicting envelope again is a second attempt of that exception",
            {"envelopes": [time_entry("TE-1"), time_entry("TE-1", hours="9"), time_entry("TE-2"), time_entry("TE-1", hours="9")]},
            lambda r: (eq(statuses(r), [("rec-TE-1", "applied", None), ("rec-TE-1", "rejected", "ENGINE_IDEMPOTENCY_CONFLICT"),
                                        ("rec-TE-2", "applied", None), ("rec-TE-1", "rejected", "ENGINE_IDEMPOTENCY_CONFLICT")]),
                       eq([(x["code"], x["attempts"], x["envelope"]["event"]["time_entry"]["hours"]) for x in r["exceptions"]],
                          [("ENGINE_IDEMPOTENCY_CONFLICT", 2, "9")])))
engine_case("atomic-batch-with-a-conflict-is-an-error-and-applies-nothing",
            "an atomic batch stays all or nothing: an idempotency conflict in it is an error at the envelope, and nothing of the batch is applied",
            {"envelopes": [time_entry("TE-1"), time_entry("TE-2"), time_entry("TE-1", hours="9")], "atomic": True},
            refused("ENGINE_IDEMPOTENCY_CONFLICT", "/envelopes/2/idempotency_key"))

# --- validate reads on past an unreadable value -------------------------------------------------
V = "validate"
counters[V] = 54


def work_entry(i, **kw):
    return dict({"id": f"TE-{i}", "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1", "role": "Developer",
                 "work_date": "2026-03-02", "hours": "8", "status": "approved"}, **kw)


def problem_list(r):
    return [(p["code"], p["path"]) for p in r["problems"]]


case(V, "every-unreadable-value-and-every-rule-in-one-report",
     "a work log with a bad date, hours written 1,200.00, an unknown field, a negative hour and a row with two unreadable values reports them all, and the empty role of a row that reads: an unreadable value is read as absent and reading goes on, a required one leaves its row out",
     {"document": {"schema_version": 1, "kind": "work_log", "time_entries": [
         work_entry(1, work_date="2026-02-30"), work_entry(2), work_entry(3, hours="1,200.00"),
         work_entry(4, hours="-1"), work_entry(5, billable_flag=True), work_entry(6, role=""),
         work_entry(7, work_date="2026-13-01", hours="7.5h")]}},
     lambda r: (eq(r["valid"], False),
                eq(problem_list(r), [("INPUT_INVALID_DATE", "/time_entries/0/work_date"),
                                     ("INPUT_INVALID_DECIMAL", "/time_entries/2/hours"),
                                     ("DOCUMENT_NEGATIVE_AMOUNT", "/time_entries/3/hours"),
                                     ("INPUT_UNKNOWN_FIELD", "/time_entries/4/billable_flag"),
                                     ("DOCUMENT_EMPTY_FIELD", "/time_entries/5/role"),
                                     ("INPUT_INVALID_DECIMAL", "/time_entries/6/hours"),
                                     ("INPUT_INVALID_DATE", "/time_entries/6/work_date")])), area="validate")
case(V, "an-unreadable-value-outside-any-row-ends-the-reading",
     "a contract whose start_date is not a date cannot be read further (no row holds it): the report has that problem, and the unknown field before it",
     {"document": {"schema_version": 1, "kind": "contract", "id": "C-1", "account_id": "A-1", "legal_entity": "US01",
                   "currency": "USD", "billing_model": "time_and_materials", "status": "active",
                   "start_date": "01/01/2026", "end_date": "2026-12-31", "notes": "x",
                   "rate_card": {"entries": [{"role": "Developer", "rate": {"amount": "150", "currency": "USD"}, "effective_from": "2026-01-01"}]}}},
     lambda r: eq(problem_list(r), [("INPUT_UNKNOWN_FIELD", "/notes"), ("INPUT_INVALID_DATE", "/start_date")]), area="validate")

case(V, "a-status-that-is-null-or-a-number-is-the-wrong-type-at-its-path",
     "a status written null, or as a number, is a value of the wrong type at its path (it was reported as malformed JSON, with no path)",
     {"document": {"schema_version": 1, "kind": "work_log", "time_entries": [
         work_entry(1, status=None), work_entry(2), work_entry(3, status=5)]}},
     lambda r: eq(problem_list(r), [("INPUT_INVALID_TYPE", "/time_entries/0/status"),
                                    ("INPUT_INVALID_TYPE", "/time_entries/2/status")]), area="validate")

# --- validate_batch: one report per document ------------------------------------------------------
VB = "validate_batch"
counters[VB] = 0
case(VB, "every-document-gets-its-report-with-its-index",
     "a batch of three work logs and one document of an unknown kind: each gets its report with its index, every problem of each; the unreadable one is its report's problem, not an error of the batch",
     {"documents": [
         {"schema_version": 1, "kind": "work_log", "time_entries": [work_entry(1)]},
         {"schema_version": 1, "kind": "work_log", "time_entries": [work_entry(1, work_date="2026-02-30"), work_entry(2, hours="-2")]},
         {"schema_version": 1, "kind": "nope"},
         {"schema_version": 1, "kind": "work_log", "time_entries": [work_entry(1, hours="1,200.00")]}]},
     lambda r: (eq(r["valid"], False),
                eq([(x["index"], x["valid"], problem_list(x)) for x in r["reports"]],
                   [(0, True, []),
                    (1, False, [("INPUT_INVALID_DATE", "/time_entries/0/work_date"), ("DOCUMENT_NEGATIVE_AMOUNT", "/time_entries/1/hours")]),
                    (2, False, [("INPUT_UNKNOWN_KIND", "/kind")]),
                    (3, False, [("INPUT_INVALID_DECIMAL", "/time_entries/0/hours")])]),
                eq("kind" in r["reports"][2], False)), area="validate")
case(VB, "a-batch-of-valid-documents-is-valid",
     "every document valid: the batch is valid, and a kind given for the batch reads documents without their own",
     {"kind": "work_log", "documents": [{"schema_version": 1, "time_entries": [work_entry(1)]}, {"schema_version": 1, "time_entries": []}]},
     lambda r: (eq(r["valid"], True), eq([x["kind"] for x in r["reports"]], ["work_log", "work_log"])), area="validate")
case(VB, "a-contract-that-cannot-be-read-is-an-error-of-the-batch",
     "the contract change orders are checked against is the batch's: one that cannot be read is an error at /contract, not a report",
     {"documents": [{"schema_version": 1, "kind": "work_log"}], "contract": {"schema_version": 1, "kind": "contract"}},
     lambda r: eq(r["error"]["path"].startswith("/contract"), True), area="validate")

# --- Every error names what caused it ----------------------------------------------------------
counters["preview_invoice"] = 144
counters["commit_invoice"] = 4
case("commit_invoice", "a-run-error-is-at-its-path-under-run",
     "an entry of -3 hours in the run of a commit is refused at /run/time_entries/0/hours: the path is in the commit request, not in the run",
     {"invoice_id": "INV-1", "run": req([te("TE-1", hours="-3")])},
     refused("DOCUMENT_NEGATIVE_AMOUNT", "/run/time_entries/0/hours"))
huge = "7922816251426433759354"
case("preview_invoice", "a-credit-too-large-to-compute-is-at-the-credit",
     "a credit whose share of a huge bill cannot be computed exactly is refused as MONEY_OVERFLOW at the credit in the ledger",
     req([te("TE-1")], ledger=ledger([bill("TE-1", huge, huge + ".00", "1.00")], [credit("TE-1", amount="3961408125713216879677.00")])),
     refused("MONEY_OVERFLOW", "/ledger/credits/0"))

# --- A billing run may hold invalid items ----------------------------------------------------------
HOLD = {"hold_invalid_items": True}
def held_problems(p): return [(h["id"], h["reason"], [(q["code"], q["path"]) for q in h.get("problems", [])]) for h in p["held"]]
case("preview_invoice", "invalid-items-are-held-with-their-problems-and-the-rest-is-billed",
     "with hold_invalid_items, an entry of -3 hours and an expense of 10.005 are held as invalid with every problem at its path in the request; the valid entry and expense are billed (150 x 8 + 100 x 1.10)",
     req([te("TE-1"), te("TE-2", hours="-3", date="2026-03-04")], [ex("EX-1"), ex("EX-2", amount="10.005", date="2026-03-05")], options=HOLD),
     lambda p: (eq(lines(p), [("TE-1", "1200.00"), ("EX-1", "110.00")]),
                eq(held_problems(p), [("TE-2", "invalid", [("DOCUMENT_NEGATIVE_AMOUNT", "/time_entries/1/hours")]),
                                      ("EX-2", "invalid", [("MONEY_INVALID_SCALE", "/expenses/1/amount/amount")])]),
                eq(total(p), "1310.00"),
                eq([(h["reason"], h["count"]) for h in p["summary"]["held_by_reason"]], [("invalid", 2)])))
case("preview_invoice", "without-the-option-an-invalid-item-still-refuses-the-run",
     "the default (hold_invalid_items false): the same entry of -3 hours refuses the run, at its path",
     req([te("TE-1"), te("TE-2", hours="-3", date="2026-03-04")]),
     refused("DOCUMENT_NEGATIVE_AMOUNT", "/time_entries/1/hours"))
case("preview_invoice", "an-invalid-item-the-ledger-shows-billed-stays-already-billed",
     "an entry billed by an earlier run and now sent with a negative hour is held already_billed (the ledger's check comes first), with its problems",
     req([te("TE-1", hours="-8")], ledger=ledger([bill("TE-1", "8", "1200.00")]), options=HOLD),
     lambda p: (eq(lines(p), []), eq(held_problems(p), [("TE-1", "already_billed", [("DOCUMENT_NEGATIVE_AMOUNT", "/time_entries/0/hours")])])))
case("preview_invoice", "a-problem-outside-the-items-still-refuses-a-run-that-holds-invalid-items",
     "with hold_invalid_items, a period that ends before it starts still refuses the run: only items are held",
     req([te("TE-1"), te("TE-2", hours="-3")], period={"start": "2026-03-31", "end": "2026-03-01"}, options=HOLD),
     refused("DOCUMENT_DATE_ORDER", "/period/end"))

counters["commit_invoice"] = 5
case("commit_invoice", "of-two-entries-sharing-an-id-the-earlier-one-is-committed",
     "with hold_invalid_items, two entries share the id TE-1: the earlier (R-1) is billed and the later (R-2) held invalid, and the ledger records the billed one's resource, R-1",
     {"invoice_id": "INV-1", "run": req([te("TE-1"), te("TE-1", resource_id="R-2"), te("TE-3")], options=HOLD)},
     lambda r: (eq([(e["item_id"], e["resource_id"], e["quantity"]) for e in r["ledger"]["entries"]], [("TE-1", "R-1", "8"), ("TE-3", "R-1", "8")]),
                eq(held(r["preview"]), [("TE-1", "invalid")])))

print(counters, "cases written")
