//! Contract versions and change orders.
//!
//! The rules are in `spec/domain/change-orders.md`. A [`ContractHistory`] is a contract (version 0)
//! plus its approved change orders, one version each, in sequence. Rate changes apply to work dated
//! on or after a change order's `effective_date`; ceiling, end-date, markup and milestone changes
//! apply from its `approved_on` ([`ContractHistory::terms_at`]). The history keeps the rates of its
//! latest version compiled, so [`ContractHistory::resolve`] is a look-up.

mod apply;
mod lifecycle;
mod retro;

pub use apply::{Amendment, Impact, RateChange, apply_change_order};
pub use lifecycle::{CHANGE_ORDER_FINAL_STATES, ChangeOrderEvent, transition};
pub use retro::{Adjustment, retroactive_adjustments};

use serde::Serialize;

use crate::error::{Error, ErrorCode, Pointer};
use crate::model::{
    Ceiling, ChangeOrder, ChangeOrderStatus, Contract, Currency, Date, Dec, Id, Milestone, Money,
    RoundingMode,
};
use crate::rates::{CompiledCard, RateQuery, RateResolution, RateRule};

/// The terms other than rates that a change order can change; in force from its approval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Terms {
    /// The last day of the contract period.
    pub end_date: Date,
    /// The not-to-exceed, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<Ceiling>,
    /// The expense markup, in percent.
    pub expense_markup_percent: Dec,
    /// The milestones.
    pub milestones: Vec<Milestone>,
}

/// One version of a contract: the original (0) or the result of change order `n` (version `n`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ContractVersion {
    /// 0 for the original contract, `n` after the change order with sequence `n`.
    pub version: u32,
    /// The change order that made this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_order_id: Option<Id>,
    /// Its rate changes apply to work dated on or after this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<Date>,
    /// Its other terms apply from this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_on: Option<Date>,
    /// Whether billed work on or after `effective_date` is re-priced by adjustment lines.
    pub retroactive: bool,
    /// The terms of this version.
    pub terms: Terms,
    /// Hours in a billable day, for day rates.
    pub hours_per_day: Dec,
    /// Every dated rate of this version.
    pub rates: Vec<RateRule>,
}

/// A contract and its approved change orders, with the latest version's rates compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractHistory {
    contract_id: Id,
    currency: Currency,
    start_date: Date,
    rounding: RoundingMode,
    fixed_fee: Option<Money>,
    original: ContractVersion,
    amendments: Vec<ContractVersion>,
    card: CompiledCard,
}

impl ContractHistory {
    /// Builds the history of `contract` with `change_orders` (approved or applied, sequences
    /// 1..n, in any order). Error paths point into `{contract, change_orders}`.
    pub fn new(
        contract: &Contract,
        change_orders: &[ChangeOrder],
    ) -> Result<ContractHistory, Error> {
        crate::rates::usable_rate_card(&contract.rate_card, contract.currency)?;
        let root = Pointer::root().key("contract");
        let v0 = ContractVersion {
            version: 0,
            change_order_id: None,
            effective_date: None,
            approved_on: None,
            retroactive: false,
            terms: Terms {
                end_date: contract.end_date,
                ceiling: contract.ceiling.clone(),
                expense_markup_percent: contract.expense_policy.markup_percent,
                milestones: contract.milestones.clone(),
            },
            hours_per_day: contract.rate_card.hours_per_day,
            rates: contract
                .rate_card
                .entries
                .iter()
                .map(RateRule::from_entry)
                .collect(),
        };
        let mut history = ContractHistory {
            contract_id: contract.id.clone(),
            currency: contract.currency,
            start_date: contract.start_date,
            rounding: contract.rounding.mode,
            fixed_fee: contract.fixed_fee,
            card: CompiledCard::new(v0.rates.clone(), v0.hours_per_day.0, 0),
            original: v0,
            amendments: Vec::new(),
        };
        let cos = Pointer::root().key("change_orders");
        let mut order: Vec<(usize, &ChangeOrder)> = change_orders.iter().enumerate().collect();
        order.sort_by_key(|(i, co)| (co.sequence, *i));
        for pair in order.windows(2) {
            if let [(_, a), (j, b)] = pair
                && a.sequence == b.sequence
            {
                return Err(Error::new(
                    ErrorCode::ChangesDuplicateSequence,
                    format!(
                        "change orders `{}` and `{}` both have sequence {}",
                        a.id, b.id, b.sequence
                    ),
                )
                .at(cos.index(*j).key("sequence")));
            }
        }
        for (k, id) in contract.change_orders.iter().enumerate() {
            if order.get(k).map(|(_, co)| &co.id) != Some(id) {
                return Err(Error::new(
                    ErrorCode::ChangesHistoryMismatch,
                    format!(
                        "the contract lists `{id}` as applied change order {} but it is not the change order given with sequence {}",
                        k + 1,
                        k + 1
                    ),
                )
                .at(root.key("change_orders").index(k)));
            }
        }
        let mut next: Vec<ContractVersion> = Vec::with_capacity(order.len());
        for (i, co) in order {
            let at = cos.index(i);
            if !matches!(
                co.status,
                ChangeOrderStatus::Approved | ChangeOrderStatus::Applied
            ) {
                return Err(Error::new(
                    ErrorCode::ChangesNotApproved,
                    format!(
                        "change order `{}` is `{}`; only approved or applied change orders make contract versions",
                        co.id, co.status
                    ),
                )
                .at(at.key("status")));
            }
            let prev = next.last().unwrap_or(&history.original);
            let v = apply::next_version(&history, prev, co, &at, None)?;
            next.push(v);
        }
        if !next.is_empty() {
            history.amendments = next;
            history.recompile();
        }
        Ok(history)
    }

    fn recompile(&mut self) {
        let v = self.current();
        self.card = CompiledCard::new(v.rates.clone(), v.hours_per_day.0, v.version);
    }

    /// The contract id.
    pub fn contract_id(&self) -> &Id {
        &self.contract_id
    }

    /// The contract currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The contract's rounding mode.
    pub fn rounding(&self) -> RoundingMode {
        self.rounding
    }

    /// The latest version number (0 when no change order is applied).
    pub fn version(&self) -> u32 {
        self.current().version
    }

    /// The latest version.
    pub fn current(&self) -> &ContractVersion {
        self.amendments.last().unwrap_or(&self.original)
    }

    /// Every version, 0 first.
    pub fn versions(&self) -> impl DoubleEndedIterator<Item = &ContractVersion> {
        std::iter::once(&self.original).chain(self.amendments.iter())
    }

    /// The version whose terms (ceiling, end date, markup, milestones) are in force on `date`:
    /// the latest version approved on or before `date` (version 0 before any approval).
    pub fn terms_at(&self, date: Date) -> &ContractVersion {
        self.amendments
            .iter()
            .rev()
            .find(|v| v.approved_on.is_none_or(|a| a <= date))
            .unwrap_or(&self.original)
    }

    /// The compiled rates of the latest version.
    pub fn card(&self) -> &CompiledCard {
        &self.card
    }

    /// Resolves the rate for one piece of work (no allocation).
    #[inline]
    pub fn resolve(&self, q: &RateQuery<'_>) -> RateResolution<'_> {
        self.card.resolve(q)
    }

    fn push(&mut self, v: ContractVersion) {
        self.amendments.push(v);
        self.recompile();
    }
}
