//! The contract terms a billing run reads: [`ContractHistory::as_of`] (the one home of "the
//! contract as amended"), with each rate's source and each milestone borrowed from the request so
//! that a line names them without a copy.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::text::{Text, Words};
use crate::changes::{ContractHistory, ValidContract};
use crate::error::Error;
use crate::ledger::{BilledLedger, LedgerIndex};
use crate::model::{
    CeilingMode, CeilingScope, Change, ChangeOrder, Contract, Date, Id, Milestone, Money, RateUnit,
};
use crate::rates::{RateQuery, RateRule, RuleOrigin};

/// A resolved rate.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The rate.
    pub rate: Money,
    /// Per hour or per day.
    pub unit: RateUnit,
    /// Hours in a day, for day rates.
    pub hours_per_day: Decimal,
    /// What priced it.
    pub source: Text<'a>,
    /// The contract version in force on the work date.
    pub version: u32,
}

/// The contract as it stood on the run's `as_of`, read from the request.
pub struct Terms<'a> {
    contract: &'a Contract,
    change_orders: &'a [ChangeOrder],
    history: ContractHistory,
    /// The source of each rule of the latest version's card, in its order, borrowed from the
    /// request.
    sources: Vec<Text<'a>>,
}

impl<'a> Terms<'a> {
    /// The terms as of `as_of`: see [`ContractHistory::as_of`], which refuses what
    /// `apply_change_order` refuses.
    pub fn new(
        valid: ValidContract<'a>,
        change_orders: &'a [ChangeOrder],
        as_of: Date,
        ledger: &LedgerIndex<'_>,
    ) -> Result<Self, Error> {
        let contract = valid.contract();
        let history = ContractHistory::as_of(valid, change_orders, as_of, ledger)?;
        let sources = history
            .card()
            .rules()
            .iter()
            .map(|r| source_of(r, contract, change_orders))
            .collect();
        Ok(Self {
            contract,
            change_orders,
            history,
            sources,
        })
    }

    /// The history the terms are read from.
    pub fn history(&self) -> &ContractHistory {
        &self.history
    }

    /// The version that prices work dated `date`.
    pub fn version_on(&self, date: Date) -> u32 {
        self.history.version_on(date)
    }

    /// Resolves the rate for work of `role`, `resource` and `task` on `date`.
    #[inline]
    pub fn resolve(
        &self,
        role: &str,
        resource: &Id,
        task: &Id,
        date: Date,
    ) -> Option<Resolved<'a>> {
        let q = RateQuery {
            role,
            resource_id: Some(resource.as_str()),
            task_id: Some(task.as_str()),
            work_date: date,
            rate_override: None,
        };
        let card = self.history.card();
        let i = card.rule_index(&q)?;
        let rule = card.rules().get(i)?;
        Some(Resolved {
            rate: rule.rate,
            unit: rule.unit,
            hours_per_day: self.history.current().hours_per_day.0,
            source: self.sources.get(i)?.clone(),
            version: self.version_on(date),
        })
    }

    /// The contract end date in force.
    pub fn end_date(&self) -> Date {
        self.history.current().terms.end_date
    }

    /// The ceiling in force: limit, scope and mode.
    pub fn ceiling(&self) -> Option<(Money, CeilingScope, CeilingMode)> {
        let c = self.history.current().terms.ceiling.as_ref()?;
        Some((c.amount, c.scope, c.mode))
    }

    /// The expense markup, in percent, for an expense dated `date`.
    pub fn markup_percent(&self, date: Date) -> Decimal {
        self.history.markup_on(date).0
    }

    /// The milestones in force, each borrowed from where the request gives it: the contract's
    /// own, or the `add_milestone` of the latest change order in force that added it.
    pub fn milestones(&self) -> Vec<&'a Milestone> {
        // The `add_milestone`s of the versions in force, latest first.
        let added: Vec<&'a Milestone> = self
            .history
            .versions()
            .rev()
            .filter_map(|v| {
                self.change_orders
                    .iter()
                    .find(|co| v.change_order_id.as_ref() == Some(&co.id))
            })
            .flat_map(|co| &co.changes)
            .filter_map(|ch| match ch {
                Change::AddMilestone { milestone } => Some(milestone),
                _ => None,
            })
            .collect();
        self.history
            .current()
            .terms
            .milestones
            .iter()
            .filter_map(|m| {
                added
                    .iter()
                    .copied()
                    .chain(self.contract.milestones.iter())
                    .find(|a| a.id == m.id)
            })
            .collect()
    }
}

/// The text naming `rule`, borrowed from the request where the rule comes from.
fn source_of<'a>(
    rule: &RateRule,
    contract: &'a Contract,
    change_orders: &'a [ChangeOrder],
) -> Text<'a> {
    match rule.origin {
        RuleOrigin::CardEntry(i) => match contract.rate_card.entries.get(i) {
            Some(e) => Text::words(Words::CardRate(e)),
            None => Text::from(rule.source.clone()),
        },
        RuleOrigin::ChangeOrder(i) => match change_orders.get(i) {
            Some(co) => Text::words(Words::ChangeOrderRate(&co.id)),
            None => Text::from(rule.source.clone()),
        },
        RuleOrigin::Unknown => Text::from(rule.source.clone()),
    }
}

/// The contract's milestones as amended on `as_of` by its change orders (`add_milestone`,
/// `remove_milestone`): the list a billing run uses when its request gives no `milestones`. The
/// history is built as a run builds it, with the billed `ledger` (a change order may not remove a
/// milestone it bills, nor set the ceiling below what it bills).
pub fn milestones_as_amended<'a>(
    contract: &'a Contract,
    change_orders: &[ChangeOrder],
    as_of: Date,
    ledger: Option<&BilledLedger>,
) -> Result<Cow<'a, [Milestone]>, Error> {
    let valid = ValidContract::check(contract)?;
    let ledger = LedgerIndex::for_contract(ledger, &contract.id, contract.currency)?;
    let history = ContractHistory::as_of(valid, change_orders, as_of, &ledger)?;
    if history.version() == 0 {
        return Ok(Cow::Borrowed(contract.milestones.as_slice()));
    }
    Ok(Cow::Owned(history.current().terms.milestones.clone()))
}
