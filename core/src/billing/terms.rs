//! The contract terms a billing run reads: rates by work date, and the ceiling, end date, markup and
//! milestones as of the run.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::text::{Text, Words};
use crate::error::Error;
use crate::model::{
    CeilingMode, CeilingScope, Change, ChangeOrder, ChangeOrderStatus, Contract, Date, Id,
    Milestone, Money, RateUnit,
};
use crate::rates::{CompiledCard, RateKey, RateQuery, RateRule};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    ResourceTask,
    Resource,
    RoleTask,
    Role,
}

#[derive(Clone)]
struct Entry<'a> {
    key: RateKey,
    from: Date,
    to: Option<Date>,
    rate: Money,
    unit: RateUnit,
    source: Text<'a>,
}

/// The terms of a contract and the change orders approved by the run's `as_of`.
pub struct Terms<'a> {
    contract: &'a Contract,
    applied: Vec<&'a ChangeOrder>,
    /// The dated rates of the contract with the approved change orders, compiled for lookups.
    card: CompiledCard,
    /// The source of each rule of `card`, in its order: borrowed from the request, so that a line
    /// can name it without a copy.
    sources: Vec<Text<'a>>,
    /// `(effective date, sequence)` of the applied change orders, for [`Terms::version_on`].
    versions: Vec<(Date, u32)>,
}

impl<'a> Terms<'a> {
    /// The terms as of `as_of`: change orders `approved`/`applied` on or before it, in sequence.
    pub fn new(
        contract: &'a Contract,
        change_orders: &'a [ChangeOrder],
        as_of: Date,
    ) -> Result<Self, Error> {
        let applied = applied_change_orders(contract, change_orders, as_of);
        let mut index: BTreeMap<Level, BTreeMap<&str, BTreeMap<&str, Vec<Entry<'a>>>>> =
            BTreeMap::new();
        for e in &contract.rate_card.entries {
            let (level, who, task) = key_of(
                e.role.as_deref(),
                e.resource_id.as_ref(),
                e.task_id.as_ref(),
            );
            let source = Text::words(Words::CardRate(e));
            index
                .entry(level)
                .or_default()
                .entry(who)
                .or_default()
                .entry(task)
                .or_default()
                .push(Entry {
                    key: RateKey {
                        role: e.role.clone(),
                        resource_id: e.resource_id.clone(),
                        task_id: e.task_id.clone(),
                    },
                    from: e.effective_from,
                    to: e.effective_to,
                    rate: e.rate,
                    unit: e.unit,
                    source,
                });
        }
        for &co in &applied {
            for ch in &co.changes {
                let (target, added) = match ch {
                    Change::SetRate { target, rate, unit } => (target, Some((*rate, *unit))),
                    Change::EndRate { target } => (target, None),
                    _ => continue,
                };
                let (level, who, task) = key_of(
                    target.role.as_deref(),
                    target.resource_id.as_ref(),
                    target.task_id.as_ref(),
                );
                let list = index
                    .entry(level)
                    .or_default()
                    .entry(who)
                    .or_default()
                    .entry(task)
                    .or_default();
                let day_before = co.effective_date.pred();
                list.retain(|e| e.from < co.effective_date);
                for e in list.iter_mut() {
                    if e.to.is_none_or(|to| to >= co.effective_date) {
                        e.to = day_before;
                    }
                }
                if let Some((rate, unit)) = added {
                    list.push(Entry {
                        key: RateKey {
                            role: target.role.clone(),
                            resource_id: target.resource_id.clone(),
                            task_id: target.task_id.clone(),
                        },
                        from: co.effective_date,
                        to: None,
                        rate,
                        unit,
                        source: Text::words(Words::ChangeOrderRate(&co.id)),
                    });
                }
            }
        }
        let entries: Vec<Entry<'a>> = index
            .into_values()
            .flat_map(BTreeMap::into_values)
            .flat_map(BTreeMap::into_values)
            .flatten()
            .collect();
        let sources = entries.iter().map(|e| e.source.clone()).collect();
        let rules = entries
            .into_iter()
            .map(|e| RateRule {
                source: e.source.to_string(),
                key: e.key,
                rate: e.rate,
                unit: e.unit,
                effective_from: e.from,
                effective_to: e.to,
                introduced_in: 0,
            })
            .collect();
        let card = CompiledCard::new(rules, contract.rate_card.hours_per_day.0, 0);
        let versions = applied
            .iter()
            .map(|co| (co.effective_date, co.sequence))
            .collect();
        Ok(Self {
            contract,
            applied,
            card,
            sources,
            versions,
        })
    }

    /// The version in force on `date`: the last applied change order effective on or before it.
    pub fn version_on(&self, date: Date) -> u32 {
        self.versions
            .iter()
            .filter(|(effective, _)| *effective <= date)
            .map(|(_, sequence)| *sequence)
            .max()
            .unwrap_or(0)
    }

