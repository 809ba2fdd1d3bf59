//! The checks for each document kind.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::Problems;
use crate::error::{ErrorCode, Pointer};
use crate::hash::id_hash;
use crate::model::{
    Account, BillingModel, Change, ChangeOrder, ChangeOrderStatus, Contract, Currency, Date,
    Expense, Id, Invoice, Milestone, Money, Opportunity, OwnershipPolicy, Payment, Project,
    RateTarget, TimeEntry, WorkLog,
};

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn non_empty(text: &str, path: &Pointer, what: &str, p: &mut Problems) {
    if text.trim().is_empty() {
        p.push(
            path,
            ErrorCode::DocumentEmptyField,
            format!("{what} must not be empty"),
        );
    }
}

#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn currency_is(
    m: &Money,
    expected: Currency,
    path: &Pointer,
    what: &str,
    p: &mut Problems,
) {
    if m.currency != expected {
        p.push(
            &path.key("currency"),
            ErrorCode::MoneyCurrencyMismatch,
            format!(
                "{what} is in `{}` but the document's currency is `{expected}`",
                m.currency
            ),
        );
    }
}

/// An amount (not a rate) with more decimals than its currency's minor unit: `66700.9` JPY, a
/// ceiling of `1000.005` USD. Reported at the amount's `amount`.
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn at_minor_unit(m: &Money, path: &Pointer, what: &str, p: &mut Problems) {
    if !m.is_at_minor_unit() {
        p.push(
            &path.key("amount"),
            ErrorCode::MoneyInvalidScale,
            format!(
                "{what} `{}` has more decimals than {} has ({})",
                crate::model::Dec(m.amount),
                m.currency,
                m.currency.minor_units()
            ),
        );
    }
}

#[cfg_attr(target_arch = "wasm32", inline(never))]
/// Adds `name` to `names` unless it is there; whether it was added.
fn add_name<'a>(names: &mut Vec<&'a str>, name: &'a str) -> bool {
    let new = !names.contains(&name);
    if new {
        names.push(name);
    }
    new
}

/// Removes `name` from `names`; whether it was there.
fn remove_name(names: &mut Vec<&str>, name: &str) -> bool {
    let at = names.iter().position(|n| *n == name);
    if let Some(i) = at {
        names.swap_remove(i);
    }
    at.is_some()
}

fn not_negative(amount: Decimal, path: &Pointer, what: &str, p: &mut Problems) {
    if amount.is_sign_negative() && !amount.is_zero() {
        p.push(
            path,
            ErrorCode::DocumentNegativeAmount,
            format!("{what} must not be negative (got `{amount}`)"),
        );
    }
}

#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn date_order(
    start: Date,
    end: Date,
    end_path: &Pointer,
    start_name: &str,
    end_name: &str,
    p: &mut Problems,
) {
    if end < start {
        p.push(
            end_path,
            ErrorCode::DocumentDateOrder,
            format!("{end_name} {end} is before {start_name} {start}"),
        );
    }
}

/// Reports every id that appears more than once, at each later occurrence.
pub(crate) fn unique_ids<'a>(
    ids: impl Iterator<Item = &'a Id>,
    list: &Pointer,
    what: &str,
    p: &mut Problems,
) {
    let ids: Vec<&str> = ids.map(Id::as_str).collect();
    for (later, first) in duplicate_ids(&ids) {
        let id = ids.get(later).copied().unwrap_or_default();
        p.push(
            &list.index(later).key("id"),
            ErrorCode::DocumentDuplicateId,
            format!("{what} id `{id}` is already used at index {first}"),
        );
    }
}

