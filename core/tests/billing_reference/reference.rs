//! A deliberately naive reference implementation of the billing run, written from the prose of
//! `spec/domain/billing.md` and PRODUCT.md ("Rate resolution", "Change orders", "Billing
//! eligibility and the billing run"), not from `core/src/billing/`.
//!
//! It is written for clarity: every rule is a scan over the inputs, nothing is indexed or cached,
//! and every amount is computed exactly and rounded once at the end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;

use billwise_core::billing::{HoldReason, InvoicePreview, ItemKind, PreviewInvoiceRequest};

use billwise_core::model::{
    BillingModel, CeilingMode, CeilingScope, Change, ChangeOrder, ChangeOrderStatus, Date,
    Milestone, MilestoneStatus, RateTarget, RateUnit, TimeEntry, TimeRounding, WorkStatus,
};
use rust_decimal::Decimal;

/// One billed line, as the reference sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    /// The quantity shown (hours, days or items), at most 4 decimals.
    pub quantity: Decimal,
    /// The hours billed (time only), exactly.
    pub billed_hours: Option<Decimal>,
    /// The unit price.
    pub unit_price: Decimal,
    /// The amount, rounded once.
    pub amount: Decimal,
    /// Whether the line is the part of an item that fitted under the ceiling.
    pub split: bool,
    /// The contract version in force on the line's date (a milestone's: on `as_of`).
    pub contract_version: u32,
}

/// The observable outcome of a run: what both sides must agree on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Billed lines by (kind, id).
    pub lines: BTreeMap<(ItemKind, String), Billed>,
    /// Held items by (kind, id): the reason, and the amount it would have billed where known.
    pub held: BTreeMap<(ItemKind, String), (HoldReason, Option<Decimal>)>,
    /// Unbilled approved time by age bucket (0-30, 31-60, 61-90, 90+): entries, hours, amount.
    pub aging: Vec<(u64, Decimal, Decimal)>,
    /// Adjustment amounts by time entry id.
    pub adjustments: BTreeMap<String, Decimal>,
    /// Adjustments held by the ceiling, by time entry id.
    pub held_adjustments: BTreeMap<String, Decimal>,
    /// Ceiling: limit, billed before, this run, remaining.
    pub ceiling: Option<[Decimal; 4]>,
    /// Retainer: drawn before, drawn this run, remaining, excess.
    pub retainer: Option<[Decimal; 4]>,
    /// Totals: time, expenses, milestones, adjustments, retainer draw-down, total.
    pub totals: [Decimal; 6],
}

/// The implementation's preview, projected onto the outcome.
pub fn observe(p: &InvoicePreview) -> Outcome {
    let mut o = Outcome::default();
    for l in &p.lines {
        let id = l
            .source_ids
            .first()
            .map(|i| i.as_str().to_owned())
            .unwrap_or_default();
        let prev = o.lines.insert(
            (l.kind, id.clone()),
            Billed {
                quantity: l.quantity.0.normalize(),
                billed_hours: l.billed_hours.map(|h| h.0.normalize()),
                unit_price: l.unit_price.amount.normalize(),
                amount: l.amount.amount.normalize(),
                split: l.ceiling_split,
                contract_version: l.contract_version,
            },
        );
        assert!(prev.is_none(), "item {id} has two lines");
    }
    for h in &p.held {
        let amount = h.amount.map(|m| m.amount.normalize());
        if h.change_order_id.is_some() {
            let prev = o
                .held_adjustments
                .insert(h.id.as_str().to_owned(), amount.unwrap_or_default());
            assert!(prev.is_none(), "item {} has two held adjustments", h.id);
            continue;
        }
        let prev = o
            .held
            .insert((h.kind, h.id.as_str().to_owned()), (h.reason, amount));
        assert!(prev.is_none(), "item {} is held twice", h.id);
    }
    for a in &p.adjustments {
        let prev = o
            .adjustments
            .insert(a.item_id.as_str().to_owned(), a.amount.amount.normalize());
        assert!(prev.is_none(), "item {} has two adjustments", a.item_id);
    }
    o.aging = p
        .summary
        .unbilled_approved
        .iter()
        .map(|b| {
            (
                b.entries,
                b.hours.0.normalize(),
                b.amount.amount.normalize(),
            )
        })
        .collect();
    o.ceiling = p.ceiling.as_ref().map(|c| {
        [
            c.limit.amount,
            c.billed_before.amount,
            c.this_run.amount,
            c.remaining.amount,
        ]
        .map(|d| d.normalize())
    });
    o.retainer = p.retainer.as_ref().map(|r| {
        [
            r.drawn_before.amount,
            r.drawn_this_run.amount,
            r.remaining.amount,
            r.excess.amount,
        ]
        .map(|d| d.normalize())
    });
    let t = &p.totals;
    o.totals = [
        t.time.amount,
        t.expenses.amount,
        t.milestones.amount,
        t.adjustments.amount,
        t.retainer_drawdown.amount,
        t.total.amount,
    ]
    .map(|d| d.normalize());
    o
}

