//! The billing run: eligibility, pricing, the ceiling, adjustments and the summary.
//!
//! How a run over a million entries stays fast (each point measured; see the benches' `cpu`):
//! - Lines and held items borrow ids and names from the request, and their descriptions, rate
//!   sources and sentences are [`Text`] words written out only when serialised: no per-item
//!   allocation.
//! - Items are checked, priced and put against the ceiling in (date, kind, id) order, found by a
//!   stable counting sort on the date; ids are compared only for a kind whose list is not in id
//!   order ([`item_order`]). Lines and held items are made in that order, so nothing is sorted
//!   or moved afterwards and no priced item waits in a list of its own. A priced item's line is
//!   written straight into the list of lines; the ceiling cuts it there, or takes it back when it
//!   holds the item whole.
//! - The lists of lines and held items can be memory kept from an earlier run
//!   ([`PreviewBuffers`]): at a million entries, memory fresh from the operating system costs a
//!   run a third of its time in page faults.
//! - That order visits time entries listed in another order at random; a group of them is read
//!   ahead of its checks ([`touch`]) so their cache misses overlap.
//! - Totals, held-by-reason and aging figures are summed as items are decided, as integers
//!   ([`Sum`]).
//! - An item's project and task are found by hash (`TextMap`), the last project is remembered,
//!   and a project's own checks are decided once for all its items.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use super::ledger::{LedgerIndex, NetBilled};
use super::sum::Sum;
use super::terms::{Resolved, Terms};
use super::text::{Text, Words};
use super::types::{
    AdjustmentLine, AgingBucket, CeilingStatus, HeldByReason, HeldItem, HoldReason, InvoicePreview,
    ItemKind, LineUnit, Period, PreviewInvoiceRequest, PreviewLine, RetainerStatus, Summary,
    Totals,
};
use crate::error::Error;
use crate::hash::{TextMap, same_text};
use crate::model::decimal::normalized;
use crate::model::{
    BillingModel, CeilingMode, CeilingScope, Currency, Date, Dec, Expense, Id, Milestone,
    MilestoneStatus, Money, Project, RateUnit, RoundingMode, SchemaVersion, TimeEntry,
    TimeRounding, WorkStatus,
};
use crate::validate::Problems;

/// Everything about a project a check needs.
struct ProjectInfo<'a> {
    project: &'a Project,
    /// Each task's billable flag and name.
    tasks: TextMap<&'a str, (bool, &'a str)>,
    /// Check 4 on the project, the same for each of its items: it belongs to the contract, its
    /// status is one the options bill, and its legal entity is the contract's.
    on_contract: bool,
    status_billable: bool,
    same_entity: bool,
}

/// An item that passed checks 1-9, priced: its line is the last of the run's lines, waiting for
/// the ceiling (which keeps it, cuts it to the room left, or takes it back to hold the item).
/// The line is written where it will stay: a priced item built apart and copied into the list
/// cost a run about 4% of its instructions.
///
/// Until the ceiling keeps it, the line holds its quantity as priced; a kept line shows it to 4
/// decimals ([`shown_quantity`]), and a split one the share the room pays for.
struct Priced<'a> {
    id: &'a Id,
    counts_against_ceiling: bool,
}

/// Shown to at most 4 decimals; `billed_hours` keeps the exact hours the ledger records.
fn shown_quantity(quantity: Decimal) -> Dec {
    if quantity.scale() <= 4 {
        // (Rounding to 4 decimals leaves it as it is.)
        return Dec(normalized(quantity));
    }
    Dec(normalized(quantity.round_dp_with_strategy(
        4,
        RoundingStrategy::MidpointAwayFromZero,
    )))
}

/// A date and a kind packed in one integer that orders like `(date, kind)`.
fn day_kind(date: Date, kind: ItemKind) -> u32 {
    (u32::from(date.year()) << 11)
        | (u32::from(date.month()) << 7)
        | (u32::from(date.day()) << 2)
        | kind as u32
}

/// How the ids of a list run, in the order the request lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdOrder {
    /// Each id after the one before: in order, and so distinct.
    Ascending,
    /// In order, with some ids repeated.
    NonDecreasing,
    /// Not in order.
    Unordered,
}

impl IdOrder {
    fn of<'k>(ids: impl Iterator<Item = &'k str>) -> IdOrder {
        let mut prev: Option<&str> = None;
        let mut order = IdOrder::Ascending;
        for id in ids {
            order = order.then(prev, id);
            if order == IdOrder::Unordered {
                break;
            }
            prev = Some(id);
        }
        order
    }

    /// The order of a list running so far as `self` and ending in `prev`, once `id` follows.
    fn then(self, prev: Option<&str>, id: &str) -> IdOrder {
        match prev.map(|p| p.cmp(id)) {
            Some(std::cmp::Ordering::Greater) => IdOrder::Unordered,
            Some(std::cmp::Ordering::Equal) if self == IdOrder::Ascending => IdOrder::NonDecreasing,
            _ => self,
        }
    }

    fn in_order(self) -> bool {
        self != IdOrder::Unordered
    }
}

/// Held items, with the summary figures that count them.
struct Held<'a> {
    items: Vec<HeldItem<'a>>,
    /// Count and amount per reason, in [`HoldReason::ALL`] order.
    by_reason: [(u64, Sum); HoldReason::ALL.len()],
    /// Unbilled approved time per aging bucket: entries, hours, amount.
    aging: [(u64, Sum, Sum); BUCKETS.len()],
    /// The run's `as_of`, in days since 1970-01-01.
    as_of_day: i64,
}

impl<'a> Held<'a> {
    fn push(&mut self, item: HeldItem<'a>) -> Result<(), Error> {
        if let Some(slot) = self.by_reason.get_mut(item.reason as usize) {
            slot.0 += 1;
            // (Adding zero gives the sum unchanged, so an item without an amount adds nothing.)
            if let Some(m) = item.amount {
                slot.1.add(m.amount, "the total")?;
            }
        }
        self.items.push(item);
        Ok(())
    }

    /// Counts approved time worked on `date` that the run does not bill (held for reasons 4-10).
    fn unbilled(
        &mut self,
        date: Date,
        hours: Decimal,
        amount: Option<Decimal>,
    ) -> Result<(), Error> {
        let age = self
            .as_of_day
            .saturating_sub(date.days_since_epoch())
            .max(0);
        let idx = BUCKETS
            .iter()
            .position(|(_, max)| age <= *max)
            .unwrap_or(BUCKETS.len() - 1);
        if let Some(slot) = self.aging.get_mut(idx) {
            slot.0 += 1;
            slot.1.add(hours, "the total")?;
            if let Some(amount) = amount {
                slot.2.add(amount, "the total")?;
            }
        }
        Ok(())
    }
}

struct Ctx<'a> {
    req: &'a PreviewInvoiceRequest,
    /// How each kind's ids run, in [`ItemKind`] order.
    id_order: [IdOrder; 3],
    terms: Terms<'a>,
    ledger: LedgerIndex<'a>,
    projects: TextMap<&'a str, ProjectInfo<'a>>,
    /// The last project looked up and where it is in `projects`: an export lists a project's
    /// items together, so one comparison usually finds it.
    last_project: Cell<Option<(&'a str, Option<usize>)>>,
    currency: Currency,
    mode: RoundingMode,
    end_date: Date,
}

