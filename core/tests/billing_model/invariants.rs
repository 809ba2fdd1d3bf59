//! Properties of the run that need no model: every item billed or held once, sentences and
//! the summary's counts, the same bytes whatever the input order, and the fast paths against
//! their plain twins (recycled buffers against fresh ones, the hand writer against the canonical
//! one). Plus the bugs earlier properties found, each pinned by a plain test.

use std::collections::BTreeMap;

use billwise_core::api::{self, CommitInvoiceRequest};
use billwise_core::billing::{self, HoldReason, ItemKind, PreviewInvoiceRequest};
use billwise_core::json::{Limits, to_canonical_string};
use billwise_core::model::{Dec, Id, SchemaVersion};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::{bytes, config, fixed_byte_strings, generate};

/// The generated request, typed, when the run accepts it.
fn accepted(bytes: &[u8]) -> Option<PreviewInvoiceRequest> {
    let json = generate::request(bytes).to_string();
    let req =
        billwise_core::json::preview_request_from_slice(json.as_bytes(), &Limits::DEFAULT).ok()?;
    billing::preview_invoice(&req).is_ok().then_some(req)
}

fn canonical(req: &PreviewInvoiceRequest) -> String {
    to_canonical_string(&billing::preview_invoice(req).unwrap()).unwrap()
}

/// A run that holds invalid items, two of which share an id: which one is invalid depends on
/// their order ("the later one", billing.md "Invalid items"), so the invariants about order and
/// about each id appearing once do not apply to it.
fn holds_a_duplicate_id(req: &PreviewInvoiceRequest) -> bool {
    let mut ids: Vec<(ItemKind, &str)> = req
        .time_entries
        .iter()
        .map(|t| (ItemKind::Time, t.id.as_str()))
        .chain(
            req.expenses
                .iter()
                .map(|e| (ItemKind::Expense, e.id.as_str())),
        )
        .chain(
            req.milestones
                .iter()
                .flatten()
                .map(|m| (ItemKind::Milestone, m.id.as_str())),
        )
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    req.options.hold_invalid_items && ids.len() < n
}

/// The preview's text with the paths of held items' problems left out: they name positions in
/// the request, which a shuffle moves.
fn without_problem_paths(text: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    for h in v["held"].as_array_mut().unwrap() {
        for p in h["problems"].as_array_mut().into_iter().flatten() {
            p["path"] = serde_json::Value::Null;
        }
    }
    v.to_string()
}

