//! The billing run: eligibility, pricing, the ceiling, adjustments and the summary.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use super::ledger::{LedgerIndex, NetBilled};
use super::terms::{Resolved, Terms};
use super::types::{
    AdjustmentLine, AgingBucket, CeilingStatus, HeldByReason, HeldItem, HoldReason, InvoicePreview,
    ItemKind, LineUnit, PreviewInvoiceRequest, PreviewLine, RetainerStatus, Summary, Totals,
};
use crate::error::Error;
use crate::model::{
    BillingModel, CeilingMode, CeilingScope, Currency, Date, Dec, Expense, Id, Milestone,
    MilestoneStatus, Money, Project, ProjectStatus, RateUnit, RoundingMode, SchemaVersion,
    TimeEntry, TimeRounding, WorkStatus,
};

/// Everything about a project a check needs.
struct ProjectInfo<'a> {
    project: &'a Project,
    tasks: BTreeMap<&'a str, (bool, &'a str)>,
}

/// An item that passed checks 1-9, priced, waiting for the ceiling.
struct Candidate<'a> {
    kind: ItemKind,
    date: Date,
    id: &'a Id,
    description: String,
    worked_hours: Option<Decimal>,
    billed_hours: Option<Decimal>,
    quantity: Decimal,
    unit: LineUnit,
    unit_price: Money,
    amount: Money,
    rate_source: String,
    contract_version: u32,
    counts_against_ceiling: bool,
}

struct Ctx<'a> {
    req: &'a PreviewInvoiceRequest,
    terms: Terms<'a>,
    ledger: LedgerIndex<'a>,
    projects: BTreeMap<&'a str, ProjectInfo<'a>>,
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