    /// Resolves the rate for work of `role`, `resource` and `task` on `date`.
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
        let i = self.card.rule_index(&q)?;
        let rule = self.card.rules().get(i)?;
        Some(Resolved {
            rate: rule.rate,
            unit: rule.unit,
            hours_per_day: self.contract.rate_card.hours_per_day.0,
            source: self.sources.get(i)?.clone(),
            version: self.version_on(date),
        })
    }

    /// The contract end date after every applied change order.
    pub fn end_date(&self) -> Date {
        let mut end = self.contract.end_date;
        for co in &self.applied {
            for ch in &co.changes {
                if let Change::SetEndDate { end_date } = ch {
                    end = *end_date;
                }
            }
        }
        end
    }

    /// The ceiling after every applied change order: limit, scope and mode.
    pub fn ceiling(&self) -> Option<(Money, CeilingScope, CeilingMode)> {
        let base = self.contract.ceiling.as_ref()?;
        let mut limit = base.amount;
        for co in &self.applied {
            for ch in &co.changes {
                match ch {
                    Change::SetCeiling { amount } => limit = *amount,
                    Change::AdjustCeiling { delta } => {
                        limit.amount = limit.amount.saturating_add(delta.amount)
                    }
                    _ => {}
                }
            }
        }
        Some((limit, base.scope, base.mode))
    }

    /// The ceiling's scope, if there is a ceiling.
    pub fn ceiling_scope(&self) -> Option<CeilingScope> {
        self.contract.ceiling.as_ref().map(|c| c.scope)
    }

    /// The expense markup in force for an expense dated `date`, in percent.
    pub fn markup_percent(&self, date: Date) -> Decimal {
        let mut markup = self.contract.expense_policy.markup_percent.0;
        for co in self.applied.iter().filter(|co| co.effective_date <= date) {
            for ch in &co.changes {
                if let Change::SetExpenseMarkup { markup_percent } = ch {
                    markup = markup_percent.0;
                }
            }
        }
        markup
    }

    /// The milestones after every applied change order.
    pub fn milestones(&self) -> Vec<&'a Milestone> {
        amended(self.contract, &self.applied)
    }

    /// The latest retroactive change order after version `billed_version` effective on or before `date`.
    pub fn retroactive_since(&self, billed_version: u32, date: Date) -> Option<&'a Id> {
        self.applied
            .iter()
            .filter(|co| {
                co.retroactive && co.sequence > billed_version && co.effective_date <= date
            })
            .max_by_key(|co| co.sequence)
            .map(|co| &co.id)
    }
}

/// The change orders of `contract` that count on `as_of`: `approved`/`applied` with `approved_on`
/// on or before it, in sequence.
fn applied_change_orders<'a>(
    contract: &Contract,
    change_orders: &'a [ChangeOrder],
    as_of: Date,
) -> Vec<&'a ChangeOrder> {
    let mut applied: Vec<&ChangeOrder> = change_orders
        .iter()
        .filter(|co| co.contract_id == contract.id)
        .filter(|co| {
            matches!(
                co.status,
                ChangeOrderStatus::Approved | ChangeOrderStatus::Applied
            )
        })
        .filter(|co| co.approved_on.is_some_and(|d| d <= as_of))
        .collect();
    applied.sort_by_key(|co| co.sequence);
    applied
}

/// The contract's milestones as amended on `as_of` by its change orders (`add_milestone`,
/// `remove_milestone`): the list a billing run uses when its request gives no `milestones`.
pub fn milestones_as_amended<'a>(
    contract: &'a Contract,
    change_orders: &[ChangeOrder],
    as_of: Date,
) -> Cow<'a, [Milestone]> {
    amend_milestones(
        contract,
        &applied_change_orders(contract, change_orders, as_of),
    )
}

fn amend_milestones<'a>(contract: &'a Contract, applied: &[&ChangeOrder]) -> Cow<'a, [Milestone]> {
    if !applied.iter().any(|co| {
        co.changes.iter().any(|c| {
            matches!(
                c,
                Change::AddMilestone { .. } | Change::RemoveMilestone { .. }
            )
        })
    }) {
        return Cow::Borrowed(contract.milestones.as_slice());
    }
    Cow::Owned(amended(contract, applied).into_iter().cloned().collect())
}

/// The contract's milestones, then each applied change order's additions and removals in order.
fn amended<'c>(contract: &'c Contract, applied: &[&'c ChangeOrder]) -> Vec<&'c Milestone> {
    let mut list: Vec<&Milestone> = contract.milestones.iter().collect();
    for &co in applied {
        for ch in &co.changes {
            match ch {
                Change::AddMilestone { milestone } => list.push(milestone),
                Change::RemoveMilestone { milestone_id } => list.retain(|m| &m.id != milestone_id),
                _ => {}
            }
        }
    }
    list
}

fn key_of<'a>(
    role: Option<&'a str>,
    resource: Option<&'a Id>,
    task: Option<&'a Id>,
) -> (Level, &'a str, &'a str) {
    match (resource, role, task) {
        (Some(r), _, Some(t)) => (Level::ResourceTask, r.as_str(), t.as_str()),
        (Some(r), _, None) => (Level::Resource, r.as_str(), ""),
        (None, Some(role), Some(t)) => (Level::RoleTask, role, t.as_str()),
        (None, Some(role), None) => (Level::Role, role, ""),
        (None, None, _) => (Level::Role, "", ""),
    }
}