proptest! {
    #![proptest_config(config(3))]

    #[test]
    fn every_held_item_has_a_reason_and_a_sentence_and_the_summary_counts_them(b in bytes()) {
        let Some(req) = accepted(&b) else { return Ok(()) };
        let p = billing::preview_invoice(&req).unwrap();
        let mut by_reason: BTreeMap<HoldReason, (u64, Decimal)> = BTreeMap::new();
        for h in &p.held {
            let s = &*h.sentence.to_str();
            prop_assert!(!s.is_empty(), "{} has no sentence", h.id);
            prop_assert!(!s.ends_with('.'), "{:?} ends with a period", s);
            // The sentence names the item, or the value that held it.
            let mut names: Vec<String> = vec![h.id.as_str().to_owned()];
            if let Some(t) = req.time_entries.iter().find(|t| t.id == *h.id && h.kind == ItemKind::Time) {
                names.extend([t.project_id.as_str().to_owned(), t.task_id.as_str().to_owned(), format!("role {}", t.role)]);
            }
            if let Some(x) = req.expenses.iter().find(|x| x.id == *h.id && h.kind == ItemKind::Expense) {
                names.extend([x.project_id.as_str().to_owned(), format!("category {}", x.category)]);
            }
            prop_assert!(names.iter().any(|n| s.contains(n.as_str())), "{:?} names none of {:?}", s, names);
            let slot = by_reason.entry(h.reason).or_default();
            slot.0 += 1;
            slot.1 += h.amount.map_or(Decimal::ZERO, |m| m.amount);
        }
        let summary: BTreeMap<HoldReason, (u64, Decimal)> = p.summary.held_by_reason.iter()
            .map(|r| (r.reason, (r.count, r.amount.amount))).collect();
        prop_assert_eq!(summary, by_reason);
    }

    #[test]
    fn every_item_is_billed_or_held_exactly_once_and_a_split_appears_in_both(b in bytes()) {
        let Some(req) = accepted(&b).filter(|r| !holds_a_duplicate_id(r)) else { return Ok(()) };
        let p = billing::preview_invoice(&req).unwrap();
        let mut seen: BTreeMap<(ItemKind, String), (u32, u32)> = BTreeMap::new();
        for l in &p.lines {
            prop_assert_eq!(l.source_ids.len(), 1);
            seen.entry((l.kind, l.source_ids[0].as_str().to_owned())).or_default().0 += 1;
        }
        // A held adjustment is not an item: its item is billed or held besides (or, billed and
        // not sent, not listed at all).
        for h in p.held.iter().filter(|h| h.change_order_id.is_none()) {
            seen.entry((h.kind, h.id.as_str().to_owned())).or_default().1 += 1;
        }
        let mut inputs: Vec<(ItemKind, String)> = Vec::new();
        inputs.extend(req.time_entries.iter().map(|t| (ItemKind::Time, t.id.as_str().to_owned())));
        inputs.extend(req.expenses.iter().map(|e| (ItemKind::Expense, e.id.as_str().to_owned())));
        let milestones = match &req.milestones {
            Some(ms) => ms.clone(),
            None => billing::milestones_as_amended(&req.contract, &req.change_orders, req.as_of, req.ledger.as_ref()).unwrap().into_owned(),
        };
        inputs.extend(milestones.iter().map(|m| (ItemKind::Milestone, m.id.as_str().to_owned())));
        inputs.sort();
        let keys: Vec<(ItemKind, String)> = seen.keys().cloned().collect();
        prop_assert_eq!(&keys, &inputs);
        for (key, (billed, held)) in &seen {
            prop_assert!(*billed <= 1 && *held <= 1, "{:?} appears {} + {} times", key, billed, held);
            if *billed == 1 && *held == 1 {
                let line = p.lines.iter().find(|l| l.kind == key.0 && l.source_ids[0].as_str() == key.1).unwrap();
                let hold = p.held.iter().find(|h| h.kind == key.0 && h.id.as_str() == key.1).unwrap();
                prop_assert!(line.ceiling_split, "{:?} is in both but not split", key);
                prop_assert_eq!(hold.reason, HoldReason::CeilingExceeded);
            }
        }
    }

    #[test]
    fn the_result_does_not_depend_on_input_order_and_is_byte_identical(b in bytes(), seed in any::<u64>()) {
        let Some(req) = accepted(&b).filter(|r| !holds_a_duplicate_id(r)) else { return Ok(()) };
        let first = canonical(&req);
        prop_assert_eq!(&first, &canonical(&req));
        // The hand writer of a preview against the canonical writer.
        prop_assert_eq!(&billing::preview_json(&billing::preview_invoice(&req).unwrap()).unwrap(), &first);
        let mut shuffled = req.clone();
        let mut s = seed;
        let mut next = move |n: usize| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            usize::try_from(s >> 33).unwrap() % n.max(1)
        };
        for i in (1..shuffled.time_entries.len()).rev() { let j = next(i + 1); shuffled.time_entries.swap(i, j); }
        for i in (1..shuffled.expenses.len()).rev() { let j = next(i + 1); shuffled.expenses.swap(i, j); }
        for i in (1..shuffled.projects.len()).rev() { let j = next(i + 1); shuffled.projects.swap(i, j); }
        for i in (1..shuffled.contract.rate_card.entries.len()).rev() { let j = next(i + 1); shuffled.contract.rate_card.entries.swap(i, j); }
        // (Change orders are not shuffled: an error's path names the one at fault by position.)
        prop_assert_eq!(without_problem_paths(&first), without_problem_paths(&canonical(&shuffled)));
        // The JSON text round-trips to the same bytes, through the hand reader and through serde.
        let text = to_canonical_string(&req).unwrap();
        let fast = billwise_core::json::preview_request_from_slice(text.as_bytes(), &Limits::DEFAULT).unwrap();
        let plain: PreviewInvoiceRequest = billwise_core::json::from_slice(text.as_bytes(), &Limits::DEFAULT).unwrap();
        prop_assert_eq!(&fast, &plain);
        prop_assert_eq!(&first, &canonical(&fast));
    }

    #[test]
    fn runs_that_share_recycled_buffers_give_the_bytes_of_fresh_runs_and_reuse_their_memory(
        runs in prop::collection::vec(bytes(), 1..6),
    ) {
        let mut buffers = billing::PreviewBuffers::new();
        // The lines' allocation the buffers hold, from the run before.
        let mut kept: Option<(*const billing::PreviewLine<'static>, usize)> = None;
        for b in &runs {
            let Some(req) = accepted(b) else { continue };
            let preview = billing::preview_invoice_with(&req, &mut buffers).unwrap();
            prop_assert_eq!(buffers.capacity(), (0, 0));
            prop_assert_eq!(billing::preview_json(&preview).unwrap(), canonical(&req));
            // A run the kept allocation had room for wrote into it (a larger run grew it).
            if let Some((ptr, room)) = kept {
                prop_assert!(preview.lines.capacity() >= room);
                if preview.lines.capacity() == room {
                    prop_assert_eq!(preview.lines.as_ptr().cast::<()>(), ptr.cast::<()>());
                }
            }
            let (ptr, line_room, held_room) =
                (preview.lines.as_ptr(), preview.lines.capacity(), preview.held.capacity());
            buffers.recycle(preview);
            // Recycling keeps each list's allocation, emptied.
            prop_assert_eq!(buffers.capacity(), (line_room, held_room));
            kept = Some((ptr.cast(), line_room));
        }
    }
}

