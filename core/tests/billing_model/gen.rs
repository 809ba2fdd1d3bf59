//! Random billing runs as JSON, from a byte string.
//!
//! Every choice reads one byte; a missing byte reads 0, and 0 always picks the simplest option
//! (the first of a list, "no" for every rare feature), so proptest's shrinking (shorter strings,
//! smaller bytes) walks towards a small, valid request. Rare features (invalid inputs) sit on high
//! byte values.

use serde_json::{Value, json};

use crate::model::{D, dec, minor_units};

pub struct Src<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Src<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Src { b, i: 0 }
    }
    pub fn byte(&mut self) -> u8 {
        let v = self.b.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        v
    }
    /// 0..n
    pub fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n.max(1)
    }
    pub fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        let i = self.below(xs.len());
        xs[i].clone()
    }
    /// True with about `pct` percent (a high byte): 0 reads false.
    pub fn chance(&mut self, pct: u32) -> bool {
        let b = self.byte() as u32;
        b >= 256 - (pct * 256 / 100).min(256)
    }
}

pub struct Gen<'a> {
    pub s: Src<'a>,
    pub cur: &'static str,
    /// Invalid inputs on (a per-request switch, so that most requests are valid and priced).
    pub wild: bool,
    /// How many more invalid inputs this request may get (most get one, so that the refusal
    /// compared is the one problem; some get several, for the order of the checks).
    pub budget: u32,
    /// A retroactive change order whose rate changes change no dated rate was made: the ledger
    /// then bills time without a role that the run cannot complete (TE-0, version 0).
    pub roleless: bool,
    /// A change order adds a ceiling and a retroactive one lowers the Consultant's rate: the
    /// ledger then bills Consultant time, often partly against the ceiling (TE-0).
    pub ceiling_added: bool,
}

impl Gen<'_> {
    /// An amount in the contract currency at its scale, from a decimal string.
    pub fn amt(&self, x: &str) -> String {
        let mut d = dec(x);
        d.rescale(minor_units(self.cur));
        d.to_string()
    }
    pub fn money(&self, x: &str) -> Value {
        json!({"amount": self.amt(x), "currency": self.cur})
    }
    pub fn pick_money(&mut self, xs: &[&str]) -> Value {
        let x = self.s.pick(xs);
        self.money(x)
    }
    /// An amount with one decimal more than the currency allows.
    pub fn off_scale(&self, x: &str) -> Value {
        let mut d = dec(x);
        d.rescale(minor_units(self.cur) + 1);
        let s = format!("{}5", &d.to_string()[..d.to_string().len() - 1]);
        json!({"amount": s, "currency": self.cur})
    }
    fn other_cur(&self) -> &'static str {
        if self.cur == "EUR" { "USD" } else { "EUR" }
    }
    fn rare(&mut self, pct: u32) -> bool {
        let c = self.s.chance(pct);
        if self.wild && c && self.budget > 0 {
            self.budget -= 1;
            true
        } else {
            false
        }
    }
}

pub const CONTRACT: &str = "C-1";

/// Features the generator leaves out, from `BILLWISE_GEN_OFF` (a comma-separated list of `wild`,
/// `ceilnone`, `retro`, `partial`, `credits`, `shareabove` (no ceiling share given with a credit
/// and no decrease recorded apart from the ceiling, so that no item has more against the ceiling
/// than it bills net and no share is above its credit's amount)): a knob for surveys that isolate one kind of
/// disagreement at a time. Unset in the tests.
#[allow(clippy::disallowed_methods)]
pub fn off(feature: &str) -> bool {
    static OFF: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    OFF.get_or_init(|| {
        std::env::var("BILLWISE_GEN_OFF")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect()
    })
    .iter()
    .any(|f| f == feature)
}

pub fn date(m: u32, d: u32) -> String {
    format!("2026-{m:02}-{d:02}")
}

