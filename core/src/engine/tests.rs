#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::{Value, json};

use super::*;
use crate::model::{InvoiceStatus, MilestoneStatus, WorkStatus};

fn env(key: &str, source: &str, event: Value) -> Envelope {
    serde_json::from_value(json!({
        "idempotency_key": key,
        "correlation_id": format!("c-{key}"),
        "source": source,
        "occurred_at": "2026-01-20T10:00:00Z",
        "event": event,
    }))
    .unwrap()
}

fn contract() -> Value {
    json!({
        "schema_version": 1, "id": "CTR-1", "account_id": "ACC-1", "legal_entity": "US01",
        "currency": "USD", "billing_model": "time_and_materials", "status": "active",
        "start_date": "2026-01-01", "end_date": "2026-12-31",
        "ceiling": {"amount": {"amount": "3000.00", "currency": "USD"}},
        "rate_card": {"entries": [
            {"role": "Developer", "rate": {"amount": "100.00", "currency": "USD"}, "effective_from": "2026-01-01"}
        ]}
    })
}

fn entry(id: &str, hours: &str, status: &str) -> Value {
    json!({"type": "time_entry.recorded", "time_entry": {
        "id": id, "project_id": "PRJ-1", "task_id": "T-1", "resource_id": "R-1",
        "role": "Developer", "work_date": "2026-01-12", "hours": hours, "status": status}})
}

fn id_event(t: &str, id: &str) -> Value {
    json!({"type": t, "id": id})
}

fn period() -> Value {
    json!({"start": "2026-01-01", "end": "2026-01-31"})
}

fn draft(invoice: &str) -> Value {
    json!({"type": "invoice.drafted", "invoice_id": invoice, "period": period(), "as_of": "2026-02-01"})
}

/// A contract, an active project and `entries` approved entries of `hours` each.
fn engine_with(entries: &[(&str, &str)]) -> Engine {
    let mut e = Engine::new();
    let mut batch = vec![
        env(
            "ctr",
            "erp",
            json!({"type": "contract.recorded", "contract": contract()}),
        ),
        env(
            "prj",
            "psa",
            json!({"type": "project.recorded", "project": {
                "schema_version": 1, "id": "PRJ-1", "contract_id": "CTR-1", "legal_entity": "US01",
                "status": "active", "tasks": [{"id": "T-1", "name": "Build"}]}}),
        ),
    ];
    for (id, hours) in entries {
        batch.push(env(
            &format!("rec-{id}"),
            "psa",
            entry(id, hours, "approved"),
        ));
    }
    let out = e.apply_batch(&batch, true).unwrap();
    assert!(out.iter().all(|o| o.status == OutcomeStatus::Applied));
    e
}

fn applied(e: &mut Engine, envelope: &Envelope) -> Outcome {
    let o = e.apply(envelope).unwrap();
    assert_eq!(o.status, OutcomeStatus::Applied, "{o:?}");
    o
}

fn rejected(e: &mut Engine, envelope: &Envelope) -> Rejection {
    let before = e.state().clone();
    let version = e.version();
    let o = e.apply(envelope).unwrap();
    assert_eq!(o.status, OutcomeStatus::Rejected, "{o:?}");
    assert_eq!(e.state(), &before, "a rejected envelope changed the state");
    assert_eq!(e.version(), version);
    o.rejection.unwrap()
}

#[test]
fn an_applied_event_raises_the_version_and_records_what_changed() {
    let mut e = Engine::new();
    let o = applied(&mut e, &env("k1", "psa", entry("TE-1", "8", "submitted")));
    assert_eq!(o.version, 1);
    assert_eq!(o.changes.len(), 1);
    assert_eq!(o.changes[0].path, "/time_entries/TE-1");
    assert!(o.changes[0].before.is_null());
    let o = applied(
        &mut e,
        &env("k2", "psa", id_event("time_entry.approved", "TE-1")),
    );
    assert_eq!(o.version, 2);
    assert_eq!(o.changes[0].path, "/time_entries/TE-1/status");
    assert_eq!(o.changes[0].before, json!("submitted"));
    assert_eq!(o.changes[0].after, json!("approved"));
    assert_eq!(e.audit().len(), 2);
    assert_eq!(e.audit()[1].event_type, "time_entry.approved");
    assert_eq!(e.audit()[1].correlation_id.as_str(), "c-k2");
    assert!(e.verify_audit().unwrap().valid);
}