// Bugs the properties found, each pinned by a plain test.

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    billwise_core::json::from_slice(v.to_string().as_bytes(), &Limits::default()).unwrap()
}

fn small_run(time_entries: serde_json::Value, expenses: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "contract": {
            "schema_version": 1, "kind": "contract", "id": "C-1", "account_id": "A-1",
            "legal_entity": "US01", "currency": "USD", "billing_model": "time_and_materials",
            "status": "active", "start_date": "2026-01-01", "end_date": "2026-12-31",
            "rate_card": {"entries": [{"role": "Consultant", "rate": {"amount": "150.00", "currency": "USD"}, "effective_from": "2026-01-01"}]},
            "expense_policy": {"billable_categories": ["travel"], "markup_percent": "10"}
        },
        "projects": [{
            "schema_version": 1, "kind": "project", "id": "P-1", "contract_id": "C-1",
            "legal_entity": "US01", "status": "active",
            "tasks": [{"id": "T-1", "name": "Delivery"}, {"id": "T-NB", "name": "Internal", "billable": false}]
        }],
        "time_entries": time_entries,
        "expenses": expenses,
        "period": {"start": "2026-03-01", "end": "2026-03-31"},
        "as_of": "2026-04-02"
    })
}

fn entry(hours: &str, task: &str) -> serde_json::Value {
    serde_json::json!([{"id": "TE-1", "project_id": "P-1", "task_id": task, "resource_id": "R-1",
        "role": "Consultant", "work_date": "2026-03-02", "hours": hours, "status": "approved"}])
}

fn commit(req: &PreviewInvoiceRequest, invoice: &str) -> billing::BilledLedger {
    api::commit_invoice(
        &CommitInvoiceRequest {
            schema_version: SchemaVersion,
            invoice_id: Id::new(invoice).unwrap(),
            run: req.clone(),
        },
        &Limits::default(),
    )
    .unwrap()
    .ledger
}

fn credit(
    ledger: billing::BilledLedger,
    id: &str,
    kind: &str,
    field: serde_json::Value,
) -> Result<billing::BilledLedger, billwise_core::Error> {
    let mut c = serde_json::json!({"credit_note_id": id, "kind": kind, "item_id": if kind == "time" { "TE-1" } else { "EX-1" }});
    c.as_object_mut()
        .unwrap()
        .extend(field.as_object().unwrap().clone());
    api::record_credit(
        &parse(serde_json::json!({"ledger": ledger, "currency": "USD", "credits": [c]})),
        &Limits::default(),
    )
}

#[test]
fn a_non_billable_task_is_reported_before_the_status_of_its_project() {
    let mut run = small_run(entry("8", "T-NB"), serde_json::json!([]));
    run["projects"][0]["status"] = "on_hold".into();
    let req: PreviewInvoiceRequest = parse(run);
    let p = billing::preview_invoice(&req).unwrap();
    assert_eq!(p.held.len(), 1);
    assert_eq!(p.held[0].reason, HoldReason::NotBillable);
    assert_eq!(
        p.held[0].sentence,
        "task T-NB of project P-1 is non-billable"
    );
}

