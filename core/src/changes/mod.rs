//! Contract versions and change orders: the contract as amended, in one place.
//!
//! The rules are in `spec/domain/change-orders.md`. A [`ContractHistory`] is a contract (version 0)
//! plus its approved change orders, one version each, in sequence. Rate and markup changes apply to
//! work and expenses dated on or after a change order's `effective_date`; ceiling, end-date and
//! milestone changes apply from the day it is in force, the later of its `approved_on` and its
//! predecessors' ([`ContractHistory::terms_at`]). Every operation
//! that reads a contract with its change orders builds this history: `resolve_rate` and
//! `apply_change_order` with [`ContractHistory::new`], a billing run (and the engine's) with
//! [`ContractHistory::as_of`]; so none of them prices what another refuses. The history keeps the
//! rates of every version compiled, so resolving a rate is a look-up.

mod apply;
mod lifecycle;
mod retro;

pub use apply::{Amendment, Impact, RateChange, apply_change_order};
pub use lifecycle::{CHANGE_ORDER_FINAL_STATES, ChangeOrderEvent, transition};
pub use retro::{
    Adjustment, ItemRepricing, Repricing, billed_at_override, billed_query, reprice_item,
    repricing, retroactive_adjustments,
};

use serde::Serialize;

use crate::error::{Error, ErrorCode, Pointer};
use crate::ledger::LedgerIndex;
use crate::model::{
    Ceiling, ChangeOrder, ChangeOrderStatus, Contract, Currency, Date, Dec, Id, Milestone, Money,
    RoundingMode,
};
use crate::rates::{CompiledCard, RateQuery, RateResolution, RateRule, RuleOrigin};
use crate::validate::Problems;

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
    /// The day it was approved. Its ceiling, end-date and milestone changes apply from the day it
    /// is in force, the later of this and its predecessors' approvals.
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
    /// The day this version is in force from: the later of its approval and every earlier
    /// version's (a change order approved before the one it follows waits for it).
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub in_force_from: Option<Date>,
    /// The expense markup by expense date: each from its first day (`None`: from the start).
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub markups: Vec<(Option<Date>, Dec)>,
}

/// A contract and its approved change orders, with every version's rates compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractHistory {
    contract_id: Id,
    currency: Currency,
    start_date: Date,
    rounding: RoundingMode,
    fixed_fee: Option<Money>,
    original: ContractVersion,
    amendments: Vec<ContractVersion>,
    /// The compiled rates of version 0.
    original_card: CompiledCard,
    /// The compiled rates of version `i + 1` at `i`.
    cards: Vec<CompiledCard>,
}

/// Whether a change order can make a contract version.
fn makes_versions(co: &ChangeOrder) -> bool {
    matches!(
        co.status,
        ChangeOrderStatus::Approved | ChangeOrderStatus::Applied
    )
}

/// A contract that validates (every problem `validate` reports for it refuses it, the first at its
/// path under `/contract`): what a history is built from. A billing run checks its contract
/// before it reads its ledger, as `spec/domain/billing.md` orders the checks.
#[derive(Debug, Clone, Copy)]
pub struct ValidContract<'a>(&'a Contract);

impl<'a> ValidContract<'a> {
    /// Checks `contract`.
    pub fn check(contract: &'a Contract) -> Result<Self, Error> {
        let mut p = Problems::new();
        crate::validate::documents::contract(contract, &Pointer::root().key("contract"), &mut p);
        crate::validate::refuse(&p.into_vec(), "")?;
        Ok(Self(contract))
    }

    /// The contract.
    pub fn contract(self) -> &'a Contract {
        self.0
    }
}

impl ContractHistory {
    /// Builds the history of `contract` with `change_orders`, which must all be approved or
    /// applied (sequences 1..n, in any order). The contract must validate. Error paths point into
    /// `{contract, change_orders}`.
    pub fn new(
        contract: &Contract,
        change_orders: &[ChangeOrder],
    ) -> Result<ContractHistory, Error> {
        let valid = ValidContract::check(contract)?;
        let cos = Pointer::root().key("change_orders");
        distinct_ids(change_orders)?;
        let order = in_sequence(change_orders.iter().enumerate().collect())?;
        for &(i, co) in &order {
            if !makes_versions(co) {
                return Err(Error::new(
                    ErrorCode::ChangesNotApproved,
                    format!(
                        "change order `{}` is `{}`; only approved or applied change orders make contract versions",
                        co.id, co.status
                    ),
                )
                .at(cos.index(i).key("status")));
            }
        }
        let mut history = Self::original(valid);
        history.amend(contract, &order, &[], None, None)?;
        Ok(history)
    }

