//! One differential check of the billing run, from a byte string: the entry point a fuzz target
//! can reuse.
//!
//! The three files `generate.rs`, `reference.rs` and this one depend only on `billwise_core` and
//! `rust_decimal`. Another crate (a `cargo fuzz` target, say) includes them at its crate root:
//!
//! ```ignore
//! #[path = "../../core/tests/billing_reference/generate.rs"]
//! mod generate;
//! #[path = "../../core/tests/billing_reference/reference.rs"]
//! mod reference;
//! #[path = "../../core/tests/billing_reference/differential.rs"]
//! mod differential;
//!
//! libfuzzer_sys::fuzz_target!(|data: &[u8]| {
//!     if let Err(e) = differential::check(data) {
//!         panic!("{e}");
//!     }
//! });
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use billwise_core::api::{self, CommitInvoiceRequest, RecordCreditRequest};
use billwise_core::billing::{self, ItemKind, LedgerCredit, PreviewInvoiceRequest};
use billwise_core::json::{Limits, to_canonical_string};
use billwise_core::model::{Dec, Money, SchemaVersion};
use rust_decimal::Decimal;

use crate::generate::{self, Picker};
use crate::reference;

/// The billing run the bytes choose, with a ledger history of earlier commits and credits.
pub fn request(bytes: &[u8]) -> PreviewInvoiceRequest {
    let mut p = Picker::new(bytes);
    let req = generate::run(&mut p);
    generate::with_history(&mut p, req)
}

/// Runs the billing run the bytes choose through `preview_invoice` and the naive reference, and
/// checks that they agree and that the preview's lines add up to its totals. The error names the
/// difference and carries the request as canonical JSON.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    check_request(&request(bytes))
}

/// `check` for one request.
pub fn check_request(req: &PreviewInvoiceRequest) -> Result<(), String> {
    let json = || to_canonical_string(req).unwrap_or_default();
    let p = billing::preview_invoice(req).map_err(|e| {
        format!(
            "preview refused a generated run: {e:?}\nrequest: {}",
            json()
        )
    })?;
    // The hand-written JSON of the preview is serde's, byte for byte.
    if billing::preview_json(&p).ok() != to_canonical_string(&p).ok() {
        return Err(format!(
            "preview_json and to_canonical_string disagree\nrequest: {}",
            json()
        ));
    }
    let got = reference::observe(&p);
    let want = reference::reference(req);
    if got != want {
        return Err(format!(
            "the billing run and the reference disagree\n  run:       {got:?}\n  reference: {want:?}\nrequest: {}",
            json()
        ));
    }
    let sum = |k: Option<ItemKind>| -> Decimal {
        p.lines
            .iter()
            .filter(|l| k.is_none_or(|k| l.kind == k))
            .map(|l| l.amount.amount)
            .sum()
    };
    let adjustments: Decimal = p.adjustments.iter().map(|a| a.amount.amount).sum();
    let t = &p.totals;
    let pairs = [
        ("time", t.time.amount, sum(Some(ItemKind::Time))),
        ("expenses", t.expenses.amount, sum(Some(ItemKind::Expense))),
        (
            "milestones",
            t.milestones.amount,
            sum(Some(ItemKind::Milestone)),
        ),
        ("adjustments", t.adjustments.amount, adjustments),
        (
            "total",
            t.total.amount,
            sum(None) + adjustments + t.retainer_drawdown.amount,
        ),
    ];
    for (what, total, lines) in pairs {
        if total != lines {
            return Err(format!(
                "the {what} total {total} is not the sum of its lines {lines}\nrequest: {}",
                json()
            ));
        }
    }
    Ok(())
}