#[test]
fn an_expense_credited_by_an_uneven_amount_is_never_billed_beyond_one_item() {
    let run = small_run(
        serde_json::json!([]),
        serde_json::json!([{"id": "EX-1", "project_id": "P-1", "date": "2026-03-03",
            "amount": {"amount": "36.38", "currency": "USD"}, "category": "travel", "status": "approved"}]),
    );
    let mut req: PreviewInvoiceRequest = parse(run);
    // 36.38 × 1.1 = 40.02; a credit of 10.00 gives back 10.00 ÷ 40.02 = 0.249875… of the item.
    let ledger = commit(&req, "INV-1");
    let ledger = credit(
        ledger,
        "CN-1",
        "expense",
        serde_json::json!({"amount": {"amount": "10.00", "currency": "USD"}}),
    )
    .unwrap();
    req.ledger = Some(ledger);
    let p = billing::preview_invoice(&req).unwrap();
    assert_eq!(p.lines.len(), 1);
    assert_eq!(p.lines[0].amount.amount, Decimal::new(1000, 2));
    assert_eq!(p.lines[0].quantity.0, Decimal::new(2499, 4));
    req.ledger = Some(commit(&req, "INV-2"));
    let index = billing::LedgerIndex::new(req.ledger.as_ref(), req.contract.currency).unwrap();
    let net = index.get(ItemKind::Expense, "EX-1").unwrap();
    // The ledger records the exact share billed again: one item, its full price.
    assert_eq!(net.quantity, Decimal::ONE);
    assert_eq!(net.amount, Decimal::new(4002, 2));
}

#[test]
fn a_credit_recorded_before_a_retroactive_rise_keeps_the_amount_it_gave_back() {
    let mut req: PreviewInvoiceRequest =
        parse(small_run(entry("20", "T-1"), serde_json::json!([])));
    // 20 h at 150.00 = 3000.00; 11 h credited gives back 1650.00, leaving 9 h and 1350.00.
    let ledger = commit(&req, "INV-1");
    req.ledger = Some(
        credit(
            ledger,
            "CN-1",
            "time",
            serde_json::json!({"quantity": "11"}),
        )
        .unwrap(),
    );
    // A retroactive rise to 165.00 adjusts the 9 h still billed: 9 × 15.00 = 135.00.
    req.change_orders = vec![parse(serde_json::json!({
        "schema_version": 1, "kind": "change_order", "id": "CO-1", "contract_id": "C-1", "sequence": 1,
        "status": "approved", "effective_date": "2026-03-01", "approved_on": "2026-03-20", "retroactive": true,
        "changes": [{"type": "set_rate", "role": "Consultant", "rate": {"amount": "165.00", "currency": "USD"}}]
    }))];
    req.time_entries[0].hours = Dec("9".parse().unwrap());
    let p = billing::preview_invoice(&req).unwrap();
    assert_eq!(p.adjustments.len(), 1);
    assert_eq!(p.adjustments[0].amount.amount, Decimal::new(13500, 2));
    req.ledger = Some(commit(&req, "INV-2"));
    let index = billing::LedgerIndex::new(req.ledger.as_ref(), req.contract.currency).unwrap();
    let net = index.get(ItemKind::Time, "TE-1").unwrap();
    // 9 h at 165.00, whatever order the ledger lists its bills and credits in.
    assert_eq!(net.quantity, Decimal::from(9));
    assert_eq!(net.amount, Decimal::new(148500, 2));
}

#[test]
fn after_a_credit_by_an_uneven_amount_a_rerun_after_commit_bills_nothing() {
    let mut req: PreviewInvoiceRequest =
        parse(small_run(entry("3.33", "T-1"), serde_json::json!([])));
    // 3.33 h at 150.00 = 499.50; a credit of 208.34 gives back 208.34 × 3.33 ÷ 499.50 h, which
    // does not terminate: 1.388933333333 h to 12 decimals.
    let ledger = commit(&req, "INV-1");
    let ledger = credit(
        ledger,
        "CN-1",
        "time",
        serde_json::json!({"amount": {"amount": "208.34", "currency": "USD"}}),
    )
    .unwrap();
    assert_eq!(
        ledger.credits[0].quantity,
        Some(Dec("1.388933333333".parse().unwrap()))
    );
    req.ledger = Some(ledger);
    req.time_entries[0].hours = Dec("6.66".parse().unwrap());
    req.ledger = Some(commit(&req, "INV-2"));
    let index = billing::LedgerIndex::new(req.ledger.as_ref(), req.contract.currency).unwrap();
    assert_eq!(
        index.get(ItemKind::Time, "TE-1").unwrap().quantity,
        "6.66".parse::<Decimal>().unwrap()
    );
    let again = billing::preview_invoice(&req).unwrap();
    assert!(again.lines.is_empty(), "{:?}", again.lines);
    assert_eq!(again.held[0].reason, HoldReason::AlreadyBilled);
}