/// A billing run request.
pub fn request(bytes: &[u8]) -> Value {
    let mut s = Src::new(bytes);
    let cur = s.pick(&["USD", "USD", "USD", "USD", "USD", "JPY", "KWD", "EUR"]);
    let wild = s.chance(25) && !off("wild");
    let mut g = Gen {
        s,
        cur,
        wild,
        budget: 1,
        roleless: false,
        ceiling_added: false,
    };
    if g.s.chance(30) {
        g.budget = 3;
    }
    let model = g.s.pick(&[
        "time_and_materials",
        "time_and_materials",
        "retainer",
        "milestone",
        "fixed_fee",
    ]);
    let contract = contract(&mut g, model);
    let projects = projects(&mut g);
    let time_entries = time_entries(&mut g);
    let expenses = expenses(&mut g);
    let period = match g.s.below(4) {
        0 | 1 => json!({"start": date(3, 1), "end": date(3, 31)}),
        2 => json!({"start": date(2, 1), "end": date(3, 31)}),
        _ => json!({"start": date(3, 1), "end": date(3, 15)}),
    };
    let period = if g.rare(4) {
        json!({"start": date(3, 31), "end": date(3, 1)})
    } else {
        period
    };
    let as_of = g.s.pick(&[
        date(4, 2),
        date(4, 2),
        date(3, 18),
        date(6, 30),
        date(3, 12),
        date(5, 10),
    ]);
    let change_orders = change_orders(&mut g, &contract);
    let mut contract = contract;
    // The contract may list the change orders applied to it: the first ones in sequence (or, as
    // an invalid input, others).
    if g.s.chance(15) {
        let mut applied: Vec<&Value> = change_orders
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|c| c["status"] == "approved" || c["status"] == "applied")
                    .collect()
            })
            .unwrap_or_default();
        applied.sort_by_key(|c| c["sequence"].as_u64());
        // Only the ones in sequence from 1 (none after one that waits): whether a contract may
        // list as applied a change order that waits is not a question the spec answers.
        let in_sequence = applied
            .iter()
            .enumerate()
            .take_while(|(k, c)| c["sequence"].as_u64() == Some(*k as u64 + 1))
            .count();
        applied.truncate(in_sequence);
        let m = g.s.below(applied.len() + 1);
        let mut ids: Vec<Value> = applied.iter().take(m).map(|c| c["id"].clone()).collect();
        if g.rare(40) {
            ids = vec![json!("CO-X")];
        }
        contract["change_orders"] = Value::Array(ids);
    }
    let mut req = json!({
        "contract": contract,
        "projects": projects,
        "time_entries": time_entries,
        "expenses": expenses,
        "period": period,
        "as_of": as_of,
        "change_orders": change_orders,
    });
    // Milestones in the request (from the PSA) override the contract's: absent, [] or a list.
    match g.s.below(6) {
        4 => req["milestones"] = json!([]),
        5 => {
            let mut ms: Vec<Value> = req["contract"]["milestones"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for m in &mut ms {
                m["status"] = json!(g.s.pick(&["accepted", "accepted", "completed", "billed"]));
            }
            if g.s.chance(30) {
                ms.push(json!({"id": "MS-X", "name": "Extra", "amount": g.money("700"), "due_date": date(3, 30), "status": "accepted"}));
            }
            if g.rare(10) {
                ms.push(json!({"id": "MS-Y", "name": "Bad", "amount": g.money("700"), "percent": "10", "due_date": date(3, 30), "status": "accepted"}));
            }
            req["milestones"] = Value::Array(ms);
        }
        _ => {}
    }
    if g.s.chance(10) {
        req["options"] = json!({"billable_project_statuses": ["active", "completed", "on_hold"]});
    }
    // A run that holds invalid items (the generator's rare invalid entries, expenses and
    // milestones are then held, not refused).
    if g.s.chance(20) {
        req["options"]["hold_invalid_items"] = json!(true);
    }
    if g.s.below(2) == 1 || g.roleless || g.ceiling_added {
        let l = ledger(&mut g, &req);
        req["ledger"] = l;
    }
    req
}

