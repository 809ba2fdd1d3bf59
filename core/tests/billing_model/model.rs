//! A deliberately naive model of the billing run, written from `spec/domain/billing.md`,
//! `change-orders.md`, `rate-cards.md`, `money-and-rounding.md` and PRODUCT.md ("Rules") only.
//!
//! It reads requests as `serde_json::Value` (not the crate's types) and recomputes every rule as a
//! plain scan over the inputs with exact `rust_decimal` arithmetic, rounding only where the spec
//! says. It is a test oracle: where the spec was ambiguous the reading chosen is written next to the
//! code as `READING:` with the sentence relied on (the report lists them).
//!
//! Inputs are assumed well-formed (right JSON types, known currencies, real dates): the generator
//! only writes such requests. Input-layer errors are not modelled.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};

pub type D = Decimal;

// ------------------------------------------------------------------------------------------------
// Small readers and arithmetic
// ------------------------------------------------------------------------------------------------

pub fn dec(s: &str) -> D {
    s.parse::<D>()
        .unwrap_or_else(|_| panic!("model: bad decimal {s:?}"))
}

fn gs<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn gd(v: &Value, k: &str) -> Option<D> {
    gs(v, k).map(dec)
}

/// A Money field: (amount, currency).
fn gm(v: &Value, k: &str) -> Option<(D, String)> {
    let m = v.get(k)?;
    if m.is_null() {
        return None;
    }
    Some((dec(gs(m, "amount")?), gs(m, "currency")?.to_owned()))
}

fn gdate(v: &Value, k: &str) -> Option<i64> {
    gs(v, k).map(parse_date)
}

fn garr<'a>(v: &'a Value, k: &str) -> Vec<&'a Value> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn gbool(v: &Value, k: &str, default: bool) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(default)
}

fn gopt(v: &Value, k: &str) -> Option<String> {
    gs(v, k).map(str::to_owned)
}