#[test]
fn the_same_key_and_payload_again_is_a_duplicate_that_returns_the_original_result() {
    let mut e = Engine::new();
    let first = applied(&mut e, &env("k1", "psa", entry("TE-1", "8", "submitted")));
    let snap = e.snapshot().unwrap();
    let mut again = env("k1", "psa", entry("TE-1", "8", "submitted"));
    again.correlation_id = Id::new("another-trace").unwrap();
    let dup = e.apply(&again).unwrap();
    assert_eq!(dup.status, OutcomeStatus::Duplicate);
    assert_eq!(dup.version, first.version);
    assert_eq!(dup.changes, first.changes);
    assert_eq!(e.snapshot().unwrap(), snap);
}

#[test]
fn the_same_key_with_another_payload_is_an_idempotency_conflict() {
    let mut e = Engine::new();
    applied(&mut e, &env("k1", "psa", entry("TE-1", "8", "submitted")));
    let snap = e.snapshot().unwrap();
    let err = e
        .apply(&env("k1", "psa", entry("TE-1", "9", "submitted")))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::EngineIdempotencyConflict);
    assert_eq!(err.code.class(), crate::ErrorClass::IdempotencyConflict);
    assert_eq!(e.snapshot().unwrap(), snap);
}

#[test]
fn a_stale_expected_version_is_rejected_into_the_exception_queue() {
    let mut e = Engine::new();
    applied(&mut e, &env("k1", "psa", entry("TE-1", "8", "submitted")));
    let mut stale = env("k2", "psa", id_event("time_entry.approved", "TE-1"));
    stale.expected_version = Some(0);
    let r = rejected(&mut e, &stale);
    assert_eq!(r.code, ErrorCode::EngineVersionConflict);
    assert_eq!(e.exceptions().len(), 1);
    assert_eq!(e.exceptions()[0].envelope.correlation_id.as_str(), "c-k2");
    let mut current = env("k3", "psa", id_event("time_entry.approved", "TE-1"));
    current.expected_version = Some(1);
    applied(&mut e, &current);
}

#[test]
fn an_approval_before_its_entry_is_rejected_and_the_retry_resolves_the_exception() {
    let mut e = Engine::new();
    let approve = env("k-approve", "psa", id_event("time_entry.approved", "TE-1"));
    let r = rejected(&mut e, &approve);
    assert_eq!(r.code, ErrorCode::EngineUnknownEntity);
    applied(
        &mut e,
        &env("k-rec", "psa", entry("TE-1", "8", "submitted")),
    );
    let o = applied(&mut e, &approve);
    assert_eq!(e.exceptions().len(), 1);
    assert_eq!(e.exceptions()[0].resolved_by_version, Some(o.version));
    assert_eq!(e.exceptions()[0].attempts, 1);
}

#[test]
fn a_machine_refusal_names_the_state_and_event() {
    let mut e = Engine::new();
    applied(&mut e, &env("k1", "psa", entry("TE-1", "8", "draft")));
    let r = rejected(
        &mut e,
        &env("k2", "psa", id_event("time_entry.approved", "TE-1")),
    );
    assert_eq!(r.code, ErrorCode::MachineTransitionNotAllowed);
    assert!(r.message.contains("`draft`") && r.message.contains("`approve`"));
    let r = rejected(
        &mut e,
        &env("k3", "crm", id_event("time_entry.submitted", "TE-1")),
    );
    assert_eq!(r.code, ErrorCode::MachineSourceNotAllowed);
}

#[test]
fn an_upsert_may_not_set_a_status_or_change_a_billed_item() {
    let mut e = engine_with(&[("TE-1", "8")]);
    let r = rejected(&mut e, &env("k1", "psa", entry("TE-1", "8", "submitted")));
    assert_eq!(r.code, ErrorCode::EngineFieldNotByUpsert);
    let r = rejected(&mut e, &env("k2", "psa", entry("TE-2", "8", "billed")));
    assert_eq!(r.code, ErrorCode::EngineFieldNotByUpsert);
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    assert_eq!(e.state().time_entries["TE-1"].status, WorkStatus::Billed);
    let r = rejected(&mut e, &env("k3", "psa", entry("TE-1", "9", "billed")));
    assert_eq!(r.code, ErrorCode::EngineItemLocked);
}