fn contract(g: &mut Gen, model: &str) -> Value {
    let cur = g.cur;
    let end =
        g.s.pick(&[date(12, 31), date(12, 31), date(3, 20), date(6, 30)]);
    let rate = |g: &Gen, x: &str| json!({"amount": x, "currency": g.cur});
    let mut entries = vec![];
    let consultant = g.s.pick(&["150.00", "142.857", "99.99", "150.00"]);
    let stepped = g.s.chance(30);
    if stepped {
        entries.push(json!({"role": "Consultant", "rate": rate(g, consultant), "effective_from": date(1, 1), "effective_to": date(3, 15)}));
        entries.push(
            json!({"role": "Consultant", "rate": rate(g, "160.00"), "effective_from": date(3, 16)}),
        );
    } else {
        entries.push(json!({"role": "Consultant", "rate": rate(g, consultant), "effective_from": date(1, 1)}));
    }
    entries
        .push(json!({"role": "Senior", "rate": rate(g, "200.00"), "effective_from": date(1, 1)}));
    if g.s.chance(40) {
        entries.push(json!({"role": "Consultant", "task_id": "T-2", "rate": rate(g, "170.00"), "effective_from": date(1, 1)}));
    }
    if g.s.chance(40) {
        let r = g.s.pick(&["1200.00", "999.99"]);
        entries.push(json!({"resource_id": "R-2", "rate": rate(g, r), "unit": "day", "effective_from": date(2, 1)}));
    }
    if g.s.chance(25) {
        entries.push(json!({"resource_id": "R-1", "task_id": "T-2", "rate": rate(g, "190.00"), "effective_from": date(1, 1), "effective_to": date(3, 31)}));
    }
    if !stepped && g.s.chance(20) {
        entries.push(json!({"role": "Consultant", "rate": rate(g, "140.00"), "effective_from": date(3, 10), "effective_to": date(3, 20)}));
    }
    let mut card = json!({"entries": entries});
    match g.s.below(4) {
        1 => card["hours_per_day"] = json!("8"),
        2 => card["hours_per_day"] = json!("7.5"),
        _ => {}
    }
    let mut c = json!({
        "schema_version": 1, "kind": "contract", "id": CONTRACT, "account_id": "A-1",
        "legal_entity": "US01", "currency": cur, "billing_model": model, "status": "active",
        "start_date": date(1, 1), "end_date": end, "rate_card": card,
        "expense_policy": {"billable_categories": ["travel", "lodging"], "markup_percent": g.s.pick(&["10", "0", "5", "12.5"])},
    });
    let mut rounding = serde_json::Map::new();
    match g.s.below(3) {
        1 => {
            rounding.insert("mode".into(), json!("half_up"));
        }
        2 => {
            rounding.insert("mode".into(), json!("half_even"));
        }
        _ => {}
    }
    if g.s.chance(30) {
        rounding.insert(
            "time_increment".into(),
            json!(g.s.pick(&["0.25", "0.5", "0.1"])),
        );
        match g.s.below(4) {
            1 => {
                rounding.insert("time_rounding".into(), json!("up"));
            }
            2 => {
                rounding.insert("time_rounding".into(), json!("down"));
            }
            3 => {
                rounding.insert("time_rounding".into(), json!("nearest"));
            }
            _ => {}
        }
    }
    if !rounding.is_empty() {
        c["rounding"] = Value::Object(rounding);
    }
    if g.s.chance(45) {
        let limit = g.s.pick(&["2500", "1250", "5000", "1000", "10000", "1500"]);
        let mut ce = json!({"amount": g.money(limit)});
        match g.s.below(3) {
            1 => ce["scope"] = json!("fees"),
            2 => ce["scope"] = json!("fees_and_expenses"),
            _ => {}
        }
        match g.s.below(3) {
            1 => ce["mode"] = json!("split"),
            2 => ce["mode"] = json!("hold_whole"),
            _ => {}
        }
        c["ceiling"] = ce;
    }
    match model {
        "retainer" => {
            c["retainer"] = json!({"amount": g.pick_money(&["2000", "5000", "1000", "700"])})
        }
        "fixed_fee" => {
            c["fixed_fee"] = g.money("10000");
            let st = |g: &mut Gen| {
                g.s.pick(&["accepted", "accepted", "completed", "pending", "billed"])
            };
            c["milestones"] = json!([
                {"id": "MS-1", "name": "Design", "percent": "20", "due_date": date(3, 5), "status": st(g)},
                {"id": "MS-2", "name": "Build", "percent": g.s.pick(&["30", "33.333"]), "due_date": date(3, 25), "status": st(g)},
                {"id": "MS-3", "name": "Run", "amount": g.money("1000"), "due_date": date(6, 30), "status": st(g)},
            ]);
        }
        "milestone" => {
            let st = |g: &mut Gen| {
                g.s.pick(&["accepted", "accepted", "completed", "pending", "billed"])
            };
            c["milestones"] = json!([
                {"id": "MS-1", "name": "Design", "amount": g.money("2500"), "due_date": date(3, 5), "status": st(g)},
                {"id": "MS-2", "name": "Build", "amount": g.pick_money(&["1000", "333.33"]), "due_date": date(3, 25), "status": st(g)},
            ]);
        }
        _ => {}
    }
    if g.rare(30) {
        // One invalid term (stage 1).
        let e = c["rate_card"]["entries"].as_array_mut().unwrap();
        match g.s.below(10) {
            0 => e[0]["resource_id"] = json!("R-1"),
            1 => e[1]["rate"]["amount"] = json!(g.s.pick(&["0", "-5.00"])),
            2 => e[1]["rate"]["currency"] = json!(g.other_cur()),
            3 => e.push(json!({"role": "Senior", "rate": rate(g, "210.00"), "effective_from": date(3, 1), "effective_to": date(2, 1)})),
            4 => e.push(json!({"role": "Senior", "rate": rate(g, "210.00"), "effective_from": date(1, 1)})),
            5 => e.push(json!({"role": "Senior", "rate": rate(g, "210.00"), "effective_from": date(2, 1), "effective_to": date(12, 31)})),
            6 => c["rate_card"]["hours_per_day"] = json!(g.s.pick(&["0", "25"])),
            7 => c["rounding"] = json!({"time_increment": g.s.pick(&["0", "25"])}),
            8 => c["ceiling"] = json!({"amount": g.off_scale("1000")}),
            _ => e.push(json!({"rate": rate(g, "210.00"), "effective_from": date(1, 1)})),
        }
    }
    c
}

fn projects(g: &mut Gen) -> Value {
    let tasks = if g.s.chance(15) {
        json!([])
    } else {
        json!([
            {"id": "T-1", "name": "Delivery"},
            {"id": "T-2", "name": "Build"},
            {"id": "T-NB", "name": "Internal", "billable": false},
        ])
    };
    let mut ps = vec![json!({
        "schema_version": 1, "kind": "project", "id": "P-1", "contract_id": CONTRACT,
        "legal_entity": "US01", "status": g.s.pick(&["active", "active", "active", "completed", "on_hold"]), "tasks": tasks,
    })];
    if g.s.chance(40) {
        ps.push(json!({
            "schema_version": 1, "kind": "project", "id": "P-2",
            "contract_id": g.s.pick(&[CONTRACT, CONTRACT, "C-9"]),
            "legal_entity": g.s.pick(&["US01", "UK01"]),
            "status": g.s.pick(&["active", "on_hold", "planned", "completed", "closed"]),
        }));
    }
    if g.rare(8) {
        match g.s.below(3) {
            0 => ps.push(json!({"schema_version": 1, "id": "P-1", "contract_id": CONTRACT, "legal_entity": "US01", "status": "active"})),
            1 => ps[0]["tasks"] = json!([{"id": "T-1", "name": "Delivery"}, {"id": "T-1", "name": "Again"}]),
            _ => ps[0]["tasks"] = json!([{"id": "T-1", "name": ""}]),
        }
    }
    Value::Array(ps)
}