    /// The contract as it stood on `as_of`, for a billing run: `change_orders` may be of any
    /// status; each must be a valid document amending this contract; the approved and applied
    /// ones are the versions, in sequence, of which those in force on `as_of` (approved, and every
    /// one before them approved, by then) are applied with `apply_change_order`'s checks against
    /// `ledger`. An approved change order whose predecessor is still a draft or submitted waits
    /// for it. See `spec/domain/billing.md` ("Change orders in a run").
    pub fn as_of(
        valid: ValidContract<'_>,
        change_orders: &[ChangeOrder],
        as_of: Date,
        ledger: &LedgerIndex<'_>,
    ) -> Result<ContractHistory, Error> {
        let contract = valid.contract();
        let cos = Pointer::root().key("change_orders");
        distinct_ids(change_orders)?;
        for (i, co) in change_orders.iter().enumerate() {
            let at = cos.index(i);
            let mut p = Problems::new();
            crate::validate::documents::change_order(co, &at, &mut p);
            crate::validate::refuse(&p.into_vec(), "")?;
            apply::same_contract(co, &contract.id, &at)?;
        }
        let order = in_sequence(
            change_orders
                .iter()
                .enumerate()
                .filter(|(_, co)| makes_versions(co))
                .collect(),
        )?;
        let pending: Vec<u32> = change_orders
            .iter()
            .filter(|co| {
                matches!(
                    co.status,
                    ChangeOrderStatus::Draft | ChangeOrderStatus::Submitted
                )
            })
            .map(|co| co.sequence)
            .collect();
        let mut history = Self::original(valid);
        history.amend(contract, &order, &pending, Some(as_of), Some(ledger))?;
        Ok(history)
    }

    /// Version 0: the contract as signed.
    fn original(valid: ValidContract<'_>) -> ContractHistory {
        let contract = valid.contract();
        let v0 = ContractVersion {
            version: 0,
            change_order_id: None,
            effective_date: None,
            approved_on: None,
            in_force_from: None,
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
                .enumerate()
                .map(|(i, e)| {
                    let mut r = RateRule::from_entry(e);
                    r.origin = RuleOrigin::CardEntry(i);
                    r
                })
                .collect(),
            markups: vec![(None, contract.expense_policy.markup_percent)],
        };
        ContractHistory {
            contract_id: contract.id.clone(),
            currency: contract.currency,
            start_date: contract.start_date,
            rounding: contract.rounding.mode,
            fixed_fee: contract.fixed_fee,
            original_card: CompiledCard::new(v0.rates.clone(), v0.hours_per_day.0, 0),
            cards: Vec::new(),
            original: v0,
            amendments: Vec::new(),
        }
    }

    /// Applies `order` (approved or applied change orders with their index in the list given,
    /// by sequence) in turn: each is the next in sequence, or waits, with every one after it, for
    /// a missing predecessor that is still `pending` (a draft or submitted change order's
    /// sequence); and, when `until` is given, only those in force on it. Checks the contract's
    /// list of applied change orders and, with a `ledger`, what `apply_change_order` checks
    /// against it.
    fn amend(
        &mut self,
        contract: &Contract,
        order: &[(usize, &ChangeOrder)],
        pending: &[u32],
        until: Option<Date>,
        ledger: Option<&LedgerIndex<'_>>,
    ) -> Result<(), Error> {
        let cos = Pointer::root().key("change_orders");
        let root = Pointer::root().key("contract");
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
        // Every sequence number below an approved change order's is approved too, or held by a
        // pending change order it waits for; one held by none can never be filled.
        let mut expected = 1u32;
        for &(i, co) in order {
            if let Some(missing) = (expected..co.sequence).find(|n| !pending.contains(n)) {
                return Err(Error::new(
                    ErrorCode::ChangesOutOfSequence,
                    format!(
                        "change order `{}` has sequence {} but no approved, applied, draft or submitted change order has sequence {missing}: an approved change order builds on the one before it",
                        co.id, co.sequence
                    ),
                )
                .at(cos.index(i).key("sequence"))
                .with("expected", missing)
                .with("got", co.sequence));
            }
            expected = co.sequence.saturating_add(1);
        }
        let mut last_ceiling_change = None;
        for &(i, co) in order {
            let at = cos.index(i);
            let next = self.version().saturating_add(1);
            if co.sequence != next && pending.contains(&next) {
                // Its predecessor is not approved yet: it (and every later one) waits for it.
                break;
            }
            if until.is_some_and(|d| self.in_force_from(co).is_none_or(|from| from > d)) {
                break;
            }
            let prev = self.current();
            let (mut v, _, ceiling_change) = apply::next_version(self, prev, co, &at, ledger)?;
            for r in v.rates.iter_mut().filter(|r| r.introduced_in == v.version) {
                r.origin = RuleOrigin::ChangeOrder(i);
            }
            if let Some(j) = ceiling_change {
                let at = at.key("changes").index(j);
                // A ceiling is never below zero, whatever comes after; what the ledger bills now
                // is checked against the last one (a later change order may raise it again).
                apply::ceiling_not_below_billed(&v, &LedgerIndex::new(None, self.currency)?, &at)?;
                last_ceiling_change = Some(at);
            }
            self.push(v);
        }
        if let (Some(ledger), Some(at)) = (ledger, last_ceiling_change) {
            apply::ceiling_not_below_billed(self.current(), ledger, &at)?;
        }
        Ok(())
    }