#[test]
fn an_aborted_atomic_batch_leaves_earlier_exceptions_as_one_rejection_more_would() {
    let mut e = engine_with(&[]);
    // Two exceptions from before the batch: `early` (TE-1 not recorded yet) and `lost` (TE-404).
    let early = env("early", "psa", id_event("time_entry.approved", "TE-1"));
    let lost = env("lost", "psa", id_event("time_entry.approved", "TE-404"));
    rejected(&mut e, &early);
    rejected(&mut e, &lost);
    let snapshot = e.snapshot().unwrap();
    // In the batch `early` applies (its exception resolved) and `lost` is rejected again, which
    // aborts the batch: everything the batch did is rolled back before its outcomes are recorded.
    let batch = vec![
        env("rec", "psa", entry("TE-1", "8", "submitted")),
        early.clone(),
        lost.clone(),
    ];
    let out = e.apply_batch(&batch, true).unwrap();
    assert!(out.iter().all(|o| o.status == OutcomeStatus::Rejected));
    let x = e.exceptions();
    assert_eq!(x.len(), 3, "{x:?}");
    // `early` is open again, rejected once more as aborted; `lost` once more for its reason.
    assert_eq!(
        (x[0].attempts, x[0].code, x[0].resolved_by_version),
        (2, ErrorCode::EngineBatchAborted, None)
    );
    assert_eq!(
        (x[1].attempts, x[1].code, x[1].resolved_by_version),
        (2, ErrorCode::EngineUnknownEntity, None)
    );
    assert_eq!(x[2].envelope.idempotency_key.as_str(), "rec");
    // Nothing else changed; `early` applies when sent again with its entry, and resolves its
    // exception.
    let mut again = Engine::new();
    again
        .restore(snapshot.as_bytes(), &Limits::DEFAULT)
        .unwrap();
    assert_eq!(e.state(), again.state());
    assert_eq!(e.audit(), again.audit());
    applied(&mut e, &env("rec", "psa", entry("TE-1", "8", "submitted")));
    applied(&mut e, &early);
    assert_eq!(e.exceptions()[0].resolved_by_version, Some(e.version()));
}

#[test]
fn an_atomic_batch_with_a_poisoned_member_applies_nothing() {
    let mut e = engine_with(&[]);
    let snap_state = e.state().clone();
    let version = e.version();
    let batch = vec![
        env("a", "psa", entry("TE-1", "8", "submitted")),
        env("b", "psa", id_event("time_entry.approved", "TE-1")),
        env("c", "psa", id_event("time_entry.approved", "TE-404")),
    ];
    let out = e.apply_batch(&batch, true).unwrap();
    assert!(out.iter().all(|o| o.status == OutcomeStatus::Rejected));
    assert_eq!(
        out[2].rejection.as_ref().unwrap().code,
        ErrorCode::EngineUnknownEntity
    );
    assert_eq!(
        out[0].rejection.as_ref().unwrap().code,
        ErrorCode::EngineBatchAborted
    );
    assert_eq!(e.state(), &snap_state);
    assert_eq!(e.version(), version);
    assert_eq!(e.exceptions().len(), 3);
    // Without `atomic`, the good envelopes apply and the poisoned one is rejected alone.
    let out = e.apply_batch(&batch, false).unwrap();
    let statuses: Vec<_> = out.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        [
            OutcomeStatus::Applied,
            OutcomeStatus::Applied,
            OutcomeStatus::Rejected
        ]
    );
    assert_eq!(e.version(), version + 2);
}

#[test]
fn an_atomic_batch_with_an_idempotency_conflict_is_an_error_and_rolls_back() {
    let mut e = Engine::new();
    applied(&mut e, &env("a", "psa", entry("TE-1", "8", "submitted")));
    let snap = e.snapshot().unwrap();
    let batch = vec![
        env("b", "psa", entry("TE-2", "8", "submitted")),
        env("a", "psa", entry("TE-1", "7", "submitted")),
    ];
    let err = e.apply_batch(&batch, true).unwrap_err();
    assert_eq!(err.code, ErrorCode::EngineIdempotencyConflict);
    assert_eq!(err.path, "/envelopes/1/idempotency_key");
    assert_eq!(e.snapshot().unwrap(), snap);
}