fn mul(a: Decimal, b: Decimal, what: &str) -> Result<Decimal, Error> {
    a.checked_mul(b).ok_or_else(|| Error::overflow(what))
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    a.checked_add(b).ok_or_else(|| Error::overflow("the total"))
}

fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    a.checked_sub(b).ok_or_else(|| Error::overflow("the total"))
}

fn div(a: Decimal, b: Decimal, what: &str) -> Result<Decimal, Error> {
    a.checked_div(b).ok_or_else(|| Error::overflow(what))
}

/// Rounds hours to the contract's increment.
fn round_hours(
    hours: Decimal,
    increment: Option<Dec>,
    direction: Option<TimeRounding>,
) -> Result<Decimal, Error> {
    let Some(inc) = increment.map(|d| d.0).filter(|d| *d > Decimal::ZERO) else {
        return Ok(hours);
    };
    let steps = div(hours, inc, "the rounded hours")?;
    let strategy = match direction.unwrap_or(TimeRounding::Nearest) {
        TimeRounding::Up => RoundingStrategy::AwayFromZero,
        TimeRounding::Down => RoundingStrategy::ToZero,
        TimeRounding::Nearest => RoundingStrategy::MidpointAwayFromZero,
    };
    mul(
        steps.round_dp_with_strategy(0, strategy),
        inc,
        "the rounded hours",
    )
    .map(|d| d.normalize())
}

/// What is left of an expense or milestone after earlier bills and credits (1 when never billed),
/// rounded down to the 4 decimals a line shows and the ledger records, so the ledger never holds
/// more than the one item delivered (a credit by amount can leave an exact share like 0.249875…).
fn item_left(net: Option<&super::ledger::NetBilled>) -> Result<Decimal, Error> {
    match net {
        None => Ok(Decimal::ONE),
        Some(n) => Ok(sub(Decimal::ONE, n.quantity)?
            .max(Decimal::ZERO)
            .round_dp_with_strategy(4, RoundingStrategy::ToZero)),
    }
}