/// A rate-card entry after change orders: who it prices, from when to when, and where it came from.
#[derive(Debug, Clone)]
struct CardEntry {
    target: RateTarget,
    rate: Decimal,
    rate_currency_ok: bool,
    unit: RateUnit,
    from: Date,
    to: Option<Date>,
}

/// The change orders that count: approved or applied, approved on or before `as_of`, in sequence.
fn counted(req: &PreviewInvoiceRequest) -> Vec<&ChangeOrder> {
    let mut cos: Vec<&ChangeOrder> = req
        .change_orders
        .iter()
        .filter(|co| {
            matches!(
                co.status,
                ChangeOrderStatus::Approved | ChangeOrderStatus::Applied
            )
        })
        .filter(|co| co.approved_on.is_some_and(|d| d <= req.as_of))
        .collect();
    cos.sort_by_key(|co| co.sequence);
    cos
}

/// The contract version in force on `date`: n after change order n (the latest counted one whose
/// effective date is on or before `date`), 0 before any.
fn version_on(req: &PreviewInvoiceRequest, date: Date) -> u32 {
    counted(req)
        .iter()
        .filter(|co| co.effective_date <= date)
        .map(|co| co.sequence)
        .max()
        .unwrap_or(0)
}

/// The rate card with every counted change order applied: `set_rate` starts a new entry on the
/// effective date, drops entries of the same target starting on or after it and ends earlier ones
/// the day before; `end_rate` does the same without a new entry.
fn rate_card(req: &PreviewInvoiceRequest) -> Vec<CardEntry> {
    let cur = req.contract.currency;
    let mut card: Vec<CardEntry> = req
        .contract
        .rate_card
        .entries
        .iter()
        .map(|e| CardEntry {
            target: RateTarget {
                role: e.role.clone(),
                resource_id: e.resource_id.clone(),
                task_id: e.task_id.clone(),
            },
            rate: e.rate.amount,
            rate_currency_ok: e.rate.currency == cur,
            unit: e.unit,
            from: e.effective_from,
            to: e.effective_to,
        })
        .collect();
    for co in counted(req) {
        for ch in &co.changes {
            let (target, new) = match ch {
                Change::SetRate { target, rate, unit } => (target, Some((rate, *unit))),
                Change::EndRate { target } => (target, None),
                _ => continue,
            };
            let eff = co.effective_date;
            card.retain(|e| !(e.target == *target && e.from >= eff));
            for e in card.iter_mut() {
                if e.target == *target && e.to.is_none_or(|t| t >= eff) {
                    e.to = eff.pred();
                }
            }
            if let Some((rate, unit)) = new {
                card.push(CardEntry {
                    target: target.clone(),
                    rate: rate.amount,
                    rate_currency_ok: rate.currency == cur,
                    unit,
                    from: eff,
                    to: None,
                });
            }
        }
    }
    card
}