#[test]
fn replaying_the_same_envelopes_from_empty_gives_a_byte_identical_snapshot() {
    let base = engine_with(&[("TE-1", "8"), ("TE-2", "20"), ("TE-3", "10")]);
    let mut log: Vec<Envelope> = vec![
        env("inv", "erp", draft("INV-1")),
        env("bad", "crm", id_event("invoice.posted", "INV-1")),
        env("inv", "erp", draft("INV-1")),
    ];
    let mut e = base.clone();
    for x in &log {
        e.apply(x).unwrap();
    }
    let snap = e.snapshot().unwrap();
    let mut again = base.clone();
    for x in &log {
        again.apply(x).unwrap();
    }
    assert_eq!(again.snapshot().unwrap(), snap);
    // Restoring gives the same bytes, and the restored engine carries on identically.
    let mut r = Engine::new();
    r.restore(snap.as_bytes(), &Limits::DEFAULT).unwrap();
    assert_eq!(r.snapshot().unwrap(), snap);
    log.clear();
    let next = env("approve", "erp", id_event("invoice.approved", "INV-1"));
    applied(&mut e, &next);
    applied(&mut r, &next);
    assert_eq!(r.snapshot().unwrap(), e.snapshot().unwrap());
}

#[test]
fn a_snapshot_whose_audit_was_edited_is_refused() {
    let mut e = engine_with(&[("TE-1", "8")]);
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    let mut s: Value = serde_json::from_str(&e.snapshot().unwrap()).unwrap();
    s["audit"][2]["changes"][0]["after"]["hours"] = json!("80");
    let err = Engine::new()
        .restore(s.to_string().as_bytes(), &Limits::DEFAULT)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::AuditEntryTampered);
    assert_eq!(err.path, "/audit/2");
    let mut s: Value = serde_json::from_str(&e.snapshot().unwrap()).unwrap();
    s["audit"].as_array_mut().unwrap().pop();
    let err = Engine::new()
        .restore(s.to_string().as_bytes(), &Limits::DEFAULT)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::AuditHeadMismatch);
}

#[test]
fn a_snapshot_is_read_in_any_spacing_but_a_hash_must_be_64_lowercase_hex_digits() {
    let mut e = engine_with(&[("TE-1", "8")]);
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    let snap = e.snapshot().unwrap();
    let s: Value = serde_json::from_str(&snap).unwrap();
    // Documents in the audit are read back in canonical form: the hashes still match.
    let spaced = serde_json::to_string_pretty(&s).unwrap();
    let mut r = Engine::new();
    r.restore(spaced.as_bytes(), &Limits::DEFAULT).unwrap();
    assert_eq!(r.snapshot().unwrap(), snap);
    for field in ["hash", "prev_hash"] {
        let mut bad = s.clone();
        let upper = bad["audit"][1][field].as_str().unwrap().to_uppercase();
        bad["audit"][1][field] = json!(upper);
        let err = Engine::new()
            .restore(bad.to_string().as_bytes(), &Limits::DEFAULT)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InputInvalidValue, "{err:?}");
        assert_eq!(err.path, format!("/audit/1/{field}"));
        assert!(err.message.contains("64 lowercase hex digits"), "{err:?}");
    }
}

#[test]
fn drafting_an_invoice_bills_items_once_and_a_second_run_finds_nothing() {
    let mut e = engine_with(&[("TE-1", "8"), ("TE-2", "20"), ("TE-3", "10")]);
    let o = applied(&mut e, &env("inv1", "erp", draft("INV-1")));
    // 8 h x 100 = 800, TE-2 20 h = 2,000.00 and 2 of TE-3's 10 h up to the 3,000.00 ceiling.
    let inv = &e.state().invoices["INV-1"];
    assert_eq!(inv.total.amount_string(), "3000.00");
    assert_eq!(inv.status, InvoiceStatus::Draft);
    assert!(o.changes.iter().any(|c| c.path == "/ledger/entries/1"));
    assert_eq!(e.state().time_entries["TE-2"].status, WorkStatus::Billed);
    let r = rejected(&mut e, &env("inv2", "erp", draft("INV-2")));
    assert_eq!(r.code, ErrorCode::EngineEmptyInvoice);
    let r = rejected(&mut e, &env("inv1-again", "erp", draft("INV-1")));
    assert_eq!(r.code, ErrorCode::EngineAlreadyExists);
}