impl<'a> Ctx<'a> {
    /// The project `id`, if the request has it.
    fn project(&self, id: &'a Id) -> Option<&ProjectInfo<'a>> {
        let id = id.as_str();
        let pos = match self.last_project.get() {
            Some((last, pos)) if same_text(last, id) => pos,
            _ => {
                let pos = self.projects.position(id);
                self.last_project.set(Some((id, pos)));
                pos
            }
        };
        self.projects.at(pos?)
    }

    fn money(&self, amount: Decimal) -> Money {
        Money::new(amount, self.currency)
    }

    fn round(&self, amount: Decimal) -> Money {
        Money::new(amount, self.currency).rounded(self.mode)
    }

    /// What the ledger has billed of an expense or milestone, and what is left of its `full` amount.
    fn outstanding(
        &self,
        kind: ItemKind,
        id: &Id,
        full: Option<Money>,
    ) -> Result<(Option<&NetBilled>, Option<Money>), Error> {
        let net = self.ledger.get(kind, id.as_str());
        let outstanding = match (full, net) {
            (Some(f), Some(n)) => Some(self.money(sub(f.amount, n.amount)?)),
            (f, _) => f,
        };
        Ok((net, outstanding))
    }

    /// Checks 4, 5, 6 and 7 for an item of `project_id` (whose project is `info`) dated `date`.
    fn project_checks(
        &self,
        kind: ItemKind,
        id: &'a Id,
        project_id: &'a Id,
        info: Option<&ProjectInfo<'a>>,
        date: Date,
    ) -> Result<(), (HoldReason, Text<'a>)> {
        let req: &'a PreviewInvoiceRequest = self.req;
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

    /// The rate for an entry: its manual override, else the card of the version in force on its date.
    fn resolve(&self, e: &TimeEntry) -> Option<Resolved<'a>> {
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

    /// Prices `hours` of entry `e` at `r` (or its manual override).
    fn price_time(
        &self,
        hours: Decimal,
        r: &Resolved<'_>,
    ) -> Result<(Decimal, LineUnit, Money), Error> {
        match r.unit {
            RateUnit::Hour => Ok((
                hours,
                LineUnit::Hour,
                self.round(mul(hours, r.rate.amount, "the line amount")?),
            )),
            RateUnit::Day => {
                let days = div(hours, r.hours_per_day, "the days billed")?;
                // Multiply before dividing: 1.25 h × 999.99 ÷ 7.5 is exactly 166.665 (166.66 half
                // even), where 1.25 ÷ 7.5 × 999.99 is a hair above it and rounds to 166.67.
                let amount = div(
                    mul(hours, r.rate.amount, "the line amount")?,
                    r.hours_per_day,
                    "the line amount",
                )?;
                Ok((days.normalize(), LineUnit::Day, self.round(amount)))
            }
        }
    }

    /// Checks and prices time entry `e`: the line it would bill, or `None` when it is held.
    fn time(
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

    /// Checks and prices time entry `e` (with `outstanding` hours): a held entry is filed in
    /// `held`, a priced one's line is added to `lines`.
    fn time_verdict(
        &self,
        e: &'a TimeEntry,
        net: Option<&NetBilled>,
        outstanding: Decimal,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
    ) -> Result<Option<Priced<'a>>, Error> {
        let req: &'a PreviewInvoiceRequest = self.req;
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
        let billed_status_known = e.status == WorkStatus::Billed && net.is_some();
        if e.status != WorkStatus::Approved && !billed_status_known {
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
        if !e.billable {
            return hold(
                HoldReason::NotBillable,
                Words::MarkedNonBillable {
                    kind: ItemKind::Time,
                    id: &e.id,
                },
            );
        }
        // Check 3 (the task is billable) comes before check 4 (the project).
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
        if let Some(o) = &e.rate_override
            && o.currency != self.currency
        {
            return hold(
                HoldReason::CurrencyMismatch,
                Words::OverrideCurrency {
                    entry: e,
                    contract: &req.contract,
                },
            );
        }
        let Some(r) = self.resolve(e) else {
            return hold(
                HoldReason::MissingRate,
                Words::MissingRate {
                    entry: e,
                    version: self.terms.version_on(e.work_date),
                },
            );
        };
        let (quantity, unit, amount) = self.price_time(outstanding, &r)?;
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

    /// What a time entry would bill, when a rate prices it.
    fn would_bill(&self, e: &TimeEntry, hours: Decimal) -> Result<Option<Money>, Error> {
        match self.resolve(e) {
            Some(r) if r.rate.currency == self.currency => Ok(Some(self.price_time(hours, &r)?.2)),
            _ => Ok(None),
        }
    }

    fn expense(
        &self,
        x: &'a Expense,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
    ) -> Result<Option<Priced<'a>>, Error> {
        let kind = "expense";
        let req: &'a PreviewInvoiceRequest = self.req;
        let c = &req.contract;
        let markup = self.terms.markup_percent(x.date);
        let fx = if x.amount.currency == self.currency {
            Some(Decimal::ONE)
        } else {
            x.fx_rate.map(|f| f.0)
        };
        let full = match fx {
            Some(fx) => {
                let factor = add(
                    Decimal::ONE,
                    div(markup, Decimal::ONE_HUNDRED, "the markup")?,
                )?;
                Some(self.round(mul(
                    mul(x.amount.amount, factor, "the expense amount")?,
                    fx,
                    "the expense amount",
                )?))
            }
            None => None,
        };
        let (net, outstanding) = self.outstanding(ItemKind::Expense, &x.id, full)?;
        let hold = |reason: HoldReason, sentence: Text<'a>, amount: Option<Money>| HeldItem {
            change_order_id: None,
            kind: ItemKind::Expense,
            id: Cow::Borrowed(&x.id),
            date: x.date,
            reason,
            sentence,
            amount,
        };
        if net.is_some() && outstanding.is_none_or(|o| o.amount <= Decimal::ZERO) {
            held.push(hold(
                HoldReason::AlreadyBilled,
                Text::from(format!("{kind} {} is billed already", x.id)),
                None,
            ))?;
            return Ok(None);
        }
        let billed_status_known = x.status == WorkStatus::Billed && net.is_some();
        if x.status != WorkStatus::Approved && !billed_status_known {
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
        let (Some(amount), Some(fx)) = (outstanding, fx) else {
            held.push(hold(
                HoldReason::CurrencyMismatch,
                Text::from(format!(
                    "{kind} {} is in {} with no fx_rate to {}",
                    x.id, x.amount.currency, self.currency
                )),
                None,
            ))?;
            return Ok(None);
        };
        let mut source = format!("expense_policy:markup={}%", Dec(markup));
        if x.amount.currency != self.currency {
            source.push_str(&format!(
                ";fx={}{}={}",
                x.amount.currency,
                self.currency,
                Dec(fx)
            ));
        }
        let quantity = item_left(net)?;
        lines.push(PreviewLine {
            kind: ItemKind::Expense,
            source_ids: Cow::Borrowed(std::slice::from_ref(&x.id)),
            date: x.date,
            description: Text::from(format!(
                "{} expense, {} {}",
                x.category,
                x.amount.amount_string(),
                x.amount.currency
            )),
            worked_hours: None,
            billed_hours: None,
            // As priced (see `Priced`).
            quantity: Dec(quantity),
            unit: LineUnit::Item,
            unit_price: full.unwrap_or(amount),
            amount,
            rate_source: Text::from(source),
            contract_version: self.terms.version_on(x.date),
            ceiling_split: false,
        });
        Ok(Some(Priced {
            id: &x.id,
            counts_against_ceiling: c
                .ceiling
                .as_ref()
                .is_some_and(|_| self.terms.ceiling_scope() == Some(CeilingScope::FeesAndExpenses)),
        }))
    }

    fn milestone(
        &self,
        m: &'a Milestone,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
    ) -> Result<Option<Priced<'a>>, Error> {
        let c = &self.req.contract;
        let (full, source) = match (&m.amount, &m.percent, &c.fixed_fee) {
            (Some(a), _, _) => (Some(self.round(a.amount)), format!("milestone:{}", m.id)),
            (None, Some(p), Some(fee)) => (
                Some(self.round(mul(
                    fee.amount,
                    div(p.0, Decimal::ONE_HUNDRED, "the milestone share")?,
                    "the milestone amount",
                )?)),
                format!(
                    "milestone:{}={}% of fixed fee {}",
                    m.id,
                    p,
                    fee.amount_string()
                ),
            ),
            _ => (None, format!("milestone:{}", m.id)),
        };
        let (net, outstanding) = self.outstanding(ItemKind::Milestone, &m.id, full)?;
        let hold = |reason: HoldReason, sentence: Text<'a>, amount: Option<Money>| HeldItem {
            change_order_id: None,
            kind: ItemKind::Milestone,
            id: Cow::Borrowed(&m.id),
            date: m.due_date,
            reason,
            sentence,
            amount,
        };
        if net.is_some() && outstanding.is_none_or(|o| o.amount <= Decimal::ZERO) {
            held.push(hold(
                HoldReason::AlreadyBilled,
                Text::from(format!("milestone {} is billed already", m.id)),
                None,
            ))?;
            return Ok(None);
        }
        let billed_status_known = m.status == MilestoneStatus::Billed && net.is_some();
        if m.status != MilestoneStatus::Accepted && !billed_status_known {
            held.push(hold(
                HoldReason::NotApproved,
                Text::from(format!("milestone {} is {}, not accepted", m.id, m.status)),
                outstanding,
            ))?;
            return Ok(None);
        }
        let Some(amount) = outstanding else {
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
        let quantity = item_left(net)?;
        lines.push(PreviewLine {
            kind: ItemKind::Milestone,
            source_ids: Cow::Borrowed(std::slice::from_ref(&m.id)),
            date: m.due_date,
            description: Text::from(m.name.as_str()),
            worked_hours: None,
            billed_hours: None,
            // As priced (see `Priced`).
            quantity: Dec(quantity),
            unit: LineUnit::Item,
            unit_price: full.unwrap_or(amount),
            amount,
            rate_source: Text::from(source),
            contract_version: self.terms.version_on(self.req.as_of),
            ceiling_split: false,
        });
        Ok(Some(Priced {
            id: &m.id,
            counts_against_ceiling: true,
        }))
    }
}

/// The positions of items with `keys` (their [`day_kind`]) in (date, kind, id) order, equal keys
/// in position order.
///
/// A comparison sort of a million items took a large share of a run. Dates span few distinct
/// days, so this is a counting sort on (date, kind), linear and stable. A kind whose list has its
/// ids `in_order` needs nothing more: within one (date, kind), position order is id order. The
/// items of another kind are sorted by `id` within each (date, kind). A span of dates too wide to
/// count falls back to a stable comparison sort. Positions are `u32` (a run of more items is
/// refused), which halves the list a million items make.
fn item_order<'k>(
    keys: &[u32],
    in_order: impl Fn(ItemKind) -> bool,
    id: impl Fn(usize) -> Option<&'k str>,
) -> Result<Vec<u32>, Error> {
    let n = keys.len();
    if u32::try_from(n).is_err() {
        return Err(Error::new(
            crate::error::ErrorCode::InputLimitExceeded,
            format!("a run of {n} items exceeds the limit of {}", u32::MAX),
        )
        .with("limit", "items_per_run")
        .with("max", u64::from(u32::MAX)));
    }
    let (Some(&min), Some(&max)) = (keys.iter().min(), keys.iter().max()) else {
        return Ok(Vec::new());
    };
    let kind_of = |day_kind: u32| match day_kind & 3 {
        0 => ItemKind::Time,
        1 => ItemKind::Expense,
        _ => ItemKind::Milestone,
    };
    // Within one (date, kind), items of a kind not in order: by id, then position (stable).
    let sort_run = |run: &mut [u32], kind: ItemKind| {
        if !in_order(kind) && !run.is_sorted_by_key(|&i| id(i as usize)) {
            run.sort_by_key(|&i| id(i as usize));
        }
    };
    let key = |i: u32| keys.get(i as usize).copied().unwrap_or(0);
    let span = (max - min) as usize + 1;
    if span > n.saturating_mul(2).saturating_add(4096) {
        // (`n` fits in a u32, checked above.)
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| key(i));
        for run in order.chunk_by_mut(|&a, &b| key(a) == key(b)) {
            if let Some(&first) = run.first() {
                sort_run(run, kind_of(key(first)));
            }
        }
        return Ok(order);
    }
    // starts[b]: the first slot of bucket b (day_kind - min); starts[span] = n.
    let mut starts = vec![0u32; span + 1];
    for &k in keys {
        if let Some(c) = starts.get_mut((k - min) as usize + 1) {
            *c += 1;
        }
    }
    let mut total = 0;
    for s in &mut starts {
        total += *s;
        *s = total;
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; n];
    for (&k, i) in keys.iter().zip(0u32..) {
        if let Some(slot) = next.get_mut((k - min) as usize)
            && let Some(o) = order.get_mut(*slot as usize)
        {
            *o = i;
            *slot += 1;
        }
    }
    for (b, w) in starts.windows(2).enumerate() {
        if let (Some(&start), Some(&end)) = (w.first(), w.get(1))
            && end - start > 1
            && let Some(run) = order.get_mut(start as usize..end as usize)
        {
            let day_kind = min + u32::try_from(b).unwrap_or(0);
            sort_run(run, kind_of(day_kind));
        }
    }
    Ok(order)
}