#[test]
fn crediting_the_whole_amount_left_of_an_item_gives_back_every_hour_left_whatever_its_decimals() {
    let req: PreviewInvoiceRequest = parse(small_run(entry("8", "T-1"), serde_json::json!([])));
    // 8 h billed 1200.00; a credit of 0.3333333333335 h (50.00) leaves 7.6666666666665 h (13
    // decimals) and 1150.00; crediting all 1150.00 then gives back 7.6666666666665 h, not the
    // 7.666666666667 that rounding to 12 decimals alone would give (more than is billed).
    let ledger = commit(&req, "INV-1");
    let ledger = credit(
        ledger,
        "CN-1",
        "time",
        serde_json::json!({"quantity": "0.3333333333335"}),
    )
    .unwrap();
    assert_eq!(
        ledger.credits[0].amount.unwrap().amount,
        Decimal::new(5000, 2)
    );
    let ledger = credit(
        ledger,
        "CN-2",
        "time",
        serde_json::json!({"amount": {"amount": "1150.00", "currency": "USD"}}),
    )
    .unwrap();
    assert_eq!(
        ledger.credits[1].quantity,
        Some(Dec("7.6666666666665".parse().unwrap()))
    );
}

#[test]
fn a_credit_of_a_sliver_whose_amount_rounds_to_nothing_is_refused() {
    let req: PreviewInvoiceRequest = parse(small_run(entry("8", "T-1"), serde_json::json!([])));
    let ledger = commit(&req, "INV-1");
    let e = credit(
        ledger,
        "CN-1",
        "time",
        serde_json::json!({"quantity": "0.0000000000005"}),
    )
    .unwrap_err();
    assert_eq!(e.code.as_str(), "LEDGER_ZERO_CREDIT");
}

/// The generator is only as good as the paths it reaches: on 3000 fixed byte strings, every hold
/// reason, splits, adjustments, retainer excess and credits all occur in runs the run accepts.
#[test]
fn the_generator_reaches_every_reason_split_adjustment_and_credit() {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let mut bump = |k: String| *counts.entry(k).or_default() += 1;
    for bytes in fixed_byte_strings(1) {
        let Some(req) = accepted(&bytes) else {
            bump("refused".into());
            continue;
        };
        let p = billing::preview_invoice(&req).unwrap();
        for h in &p.held {
            bump(format!("{:?}", h.reason));
        }
        for l in &p.lines {
            bump(format!("{:?} line", l.kind));
            if l.ceiling_split {
                bump(format!("{:?} split", l.kind));
            }
        }
        if !p.adjustments.is_empty() {
            bump("adjustments".into());
        }
        if p.retainer
            .as_ref()
            .is_some_and(|r| !r.excess.amount.is_zero())
        {
            bump("retainer excess".into());
        }
        if req.ledger.as_ref().is_some_and(|l| !l.credits.is_empty()) {
            bump("credits".into());
        }
        if req.change_orders.len() > 1 {
            bump("change orders".into());
        }
    }
    let wanted = [
        "AlreadyBilled",
        "NotApproved",
        "NotBillable",
        "ProjectStatus",
        "OutsideContractPeriod",
        "OutsideBillingPeriod",
        "LegalEntityMismatch",
        "CurrencyMismatch",
        "MissingRate",
        "CeilingExceeded",
        "Time line",
        "Expense line",
        "Milestone line",
        "Time split",
        "adjustments",
        "credits",
        "change orders",
        "refused",
    ];
    for k in wanted {
        let n = counts.get(k).copied().unwrap_or(0);
        assert!(
            n >= 3,
            "the generator reached `{k}` {n} times in 3000 runs: {counts:?}"
        );
    }
}