pub fn minor_units(cur: &str) -> u32 {
    match cur {
        "CLP" | "ISK" | "JPY" | "KRW" | "VND" => 0,
        "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

pub fn scale_of(x: D) -> u32 {
    x.normalize().scale()
}

fn at_scale(x: D, cur: &str) -> bool {
    scale_of(x) <= minor_units(cur)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    HalfUp,
    HalfEven,
}

fn round_money(x: D, minor: u32, mode: Mode) -> D {
    let s = match mode {
        Mode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        Mode::HalfEven => RoundingStrategy::MidpointNearestEven,
    };
    x.round_dp_with_strategy(minor, s)
}

fn half_up(x: D, dp: u32) -> D {
    x.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

fn down(x: D, dp: u32) -> D {
    x.round_dp_with_strategy(dp, RoundingStrategy::ToZero)
}

/// A decimal as a canonical string (normalised; zero is "0").
pub fn n(x: D) -> String {
    if x.is_zero() {
        "0".to_owned()
    } else {
        x.normalize().to_string()
    }
}

/// An amount written with exactly the currency's minor digits (for ledgers the model writes).
pub fn fmt_money(x: D, cur: &str) -> String {
    let mut y = x;
    y.rescale(minor_units(cur));
    if y.is_zero() {
        y = D::ZERO;
        y.rescale(minor_units(cur));
    }
    y.to_string()
}

fn money(x: D, cur: &str) -> Value {
    json!({"amount": fmt_money(x, cur), "currency": cur})
}

// ------------------------------------------------------------------------------------------------
// Dates (days since 1970-01-01, proleptic Gregorian)
// ------------------------------------------------------------------------------------------------

pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn parse_date(s: &str) -> i64 {
    let p: Vec<i64> = s
        .split('-')
        .map(|x| {
            x.parse::<i64>()
                .unwrap_or_else(|_| panic!("model: bad date {s:?}"))
        })
        .collect();
    days_from_civil(p[0], p[1], p[2])
}

pub fn fmt_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

// ------------------------------------------------------------------------------------------------
// Refusals
// ------------------------------------------------------------------------------------------------

/// A refusal: the stage of the run's checks that refused, and the codes the spec allows there.
/// READING: within one stage (the contract's `validate` problems, the ledger, the change orders'
/// documents, ...) the spec does not fix the order of the problems, so any code of the stage is
/// accepted; between stages the order is the spec's ("in this order: 1. the contract, 2. the
/// ledger, 3. the change orders, 4. the items and the period").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub stage: &'static str,
    pub codes: BTreeSet<String>,
}

impl Refusal {
    fn new(stage: &'static str, codes: impl IntoIterator<Item = &'static str>) -> Self {
        Refusal {
            stage,
            codes: codes.into_iter().map(str::to_owned).collect(),
        }
    }
    pub fn accepts(&self, code: &str) -> bool {
        self.codes.contains(code)
    }
}

fn refuse_if(stage: &'static str, codes: Vec<&'static str>) -> Result<(), Refusal> {
    if codes.is_empty() {
        Ok(())
    } else {
        Err(Refusal::new(stage, codes))
    }
}

// ------------------------------------------------------------------------------------------------
// Contract terms and versions
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Rule {
    pub role: Option<String>,
    pub resource: Option<String>,
    pub task: Option<String>,
    pub rate: D,
    pub day: bool,
    pub from: i64,
    pub to: Option<i64>,
    pub source: String,
}

impl Rule {
    fn same_key(
        &self,
        role: &Option<String>,
        resource: &Option<String>,
        task: &Option<String>,
    ) -> bool {
        &self.role == role && &self.resource == resource && &self.task == task
    }
    fn in_force(&self, day: i64) -> bool {
        self.from <= day && self.to.is_none_or(|t| day <= t)
    }
}

#[derive(Clone, Debug)]
pub struct MarkupSeg {
    from: i64,
    to: Option<i64>,
    pct: D,
}

#[derive(Clone, Debug)]
pub struct Ceil {
    pub limit: D,
    pub fees_and_expenses: bool,
    pub hold_whole: bool,
}

#[derive(Clone, Debug)]
pub struct Ms {
    pub id: String,
    pub amount: Option<D>,
    pub percent: Option<D>,
    pub due: i64,
    pub status: String,
}

fn read_ms(m: &Value) -> Ms {
    Ms {
        id: gs(m, "id").unwrap_or_default().to_owned(),
        amount: gm(m, "amount").map(|x| x.0),
        percent: gd(m, "percent"),
        due: gdate(m, "due_date").unwrap_or(0),
        status: gs(m, "status").unwrap_or_default().to_owned(),
    }
}

/// One contract version: every dated rate, the dated markup, and the terms.
#[derive(Clone, Debug)]
pub struct Version {
    pub rules: Vec<Rule>,
    pub markup: Vec<MarkupSeg>,
    pub ceiling: Option<Ceil>,
    pub end: i64,
    pub milestones: Vec<Ms>,
    /// The change order's effective date (version 0: none).
    pub eff: Option<i64>,
    pub co_id: Option<String>,
    pub retroactive: bool,
}

pub fn card_source(
    role: &Option<String>,
    resource: &Option<String>,
    task: &Option<String>,
    from: i64,
) -> String {
    let target = match (resource, role) {
        (Some(r), _) => format!("resource={r}"),
        (None, Some(r)) => format!("role={r}"),
        (None, None) => "?".to_owned(),
    };
    let task = task
        .as_ref()
        .map(|t| format!(",task={t}"))
        .unwrap_or_default();
    format!("rate_card:{target}{task}@{}", fmt_date(from))
}

fn version_zero(c: &Value) -> Version {
    let card = c.get("rate_card").cloned().unwrap_or(Value::Null);
    let rules = garr(&card, "entries")
        .into_iter()
        .map(|e| {
            let role = gopt(e, "role");
            let resource = gopt(e, "resource_id");
            let task = gopt(e, "task_id");
            let from = gdate(e, "effective_from").unwrap_or(0);
            Rule {
                source: card_source(&role, &resource, &task, from),
                role,
                resource,
                task,
                rate: gm(e, "rate").map(|m| m.0).unwrap_or_default(),
                day: gs(e, "unit") == Some("day"),
                from,
                to: gdate(e, "effective_to"),
            }
        })
        .collect();
    let pct = c
        .get("expense_policy")
        .and_then(|p| gd(p, "markup_percent"))
        .unwrap_or(D::ZERO);
    let ceiling = c.get("ceiling").filter(|x| !x.is_null()).map(|x| Ceil {
        limit: gm(x, "amount").map(|m| m.0).unwrap_or_default(),
        fees_and_expenses: gs(x, "scope") == Some("fees_and_expenses"),
        hold_whole: gs(x, "mode") == Some("hold_whole"),
    });
    Version {
        rules,
        markup: vec![MarkupSeg {
            from: i64::MIN,
            to: None,
            pct,
        }],
        ceiling,
        end: gdate(c, "end_date").unwrap_or(0),
        milestones: garr(c, "milestones").into_iter().map(read_ms).collect(),
        eff: None,
        co_id: None,
        retroactive: false,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub rate: D,
    pub day: bool,
    pub source: String,
}

/// rate-cards.md "Which entry wins": resource + task, resource, role + task, role; among one
/// candidate's entries in force, the latest `effective_from`.
pub fn resolve(
    rules: &[Rule],
    role: Option<&str>,
    resource: Option<&str>,
    task: Option<&str>,
    day: i64,
) -> Option<Resolved> {
    let mut candidates: Vec<(Option<&str>, Option<&str>, Option<&str>)> = vec![];
    if let Some(r) = resource {
        if let Some(t) = task {
            candidates.push((None, Some(r), Some(t)));
        }
        candidates.push((None, Some(r), None));
    }
    if let Some(r) = role {
        if let Some(t) = task {
            candidates.push((Some(r), None, Some(t)));
        }
        candidates.push((Some(r), None, None));
    }
    for (ro, re, ta) in candidates {
        let best = rules
            .iter()
            .filter(|x| {
                x.role.as_deref() == ro
                    && x.resource.as_deref() == re
                    && x.task.as_deref() == ta
                    && x.in_force(day)
            })
            .max_by_key(|x| x.from);
        if let Some(b) = best {
            return Some(Resolved {
                rate: b.rate,
                day: b.day,
                source: b.source.clone(),
            });
        }
    }
    None
}

fn markup_at(segs: &[MarkupSeg], day: i64) -> D {
    segs.iter()
        .filter(|s| s.from <= day && s.to.is_none_or(|t| day <= t))
        .max_by_key(|s| s.from)
        .map(|s| s.pct)
        .unwrap_or(D::ZERO)
}

/// change-orders.md "What each change does", `set_rate`/`end_rate`: every rate of exactly that key
/// starting on or after D is removed, every rate of that key in force on D ends on D - 1, and (for
/// `set_rate`) a new open-ended rate starts on D.
fn set_key(
    rules: &mut Vec<Rule>,
    role: &Option<String>,
    resource: &Option<String>,
    task: &Option<String>,
    d: i64,
    new: Option<Rule>,
) {
    rules.retain(|r| !(r.same_key(role, resource, task) && r.from >= d));
    for r in rules.iter_mut() {
        if r.same_key(role, resource, task) && r.from < d && r.to.is_none_or(|t| t >= d) {
            r.to = Some(d - 1);
        }
    }
    if let Some(x) = new {
        rules.push(x);
    }
}

/// Whether a change order changed any rate: the dated rates of its version are not those of the
/// version before it (one added, removed, or with other dates).
/// READING: billing.md "a retroactive change order that changes no rate at all looks at no billed
/// item": "a rate" is a dated rate, as change-orders.md names them ("every rate of that key still
/// in force on D ends on D - 1, and a new open-ended rate starts on D, named
/// `change_order:<id>`"; "each version carries every rate ... with the dates it applies to"). A
/// `set_rate` always changes one (it starts a new rate, even at the price the key had), an
/// `end_rate` only when the key has a rate in force on or after its date.
pub fn changes_a_rate(before: &[Rule], after: &[Rule]) -> bool {
    type Dated = (
        Option<String>,
        Option<String>,
        Option<String>,
        D,
        bool,
        i64,
        Option<i64>,
        String,
    );
    let dated = |rules: &[Rule]| -> Vec<Dated> {
        let mut v: Vec<Dated> = rules
            .iter()
            .map(|r| {
                (
                    r.role.clone(),
                    r.resource.clone(),
                    r.task.clone(),
                    r.rate.normalize(),
                    r.day,
                    r.from,
                    r.to,
                    r.source.clone(),
                )
            })
            .collect();
        v.sort();
        v
    };
    dated(before) != dated(after)
}

fn set_markup(segs: &mut Vec<MarkupSeg>, d: i64, pct: D) {
    segs.retain(|s| s.from < d);
    for s in segs.iter_mut() {
        if s.to.is_none_or(|t| t >= d) {
            s.to = Some(d - 1);
        }
    }
    segs.push(MarkupSeg {
        from: d,
        to: None,
        pct,
    });
}

// ------------------------------------------------------------------------------------------------
// Validation of the contract (stage 1)
// ------------------------------------------------------------------------------------------------

fn check_money_term(v: Option<(D, String)>, cur: &str, p: &mut Vec<&'static str>) {
    if let Some((a, c)) = v {
        if c != cur {
            p.push("MONEY_CURRENCY_MISMATCH");
        }
        if a < D::ZERO {
            p.push("DOCUMENT_NEGATIVE_AMOUNT");
        }
        if !at_scale(a, &c) {
            p.push("MONEY_INVALID_SCALE");
        }
    }
}

/// `validate`'s checks of one milestone (billing.md stage 4 lists them for the run's milestones).
fn milestone_problems(m: &Value, cur: &str, has_fixed_fee: bool, p: &mut Vec<&'static str>) {
    let amount = gm(m, "amount");
    let percent = gd(m, "percent");
    if amount.is_some() == percent.is_some() {
        p.push("CONTRACT_MILESTONE_AMOUNT");
    }
    check_money_term(amount, cur, p);
    if let Some(x) = percent {
        if x <= D::ZERO || x > D::ONE_HUNDRED {
            p.push("DOCUMENT_INVALID_PERCENT");
        }
        if !has_fixed_fee {
            p.push("CONTRACT_MODEL_TERMS");
        }
    }
}

fn validate_contract(c: &Value) -> Vec<&'static str> {
    let cur = gs(c, "currency").unwrap_or("USD");
    let mut p = vec![];
    if gdate(c, "end_date") < gdate(c, "start_date") {
        p.push("DOCUMENT_DATE_ORDER");
    }
    if let Some(ce) = c.get("ceiling").filter(|x| !x.is_null()) {
        check_money_term(gm(ce, "amount"), cur, &mut p);
    }
    check_money_term(gm(c, "fixed_fee"), cur, &mut p);
    if let Some(r) = c.get("retainer").filter(|x| !x.is_null()) {
        check_money_term(gm(r, "amount"), cur, &mut p);
    }
    let model = gs(c, "billing_model").unwrap_or("");
    if model == "fixed_fee" && gm(c, "fixed_fee").is_none() {
        p.push("CONTRACT_MODEL_TERMS");
    }
    if model == "retainer" && c.get("retainer").is_none_or(Value::is_null) {
        p.push("CONTRACT_MODEL_TERMS");
    }
    let card = c.get("rate_card").cloned().unwrap_or(Value::Null);
    let entries = garr(&card, "entries");
    type Key = (Option<String>, Option<String>, Option<String>);
    let mut keyed: Vec<(Key, i64, Option<i64>)> = vec![];
    for e in &entries {
        let role = gopt(e, "role");
        let res = gopt(e, "resource_id");
        if role.is_some() == res.is_some() {
            p.push("RATES_ENTRY_TARGET");
        }
        if let Some((r, rc)) = gm(e, "rate") {
            if r <= D::ZERO {
                p.push("RATES_NON_POSITIVE_RATE");
            }
            if rc != cur {
                p.push("MONEY_CURRENCY_MISMATCH");
            }
        }
        let from = gdate(e, "effective_from").unwrap_or(0);
        let to = gdate(e, "effective_to");
        if to.is_some_and(|t| t < from) {
            p.push("DOCUMENT_DATE_ORDER");
        }
        keyed.push(((role, res, gopt(e, "task_id")), from, to));
    }
    for (i, a) in keyed.iter().enumerate() {
        for (j, b) in keyed.iter().enumerate() {
            if i < j && a.0 == b.0 && a.1 == b.1 {
                p.push("RATES_AMBIGUOUS_ENTRY");
            }
            // rate-cards.md: "an entry's effective_to does not run into the start of the next
            // entry for the same role or resource and task" (an open-ended entry under a later
            // one is fine: the later start wins).
            if i != j && a.0 == b.0 && b.1 > a.1 && a.2.is_some_and(|t| b.1 <= t) {
                p.push("RATES_OVERLAPPING_ENTRIES");
            }
        }
    }
    if let Some(h) = gd(&card, "hours_per_day")
        && (h <= D::ZERO || h > D::from(24))
    {
        p.push("RATES_INVALID_HOURS_PER_DAY");
    }
    if let Some(r) = c.get("rounding") {
        let inc = gd(r, "time_increment");
        if let Some(i) = inc
            && (i <= D::ZERO || i > D::from(24))
        {
            p.push("CONTRACT_INVALID_TIME_INCREMENT");
        }
        if inc.is_none() && gs(r, "time_rounding").is_some() {
            p.push("CONTRACT_INVALID_TIME_INCREMENT");
        }
    }
    let has_ff = gm(c, "fixed_fee").is_some();
    let ms = garr(c, "milestones");
    let mut ids = BTreeSet::new();
    let mut pct_sum = D::ZERO;
    for m in &ms {
        milestone_problems(m, cur, has_ff, &mut p);
        if !ids.insert(gs(m, "id").unwrap_or_default()) {
            p.push("DOCUMENT_DUPLICATE_ID");
        }
        pct_sum += gd(m, "percent").unwrap_or_default();
    }
    if pct_sum > D::ONE_HUNDRED {
        p.push("DOCUMENT_INVALID_PERCENT");
    }
    p
}

// ------------------------------------------------------------------------------------------------
// The ledger (stage 2) and credits
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Entry {
    pub kind: String,
    pub item: String,
    pub quantity: D,
    pub amount: D,
    pub against: bool,
    pub version: u32,
    pub unit_price: D,
    pub date: i64,
    pub role: Option<String>,
    pub resource: Option<String>,
    pub task: Option<String>,
    pub rate_source: Option<String>,
}

/// An item's net billed quantity, amount and amount against the ceiling.
#[derive(Clone, Debug, Default)]
pub struct Net {
    pub q: D,
    pub a: D,
    pub c: D,
    /// "price reductions ... (credits that gave back money and no hours)" (billing.md,
    /// "Retroactive change orders").
    pub d: D,
    pub last: Option<usize>,
}

pub type Key = (String, String);

#[derive(Clone, Debug, Default)]
pub struct LedgerState {
    pub contract_id: String,
    pub entries: Vec<Entry>,
    pub raw_entries: Vec<Value>,
    pub net: BTreeMap<Key, Net>,
    /// Every credit, completed with both sides.
    pub credits: Vec<Value>,
}

impl LedgerState {
    fn known(&self, kind: &str, id: &str) -> bool {
        self.net.contains_key(&(kind.to_owned(), id.to_owned()))
    }
    fn net_of(&self, kind: &str, id: &str) -> Net {
        self.net
            .get(&(kind.to_owned(), id.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
    pub fn billed_against_ceiling(&self) -> D {
        self.net.values().map(|x| x.c).sum()
    }
}

fn read_entry(e: &Value) -> Entry {
    Entry {
        kind: gs(e, "kind").unwrap_or_default().to_owned(),
        item: gs(e, "item_id").unwrap_or_default().to_owned(),
        quantity: gd(e, "quantity").unwrap_or_default(),
        amount: gm(e, "amount").map(|m| m.0).unwrap_or_default(),
        against: gbool(e, "against_ceiling", false),
        version: e
            .get("contract_version")
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32,
        unit_price: gm(e, "unit_price").map(|m| m.0).unwrap_or_default(),
        date: gdate(e, "date").unwrap_or(0),
        role: gopt(e, "role"),
        resource: gopt(e, "resource_id"),
        task: gopt(e, "task_id"),
        rate_source: gopt(e, "rate_source"),
    }
}

fn add_entry(st: &mut LedgerState, e: Entry, raw: Value) {
    let key = (e.kind.clone(), e.item.clone());
    let idx = st.entries.len();
    let slot = st.net.entry(key).or_default();
    slot.q += e.quantity;
    slot.a += e.amount;
    if e.against {
        slot.c += e.amount;
    }
    slot.last = Some(idx);
    st.entries.push(e);
    st.raw_entries.push(raw);
}

/// billing.md "A credit is frozen when it is recorded": one credit completed against the item's net
/// billed at that moment, then taken off it. Refused with every problem the credit has.
/// READING: the prose lists a credit's problems (more than is billed net, a negative amount, a
/// zero amount, a whole of one side without the whole of the other, an amount off the currency)
/// without an order among them; a credit with several may be refused with any of their codes.
fn complete_credit(
    st: &mut LedgerState,
    credit: &Value,
    cur: &str,
) -> Result<Value, Vec<&'static str>> {
    let kind = gs(credit, "kind").unwrap_or_default().to_owned();
    let item = gs(credit, "item_id").unwrap_or_default().to_owned();
    let minor = minor_units(cur);
    let Some(net) = st.net.get_mut(&(kind.clone(), item.clone())) else {
        return Err(vec!["LEDGER_UNKNOWN_ITEM"]);
    };
    let q = gd(credit, "quantity");
    let a = gm(credit, "amount");
    if q.is_none() && a.is_none() {
        return Err(vec!["LEDGER_INVALID_CREDIT"]);
    }
    let mut p = vec![];
    let given = gm(credit, "ceiling_share");
    // "Every amount in a ledger is in the contract currency at its minor unit": the credit's
    // amount and its ceiling share alike.
    for (amt, c) in a.iter().chain(given.iter()) {
        if c != cur {
            p.push("MONEY_CURRENCY_MISMATCH");
        }
        if !at_scale(*amt, c) {
            p.push("MONEY_INVALID_SCALE");
        }
    }
    let given_share = given.map(|x| x.0);
    let amt = a.map(|x| x.0);
    if q.is_some_and(|x| x < D::ZERO) || amt.is_some_and(|x| x < D::ZERO) {
        p.push("LEDGER_INVALID_CREDIT");
    }
    if amt.is_some_and(|x| x.is_zero()) {
        p.push("LEDGER_ZERO_CREDIT");
    }
    if q.is_some_and(|x| x > net.q) || amt.is_some_and(|x| x > net.a) {
        p.push("LEDGER_INVALID_CREDIT");
    }
    // "a credit of the whole net quantity gives back the whole net amount, exactly, and one that
    // gives both sides must ... The reverse is not required of a credit that gives both"
    if let (Some(q), Some(a)) = (q, amt)
        && q == net.q
        && a != net.a
    {
        p.push("LEDGER_INVALID_CREDIT");
    }
    // "all the money for fewer hours than that is refused": what is left, at the item's net amount
    // / net quantity, rounds to a minor unit or more.
    if let (Some(q), Some(a)) = (q, amt)
        && q < net.q
        && a == net.a
        && !half_up(net.a * (net.q - q) / net.q, minor).is_zero()
    {
        p.push("LEDGER_INVALID_CREDIT");
    }
    // A credit whose given sides are wrong is refused with those problems; one whose only
    // problems are its currency or scale is completed too, so that the problems of its completed
    // sides (nothing given back, a negative amount, a share it could not record) are among the
    // codes accepted.
    if p.iter()
        .any(|c| *c == "LEDGER_INVALID_CREDIT" || *c == "LEDGER_ZERO_CREDIT")
    {
        return Err(p);
    }
    let (cq, ca) = match (q, amt) {
        (Some(q), Some(a)) => (q, a),
        (Some(q), None) => {
            if q == net.q {
                (q, net.a)
            } else {
                // "the side a credit note leaves out is the same share of the item's net billed
                // ... (rounded half up to the minor unit)"
                (q, half_up(net.a * q / net.q, minor))
            }
        }
        (None, Some(a)) => {
            if a == net.a {
                (net.q, a)
            } else {
                // "(rounded half up to 12 decimals, never more than is billed)"
                (half_up(net.q * a / net.a, 12).min(net.q), a)
            }
        }
        (None, None) => return Err(vec!["LEDGER_INVALID_CREDIT"]),
    };
    if ca.is_zero() {
        p.push("LEDGER_ZERO_CREDIT");
    }
    // "it may not give back ... a negative amount": also the side it leaves out (hours of an item
    // whose net amount an adjustment brought below zero).
    if ca < D::ZERO {
        p.push("LEDGER_INVALID_CREDIT");
    }
    let share = match given_share {
        // "its share against the ceiling (ceiling_share, recorded with it, 0.00 included) is its
        // amount x the item's net against the ceiling / the item's net amount, rounded half up to
        // the minor unit, and within [0, the smaller of its amount and the item's net against the
        // ceiling] (all of that on a full credit): the part of what it gives back that had counted
        // against the ceiling" (billing.md). A share given is used as given within those bounds
        // (LEDGER_INVALID_CREDIT otherwise, as for the credit's other sides).
        Some(sh) => {
            if sh < D::ZERO || sh > ca || sh > net.c.max(D::ZERO) {
                p.push("LEDGER_INVALID_CREDIT");
            }
            sh
        }
        None if ca == net.a => net.c.max(D::ZERO).min(ca),
        None => half_up(ca * net.c / net.a, minor)
            .min(net.c)
            .min(ca)
            .max(D::ZERO),
    };
    if !p.is_empty() {
        return Err(p);
    }
    net.q -= cq;
    net.a -= ca;
    net.c -= share;
    if cq.is_zero() {
        net.d += ca;
    }
    let mut done = json!({
        "credit_note_id": gs(credit, "credit_note_id").unwrap_or_default(),
        "kind": kind,
        "item_id": item,
        "quantity": n(cq),
        "amount": money(ca, cur),
    });
    // "its share against the ceiling (ceiling_share, recorded with it, 0.00 included)"
    // (billing.md, "A credit is frozen when it is recorded").
    done["ceiling_share"] = money(share, cur);
    Ok(done)
}

/// Stage 2: the ledger belongs to the contract, its amounts are in the currency and at scale, and
/// each credit is one `record_credit` would record (completed in list order against every entry
/// and the credits before it).
pub fn read_ledger(l: &Value, contract_id: &str, cur: &str) -> Result<LedgerState, Refusal> {
    if gs(l, "contract_id") != Some(contract_id) {
        return Err(Refusal::new("ledger", ["LEDGER_WRONG_CONTRACT"]));
    }
    let mut p = vec![];
    for e in garr(l, "entries") {
        for k in ["amount", "unit_price"] {
            if let Some((a, c)) = gm(e, k) {
                if c != cur {
                    p.push("MONEY_CURRENCY_MISMATCH");
                }
                if k == "amount" && !at_scale(a, &c) {
                    p.push("MONEY_INVALID_SCALE");
                }
            }
        }
        // "no entry bills a negative quantity (DOCUMENT_NEGATIVE_AMOUNT; an adjustment bills
        // quantity 0 and an amount of either sign)" (billing.md, the ledger).
        if gd(e, "quantity").is_some_and(|q| q < Decimal::ZERO) {
            p.push("DOCUMENT_NEGATIVE_AMOUNT");
        }
    }
    for cr in garr(l, "credits") {
        for k in ["amount", "ceiling_share"] {
            if let Some((a, c)) = gm(cr, k) {
                if c != cur {
                    p.push("MONEY_CURRENCY_MISMATCH");
                }
                if !at_scale(a, &c) {
                    p.push("MONEY_INVALID_SCALE");
                }
            }
        }
    }
    let mut st = LedgerState {
        contract_id: contract_id.to_owned(),
        ..LedgerState::default()
    };
    for e in garr(l, "entries") {
        add_entry(&mut st, read_entry(e), e.clone());
    }
    // READING: the spec lists the ledger's checks (currency, scale, each credit) without saying
    // which a run reports first when several fail; any of them is accepted.
    for cr in garr(l, "credits") {
        match complete_credit(&mut st, cr, cur) {
            Ok(done) => st.credits.push(done),
            Err(c) => {
                p.extend(c);
                break;
            }
        }
    }
    refuse_if("ledger", p)?;
    Ok(st)
}

/// `record_credit`: the ledger with its credits completed, then the new credits, each completed
/// against what the item is billed net at that moment.
pub fn record_credit(ledger: &Value, currency: &str, credits: &[Value]) -> Result<Value, Refusal> {
    let cid = gs(ledger, "contract_id").unwrap_or_default().to_owned();
    let mut st = read_ledger(ledger, &cid, currency)?;
    for c in credits {
        let done = complete_credit(&mut st, c, currency).map_err(|c| Refusal::new("credits", c))?;
        st.credits.push(done);
    }
    Ok(ledger_value(&st))
}

fn ledger_value(st: &LedgerState) -> Value {
    json!({
        "schema_version": 1,
        "contract_id": st.contract_id,
        "entries": st.raw_entries,
        "credits": st.credits,
    })
}

// ------------------------------------------------------------------------------------------------
// Change orders and contract history (stage 3)
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Co {
    pub v: Value,
    pub id: String,
    pub contract_id: String,
    pub seq: i64,
    pub status: String,
    pub eff: i64,
    pub approved: Option<i64>,
    pub retro: bool,
}

pub fn read_co(v: &Value) -> Co {
    Co {
        v: v.clone(),
        id: gs(v, "id").unwrap_or_default().to_owned(),
        contract_id: gs(v, "contract_id").unwrap_or_default().to_owned(),
        seq: v.get("sequence").and_then(Value::as_i64).unwrap_or(0),
        status: gs(v, "status").unwrap_or_default().to_owned(),
        eff: gdate(v, "effective_date").unwrap_or(0),
        approved: gdate(v, "approved_on"),
        retro: gbool(v, "retroactive", false),
    }
}

fn counts_as_history(status: &str) -> bool {
    status == "approved" || status == "applied"
}

/// `validate`'s checks of a change order as a document, and that it amends this contract.
/// READING: the document checks are the context-free ones (sequence >= 1, an approval date when
/// approved or applied, some change, exactly one of role/resource on a rate change, a rate above
/// zero, an amount with no more decimals than its currency: change-orders.md "Checks when
/// applying", 4, "It has no validation problem (... MONEY_INVALID_SCALE for an amount with more
/// decimals than the currency)"; a run checks every change order "as a document (validate's
/// checks) ... whatever its status", so also one not in force); currency, roles on the card,
/// milestones and end dates are `apply_change_order`'s checks against the version it amends
/// (change-orders.md "Checks when applying", 5). Rates are prices and keep their decimals.
pub fn co_document_problems(co: &Co, contract_id: &str) -> Vec<&'static str> {
    let mut p = vec![];
    if co.seq < 1 {
        p.push("CHANGES_INVALID_SEQUENCE");
    }
    if counts_as_history(&co.status) && co.approved.is_none() {
        p.push("CHANGES_MISSING_APPROVAL_DATE");
    }
    let changes = garr(&co.v, "changes");
    if changes.is_empty() {
        p.push("CHANGES_EMPTY");
    }
    for ch in changes {
        let t = gs(ch, "type").unwrap_or_default();
        if (t == "set_rate" || t == "end_rate")
            && gopt(ch, "role").is_some() == gopt(ch, "resource_id").is_some()
        {
            p.push("RATES_ENTRY_TARGET");
        }
        if t == "set_rate" && gm(ch, "rate").is_some_and(|r| r.0 <= D::ZERO) {
            p.push("RATES_NON_POSITIVE_RATE");
        }
        let amount = match t {
            "set_ceiling" => gm(ch, "amount"),
            "adjust_ceiling" => gm(ch, "delta"),
            "add_milestone" => ch.get("milestone").and_then(|m| gm(m, "amount")),
            _ => None,
        };
        if amount.is_some_and(|(a, c)| !at_scale(a, &c)) {
            p.push("MONEY_INVALID_SCALE");
        }
    }
    if co.contract_id != contract_id {
        p.push("CHANGES_WRONG_CONTRACT");
    }
    p
}

/// Applies one change order to the version before it, with `apply_change_order`'s per-change
/// checks (change-orders.md "Checks when applying", 5: an added percent milestone only on a
/// contract with a fixed fee, CONTRACT_MODEL_TERMS, as `validate` checks a contract's milestones).
pub fn apply_co(
    prev: &Version,
    co: &Co,
    contract: &Value,
    billed_milestones: &BTreeSet<String>,
) -> Result<(Version, bool), &'static str> {
    let cur = gs(contract, "currency").unwrap_or("USD");
    let start = gdate(contract, "start_date").unwrap_or(0);
    let has_ff = gm(contract, "fixed_fee").is_some();
    let d = co.eff;
    let mut v = prev.clone();
    v.eff = Some(d);
    v.co_id = Some(co.id.clone());
    v.retroactive = co.retro;
    let mut ceiling_changed = false;
    for ch in garr(&co.v, "changes") {
        match gs(ch, "type").unwrap_or_default() {
            "set_rate" => {
                let (rate, c) = gm(ch, "rate").unwrap_or((D::ZERO, cur.to_owned()));
                if c != cur {
                    return Err("MONEY_CURRENCY_MISMATCH");
                }
                if rate <= D::ZERO {
                    return Err("RATES_NON_POSITIVE_RATE");
                }
                let role = gopt(ch, "role");
                let resource = gopt(ch, "resource_id");
                let task = gopt(ch, "task_id");
                // "The role must already be on the rate card; a resource may get its first rate"
                // READING: "on the card" is the card of the version the change order amends
                // (not one an earlier change of the same change order made).
                if let Some(r) = &role
                    && !prev.rules.iter().any(|x| x.role.as_ref() == Some(r))
                {
                    return Err("CHANGES_UNKNOWN_TARGET");
                }
                let rule = Rule {
                    role: role.clone(),
                    resource: resource.clone(),
                    task: task.clone(),
                    rate,
                    day: gs(ch, "unit") == Some("day"),
                    from: d,
                    to: None,
                    source: format!("change_order:{}", co.id),
                };
                set_key(&mut v.rules, &role, &resource, &task, d, Some(rule));
            }
            "end_rate" => {
                let role = gopt(ch, "role");
                let resource = gopt(ch, "resource_id");
                let task = gopt(ch, "task_id");
                // "The role or resource must have a rate on the card."
                let known = prev.rules.iter().any(|x| {
                    (role.is_some() && x.role == role)
                        || (resource.is_some() && x.resource == resource)
                });
                if !known {
                    return Err("CHANGES_UNKNOWN_TARGET");
                }
                set_key(&mut v.rules, &role, &resource, &task, d, None);
            }
            "set_ceiling" => {
                let (a, c) = gm(ch, "amount").unwrap_or((D::ZERO, cur.to_owned()));
                if c != cur {
                    return Err("MONEY_CURRENCY_MISMATCH");
                }
                ceiling_changed = true;
                match &mut v.ceiling {
                    Some(x) => x.limit = a,
                    None => {
                        v.ceiling = Some(Ceil {
                            limit: a,
                            fees_and_expenses: false,
                            hold_whole: false,
                        })
                    }
                }
            }
            "adjust_ceiling" => {
                let (a, c) = gm(ch, "delta").unwrap_or((D::ZERO, cur.to_owned()));
                if c != cur {
                    return Err("MONEY_CURRENCY_MISMATCH");
                }
                match &mut v.ceiling {
                    Some(x) => x.limit += a,
                    None => return Err("CHANGES_NO_CEILING"),
                }
                ceiling_changed = true;
            }
            "add_milestone" => {
                let m = ch.get("milestone").cloned().unwrap_or(Value::Null);
                if let Some((_, c)) = gm(&m, "amount")
                    && c != cur
                {
                    return Err("MONEY_CURRENCY_MISMATCH");
                }
                let mut p = vec![];
                milestone_problems(&m, cur, has_ff, &mut p);
                if let Some(first) = p.first() {
                    return Err(first);
                }
                let ms = read_ms(&m);
                if v.milestones.iter().any(|x| x.id == ms.id) {
                    return Err("DOCUMENT_DUPLICATE_ID");
                }
                v.milestones.push(ms);
            }
            "remove_milestone" => {
                let id = gs(ch, "milestone_id").unwrap_or_default();
                let Some(pos) = v.milestones.iter().position(|x| x.id == id) else {
                    return Err("CHANGES_UNKNOWN_TARGET");
                };
                if v.milestones[pos].status == "billed" || billed_milestones.contains(id) {
                    return Err("CHANGES_MILESTONE_BILLED");
                }
                v.milestones.remove(pos);
            }
            "set_end_date" => {
                let e = gdate(ch, "end_date").unwrap_or(0);
                if e < start {
                    return Err("DOCUMENT_DATE_ORDER");
                }
                v.end = e;
            }
            "set_expense_markup" => {
                let pct = gd(ch, "markup_percent").unwrap_or_default();
                set_markup(&mut v.markup, d, pct);
            }
            _ => {}
        }
    }
    Ok((v, ceiling_changed))
}

/// The contract's history as a run reads it (billing.md "Change orders in a run"): every change
/// order checked as a document; the approved and applied ones in sequence (no repeat; a gap only
/// where a draft or submitted change order holds the missing number, and then the ones after it
/// wait), matching the contract's list; the versions in force on `as_of` (1..k) applied in turn;
/// after the last, the ceiling not below what the ledger bills against it.
pub fn run_history(
    contract: &Value,
    cos: &[Co],
    as_of: i64,
    billed_ceiling: D,
    billed_ms: &BTreeSet<String>,
) -> Result<(Vec<Version>, Vec<Co>), Refusal> {
    let cid = gs(contract, "id").unwrap_or_default();
    let mut p = vec![];
    let mut ids = BTreeSet::new();
    for co in cos {
        p.extend(co_document_problems(co, cid));
        // "no two share an id (DOCUMENT_DUPLICATE_ID at the later one's id)"
        if !ids.insert(co.id.clone()) {
            p.push("DOCUMENT_DUPLICATE_ID");
        }
    }
    refuse_if("change order documents", p)?;

    let mut hist: Vec<Co> = cos
        .iter()
        .filter(|c| counts_as_history(&c.status))
        .cloned()
        .collect();
    hist.sort_by_key(|c| c.seq);
    let mut p = vec![];
    let mut seen = BTreeSet::new();
    for c in &hist {
        if !seen.insert(c.seq) {
            p.push("CHANGES_DUPLICATE_SEQUENCE");
        }
    }
    // "a gap is refused (CHANGES_OUT_OF_SEQUENCE), unless the missing sequence number belongs to a
    // draft or submitted change order: an approved change order builds on the one before it, so
    // it waits for it (with every change order after it)"
    // READING: every missing number is judged on its own: one held by a draft or submitted change
    // order makes the ones after it wait, one held by none (or only by a rejected or withdrawn
    // change order, which "makes no version") is refused, wherever it is (also after a number
    // that waits) and whatever the approval dates: these are checks of "the approved and applied
    // ones", stated before (and apart from) which of them are in force on as_of.
    let pending: BTreeSet<i64> = cos
        .iter()
        .filter(|c| c.status == "draft" || c.status == "submitted")
        .map(|c| c.seq)
        .collect();
    let mut waits_at: Option<i64> = None;
    for m in 1..seen.last().copied().unwrap_or(0) {
        if !seen.contains(&m) {
            if pending.contains(&m) {
                waits_at = Some(waits_at.unwrap_or(m).min(m));
            } else {
                p.push("CHANGES_OUT_OF_SEQUENCE");
            }
        }
    }
    // READING: "when the contract lists its applied change orders, they are the first ones in
    // sequence": the first of the approved and applied ones, in sequence order.
    if let Some(list) = contract.get("change_orders").and_then(Value::as_array) {
        let ids: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        let first: Vec<&str> = hist.iter().take(ids.len()).map(|c| c.id.as_str()).collect();
        if ids != first {
            p.push("CHANGES_HISTORY_MISMATCH");
        }
    }
    if !p.is_empty() {
        // READING: "the approved and applied ones form the contract's versions exactly as
        // apply_change_order would apply them one at a time": the sequence problems (repeat,
        // gap, list) are the stage's own, but one at a time, a change order in force before the
        // first of them is applied (and may be refused) first; either code is accepted.
        let mut r = Refusal::new("change order history", p);
        let mut v = version_zero(contract);
        for (i, c) in hist.iter().enumerate() {
            if c.seq != i as i64 + 1 || c.approved.is_none_or(|a| a > as_of) {
                break;
            }
            match apply_co(&v, c, contract, billed_ms) {
                Ok((next, _)) => v = next,
                Err(code) => {
                    r.codes.insert(code.to_owned());
                    break;
                }
            }
        }
        return Err(r);
    }

    // "a change order is in force from the later of its own approval and the approval of every
    // change order before it": in force on as_of are 1..k, the longest run of them (before any
    // that waits) whose approvals are all on or before as_of.
    let mut applied: Vec<Co> = vec![];
    for c in hist {
        if waits_at.is_some_and(|w| c.seq > w) || c.approved.is_none_or(|a| a > as_of) {
            break;
        }
        applied.push(c);
    }
    let mut versions = vec![version_zero(contract)];
    let mut last_ceiling_change = false;
    for co in &applied {
        let prev = versions
            .last()
            .cloned()
            .unwrap_or_else(|| version_zero(contract));
        let (v, ceil) = apply_co(&prev, co, contract, billed_ms)
            .map_err(|c| Refusal::new("change order apply", [c]))?;
        last_ceiling_change |= ceil;
        versions.push(v);
    }
    // READING: "After the last of them, the ceiling is not below what the ledger bills against it
    // (CHANGES_CEILING_BELOW_BILLED at the last change order that set it)": checked once, on version k, when
    // one of the change orders 1..k changed the ceiling (a ledger may already be over a ceiling no
    // change order touched: "a ceiling given lower than the ledger").
    if last_ceiling_change
        && let Some(ce) = versions.last().and_then(|v| v.ceiling.as_ref())
        && ce.limit < billed_ceiling
    {
        return Err(Refusal::new(
            "change order apply",
            ["CHANGES_CEILING_BELOW_BILLED"],
        ));
    }
    Ok((versions, applied))
}

/// `resolve_rate`/`apply_change_order` history: every change order given must be approved or
/// applied, in sequence; each applied in turn (change-orders.md "Checks when applying", in that
/// order). Returns the versions made, and (index in sequence, code) of the first refused.
/// `one_at_a_time`: as `apply_change_order` applies them (a repeated sequence is "not the current
/// version + 1", CHANGES_OUT_OF_SEQUENCE); otherwise as a history built at once (two with one
/// sequence number, CHANGES_DUPLICATE_SEQUENCE).
pub fn strict_history(
    contract: &Value,
    cos: &[Co],
    one_at_a_time: bool,
) -> (Vec<Version>, Option<(usize, &'static str)>) {
    let cid = gs(contract, "id").unwrap_or_default();
    let mut sorted = cos.to_vec();
    sorted.sort_by_key(|c| c.seq);
    let mut versions = vec![version_zero(contract)];
    for (i, co) in sorted.iter().enumerate() {
        let fail = |code| (versions.clone(), Some((i, code)));
        if !counts_as_history(&co.status) {
            return fail("CHANGES_NOT_APPROVED");
        }
        if co.contract_id != cid {
            return fail("CHANGES_WRONG_CONTRACT");
        }
        if co.seq != i as i64 + 1 {
            return fail(if co.seq == i as i64 && !one_at_a_time {
                "CHANGES_DUPLICATE_SEQUENCE"
            } else {
                "CHANGES_OUT_OF_SEQUENCE"
            });
        }
        if let Some(first) = co_document_problems(co, cid).first() {
            return fail(first);
        }
        // "A change order approved before the one it follows is applied all the same: approvals
        // may arrive out of order" (no check of approval dates).
        let prev = versions
            .last()
            .cloned()
            .unwrap_or_else(|| version_zero(contract));
        match apply_co(&prev, co, contract, &BTreeSet::new()) {
            Err(c) => return fail(c),
            Ok((v, ceil)) => {
                if ceil && v.ceiling.as_ref().is_some_and(|c| c.limit < D::ZERO) {
                    return fail("CHANGES_CEILING_BELOW_BILLED");
                }
                versions.push(v);
            }
        }
    }
    (versions, None)
}

/// `resolve_rate`'s history, built at once from change orders that must all be approved or
/// applied: their documents, then their sequence, then each applied in turn (the stages of
/// [`run_history`], whose staging the spec gives for a run: "A run, resolve_rate and
/// apply_change_order build the contract's versions with one function").
pub fn history_at_once(contract: &Value, cos: &[Co]) -> Result<Vec<Version>, Refusal> {
    let cid = gs(contract, "id").unwrap_or_default();
    let mut p = vec![];
    for co in cos {
        if !counts_as_history(&co.status) {
            p.push("CHANGES_NOT_APPROVED");
        }
        p.extend(co_document_problems(co, cid));
    }
    refuse_if("change order documents", p)?;
    let far = i64::MAX / 4;
    let (versions, _) = run_history(contract, cos, far, D::ZERO, &BTreeSet::new())?;
    if versions
        .last()
        .and_then(|v| v.ceiling.as_ref())
        .is_some_and(|c| c.limit < D::ZERO)
    {
        return Err(Refusal::new(
            "change order apply",
            ["CHANGES_CEILING_BELOW_BILLED"],
        ));
    }
    Ok(versions)
}

// ------------------------------------------------------------------------------------------------
// The items and the period (stage 4)
// ------------------------------------------------------------------------------------------------

/// The problems of step 4 ("The items and the period"), and the items they belong to
/// (`(kind, position in its list)`; a duplicate id belongs to the later item).
fn item_problems(
    req: &Value,
    cur: &str,
    has_ff: bool,
) -> (Vec<&'static str>, BTreeSet<(&'static str, usize)>) {
    let mut p = vec![];
    let mut invalid = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (i, t) in garr(req, "time_entries").into_iter().enumerate() {
        let before = p.len();
        if !ids.insert(gs(t, "id").unwrap_or_default()) {
            p.push("DOCUMENT_DUPLICATE_ID");
        }
        if gd(t, "hours").is_some_and(|h| h < D::ZERO) {
            p.push("DOCUMENT_NEGATIVE_AMOUNT");
        }
        if gm(t, "rate_override").is_some_and(|r| r.0 <= D::ZERO) {
            p.push("RATES_NON_POSITIVE_RATE");
        }
        if p.len() > before {
            invalid.insert(("time", i));
        }
    }
    let mut ids = BTreeSet::new();
    for (i, x) in garr(req, "expenses").into_iter().enumerate() {
        let before = p.len();
        if !ids.insert(gs(x, "id").unwrap_or_default()) {
            p.push("DOCUMENT_DUPLICATE_ID");
        }
        if let Some((a, c)) = gm(x, "amount") {
            if a < D::ZERO {
                p.push("DOCUMENT_NEGATIVE_AMOUNT");
            }
            if !at_scale(a, &c) {
                p.push("MONEY_INVALID_SCALE");
            }
            if let Some(fx) = gd(x, "fx_rate") {
                // "an fx_rate of zero or less, or any fx_rate other than 1 on an expense already
                // in the contract currency (EXPENSE_INVALID_FX_RATE)"
                if fx <= D::ZERO || (c == cur && fx != D::ONE) {
                    p.push("EXPENSE_INVALID_FX_RATE");
                }
            }
        }
        if p.len() > before {
            invalid.insert(("expense", i));
        }
    }
    if let Some(ms) = req.get("milestones").and_then(Value::as_array) {
        let mut ids = BTreeSet::new();
        for (i, m) in ms.iter().enumerate() {
            let before = p.len();
            if !ids.insert(gs(m, "id").unwrap_or_default()) {
                p.push("DOCUMENT_DUPLICATE_ID");
            }
            milestone_problems(m, cur, has_ff, &mut p);
            if p.len() > before {
                invalid.insert(("milestone", i));
            }
        }
    }
    let items = p.len();
    let mut ids = BTreeSet::new();
    for pr in garr(req, "projects") {
        if !ids.insert(gs(pr, "id").unwrap_or_default()) {
            p.push("DOCUMENT_DUPLICATE_ID");
        }
        let mut tids = BTreeSet::new();
        for t in garr(pr, "tasks") {
            if !tids.insert(gs(t, "id").unwrap_or_default()) {
                p.push("DOCUMENT_DUPLICATE_ID");
            }
            if gs(t, "name").unwrap_or_default().trim().is_empty() {
                p.push("DOCUMENT_EMPTY_FIELD");
            }
        }
    }
    let period = req.get("period").cloned().unwrap_or(Value::Null);
    if gdate(&period, "end") < gdate(&period, "start") {
        p.push("DOCUMENT_DATE_ORDER");
    }
    // "With `options.hold_invalid_items: true`, [an item] that breaks a check of step 4 does not
    // refuse the run: it is held with reason `invalid` [...]. A problem of [...] a project or the
    // period still refuses the run" (billing.md, "Invalid items").
    let hold = req
        .get("options")
        .and_then(|o| o.get("hold_invalid_items"))
        .and_then(Value::as_bool)
        == Some(true);
    if hold {
        p.drain(..items);
    } else {
        invalid.clear();
    }
    (p, invalid)
}

// ------------------------------------------------------------------------------------------------
// The run
// ------------------------------------------------------------------------------------------------

/// The hours a time entry delivers: its hours rounded to the contract's `time_increment` when it
/// has one (`up`, `down` or `nearest`, the default, halves up).
pub fn delivered(contract: &Value, hours: D) -> D {
    let r = contract.get("rounding").cloned().unwrap_or(Value::Null);
    let Some(inc) = gd(&r, "time_increment") else {
        return hours;
    };
    let units = hours / inc;
    let whole = match gs(&r, "time_rounding").unwrap_or("nearest") {
        "up" => units.ceil(),
        "down" => units.floor(),
        _ => units.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero),
    };
    whole * inc
}

const KINDS: [&str; 3] = ["time", "expense", "milestone"];

fn kind_rank(k: &str) -> usize {
    KINDS.iter().position(|x| *x == k).unwrap_or(9)
}

#[derive(Clone, Debug)]
pub struct Line {
    pub kind: &'static str,
    pub id: String,
    pub date: i64,
    pub quantity: D,
    pub billed_hours: Option<D>,
    pub billed_quantity: Option<D>,
    pub unit: &'static str,
    pub unit_price: D,
    pub amount: D,
    pub split: bool,
    pub version: u32,
    pub source: String,
    pub counts: bool,
    /// For the ledger: the exact quantity billed (hours for time, share for the others).
    pub exact: D,
    pub role: Option<String>,
    pub resource: Option<String>,
    pub task: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Held {
    pub kind: &'static str,
    pub id: String,
    pub date: i64,
    pub reason: &'static str,
    pub amount: Option<D>,
    pub co: Option<String>,
    /// Hours still to bill (time entries held by checks 4-10, for the aging).
    pub aging_hours: Option<D>,
}

#[derive(Clone, Debug)]
pub struct Adj {
    pub item: String,
    pub date: i64,
    pub quantity: D,
    pub rate_before: D,
    pub rate_after: D,
    pub amount: D,
    pub co: String,
    pub version: u32,
    pub source: String,
    pub role: Option<String>,
    pub resource: Option<String>,
    pub task: Option<String>,
    /// The part of the amount that counts against the ceiling (set by the ceiling meter; the rest
    /// is committed as not against it).
    pub against: D,
}

/// An item that passed checks 1-9, priced.
#[derive(Clone, Debug)]
struct Cand {
    kind: &'static str,
    id: String,
    date: i64,
    rem: D,
    amount: D,
    unit_price: D,
    day: bool,
    source: String,
    version: u32,
    counts: bool,
    role: Option<String>,
    resource: Option<String>,
    task: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Computed {
    pub lines: Vec<Line>,
    pub adjustments: Vec<Adj>,
    pub ceiling: Option<(Ceil, D, D)>,
    pub projection: Value,
    pub ledger: LedgerState,
    pub currency: String,
}

struct Run<'a> {
    req: &'a Value,
    c: &'a Value,
    cid: String,
    cur: String,
    minor: u32,
    mode: Mode,
    hpd: D,
    start: i64,
    as_of: i64,
    pstart: i64,
    pend: i64,
    ledger: LedgerState,
    versions: Vec<Version>,
    statuses: Vec<String>,
    /// The invalid items the run holds (`hold_invalid_items`), `(kind, position in its list)`.
    invalid: BTreeSet<(&'static str, usize)>,
}

pub fn preview(req: &Value) -> Result<Value, Refusal> {
    compute(req).map(|c| c.projection)
}

pub fn compute(req: &Value) -> Result<Computed, Refusal> {
    let c = req.get("contract").unwrap_or(&Value::Null);
    let cur = gs(c, "currency").unwrap_or("USD").to_owned();
    let cid = gs(c, "id").unwrap_or_default().to_owned();
    // 1. the contract
    refuse_if("contract", validate_contract(c))?;
    // 2. the ledger
    let ledger = match req.get("ledger").filter(|l| !l.is_null()) {
        Some(l) => read_ledger(l, &cid, &cur)?,
        None => LedgerState {
            contract_id: cid.clone(),
            ..LedgerState::default()
        },
    };
    // 3. the change orders
    let as_of = gdate(req, "as_of").unwrap_or(0);
    let cos: Vec<Co> = garr(req, "change_orders")
        .into_iter()
        .map(read_co)
        .collect();
    // "a milestone item of that id the billed ledger bills, net of credits (one credited in full
    // may be removed)" (change-orders.md, checks when applying, 5).
    let billed_ms: BTreeSet<String> = ledger
        .net
        .iter()
        .filter(|((kind, _), net)| kind == "milestone" && net.q > Decimal::ZERO)
        .map(|((_, id), _)| id.clone())
        .collect();
    let (versions, _) = run_history(c, &cos, as_of, ledger.billed_against_ceiling(), &billed_ms)?;
    // 4. the items and the period
    let (problems, invalid) = item_problems(req, &cur, gm(c, "fixed_fee").is_some());
    refuse_if("items", problems)?;

    let period = req.get("period").cloned().unwrap_or(Value::Null);
    let statuses = req
        .get("options")
        .and_then(|o| o.get("billable_project_statuses"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_else(|| vec!["active".to_owned(), "completed".to_owned()]);
    let run = Run {
        req,
        c,
        cid,
        minor: minor_units(&cur),
        cur,
        mode: if c.get("rounding").and_then(|r| gs(r, "mode")) == Some("half_even") {
            Mode::HalfEven
        } else {
            Mode::HalfUp
        },
        hpd: c
            .get("rate_card")
            .and_then(|r| gd(r, "hours_per_day"))
            .unwrap_or(D::from(8)),
        start: gdate(c, "start_date").unwrap_or(0),
        as_of,
        pstart: gdate(&period, "start").unwrap_or(0),
        pend: gdate(&period, "end").unwrap_or(0),
        ledger,
        versions,
        statuses,
        invalid,
    };
    run.compute()
}

impl Run<'_> {
    fn k(&self) -> usize {
        self.versions.len() - 1
    }

    fn vk(&self) -> &Version {
        &self.versions[self.k()]
    }

    /// change-orders.md: `version_on(date)`, the latest version whose effective date is on or
    /// before it (among the versions in force on `as_of`).
    fn version_on(&self, day: i64) -> u32 {
        (1..self.versions.len())
            .rev()
            .find(|&n| self.versions[n].eff.is_some_and(|e| e <= day))
            .unwrap_or(0) as u32
    }

    fn round(&self, x: D) -> D {
        round_money(x, self.minor, self.mode)
    }

    fn time_amount(&self, hours: D, rate: D, day: bool) -> D {
        if day {
            // "computed as billed hours x rate / hours_per_day so that an exact midpoint stays exact"
            self.round(hours * rate / self.hpd)
        } else {
            self.round(hours * rate)
        }
    }

    fn delivered_hours(&self, hours: D) -> D {
        delivered(self.c, hours)
    }

    fn project<'p>(&'p self, id: &str) -> Option<&'p Value> {
        garr(self.req, "projects")
            .into_iter()
            .find(|p| gs(p, "id") == Some(id))
    }

    fn held(
        &self,
        kind: &'static str,
        id: &str,
        date: i64,
        reason: &'static str,
        amount: Option<D>,
    ) -> Held {
        Held {
            kind,
            id: id.to_owned(),
            date,
            reason,
            amount,
            co: None,
            aging_hours: None,
        }
    }

    /// Checks 4-7 shared by time entries and expenses: (reason) or None.
    fn project_and_dates(&self, project_id: &str, date: i64) -> Option<&'static str> {
        let p = self.project(project_id);
        let ok = p.is_some_and(|p| {
            gs(p, "contract_id") == Some(self.cid.as_str())
                && self
                    .statuses
                    .iter()
                    .any(|s| Some(s.as_str()) == gs(p, "status"))
        });
        if !ok {
            return Some("project_status");
        }
        if date < self.start || date > self.vk().end {
            return Some("outside_contract_period");
        }
        if date < self.pstart || date > self.pend {
            return Some("outside_billing_period");
        }
        if p.and_then(|p| gs(p, "legal_entity")) != gs(self.c, "legal_entity") {
            return Some("legal_entity_mismatch");
        }
        None
    }

    fn time_entry(&self, te: &Value) -> Result<Cand, Held> {
        let id = gs(te, "id").unwrap_or_default();
        let date = gdate(te, "work_date").unwrap_or(0);
        let known = self.ledger.known("time", id);
        let net = self.ledger.net_of("time", id);
        let delivered = self.delivered_hours(gd(te, "hours").unwrap_or_default());
        let rem = delivered - net.q;
        let held = |reason, amount| self.held("time", id, date, reason, amount);
        // 1. READING: "the ledger shows it billed in full, net of credits": an item the ledger
        // does not know is not already billed (a zero-hour entry never billed goes on).
        if known && rem <= D::ZERO {
            return Err(held("already_billed", None));
        }
        // 2. `billed` known to the ledger is treated as approved.
        let status = gs(te, "status").unwrap_or_default();
        if !(status == "approved" || (status == "billed" && known)) {
            return Err(held("not_approved", None));
        }
        // 3. the entry or its task (read in its project's task list; unknown project: skipped;
        // no task list: every task accepted).
        if !gbool(te, "billable", true) {
            return Err(held("not_billable", None));
        }
        let project_id = gs(te, "project_id").unwrap_or_default();
        if let Some(p) = self.project(project_id) {
            let tasks = garr(p, "tasks");
            if !tasks.is_empty() {
                let task = gs(te, "task_id").unwrap_or_default();
                match tasks.iter().find(|t| gs(t, "id") == Some(task)) {
                    None => return Err(held("not_billable", None)),
                    Some(t) if !gbool(t, "billable", true) => {
                        return Err(held("not_billable", None));
                    }
                    Some(_) => {}
                }
            }
        }
        // price (for the amount of holds 5-7, and checks 8-9)
        let role = gopt(te, "role");
        let resource = gopt(te, "resource_id");
        let task = gopt(te, "task_id");
        let mut currency_mismatch = false;
        let price: Option<Resolved> = match gm(te, "rate_override") {
            Some((r, c)) => {
                if c == self.cur {
                    Some(Resolved {
                        rate: r,
                        day: false,
                        source: "rate_override".to_owned(),
                    })
                } else {
                    currency_mismatch = true;
                    None
                }
            }
            None => resolve(
                &self.vk().rules,
                role.as_deref(),
                resource.as_deref(),
                task.as_deref(),
                date,
            ),
        };
        let amount = price.as_ref().map(|p| self.time_amount(rem, p.rate, p.day));
        if let Some(reason) = self.project_and_dates(project_id, date) {
            let amt = if reason == "project_status" {
                None
            } else {
                amount
            };
            return Err(Held {
                aging_hours: Some(rem),
                ..held(reason, amt)
            });
        }
        if currency_mismatch {
            return Err(Held {
                aging_hours: Some(rem),
                ..held("currency_mismatch", None)
            });
        }
        let Some(p) = price else {
            return Err(Held {
                aging_hours: Some(rem),
                ..held("missing_rate", None)
            });
        };
        Ok(Cand {
            kind: "time",
            id: id.to_owned(),
            date,
            rem,
            amount: self.time_amount(rem, p.rate, p.day),
            unit_price: p.rate,
            day: p.day,
            source: p.source,
            version: self.version_on(date),
            counts: self.vk().ceiling.is_some(),
            role,
            resource,
            task,
        })
    }

    /// READING: an expense's or milestone's "full price" (its line's `unit_price`) is the whole
    /// item's amount rounded once; a part bills "that part x the full price, rounded once"
    /// (billing.md "Amounts"; the wire example 030 shows 152.20 as the unit price of 152.20329).
    fn expense(&self, x: &Value) -> Result<Cand, Held> {
        let id = gs(x, "id").unwrap_or_default();
        let date = gdate(x, "date").unwrap_or(0);
        let known = self.ledger.known("expense", id);
        let net = self.ledger.net_of("expense", id);
        let rem = D::ONE - net.q;
        let held = |reason, amount| self.held("expense", id, date, reason, amount);
        if known && rem <= D::ZERO {
            return Err(held("already_billed", None));
        }
        let status = gs(x, "status").unwrap_or_default();
        if !(status == "approved" || (status == "billed" && known)) {
            return Err(held("not_approved", None));
        }
        let cats: Vec<&str> = self
            .c
            .get("expense_policy")
            .map(|p| garr(p, "billable_categories"))
            .unwrap_or_default()
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        if !gbool(x, "billable", true) || !cats.contains(&gs(x, "category").unwrap_or_default()) {
            return Err(held("not_billable", None));
        }
        let (amt, ecur) = gm(x, "amount").unwrap_or((D::ZERO, self.cur.clone()));
        let fx = gd(x, "fx_rate");
        let markup = markup_at(&self.vk().markup, date);
        let factor = if ecur == self.cur { Some(D::ONE) } else { fx };
        let full = factor.map(|f| self.round(amt * (D::ONE + markup / D::ONE_HUNDRED) * f));
        let amount = full.map(|p| self.round(rem * p));
        if let Some(reason) = self.project_and_dates(gs(x, "project_id").unwrap_or_default(), date)
        {
            let a = if reason == "project_status" {
                None
            } else {
                amount
            };
            return Err(held(reason, a));
        }
        let Some(full) = full else {
            return Err(held("currency_mismatch", None));
        };
        let mut source = format!("expense_policy:markup={}%", n(markup));
        if ecur != self.cur {
            source.push_str(&format!(
                ";fx={}{}={}",
                ecur,
                self.cur,
                n(fx.unwrap_or_default())
            ));
        }
        Ok(Cand {
            kind: "expense",
            id: id.to_owned(),
            date,
            rem,
            amount: self.round(rem * full),
            unit_price: full,
            day: false,
            source,
            version: self.version_on(date),
            counts: self
                .vk()
                .ceiling
                .as_ref()
                .is_some_and(|c| c.fees_and_expenses),
            role: None,
            resource: None,
            task: None,
        })
    }

    fn milestone(&self, m: &Value) -> Result<Cand, Held> {
        let ms = read_ms(m);
        let known = self.ledger.known("milestone", &ms.id);
        let net = self.ledger.net_of("milestone", &ms.id);
        let rem = D::ONE - net.q;
        let ff = gm(self.c, "fixed_fee").map(|x| x.0).unwrap_or_default();
        let (full, source) = match (ms.amount, ms.percent) {
            (Some(a), _) => (self.round(a), format!("milestone:{}", ms.id)),
            (None, Some(p)) => (
                self.round(p / D::ONE_HUNDRED * ff),
                format!(
                    "milestone:{}={}% of fixed fee {}",
                    ms.id,
                    n(p),
                    fmt_money(ff, &self.cur)
                ),
            ),
            (None, None) => (D::ZERO, format!("milestone:{}", ms.id)),
        };
        let held = |reason, amount| self.held("milestone", &ms.id, ms.due, reason, amount);
        if known && rem <= D::ZERO {
            return Err(held("already_billed", None));
        }
        if !(ms.status == "accepted" || (ms.status == "billed" && known)) {
            // "for a milestone not yet accepted, its amount still to bill"
            return Err(held("not_approved", Some(self.round(rem * full))));
        }
        Ok(Cand {
            kind: "milestone",
            id: ms.id.clone(),
            date: ms.due,
            rem,
            amount: self.round(rem * full),
            unit_price: full,
            day: false,
            source,
            // "or on as_of for a milestone, which bills when accepted"
            version: self.version_on(self.as_of),
            counts: self.vk().ceiling.is_some(),
            role: None,
            resource: None,
            task: None,
        })
    }

    fn line(&self, c: &Cand, room: Option<D>) -> Line {
        let (quantity, exact, amount) = match room {
            None => {
                let q = if c.kind == "time" && c.day {
                    half_up(c.rem / self.hpd, 4)
                } else {
                    half_up(c.rem, 4)
                };
                (q, c.rem, c.amount)
            }
            Some(room) => {
                // "its line shows the part of the quantity that the room pays for, quantity x
                // room / amount (rounded down to 4 decimals; its billed_hours or billed_quantity
                // to 12)"
                let part = down(c.rem * room / c.amount, 12);
                let q = if c.kind == "time" && c.day {
                    down(c.rem * room / (c.amount * self.hpd), 4)
                } else {
                    down(c.rem * room / c.amount, 4)
                };
                (q, part, room)
            }
        };
        Line {
            kind: c.kind,
            id: c.id.clone(),
            date: c.date,
            quantity,
            billed_hours: (c.kind == "time").then_some(exact),
            billed_quantity: (c.kind != "time" && scale_of(exact) > 4).then_some(exact),
            unit: if c.kind != "time" {
                "item"
            } else if c.day {
                "day"
            } else {
                "hour"
            },
            unit_price: c.unit_price,
            amount,
            split: room.is_some(),
            version: c.version,
            source: c.source.clone(),
            counts: c.counts,
            exact,
            role: c.role.clone(),
            resource: c.resource.clone(),
            task: c.task.clone(),
        }
    }

    /// billing.md "Retroactive change orders".
    fn retro(&self) -> Result<(Vec<Adj>, Vec<Held>), Refusal> {
        let mut adjs = vec![];
        let mut held = vec![];
        let k = self.k();
        let entries_by_id = |id: &str| -> Option<&Value> {
            garr(self.req, "time_entries")
                .into_iter()
                .find(|t| gs(t, "id") == Some(id))
        };
        for ((kind, id), net) in &self.ledger.net {
            if kind != "time" || net.q <= D::ZERO {
                continue; // only time; "nor items credited in full"
            }
            let Some(last) = net.last else { continue };
            let e = &self.ledger.entries[last];
            let te = entries_by_id(id);
            let overridden = match &e.rate_source {
                Some(s) => s == "rate_override",
                None => te.is_some_and(|t| gm(t, "rate_override").is_some()),
            };
            if overridden {
                continue;
            }
            // "only change orders later than the contract version that last billed the item"
            let candidates: Vec<usize> = ((e.version as usize + 1)..=k)
                .filter(|&n| self.versions[n].retroactive)
                .collect();
            // "only a change order whose rate changes change this item's rate (so a retroactive
            // change order that changes no rate at all looks at no billed item, and cannot refuse
            // a ledger entry without a role)": the role is needed (and its absence refused) only
            // when a retroactive change order later than the item's version changes some rate,
            // and takes effect by the item's work date ("or takes effect after the item's work
            // date, looks at no billed item").
            let candidates: Vec<usize> = candidates
                .into_iter()
                .filter(|&n| changes_a_rate(&self.versions[n - 1].rules, &self.versions[n].rules))
                .filter(|&n| self.versions[n].eff.is_some_and(|d| d <= e.date))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let role = e.role.clone().or_else(|| te.and_then(|t| gopt(t, "role")));
            let Some(role) = role else {
                return Err(Refusal::new(
                    "retroactive re-pricing",
                    ["INPUT_MISSING_FIELD"],
                ));
            };
            let resource = e
                .resource
                .clone()
                .or_else(|| te.and_then(|t| gopt(t, "resource_id")));
            let task = e
                .task
                .clone()
                .or_else(|| te.and_then(|t| gopt(t, "task_id")));
            let at = |n: usize| {
                resolve(
                    &self.versions[n].rules,
                    Some(&role),
                    resource.as_deref(),
                    task.as_deref(),
                    e.date,
                )
            };
            let key = |r: &Option<Resolved>| r.as_ref().map(|x| (x.rate.normalize(), x.day));
            // "only a change order whose rate changes change this item's rate"; "the latest
            // (highest sequence) decides"
            let Some(ns) = candidates
                .iter()
                .copied()
                .filter(|&n| key(&at(n - 1)) != key(&at(n)))
                .max()
            else {
                continue;
            };
            let co = self.versions[ns].co_id.clone().unwrap_or_default();
            match at(ns) {
                None => held.push(Held {
                    kind: "time",
                    id: id.clone(),
                    date: e.date,
                    reason: "missing_rate",
                    amount: None,
                    co: Some(co),
                    aging_hours: None,
                }),
                Some(r) => {
                    // "a new rate equal to rate_before adjusts nothing" ("the same rate in the same
                    // unit": the unit the item's billed version gives it)
                    let billed_day = at(e.version as usize).map(|b| b.day);
                    if r.rate == e.unit_price && billed_day.is_none_or(|d| d == r.day) {
                        continue;
                    }
                    // "minus what those hours were billed at ... the item's net billed amount
                    // plus what price reductions gave back"
                    let amount = self.time_amount(net.q, r.rate, r.day) - (net.a + net.d);
                    if amount.is_zero() {
                        continue;
                    }
                    adjs.push(Adj {
                        item: id.clone(),
                        date: e.date,
                        quantity: net.q,
                        rate_before: e.unit_price,
                        rate_after: r.rate,
                        amount,
                        co,
                        // READING: "names it (change_order_id, its contract_version)": the
                        // version the change order made (its sequence).
                        version: ns as u32,
                        source: r.source,
                        role: Some(role.clone()),
                        resource: resource.clone(),
                        task: task.clone(),
                        against: D::ZERO,
                    });
                }
            }
        }
        Ok((adjs, held))
    }

    /// An invalid item (billing.md, "Invalid items"): "an item the ledger shows billed stays
    /// `already_billed`", else `invalid`; no amount, not unbilled work.
    fn invalid_item(&self, kind: &'static str, item: &Value, date: &str) -> Option<Held> {
        let id = gs(item, "id").unwrap_or_default();
        let billed = self
            .ledger
            .net
            .get(&(kind.to_owned(), id.to_owned()))
            .is_some_and(|n| n.q > D::ZERO);
        let reason = if billed { "already_billed" } else { "invalid" };
        Some(self.held(kind, id, gdate(item, date).unwrap_or(0), reason, None))
    }

    fn compute(self) -> Result<Computed, Refusal> {
        let (adjs, mut held) = self.retro()?;
        let mut cands = vec![];
        for (i, te) in garr(self.req, "time_entries").into_iter().enumerate() {
            if self.invalid.contains(&("time", i)) {
                held.extend(self.invalid_item("time", te, "work_date"));
                continue;
            }
            match self.time_entry(te) {
                Ok(c) => cands.push(c),
                Err(h) => held.push(h),
            }
        }
        for (i, x) in garr(self.req, "expenses").into_iter().enumerate() {
            if self.invalid.contains(&("expense", i)) {
                held.extend(self.invalid_item("expense", x, "date"));
                continue;
            }
            match self.expense(x) {
                Ok(c) => cands.push(c),
                Err(h) => held.push(h),
            }
        }
        // "milestones: when absent, the contract's (as amended)"; `[]` bills none.
        let ms: Vec<Value> = match self.req.get("milestones").and_then(Value::as_array) {
            Some(list) => list.clone(),
            None => self
                .vk()
                .milestones
                .iter()
                .map(|m| {
                    let mut v =
                        json!({"id": m.id, "due_date": fmt_date(m.due), "status": m.status});
                    if let Some(a) = m.amount {
                        v["amount"] = json!({"amount": n(a), "currency": self.cur});
                    }
                    if let Some(p) = m.percent {
                        v["percent"] = json!(n(p));
                    }
                    v
                })
                .collect(),
        };
        for (i, m) in ms.iter().enumerate() {
            if self.invalid.contains(&("milestone", i)) {
                held.extend(self.invalid_item("milestone", m, "due_date"));
                continue;
            }
            match self.milestone(m) {
                Ok(c) => cands.push(c),
                Err(h) => held.push(h),
            }
        }
        cands.sort_by(|a, b| {
            (a.date, kind_rank(a.kind), &a.id).cmp(&(b.date, kind_rank(b.kind), &b.id))
        });

        // The ceiling meter.
        let mut lines = vec![];
        let mut billed_adjs = vec![];
        let ceiling = self.vk().ceiling.clone();
        let billed_before = self.ledger.billed_against_ceiling();
        let mut this_run = D::ZERO;
        match &ceiling {
            None => {
                billed_adjs = adjs.clone();
                for c in &cands {
                    lines.push(self.line(c, None));
                }
            }
            Some(ce) => {
                let limit = ce.limit;
                let mut total = billed_before;
                let mut blocked = false;
                // "decreases, which free room, then increases by date and item"
                // "a decrease frees room only up to what its item has billed against the ceiling,
                // net (a decrease of work billed before the contract had a ceiling frees none),
                // and committing records the part beyond as not against the ceiling"
                // READING: an item whose net against the ceiling is below zero (a hand-written
                // ledger) has nothing billed against it, and its decrease frees none.
                for a in adjs.iter().filter(|a| a.amount < D::ZERO) {
                    let item_c = self.ledger.net_of("time", &a.item).c.max(D::ZERO);
                    let freed = (-a.amount).min(item_c);
                    total -= freed;
                    this_run -= freed;
                    billed_adjs.push(Adj {
                        against: -freed,
                        ..a.clone()
                    });
                }
                let mut inc: Vec<&Adj> = adjs.iter().filter(|a| a.amount > D::ZERO).collect();
                inc.sort_by(|a, b| (a.date, &a.item).cmp(&(b.date, &b.item)));
                for a in inc {
                    // "An increase counts in full (it is new billing under the ceiling)"
                    if !blocked && total + a.amount <= limit {
                        total += a.amount;
                        this_run += a.amount;
                        billed_adjs.push(Adj {
                            against: a.amount,
                            ..a.clone()
                        });
                    } else {
                        // "held whole as ceiling_exceeded ... whatever the mode"
                        blocked = true;
                        held.push(Held {
                            kind: "time",
                            id: a.item.clone(),
                            date: a.date,
                            reason: "ceiling_exceeded",
                            amount: Some(a.amount),
                            co: Some(a.co.clone()),
                            aging_hours: None,
                        });
                    }
                }
                for c in &cands {
                    if !c.counts {
                        lines.push(self.line(c, None));
                        continue;
                    }
                    let over = |amount: D, hours: D| Held {
                        kind: c.kind,
                        id: c.id.clone(),
                        date: c.date,
                        reason: "ceiling_exceeded",
                        amount: Some(amount),
                        co: None,
                        aging_hours: (c.kind == "time").then_some(hours),
                    };
                    if blocked {
                        held.push(over(c.amount, c.rem));
                    } else if total + c.amount <= limit {
                        total += c.amount;
                        this_run += c.amount;
                        lines.push(self.line(c, None));
                    } else {
                        blocked = true;
                        let room = limit - total;
                        // READING: with no room left (room <= 0) even `split` holds the item
                        // whole: there is nothing to bill a part of (example 049, "0.00 left").
                        if !ce.hold_whole && room > D::ZERO {
                            let l = self.line(c, Some(room));
                            held.push(over(c.amount - room, c.rem - l.exact));
                            lines.push(l);
                            total += room;
                            this_run += room;
                        } else {
                            held.push(over(c.amount, c.rem));
                        }
                    }
                }
            }
        }
        let ff = gm(self.c, "fixed_fee").map(|x| x.0).unwrap_or_default();
        let milestone_value: D = ms
            .iter()
            .map(read_ms)
            .map(|m| match (m.amount, m.percent) {
                (Some(a), _) => self.round(a),
                (None, Some(p)) => self.round(p / D::ONE_HUNDRED * ff),
                _ => D::ZERO,
            })
            .sum();
        Ok(self.finish(
            lines,
            held,
            billed_adjs,
            ceiling.map(|c| (c, billed_before, this_run)),
            milestone_value,
        ))
    }

    fn finish(
        self,
        lines: Vec<Line>,
        held: Vec<Held>,
        adjs: Vec<Adj>,
        ceiling: Option<(Ceil, D, D)>,
        milestone_value: D,
    ) -> Computed {
        let cur = self.cur.clone();
        let sum = |k: &str| -> D { lines.iter().filter(|l| l.kind == k).map(|l| l.amount).sum() };
        let time = sum("time");
        let expenses = sum("expense");
        let milestones = sum("milestone");
        let adj_total: D = adjs.iter().map(|a| a.amount).sum();

        // Retainer: billed time (and adjustments) draw it down.
        let retainer = self
            .c
            .get("retainer")
            .filter(|x| !x.is_null())
            .and_then(|r| gm(r, "amount"))
            .map(|r| r.0);
        let mut drawdown = D::ZERO;
        let mut retainer_status = Value::Null;
        let mut retainer_remaining = None;
        if let Some(r) = retainer {
            let time_before: D = self
                .ledger
                .net
                .iter()
                .filter(|(k, _)| k.0 == "time")
                .map(|(_, x)| x.a)
                .sum();
            let time_after = time_before + time + adj_total;
            let clamp = |x: D| x.max(D::ZERO).min(r);
            let drawn_before = clamp(time_before);
            let drawn_this_run = clamp(time_after) - drawn_before;
            drawdown = -drawn_this_run;
            retainer_remaining = Some(r - clamp(time_after));
            retainer_status = json!({
                "amount": n(r),
                "drawn_before": n(drawn_before),
                "drawn_this_run": n(drawn_this_run),
                "excess": n(time + adj_total - drawn_this_run),
                "remaining": n(r - clamp(time_after)),
            });
        }
        let total = time + expenses + milestones + adj_total + drawdown;

        let ceiling_status = match &ceiling {
            None => Value::Null,
            Some((ce, before, run)) => {
                let used = *before + *run;
                let util = if ce.limit.is_zero() {
                    D::ZERO
                } else {
                    // "rounded down to 2 decimals"
                    down(used * D::ONE_HUNDRED / ce.limit, 2)
                };
                json!({
                    "limit": n(ce.limit),
                    "billed_before": n(*before),
                    "this_run": n(*run),
                    "remaining": n((ce.limit - used).max(D::ZERO)),
                    "utilisation_percent": n(util),
                    "scope": if ce.fees_and_expenses { "fees_and_expenses" } else { "fees" },
                })
            }
        };

        // Aging of approved, billable time held by checks 4-10.
        let mut buckets: Vec<(&str, u64, D, D)> = vec![
            ("0-30", 0, D::ZERO, D::ZERO),
            ("31-60", 0, D::ZERO, D::ZERO),
            ("61-90", 0, D::ZERO, D::ZERO),
            ("90+", 0, D::ZERO, D::ZERO),
        ];
        for h in held.iter().filter(|h| h.kind == "time" && h.co.is_none()) {
            let Some(hours) = h.aging_hours else { continue };
            let age = self.as_of - h.date;
            let b = if age <= 30 {
                0
            } else if age <= 60 {
                1
            } else if age <= 90 {
                2
            } else {
                3
            };
            buckets[b].1 += 1;
            buckets[b].2 += hours;
            buckets[b].3 += h.amount.unwrap_or_default();
        }
        let mut by_reason: BTreeMap<&str, (u64, D)> = BTreeMap::new();
        for h in &held {
            let s = by_reason.entry(h.reason).or_insert((0, D::ZERO));
            s.0 += 1;
            s.1 += h.amount.unwrap_or_default();
        }

        // READING (backlog, "contract value not yet billed (ceiling, fixed fee or retainer, minus
        // everything billed)", schema: "(ceiling, fixed fee, retainer or milestones), when the
        // contract has one"): the value the billing model names (a fixed fee, a retainer, a
        // milestone contract's milestones as amended), else the ceiling of a time-and-materials
        // contract; minus what that value is drawn by (milestones billed; time billed; what is
        // billed against the ceiling), never below zero.
        let model = gs(self.c, "billing_model").unwrap_or_default();
        let ms_billed: D = self
            .ledger
            .net
            .iter()
            .filter(|(k, _)| k.0 == "milestone")
            .map(|(_, x)| x.a)
            .sum::<D>()
            + milestones;
        let ff = gm(self.c, "fixed_fee").map(|x| x.0);
        let backlog = match (model, ff, retainer_remaining, &ceiling) {
            ("fixed_fee", Some(ff), _, _) => Some((ff - ms_billed).max(D::ZERO)),
            ("retainer", _, Some(rem), _) => Some(rem),
            ("milestone", _, _, _) => Some((milestone_value - ms_billed).max(D::ZERO)),
            (_, _, _, Some((ce, before, run))) => Some((ce.limit - *before - *run).max(D::ZERO)),
            _ => None,
        };

        let mut summary = Map::new();
        summary.insert(
            "unbilled_approved".into(),
            Value::Array(
                buckets
                    .iter()
                    .map(|(b, e, h, a)| json!([b, e, n(*h), n(*a)]))
                    .collect(),
            ),
        );
        summary.insert(
            "held_by_reason".into(),
            Value::Object(
                by_reason
                    .iter()
                    .map(|(r, (c, a))| ((*r).to_owned(), json!([c, n(*a)])))
                    .collect(),
            ),
        );
        if let Some(b) = backlog {
            summary.insert("backlog".into(), json!(n(b)));
        }

        let projection = json!({
            // READING: "contract_version: the contract version in force at as_of" (schema),
            // "in force" as for a line's version: version_on(as_of), the latest version in force
            // on as_of whose effective date is on or before it.
            "contract_version": self.version_on(self.as_of),
            "lines": sorted(lines.iter().map(line_projection).collect()),
            "held": sorted(held.iter().map(held_projection).collect()),
            "adjustments": sorted(adjs.iter().map(|a| json!({
                "item_id": a.item, "date": fmt_date(a.date), "quantity": n(a.quantity),
                "rate_before": n(a.rate_before), "rate_after": n(a.rate_after), "amount": n(a.amount),
                "change_order_id": a.co, "contract_version": a.version, "rate_source": a.source,
            })).collect()),
            "ceiling": ceiling_status,
            "retainer": retainer_status,
            "totals": {
                "time": n(time), "expenses": n(expenses), "milestones": n(milestones),
                "adjustments": n(adj_total), "retainer_drawdown": n(drawdown), "total": n(total),
            },
            "summary": Value::Object(summary),
        });
        Computed {
            lines,
            adjustments: adjs,
            ceiling,
            projection,
            ledger: self.ledger,
            currency: cur,
        }
    }
}

fn line_projection(l: &Line) -> Value {
    let mut v = json!({
        "kind": l.kind, "id": l.id, "date": fmt_date(l.date), "quantity": n(l.quantity),
        "unit": l.unit, "unit_price": n(l.unit_price), "amount": n(l.amount),
        "ceiling_split": l.split, "contract_version": l.version, "rate_source": l.source,
    });
    if let Some(h) = l.billed_hours {
        v["billed_hours"] = json!(n(h));
    }
    if let Some(q) = l.billed_quantity {
        v["billed_quantity"] = json!(n(q));
    }
    v
}

fn held_projection(h: &Held) -> Value {
    let mut v = json!({"kind": h.kind, "id": h.id, "date": fmt_date(h.date), "reason": h.reason});
    if let Some(a) = h.amount {
        v["amount"] = json!(n(a));
    }
    if let Some(c) = &h.co {
        v["change_order_id"] = json!(c);
    }
    v
}

pub fn sorted(mut v: Vec<Value>) -> Value {
    v.sort_by_key(|x| x.to_string());
    Value::Array(v)
}

// ------------------------------------------------------------------------------------------------
// commit_invoice
// ------------------------------------------------------------------------------------------------

/// `commit_invoice`: the preview's lines and billed adjustments recorded in the ledger, every credit
/// written back completed (quantity, amount and ceiling share).
/// READING (the wire shape of a committed adjustment is not in the spec): an entry of kind `time`
/// with quantity 0 (the hours are already billed), the adjustment as its amount, the new rate as
/// its unit price, the version that re-priced it, and the role, resource and task it was re-priced
/// by; against the ceiling as the meter counted it (billing.md, the ceiling, step 2).
pub fn commit(req: &Value, invoice_id: &str) -> Result<Value, Refusal> {
    let dup = req
        .get("ledger")
        .map(|l| {
            garr(l, "entries")
                .iter()
                .any(|e| gs(e, "invoice_id") == Some(invoice_id))
        })
        .unwrap_or(false);
    let comp = match compute(req) {
        Ok(c) => c,
        Err(mut r) => {
            // READING: the order of the duplicate-invoice check and the run's own checks is not
            // stated; either code is accepted.
            if dup {
                r.codes.insert("LEDGER_DUPLICATE_INVOICE".to_owned());
            }
            return Err(r);
        }
    };
    if dup {
        return Err(Refusal::new("commit", ["LEDGER_DUPLICATE_INVOICE"]));
    }
    let cur = comp.currency.clone();
    let mut st = comp.ledger.clone();
    let has_ceiling = comp.ceiling.is_some();
    // billing.md, the ceiling, step 2: "one adjustment may be committed as two ledger entries of
    // quantity 0: the part against the ceiling with against_ceiling: true, the rest with false; a
    // part of zero is not written" (the part against is the meter's: all of an increase, of a
    // decrease what its item has against the ceiling; none without a ceiling).
    let parts = comp.adjustments.iter().flat_map(|a| {
        [(a, true, a.against), (a, false, a.amount - a.against)]
            .into_iter()
            .filter(|p| !p.2.is_zero())
    });
    for (a, against, amount) in parts {
        let mut e = json!({
            "against_ceiling": against,
            "amount": money(amount, &cur),
            "contract_version": a.version,
            "date": fmt_date(a.date),
            "invoice_id": invoice_id,
            "item_id": a.item,
            "kind": "time",
            "quantity": "0",
            "rate_source": a.source,
            "unit_price": {"amount": n(a.rate_after), "currency": cur},
        });
        for (k, v) in [
            ("role", &a.role),
            ("resource_id", &a.resource),
            ("task_id", &a.task),
        ] {
            if let Some(x) = v {
                e[k] = json!(x);
            }
        }
        add_entry(&mut st, read_entry(&e), e);
    }
    for l in &comp.lines {
        let mut e = json!({
            "against_ceiling": l.counts && has_ceiling,
            "amount": money(l.amount, &cur),
            "contract_version": l.version,
            "date": fmt_date(l.date),
            "invoice_id": invoice_id,
            "item_id": l.id,
            "kind": l.kind,
            "quantity": n(l.exact),
            "unit_price": {"amount": n(l.unit_price), "currency": cur},
        });
        if l.kind == "time" {
            e["rate_source"] = json!(l.source);
            for (k, v) in [
                ("role", &l.role),
                ("resource_id", &l.resource),
                ("task_id", &l.task),
            ] {
                if let Some(x) = v {
                    e[k] = json!(x);
                }
            }
        }
        add_entry(&mut st, read_entry(&e), e);
    }
    Ok(ledger_value(&st))
}

/// A ledger projected for comparison: entries as a multiset (decimals normalised), credits in
/// order.
pub fn ledger_projection(l: &Value) -> Value {
    let entries = garr(l, "entries")
        .into_iter()
        .map(|e| {
            let kind = gs(e, "kind").unwrap_or_default();
            let mut v = json!({
                "kind": kind,
                "item_id": gs(e, "item_id"),
                "invoice_id": gs(e, "invoice_id"),
                "date": gs(e, "date"),
                "quantity": n(gd(e, "quantity").unwrap_or_default()),
                "amount": n(gm(e, "amount").map(|m| m.0).unwrap_or_default()),
                "unit_price": n(gm(e, "unit_price").map(|m| m.0).unwrap_or_default()),
                "against_ceiling": gbool(e, "against_ceiling", false),
                "contract_version": e.get("contract_version"),
            });
            if kind == "time" {
                for k in ["role", "resource_id", "task_id", "rate_source"] {
                    v[k] = e.get(k).cloned().unwrap_or(Value::Null);
                }
            }
            v
        })
        .collect();
    let credits: Vec<Value> = garr(l, "credits")
        .into_iter()
        .map(|c| {
            json!({
                "credit_note_id": gs(c, "credit_note_id"),
                "kind": gs(c, "kind"),
                "item_id": gs(c, "item_id"),
                "quantity": gd(c, "quantity").map(n),
                "amount": gm(c, "amount").map(|m| n(m.0)),
                "ceiling_share": gm(c, "ceiling_share").map(|m| n(m.0)),
            })
        })
        .collect();
    json!({"contract_id": gs(l, "contract_id"), "entries": sorted(entries), "credits": credits})
}

// ------------------------------------------------------------------------------------------------
// The implementation's preview, projected the same way
// ------------------------------------------------------------------------------------------------

fn mn(v: &Value, k: &str) -> Value {
    match gm(v, k) {
        Some(m) => json!(n(m.0)),
        None => Value::Null,
    }
}

fn dn(v: &Value, k: &str) -> Value {
    match gd(v, k) {
        Some(x) => json!(n(x)),
        None => Value::Null,
    }
}

pub fn preview_projection(p: &Value) -> Value {
    let lines = garr(p, "lines")
        .into_iter()
        .map(|l| {
            let mut v = json!({
                "kind": gs(l, "kind"),
                "id": l.get("source_ids").and_then(|s| s.get(0)).cloned().unwrap_or(Value::Null),
                "date": gs(l, "date"),
                "quantity": dn(l, "quantity"),
                "unit": gs(l, "unit"),
                "unit_price": mn(l, "unit_price"),
                "amount": mn(l, "amount"),
                "ceiling_split": gbool(l, "ceiling_split", false),
                "contract_version": l.get("contract_version"),
                "rate_source": gs(l, "rate_source"),
            });
            for k in ["billed_hours", "billed_quantity"] {
                if gd(l, k).is_some() {
                    v[k] = dn(l, k);
                }
            }
            v
        })
        .collect();
    let held = garr(p, "held")
        .into_iter()
        .map(|h| {
            let mut v = json!({"kind": gs(h, "kind"), "id": gs(h, "id"), "date": gs(h, "date"), "reason": gs(h, "reason")});
            if gm(h, "amount").is_some() {
                v["amount"] = mn(h, "amount");
            }
            if let Some(c) = gs(h, "change_order_id") {
                v["change_order_id"] = json!(c);
            }
            v
        })
        .collect();
    let adjustments = garr(p, "adjustments")
        .into_iter()
        .map(|a| {
            json!({
                "item_id": gs(a, "item_id"), "date": gs(a, "date"), "quantity": dn(a, "quantity"),
                "rate_before": mn(a, "rate_before"), "rate_after": mn(a, "rate_after"), "amount": mn(a, "amount"),
                "change_order_id": gs(a, "change_order_id"), "contract_version": a.get("contract_version"),
                "rate_source": gs(a, "rate_source"),
            })
        })
        .collect();
    let ceiling = match p.get("ceiling").filter(|c| !c.is_null()) {
        None => Value::Null,
        Some(c) => json!({
            "limit": mn(c, "limit"), "billed_before": mn(c, "billed_before"), "this_run": mn(c, "this_run"),
            "remaining": mn(c, "remaining"), "utilisation_percent": dn(c, "utilisation_percent"),
            "scope": gs(c, "scope"),
        }),
    };
    let retainer = match p.get("retainer").filter(|c| !c.is_null()) {
        None => Value::Null,
        Some(r) => json!({
            "amount": mn(r, "amount"), "drawn_before": mn(r, "drawn_before"), "drawn_this_run": mn(r, "drawn_this_run"),
            "excess": mn(r, "excess"), "remaining": mn(r, "remaining"),
        }),
    };
    let t = p.get("totals").cloned().unwrap_or(Value::Null);
    let s = p.get("summary").cloned().unwrap_or(Value::Null);
    let mut summary = Map::new();
    summary.insert(
        "unbilled_approved".into(),
        Value::Array(
            garr(&s, "unbilled_approved")
                .into_iter()
                .map(|b| {
                    json!([
                        gs(b, "bucket"),
                        b.get("entries"),
                        dn(b, "hours"),
                        mn(b, "amount")
                    ])
                })
                .collect(),
        ),
    );
    summary.insert(
        "held_by_reason".into(),
        Value::Object(
            garr(&s, "held_by_reason")
                .into_iter()
                .map(|r| {
                    (
                        gs(r, "reason").unwrap_or_default().to_owned(),
                        json!([r.get("count"), mn(r, "amount")]),
                    )
                })
                .collect(),
        ),
    );
    if gm(&s, "backlog").is_some() {
        summary.insert("backlog".into(), mn(&s, "backlog"));
    }
    json!({
        "contract_version": p.get("contract_version"),
        "lines": sorted(lines),
        "held": sorted(held),
        "adjustments": sorted(adjustments),
        "ceiling": ceiling,
        "retainer": retainer,
        "totals": {
            "time": mn(&t, "time"), "expenses": mn(&t, "expenses"), "milestones": mn(&t, "milestones"),
            "adjustments": mn(&t, "adjustments"), "retainer_drawdown": mn(&t, "retainer_drawdown"), "total": mn(&t, "total"),
        },
        "summary": Value::Object(summary),
    })
}

/// Every amount a preview outputs (not prices: unit prices and rates) at the currency's scale.
pub fn amounts_off_scale(p: &Value, cur: &str) -> Vec<String> {
    fn walk(v: &Value, path: &str, cur: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let (Some(Value::String(a)), Some(Value::String(_))) =
                    (m.get("amount"), m.get("currency"))
                {
                    let last = path.rsplit('/').next().unwrap_or_default();
                    let price =
                        matches!(last, "unit_price" | "rate_before" | "rate_after" | "rate");
                    if !price && !at_scale(dec(a), cur) {
                        out.push(format!("{path} = {a}"));
                    }
                    return;
                }
                for (k, x) in m {
                    walk(x, &format!("{path}/{k}"), cur, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{path}/{i}"), cur, out);
                }
            }
            _ => {}
        }
    }
    let mut out = vec![];
    walk(p, "", cur, &mut out);
    out
}