/// Puts the first `first` held items (adjustments over the ceiling, by date and id) into their
/// places among the rest (items, already in date, kind, id order). An item can be held twice, as
/// itself and for its adjustment: its own hold comes first when the checks made it, after the
/// adjustment's when the ceiling did, as the adjustments meet the ceiling before the items.
fn merge_adjustments_held(mut held: Vec<HeldItem<'_>>, first: usize) -> Vec<HeldItem<'_>> {
    if first == 0 || first > held.len() {
        return held;
    }
    let items = held.split_off(first);
    let mut out = Vec::with_capacity(held.len() + items.len());
    let mut adjustments = held.into_iter().peekable();
    let mut items = items.into_iter().peekable();
    loop {
        let item_first = match (adjustments.peek(), items.peek()) {
            (Some(a), Some(i)) => {
                let (ka, ki) = (
                    (a.date, a.kind, a.id.as_str()),
                    (i.date, i.kind, i.id.as_str()),
                );
                ki < ka || (ki == ka && i.reason != HoldReason::CeilingExceeded)
            }
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => break,
        };
        let next = if item_first {
            items.next()
        } else {
            adjustments.next()
        };
        out.extend(next);
    }
    out
}

/// How many items [`touch`] reads ahead of their checks.
const TOUCH_AHEAD: usize = 16;

/// Reads a little of each time entry at `positions` (and the role name it points to) before any
/// is checked. Items are checked in date order, which visits the request at random; reading a
/// group first lets their cache misses overlap instead of each stalling its own check.
fn touch(entries: &[TimeEntry], positions: &[u32]) {
    let mut sum = 0usize;
    for e in positions.iter().filter_map(|&i| entries.get(i as usize)) {
        sum ^= e.id.as_str().len()
            ^ e.project_id.as_str().len()
            ^ e.task_id.as_str().len()
            ^ e.resource_id.as_str().len()
            ^ e.role.len()
            ^ usize::from(e.work_date.day())
            ^ e.hours.0.scale() as usize
            ^ usize::from(e.rate_override.is_some());
    }
    for e in positions.iter().filter_map(|&i| entries.get(i as usize)) {
        sum ^= usize::from(e.role.as_bytes().first().copied().unwrap_or(0));
    }
    std::hint::black_box(sum);
}

const BUCKETS: [(&str, i64); 4] = [
    ("0-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", i64::MAX),
];

/// What one pass over the time entries finds.
struct TimeScan {
    /// How their ids run.
    ids: IdOrder,
    /// What `validate` finds wrong with each that pricing depends on (see [`check_items`]).
    problems: Problems,
    /// Each one's [`day_kind`], in list order.
    keys: Vec<u32>,
}

/// Reads the time entries once, in list order, for their id order, their checks and their sort
/// keys. A million entries do not fit a cache: each pass over them reads them from memory, and
/// the three passes this replaces took a fifth of a run.
///
/// `keys` is made with room for `all_items` keys (every item's, the time entries' first).
fn scan_time_entries(entries: &[TimeEntry], all_items: usize) -> TimeScan {
    let at = crate::error::Pointer::root().key("time_entries");
    let mut problems = Problems::new();
    let mut keys = Vec::with_capacity(all_items);
    let mut ids = IdOrder::Ascending;
    let mut prev: Option<&str> = None;
    for (i, e) in entries.iter().enumerate() {
        // As `IdOrder::of`: once unordered, the ids are not compared again.
        if ids.in_order() {
            ids = ids.then(prev, e.id.as_str());
            prev = Some(e.id.as_str());
        }
        crate::validate::documents::time_entry(e, false, || at.index(i), &mut problems);
        keys.push(day_kind(e.work_date, ItemKind::Time));
    }
    TimeScan {
        ids,
        problems,
        keys,
    }
}

/// The checks `validate` makes on the run's items that pricing depends on (ids unique per list;
/// hours, amounts, rates and fx rates not negative or zero where they must be positive; each
/// milestone with exactly one of an amount in the contract's currency or a percent; the period's
/// end not before its start). A run cannot bill items it cannot tell apart, or negative hours:
/// the first problem is raised at its path, with the number found in `details.problems`.
///
/// Time entries whose ids are listed in ascending order (`time_ids`) are distinct and are not
/// compared again. Each time entry's own checks were made by [`scan_time_entries`]
/// (`time_problems`); they are reported where this list puts them.
fn check_items(
    req: &PreviewInvoiceRequest,
    time_ids: IdOrder,
    time_problems: Problems,
) -> Result<(), Error> {
    use crate::error::{ErrorCode, Pointer};
    use crate::validate::documents::{date_order, expense, milestone, unique_ids};

    let mut p = Problems::new();
    let root = Pointer::root();
    if time_ids != IdOrder::Ascending {
        let time_ids = req.time_entries.iter().map(|e| &e.id);
        unique_ids(time_ids, &root.key("time_entries"), "time entry", &mut p);
    }
    let expense_ids = req.expenses.iter().map(|x| &x.id);
    unique_ids(expense_ids, &root.key("expenses"), "expense", &mut p);
    if let Some(list) = &req.milestones {
        let ids = list.iter().map(|m| &m.id);
        unique_ids(ids, &root.key("milestones"), "milestone", &mut p);
    }
    let project_ids = req.projects.iter().map(|x| &x.id);
    unique_ids(project_ids, &root.key("projects"), "project", &mut p);
    p.extend(time_problems);
    let expenses = root.key("expenses");
    for (i, x) in req.expenses.iter().enumerate() {
        expense(x, || expenses.index(i), &mut p);
    }
    // Milestones bill their amount (in the contract's currency) or a percent of the fixed fee.
    let (list, at) = match &req.milestones {
        Some(list) => (list.as_slice(), root.key("milestones")),
        None => (
            req.contract.milestones.as_slice(),
            root.key("contract").key("milestones"),
        ),
    };
    // (A percent milestone without a fixed fee is held as `missing_rate`, not refused.)
    let mut mp = Problems::new();
    for (i, m) in list.iter().enumerate() {
        milestone(m, &req.contract, &at.index(i), &mut mp);
    }
    for problem in mp.into_vec() {
        if matches!(
            problem.code,
            ErrorCode::ContractMilestoneAmount
                | ErrorCode::MoneyCurrencyMismatch
                | ErrorCode::DocumentNegativeAmount
                | ErrorCode::DocumentInvalidPercent
        ) {
            p.push_problem(problem);
        }
    }
    date_order(
        req.period.start,
        req.period.end,
        &root.key("period").key("end"),
        "the period start",
        "the period end",
        &mut p,
    );
    crate::validate::refuse(&p.into_vec(), "")
}

/// Runs a billing preview. The preview borrows ids, names and rate sources from `req`.
pub fn preview_invoice<'a>(req: &'a PreviewInvoiceRequest) -> Result<InvoicePreview<'a>, Error> {
    preview_invoice_with(req, &mut PreviewBuffers::default())
}

