//! The billing run against an independent, naive reference, and its invariants, on random runs.
//!
//! `reference.rs` is written from `spec/domain/billing.md` and PRODUCT.md, not from
//! `core/src/billing`; `generate.rs` turns a byte string into a run with a ledger history;
//! `differential.rs` is one check from bytes, for a fuzz target to include (see its header).
//!
//! Case counts: `BILLWISE_PROPTEST_CASES` (default 2000 differential cases; the invariant tests run
//! a third of that each, the sequences a sixth). Failures are persisted by proptest under
//! `core/tests/billing_reference/main.proptest-regressions` (committed) and replayed first.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod differential;
mod generate;
mod reference;

use std::collections::BTreeMap;

use billwise_core::api::{self, CommitInvoiceRequest};
use billwise_core::billing::{self, HoldReason, ItemKind, PreviewInvoiceRequest};
use billwise_core::json::{Limits, to_canonical_string};
use billwise_core::model::{Dec, Id, SchemaVersion};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rust_decimal::Decimal;

// A test may read its environment: the case count is a knob for long runs, not an input of the core.
#[allow(clippy::disallowed_methods)]
fn cases(divisor: u32) -> u32 {
    let n = std::env::var("BILLWISE_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(2000);
    (n / divisor).max(1)
}

fn config(divisor: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(divisor),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/billing_reference/main.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

fn choices() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..400)
}

use differential::request;