/// Every repeated id as `(position, position of its first occurrence)`, by position. Linear when
/// the ids are in ascending order or their hashes are all distinct ([`hashes_distinct`], the usual
/// case); otherwise, and when ids collide on purpose, ids are grouped by hash and compared within
/// groups: O(n log n) whatever the ids.
fn duplicate_ids(ids: &[&str]) -> Vec<(usize, usize)> {
    if ids.windows(2).all(|w| matches!(w, [a, b] if a < b)) || hashes_distinct(ids) {
        return Vec::new();
    }
    let mut keyed: Vec<(u64, usize)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id_hash(id), i))
        .collect();
    keyed.sort_unstable();
    let mut out = Vec::new();
    let mut group: Vec<usize> = Vec::new();
    for same_hash in keyed.chunk_by(|a, b| a.0 == b.0) {
        if same_hash.len() < 2 {
            continue;
        }
        group.clear();
        group.extend(same_hash.iter().map(|k| k.1));
        group.sort_unstable_by(|&a, &b| ids.get(a).cmp(&ids.get(b)).then(a.cmp(&b)));
        for same_id in group.chunk_by(|&a, &b| ids.get(a) == ids.get(b)) {
            if let [first, rest @ ..] = same_id {
                out.extend(rest.iter().map(|&later| (later, *first)));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Whether the ids' 64-bit hashes are all distinct, so that the ids are too. The hashes are
/// distributed by their top bits into buckets of about a thousand, and each bucket is sorted:
/// passes that read and write memory in order. (A hash table of a million ids missed the cache on
/// nearly every id, and its probe sequences grew long enough to give up on distinct ids.)
fn hashes_distinct(ids: &[&str]) -> bool {
    let n = ids.len();
    let bits = (usize::BITS - n.leading_zeros()).saturating_sub(10).min(16);
    let bucket = |h: u64| usize::try_from(h.checked_shr(64 - bits).unwrap_or(0)).unwrap_or(0);
    let hashes: Vec<u64> = ids.iter().map(|id| id_hash(id)).collect();
    // starts[b]: the first slot of bucket b; starts[buckets] = n.
    let mut starts = vec![0usize; (1usize << bits) + 1];
    for &h in &hashes {
        if let Some(c) = starts.get_mut(bucket(h) + 1) {
            *c += 1;
        }
    }
    let mut total = 0;
    for s in &mut starts {
        total += *s;
        *s = total;
    }
    let mut next = starts.clone();
    let mut spread = vec![0u64; n];
    for &h in &hashes {
        if let Some(slot) = next.get_mut(bucket(h))
            && let Some(o) = spread.get_mut(*slot)
        {
            *o = h;
            *slot += 1;
        }
    }
    starts.windows(2).all(|w| {
        let (Some(&start), Some(&end)) = (w.first(), w.get(1)) else {
            return true;
        };
        spread.get_mut(start..end).is_none_or(|run| {
            run.sort_unstable();
            run.windows(2).all(|p| p.first() != p.get(1))
        })
    })
}

pub(super) fn account(d: &Account, root: &Pointer, p: &mut Problems) {
    non_empty(&d.name, &root.key("name"), "the account name", p);
    if d.parent_id.as_ref() == Some(&d.id) {
        p.push(
            &root.key("parent_id"),
            ErrorCode::AccountHierarchyCycle,
            format!("account `{}` is its own parent", d.id),
        );
    }
    if let Some(t) = &d.tax_profile {
        non_empty(t, &root.key("tax_profile"), "the tax profile", p);
    }
    for (system, id) in &d.external_ids {
        non_empty(
            id,
            &root.key("external_ids").key(system.as_str()),
            "an external id",
            p,
        );
    }
}

pub(crate) fn opportunity(d: &Opportunity, root: &Pointer, p: &mut Problems) {
    if let Some(amount) = &d.amount {
        not_negative(
            amount.amount,
            &root.key("amount").key("amount"),
            "the opportunity amount",
            p,
        );
        if let Some(c) = d.currency {
            currency_is(amount, c, &root.key("amount"), "the amount", p);
        }
    }
    for (value, key, what) in [
        (&d.service_line, "service_line", "the service line"),
        (
            &d.contract_template,
            "contract_template",
            "the contract template",
        ),
        (&d.tax_profile, "tax_profile", "the tax profile"),
    ] {
        if let Some(v) = value {
            non_empty(v, &root.key(key), what, p);
        }
    }
}

pub(crate) fn target_problems(
    target_role: Option<&String>,
    target_resource: Option<&Id>,
    path: &Pointer,
    p: &mut Problems,
) {
    match (target_role, target_resource) {
        (Some(_), Some(_)) | (None, None) => p.push(
            path,
            ErrorCode::RatesEntryTarget,
            "a rate needs exactly one of `role` or `resource_id`",
        ),
        (Some(role), None) => non_empty(role, &path.key("role"), "the role", p),
        (None, Some(_)) => {}
    }
}

pub(crate) fn milestone(m: &Milestone, c: &Contract, at: &Pointer, p: &mut Problems) {
    milestone_of(m, c.currency, c.fixed_fee.is_some(), at, p);
}

/// The checks of one milestone of a contract in `currency` (with a fixed fee or not): the
/// contract's own, a run's `milestones`, and one a change order adds.
pub(crate) fn milestone_of(
    m: &Milestone,
    currency: Currency,
    has_fixed_fee: bool,
    at: &Pointer,
    p: &mut Problems,
) {
    non_empty(&m.name, &at.key("name"), "the milestone name", p);
    match (&m.amount, &m.percent) {
        (Some(a), None) => {
            not_negative(
                a.amount,
                &at.key("amount").key("amount"),
                "the milestone amount",
                p,
            );
            currency_is(a, currency, &at.key("amount"), "the milestone amount", p);
            at_minor_unit(a, &at.key("amount"), "the milestone amount", p);
        }
        (None, Some(pct)) => {
            if pct.0 <= Decimal::ZERO || pct.0 > HUNDRED {
                p.push(
                    &at.key("percent"),
                    ErrorCode::DocumentInvalidPercent,
                    format!(
                        "a milestone percent must be more than 0 and at most 100 (got `{pct}`)"
                    ),
                );
            }
            if !has_fixed_fee {
                p.push(
                    &at.key("percent"),
                    ErrorCode::ContractModelTerms,
                    "a percent milestone needs the contract's `fixed_fee`",
                );
            }
        }
        _ => p.push(
            at,
            ErrorCode::ContractMilestoneAmount,
            format!(
                "milestone `{}` needs exactly one of `amount` or `percent`",
                m.id
            ),
        ),
    }
}

pub(crate) fn contract(c: &Contract, root: &Pointer, p: &mut Problems) {
    date_order(
        c.start_date,
        c.end_date,
        &root.key("end_date"),
        "start_date",
        "end_date",
        p,
    );
    if let Some(ceiling) = &c.ceiling {
        let at = root.key("ceiling").key("amount");
        not_negative(ceiling.amount.amount, &at.key("amount"), "the ceiling", p);
        currency_is(&ceiling.amount, c.currency, &at, "the ceiling", p);
        at_minor_unit(&ceiling.amount, &at, "the ceiling", p);
    }
    p.extend(crate::rates::validate_rate_card(
        &c.rate_card,
        c.currency,
        &root.key("rate_card"),
    ));
    let policy = root.key("expense_policy");
    let markup = c.expense_policy.markup_percent.0;
    if markup.is_sign_negative() && !markup.is_zero() || markup > Decimal::from(1000u32) {
        p.push(
            &policy.key("markup_percent"),
            ErrorCode::DocumentInvalidPercent,
            format!("the expense markup must be between 0 and 1000 percent (got `{markup}`)"),
        );
    }
    for (i, cat) in c.expense_policy.billable_categories.iter().enumerate() {
        non_empty(
            cat,
            &policy.key("billable_categories").index(i),
            "an expense category",
            p,
        );
    }
    let ms = root.key("milestones");
    unique_ids(c.milestones.iter().map(|m| &m.id), &ms, "milestone", p);
    for (i, m) in c.milestones.iter().enumerate() {
        milestone(m, c, &ms.index(i), p);
    }
    let percent_total: Decimal = c
        .milestones
        .iter()
        .filter_map(|m| m.percent.map(|d| d.0))
        .fold(Decimal::ZERO, |a, b| a.saturating_add(b));
    if percent_total > HUNDRED {
        p.push(
            &ms,
            ErrorCode::DocumentInvalidPercent,
            format!("milestone percents add up to {percent_total}, more than 100"),
        );
    }
    if let Some(fee) = &c.fixed_fee {
        not_negative(
            fee.amount,
            &root.key("fixed_fee").key("amount"),
            "the fixed fee",
            p,
        );
        currency_is(fee, c.currency, &root.key("fixed_fee"), "the fixed fee", p);
        at_minor_unit(fee, &root.key("fixed_fee"), "the fixed fee", p);
    }
    if let Some(r) = &c.retainer {
        not_negative(
            r.amount.amount,
            &root.key("retainer").key("amount").key("amount"),
            "the retainer",
            p,
        );
        currency_is(
            &r.amount,
            c.currency,
            &root.key("retainer").key("amount"),
            "the retainer",
            p,
        );
        at_minor_unit(
            &r.amount,
            &root.key("retainer").key("amount"),
            "the retainer",
            p,
        );
    }
    match c.billing_model {
        BillingModel::FixedFee if c.fixed_fee.is_none() => {
            p.push(
                &root.key("fixed_fee"),
                ErrorCode::ContractModelTerms,
                "a fixed_fee contract needs `fixed_fee`",
            );
        }
        BillingModel::Retainer if c.retainer.is_none() => {
            p.push(
                &root.key("retainer"),
                ErrorCode::ContractModelTerms,
                "a retainer contract needs `retainer`",
            );
        }
        _ => {}
    }
    let rounding = root.key("rounding");
    match (&c.rounding.time_increment, &c.rounding.time_rounding) {
        (Some(inc), _) if inc.0 <= Decimal::ZERO || inc.0 > Decimal::from(24u32) => {
            p.push(
                &rounding.key("time_increment"),
                ErrorCode::ContractInvalidTimeIncrement,
                format!(
                    "the time increment must be more than 0 and at most 24 hours (got `{inc}`)"
                ),
            );
        }
        (None, Some(_)) => {
            p.push(
                &rounding.key("time_rounding"),
                ErrorCode::ContractInvalidTimeIncrement,
                "`time_rounding` needs a `time_increment`",
            );
        }
        _ => {}
    }
    unique_ids(
        c.change_orders.iter(),
        &root.key("change_orders"),
        "change order",
        p,
    );
}

fn rate_target(t: &RateTarget, at: &Pointer, p: &mut Problems) {
    target_problems(t.role.as_ref(), t.resource_id.as_ref(), at, p);
}

pub(crate) fn change_order(co: &ChangeOrder, root: &Pointer, p: &mut Problems) {
    if co.sequence == 0 {
        p.push(
            &root.key("sequence"),
            ErrorCode::ChangesInvalidSequence,
            "the sequence starts at 1",
        );
    }
    if matches!(
        co.status,
        ChangeOrderStatus::Approved | ChangeOrderStatus::Applied
    ) && co.approved_on.is_none()
    {
        p.push(
            &root.key("approved_on"),
            ErrorCode::ChangesMissingApprovalDate,
            format!("an {} change order needs `approved_on`", co.status),
        );
    }
    if co.changes.is_empty() {
        p.push(
            &root.key("changes"),
            ErrorCode::ChangesEmpty,
            "a change order must change something",
        );
    }
    let changes = root.key("changes");
    for (i, ch) in co.changes.iter().enumerate() {
        let at = changes.index(i);
        match ch {
            Change::SetRate { target, rate, .. } => {
                rate_target(target, &at, p);
                if rate.amount <= Decimal::ZERO {
                    p.push(
                        &at.key("rate").key("amount"),
                        ErrorCode::RatesNonPositiveRate,
                        format!(
                            "the rate must be more than zero (got `{}`)",
                            rate.amount_string()
                        ),
                    );
                }
            }
            Change::EndRate { target } => rate_target(target, &at, p),
            Change::SetCeiling { amount } => {
                not_negative(
                    amount.amount,
                    &at.key("amount").key("amount"),
                    "the ceiling",
                    p,
                );
                at_minor_unit(amount, &at.key("amount"), "the ceiling", p);
            }
            Change::AdjustCeiling { delta } => {
                at_minor_unit(delta, &at.key("delta"), "the ceiling change", p);
            }
            Change::RemoveMilestone { .. } | Change::SetEndDate { .. } => {}
            Change::AddMilestone { milestone: m } => {
                non_empty(
                    &m.name,
                    &at.key("milestone").key("name"),
                    "the milestone name",
                    p,
                );
                if let Some(a) = &m.amount {
                    at_minor_unit(
                        a,
                        &at.key("milestone").key("amount"),
                        "the milestone amount",
                        p,
                    );
                }
                if m.amount.is_some() == m.percent.is_some() {
                    p.push(
                        &at.key("milestone"),
                        ErrorCode::ContractMilestoneAmount,
                        format!(
                            "milestone `{}` needs exactly one of `amount` or `percent`",
                            m.id
                        ),
                    );
                }
            }
            Change::SetExpenseMarkup { markup_percent } => {
                if markup_percent.0.is_sign_negative() && !markup_percent.0.is_zero() {
                    p.push(
                        &at.key("markup_percent"),
                        ErrorCode::DocumentInvalidPercent,
                        format!("the expense markup must not be negative (got `{markup_percent}`)"),
                    );
                }
            }
        }
    }
}

/// Problems a change order has against the contract it amends: wrong contract, unknown roles,
/// resources or milestones, and amounts in another currency.
pub fn validate_change_order_against(c: &Contract, co: &ChangeOrder, root: &Pointer) -> Problems {
    let mut p = Problems::new();
    if co.contract_id != c.id {
        p.push(
            &root.key("contract_id"),
            ErrorCode::ChangesWrongContract,
            format!(
                "change order `{}` amends `{}`, not `{}`",
                co.id, co.contract_id, c.id
            ),
        );
    }
    let roles: BTreeSet<&str> = c
        .rate_card
        .entries
        .iter()
        .filter_map(|e| e.role.as_deref())
        .collect();
    let resources: BTreeSet<&str> = c
        .rate_card
        .entries
        .iter()
        .filter_map(|e| e.resource_id.as_ref().map(Id::as_str))
        .collect();
    // A contract's milestones are few: a list (a set's removal code would cost the WebAssembly
    // module more than this check).
    let mut milestones: Vec<&str> = c.milestones.iter().map(|m| m.id.as_str()).collect();
    let changes = root.key("changes");
    for (i, ch) in co.changes.iter().enumerate() {
        let at = changes.index(i);
        let money = match ch {
            Change::SetRate { rate, .. } => Some((rate, at.key("rate"))),
            Change::SetCeiling { amount } => Some((amount, at.key("amount"))),
            Change::AdjustCeiling { delta } => Some((delta, at.key("delta"))),
            Change::AddMilestone { milestone } => milestone
                .amount
                .as_ref()
                .map(|a| (a, at.key("milestone").key("amount"))),
            _ => None,
        };
        if let Some((m, path)) = money {
            currency_is(m, c.currency, &path, "the amount", &mut p);
        }
        match ch {
            Change::SetRate { target, .. } | Change::EndRate { target } => {
                if let Some(role) = &target.role
                    && !roles.contains(role.as_str())
                {
                    p.push(
                        &at.key("role"),
                        ErrorCode::ChangesUnknownTarget,
                        format!("role `{role}` is not on the rate card of `{}`", c.id),
                    );
                }
                if let Some(res) = &target.resource_id
                    && !resources.contains(res.as_str())
                    && matches!(ch, Change::EndRate { .. })
                {
                    p.push(
                        &at.key("resource_id"),
                        ErrorCode::ChangesUnknownTarget,
                        format!(
                            "resource `{res}` has no rate on the rate card of `{}`",
                            c.id
                        ),
                    );
                }
            }
            Change::RemoveMilestone { milestone_id }
                if !remove_name(&mut milestones, milestone_id.as_str()) =>
            {
                p.push(
                    &at.key("milestone_id"),
                    ErrorCode::ChangesUnknownTarget,
                    format!("milestone `{milestone_id}` is not on contract `{}`", c.id),
                );
            }
            Change::AddMilestone { milestone }
                if !add_name(&mut milestones, milestone.id.as_str()) =>
            {
                p.push(
                    &at.key("milestone").key("id"),
                    ErrorCode::DocumentDuplicateId,
                    format!(
                        "milestone `{}` already exists on contract `{}`",
                        milestone.id, c.id
                    ),
                );
            }
            _ => {}
        }
    }
    p
}

pub(crate) fn project(d: &Project, root: &Pointer, p: &mut Problems) {
    let tasks = root.key("tasks");
    unique_ids(d.tasks.iter().map(|t| &t.id), &tasks, "task", p);
    for (i, t) in d.tasks.iter().enumerate() {
        non_empty(&t.name, &tasks.index(i).key("name"), "the task name", p);
    }
}

pub(super) fn work_log(d: &WorkLog, root: &Pointer, p: &mut Problems) {
    let entries = root.key("time_entries");
    unique_ids(
        d.time_entries.iter().map(|t| &t.id),
        &entries,
        "time entry",
        p,
    );
    for (i, t) in d.time_entries.iter().enumerate() {
        time_entry(t, true, &|| entries.index(i), p);
    }
    let expenses = root.key("expenses");
    unique_ids(d.expenses.iter().map(|e| &e.id), &expenses, "expense", p);
    for (i, e) in d.expenses.iter().enumerate() {
        expense(e, &|| expenses.index(i), p);
    }
}

/// The checks of one time entry; `at` builds its path, called only when there is a problem.
/// `one_day`: also check that the entry is a day's work (a role, at most 24 hours), as a PSA
/// export should be; a billing run accepts entries that total several days.
/// (`at` is a trait object: the checks are compiled once, not once per caller's closure.)
pub(crate) fn time_entry(t: &TimeEntry, one_day: bool, at: &dyn Fn() -> Pointer, p: &mut Problems) {
    if one_day && t.role.trim().is_empty() {
        non_empty(&t.role, &at().key("role"), "the role", p);
    }
    if t.hours.0.is_sign_negative() && !t.hours.0.is_zero() {
        p.push(
            &at().key("hours"),
            ErrorCode::DocumentNegativeAmount,
            format!("hours must not be negative (got `{}`)", t.hours),
        );
    } else if one_day && t.hours.0 > Decimal::from(24u32) {
        p.push(
            &at().key("hours"),
            ErrorCode::TimeHoursOutOfRange,
            format!("{} hours on one day is more than 24", t.hours),
        );
    }
    if let Some(r) = &t.rate_override
        && r.amount <= Decimal::ZERO
    {
        p.push(
            &at().key("rate_override").key("amount"),
            ErrorCode::RatesNonPositiveRate,
            format!(
                "the rate must be more than zero (got `{}`)",
                r.amount_string()
            ),
        );
    }
}

/// The checks of one expense; `at` builds its path, called only when there is a problem.
pub(crate) fn expense(e: &Expense, at: &dyn Fn() -> Pointer, p: &mut Problems) {
    if e.category.trim().is_empty() {
        non_empty(&e.category, &at().key("category"), "the category", p);
    }
    if e.amount.amount.is_sign_negative() && !e.amount.amount.is_zero() {
        not_negative(
            e.amount.amount,
            &at().key("amount").key("amount"),
            "the expense amount",
            p,
        );
    }
    if !e.amount.is_at_minor_unit() {
        at_minor_unit(&e.amount, &at().key("amount"), "the expense amount", p);
    }
    if let Some(fx) = e.fx_rate
        && fx.0 <= Decimal::ZERO
    {
        p.push(
            &at().key("fx_rate"),
            ErrorCode::ExpenseInvalidFxRate,
            format!("the fx rate must be more than zero (got `{fx}`)"),
        );
    }
}

pub(super) fn invoice(d: &Invoice, root: &Pointer, p: &mut Problems) {
    let lines = root.key("lines");
    let mut sum = Some(Decimal::ZERO);
    for (i, l) in d.lines.iter().enumerate() {
        let at = lines.index(i);
        currency_is(
            &l.amount,
            d.currency,
            &at.key("amount"),
            "the line amount",
            p,
        );
        at_minor_unit(&l.amount, &at.key("amount"), "the line amount", p);
        currency_is(
            &l.unit_price,
            d.currency,
            &at.key("unit_price"),
            "the unit price",
            p,
        );
        if l.source_ids.is_empty() {
            p.push(
                &at.key("source_ids"),
                ErrorCode::DocumentEmptyField,
                "a line must name what it bills",
            );
        }
        sum = sum.and_then(|s| s.checked_add(l.amount.amount));
    }
    currency_is(&d.total, d.currency, &root.key("total"), "the total", p);
    at_minor_unit(&d.total, &root.key("total"), "the total", p);
    match sum {
        Some(s) if s != d.total.amount => p.push(
            &root.key("total").key("amount"),
            ErrorCode::DocumentInconsistentTotals,
            format!(
                "the total is {} but the lines add up to {}",
                d.total.amount_string(),
                Money::new(s, d.currency).amount_string()
            ),
        ),
        None => p.push(
            &root.key("total"),
            ErrorCode::MoneyOverflow,
            "the lines add up to more than can be computed exactly",
        ),
        _ => {}
    }
}

pub(super) fn payment(d: &Payment, root: &Pointer, p: &mut Problems) {
    at_minor_unit(&d.amount, &root.key("amount"), "the payment", p);
    if d.amount.amount <= Decimal::ZERO {
        p.push(
            &root.key("amount").key("amount"),
            ErrorCode::DocumentNegativeAmount,
            format!(
                "a payment must be more than zero (got `{}`)",
                d.amount.amount_string()
            ),
        );
    }
}

pub(super) fn ownership_policy(d: &OwnershipPolicy, root: &Pointer, p: &mut Problems) {
    crate::ownership::validate_policy(d, root, p);
}

#[cfg(test)]
mod tests {
    use super::duplicate_ids;
    use proptest::prelude::*;

    /// The obvious quadratic answer: each position whose id appeared earlier, with the first one.
    fn naive(ids: &[&str]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            if let Some(first) = ids.iter().take(i).position(|x| x == id) {
                out.push((i, first));
            }
        }
        out
    }

    #[test]
    fn ids_in_ascending_order_have_no_duplicates() {
        assert!(duplicate_ids(&["TE-1", "TE-2", "TE-3"]).is_empty());
    }

    #[test]
    fn distinct_ids_in_any_order_have_no_duplicates() {
        let owned: Vec<String> = (0..5000).rev().map(|i| format!("TE-{i}")).collect();
        let ids: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert!(super::hashes_distinct(&ids));
        assert!(duplicate_ids(&ids).is_empty());
    }

    #[test]
    fn a_repeat_among_many_ids_in_date_order_is_found() {
        // Listed by day, as exports often are: not in id order, spread over many hash buckets.
        let mut owned: Vec<(u32, String)> = (0..200_000u32)
            .map(|i| (i % 28, format!("TE-{i:07}")))
            .collect();
        owned.sort();
        let mut ids: Vec<&str> = owned.iter().map(|(_, id)| id.as_str()).collect();
        assert!(super::hashes_distinct(&ids));
        assert!(duplicate_ids(&ids).is_empty());
        let repeated = ids[7];
        ids.push(repeated);
        assert!(!super::hashes_distinct(&ids));
        assert_eq!(duplicate_ids(&ids), vec![(200_000, 7)]);
    }

    #[test]
    fn each_repeat_names_the_first_occurrence() {
        let ids = ["b", "a", "b", "c", "a", "b"];
        assert_eq!(duplicate_ids(&ids), vec![(2, 0), (4, 1), (5, 0)]);
    }

    proptest! {
        #[test]
        fn duplicates_agree_with_the_quadratic_search(raw in prop::collection::vec(0u8..12, 0..40)) {
            let owned: Vec<String> = raw.iter().map(|n| format!("ID-{n}")).collect();
            let ids: Vec<&str> = owned.iter().map(String::as_str).collect();
            prop_assert_eq!(duplicate_ids(&ids), naive(&ids));
        }
    }
}