/// Room for a billing run's lines and held items, kept from one run to the next.
///
/// A run makes one line or held item per item, about 150 MB for a million time entries. Memory
/// that fresh comes from the operating system, which maps it a page at a time as the run first
/// writes to it; on the benchmark machine that costs a run of a million entries about 90 ms, a
/// third of its time. A process that runs many large previews can keep one `PreviewBuffers`,
/// run each with [`preview_invoice_with`] and hand each preview back with [`recycle`] once it is
/// written out: the next run writes into memory already mapped.
///
/// The buffers only lend capacity: a preview made with them is the same, byte for byte, as one
/// [`preview_invoice`] makes.
///
/// [`recycle`]: PreviewBuffers::recycle
#[derive(Debug, Default)]
pub struct PreviewBuffers {
    lines: Vec<PreviewLine<'static>>,
    held: Vec<HeldItem<'static>>,
}

impl PreviewBuffers {
    /// Empty buffers (they grow to the first run's size).
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes back `preview`'s lists of lines and held items, emptied, for the next run. The rest
    /// of the preview is dropped. A list no larger than the one the buffers already hold is
    /// dropped instead: the buffers keep their largest allocations until they are dropped.
    pub fn recycle(&mut self, preview: InvoicePreview<'_>) {
        let lines = emptied(preview.lines);
        if lines.capacity() > self.lines.capacity() {
            self.lines = lines;
        }
        let held = emptied(preview.held);
        if held.capacity() > self.held.capacity() {
            self.held = held;
        }
    }

    /// How many lines and held items the buffers have room for without growing.
    pub fn capacity(&self) -> (usize, usize) {
        (self.lines.capacity(), self.held.capacity())
    }
}

/// `items` with every element dropped, keeping its allocation for elements of another lifetime.
///
/// The standard library collects a vector's `into_iter` back into its own allocation when the
/// element layouts match, which they do here (the lifetimes are all that differ). That is an
/// optimisation std makes, not a promise it documents: were it lost, the buffers would only stop
/// saving memory, and the proptest on recycled runs (`core/tests/billing_reference`) would fail.
fn emptied<T, U>(items: Vec<T>) -> Vec<U> {
    items.into_iter().filter_map(|_| None).collect()
}