/// The rate pricing a time entry on its work date: the most specific matching entry in force
/// (resource + task, resource, role + task, role), the latest `effective_from` among equals.
fn resolve_rate(req: &PreviewInvoiceRequest, te: &TimeEntry) -> Option<(Decimal, RateUnit)> {
    let d = te.work_date;
    let specificity = |t: &RateTarget| -> Option<u8> {
        let task_ok = t.task_id.as_ref().is_none_or(|k| *k == te.task_id);
        let res_ok = t.resource_id.as_ref().is_none_or(|r| *r == te.resource_id);
        let role_ok = t.role.as_ref().is_none_or(|r| *r == te.role);
        if !(task_ok && res_ok && role_ok) {
            return None;
        }
        match (
            t.resource_id.is_some(),
            t.role.is_some(),
            t.task_id.is_some(),
        ) {
            (true, _, true) => Some(0),
            (true, _, false) => Some(1),
            (false, true, true) => Some(2),
            (false, true, false) => Some(3),
            _ => None,
        }
    };
    let mut best: Option<(u8, Date, &CardEntry)> = None;
    let card = rate_card(req);
    for e in &card {
        if !(e.from <= d && e.to.is_none_or(|t| d <= t)) {
            continue;
        }
        let Some(s) = specificity(&e.target) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((bs, bf, _)) => s < bs || (s == bs && e.from > bf),
        };
        if better {
            best = Some((s, e.from, e));
        }
    }
    let (_, _, e) = best?;
    // A rate in another currency cannot price the contract's invoice.
    e.rate_currency_ok.then_some((e.rate, e.unit))
}

/// Hours after the contract's time-rounding policy.
fn rounded_hours(req: &PreviewInvoiceRequest, hours: Decimal) -> Decimal {
    let r = &req.contract.rounding;
    let Some(inc) = r.time_increment else {
        return hours;
    };
    let how = r.time_rounding.unwrap_or(TimeRounding::Nearest);
    let inc = inc.0;
    if inc <= Decimal::ZERO {
        return hours;
    }
    let steps = hours / inc;
    let steps = match how {
        TimeRounding::Up => steps.ceil(),
        TimeRounding::Down => steps.floor(),
        TimeRounding::Nearest => (steps + Decimal::new(5, 1)).floor(),
    };
    steps * inc
}

/// The contract's end date as amended by counted change orders.
fn contract_end(req: &PreviewInvoiceRequest) -> Date {
    let mut end = req.contract.end_date;
    for co in counted(req) {
        for ch in &co.changes {
            if let Change::SetEndDate { end_date } = ch {
                end = *end_date;
            }
        }
    }
    end
}

/// The expense markup for an expense dated `d`.
fn markup_on(req: &PreviewInvoiceRequest, d: Date) -> Decimal {
    let mut m = req.contract.expense_policy.markup_percent.0;
    for co in counted(req) {
        if co.effective_date > d {
            continue;
        }
        for ch in &co.changes {
            if let Change::SetExpenseMarkup { markup_percent } = ch {
                m = markup_percent.0;
            }
        }
    }
    m
}

/// The milestones: the request's, or the contract's as amended.
fn milestones(req: &PreviewInvoiceRequest) -> Vec<Milestone> {
    if let Some(ms) = &req.milestones {
        return ms.clone();
    }
    let mut ms = req.contract.milestones.clone();
    for co in counted(req) {
        for ch in &co.changes {
            match ch {
                Change::AddMilestone { milestone } => ms.push(milestone.clone()),
                Change::RemoveMilestone { milestone_id } => ms.retain(|m| m.id != *milestone_id),
                _ => {}
            }
        }
    }
    ms
}

/// The ceiling in force at `as_of`: limit, scope, mode.
fn ceiling(req: &PreviewInvoiceRequest) -> Option<(Decimal, CeilingScope, CeilingMode)> {
    let c = req.contract.ceiling.as_ref()?;
    let mut limit = c.amount.amount;
    for co in counted(req) {
        for ch in &co.changes {
            match ch {
                Change::SetCeiling { amount } => limit = amount.amount,
                Change::AdjustCeiling { delta } => limit += delta.amount,
                _ => {}
            }
        }
    }
    Some((limit, c.scope, c.mode))
}

