//! Checks 1-9 of `spec/domain/billing.md` ("Eligibility"), per kind of item: the first check an
//! item fails holds it, with its reason and a sentence; an item that passes them all is priced
//! ("Amounts") and its line added to the run's lines, for the ceiling to take (check 10).

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::order::Item;
use super::pricing::{exact_if_rounded, item_left, round_hours, sub};
use super::summary::Held;
use super::{Priced, ProjectInfo, Run};
use crate::billing::terms::Resolved;
use crate::billing::text::{Text, Words};
use crate::billing::types::{HeldItem, HoldReason, ItemKind, LineUnit, Period, PreviewLine};
use crate::error::{Error, Problem};
use crate::ledger::NetBilled;
use crate::model::{
    CeilingScope, Date, Dec, Expense, Id, Milestone, MilestoneStatus, Money, RateUnit, TimeEntry,
    WorkStatus,
};

/// What is left to bill of one expense or milestone: `1 − net billed quantity` of it (check 1),
/// and that share of its full price.
struct ItemShare {
    /// Whether the ledger knows the item.
    billed: bool,
    /// The share of the one item left to bill.
    left: Decimal,
    /// `left` of the full price, rounded once, when the item has one.
    outstanding: Option<Money>,
}

/// Check 2 for every kind: an item is approved (accepted, for a milestone), or marked `billed`
/// with a bill in the ledger, which a credit returned part of (billing.md, decisions: a billed
/// status the ledger knows is treated as approved).
fn counts_as_approved(approved: bool, marked_billed: bool, in_ledger: bool) -> bool {
    approved || (marked_billed && in_ledger)
}

impl ItemShare {
    /// Check 1: the ledger shows the item billed in full, net of credits.
    fn billed_in_full(&self) -> bool {
        self.billed && self.left <= Decimal::ZERO
    }

    /// The line billing what is left of the item, at `(full price, amount)`: its quantity as
    /// priced (see `Priced`), the exact share when the quantity shown will round it.
    #[allow(clippy::too_many_arguments)]
    fn line<'a>(
        &self,
        kind: ItemKind,
        id: &'a Id,
        date: Date,
        description: Text<'a>,
        rate_source: Text<'a>,
        (full, amount): (Money, Money),
        contract_version: u32,
    ) -> PreviewLine<'a> {
        PreviewLine {
            kind,
            source_ids: Cow::Borrowed(std::slice::from_ref(id)),
            date,
            description,
            worked_hours: None,
            billed_hours: None,
            billed_quantity: exact_if_rounded(self.left),
            quantity: Dec(self.left),
            unit: LineUnit::Item,
            unit_price: full,
            amount,
            rate_source,
            contract_version,
            ceiling_split: false,
        }
    }
}

impl<'a> Run<'a> {
    /// An item that breaks a check of `validate`, with the run's `hold_invalid_items`: held
    /// with reason `invalid` and its problems, before any other check; or, when the ledger shows
    /// it billed, `already_billed` (check 1 comes first) with its problems all the same. Its
    /// values cannot be trusted, so it is neither priced nor counted as unbilled work.
    pub(super) fn hold_invalid(
        &self,
        item: Item<'a>,
        problems: Vec<Problem>,
        held: &mut Held<'a>,
    ) -> Result<(), Error> {
        let (kind, id, date) = match item {
            Item::Time(e) => (ItemKind::Time, &e.id, e.work_date),
            Item::Expense(x) => (ItemKind::Expense, &x.id, x.date),
            Item::Milestone(m) => (ItemKind::Milestone, &m.id, m.due_date),
        };
        let first = problems.first().map_or("", |p| p.message.as_str());
        let more = match problems.len() {
            0 | 1 => String::new(),
            2 => " (and 1 more problem)".to_owned(),
            n => format!(" (and {} more problems)", n - 1),
        };
        let billed = self
            .ledger
            .get(kind, id.as_str())
            .is_some_and(|n| n.quantity > Decimal::ZERO);
        let (reason, sentence) = if billed {
            (
                HoldReason::AlreadyBilled,
                format!(
                    "{} {id} is billed already; it is not valid either: {first}{more}",
                    kind.noun()
                ),
            )
        } else {
            (
                HoldReason::Invalid,
                format!("{} {id} is not valid: {first}{more}", kind.noun()),
            )
        };
        held.push(HeldItem {
            amount: None,
            change_order_id: None,
            date,
            id: Cow::Borrowed(id),
            kind,
            problems,
            reason,
            sentence: Text::from(sentence),
        })
    }