    /// The day `co`, as the next version, would be in force from: the later of its approval
    /// and every earlier version's (a change order builds on those before it).
    fn in_force_from(&self, co: &ChangeOrder) -> Option<Date> {
        let approved = co.approved_on?;
        Some(
            self.current()
                .in_force_from
                .map_or(approved, |d| d.max(approved)),
        )
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

    /// The contract's fixed fee, if any.
    pub fn fixed_fee(&self) -> Option<Money> {
        self.fixed_fee
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

    /// Version `n`, if the history has it.
    pub fn get(&self, n: u32) -> Option<&ContractVersion> {
        match n {
            0 => Some(&self.original),
            n => self.amendments.get(n as usize - 1),
        }
    }

    /// The version whose terms (ceiling, end date, milestones) are in force on `date`: the
    /// latest version in force on or before `date` (approved, with every version before it;
    /// version 0 before any approval).
    pub fn terms_at(&self, date: Date) -> &ContractVersion {
        self.amendments
            .iter()
            .rev()
            .find(|v| v.in_force_from.is_none_or(|a| a <= date))
            .unwrap_or(&self.original)
    }

    /// The version that prices work dated `date` (a line's `contract_version`): the latest whose
    /// effective date is on or before it.
    pub fn version_on(&self, date: Date) -> u32 {
        self.amendments
            .iter()
            .filter(|v| v.effective_date.is_some_and(|e| e <= date))
            .map(|v| v.version)
            .max()
            .unwrap_or(0)
    }

    /// The expense markup, in percent, for an expense dated `date`.
    pub fn markup_on(&self, date: Date) -> Dec {
        self.current()
            .markups
            .iter()
            .rev()
            .find(|(from, _)| from.is_none_or(|f| f <= date))
            .map_or(Dec(rust_decimal::Decimal::ZERO), |(_, m)| *m)
    }

    /// The compiled rates of the latest version.
    pub fn card(&self) -> &CompiledCard {
        self.card_of(self.version())
    }

    /// The compiled rates of version `n` (the latest when the history has no such version).
    pub fn card_of(&self, n: u32) -> &CompiledCard {
        match n.checked_sub(1) {
            None => &self.original_card,
            Some(i) => self
                .cards
                .get(i as usize)
                .or(self.cards.last())
                .unwrap_or(&self.original_card),
        }
    }

    /// Resolves the rate for one piece of work in the latest version (no allocation).
    #[inline]
    pub fn resolve(&self, q: &RateQuery<'_>) -> RateResolution<'_> {
        self.card().resolve(q)
    }

    /// The versions whose change order is retroactive and changes rates: the only ones that
    /// can re-price billed work (`retro::repricing`).
    pub fn repricing_versions(&self) -> Vec<u32> {
        let mut prev = &self.original;
        let mut out = Vec::new();
        for v in &self.amendments {
            if v.retroactive && v.rates != prev.rates {
                out.push(v.version);
            }
            prev = v;
        }
        out
    }

    /// Resolves the rate for one piece of work in version `n`.
    pub fn resolve_in(&self, n: u32, q: &RateQuery<'_>) -> RateResolution<'_> {
        self.card_of(n).resolve(q)
    }

    fn push(&mut self, v: ContractVersion) {
        self.cards.push(CompiledCard::new(
            v.rates.clone(),
            v.hours_per_day.0,
            v.version,
        ));
        self.amendments.push(v);
    }
}

/// Two change orders with one id are refused (`DOCUMENT_DUPLICATE_ID` at the later one): a
/// version, an adjustment and a milestone name their change order by id.
fn distinct_ids(change_orders: &[ChangeOrder]) -> Result<(), Error> {
    let mut p = Problems::new();
    crate::validate::documents::unique_ids(
        change_orders.iter().map(|co| &co.id),
        &Pointer::root().key("change_orders"),
        "change order",
        &mut p,
    );
    crate::validate::refuse(&p.into_vec(), "")
}

/// `order` by sequence; two with one sequence number are refused.
fn in_sequence(mut order: Vec<(usize, &ChangeOrder)>) -> Result<Vec<(usize, &ChangeOrder)>, Error> {
    let cos = Pointer::root().key("change_orders");
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
    Ok(order)
}