#[test]
fn payments_move_the_invoice_to_partially_paid_then_paid_and_an_overpayment_is_refused() {
    let mut e = engine_with(&[("TE-1", "8")]);
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    applied(
        &mut e,
        &env("ap", "erp", id_event("invoice.approved", "INV-1")),
    );
    applied(
        &mut e,
        &env("po", "erp", id_event("invoice.posted", "INV-1")),
    );
    let pay = |key: &str, id: &str, amount: &str| {
        env(
            key,
            "billing",
            json!({"type": "payment.received", "payment_id": id, "invoice_id": "INV-1",
                   "amount": {"amount": amount, "currency": "USD"}, "date": "2026-02-10"}),
        )
    };
    applied(&mut e, &pay("p1", "PAY-1", "300.00"));
    assert_eq!(
        e.state().invoices["INV-1"].status,
        InvoiceStatus::PartiallyPaid
    );
    let r = rejected(&mut e, &pay("p2", "PAY-2", "600.00"));
    assert_eq!(r.code, ErrorCode::MachineGuardFailed);
    let r = rejected(&mut e, &pay("p1b", "PAY-1", "500.00"));
    assert_eq!(r.code, ErrorCode::EngineAlreadyExists);
    applied(&mut e, &pay("p3", "PAY-3", "500.00"));
    let inv = &e.state().invoices["INV-1"];
    assert_eq!(inv.status, InvoiceStatus::Paid);
    assert_eq!(inv.balance.amount_string(), "0.00");
    let m = e
        .metrics(crate::model::Date::parse("2026-02-15").unwrap())
        .unwrap();
    assert_eq!(m.receivables.amount_string(), "0.00");
}

#[test]
fn a_partial_credit_returns_the_item_to_approved_and_the_next_run_bills_the_difference() {
    let mut e = engine_with(&[("TE-1", "20")]);
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    applied(
        &mut e,
        &env("ap", "erp", id_event("invoice.approved", "INV-1")),
    );
    applied(
        &mut e,
        &env("po", "erp", id_event("invoice.posted", "INV-1")),
    );
    // Recall is refused while the entry is billed.
    let r = rejected(
        &mut e,
        &env("rc", "psa", id_event("time_entry.recalled", "TE-1")),
    );
    assert_eq!(r.code, ErrorCode::MachineTransitionNotAllowed);
    let credit = env(
        "cn",
        "erp",
        json!({"type": "credit_note.issued", "credit_note_id": "CN-1", "invoice_id": "INV-1",
               "lines": [{"kind": "time", "item_id": "TE-1", "quantity": "11"}]}),
    );
    applied(&mut e, &credit);
    assert_eq!(e.state().time_entries["TE-1"].status, WorkStatus::Approved);
    let inv = &e.state().invoices["INV-1"];
    assert_eq!(inv.credited.amount_string(), "1100.00");
    assert_eq!(inv.balance.amount_string(), "900.00");
    assert_eq!(inv.status, InvoiceStatus::Posted);
    // Still partly billed, so a recall stays refused, now by the guard.
    let r = rejected(
        &mut e,
        &env("rc2", "psa", id_event("time_entry.recalled", "TE-1")),
    );
    assert_eq!(r.code, ErrorCode::MachineGuardFailed);
    applied(&mut e, &env("fix", "psa", entry("TE-1", "24", "approved")));
    let p = e
        .preview_invoice(
            serde_json::from_value(period()).unwrap(),
            crate::model::Date::parse("2026-02-01").unwrap(),
        )
        .unwrap();
    assert_eq!(p.lines.len(), 1);
    assert_eq!(p.lines[0].quantity.to_string(), "15");
}

#[test]
fn voiding_a_draft_invoice_releases_its_items() {
    let mut e = engine_with(&[("TE-1", "8")]);
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    applied(
        &mut e,
        &env("void", "erp", id_event("invoice.voided", "INV-1")),
    );
    assert_eq!(e.state().time_entries["TE-1"].status, WorkStatus::Approved);
    assert!(e.state().ledger.as_ref().unwrap().entries.is_empty());
    let o = applied(&mut e, &env("inv2", "erp", draft("INV-2")));
    assert!(o.version > 0);
}

