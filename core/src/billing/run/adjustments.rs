//! Adjustment lines: billed time re-priced by a retroactive change order
//! (`spec/domain/billing.md`, "Retroactive change orders"). Which change order re-prices an item,
//! and at which rate, is [`changes::repricing`], the rule `apply_change_order` uses too; this
//! module turns its answer into lines (or, when no rate is left, into held items).

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::Run;
use crate::billing::text::Text;
use crate::billing::types::{AdjustmentLine, HeldItem, HoldReason, ItemKind};
use crate::changes::{self, ItemRepricing};
use crate::error::{Error, Pointer};
use crate::model::{Dec, Money};

/// What the ledger's billed time needs: adjustment lines (by date and item), each with the part
/// of it that counts against the ceiling, and adjustments no rate can price (held as
/// `missing_rate`, by date and item).
pub(super) struct Adjustments<'a> {
    pub(super) lines: Vec<(AdjustmentLine, Decimal)>,
    pub(super) unpriced: Vec<HeldItem<'a>>,
}

impl<'a> Run<'a> {
    /// Every billed time item a retroactive change order later than the version that last
    /// billed it re-prices.
    pub(super) fn adjustments(&self) -> Result<Adjustments<'a>, Error> {
        let mut out = Adjustments {
            lines: Vec::new(),
            unpriced: Vec::new(),
        };
        let history = self.terms.history();
        // Only a retroactive change order that changes rates can re-price billed work; a billed
        // item is looked at only when one came after the version that last billed it.
        let repricing = history.repricing_versions();
        let Some(&latest) = repricing.last() else {
            return Ok(out);
        };
        if !self.ledger.has_time() {
            return Ok(out);
        }
        // A bill that does not record its role, resource or task is read from the run's entry.
        let entries = crate::billing::time_entries_by_id(&self.req.time_entries);
        let at = Pointer::root().key("ledger").key("entries");
        let until = history.version();
        for (kind, id, net) in self.ledger.iter() {
            if kind != ItemKind::Time || latest <= net.contract_version {
                continue;
            }
            let Some(bill) = self.ledger.last_entry(net) else {
                continue;
            };
            let repriced = changes::reprice_item(
                history,
                bill,
                entries.get(id).copied(),
                net,
                net.contract_version,
                until,
                &at.index(net.last_entry),
            )?;
            match repriced {
                None => {}
                Some(ItemRepricing::Unpriced {
                    change_order_id,
                    role,
                    ..
                }) => out.unpriced.push(HeldItem {
                    amount: None,
                    change_order_id: Some(Cow::Owned(change_order_id.clone())),
                    date: bill.date,
                    id: Cow::Owned(bill.item_id.clone()),
                    kind: ItemKind::Time,
                    problems: Vec::new(),
                    reason: HoldReason::MissingRate,
                    sentence: Text::from(format!(
                        "{change_order_id} leaves time entry {} ({role}, {}) without a rate; its adjustment needs a person to decide",
                        bill.item_id, bill.date
                    )),
                }),
                Some(ItemRepricing::Adjust {
                    version,
                    change_order_id,
                    rate,
                    rate_source,
                    delta,
                    ..
                }) => {
                    let against =
                        crate::ledger::adjustment_ceiling_part(delta.amount, net.against_ceiling);
                    out.lines.push((
                        AdjustmentLine {
                            item_id: bill.item_id.clone(),
                            date: bill.date,
                            change_order_id: change_order_id.clone(),
                            quantity: Dec(net.quantity),
                            rate_before: Money::new(net.unit_price, self.pricing.currency),
                            rate_after: rate,
                            amount: delta,
                            contract_version: version,
                            rate_source: rate_source.to_owned(),
                        },
                        against,
                    ));
                }
            }
        }
        out.lines
            .sort_unstable_by(|(a, _), (b, _)| (a.date, &a.item_id).cmp(&(b.date, &b.item_id)));
        out.unpriced
            .sort_by(|a, b| (a.date, a.id.as_str()).cmp(&(b.date, b.id.as_str())));
        Ok(out)
    }
}