const DATES: [(u32, u32); 10] = [
    (3, 2),
    (3, 5),
    (3, 10),
    (3, 16),
    (3, 20),
    (3, 25),
    (2, 20),
    (4, 3),
    (3, 2),
    (1, 15),
];
const HOURS: [&str; 11] = [
    "8", "7.5", "6", "0.2", "1.25", "7.1", "0.3", "3.333", "25", "0", "4",
];

fn time_entries(g: &mut Gen) -> Value {
    let n = g.s.below(5);
    let mut out = vec![];
    for i in 1..=n {
        let (m, d) = g.s.pick(&DATES);
        let mut t = json!({
            "id": format!("TE-{i}"),
            "project_id": g.s.pick(&["P-1", "P-1", "P-1", "P-1", "P-2", "P-9"]),
            "task_id": g.s.pick(&["T-1", "T-1", "T-2", "T-NB", "T-X"]),
            "resource_id": g.s.pick(&["R-1", "R-2", "R-3"]),
            "role": g.s.pick(&["Consultant", "Consultant", "Senior", "Astronaut"]),
            "work_date": date(m, d),
            "hours": g.s.pick(&HOURS),
            "status": g.s.pick(&["approved", "approved", "approved", "approved", "submitted", "billed", "draft"]),
        });
        if g.s.chance(10) {
            t["billable"] = json!(false);
        }
        if g.s.chance(12) {
            t["rate_override"] = match g.s.below(3) {
                0 => json!({"amount": "175.00", "currency": g.cur}),
                1 => json!({"amount": "150.00", "currency": g.other_cur()}),
                _ => json!({"amount": "87.5", "currency": g.cur}),
            };
        }
        if g.rare(8) {
            match g.s.below(3) {
                0 => t["hours"] = json!("-2"),
                1 => t["id"] = json!("TE-1"),
                _ => t["rate_override"] = json!({"amount": "0", "currency": g.cur}),
            }
        }
        out.push(t);
    }
    Value::Array(out)
}

fn expenses(g: &mut Gen) -> Value {
    let n = g.s.below(3);
    let mut out = vec![];
    for i in 1..=n {
        let (m, d) = g.s.pick(&DATES);
        let mut x = json!({
            "id": format!("EX-{i}"),
            "project_id": g.s.pick(&["P-1", "P-1", "P-1", "P-2"]),
            "date": date(m, d),
            "category": g.s.pick(&["travel", "travel", "lodging", "meals"]),
            "status": g.s.pick(&["approved", "approved", "approved", "submitted", "billed"]),
        });
        match g.s.below(6) {
            0 | 1 => x["amount"] = g.money("100"),
            2 => {
                x["amount"] = json!({"amount": "189.00", "currency": "CAD"});
                x["fx_rate"] = json!("0.7321");
            }
            3 => x["amount"] = json!({"amount": "189.00", "currency": "CAD"}),
            4 => {
                x["amount"] = g.money("50");
                x["fx_rate"] = json!("1");
            }
            _ => x["amount"] = g.money("1000"),
        }
        if g.s.chance(8) {
            x["billable"] = json!(false);
        }
        if g.rare(10) {
            match g.s.below(4) {
                0 => x["fx_rate"] = json!("0"),
                1 => {
                    x["amount"] = g.money("100");
                    x["fx_rate"] = json!("1.1");
                }
                2 => x["amount"] = g.off_scale("100"),
                _ => x["amount"] = g.money("-100"),
            }
        }
        out.push(x);
    }
    Value::Array(out)
}