#[test]
fn change_orders_apply_in_sequence_and_raise_the_contract_version() {
    let mut e = engine_with(&[]);
    let co = |id: &str, seq: u32| {
        json!({"type": "change_order.recorded", "change_order": {
            "schema_version": 1, "id": id, "contract_id": "CTR-1", "sequence": seq,
            "status": "submitted", "effective_date": "2026-02-01",
            "changes": [{"type": "adjust_ceiling", "delta": {"amount": "1000.00", "currency": "USD"}}]}})
    };
    applied(&mut e, &env("co1", "crm", co("CO-1", 1)));
    applied(&mut e, &env("co2", "crm", co("CO-2", 2)));
    applied(
        &mut e,
        &env("a2", "crm", id_event("change_order.approved", "CO-2")),
    );
    assert_eq!(
        e.state().change_orders["CO-2"]
            .approved_on
            .unwrap()
            .to_string(),
        "2026-01-20"
    );
    let r = rejected(
        &mut e,
        &env("p2", "erp", id_event("change_order.applied", "CO-2")),
    );
    assert_eq!(r.code, ErrorCode::MachineGuardFailed);
    applied(
        &mut e,
        &env("a1", "crm", id_event("change_order.approved", "CO-1")),
    );
    applied(
        &mut e,
        &env("p1", "erp", id_event("change_order.applied", "CO-1")),
    );
    applied(
        &mut e,
        &env("p2b", "erp", id_event("change_order.applied", "CO-2")),
    );
    let c = e.state().contract.as_ref().unwrap();
    assert_eq!(c.change_orders.len(), 2);
    let other = env(
        "co9",
        "crm",
        json!({"type": "change_order.recorded", "change_order": {
            "schema_version": 1, "id": "CO-9", "contract_id": "CTR-2", "sequence": 3,
            "status": "draft", "effective_date": "2026-02-01",
            "changes": [{"type": "adjust_ceiling", "delta": {"amount": "1.00", "currency": "USD"}}]}}),
    );
    assert_eq!(
        rejected(&mut e, &other).code,
        ErrorCode::EngineWrongContract
    );
}

#[test]
fn closing_a_project_needs_its_approved_work_billed() {
    let mut e = engine_with(&[("TE-1", "8")]);
    applied(
        &mut e,
        &env("c", "psa", id_event("project.completed", "PRJ-1")),
    );
    let r = rejected(
        &mut e,
        &env("x", "psa", id_event("project.closed", "PRJ-1")),
    );
    assert_eq!(r.code, ErrorCode::MachineGuardFailed);
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    applied(
        &mut e,
        &env("x2", "psa", id_event("project.closed", "PRJ-1")),
    );
}

#[test]
fn metrics_report_unbilled_time_exceptions_and_the_ceiling() {
    let mut e = engine_with(&[("TE-1", "8"), ("TE-2", "20"), ("TE-3", "10")]);
    rejected(
        &mut e,
        &env("bad", "psa", id_event("time_entry.approved", "TE-9")),
    );
    let m = e
        .metrics(crate::model::Date::parse("2026-02-01").unwrap())
        .unwrap();
    assert_eq!(m.unbilled_approved_time.hours.to_string(), "38");
    assert_eq!(m.unbilled_approved_time.amount.amount_string(), "3800.00");
    assert_eq!(m.open_exceptions, 1);
    assert_eq!(
        m.exceptions_by_reason[0].code,
        ErrorCode::EngineUnknownEntity
    );
    assert_eq!(m.ceiling_utilisation_percent.unwrap().to_string(), "0");
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    let m = e
        .metrics(crate::model::Date::parse("2026-02-01").unwrap())
        .unwrap();
    assert_eq!(m.ceiling_utilisation_percent.unwrap().to_string(), "100");
    assert_eq!(m.unbilled_approved_time.hours.to_string(), "8");
}

#[test]
fn an_unreadable_occurred_at_is_an_error() {
    let mut e = Engine::new();
    let mut bad = env("k", "psa", entry("TE-1", "8", "draft"));
    bad.occurred_at = "yesterday".to_owned();
    let err = e.apply(&bad).unwrap_err();
    assert_eq!(err.code, ErrorCode::EngineInvalidTimestamp);
    assert_eq!(err.path, "/occurred_at");
    assert!(occurred_on("2026-01-05").is_ok());
    assert!(occurred_on("2026-01-05T10:00:00+01:00").is_ok());
    assert!(occurred_on("2026-01-05x").is_err());
    assert!(occurred_on("2026-02-30T00:00:00Z").is_err());
}

#[test]
fn the_fingerprint_is_sha256_of_the_canonical_payload() {
    let mut x = env("k1", "psa", entry("TE-1", "8", "submitted"));
    for expected in [None, Some(7)] {
        x.expected_version = expected;
        let payload = json!({
            "source": "psa", "occurred_at": x.occurred_at, "expected_version": expected,
            "event": serde_json::to_value(&x.event).unwrap(),
        });
        let text = crate::json::to_canonical_string(&payload).unwrap();
        assert_eq!(
            fingerprint(&x).unwrap().to_hex(),
            audit::sha256_hex(text.as_bytes())
        );
    }
}