fn statuses(list: &[ProjectStatus]) -> String {
    list.iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'a> Ctx<'a> {
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

    /// Checks 4, 5, 6 and 7 for an item of `project_id` dated `date`.
    fn project_checks(
        &self,
        kind: &str,
        id: &Id,
        project_id: &Id,
        date: Date,
    ) -> Result<&ProjectInfo<'a>, (HoldReason, String)> {
        let c = &self.req.contract;
        let Some(info) = self.projects.get(project_id.as_str()) else {
            return Err((
                HoldReason::ProjectStatus,
                format!("project {project_id} of {kind} {id} is not part of this billing run"),
            ));
        };
        let p = info.project;
        if p.contract_id != c.id {
            return Err((
                HoldReason::ProjectStatus,
                format!(
                    "project {} belongs to contract {}, not {}",
                    p.id, p.contract_id, c.id
                ),
            ));
        }
        let allowed = &self.req.options.billable_project_statuses;
        if !allowed.contains(&p.status) {
            return Err((
                HoldReason::ProjectStatus,
                format!(
                    "project {} is {}; billable statuses are {}",
                    p.id,
                    p.status,
                    statuses(allowed)
                ),
            ));
        }
        if date < c.start_date || date > self.end_date {
            return Err((
                HoldReason::OutsideContractPeriod,
                format!(
                    "{kind} {id} is dated {date}, outside the contract period {} to {}",
                    c.start_date, self.end_date
                ),
            ));
        }
        let period = &self.req.period;
        if !period.contains(date) {
            return Err((
                HoldReason::OutsideBillingPeriod,
                format!(
                    "{kind} {id} is dated {date}, outside the billing period {} to {}",
                    period.start, period.end
                ),
            ));
        }
        if p.legal_entity != c.legal_entity {
            return Err((
                HoldReason::LegalEntityMismatch,
                format!(
                    "project {} is delivered by {}, but contract {} is with {}",
                    p.id, p.legal_entity, c.id, c.legal_entity
                ),
            ));
        }
        Ok(info)
    }

    /// The rate for an entry: its manual override, else the card of the version in force on its date.
    fn resolve(&self, e: &TimeEntry) -> Option<Resolved<'_>> {
        match &e.rate_override {
            Some(rate) => Some(Resolved {
                rate: *rate,
                unit: RateUnit::Hour,
                hours_per_day: self.req.contract.rate_card.hours_per_day.0,
                source: std::borrow::Cow::Borrowed(crate::rates::RATE_OVERRIDE_SOURCE),
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

    fn time(
        &self,
        e: &'a TimeEntry,
        held: &mut Vec<HeldItem>,
        out: &mut Vec<Candidate<'a>>,
    ) -> Result<(), Error> {
        let kind = "time entry";
        let policy = &self.req.contract.rounding;
        let billed_hours = round_hours(e.hours.0, policy.time_increment, policy.time_rounding)?;
        let net = self.ledger.get(ItemKind::Time, e.id.as_str());
        let outstanding = match net {
            Some(n) => sub(billed_hours, n.quantity)?,
            None => billed_hours,
        };
        let hold = |reason: HoldReason, sentence: String, amount: Option<Money>| HeldItem {
            change_order_id: None,
            kind: ItemKind::Time,
            id: e.id.clone(),
            date: e.work_date,
            reason,
            sentence,
            amount,
        };
        if net.is_some() && outstanding <= Decimal::ZERO {
            let n = net.map(|n| Dec(n.quantity)).unwrap_or_default();
            held.push(hold(
                HoldReason::AlreadyBilled,
                format!("{kind} {} is billed already ({n} h net of credits)", e.id),
                None,
            ));
            return Ok(());
        }
        let billed_status_known = e.status == WorkStatus::Billed && net.is_some();
        if e.status != WorkStatus::Approved && !billed_status_known {
            let sentence = if e.status == WorkStatus::Billed {
                format!(
                    "{kind} {} is marked billed, but the ledger has no record of it",
                    e.id
                )
            } else {
                format!("{kind} {} is {}, not approved", e.id, e.status)
            };
            held.push(hold(HoldReason::NotApproved, sentence, None));
            return Ok(());
        }
        if !e.billable {
            held.push(hold(
                HoldReason::NotBillable,
                format!("{kind} {} is marked non-billable", e.id),
                None,
            ));
            return Ok(());
        }
        // Check 3 (the task is billable) comes before check 4 (the project).
        let task_name = match self
            .projects
            .get(e.project_id.as_str())
            .map(|info| (info.tasks.is_empty(), info.tasks.get(e.task_id.as_str())))
        {
            Some((_, Some((false, _)))) => {
                held.push(hold(
                    HoldReason::NotBillable,
                    format!(
                        "task {} of project {} is non-billable",
                        e.task_id, e.project_id
                    ),
                    None,
                ));
                return Ok(());
            }
            Some((_, Some((true, name)))) => *name,
            // No task list, or an unknown project (held by the project check below).
            Some((true, None)) | None => e.task_id.as_str(),
            Some((false, None)) => {
                held.push(hold(
                    HoldReason::NotBillable,
                    format!(
                        "task {} is not a task of project {}",
                        e.task_id, e.project_id
                    ),
                    None,
                ));
                return Ok(());
            }
        };
        match self.project_checks(kind, &e.id, &e.project_id, e.work_date) {
            Ok(_) => {}
            Err((reason, sentence)) if reason == HoldReason::ProjectStatus => {
                held.push(hold(reason, sentence, None));
                return Ok(());
            }
            Err((reason, sentence)) => {
                let amount = self.would_bill(e, outstanding)?;
                held.push(hold(reason, sentence, amount));
                return Ok(());
            }
        };
        if let Some(o) = &e.rate_override
            && o.currency != self.currency
        {
            held.push(hold(
                HoldReason::CurrencyMismatch,
                format!(
                    "the manual rate of {kind} {} is in {}; contract {} bills in {}",
                    e.id, o.currency, self.req.contract.id, self.currency
                ),
                None,
            ));
            return Ok(());
        }
        let Some(r) = self.resolve(e) else {
            held.push(hold(
                HoldReason::MissingRate,
                format!(
                    "no rate prices role {} (resource {}, task {}) on {} under contract version {}",
                    e.role,
                    e.resource_id,
                    e.task_id,
                    e.work_date,
                    self.terms.version_on(e.work_date)
                ),
                None,
            ));
            return Ok(());
        };
        let (quantity, unit, amount) = self.price_time(outstanding, &r)?;
        out.push(Candidate {
            kind: ItemKind::Time,
            date: e.work_date,
            id: &e.id,
            description: [e.role.as_str(), e.resource_id.as_str(), task_name].join(", "),
            worked_hours: Some(e.hours.0),
            billed_hours: Some(outstanding),
            quantity,
            unit,
            unit_price: r.rate,
            amount,
            rate_source: r.source.to_string(),
            contract_version: r.version,
            counts_against_ceiling: true,
        });
        Ok(())
    }

    /// The hours of an entry still to bill: rounded as they would bill, less what earlier runs
    /// billed net of credits (the hours a held amount is for).
    fn hours_left(&self, e: &TimeEntry) -> Result<Decimal, Error> {
        let policy = &self.req.contract.rounding;
        let mut hours = round_hours(e.hours.0, policy.time_increment, policy.time_rounding)?;
        if let Some(n) = self.ledger.get(ItemKind::Time, e.id.as_str()) {
            hours = sub(hours, n.quantity)?;
        }
        Ok(hours.max(Decimal::ZERO))
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
        held: &mut Vec<HeldItem>,
        out: &mut Vec<Candidate<'a>>,
    ) -> Result<(), Error> {
        let kind = "expense";
        let c = &self.req.contract;
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
        let hold = |reason: HoldReason, sentence: String, amount: Option<Money>| HeldItem {
            change_order_id: None,
            kind: ItemKind::Expense,
            id: x.id.clone(),
            date: x.date,
            reason,
            sentence,
            amount,
        };
        if net.is_some() && outstanding.is_none_or(|o| o.amount <= Decimal::ZERO) {
            held.push(hold(
                HoldReason::AlreadyBilled,
                format!("{kind} {} is billed already", x.id),
                None,
            ));
            return Ok(());
        }
        let billed_status_known = x.status == WorkStatus::Billed && net.is_some();
        if x.status != WorkStatus::Approved && !billed_status_known {
            held.push(hold(
                HoldReason::NotApproved,
                format!("{kind} {} is {}, not approved", x.id, x.status),
                None,
            ));
            return Ok(());
        }
        if !x.billable {
            held.push(hold(
                HoldReason::NotBillable,
                format!("{kind} {} is marked non-billable", x.id),
                None,
            ));
            return Ok(());
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
                format!(
                    "expense category {} is not billable under {} (billable: {list})",
                    x.category, c.id
                ),
                None,
            ));
            return Ok(());
        }
        if let Err((reason, sentence)) = self.project_checks(kind, &x.id, &x.project_id, x.date) {
            let amount = if reason == HoldReason::ProjectStatus {
                None
            } else {
                outstanding
            };
            held.push(hold(reason, sentence, amount));
            return Ok(());
        }
        let (Some(amount), Some(fx)) = (outstanding, fx) else {
            held.push(hold(
                HoldReason::CurrencyMismatch,
                format!(
                    "{kind} {} is in {} with no fx_rate to {}",
                    x.id, x.amount.currency, self.currency
                ),
                None,
            ));
            return Ok(());
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
        out.push(Candidate {
            kind: ItemKind::Expense,
            date: x.date,
            id: &x.id,
            description: format!(
                "{} expense, {} {}",
                x.category,
                x.amount.amount_string(),
                x.amount.currency
            ),
            worked_hours: None,
            billed_hours: None,
            quantity: item_left(net)?,
            unit: LineUnit::Item,
            unit_price: full.unwrap_or(amount),
            amount,
            rate_source: source,
            contract_version: self.terms.version_on(x.date),
            counts_against_ceiling: c
                .ceiling
                .as_ref()
                .is_some_and(|_| self.terms.ceiling_scope() == Some(CeilingScope::FeesAndExpenses)),
        });
        Ok(())
    }

    fn milestone(
        &self,
        m: &'a Milestone,
        held: &mut Vec<HeldItem>,
        out: &mut Vec<Candidate<'a>>,
    ) -> Result<(), Error> {
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
        let hold = |reason: HoldReason, sentence: String, amount: Option<Money>| HeldItem {
            change_order_id: None,
            kind: ItemKind::Milestone,
            id: m.id.clone(),
            date: m.due_date,
            reason,
            sentence,
            amount,
        };
        if net.is_some() && outstanding.is_none_or(|o| o.amount <= Decimal::ZERO) {
            held.push(hold(
                HoldReason::AlreadyBilled,
                format!("milestone {} is billed already", m.id),
                None,
            ));
            return Ok(());
        }
        let billed_status_known = m.status == MilestoneStatus::Billed && net.is_some();
        if m.status != MilestoneStatus::Accepted && !billed_status_known {
            held.push(hold(
                HoldReason::NotApproved,
                format!("milestone {} is {}, not accepted", m.id, m.status),
                outstanding,
            ));
            return Ok(());
        }
        let Some(amount) = outstanding else {
            held.push(hold(
                HoldReason::MissingRate,
                format!(
                    "milestone {} is a percent of a fixed fee, but contract {} has none",
                    m.id, c.id
                ),
                None,
            ));
            return Ok(());
        };
        out.push(Candidate {
            kind: ItemKind::Milestone,
            date: m.due_date,
            id: &m.id,
            description: m.name.clone(),
            worked_hours: None,
            billed_hours: None,
            quantity: item_left(net)?,
            unit: LineUnit::Item,
            unit_price: full.unwrap_or(amount),
            amount,
            rate_source: source,
            contract_version: self.terms.version_on(self.req.as_of),
            counts_against_ceiling: true,
        });
        Ok(())
    }
}

fn line_of(c: Candidate<'_>) -> PreviewLine {
    PreviewLine {
        kind: c.kind,
        source_ids: vec![c.id.clone()],
        date: c.date,
        description: c.description,
        worked_hours: c.worked_hours.map(Dec),
        billed_hours: c.billed_hours.map(Dec),
        // Shown to at most 4 decimals; `billed_hours` keeps the exact hours the ledger records.
        quantity: Dec(c
            .quantity
            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
            .normalize()),
        unit: c.unit,
        unit_price: c.unit_price,
        amount: c.amount,
        rate_source: c.rate_source,
        contract_version: c.contract_version,
        ceiling_split: false,
    }
}

/// `items` in the order of `key` (date, kind, id), moving each item once. The sort moves small
/// integer keys: date and kind packed in one, then the id's first 16 bytes (zero-padded, so a
/// shorter id orders first as in byte order); only ids equal in those bytes are compared in full,
/// and the input position breaks a tie between equal ids.
fn sorted_by_item<T>(items: Vec<T>, key: impl Fn(&T) -> (Date, ItemKind, &str)) -> Vec<T> {
    let mut order: Vec<(u64, u128, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let (date, kind, id) = key(t);
            let day = (u64::from(date.year()) << 9)
                | (u64::from(date.month()) << 5)
                | u64::from(date.day());
            let mut prefix = [0u8; 16];
            for (slot, byte) in prefix.iter_mut().zip(id.bytes()) {
                *slot = byte;
            }
            ((day << 8) | kind as u64, u128::from_be_bytes(prefix), i)
        })
        .collect();
    let id = |i: usize| items.get(i).map(|t| key(t).2);
    order.sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| id(a.2).cmp(&id(b.2)))
            .then(a.2.cmp(&b.2))
    });
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(_, _, i)| slots.get_mut(i).and_then(Option::take))
        .collect()
}