/// The run the bytes choose, then a sequence of steps the `steps` bytes choose: commit the run,
/// credit part of what the ledger shows billed (by quantity or by amount), or log one more hour on
/// an entry. After every step the run must agree with the reference and the ledger must hold no
/// item beyond what was delivered; after a last commit, running again must bill nothing.
pub fn check_sequence(bytes: &[u8], steps: &[u8]) -> Result<(), String> {
    let mut req = request(bytes);
    let mut p = Picker::new(steps);
    let limits = Limits::default();
    let count = p.below(8);
    for n in 0..=count {
        let last = n == count;
        match if last { 0 } else { p.below(4) } {
            0 | 1 => {
                let committed = api::commit_invoice(
                    &CommitInvoiceRequest {
                        schema_version: SchemaVersion,
                        invoice_id: generate::id(&format!("INV-S{n}")),
                        run: req.clone(),
                    },
                    &limits,
                )
                .map_err(|e| format!("commit refused a generated run: {e:?}"))?;
                req.ledger = Some(committed.ledger);
            }
            2 => {
                let Some(ledger) = req.ledger.clone() else {
                    continue;
                };
                let index = billing::LedgerIndex::new(Some(&ledger), req.contract.currency)
                    .map_err(|e| format!("{e:?}"))?;
                let mut credits = Vec::new();
                for (i, (kind, item, net)) in index.iter().enumerate() {
                    if net.quantity <= Decimal::ZERO || net.amount <= Decimal::ZERO || !p.chance(50)
                    {
                        continue;
                    }
                    let share = generate::dec(p.pick(&["0.5", "1", "0.25"]));
                    let by_amount = p.chance(50);
                    let cur = req.contract.currency;
                    credits.push(LedgerCredit {
                        credit_note_id: generate::id(&format!("CN-S{n}-{i}")),
                        kind,
                        item_id: generate::id(item),
                        quantity: (!by_amount).then(|| Dec(net.quantity * share)),
                        amount: by_amount.then(|| {
                            Money::new((net.amount * share).round_dp(cur.minor_units()), cur)
                        }),
                        ceiling_share: None,
                    });
                }
                if credits.is_empty() {
                    continue;
                }
                let after = api::record_credit(
                    &RecordCreditRequest {
                        schema_version: SchemaVersion,
                        ledger,
                        currency: req.contract.currency,
                        credits,
                    },
                    &limits,
                )
                .map_err(|e| format!("a credit within what is billed was refused: {e:?}"))?;
                req.ledger = Some(after);
            }
            _ => {
                let n = req.time_entries.len();
                if n > 0 {
                    let at = p.below(n);
                    let te = &mut req.time_entries[at];
                    te.hours = Dec(te.hours.0 + Decimal::ONE);
                }
            }
        }
        check_request(&req)?;
        check_ledger(&req)?;
    }
    let again = billing::preview_invoice(&req).map_err(|e| format!("{e:?}"))?;
    if !again.lines.is_empty() || !again.adjustments.is_empty() {
        return Err(format!(
            "a run after a commit billed again: {:?} {:?}\nrequest: {}",
            again
                .lines
                .iter()
                .map(|l| (&l.source_ids, l.amount.amount))
                .collect::<Vec<_>>(),
            again
                .adjustments
                .iter()
                .map(|a| (&a.item_id, a.amount.amount))
                .collect::<Vec<_>>(),
            to_canonical_string(&req).unwrap_or_default()
        ));
    }
    Ok(())
}

/// The ledger holds no time entry beyond its hours (rounded as they bill), no expense or milestone
/// beyond one item, and no negative net amount.
pub fn check_ledger(req: &PreviewInvoiceRequest) -> Result<(), String> {
    let Some(ledger) = &req.ledger else {
        return Ok(());
    };
    let index = billing::LedgerIndex::new(Some(ledger), req.contract.currency)
        .map_err(|e| format!("{e:?}"))?;
    for (kind, item, net) in index.iter() {
        let most = match kind {
            ItemKind::Time => match req.time_entries.iter().find(|t| t.id.as_str() == item) {
                Some(te) => reference::rounded_hours_of(req, te.hours),
                None => continue,
            },
            ItemKind::Expense | ItemKind::Milestone => Decimal::ONE,
        };
        if net.quantity > most || net.amount < Decimal::ZERO {
            return Err(format!(
                "{kind:?} {item} is billed {} for {} (at most {most})\nledger: {}",
                net.quantity,
                net.amount,
                to_canonical_string(ledger).unwrap_or_default()
            ));
        }
    }
    Ok(())
}