fn change_orders(g: &mut Gen, contract: &Value) -> Value {
    let n = g.s.below(4);
    let approvals = [
        date(3, 5),
        date(3, 15),
        date(3, 22),
        date(4, 1),
        date(4, 20),
        date(7, 1),
    ];
    let mut ai = g.s.below(3);
    let mut out = vec![];
    let has_ceiling = contract.get("ceiling").is_some();
    let has_milestones = contract.get("milestones").is_some();
    let has_r2 = contract["rate_card"]["entries"]
        .as_array()
        .is_some_and(|e| e.iter().any(|x| x["resource_id"] == "R-2"));
    let has_ff = contract.get("fixed_fee").is_some();
    // A draft or submitted change order makes the approved ones after it wait (not in force, no
    // refusal); a rejected or withdrawn one leaves a gap, and an approved one after it is refused
    // (rarely generated, with the invalid inputs).
    let mut gap = false;
    for i in 1..=n {
        let mut status = g.s.pick(&[
            "approved",
            "approved",
            "approved",
            "approved",
            "applied",
            "draft",
            "submitted",
            "withdrawn",
            "rejected",
        ]);
        if gap && (status == "approved" || status == "applied") && !g.rare(30) {
            status = g.s.pick(&["draft", "submitted", "withdrawn", "rejected"]);
        }
        gap |= status == "withdrawn" || status == "rejected";
        let eff = g.s.pick(&[
            date(3, 1),
            date(2, 1),
            date(3, 10),
            date(3, 20),
            date(4, 15),
            date(3, 3),
        ]);
        // Approval dates go forward (or stay), and often back: approvals may arrive in any order.
        if g.s.chance(25) {
            ai = ai.saturating_sub(1 + g.s.below(3));
        } else {
            ai = (ai + g.s.below(2)).min(approvals.len() - 1);
        }
        let mut changes = vec![];
        let k = 1 + g.s.below(2);
        for _ in 0..k {
            changes.push(change(g, has_ceiling, has_milestones, has_r2, has_ff, i));
        }
        let mut co = json!({
            "schema_version": 1, "kind": "change_order", "id": format!("CO-{i}"), "contract_id": CONTRACT,
            "sequence": i, "status": status, "effective_date": eff, "retroactive": g.s.chance(50) && !off("retro"),
            "changes": changes,
        });
        if status != "draft" && status != "submitted" {
            co["approved_on"] = json!(approvals[ai]);
        }
        if g.rare(12) {
            match g.s.below(8) {
                7 => {
                    co["changes"][0] = json!({"type": "set_ceiling", "amount": g.off_scale("1300")})
                }
                0 => co["contract_id"] = json!("C-9"),
                1 => co["sequence"] = json!(i.saturating_sub(1).max(1)),
                2 => co["sequence"] = json!(i + 1),
                3 => {
                    co["changes"][0] =
                        json!({"type": "set_rate", "role": "Astronaut", "rate": g.money("100")})
                }
                4 => {
                    co["changes"][0] =
                        json!({"type": "set_rate", "role": "Consultant", "rate": g.money("-1")})
                }
                5 => {
                    co["changes"][0] = json!({"type": "set_rate", "role": "Consultant", "rate": {"amount": "165.00", "currency": g.other_cur()}})
                }
                _ => co["changes"][0] = json!({"type": "set_end_date", "end_date": "2025-06-01"}),
            }
        }
        out.push(co);
    }
    let approved = |c: &Value| c["status"] == "approved" || c["status"] == "applied";
    // A ceiling added by a change order after time was billed outside any ceiling, and a
    // retroactive decrease of that time's rate (in either order): the decrease frees room only up
    // to what the item has billed against the ceiling, and is committed in two parts (billing.md,
    // the ceiling, step 2).
    if !has_ceiling && !off("ceilnone") && !off("retro") && g.s.chance(25) {
        let limit = g.s.pick(&["3000", "20000", "5000", "1300"]);
        let ceiling = json!({"type": "set_ceiling", "amount": g.money(limit)});
        let rate = g.s.pick(&["142.5", "120", "142.5"]);
        let decrease = json!({"type": "set_rate", "role": "Consultant", "rate": g.money(rate)});
        let eff = g.s.pick(&[date(2, 1), date(2, 1), date(3, 1)]);
        let mut changes = [vec![ceiling], vec![decrease]];
        if g.s.chance(25) {
            changes.reverse();
        }
        out = changes
            .into_iter()
            .enumerate()
            .map(|(k, ch)| {
                json!({
                    "schema_version": 1, "kind": "change_order", "id": format!("CO-{}", k + 1), "contract_id": CONTRACT,
                    "sequence": k + 1, "status": "approved", "effective_date": eff,
                    "approved_on": g.s.pick(&[date(3, 5), date(3, 5), date(3, 15)]),
                    "retroactive": ch[0]["type"] == "set_rate" || g.s.chance(50),
                    "changes": ch,
                })
            })
            .collect();
        g.ceiling_added = true;
    }
    // A retroactive change order whose rate change changes no dated rate (an `end_rate` of a key
    // with no rate from its date on): it looks at no billed item, so a ledger entry without a role
    // is not refused (billing.md, retroactive change orders).
    if !off("retro") && g.s.chance(15) {
        let entries = contract["rate_card"]["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let has = |role: Option<&str>, res: Option<&str>, task: Option<&str>| {
            entries.iter().any(|e| {
                e["role"].as_str() == role
                    && e["resource_id"].as_str() == res
                    && e["task_id"].as_str() == task
            })
        };
        let mut keys = vec![(
            json!({"type": "end_rate", "role": "Senior", "task_id": "T-1"}),
            date(3, 1),
        )];
        if !has(Some("Consultant"), None, Some("T-2")) {
            keys.push((
                json!({"type": "end_rate", "role": "Consultant", "task_id": "T-2"}),
                date(2, 1),
            ));
        }
        if has(None, Some("R-1"), Some("T-2")) {
            keys.push((
                json!({"type": "end_rate", "resource_id": "R-1"}),
                date(3, 1),
            ));
            keys.push((
                json!({"type": "end_rate", "resource_id": "R-1", "task_id": "T-2"}),
                date(4, 15),
            ));
        }
        if has(None, Some("R-2"), None) {
            keys.push((
                json!({"type": "end_rate", "resource_id": "R-2", "task_id": "T-1"}),
                date(3, 1),
            ));
        }
        let (change, eff) = g.s.pick(&keys);
        let mut changes = vec![change];
        if g.s.chance(40) {
            changes.push(json!({"type": "set_expense_markup", "markup_percent": "15"}));
        }
        // After the others when they are all in the history in sequence; alone otherwise.
        if !out.iter().all(approved) {
            out.clear();
        }
        let seq = out.len() + 1;
        out.push(json!({
            "schema_version": 1, "kind": "change_order", "id": format!("CO-{seq}"), "contract_id": CONTRACT,
            "sequence": seq, "status": "approved", "effective_date": eff, "approved_on": date(3, 5),
            "retroactive": true, "changes": changes,
        }));
        g.roleless = true;
    }
    Value::Array(out)
}