    /// What is left to bill of the expense or milestone `id` whose full price is `full`.
    fn item_share(&self, kind: ItemKind, id: &Id, full: Option<Money>) -> Result<ItemShare, Error> {
        let net = self.ledger.get(kind, id.as_str());
        let left = item_left(net)?;
        Ok(ItemShare {
            billed: net.is_some(),
            left,
            outstanding: full.map(|f| self.pricing.share_of(left, f)).transpose()?,
        })
    }

    /// Checks 4-7 for an item of `project_id` (whose project is `info`) dated `date`: the
    /// project (unknown, of another contract, not in a billable status), the contract period,
    /// the billing period, the legal entity.
    fn project_checks(
        &self,
        kind: ItemKind,
        id: &'a Id,
        project_id: &'a Id,
        info: Option<&ProjectInfo<'a>>,
        date: Date,
    ) -> Result<(), (HoldReason, Text<'a>)> {
        let req = self.req;
        let c = &req.contract;
        let Some(info) = info else {
            return Err((
                HoldReason::ProjectStatus,
                Text::words(Words::ProjectUnknown {
                    kind,
                    id,
                    project: project_id,
                }),
            ));
        };
        let p = info.project;
        if !info.on_contract {
            return Err((
                HoldReason::ProjectStatus,
                Text::words(Words::ProjectOtherContract {
                    project: p,
                    contract: &c.id,
                }),
            ));
        }
        if !info.status_billable {
            return Err((
                HoldReason::ProjectStatus,
                Text::words(Words::ProjectStatus {
                    project: p,
                    allowed: &req.options.billable_project_statuses,
                }),
            ));
        }
        if date < c.start_date || date > self.end_date {
            return Err((
                HoldReason::OutsideContractPeriod,
                Text::words(Words::OutsideContractPeriod {
                    kind,
                    id,
                    date,
                    period: Period {
                        start: c.start_date,
                        end: self.end_date,
                    },
                }),
            ));
        }
        if !req.period.contains(date) {
            return Err((
                HoldReason::OutsideBillingPeriod,
                Text::words(Words::OutsideBillingPeriod {
                    kind,
                    id,
                    date,
                    period: req.period,
                }),
            ));
        }
        if !info.same_entity {
            return Err((
                HoldReason::LegalEntityMismatch,
                Text::words(Words::LegalEntity {
                    project: p,
                    contract: c,
                }),
            ));
        }
        Ok(())
    }

