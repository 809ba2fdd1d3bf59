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

use billwise_core::billing::{self, ItemKind, PreviewInvoiceRequest};
use billwise_core::json::to_canonical_string;
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
    let req = request(bytes);
    let json = || to_canonical_string(&req).unwrap_or_default();
    let p = billing::preview_invoice(&req).map_err(|e| {
        format!(
            "preview refused a generated run: {e:?}\nrequest: {}",
            json()
        )
    })?;
    let got = reference::observe(&p);
    let want = reference::reference(&req);
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