fn change(
    g: &mut Gen,
    has_ceiling: bool,
    has_milestones: bool,
    has_r2: bool,
    has_ff: bool,
    i: usize,
) -> Value {
    match g.s.below(12) {
        0 | 1 => {
            json!({"type": "set_rate", "role": "Consultant", "rate": g.pick_money(&["165", "150", "142.5"])})
        }
        2 => json!({"type": "set_rate", "role": "Senior", "rate": g.money("210")}),
        3 => json!({"type": "set_rate", "resource_id": "R-1", "rate": g.money("180")}),
        4 => {
            json!({"type": "set_rate", "role": "Consultant", "task_id": "T-2", "rate": g.money("175")})
        }
        5 => {
            json!({"type": "set_rate", "resource_id": "R-2", "unit": "day", "rate": g.money("1300")})
        }
        6 => match g.s.below(4) {
            0 => json!({"type": "end_rate", "role": "Consultant"}),
            1 => json!({"type": "end_rate", "role": "Consultant", "task_id": "T-2"}),
            2 if g.wild || has_r2 => json!({"type": "end_rate", "resource_id": "R-2"}),
            _ => json!({"type": "end_rate", "role": "Senior"}),
        },
        7 if has_ceiling || !off("ceilnone") => {
            json!({"type": "set_ceiling", "amount": g.pick_money(&["3000", "1300", "500", "20000"])})
        }
        8 if has_ceiling => {
            json!({"type": "adjust_ceiling", "delta": g.pick_money(&["500", "-300", "1000"])})
        }
        8 if !off("ceilnone") => json!({"type": "set_ceiling", "amount": g.money("2000")}),
        7 | 8 => json!({"type": "set_expense_markup", "markup_percent": "15"}),
        9 => json!({"type": "set_expense_markup", "markup_percent": g.s.pick(&["5", "20"])}),
        10 => {
            json!({"type": "set_end_date", "end_date": g.s.pick(&[date(3, 15), date(12, 31), date(3, 31)])})
        }
        // A percent milestone: on a contract with a fixed fee, or (an invalid input) without one
        // (CONTRACT_MODEL_TERMS when applied).
        11 if (has_ff && g.s.chance(40)) || (!has_ff && g.rare(15)) => {
            json!({"type": "add_milestone", "milestone": {"id": format!("MS-7{i}"), "name": "Share", "percent": "10", "due_date": date(3, 14), "status": "accepted"}})
        }
        _ if !has_milestones && !g.wild => {
            json!({"type": "add_milestone", "milestone": {"id": format!("MS-8{i}"), "name": "Extra", "amount": g.money("800"), "due_date": date(3, 12), "status": "accepted"}})
        }
        _ => match g.s.below(3) {
            0 => {
                json!({"type": "add_milestone", "milestone": {"id": format!("MS-9{i}"), "name": "Extra", "amount": g.money("1500"), "due_date": date(3, 28), "status": "accepted"}})
            }
            1 => json!({"type": "remove_milestone", "milestone_id": "MS-2"}),
            _ => json!({"type": "remove_milestone", "milestone_id": "MS-1"}),
        },
    }
}