    /// The rate for an entry: its manual override, else the card of the version in force on its
    /// date.
    pub(super) fn resolve(&self, e: &TimeEntry) -> Option<Resolved<'a>> {
        match &e.rate_override {
            Some(rate) => Some(Resolved {
                rate: *rate,
                unit: RateUnit::Hour,
                hours_per_day: self.req.contract.rate_card.hours_per_day.0,
                source: Text::from(crate::rates::RATE_OVERRIDE_SOURCE),
                version: self.terms.version_on(e.work_date),
            }),
            None => self
                .terms
                .resolve(&e.role, &e.resource_id, &e.task_id, e.work_date),
        }
    }

    /// Checks and prices time entry `e`: a held entry is filed in `held`, a priced one's line is
    /// added to `lines` (its quantity as priced, for the ceiling).
    pub(super) fn time(
        &self,
        e: &'a TimeEntry,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
    ) -> Result<Option<Priced<'a>>, Error> {
        let policy = &self.req.contract.rounding;
        let billed_hours = round_hours(e.hours.0, policy.time_increment, policy.time_rounding)?;
        let net = self.ledger.get(ItemKind::Time, e.id.as_str());
        let outstanding = match net {
            Some(n) => sub(billed_hours, n.quantity)?,
            None => billed_hours,
        };
        self.time_verdict(e, net, outstanding, held, lines)
    }

    fn time_verdict(
        &self,
        e: &'a TimeEntry,
        net: Option<&NetBilled>,
        outstanding: Decimal,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
    ) -> Result<Option<Priced<'a>>, Error> {
        let req = self.req;
        let mut file = |reason: HoldReason, sentence: Text<'a>, amount: Option<Money>| {
            // Approved, billable time held for reasons 4-10 counts as unbilled (its hours net
            // of what earlier runs billed).
            if reason >= HoldReason::ProjectStatus {
                held.unbilled(
                    e.work_date,
                    outstanding.max(Decimal::ZERO),
                    amount.map(|m| m.amount),
                )?;
            }
            held.push(HeldItem {
                change_order_id: None,
                kind: ItemKind::Time,
                problems: Vec::new(),
                id: Cow::Borrowed(&e.id),
                date: e.work_date,
                reason,
                sentence,
                amount,
            })?;
            Ok(None)
        };
        let mut hold =
            |reason: HoldReason, words: Words<'a>| file(reason, Text::words(words), None);
        // 1. Billed in full already.
        if let Some(n) = net
            && outstanding <= Decimal::ZERO
        {
            return hold(
                HoldReason::AlreadyBilled,
                Words::TimeBilledAlready {
                    id: &e.id,
                    net_hours: Dec(n.quantity),
                },
            );
        }
        // 2. Approved (or `billed` with a bill in the ledger, which a credit returned).
        if !counts_as_approved(
            e.status == WorkStatus::Approved,
            e.status == WorkStatus::Billed,
            net.is_some(),
        ) {
            return hold(
                HoldReason::NotApproved,
                if e.status == WorkStatus::Billed {
                    Words::MarkedBilled(e)
                } else {
                    Words::NotApproved {
                        kind: ItemKind::Time,
                        id: &e.id,
                        status: e.status,
                    }
                },
            );
        }
        // 3. Billable, and on a billable task (which comes before the project, check 4).
        if !e.billable {
            return hold(
                HoldReason::NotBillable,
                Words::MarkedNonBillable {
                    kind: ItemKind::Time,
                    id: &e.id,
                },
            );
        }
        let info = self.project(&e.project_id);
        let task_name =
            match info.map(|info| (info.tasks.is_empty(), info.tasks.get(e.task_id.as_str()))) {
                Some((_, Some((false, _)))) => {
                    return hold(HoldReason::NotBillable, Words::TaskNonBillable(e));
                }
                Some((_, Some((true, name)))) => *name,
                // No task list, or an unknown project (held by the project check below).
                Some((true, None)) | None => e.task_id.as_str(),
                Some((false, None)) => {
                    return hold(HoldReason::NotBillable, Words::TaskUnknown(e));
                }
            };
        // 4-7. Project, contract period, billing period, legal entity.
        match self.project_checks(ItemKind::Time, &e.id, &e.project_id, info, e.work_date) {
            Ok(()) => {}
            Err((reason, sentence)) if reason == HoldReason::ProjectStatus => {
                return file(reason, sentence, None);
            }
            Err((reason, sentence)) => {
                let amount = self.would_bill(e, outstanding)?;
                return file(reason, sentence, amount);
            }
        };
        // 8. A manual rate in another currency.
        if let Some(o) = &e.rate_override
            && o.currency != self.pricing.currency
        {
            return hold(
                HoldReason::CurrencyMismatch,
                Words::OverrideCurrency {
                    entry: e,
                    contract: &req.contract,
                },
            );
        }
        // 9. A rate.
        let Some(r) = self.resolve(e) else {
            return hold(
                HoldReason::MissingRate,
                Words::MissingRate {
                    entry: e,
                    version: self.terms.version_on(e.work_date),
                },
            );
        };
        let (quantity, unit, amount) = self.pricing.time(outstanding, &r)?;
        lines.push(PreviewLine {
            kind: ItemKind::Time,
            source_ids: Cow::Borrowed(std::slice::from_ref(&e.id)),
            date: e.work_date,
            description: Text::words(Words::Work {
                entry: e,
                task: task_name,
            }),
            worked_hours: Some(e.hours),
            billed_hours: Some(Dec(outstanding)),
            billed_quantity: None,
            // As priced (see `Priced`).
            quantity: Dec(quantity),
            unit,
            unit_price: r.rate,
            amount,
            rate_source: r.source,
            contract_version: r.version,
            ceiling_split: false,
        });
        Ok(Some(Priced {
            id: &e.id,
            counts_against_ceiling: true,
        }))
    }

    /// What a time entry would bill, when a rate in the contract currency prices it.
    fn would_bill(&self, e: &TimeEntry, hours: Decimal) -> Result<Option<Money>, Error> {
        match self.resolve(e) {
            Some(r) if r.rate.currency == self.pricing.currency => {
                Ok(Some(self.pricing.time(hours, &r)?.2))
            }
            _ => Ok(None),
        }
    }

    /// Checks and prices expense `x` (one item: what is left of it is a share of it).
    pub(super) fn expense(
        &self,
        x: &'a Expense,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
    ) -> Result<Option<Priced<'a>>, Error> {
        let kind = "expense";
        let req = self.req;
        let c = &req.contract;
        let currency = self.pricing.currency;
        let markup = self.terms.markup_percent(x.date);
        // (An expense in the contract currency has no fx rate other than 1: validated.)
        let fx = if x.amount.currency == currency {
            Some(Decimal::ONE)
        } else {
            x.fx_rate.map(|f| f.0)
        };
        let full = match fx {
            Some(fx) => Some(self.pricing.expense(x.amount.amount, markup, fx)?),
            None => None,
        };
        let share = self.item_share(ItemKind::Expense, &x.id, full)?;
        let outstanding = share.outstanding;
        let hold = |reason: HoldReason, sentence: Text<'a>, amount: Option<Money>| HeldItem {
            change_order_id: None,
            kind: ItemKind::Expense,
            problems: Vec::new(),
            id: Cow::Borrowed(&x.id),
            date: x.date,
            reason,
            sentence,
            amount,
        };
        if share.billed_in_full() {
            held.push(hold(
                HoldReason::AlreadyBilled,
                Text::from(format!("{kind} {} is billed already", x.id)),
                None,
            ))?;
            return Ok(None);
        }
        if !counts_as_approved(
            x.status == WorkStatus::Approved,
            x.status == WorkStatus::Billed,
            share.billed,
        ) {
            held.push(hold(
                HoldReason::NotApproved,
                Text::from(format!("{kind} {} is {}, not approved", x.id, x.status)),
                None,
            ))?;
            return Ok(None);
        }
        if !x.billable {
            held.push(hold(
                HoldReason::NotBillable,
                Text::from(format!("{kind} {} is marked non-billable", x.id)),
                None,
            ))?;
            return Ok(None);
        }
        let categories = &c.expense_policy.billable_categories;
        if !categories.iter().any(|cat| cat == &x.category) {
            let mut list: Vec<&str> = categories.iter().map(String::as_str).collect();
            list.sort_unstable();
            let list = if list.is_empty() {
                "none".to_owned()
            } else {
                list.join(", ")
            };
            held.push(hold(
                HoldReason::NotBillable,
                Text::from(format!(
                    "expense category {} is not billable under {} (billable: {list})",
                    x.category, c.id
                )),
                None,
            ))?;
            return Ok(None);
        }
        let info = self.project(&x.project_id);
        if let Err((reason, sentence)) =
            self.project_checks(ItemKind::Expense, &x.id, &x.project_id, info, x.date)
        {
            let amount = if reason == HoldReason::ProjectStatus {
                None
            } else {
                outstanding
            };
            held.push(hold(reason, sentence, amount))?;
            return Ok(None);
        }
        let (Some(amount), Some(fx), Some(full)) = (outstanding, fx, full) else {
            held.push(hold(
                HoldReason::CurrencyMismatch,
                Text::from(format!(
                    "{kind} {} is in {} with no fx_rate to {}",
                    x.id, x.amount.currency, currency
                )),
                None,
            ))?;
            return Ok(None);
        };
        let mut source = format!("expense_policy:markup={}%", Dec(markup));
        if x.amount.currency != currency {
            source.push_str(&format!(
                ";fx={}{}={}",
                x.amount.currency,
                currency,
                Dec(fx)
            ));
        }
        lines.push(share.line(
            ItemKind::Expense,
            &x.id,
            x.date,
            Text::from(format!(
                "{} expense, {} {}",
                x.category,
                x.amount.amount_string(),
                x.amount.currency
            )),
            Text::from(source),
            (full, amount),
            self.terms.version_on(x.date),
        ));
        Ok(Some(Priced {
            id: &x.id,
            counts_against_ceiling: self.ceiling_scope == Some(CeilingScope::FeesAndExpenses),
        }))
    }

    /// Checks and prices milestone `m` (one item, billed when accepted: checks 1 and 2 only).
    pub(super) fn milestone(
        &self,
        m: &'a Milestone,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
    ) -> Result<Option<Priced<'a>>, Error> {
        let c = &self.req.contract;
        let full = m.price(c.fixed_fee, self.pricing.mode)?;
        let source = match (&m.percent, &c.fixed_fee) {
            (Some(p), Some(fee)) if m.amount.is_none() => format!(
                "milestone:{}={}% of fixed fee {}",
                m.id,
                p,
                fee.amount_string()
            ),
            _ => format!("milestone:{}", m.id),
        };
        let share = self.item_share(ItemKind::Milestone, &m.id, full)?;
        let outstanding = share.outstanding;
        let hold = |reason: HoldReason, sentence: Text<'a>, amount: Option<Money>| HeldItem {
            change_order_id: None,
            kind: ItemKind::Milestone,
            problems: Vec::new(),
            id: Cow::Borrowed(&m.id),
            date: m.due_date,
            reason,
            sentence,
            amount,
        };
        if share.billed_in_full() {
            held.push(hold(
                HoldReason::AlreadyBilled,
                Text::from(format!("milestone {} is billed already", m.id)),
                None,
            ))?;
            return Ok(None);
        }
        if !counts_as_approved(
            m.status == MilestoneStatus::Accepted,
            m.status == MilestoneStatus::Billed,
            share.billed,
        ) {
            held.push(hold(
                HoldReason::NotApproved,
                Text::from(format!("milestone {} is {}, not accepted", m.id, m.status)),
                outstanding,
            ))?;
            return Ok(None);
        }
        // (A percent milestone needs a fixed fee: validated, for the contract's, the request's
        // and a change order's; held rather than guessed should one ever get here.)
        let (Some(amount), Some(full)) = (outstanding, full) else {
            held.push(hold(
                HoldReason::MissingRate,
                Text::from(format!(
                    "milestone {} is a percent of a fixed fee, but contract {} has none",
                    m.id, c.id
                )),
                None,
            ))?;
            return Ok(None);
        };
        lines.push(share.line(
            ItemKind::Milestone,
            &m.id,
            m.due_date,
            Text::from(m.name.as_str()),
            Text::from(source),
            (full, amount),
            self.terms.version_on(self.req.as_of),
        ));
        Ok(Some(Priced {
            id: &m.id,
            counts_against_ceiling: true,
        }))
    }
}