/// What the ledger shows for one item: net quantity, net amount, net against the ceiling.
#[derive(Debug, Clone, Copy, Default)]
struct Net {
    quantity: Decimal,
    amount: Decimal,
    against: Decimal,
    in_ledger: bool,
    /// The contract version of the item's last ledger entry.
    last_version: u32,
    /// The unit price of the item's last ledger entry.
    last_unit_price: Decimal,
}

/// Scans the ledger for one item: everything billed, minus every credit. A credit by quantity
/// gives back that share of the item's net billed amount (rounded half up to the minor unit), a
/// credit by amount that share of its net billed quantity; either gives back the same share of
/// what the item billed against the ceiling.
fn net_billed(req: &PreviewInvoiceRequest, kind: ItemKind, id: &str) -> Net {
    let mut n = Net::default();
    let Some(ledger) = &req.ledger else {
        return n;
    };
    for e in &ledger.entries {
        if e.kind == kind && e.item_id.as_str() == id {
            n.in_ledger = true;
            n.last_version = e.contract_version;
            n.last_unit_price = e.unit_price.amount;
            n.quantity += e.quantity.0;
            n.amount += e.amount.amount;
            if e.against_ceiling {
                n.against += e.amount.amount;
            }
        }
    }
    let share = |x: Decimal, of: Decimal, times: Decimal| {
        if of.is_zero() {
            Decimal::ZERO
        } else {
            x * times / of
        }
    };
    for c in &ledger.credits {
        if c.kind == kind && c.item_id.as_str() == id {
            let (q, a) = match (&c.quantity, &c.amount) {
                (Some(q), Some(a)) => (q.0, a.amount),
                (Some(q), None) => (q.0, share(q.0, n.quantity, n.amount)),
                // The hours a credit by amount gives back are kept to 12 decimals (half up).
                // ... and never more than the item is billed.
                (None, Some(a)) => (
                    share(a.amount, n.amount, n.quantity)
                        .round_dp_with_strategy(
                            12,
                            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                        )
                        .min(n.quantity),
                    a.amount,
                ),
                (None, None) => (Decimal::ZERO, Decimal::ZERO),
            };
            let a = billwise_core::model::RoundingMode::HalfUp
                .round(a, req.contract.currency.minor_units());
            let against = share(a, n.amount, n.against);
            n.quantity -= q;
            n.amount -= a;
            n.against -= against;
        }
    }
    n
}

/// The amount a held item would have billed, where the spec says it is known: for work held by
/// its dates or legal entity (checks 5-7), once it is priced.
fn would_bill(reason: HoldReason, amount: Option<Decimal>) -> Option<Decimal> {
    match reason {
        HoldReason::OutsideContractPeriod
        | HoldReason::OutsideBillingPeriod
        | HoldReason::LegalEntityMismatch => amount.map(|a| a.normalize()),
        _ => None,
    }
}

/// An item that passed checks 1-9, priced, waiting for the ceiling.
struct Candidate {
    kind: ItemKind,
    id: String,
    date: Date,
    /// Quantity still to bill, in the item's own measure (hours for time, items otherwise).
    quantity: Decimal,
    /// For expenses and milestones: the amount still to bill (rounded price minus net billed).
    outstanding: Option<Decimal>,
    /// The unit price shown on the line.
    unit_price: Decimal,
    /// Hours per shown unit (1 for hourly time and items, hours_per_day for day rates).
    per_unit: Decimal,
}