fn ledger(g: &mut Gen, req: &Value) -> Value {
    let cur = g.cur;
    let has_ceiling = req["contract"].get("ceiling").is_some();
    let mut entries = vec![];
    let mut entry = |g: &mut Gen,
                     kind: &str,
                     id: &str,
                     date: &str,
                     q: &str,
                     price: &str,
                     extra: Value| {
        let qd = dec(q);
        let pd = dec(price);
        let mut amount = qd * pd;
        amount = amount.round_dp(minor_units(cur));
        if g.s.chance(10) {
            // imported: a cent off
            amount -= D::new(1, minor_units(cur));
        }
        let mut e = json!({
            "invoice_id": g.s.pick(&["INV-0", "INV-0", "INV-A"]), "kind": kind, "item_id": id, "date": date,
            "quantity": q, "unit_price": {"amount": price, "currency": cur},
            "amount": {"amount": g.amt(&amount.to_string()), "currency": cur},
            "contract_version": g.s.pick(&[0, 0, 0, 1, 2]),
            "against_ceiling": if has_ceiling { !g.s.chance(15) } else { g.s.chance(5) },
        });
        if let Value::Object(m) = extra {
            for (k, v) in m {
                e[k] = v;
            }
        }
        entries.push(e);
    };
    if g.s.chance(50) || g.roleless || g.ceiling_added {
        let big = g.s.pick(&["6", "8", "10", "40", "60"]);
        let with_role = (g.s.chance(60) || g.ceiling_added) && !g.roleless;
        let mut extra = if with_role {
            json!({"role": "Consultant", "resource_id": "R-1", "task_id": "T-1", "rate_source": "rate_card:role=Consultant@2026-01-01"})
        } else {
            json!({})
        };
        if g.roleless {
            extra["contract_version"] = json!(0);
        }
        if g.s.chance(if g.ceiling_added { 70 } else { 35 }) {
            // Two bills of the item on either side of the ceiling (a ceiling added after the
            // first bill): credits then give back room only in proportion.
            let mut first = extra.clone();
            first["against_ceiling"] = json!(false);
            entry(g, "time", "TE-0", &date(2, 10), big, "150.00", first);
            let mut second = extra;
            second["against_ceiling"] = json!(true);
            entry(g, "time", "TE-0", &date(2, 10), "3", "150.00", second);
        } else {
            entry(g, "time", "TE-0", &date(2, 10), big, "150.00", extra);
        }
    }
    let tes: Vec<Value> = req["time_entries"].as_array().cloned().unwrap_or_default();
    for t in &tes {
        if !g.s.chance(45) {
            continue;
        }
        // A bill of the hours delivered (never of negative hours: whether a ledger entry may bill
        // a negative quantity is not a question the spec answers).
        let hours = t["hours"]
            .as_str()
            .filter(|h| !h.starts_with('-'))
            .unwrap_or("8");
        let q = g.s.pick(&[hours, hours, "4", "2.5"]);
        let override_rate = t.get("rate_override").and_then(|o| o["amount"].as_str());
        let price = match override_rate {
            Some(p) => p.to_owned(),
            None => {
                g.s.pick(&["150.00", "200.00", "160.00", "1200.00"])
                    .to_owned()
            }
        };
        let mut extra = json!({"rate_source": if override_rate.is_some() { "rate_override".to_owned() } else { format!("rate_card:role={}@2026-01-01", t["role"].as_str().unwrap_or("Consultant")) }});
        match g.s.below(5) {
            4 => {}
            3 => {
                extra["role"] = t["role"].clone();
            }
            _ => {
                extra["role"] = t["role"].clone();
                extra["resource_id"] = t["resource_id"].clone();
                extra["task_id"] = t["task_id"].clone();
            }
        }
        let id = t["id"].as_str().unwrap_or("TE-1").to_owned();
        let d = t["work_date"].as_str().unwrap_or("2026-03-02").to_owned();
        entry(g, "time", &id, &d, q, &price, extra);
    }
    // A billed entry of a time entry the run does not list (retroactive re-pricing reads the
    // ledger).
    if g.s.chance(25) {
        let extra = json!({"role": g.s.pick(&["Consultant", "Senior"]), "resource_id": "R-1", "task_id": g.s.pick(&["T-1", "T-2"]), "rate_source": "rate_card:role=Consultant@2026-01-01"});
        entry(g, "time", "TE-OLD", &date(3, 4), "5", "150.00", extra);
    }
    let xs: Vec<Value> = req["expenses"].as_array().cloned().unwrap_or_default();
    for x in &xs {
        if !g.s.chance(35) {
            continue;
        }
        let q = g.s.pick(&["1", "1", "0.5"]);
        let q = if off("partial") { "1" } else { q };
        let id = x["id"].as_str().unwrap_or("EX-1").to_owned();
        let d = x["date"].as_str().unwrap_or("2026-03-02").to_owned();
        let price = g.s.pick(&["110.00", "100.00"]);
        entry(g, "expense", &id, &d, q, price, json!({}));
    }
    let ms: Vec<Value> = req["contract"]["milestones"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for m in &ms {
        if !g.s.chance(30) {
            continue;
        }
        let id = m["id"].as_str().unwrap_or("MS-1").to_owned();
        let d = m["due_date"].as_str().unwrap_or("2026-03-05").to_owned();
        let price = m
            .get("amount")
            .and_then(|a| a["amount"].as_str())
            .unwrap_or("2000.00")
            .to_owned();
        let q = g.s.pick(&["1", "1", "0.5"]);
        let q = if off("partial") { "1" } else { q };
        entry(g, "milestone", &id, &d, q, &price, json!({}));
    }
    // An adjustment an earlier commit recorded for a time item (quantity 0, an amount of either
    // sign), against the ceiling or not: as a ledger committed before decreases were split may
    // hold, one against the ceiling on work billed outside it leaves the item below zero against
    // the ceiling (a decrease of it then frees none, a credit of it gives back none).
    if g.s.chance(20) {
        let times: Vec<Value> = entries
            .iter()
            .filter(|e| e["kind"] == "time")
            .cloned()
            .collect();
        if !times.is_empty() {
            let e = times[g.s.below(times.len())].clone();
            let a = dec(e["amount"]["amount"].as_str().unwrap_or("0"));
            let part = g.s.pick(&[-0.5f64, -0.1, 0.1]);
            let part = D::try_from(part).unwrap_or_default();
            let mut adj = e.clone();
            adj["quantity"] = json!("0");
            adj["amount"] = json!({"amount": g.amt(&(a * part).round_dp(minor_units(cur)).to_string()), "currency": cur});
            adj["contract_version"] = json!(g.s.pick(&[1, 1, 2]));
            adj["invoice_id"] = json!("INV-ADJ");
            adj["against_ceiling"] = json!(g.s.chance(60) || off("shareabove"));
            entries.push(adj);
        }
    }
    let mut credits = vec![];
    let nc = if off("credits") { 0 } else { g.s.below(3) };
    for i in 0..nc {
        if entries.is_empty() {
            break;
        }
        // Credits of TE-0 (billed partly against the ceiling when it has two bills) are frequent.
        let e = match entries.iter().find(|e| e["item_id"] == "TE-0") {
            Some(e) if g.s.chance(40) => e.clone(),
            _ => entries[g.s.below(entries.len())].clone(),
        };
        if off("partial") && e["kind"] != "time" {
            continue;
        }
        let mut c = json!({"credit_note_id": format!("CN-{}", i + 1), "kind": e["kind"], "item_id": e["item_id"]});
        let q = dec(e["quantity"].as_str().unwrap_or("1"));
        let a = dec(e["amount"]["amount"].as_str().unwrap_or("0"));
        match g.s.below(9) {
            // All the money for half the hours (refused unless the half is a rounding).
            8 => {
                c["quantity"] = json!(crate::model::n((q / D::from(2)).round_dp(2)));
                c["amount"] = e["amount"].clone();
            }
            0 => c["quantity"] = json!(crate::model::n((q / D::from(2)).round_dp(2))),
            // A price reduction: money and no hours, which re-pricing keeps.
            7 => {
                c["quantity"] = json!("0");
                c["amount"] = json!({"amount": g.amt("10"), "currency": cur});
            }
            1 => {
                c["amount"] = json!({"amount": g.amt(&(a / D::from(3)).round_dp(minor_units(cur)).to_string()), "currency": cur})
            }
            2 => {
                c["quantity"] = json!(crate::model::n(q));
                c["amount"] = e["amount"].clone();
            }
            3 => c["quantity"] = json!("1"),
            4 => c["amount"] = json!({"amount": g.amt("10"), "currency": cur}),
            5 => c["quantity"] = json!(crate::model::n(q)),
            _ => c["amount"] = e["amount"].clone(),
        }
        if g.s.chance(30) && !off("shareabove") {
            // The ceiling share a ledger operation recorded with the credit: used as given
            // (whatever the share in proportion would be now), or refused when it could not have
            // been recorded (negative, above the credit's amount or the item's net against the
            // ceiling).
            let given = c
                .get("amount")
                .and_then(|m| m["amount"].as_str())
                .map(dec)
                .unwrap_or(a / D::from(2));
            let same = |x: &&Value| x["kind"] == e["kind"] && x["item_id"] == e["item_id"];
            let sum = |against: bool| -> D {
                entries
                    .iter()
                    .filter(same)
                    .filter(|x| !against || x["against_ceiling"] == true)
                    .map(|x| dec(x["amount"]["amount"].as_str().unwrap_or("0")))
                    .sum()
            };
            let (item_c, item_a) = (sum(true), sum(false));
            let share = match g.s.below(5) {
                0 => D::ZERO,
                1 => given.min(item_c),
                2 if !item_a.is_zero() => given * item_c / item_a,
                3 => (given / D::from(3)).min(item_c),
                _ => given,
            };
            c["ceiling_share"] = json!({"amount": g.amt(&share.round_dp(minor_units(cur)).to_string()), "currency": cur});
            if g.rare(25) {
                match g.s.below(4) {
                    0 => c["ceiling_share"] = json!({"amount": g.amt("-1"), "currency": cur}),
                    1 => c["ceiling_share"] = g.off_scale("1"),
                    2 => {
                        c["ceiling_share"] =
                            json!({"amount": g.amt("1"), "currency": g.other_cur()})
                    }
                    _ => {
                        c["ceiling_share"] =
                            json!({"amount": g.amt(&(given + D::ONE).to_string()), "currency": cur})
                    }
                }
            }
        }
        if g.rare(20) {
            match g.s.below(4) {
                0 => c["amount"] = json!({"amount": g.amt("0"), "currency": cur}),
                1 => c["quantity"] = json!("999"),
                2 => c["item_id"] = json!("TE-404"),
                _ => {
                    c["quantity"] = json!("1");
                    c["amount"] = e["amount"].clone();
                }
            }
        }
        credits.push(c);
    }
    let mut l = json!({"schema_version": 1, "contract_id": CONTRACT, "entries": entries, "credits": credits});
    // "no entry bills a negative quantity (DOCUMENT_NEGATIVE_AMOUNT)" (billing.md, the ledger).
    if g.rare(10) && !l["entries"].as_array().unwrap().is_empty() {
        let k = g.s.below(l["entries"].as_array().unwrap().len());
        l["entries"][k]["quantity"] = json!(g.s.pick(&["-2", "-0.5"]));
    }
    if g.rare(6) {
        match g.s.below(3) {
            0 => l["contract_id"] = json!("C-9"),
            1 if !l["entries"].as_array().unwrap().is_empty() => {
                l["entries"][0]["amount"]["currency"] = json!(g.other_cur())
            }
            _ if !l["entries"].as_array().unwrap().is_empty() => {
                l["entries"][0]["amount"] = g.off_scale("100")
            }
            _ => {}
        }
    }
    l
}