const BUCKETS: [(&str, i64); 4] = [
    ("0-30", 30),
    ("31-60", 60),
    ("61-90", 90),
    ("90+", i64::MAX),
];

/// Runs a billing preview.
pub fn preview_invoice(req: &PreviewInvoiceRequest) -> Result<InvoicePreview, Error> {
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
    let mut projects = BTreeMap::new();
    for p in &req.projects {
        let tasks = p
            .tasks
            .iter()
            .map(|t| (t.id.as_str(), (t.billable, t.name.as_str())))
            .collect();
        projects.insert(p.id.as_str(), ProjectInfo { project: p, tasks });
    }
    let end_date = terms.end_date();
    let ctx = Ctx {
        req,
        terms,
        ledger,
        projects,
        currency,
        mode: contract.rounding.mode,
        end_date,
    };

    let mut held: Vec<HeldItem> = Vec::with_capacity(req.time_entries.len() + req.expenses.len());
    let mut candidates = Vec::with_capacity(req.time_entries.len() + req.expenses.len());
    // Unbilled approved time for the summary: (work date, hours, amount) of each time entry held
    // for reasons 4-10 (project status onwards).
    let mut unbilled: Vec<(Date, Decimal, Option<Decimal>)> = Vec::new();
    for e in &req.time_entries {
        let before = held.len();
        ctx.time(e, &mut held, &mut candidates)?;
        if held.len() > before
            && let Some(h) = held.last()
            && h.reason >= HoldReason::ProjectStatus
        {
            unbilled.push((e.work_date, ctx.hours_left(e)?, h.amount.map(|m| m.amount)));
        }
    }
    for x in &req.expenses {
        ctx.expense(x, &mut held, &mut candidates)?;
    }
    let milestones = match &req.milestones {
        Some(list) => std::borrow::Cow::Borrowed(list.as_slice()),
        None => ctx.terms.milestones(),
    };
    for m in milestones.iter() {
        ctx.milestone(m, &mut held, &mut candidates)?;
    }

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
        let Some(e) = entries.get(id) else { continue };
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

    // The ceiling: adjustments first (they correct earlier bills), then items by date, kind, id.
    let candidates = sorted_by_item(candidates, |c| (c.date, c.kind, c.id.as_str()));
    let ceiling = ctx.terms.ceiling();
    let billed_before = ctx.ledger.against_ceiling()?;
    let mut used = billed_before;
    let mut lines = Vec::with_capacity(candidates.len());
    let mut crossed = false;
    let limit_text = ceiling.map(|(limit, _, _)| ctx.money(limit.amount).amount_string());
    let limit_text = limit_text.as_deref().unwrap_or_default();
    // Adjustments correct earlier bills and count against the ceiling: decreases first (they free
    // room), then increases by date and item. An increase the room cannot take is held whole (a
    // part would be lost: the ledger would record the item as re-priced), and like a crossing item
    // it holds every later increase and item; the next run, after a ceiling raise, finds it again.
    if let Some((limit, _, _)) = ceiling {
        let (mut kept, increases): (Vec<AdjustmentLine>, Vec<AdjustmentLine>) = adjustments
            .into_iter()
            .partition(|a| a.amount.amount <= Decimal::ZERO);
        for a in &kept {
            used = add(used, a.amount.amount)?;
        }
        for a in increases {
            let next = add(used, a.amount.amount)?;
            if !crossed && next <= limit.amount {
                used = next;
                kept.push(a);
                continue;
            }
            let room = if crossed {
                Decimal::ZERO
            } else {
                sub(limit.amount, used)?.max(Decimal::ZERO)
            };
            crossed = true;
            held.push(HeldItem {
                amount: Some(a.amount),
                sentence: format!(
                    "the adjustment of time entry {} for {} would bring the total billed against the ceiling to more than {limit_text} ({} left)",
                    a.item_id,
                    a.change_order_id,
                    ctx.money(room).amount_string()
                ),
                change_order_id: Some(a.change_order_id),
                date: a.date,
                id: a.item_id,
                kind: ItemKind::Time,
                reason: HoldReason::CeilingExceeded,
            });
        }
        kept.sort_unstable_by(|a, b| (a.date, &a.item_id).cmp(&(b.date, &b.item_id)));
        adjustments = kept;
    }
    let adjustments_total = adjustments
        .iter()
        .try_fold(Decimal::ZERO, |acc, a| add(acc, a.amount.amount))?;
    for cand in candidates {
        let Some((limit, _, mode)) = ceiling.filter(|_| cand.counts_against_ceiling) else {
            lines.push(line_of(cand));
            continue;
        };
        let limit = limit.amount;
        let next = add(used, cand.amount.amount)?;
        if !crossed && next <= limit {
            used = next;
            lines.push(line_of(cand));
            continue;
        }
        let room = if crossed {
            Decimal::ZERO
        } else {
            sub(limit, used)?.max(Decimal::ZERO)
        };
        crossed = true;
        let id = cand.id.clone();
        let (kind, date) = (cand.kind, cand.date);
        if mode == CeilingMode::Split && room > Decimal::ZERO {
            // Multiply before dividing: `8 h × 1000 ÷ 1600` is exactly 5 h, where `8 h × (1000 ÷ 1600)`
            // can fall a hair short of it and show 4.9999.
            let part = |q: Decimal| -> Result<Decimal, Error> {
                div(
                    mul(q, room, "the split quantity")?,
                    cand.amount.amount,
                    "the ceiling share",
                )
            };
            let quantity = part(cand.quantity)?.round_dp_with_strategy(4, RoundingStrategy::ToZero);
            // The ledger keeps the hours the room pays for to 12 decimals (rounded down), so the
            // remainder billed later prices the rest of the item; only the displayed quantity is
            // rounded to 4.
            let billed_hours = match cand.billed_hours {
                Some(h) => Some(part(h)?.round_dp_with_strategy(
                    super::ledger::QUANTITY_DECIMALS,
                    RoundingStrategy::ToZero,
                )),
                None => None,
            };
            let rest = sub(cand.amount.amount, room)?;
            used = add(used, room)?;
            // The hours still to bill, less what the split bills now.
            if kind == ItemKind::Time
                && let (Some(left), Some(billed)) = (cand.billed_hours, billed_hours)
            {
                let hours = sub(left, billed)?.max(Decimal::ZERO);
                unbilled.push((date, hours, Some(rest)));
            }
            let mut line = line_of(cand);
            line.quantity = Dec(quantity.normalize());
            line.billed_hours = billed_hours.map(|h| Dec(h.normalize()));
            line.amount = ctx.money(room);
            line.ceiling_split = true;
            lines.push(line);
            held.push(HeldItem {
                change_order_id: None,
                kind,
                id: id.clone(),
                date,
                reason: HoldReason::CeilingExceeded,
                sentence: format!(
                    "{} {id} was billed up to the ceiling of {limit_text}; {} is over it",
                    kind.noun(),
                    ctx.money(rest).amount_string()
                ),
                amount: Some(ctx.money(rest)),
            });
        } else {
            if kind == ItemKind::Time
                && let Some(left) = cand.billed_hours
            {
                unbilled.push((date, left, Some(cand.amount.amount)));
            }
            held.push(HeldItem {
                change_order_id: None,
                kind,
                id: id.clone(),
                date,
                reason: HoldReason::CeilingExceeded,
                sentence: format!(
                    "{} {id} would bring the total billed against the ceiling to more than {limit_text} ({} left)",
                    kind.noun(),
                    ctx.money(room).amount_string()
                ),
                amount: Some(cand.amount),
            });
        }
    }
    // An item can be held twice (already billed, and its adjustment over the ceiling): equal keys
    // keep the order they were held in, which does not depend on the input order.
    let held = sorted_by_item(held, |h| (h.date, h.kind, h.id.as_str()));

    // Totals.
    let sum_kind = |k: ItemKind| {
        lines
            .iter()
            .filter(|l| l.kind == k)
            .try_fold(Decimal::ZERO, |acc, l| add(acc, l.amount.amount))
    };
    let time_total = sum_kind(ItemKind::Time)?;
    let expense_total = sum_kind(ItemKind::Expense)?;
    let milestone_total = sum_kind(ItemKind::Milestone)?;
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
    let mut aging: Vec<(u64, Decimal, Decimal)> =
        vec![(0, Decimal::ZERO, Decimal::ZERO); BUCKETS.len()];
    for (date, hours, amount) in unbilled {
        let age = date.days_until(req.as_of).max(0);
        let idx = BUCKETS
            .iter()
            .position(|(_, max)| age <= *max)
            .unwrap_or(BUCKETS.len() - 1);
        if let Some(slot) = aging.get_mut(idx) {
            slot.0 += 1;
            slot.1 = add(slot.1, hours)?;
            slot.2 = add(slot.2, amount.unwrap_or(Decimal::ZERO))?;
        }
    }
    let unbilled_approved = BUCKETS
        .iter()
        .zip(aging)
        .map(|((name, _), (n, hours, amount))| AgingBucket {
            bucket: (*name).to_owned(),
            entries: n,
            hours: Dec(hours),
            amount: ctx.money(amount),
        })
        .collect();
    let mut by_reason: BTreeMap<HoldReason, (u64, Decimal)> = BTreeMap::new();
    for h in &held {
        let slot = by_reason.entry(h.reason).or_insert((0, Decimal::ZERO));
        slot.0 += 1;
        slot.1 = add(slot.1, h.amount.map(|m| m.amount).unwrap_or(Decimal::ZERO))?;
    }
    let held_by_reason = by_reason
        .into_iter()
        .map(|(reason, (count, amount))| HeldByReason {
            reason,
            count,
            amount: ctx.money(amount),
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