#[test]
fn the_snapshot_is_the_canonical_json_of_the_whole_engine() {
    let policy: crate::model::OwnershipPolicy = serde_json::from_value(json!({
        "schema_version": 1,
        "rules": [{"entity": "time_entry", "fields": ["*"], "stages": ["*"], "owner": "psa"}]
    }))
    .unwrap();
    let mut e = Engine::with_ownership_policy(policy).unwrap();
    assert_eq!(e.snapshot().unwrap(), e.snapshot_by_value().unwrap());
    let batch = vec![
        env(
            "ctr",
            "erp",
            json!({"type": "contract.recorded", "contract": contract()}),
        ),
        env("a\"b\\c", "psa", entry("TE-\u{e9}", "8", "approved")),
        env("inv", "erp", draft("INV-1")),
        env("bad", "psa", id_event("time_entry.approved", "TE-9")),
    ];
    e.apply_batch(&batch, false).unwrap();
    assert_eq!(e.snapshot().unwrap(), e.snapshot_by_value().unwrap());
    let mut r = Engine::new();
    r.restore(e.snapshot().unwrap().as_bytes(), &Limits::DEFAULT)
        .unwrap();
    assert_eq!(r.snapshot().unwrap(), e.snapshot().unwrap());
}

fn parse_event(v: Value) -> Result<Event, crate::error::Error> {
    crate::json::from_slice::<Event>(v.to_string().as_bytes(), &crate::json::Limits::default())
}