/// [`preview_invoice`], writing its lines and held items into `buffers`' memory (see
/// [`PreviewBuffers`]). The run takes the buffers' lists, leaving them empty: give the preview
/// back with [`PreviewBuffers::recycle`] when done with it. A run that fails may have taken
/// them; they grow again on the next run.
///
/// # Errors
/// As [`preview_invoice`].
pub fn preview_invoice_with<'a>(
    req: &'a PreviewInvoiceRequest,
    buffers: &mut PreviewBuffers,
) -> Result<InvoicePreview<'a>, Error> {
    let contract = &req.contract;
    let currency = contract.currency;
    let terms = Terms::new(contract, &req.change_orders, req.as_of)?;
    let ledger = LedgerIndex::new(req.ledger.as_ref(), currency)?;
    if let Some(l) = &req.ledger
        && l.contract_id != contract.id
    {
        return Err(Error::new(
            crate::error::ErrorCode::LedgerWrongContract,
            format!(
                "the ledger is for `{}` but the contract is `{}`",
                l.contract_id, contract.id
            ),
        )
        .at("/ledger/contract_id"));
    }
    let projects = TextMap::new(req.projects.iter().map(|p| {
        let tasks = TextMap::new(
            p.tasks
                .iter()
                .map(|t| (t.id.as_str(), (t.billable, t.name.as_str()))),
        );
        let info = ProjectInfo {
            project: p,
            tasks,
            on_contract: p.contract_id == contract.id,
            status_billable: req.options.billable_project_statuses.contains(&p.status),
            same_entity: p.legal_entity == contract.legal_entity,
        };
        (p.id.as_str(), info)
    }));
    let milestones: Vec<&Milestone> = match &req.milestones {
        Some(list) => list.iter().collect(),
        None => terms.milestones(),
    };
    let (times, expenses) = (req.time_entries.len(), req.expenses.len());
    let items = times + expenses + milestones.len();
    let TimeScan {
        ids: time_ids,
        problems: time_problems,
        keys: time_keys,
    } = scan_time_entries(&req.time_entries, items);
    check_items(req, time_ids, time_problems)?;
    let id_order = [
        time_ids,
        IdOrder::of(req.expenses.iter().map(|x| x.id.as_str())),
        IdOrder::of(milestones.iter().map(|m| m.id.as_str())),
    ];
    let end_date = terms.end_date();
    let ctx = Ctx {
        req,
        id_order,
        terms,
        ledger,
        projects,
        last_project: Cell::new(None),
        currency,
        mode: contract.rounding.mode,
        end_date,
    };

    let mut held_items: Vec<HeldItem<'a>> = std::mem::take(&mut buffers.held);
    held_items.reserve(items);
    let mut held = Held {
        items: held_items,
        by_reason: [(0, Sum::ZERO); HoldReason::ALL.len()],
        aging: [(0, Sum::ZERO, Sum::ZERO); BUCKETS.len()],
        as_of_day: req.as_of.days_since_epoch(),
    };

    // Adjustments for retroactive change orders, re-pricing net billed hours.
    let entries: BTreeMap<&str, &TimeEntry> =
        if ctx.ledger.iter().any(|(kind, _, _)| kind == ItemKind::Time) {
            req.time_entries
                .iter()
                .map(|e| (e.id.as_str(), e))
                .collect()
        } else {
            BTreeMap::new()
        };
    let mut adjustments = Vec::new();
    for (kind, id, net) in ctx.ledger.iter() {
        if kind != ItemKind::Time || net.quantity <= Decimal::ZERO {
            continue;
        }
        let Some(&e) = entries.get(id) else {
            continue;
        };
        let Some(co) = ctx
            .terms
            .retroactive_since(net.contract_version, e.work_date)
        else {
            continue;
        };
        let Some(r) = ctx.resolve(e) else { continue };
        // A change order that leaves the item's rate as it was does not adjust it, not even by
        // the cent a re-rounding could give.
        if r.version <= net.contract_version
            || r.rate.currency != currency
            || r.rate.amount == net.unit_price
        {
            continue;
        }
        let (_, _, new_amount) = ctx.price_time(net.quantity, &r)?;
        let delta = sub(new_amount.amount, net.amount)?;
        if delta.is_zero() {
            continue;
        }
        let rate_before = if net.quantity.is_zero() {
            Decimal::ZERO
        } else {
            div(net.amount, net.quantity, "the billed rate")?
        };
        adjustments.push(AdjustmentLine {
            item_id: e.id.clone(),
            date: e.work_date,
            change_order_id: co.clone(),
            quantity: Dec(net.quantity),
            rate_before: Money::new(rate_before.round_dp(4).normalize(), currency),
            rate_after: r.rate,
            amount: ctx.money(delta),
            contract_version: r.version,
            rate_source: r.source.to_string(),
        });
    }
    adjustments.sort_unstable_by(|a, b| (a.date, &a.item_id).cmp(&(b.date, &b.item_id)));

    // Every item's place in (date, kind, id) order. Items are checked, priced and put against
    // the ceiling in that order, so lines and held items come out in it and nothing is moved.
    let mut keys = time_keys;
    keys.reserve(items.saturating_sub(keys.len()));
    keys.extend(
        req.expenses
            .iter()
            .map(|x| day_kind(x.date, ItemKind::Expense)),
    );
    keys.extend(
        milestones
            .iter()
            .map(|m| day_kind(m.due_date, ItemKind::Milestone)),
    );
    let item_id = |i: usize| -> Option<&str> {
        if i < times {
            req.time_entries.get(i).map(|e| e.id.as_str())
        } else if i < times + expenses {
            req.expenses.get(i - times).map(|x| x.id.as_str())
        } else {
            milestones.get(i - times - expenses).map(|m| m.id.as_str())
        }
    };
    let in_order = |kind: ItemKind| {
        ctx.id_order
            .get(kind as usize)
            .is_some_and(|o| o.in_order())
    };
    let order = item_order(&keys, in_order, item_id)?;
    drop(keys);

    // The ceiling: adjustments first (they correct earlier bills), then items by date, kind, id.
    let ceiling = ctx.terms.ceiling();
    let billed_before = ctx.ledger.against_ceiling()?;
    let mut used = billed_before;
    // At most one line per item: reserved once, not grown by copying (untouched capacity costs
    // address space, not memory).
    let mut lines: Vec<PreviewLine<'a>> = std::mem::take(&mut buffers.lines);
    lines.reserve(items);
    let mut crossed = false;
    let limit_text = ceiling.map(|(limit, _, _)| ctx.money(limit.amount).amount_string());
    let limit_text = limit_text.as_deref().unwrap_or_default();
    // Adjustments correct earlier bills and count against the ceiling: decreases first (they free
    // room), then increases by date and item. An increase the room cannot take is held whole (a
    // part would be lost: the ledger would record the item as re-priced), and like a crossing item
    // it holds every later increase and item; the next run, after a ceiling raise, finds it again.
    let mut adjustments = if let Some((limit, _, _)) = ceiling {
        let (mut kept, increases): (Vec<_>, Vec<_>) = adjustments
            .into_iter()
            .partition(|a| a.amount.amount <= Decimal::ZERO);
        for a in &kept {
            used = add(used, a.amount.amount)?;
        }
        for a in increases {
            // (Once the ceiling is crossed, nothing later is added to what it has taken.)
            if !crossed {
                let next = add(used, a.amount.amount)?;
                if next <= limit.amount {
                    used = next;
                    kept.push(a);
                    continue;
                }
            }
            let room = if crossed {
                Decimal::ZERO
            } else {
                sub(limit.amount, used)?.max(Decimal::ZERO)
            };
            crossed = true;
            held.push(
                HeldItem {
                    amount: Some(a.amount),
                    sentence: Text::from(format!(
                        "the adjustment of time entry {} for {} would bring the total billed against the ceiling to more than {limit_text} ({} left)",
                        a.item_id,
                        a.change_order_id,
                        ctx.money(room).amount_string()
                    )),
                    change_order_id: Some(Cow::Owned(a.change_order_id)),
                    date: a.date,
                    id: Cow::Owned(a.item_id),
                    kind: ItemKind::Time,
                    reason: HoldReason::CeilingExceeded,
                },
            )?;
        }
        kept.sort_unstable_by(|a, b| (a.date, &a.item_id).cmp(&(b.date, &b.item_id)));
        kept
    } else {
        adjustments
    };
    // Held before any item: adjustments over the ceiling (merged into place at the end).
    let adjustments_held = held.items.len();
    adjustments.shrink_to_fit();
    let adjustments_total = adjustments
        .iter()
        .try_fold(Decimal::ZERO, |acc, a| add(acc, a.amount.amount))?;
    // Line totals by kind, summed as lines are made.
    let mut kind_totals = [Sum::ZERO; 3];
    // (A line the ceiling keeps is added to its kind's total.)
    let mut bill = |line: &PreviewLine<'a>| -> Result<(), Error> {
        match kind_totals.get_mut(line.kind as usize) {
            Some(t) => t.add(line.amount.amount, "the total"),
            None => Ok(()),
        }
    };
    for (k, &i) in order.iter().enumerate() {
        let i = i as usize;
        if k % TOUCH_AHEAD == 0 {
            touch(
                &req.time_entries,
                order.get(k..k + TOUCH_AHEAD).unwrap_or_default(),
            );
        }
        let priced = if i < times {
            match req.time_entries.get(i) {
                Some(e) => ctx.time(e, &mut held, &mut lines)?,
                None => None,
            }
        } else if i < times + expenses {
            match req.expenses.get(i - times) {
                Some(x) => ctx.expense(x, &mut held, &mut lines)?,
                None => None,
            }
        } else {
            match milestones.get(i - times - expenses) {
                Some(m) => ctx.milestone(m, &mut held, &mut lines)?,
                None => None,
            }
        };
        // A priced item's line is the last one.
        let Some(priced) = priced else {
            continue;
        };
        let Some(line) = lines.last_mut() else {
            continue;
        };
        let Some((limit, _, mode)) = ceiling.filter(|_| priced.counts_against_ceiling) else {
            line.quantity = shown_quantity(line.quantity.0);
            bill(line)?;
            continue;
        };
        let limit = limit.amount;
        // (Once the ceiling is crossed, nothing later is added to what it has taken.)
        if !crossed {
            let next = add(used, line.amount.amount)?;
            if next <= limit {
                used = next;
                line.quantity = shown_quantity(line.quantity.0);
                bill(line)?;
                continue;
            }
        }
        let room = if crossed {
            Decimal::ZERO
        } else {
            sub(limit, used)?.max(Decimal::ZERO)
        };
        crossed = true;
        let (kind, date, id, amount) = (line.kind, line.date, priced.id, line.amount);
        let billed_hours = line.billed_hours.map(|h| h.0);
        // The item (or what the room leaves of it) held over the ceiling.
        let over_ceiling = |sentence: Text<'a>, amount: Money| HeldItem {
            change_order_id: None,
            kind,
            id: Cow::Borrowed(id),
            date,
            reason: HoldReason::CeilingExceeded,
            sentence,
            amount: Some(amount),
        };
        if mode == CeilingMode::Split && room > Decimal::ZERO {
            // Multiply before dividing: `8 h × 1000 ÷ 1600` is exactly 5 h, where `8 h × (1000 ÷ 1600)`
            // can fall a hair short of it and show 4.9999.
            let part = |q: Decimal| -> Result<Decimal, Error> {
                div(
                    mul(q, room, "the split quantity")?,
                    amount.amount,
                    "the ceiling share",
                )
            };
            let quantity =
                part(line.quantity.0)?.round_dp_with_strategy(4, RoundingStrategy::ToZero);
            // The ledger keeps the hours the room pays for to 12 decimals (rounded down), so the
            // remainder billed later prices the rest of the item; only the displayed quantity is
            // rounded to 4.
            let split_hours = match billed_hours {
                Some(h) => Some(part(h)?.round_dp_with_strategy(
                    super::ledger::QUANTITY_DECIMALS,
                    RoundingStrategy::ToZero,
                )),
                None => None,
            };
            let rest = sub(amount.amount, room)?;
            used = add(used, room)?;
            line.quantity = Dec(quantity.normalize());
            line.billed_hours = split_hours.map(|h| Dec(h.normalize()));
            line.amount = ctx.money(room);
            line.ceiling_split = true;
            bill(line)?;
            // The hours still to bill, less what the split bills now.
            if kind == ItemKind::Time
                && let (Some(left), Some(billed)) = (billed_hours, split_hours)
            {
                let hours = sub(left, billed)?.max(Decimal::ZERO);
                held.unbilled(date, hours, Some(rest))?;
            }
            held.push(over_ceiling(
                Text::from(format!(
                    "{} {id} was billed up to the ceiling of {limit_text}; {} is over it",
                    kind.noun(),
                    ctx.money(rest).amount_string()
                )),
                ctx.money(rest),
            ))?;
        } else {
            // The whole item is held: its line is taken back.
            lines.pop();
            if kind == ItemKind::Time
                && let Some(left) = billed_hours
            {
                held.unbilled(date, left, Some(amount.amount))?;
            }
            // Once the ceiling is crossed there is no room for any later item: one sentence
            // shape, kept as words (no text per item).
            let sentence = if room.is_zero() {
                Text::words(Words::CeilingFull {
                    kind,
                    id,
                    limit: ctx.money(limit),
                })
            } else {
                Text::from(format!(
                    "{} {id} would bring the total billed against the ceiling to more than {limit_text} ({} left)",
                    kind.noun(),
                    ctx.money(room).amount_string()
                ))
            };
            held.push(over_ceiling(sentence, amount))?;
        }
    }
    let Held {
        items: held,
        by_reason,
        aging,
        ..
    } = held;
    let held = merge_adjustments_held(held, adjustments_held);

    // Totals.
    let [time_total, expense_total, milestone_total] = kind_totals.map(|t| t.value());
    let retainer = match (&contract.retainer, contract.billing_model) {
        (Some(r), BillingModel::Retainer) => {
            let drawn_before = ctx.ledger.time_amount()?.min(r.amount.amount);
            let remaining_before = sub(r.amount.amount, drawn_before)?.max(Decimal::ZERO);
            let drawn = add(time_total, adjustments_total)?
                .max(Decimal::ZERO)
                .min(remaining_before);
            let excess = sub(add(time_total, adjustments_total)?, drawn)?;
            Some(RetainerStatus {
                amount: r.amount,
                drawn_before: ctx.money(drawn_before),
                drawn_this_run: ctx.money(drawn),
                remaining: ctx.money(sub(remaining_before, drawn)?),
                excess: ctx.money(excess),
            })
        }
        _ => None,
    };
    let drawdown = retainer
        .as_ref()
        .map(|r| -r.drawn_this_run.amount)
        .unwrap_or(Decimal::ZERO);
    let total = add(
        add(
            add(add(time_total, expense_total)?, milestone_total)?,
            adjustments_total,
        )?,
        drawdown,
    )?;
    let totals = Totals {
        time: ctx.money(time_total),
        expenses: ctx.money(expense_total),
        milestones: ctx.money(milestone_total),
        adjustments: ctx.money(adjustments_total),
        retainer_drawdown: ctx.money(drawdown),
        total: ctx.money(total),
    };

    let ceiling_status = match ceiling {
        Some((limit, scope, _)) => {
            let this_run = sub(used, billed_before)?;
            let utilisation = if limit.amount.is_zero() {
                Decimal::ZERO
            } else {
                mul(
                    div(used, limit.amount, "the utilisation")?,
                    Decimal::ONE_HUNDRED,
                    "the utilisation",
                )?
                .round_dp(2)
            };
            Some(CeilingStatus {
                limit,
                scope,
                billed_before: ctx.money(billed_before),
                this_run: ctx.money(this_run),
                remaining: ctx.money(sub(limit.amount, used)?.max(Decimal::ZERO)),
                utilisation_percent: Dec(utilisation),
            })
        }
        None => None,
    };

    // Summary: unbilled approved time (held for reasons 4-10), aged from as_of.
    let unbilled_approved = BUCKETS
        .iter()
        .zip(aging)
        .map(|((name, _), (n, hours, amount))| AgingBucket {
            bucket: (*name).to_owned(),
            entries: n,
            hours: Dec(hours.value()),
            amount: ctx.money(amount.value()),
        })
        .collect();
    let held_by_reason = HoldReason::ALL
        .iter()
        .zip(by_reason)
        .filter(|(_, (count, _))| *count > 0)
        .map(|(&reason, (count, amount))| HeldByReason {
            reason,
            count,
            amount: ctx.money(amount.value()),
        })
        .collect();
    // Backlog: contract value not yet billed.
    let milestone_billed = add(
        ctx.ledger
            .iter()
            .filter(|(k, _, _)| *k == ItemKind::Milestone)
            .try_fold(Decimal::ZERO, |acc, (_, _, n)| add(acc, n.amount))?,
        milestone_total,
    )?;
    let backlog = match contract.billing_model {
        BillingModel::FixedFee => contract
            .fixed_fee
            .map(|f| sub(f.amount, milestone_billed))
            .transpose()?,
        BillingModel::Milestone => {
            let value = milestones
                .iter()
                .filter_map(|m| m.amount.map(|a| a.amount))
                .try_fold(Decimal::ZERO, add)?;
            Some(sub(value, milestone_billed)?)
        }
        BillingModel::Retainer => retainer.as_ref().map(|r| r.remaining.amount),
        BillingModel::TimeAndMaterials => ceiling_status.as_ref().map(|c| c.remaining.amount),
    }
    .map(|b| ctx.money(b.max(Decimal::ZERO)));

    Ok(InvoicePreview {
        schema_version: SchemaVersion,
        contract_id: contract.id.clone(),
        currency,
        period: req.period,
        as_of: req.as_of,
        contract_version: ctx.terms.version_on(req.as_of),
        lines,
        adjustments,
        held,
        ceiling: ceiling_status,
        retainer,
        totals,
        summary: Summary {
            unbilled_approved,
            held_by_reason,
            backlog,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `item_order` with the id orders a run finds, against a stable sort.
    fn check(items: &[(Date, ItemKind, String)]) {
        let order_of = |kind: ItemKind| {
            IdOrder::of(items.iter().filter(|t| t.1 == kind).map(|t| t.2.as_str()))
        };
        let id_order = [
            order_of(ItemKind::Time),
            order_of(ItemKind::Expense),
            order_of(ItemKind::Milestone),
        ];
        let keys: Vec<u32> = items.iter().map(|t| day_kind(t.0, t.1)).collect();
        let order = item_order(
            &keys,
            |k| id_order[k as usize].in_order(),
            |i| items.get(i).map(|t| t.2.as_str()),
        )
        .unwrap();
        let mut expected: Vec<u32> = (0..items.len() as u32).collect();
        expected.sort_by(|&a, &b| {
            let (x, y) = (&items[a as usize], &items[b as usize]);
            (x.0, x.1, &x.2).cmp(&(y.0, y.1, &y.2))
        });
        assert_eq!(order, expected);
    }

    #[test]
    fn id_order_tells_ascending_from_repeated_and_unordered_ids() {
        let of = |ids: &[&str]| IdOrder::of(ids.iter().copied());
        assert_eq!(of(&[]), IdOrder::Ascending);
        assert_eq!(of(&["A"]), IdOrder::Ascending);
        assert_eq!(of(&["A", "B", "C"]), IdOrder::Ascending);
        assert_eq!(of(&["A", "B", "B", "C"]), IdOrder::NonDecreasing);
        assert_eq!(of(&["A", "C", "B"]), IdOrder::Unordered);
        assert_eq!(of(&["A", "A", "B", "A"]), IdOrder::Unordered);
    }

    fn held(day: i64, kind: ItemKind, id: &str, reason: HoldReason) -> HeldItem<'static> {
        HeldItem {
            amount: None,
            change_order_id: None,
            date: Date::from_days_since_epoch(20_000 + day).unwrap(),
            id: Cow::Owned(Id::from_text(id).unwrap()),
            kind,
            reason,
            sentence: Text::from(""),
        }
    }

    #[test]
    fn items_after_the_ceiling_is_crossed_are_held_without_adding_them_to_what_it_has_taken() {
        // 60 h at 1e27 takes 6e28 of a 7e28 ceiling; 15 h more would pass it, and so is held
        // and crosses it. 20 h after that is held too: adding it to what the ceiling has taken
        // (8e28) would pass the largest decimal, but nothing later is added once it is crossed.
        let entry = |id: &str, day: u8, hours: &str| {
            format!(
                r#"{{"id":"{id}","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Lead","work_date":"2026-01-{day:02}","hours":"{hours}","status":"approved"}}"#
            )
        };
        let json = format!(
            r#"{{"schema_version":1,"contract":{{"schema_version":1,"kind":"contract","id":"C-1","account_id":"A-1","legal_entity":"US01","currency":"USD","billing_model":"time_and_materials","status":"active","start_date":"2026-01-01","end_date":"2026-12-31","rate_card":{{"entries":[{{"role":"Lead","rate":{{"amount":"1000000000000000000000000000","currency":"USD"}},"effective_from":"2026-01-01"}}]}},"ceiling":{{"amount":{{"amount":"70000000000000000000000000000","currency":"USD"}},"mode":"hold_whole"}}}},"projects":[{{"schema_version":1,"kind":"project","id":"P-1","contract_id":"C-1","legal_entity":"US01","status":"active"}}],"time_entries":[{},{},{}],"period":{{"start":"2026-01-01","end":"2026-01-31"}},"as_of":"2026-02-01"}}"#,
            entry("TE-1", 5, "60"),
            entry("TE-2", 6, "15"),
            entry("TE-3", 7, "20"),
        );
        let req: PreviewInvoiceRequest =
            crate::json::from_slice(json.as_bytes(), &crate::json::Limits::DEFAULT).unwrap();
        let preview = preview_invoice(&req).unwrap();
        assert_eq!(preview.lines.len(), 1);
        let held: Vec<(&str, HoldReason)> = preview
            .held
            .iter()
            .map(|h| (h.id.as_str(), h.reason))
            .collect();
        assert_eq!(
            held,
            [
                ("TE-2", HoldReason::CeilingExceeded),
                ("TE-3", HoldReason::CeilingExceeded)
            ]
        );
    }

    #[test]
    fn adjustments_held_go_to_their_dates_after_an_items_own_checks_and_before_its_ceiling() {
        use HoldReason::{AlreadyBilled, CeilingExceeded, NotApproved};
        let time = ItemKind::Time;
        let list = vec![
            // Adjustments over the ceiling, held first, by date and id.
            held(1, time, "TE-1", CeilingExceeded),
            held(3, time, "TE-3", CeilingExceeded),
            held(5, time, "TE-5", CeilingExceeded),
            // Then the items, in date, kind and id order.
            held(0, time, "TE-0", NotApproved),
            held(1, time, "TE-1", AlreadyBilled),
            held(2, ItemKind::Expense, "X-1", NotApproved),
            held(3, time, "TE-3", CeilingExceeded),
            held(9, time, "TE-9", CeilingExceeded),
        ];
        let mut list = list;
        for h in list.iter_mut().take(3) {
            h.change_order_id = Some(Cow::Owned(Id::from_text("CO-1").unwrap()));
        }
        let merged = merge_adjustments_held(list, 3);
        let got: Vec<(i64, &str, HoldReason)> = merged
            .iter()
            .map(|h| (h.date.days_since_epoch() - 20_000, h.id.as_str(), h.reason))
            .collect();
        assert_eq!(
            got,
            [
                (0, "TE-0", NotApproved),
                (1, "TE-1", AlreadyBilled),
                (1, "TE-1", CeilingExceeded),
                (2, "X-1", NotApproved),
                (3, "TE-3", CeilingExceeded),
                (3, "TE-3", CeilingExceeded),
                (5, "TE-5", CeilingExceeded),
                (9, "TE-9", CeilingExceeded),
            ]
        );
        // An item's own checks come before its adjustment; its ceiling hold after it.
        let adjustment = |i: usize| merged[i].change_order_id.is_some();
        assert_eq!(
            (0..merged.len()).map(adjustment).collect::<Vec<_>>(),
            [false, false, true, false, true, false, true, false]
        );
    }

    proptest! {
        #[test]
        fn items_come_out_by_date_kind_and_id_with_ties_in_input_order(
            items in prop::collection::vec((0i64..3000, 0u8..3, 0u8..8, 0usize..5), 0..80),
            wide in any::<bool>(),
            sorted_ids in any::<bool>(),
        ) {
            // Short ids, long ids with a long common part, ids that extend others, and
            // multi-byte text.
            const SHAPES: [&str; 5] = ["X-", "ENGAGEMENT-2026-ALPHA-TE-", "ENGAGEMENT-2026-ALPHA-TE-1", "é-", "X-1"];
            let mut items: Vec<(Date, ItemKind, String)> = items
                .iter()
                .map(|&(d, k, id, shape)| {
                    // A narrow span of days is counted; a span of years falls back to comparing.
                    let d = if wide { d * 10 } else { d % 40 };
                    let kind = [ItemKind::Time, ItemKind::Expense, ItemKind::Milestone][usize::from(k)];
                    let id = if id == 7 { SHAPES[shape].to_owned() } else { format!("{}{id}", SHAPES[shape]) };
                    (Date::from_days_since_epoch(20_000 + d).unwrap(), kind, id)
                })
                .collect();
            if sorted_ids {
                let mut ids: Vec<String> = items.iter().map(|t| t.2.clone()).collect();
                ids.sort();
                for (t, id) in items.iter_mut().zip(ids) {
                    t.2 = id;
                }
            }
            check(&items);
        }
    }
}