fn canonical(req: &PreviewInvoiceRequest) -> String {
    to_canonical_string(&billing::preview_invoice(req).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn the_billing_run_agrees_with_the_naive_reference(bytes in choices()) {
        if let Err(e) = differential::check(&bytes) {
            prop_assert!(false, "{}", e);
        }
    }
}

proptest! {
    // Each case runs up to eight steps, each checked against the reference: a sixth of the count.
    #![proptest_config(config(6))]

    #[test]
    fn any_sequence_of_commits_credits_and_more_hours_agrees_with_the_reference_and_never_overbills(
        bytes in choices(),
        steps in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        if let Err(e) = differential::check_sequence(&bytes, &steps) {
            prop_assert!(false, "{}", e);
        }
    }
}

proptest! {
    #![proptest_config(config(3))]

    #[test]
    fn every_held_item_has_a_reason_and_a_sentence_and_the_summary_counts_them(bytes in choices()) {
        let req = request(&bytes);
        let p = billing::preview_invoice(&req).unwrap();
        let mut by_reason: BTreeMap<HoldReason, (u64, Decimal)> = BTreeMap::new();
        for h in &p.held {
            let s = &*h.sentence.to_str();
            prop_assert!(!s.is_empty(), "{} has no sentence", h.id);
            prop_assert!(!s.ends_with('.'), "{:?} ends with a period", s);
            prop_assert!(s.chars().next().is_some_and(|c| !c.is_uppercase()), "{:?} starts in upper case", s);
            // The sentence names the item, or the value that held it: its project, task, role or
            // category.
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
    fn lines_sum_to_the_totals_and_the_ceiling_is_never_exceeded(bytes in choices()) {
        let req = request(&bytes);
        let p = billing::preview_invoice(&req).unwrap();
        let sum = |k: ItemKind| -> Decimal {
            p.lines.iter().filter(|l| l.kind == k).map(|l| l.amount.amount).sum()
        };
        let adjustments: Decimal = p.adjustments.iter().map(|a| a.amount.amount).sum();
        prop_assert_eq!(p.totals.time.amount, sum(ItemKind::Time));
        prop_assert_eq!(p.totals.expenses.amount, sum(ItemKind::Expense));
        prop_assert_eq!(p.totals.milestones.amount, sum(ItemKind::Milestone));
        prop_assert_eq!(p.totals.adjustments.amount, adjustments);
        let lines: Decimal = p.lines.iter().map(|l| l.amount.amount).sum();
        prop_assert_eq!(
            p.totals.total.amount,
            lines + adjustments + p.totals.retainer_drawdown.amount
        );
        for l in &p.lines {
            prop_assert_eq!(
                l.amount.amount,
                l.amount.amount.round_dp(req.contract.currency.minor_units()),
                "a line is rounded to the minor unit"
            );
        }
        if let Some(c) = &p.ceiling
            && c.billed_before.amount <= c.limit.amount {
                prop_assert!(
                    c.billed_before.amount + c.this_run.amount <= c.limit.amount,
                    "{} + {} > {}\n{}\n{}", c.billed_before.amount, c.this_run.amount, c.limit.amount, to_canonical_string(&p).unwrap(), to_canonical_string(&req).unwrap()
                );
                prop_assert!(c.remaining.amount >= Decimal::ZERO);
            }
    }

    #[test]
    fn every_item_is_billed_or_held_exactly_once_and_a_split_appears_in_both(bytes in choices()) {
        let req = request(&bytes);
        let p = billing::preview_invoice(&req).unwrap();
        let mut seen: BTreeMap<(ItemKind, String), (u32, u32)> = BTreeMap::new();
        for l in &p.lines {
            prop_assert_eq!(l.source_ids.len(), 1);
            seen.entry((l.kind, l.source_ids[0].as_str().to_owned())).or_default().0 += 1;
        }
        // A held adjustment is not an item: its item is billed or held besides.
        for h in p.held.iter().filter(|h| h.change_order_id.is_none()) {
            seen.entry((h.kind, h.id.as_str().to_owned())).or_default().1 += 1;
        }
        let mut inputs: Vec<(ItemKind, String)> = Vec::new();
        inputs.extend(req.time_entries.iter().map(|t| (ItemKind::Time, t.id.as_str().to_owned())));
        inputs.extend(req.expenses.iter().map(|e| (ItemKind::Expense, e.id.as_str().to_owned())));
        let milestones = match &req.milestones {
            Some(ms) => ms.clone(),
            None => reference::milestones_as_amended(&req),
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
    fn the_result_does_not_depend_on_input_order_and_is_byte_identical(bytes in choices(), seed in any::<u64>()) {
        let req = request(&bytes);
        let first = canonical(&req);
        prop_assert_eq!(&first, &canonical(&req));
        let mut shuffled = req.clone();
        let mut s = seed;
        let mut next = move |n: usize| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            usize::try_from(s >> 33).unwrap() % n.max(1)
        };
        for i in (1..shuffled.time_entries.len()).rev() { let j = next(i + 1); shuffled.time_entries.swap(i, j); }
        for i in (1..shuffled.expenses.len()).rev() { let j = next(i + 1); shuffled.expenses.swap(i, j); }
        for i in (1..shuffled.projects.len()).rev() { let j = next(i + 1); shuffled.projects.swap(i, j); }
        for i in (1..shuffled.change_orders.len()).rev() { let j = next(i + 1); shuffled.change_orders.swap(i, j); }
        for i in (1..shuffled.contract.rate_card.entries.len()).rev() { let j = next(i + 1); shuffled.contract.rate_card.entries.swap(i, j); }
        prop_assert_eq!(&first, &canonical(&shuffled));
        // The JSON text round-trips to the same bytes.
        let text = to_canonical_string(&req).unwrap();
        let reparsed: PreviewInvoiceRequest =
            billwise_core::json::from_slice(text.as_bytes(), &Limits::default()).unwrap();
        prop_assert_eq!(&first, &canonical(&reparsed));
    }

    #[test]
    fn runs_that_share_recycled_buffers_give_the_bytes_of_fresh_runs_and_reuse_their_memory(
        runs in prop::collection::vec(choices(), 1..6),
    ) {
        let mut buffers = billing::PreviewBuffers::new();
        // The lines' allocation the buffers hold, from the run before.
        let mut kept: Option<(*const billing::PreviewLine<'static>, usize)> = None;
        for bytes in &runs {
            let req = request(bytes);
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

    #[test]
    fn no_item_is_ever_billed_beyond_its_rounded_worked_quantity(bytes in choices()) {
        // History, then this run committed, then the same run again committed: the ledger never
        // holds more than delivered for any item.
        let mut req = request(&bytes);
        let limits = Limits::default();
        for n in 0..2 {
            let committed = api::commit_invoice(
                &CommitInvoiceRequest {
                    schema_version: SchemaVersion,
                    invoice_id: Id::new(format!("INV-FINAL-{n}")).unwrap(),
                    run: req.clone(),
                },
                &limits,
            )
            .unwrap();
            req.ledger = Some(committed.ledger);
            let ledger = req.ledger.as_ref().unwrap();
            for te in &req.time_entries {
                let delivered = reference::rounded_hours_of(&req, te.hours);
                let index = billing::LedgerIndex::new(Some(ledger), req.contract.currency).unwrap();
                let net = index.get(ItemKind::Time, te.id.as_str()).map_or(Decimal::ZERO, |n| n.quantity);
                prop_assert!(net <= delivered, "{}: {} billed of {}; ledger {}", te.id, net, delivered, to_canonical_string(ledger).unwrap());
            }
            for e in &ledger.entries {
                if e.kind != ItemKind::Time {
                    let index = billing::LedgerIndex::new(Some(ledger), req.contract.currency).unwrap();
                    let net = index.get(e.kind, e.item_id.as_str()).map_or(Decimal::ZERO, |n| n.quantity);
                    prop_assert!(net <= Decimal::ONE, "{}: {} billed; ledger {}", e.item_id, net, to_canonical_string(ledger).unwrap());
                }
            }
        }
        // After committing, a rerun bills nothing new.
        let again = billing::preview_invoice(&req).unwrap();
        prop_assert!(again.lines.is_empty() && again.adjustments.is_empty(),
            "a rerun after commit billed {:?} {:?}",
            again.lines.iter().map(|l| (&l.source_ids, l.amount.amount)).collect::<Vec<_>>(),
            again.adjustments.iter().map(|a| (&a.item_id, a.amount.amount)).collect::<Vec<_>>());
        prop_assert_eq!(again.totals.total.amount, Decimal::ZERO);
    }
}

// Bugs the properties found, each pinned by a plain test.

fn parse<T: serde::de::DeserializeOwned + 'static>(v: serde_json::Value) -> T {
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
            "legal_entity": "US01", "status": "on_hold",
            "tasks": [{"id": "T-1", "name": "Delivery"}, {"id": "T-NB", "name": "Internal", "billable": false}]
        }],
        "time_entries": time_entries,
        "expenses": expenses,
        "period": {"start": "2026-03-01", "end": "2026-03-31"},
        "as_of": "2026-04-02"
    })
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

#[test]
fn a_non_billable_task_is_reported_before_the_status_of_its_project() {
    let req: PreviewInvoiceRequest = parse(small_run(
        serde_json::json!([{"id": "TE-1", "project_id": "P-1", "task_id": "T-NB", "resource_id": "R-1",
            "role": "Consultant", "work_date": "2026-03-02", "hours": "8", "status": "approved"}]),
        serde_json::json!([]),
    ));
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
    let mut run = small_run(
        serde_json::json!([]),
        serde_json::json!([{"id": "EX-1", "project_id": "P-1", "date": "2026-03-03",
            "amount": {"amount": "36.38", "currency": "USD"}, "category": "travel", "status": "approved"}]),
    );
    run["projects"][0]["status"] = "active".into();
    let mut req: PreviewInvoiceRequest = parse(run);
    // 36.38 × 1.1 = 40.02; a credit of 10.00 gives back 10.00 ÷ 40.02 = 0.249875… of the item.
    let ledger = commit(&req, "INV-1");
    let ledger = api::record_credit(
        &parse(serde_json::json!({"ledger": ledger, "currency": "USD", "credits": [
            {"credit_note_id": "CN-1", "kind": "expense", "item_id": "EX-1", "amount": {"amount": "10.00", "currency": "USD"}}]})),
        &Limits::default(),
    )
    .unwrap();
    req.ledger = Some(ledger);
    let p = billing::preview_invoice(&req).unwrap();
    assert_eq!(p.lines.len(), 1);
    assert_eq!(p.lines[0].amount.amount, Decimal::new(1000, 2));
    assert_eq!(p.lines[0].quantity.0, Decimal::new(2498, 4));
    req.ledger = Some(commit(&req, "INV-2"));
    let index = billing::LedgerIndex::new(req.ledger.as_ref(), req.contract.currency).unwrap();
    let net = index.get(ItemKind::Expense, "EX-1").unwrap();
    assert!(
        net.quantity <= Decimal::ONE,
        "{} items billed",
        net.quantity
    );
    assert_eq!(net.amount, Decimal::new(4002, 2));
}

#[test]
fn a_credit_recorded_before_a_retroactive_rise_keeps_the_amount_it_gave_back() {
    let mut run = small_run(
        serde_json::json!([{"id": "TE-1", "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1",
            "role": "Consultant", "work_date": "2026-03-02", "hours": "20", "status": "approved"}]),
        serde_json::json!([]),
    );
    run["projects"][0]["status"] = "active".into();
    let mut req: PreviewInvoiceRequest = parse(run);
    // 20 h at 150.00 = 3000.00; 11 h credited gives back 1650.00, leaving 9 h and 1350.00.
    let ledger = commit(&req, "INV-1");
    req.ledger = Some(
        api::record_credit(
            &parse(
                serde_json::json!({"ledger": ledger, "currency": "USD", "credits": [
                {"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1", "quantity": "11"}]}),
            ),
            &Limits::default(),
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
    let entry = |hours: &str| {
        serde_json::json!([{"id": "TE-1", "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1",
            "role": "Consultant", "work_date": "2026-03-02", "hours": hours, "status": "approved"}])
    };
    let mut run = small_run(entry("3.33"), serde_json::json!([]));
    run["projects"][0]["status"] = "active".into();
    let mut req: PreviewInvoiceRequest = parse(run);
    // 3.33 h at 150.00 = 499.50; a credit of 208.34 gives back 208.34 × 3.33 ÷ 499.50 h, which
    // does not terminate: 1.388933333333 h to 12 decimals.
    let ledger = commit(&req, "INV-1");
    let ledger: billing::BilledLedger = api::record_credit(
        &parse(serde_json::json!({"ledger": ledger, "currency": "USD", "credits": [
            {"credit_note_id": "CN-1", "kind": "time", "item_id": "TE-1", "amount": {"amount": "208.34", "currency": "USD"}}]})),
        &Limits::default(),
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

/// The generator is only as good as the paths it reaches: on 3000 fixed byte strings, every hold
/// reason, splits, adjustments, retainer excess and credits all occur.
#[test]
fn the_generator_reaches_every_reason_split_adjustment_and_credit() {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let mut bump = |k: String| *counts.entry(k).or_default() += 1;
    let mut s: u64 = 1;
    for _ in 0..3000 {
        let bytes: Vec<u8> = (0..400)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 33) as u8
            })
            .collect();
        let req = request(&bytes);
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
    }
    let reasons = [
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
    ];
    for k in reasons.iter().map(|r| r.to_string()).chain(
        [
            "Time line",
            "Expense line",
            "Milestone line",
            "Time split",
            "Milestone split",
            "adjustments",
            "retainer excess",
            "credits",
        ]
        .map(String::from),
    ) {
        let n = counts.get(&k).copied().unwrap_or(0);
        assert!(
            n >= 3,
            "the generator reached `{k}` {n} times in 3000 runs: {counts:?}"
        );
    }
}

#[test]
fn crediting_the_whole_amount_left_of_an_item_is_accepted_whatever_its_decimals() {
    let mut run = small_run(
        serde_json::json!([{"id": "TE-1", "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1",
            "role": "Consultant", "work_date": "2026-03-02", "hours": "8", "status": "approved"}]),
        serde_json::json!([]),
    );
    run["projects"][0]["status"] = "active".into();
    let req: PreviewInvoiceRequest = parse(run);
    // 8 h billed 1200.00; a credit of 0.0000000000005 h leaves 7.9999999999995 h (13 decimals)
    // and 1200.00; crediting all 1200.00 then gives back 7.9999999999995 h, not the 8.000000000000
    // that rounding to 12 decimals alone would give (more than is billed, and refused).
    let ledger = commit(&req, "INV-1");
    let credit = |ledger: billing::BilledLedger, id: &str, field: serde_json::Value| {
        let mut c = serde_json::json!({"credit_note_id": id, "kind": "time", "item_id": "TE-1"});
        c.as_object_mut()
            .unwrap()
            .extend(field.as_object().unwrap().clone());
        api::record_credit(
            &parse(serde_json::json!({"ledger": ledger, "currency": "USD", "credits": [c]})),
            &Limits::default(),
        )
    };
    let ledger = credit(
        ledger,
        "CN-1",
        serde_json::json!({"quantity": "0.0000000000005"}),
    )
    .unwrap();
    let ledger = credit(
        ledger,
        "CN-2",
        serde_json::json!({"amount": {"amount": "1200.00", "currency": "USD"}}),
    )
    .unwrap();
    assert_eq!(
        ledger.credits[1].quantity,
        Some(Dec("7.9999999999995".parse().unwrap()))
    );
}