#[test]
fn an_event_parses_whatever_the_position_of_its_type() {
    let first = parse_event(json!({"type": "time_entry.approved", "id": "TE-1"})).unwrap();
    let last: Event =
        serde_json::from_str(r#"{"id": "TE-1", "type": "time_entry.approved"}"#).unwrap();
    assert_eq!(first, last);
    assert_eq!(first.type_name(), "time_entry.approved");
    let drafted = parse_event(json!({"as_of": "2026-02-01", "invoice_id": "INV-1",
        "period": {"start": "2026-01-01", "end": "2026-01-31"}, "type": "invoice.drafted"}))
    .unwrap();
    assert_eq!(drafted.type_name(), "invoice.drafted");
}

#[test]
fn an_event_writes_and_reads_back_the_same() {
    let e = parse_event(entry("TE-1", "8", "approved")).unwrap();
    let text = crate::json::to_canonical_string(&e).unwrap();
    assert_eq!(
        parse_event(serde_json::from_str(&text).unwrap()).unwrap(),
        e
    );
}

#[test]
fn an_event_with_a_field_of_another_type_is_refused_naming_the_field() {
    let err = parse_event(json!({"type": "time_entry.approved", "id": "TE-1", "invoice_id": "X"}))
        .unwrap_err();
    assert_eq!(err.code, crate::error::ErrorCode::InputUnknownField);
    assert_eq!(err.path, "/invoice_id");
    let err = parse_event(json!({"type": "time_entry.approved", "id": "TE-1", "colour": "red"}))
        .unwrap_err();
    assert_eq!(err.code, crate::error::ErrorCode::InputUnknownField);
    assert_eq!(err.path, "/colour");
}

#[test]
fn an_event_without_its_type_or_a_required_field_names_what_is_missing() {
    let err = parse_event(json!({"id": "TE-1"})).unwrap_err();
    assert_eq!(err.code, crate::error::ErrorCode::InputMissingField);
    assert_eq!(err.path, "/type");
    let err = parse_event(json!({"type": "payment.received", "payment_id": "P-1",
        "invoice_id": "INV-1", "date": "2026-02-01"}))
    .unwrap_err();
    assert_eq!(err.code, crate::error::ErrorCode::InputMissingField);
    assert_eq!(err.path, "/amount");
}

#[test]
fn an_event_of_an_unknown_type_is_refused_with_the_types_allowed() {
    let err = parse_event(json!({"type": "time_entry.teleported", "id": "TE-1"})).unwrap_err();
    assert_eq!(err.code, crate::error::ErrorCode::InputInvalidValue);
    assert_eq!(err.path, "/type");
    assert!(
        err.message.contains("time_entry.approved"),
        "{}",
        err.message
    );
}

#[test]
fn a_milestone_added_by_an_approved_change_order_is_tracked_and_bills_through_the_engine() {
    let mut e = engine_with(&[]);
    let add = json!({"type": "add_milestone", "milestone": {
        "id": "MS-2", "name": "Extra reports", "amount": {"amount": "2000.00", "currency": "USD"},
        "due_date": "2026-01-31", "status": "pending"}});
    applied(
        &mut e,
        &env(
            "rec-CO-1",
            "crm",
            json!({"type": "change_order.recorded", "change_order": {
                "schema_version": 1, "id": "CO-1", "contract_id": "CTR-1", "sequence": 1,
                "status": "submitted", "effective_date": "2026-01-20", "changes": [add]}}),
        ),
    );
    // Submitted only: the billing run would not count it, so neither does the engine.
    assert!(!e.state().milestones.contains_key("MS-2"));
    let o = applied(
        &mut e,
        &env("a1", "crm", id_event("change_order.approved", "CO-1")),
    );
    assert!(o.changes.iter().any(|c| c.path == "/milestones/MS-2"));
    assert_eq!(
        e.state().milestones.get("MS-2").map(|m| m.status),
        Some(MilestoneStatus::Pending)
    );
    applied(
        &mut e,
        &env("mc", "psa", id_event("milestone.completed", "MS-2")),
    );
    applied(
        &mut e,
        &env("ma", "psa", id_event("milestone.accepted", "MS-2")),
    );
    applied(&mut e, &env("inv", "erp", draft("INV-1")));
    assert_eq!(
        e.state().milestones.get("MS-2").map(|m| m.status),
        Some(MilestoneStatus::Billed)
    );
    assert!(e.verify_audit().unwrap().valid);
}

/// Every event of the engine's spec cases serialises to its canonical text in one pass: the text
/// equals that of the event's JSON value (keys sorted by the value's map), and neither a
/// lifecycle event nor the record of a time entry, expense or milestone (whose fields are
/// declared in key order) is read back to be sorted.
#[test]
fn events_serialise_to_their_canonical_text_in_one_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/cases/engine");
    let mut seen = std::collections::BTreeSet::new();
    for dir in ["engine_replay", "engine_apply"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let case: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let envelopes = case["input"]["envelopes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for env in envelopes {
                let Ok(event) = serde_json::from_value::<Event>(env["event"].clone()) else {
                    continue;
                };
                let mut sorted = String::new();
                json::write_canonical(&serde_json::to_value(&event).unwrap(), &mut sorted);
                let (text, value) = json::text_and_value(&event).unwrap();
                assert_eq!(text, sorted, "{}", path.display());
                assert_eq!(
                    super::event_text(&event).unwrap(),
                    text,
                    "{}",
                    path.display()
                );
                if event.lifecycle().is_some()
                    || matches!(
                        event,
                        Event::TimeEntryRecorded { .. }
                            | Event::ExpenseRecorded { .. }
                            | Event::MilestoneRecorded { .. }
                    )
                {
                    assert!(
                        value.is_none(),
                        "{} was sorted afterwards",
                        event.type_name()
                    );
                }
                seen.insert(event.type_name());
            }
        }
    }
    assert!(
        seen.len() >= 12,
        "only {} event types seen: {seen:?}",
        seen.len()
    );
}

#[test]
fn a_conflict_in_a_batch_that_is_not_atomic_is_queued_and_survives_a_restore() {
    let mut e = Engine::new();
    let first = env("k1", "psa", entry("TE-1", "8", "submitted"));
    let other = env("k1", "psa", entry("TE-1", "9", "submitted"));
    let next = env("k2", "psa", entry("TE-2", "8", "submitted"));
    let out = e
        .apply_batch(&[first.clone(), other.clone(), next], false)
        .unwrap();
    let statuses: Vec<OutcomeStatus> = out.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        [
            OutcomeStatus::Applied,
            OutcomeStatus::Rejected,
            OutcomeStatus::Applied
        ]
    );
    assert_eq!(e.exceptions().len(), 1);
    let mut r = Engine::new();
    r.restore(e.snapshot().unwrap().as_bytes(), &Limits::DEFAULT)
        .unwrap();
    // The key stays the applied envelope's; the conflicting one again is a second attempt.
    assert_eq!(r.apply(&first).unwrap().status, OutcomeStatus::Duplicate);
    let again = r.apply_batch(&[other], false).unwrap();
    assert_eq!(again[0].status, OutcomeStatus::Rejected);
    assert_eq!(r.exceptions().len(), 1);
    assert_eq!(r.exceptions()[0].attempts, 2);
    assert_eq!(r.exceptions()[0].code, ErrorCode::EngineIdempotencyConflict);
}