/// Runs the reference billing.
pub fn reference(req: &PreviewInvoiceRequest) -> Outcome {
    let contract = &req.contract;
    let cur = contract.currency;
    let mode = contract.rounding.mode;
    let round = |d: Decimal| mode.round(d, cur.minor_units());
    let end = contract_end(req);
    let mut o = Outcome::default();
    let mut candidates: Vec<Candidate> = Vec::new();

    // Checks 4-7 for time entries and expenses (the project and the dates).
    let project_checks = |project_id: &str, date: Date| -> Option<HoldReason> {
        let p = req.projects.iter().find(|p| p.id.as_str() == project_id);
        let Some(p) = p else {
            return Some(HoldReason::ProjectStatus);
        };
        if p.contract_id != contract.id
            || !req.options.billable_project_statuses.contains(&p.status)
        {
            return Some(HoldReason::ProjectStatus);
        }
        if date < contract.start_date || date > end {
            return Some(HoldReason::OutsideContractPeriod);
        }
        if !req.period.contains(date) {
            return Some(HoldReason::OutsideBillingPeriod);
        }
        if p.legal_entity != contract.legal_entity {
            return Some(HoldReason::LegalEntityMismatch);
        }
        None
    };

    for te in &req.time_entries {
        let key = (ItemKind::Time, te.id.as_str().to_owned());
        let delivered = rounded_hours(req, te.hours.0);
        let net = net_billed(req, ItemKind::Time, te.id.as_str());
        let remaining = delivered - net.quantity;
        let task_billable = req
            .projects
            .iter()
            .find(|p| p.id == te.project_id)
            .map(|p| p.tasks.is_empty() || p.tasks.iter().any(|t| t.id == te.task_id && t.billable))
            // An unknown project is the project check's to report.
            .unwrap_or(true);
        let reason = if net.in_ledger && remaining <= Decimal::ZERO {
            Some(HoldReason::AlreadyBilled)
        } else if te.status != WorkStatus::Approved
            // `billed` with a record in the ledger is work billed in part (or credited): it counts
            // as approved (the reading of case 060).
            && !(te.status == WorkStatus::Billed && net.in_ledger)
        {
            Some(HoldReason::NotApproved)
        } else if !te.billable || !task_billable {
            Some(HoldReason::NotBillable)
        } else if let Some(r) = project_checks(te.project_id.as_str(), te.work_date) {
            Some(r)
        } else if te.rate_override.is_some_and(|m| m.currency != cur) {
            Some(HoldReason::CurrencyMismatch)
        } else {
            None
        };
        // The price: the unit price shown (per hour or per day), and hours per shown unit.
        let price = match te.rate_override {
            Some(m) if m.currency == cur => Some((m.amount, Decimal::ONE)),
            Some(_) => None,
            None => match resolve_rate(req, te) {
                Some((rate, RateUnit::Hour)) => Some((rate, Decimal::ONE)),
                Some((rate, RateUnit::Day)) => {
                    let hpd = contract.rate_card.hours_per_day.0;
                    Some((rate, hpd))
                }
                None => None,
            },
        };
        if let Some(r) = reason {
            o.held.insert(
                key,
                (
                    r,
                    would_bill(r, price.map(|(rate, per)| round(remaining * rate / per))),
                ),
            );
            continue;
        }
        let Some((unit_price, per_unit)) = price else {
            o.held.insert(key, (HoldReason::MissingRate, None));
            continue;
        };
        candidates.push(Candidate {
            kind: ItemKind::Time,
            id: te.id.as_str().to_owned(),
            date: te.work_date,
            quantity: remaining,
            outstanding: None,
            unit_price,
            per_unit,
        });
    }

    for ex in &req.expenses {
        let key = (ItemKind::Expense, ex.id.as_str().to_owned());
        let net = net_billed(req, ItemKind::Expense, ex.id.as_str());
        // An expense or milestone is billed in money: what is left is its price minus the net
        // billed amount.
        let fx = if ex.amount.currency == cur {
            Some(Decimal::ONE)
        } else {
            ex.fx_rate.map(|f| f.0)
        };
        let markup = markup_on(req, ex.date);
        let exact =
            fx.map(|fx| ex.amount.amount * (Decimal::ONE + markup / Decimal::from(100)) * fx);
        let fully_billed = exact.is_none_or(|x| round(x) - net.amount <= Decimal::ZERO);
        // The share of the one item still to bill, as the ledger records it: 4 decimals, rounded down.
        let remaining = (Decimal::ONE - net.quantity)
            .max(Decimal::ZERO)
            .trunc_with_scale(4);
        let category_ok = contract
            .expense_policy
            .billable_categories
            .contains(&ex.category);
        let reason = if net.in_ledger && fully_billed {
            Some(HoldReason::AlreadyBilled)
        } else if ex.status != WorkStatus::Approved
            && !(ex.status == WorkStatus::Billed && net.in_ledger)
        {
            Some(HoldReason::NotApproved)
        } else if !ex.billable || !category_ok {
            Some(HoldReason::NotBillable)
        } else if let Some(r) = project_checks(ex.project_id.as_str(), ex.date) {
            Some(r)
        } else if ex.amount.currency != cur && ex.fx_rate.is_none() {
            Some(HoldReason::CurrencyMismatch)
        } else {
            None
        };
        if let Some(r) = reason {
            o.held.insert(
                key,
                (r, would_bill(r, exact.map(|x| round(x) - net.amount))),
            );
            continue;
        }
        let exact = exact.unwrap_or_default();
        candidates.push(Candidate {
            kind: ItemKind::Expense,
            id: ex.id.as_str().to_owned(),
            date: ex.date,
            quantity: remaining,
            outstanding: Some(round(exact) - net.amount),
            unit_price: round(exact),
            per_unit: Decimal::ONE,
        });
    }

    for ms in milestones(req) {
        let key = (ItemKind::Milestone, ms.id.as_str().to_owned());
        let net = net_billed(req, ItemKind::Milestone, ms.id.as_str());
        // The share of the one item still to bill, as the ledger records it: 4 decimals, rounded down.
        let remaining = (Decimal::ONE - net.quantity)
            .max(Decimal::ZERO)
            .trunc_with_scale(4);
        let exact = match (&ms.amount, &ms.percent, &contract.fixed_fee) {
            (Some(a), _, _) => Some(a.amount),
            (None, Some(p), Some(fee)) => Some(p.0 / Decimal::from(100) * fee.amount),
            _ => None,
        };
        if net.in_ledger && exact.is_none_or(|x| round(x) - net.amount <= Decimal::ZERO) {
            o.held.insert(key, (HoldReason::AlreadyBilled, None));
            continue;
        }
        if ms.status != MilestoneStatus::Accepted
            && !(ms.status == MilestoneStatus::Billed && net.in_ledger)
        {
            // An unaccepted milestone's price is known: it is what acceptance would bill.
            let amount = exact.map(|x| (round(x) - net.amount).normalize());
            o.held.insert(key, (HoldReason::NotApproved, amount));
            continue;
        }
        // A percent of a fixed fee the contract does not have prices nothing.
        let Some(exact) = exact else {
            o.held.insert(key, (HoldReason::MissingRate, None));
            continue;
        };
        candidates.push(Candidate {
            kind: ItemKind::Milestone,
            id: ms.id.as_str().to_owned(),
            date: ms.due_date,
            quantity: remaining,
            outstanding: Some(round(exact) - net.amount),
            unit_price: round(exact),
            per_unit: Decimal::ONE,
        });
    }

    // Retroactive adjustments: billed time on or after a counted retroactive change order's
    // effective date, re-priced at the rate now in force.
    // Only change orders later than the contract version that last billed (or adjusted) the
    // item count: earlier ones are in its price already.
    let cos = counted(req);
    for te in &req.time_entries {
        let net = net_billed(req, ItemKind::Time, te.id.as_str());
        if !net.in_ledger || net.quantity <= Decimal::ZERO {
            continue;
        }
        let Some(co) = cos
            .iter()
            .filter(|co| {
                co.retroactive
                    && co.effective_date <= te.work_date
                    && co.sequence > net.last_version
            })
            .max_by_key(|co| co.sequence)
        else {
            continue;
        };
        // The rate now in force, and the hours it is for (1, or hours per day for a day rate).
        let (rate, per) = match te.rate_override {
            Some(m) if m.currency == cur => (m.amount, Decimal::ONE),
            Some(_) => continue,
            None => match resolve_rate(req, te) {
                Some((rate, RateUnit::Hour)) => (rate, Decimal::ONE),
                Some((rate, RateUnit::Day)) => (rate, contract.rate_card.hours_per_day.0),
                None => continue,
            },
        };
        // A change order that leaves the rate as it was adjusts nothing.
        if rate == net.last_unit_price {
            continue;
        }
        let adj = round(net.quantity * rate / per) - net.amount;
        if adj != Decimal::ZERO {
            let _ = co;
            o.adjustments
                .insert(te.id.as_str().to_owned(), adj.normalize());
        }
    }

    // The ceiling, in date, kind, id order.
    candidates.sort_by(|a, b| (a.date, a.kind, &a.id).cmp(&(b.date, b.kind, &b.id)));
    let ceiling = ceiling(req);
    let counts = |k: ItemKind| match ceiling {
        None => false,
        Some((_, scope, _)) => k != ItemKind::Expense || scope == CeilingScope::FeesAndExpenses,
    };
    let billed_before: Decimal = match &req.ledger {
        None => Decimal::ZERO,
        Some(l) => {
            let mut ids: Vec<(ItemKind, &str)> = l
                .entries
                .iter()
                .map(|e| (e.kind, e.item_id.as_str()))
                .collect();
            ids.sort();
            ids.dedup();
            ids.iter()
                .map(|(k, id)| net_billed(req, *k, id).against)
                .sum()
        }
    };
    // Adjustments count against the ceiling before the items: decreases first, then increases by
    // date and item; an increase that does not fit is held whole and holds everything after it.
    let mut this_run = Decimal::ZERO;
    let mut crossed = false;
    if let Some((limit, _, _)) = ceiling {
        this_run = o
            .adjustments
            .values()
            .filter(|a| **a <= Decimal::ZERO)
            .sum();
        let mut increases: Vec<(Date, String, Decimal)> = o
            .adjustments
            .iter()
            .filter(|(_, a)| **a > Decimal::ZERO)
            .map(|(id, a)| {
                let date = req
                    .time_entries
                    .iter()
                    .find(|t| t.id.as_str() == id)
                    .map(|t| t.work_date);
                (date.unwrap_or(req.as_of), id.clone(), *a)
            })
            .collect();
        increases.sort();
        for (_, id, a) in increases {
            if !crossed && billed_before + this_run + a <= limit {
                this_run += a;
            } else {
                crossed = true;
                o.adjustments.remove(&id);
                o.held_adjustments.insert(id, a);
            }
        }
    }
    let adjustments_total: Decimal = o.adjustments.values().copied().sum();
    for c in &candidates {
        let amount = c
            .outstanding
            // Time: hours × rate ÷ hours per unit (multiplied before dividing, so an exact
            // midpoint stays one).
            .unwrap_or_else(|| round(c.quantity * c.unit_price / c.per_unit));
        let key = (c.kind, c.id.clone());
        let line = |quantity: Decimal, amount: Decimal, split: bool| Billed {
            quantity: if split {
                (quantity / c.per_unit).trunc_with_scale(4).normalize()
            } else {
                (quantity / c.per_unit)
                    .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                    .normalize()
            },
            // A split bills the hours the room pays for, kept to 12 decimals (rounded down).
            billed_hours: (c.kind == ItemKind::Time).then(|| {
                if split {
                    quantity.trunc_with_scale(12).normalize()
                } else {
                    quantity.normalize()
                }
            }),
            unit_price: c.unit_price.normalize(),
            amount: amount.normalize(),
            split,
            contract_version: if c.kind == ItemKind::Milestone {
                version_on(req, req.as_of)
            } else {
                version_on(req, c.date)
            },
        };
        if let (Some((limit, _, cmode)), true) = (ceiling, counts(c.kind)) {
            let room = limit - billed_before - this_run;
            if crossed {
                o.held
                    .insert(key, (HoldReason::CeilingExceeded, Some(amount.normalize())));
                continue;
            }
            if amount > room {
                crossed = true;
                if cmode == CeilingMode::Split && room > Decimal::ZERO {
                    // The part of the quantity the room pays for: the room's share of the amount.
                    let part = c.quantity * room / amount;
                    o.lines.insert(key.clone(), line(part, room, true));
                    o.held.insert(
                        key,
                        (
                            HoldReason::CeilingExceeded,
                            Some((amount - room).normalize()),
                        ),
                    );
                    this_run += room;
                } else {
                    o.held
                        .insert(key, (HoldReason::CeilingExceeded, Some(amount.normalize())));
                }
                continue;
            }
            this_run += amount;
        }
        o.lines.insert(key, line(c.quantity, amount, false));
    }

    // Unbilled approved time: approved, billable entries held at checks 4-10, by the age of their
    // work date at `as_of`; the hours still to bill (less what a split billed now) and the amount
    // where known.
    let mut aging = vec![(0u64, Decimal::ZERO, Decimal::ZERO); 4];
    for te in &req.time_entries {
        let key = (ItemKind::Time, te.id.as_str().to_owned());
        let Some((reason, amount)) = o.held.get(&key) else {
            continue;
        };
        if *reason < HoldReason::ProjectStatus {
            continue;
        }
        let left = rounded_hours(req, te.hours.0)
            - net_billed(req, ItemKind::Time, te.id.as_str()).quantity;
        let billed_now = o
            .lines
            .get(&key)
            .and_then(|l| l.billed_hours)
            .unwrap_or_default();
        let age = (req.as_of.days_since_epoch() - te.work_date.days_since_epoch()).max(0);
        let bucket = match age {
            0..=30 => 0,
            31..=60 => 1,
            61..=90 => 2,
            _ => 3,
        };
        aging[bucket].0 += 1;
        aging[bucket].1 += (left - billed_now).max(Decimal::ZERO);
        aging[bucket].2 += amount.unwrap_or_default();
    }
    o.aging = aging
        .into_iter()
        .map(|(n, h, a)| (n, h.normalize(), a.normalize()))
        .collect();

    let sum_kind = |k: ItemKind| -> Decimal {
        o.lines
            .iter()
            .filter(|((kk, _), _)| *kk == k)
            .map(|(_, l)| l.amount)
            .sum()
    };
    let time = sum_kind(ItemKind::Time);
    let expenses = sum_kind(ItemKind::Expense);
    let milestones_total = sum_kind(ItemKind::Milestone);

    let mut drawdown = Decimal::ZERO;
    if let (Some(ret), BillingModel::Retainer) = (&contract.retainer, contract.billing_model) {
        let time_before: Decimal = match &req.ledger {
            None => Decimal::ZERO,
            Some(l) => {
                let mut ids: Vec<&str> = l
                    .entries
                    .iter()
                    .filter(|e| e.kind == ItemKind::Time)
                    .map(|e| e.item_id.as_str())
                    .collect();
                ids.sort();
                ids.dedup();
                ids.iter()
                    .map(|id| net_billed(req, ItemKind::Time, id).amount)
                    .sum()
            }
        };
        let drawn_before = time_before.min(ret.amount.amount).max(Decimal::ZERO);
        let left = ret.amount.amount - drawn_before;
        // Billed time draws the retainer down, and so do the adjustments correcting earlier time.
        let fees = time + adjustments_total;
        let drawn = fees.min(left).max(Decimal::ZERO);
        drawdown = -drawn;
        o.retainer = Some([drawn_before, drawn, left - drawn, fees - drawn].map(|d| d.normalize()));
    }

    if let Some((limit, _, _)) = ceiling {
        o.ceiling = Some(
            [
                limit,
                billed_before,
                this_run,
                // Never below zero, even when a lower ceiling leaves the ledger above it.
                (limit - billed_before - this_run).max(Decimal::ZERO),
            ]
            .map(|d| d.normalize()),
        );
    }
    let total = time + expenses + milestones_total + adjustments_total + drawdown;
    o.totals = [
        time,
        expenses,
        milestones_total,
        adjustments_total,
        drawdown,
        total,
    ]
    .map(|d| d.normalize());
    o
}

/// The milestones a run considers (the request's, or the contract's as amended).
pub fn milestones_as_amended(req: &PreviewInvoiceRequest) -> Vec<Milestone> {
    milestones(req)
}

/// An entry's hours after the contract's time rounding.
pub fn rounded_hours_of(req: &PreviewInvoiceRequest, hours: billwise_core::model::Dec) -> Decimal {
    rounded_hours(req, hours.0)
}
