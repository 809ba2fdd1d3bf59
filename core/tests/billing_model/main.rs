//! The billing run against an independent model written from the spec only.
//!
//! `model.rs` recomputes the rules of `spec/domain/billing.md` (and change-orders.md,
//! rate-cards.md, money-and-rounding.md, PRODUCT.md "Rules") as naive scans over JSON requests;
//! `gen.rs` turns a byte string into a random request biased towards the interesting
//! combinations. The tests compare `api::run` with the model on what both can be compared on
//! (lines, held items, adjustments, ceiling, retainer, totals, summary; not sentences), and check
//! invariants along sequences of previews, commits, credits and more work.
//!
//! Case counts: `BILLWISE_PROPTEST_CASES` (default 4000 single previews; the sequences run a fifth
//! of that, the change-order property a third). Failures are persisted under
//! `core/tests/billing_model/main.proptest-regressions` and replayed first.
//!
//! `cargo test -p billwise-core --test billing_model -- --ignored survey --nocapture` runs a survey
//! instead: many random requests, disagreements grouped by kind, the smallest request of each.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    // the model returns what an item is held for as the error side, whatever its size
    clippy::result_large_err
)]

// `compare::check` is the fuzz target's entry (fuzz/fuzz_targets/billing_differential.rs).
#[allow(dead_code)]
mod compare;
#[path = "gen.rs"]
mod generate;
mod invariants;
mod model;

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

use compare::{amount, check_preview, compact, compare_preview, diff, explain, refusal_text, run};
use generate::Src;
use model::{D, dec};

// A test may read its environment: the case count is a knob for long runs.
#[allow(clippy::disallowed_methods)]
fn cases(divisor: u32) -> u32 {
    let n = std::env::var("BILLWISE_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(4000);
    (n / divisor).max(1)
}

fn config(divisor: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(divisor),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/billing_model/main.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300)
}

/// 3000 fixed byte strings of 300 bytes from `seed` (a linear congruential generator): the same
/// inputs on every run, for the tests that count which paths the generator reaches.
fn fixed_byte_strings(seed: u64) -> impl Iterator<Item = Vec<u8>> {
    let mut s = seed;
    (0..3000).map(move |_| {
        (0..300)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 33) as u8
            })
            .collect()
    })
}

/// Each item's net billed quantity, credits completed as the spec completes them (a one-sided
/// credit against every entry and the credits before it).
fn net_quantities(ledger: &Value, cur: &str) -> BTreeMap<(String, String), D> {
    let Some(cid) = ledger["contract_id"].as_str() else {
        return BTreeMap::new();
    };
    match model::read_ledger(ledger, cid, cur) {
        Ok(st) => st.net.into_iter().map(|(k, n)| (k, n.q)).collect(),
        Err(_) => BTreeMap::new(),
    }
}

/// Net billed quantity per item never exceeds what was delivered: a commit never brings an item
/// past its delivered quantity (a hand-written ledger may already be past it; then the commit
/// must not add to it).
fn check_not_overbilled(req: &Value, before: &Value, after: &Value) -> Result<(), String> {
    let cur = req["contract"]["currency"].as_str().unwrap_or("USD");
    let was = net_quantities(before, cur);
    let now = net_quantities(after, cur);
    let mut delivered: BTreeMap<(String, String), D> = BTreeMap::new();
    for t in req["time_entries"].as_array().into_iter().flatten() {
        let d = model::delivered(&req["contract"], dec(t["hours"].as_str().unwrap()));
        // Of two entries sharing an id, the earlier one is the item and the later one is held
        // invalid (billing.md "Invalid items"): the earlier one's hours are what was delivered.
        delivered
            .entry(("time".to_owned(), t["id"].as_str().unwrap().to_owned()))
            .or_insert(d);
    }
    for (k, q) in &now {
        let limit = if k.0 == "time" {
            delivered.get(k).copied().unwrap_or_default()
        } else {
            D::ONE
        };
        let before = was.get(k).copied().unwrap_or_default();
        if *q > limit && *q > before {
            return Err(format!(
                "{} {}: net billed quantity {q} > delivered {limit} (was {before})",
                k.0, k.1
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// a. Single previews
// ------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(1))]

    #[test]
    fn the_billing_run_gives_the_models_lines_holds_adjustments_and_figures_or_refuses_with_its_code(b in bytes()) {
        let req = generate::request(&b);
        if let Err(e) = check_preview(&req) {
            prop_assert!(false, "{}", e);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// b. Sequences: preview, commit, rerun, credits, more work
// ------------------------------------------------------------------------------------------------

fn credits_for(s: &mut Src, ledger: &Value, cur: &str, step: usize) -> Vec<Value> {
    let entries: Vec<Value> = ledger["entries"].as_array().cloned().unwrap_or_default();
    let mut out = vec![];
    if entries.is_empty() {
        return out;
    }
    for i in 0..1 + s.below(2) {
        let e = &entries[s.below(entries.len())];
        let mut c = json!({"credit_note_id": format!("CN-S{step}-{i}"), "kind": e["kind"], "item_id": e["item_id"]});
        let q = dec(e["quantity"].as_str().unwrap());
        let a = amount(&e["amount"]);
        let minor = model::minor_units(cur);
        match s.below(6) {
            0 => c["quantity"] = json!(model::n((q / D::from(3)).round_dp(3))),
            1 => {
                c["amount"] = json!({"amount": model::fmt_money((a / D::from(3)).round_dp(minor), cur), "currency": cur})
            }
            2 => c["quantity"] = json!(model::n(q)),
            3 => c["amount"] = e["amount"].clone(),
            4 => c["quantity"] = json!("1"),
            _ => {
                c["amount"] = json!({"amount": model::fmt_money(D::from(10), cur), "currency": cur})
            }
        }
        if s.chance(25) && !generate::off("shareabove") {
            // A ceiling share given with the credit (used as given when the credit could have
            // recorded it; refused otherwise).
            let given = c.get("amount").map(amount).unwrap_or(a / D::from(3));
            let share = match s.below(3) {
                0 => D::ZERO,
                1 => given,
                _ => given / D::from(3),
            };
            c["ceiling_share"] =
                json!({"amount": model::fmt_money(share.round_dp(minor), cur), "currency": cur});
        }
        out.push(c);
    }
    out
}

fn more_work(s: &mut Src, req: &mut Value, step: usize) {
    if let Some(tes) = req["time_entries"].as_array_mut() {
        for t in tes.iter_mut() {
            if s.chance(40) {
                let h = dec(t["hours"].as_str().unwrap()) + D::from(2);
                t["hours"] = json!(model::n(h));
            }
            if s.chance(30) && t["status"] == "submitted" {
                t["status"] = json!("approved");
            }
        }
        if s.chance(50) {
            tes.push(json!({
                "id": format!("TE-N{step}"), "project_id": "P-1", "task_id": "T-1", "resource_id": "R-1",
                "role": s.pick(&["Consultant", "Senior"]), "work_date": s.pick(&["2026-03-03", "2026-03-18", "2026-03-27"]),
                "hours": s.pick(&["3", "0.7", "5.5"]), "status": "approved",
            }));
        }
    }
    let as_of = req["as_of"].as_str().unwrap().to_owned();
    if s.chance(25) {
        // A change order waiting as a draft (or submitted) is approved now: the ones after it
        // come into force with it.
        if let Some(cos) = req["change_orders"].as_array_mut()
            && let Some(co) = cos
                .iter_mut()
                .find(|c| c["status"] == "draft" || c["status"] == "submitted")
        {
            co["status"] = json!("approved");
            co["approved_on"] = json!(as_of);
        }
    }
    if s.chance(30) {
        // A new change order, approved on as_of, after every other: in force unless one before it
        // waits or was approved after as_of.
        let cos = req["change_orders"].as_array().cloned().unwrap_or_default();
        let seq = cos
            .iter()
            .filter_map(|c| c["sequence"].as_i64())
            .max()
            .unwrap_or(0)
            + 1;
        let cur = req["contract"]["currency"].as_str().unwrap().to_owned();
        let rate = s.pick(&["172.50", "155", "149.99"]);
        let change = match s.below(4) {
            0 => {
                json!({"type": "set_rate", "role": "Consultant", "rate": {"amount": rate, "currency": cur}})
            }
            1 => {
                json!({"type": "set_rate", "role": "Senior", "rate": {"amount": rate, "currency": cur}})
            }
            2 if req["contract"].get("ceiling").is_none() => {
                // A ceiling added after a first bill: items billed partly against it.
                let limit = dec(s.pick(&["300", "2000", "5000"]));
                json!({"type": "set_ceiling", "amount": {"amount": model::fmt_money(limit, &cur), "currency": cur}})
            }
            _ => json!({"type": "set_expense_markup", "markup_percent": "7"}),
        };
        let co = json!({
            "schema_version": 1, "kind": "change_order", "id": format!("CO-S{step}"), "contract_id": generate::CONTRACT,
            "sequence": seq, "status": "approved", "effective_date": "2026-03-01", "approved_on": as_of,
            "retroactive": s.chance(70), "changes": [change],
        });
        req["change_orders"].as_array_mut().unwrap().push(co);
    }
}

/// Where a sequence disagrees: the first problem (strict), or every problem while the sequence
/// goes on with the implementation's state (lenient, for the survey).
struct Findings {
    lenient: bool,
    found: Vec<String>,
}

impl Findings {
    fn note(&mut self, problem: Option<String>) -> Result<(), String> {
        match problem {
            None => Ok(()),
            Some(e) if self.lenient => {
                self.found.push(e);
                Ok(())
            }
            Some(e) => Err(e),
        }
    }
}

fn sequence(b: &[u8], steps: &[u8], f: &mut Findings) -> Result<(), String> {
    let mut req = generate::request(b);
    let mut s = Src::new(steps);
    let cur = req["contract"]["currency"].as_str().unwrap().to_owned();
    for step in 0..4 {
        let (imp, problem) = compare_preview(&req);
        let refused_by_one = problem.as_ref().is_some_and(|p| p.contains("refuses"));
        f.note(problem)?;
        if imp.is_err() || refused_by_one {
            return Ok(());
        }
        let inv = format!("INV-S{step}");
        let creq = json!({"invoice_id": inv, "run": req});
        let imp = run("commit_invoice", &creq);
        let m = model::commit(&req, &inv);
        let ledger = match (imp, m) {
            (Ok(r), Ok(ml)) => {
                let il = model::ledger_projection(&r["ledger"]);
                let mlp = model::ledger_projection(&ml);
                if il != mlp {
                    f.note(Some(explain(
                        &format!("committed ledger differs (step {step})"),
                        &creq,
                        &il,
                        &mlp,
                    )))?;
                }
                let off = model::amounts_off_scale(&r, &cur);
                if !off.is_empty() {
                    f.note(Some(format!(
                        "commit_invoice outputs amounts off the currency's scale: {off:?}\nrequest: {}",
                        compact(&creq)
                    )))?;
                }
                r["ledger"].clone()
            }
            (Err(c), Err(r)) if r.accepts(&c) => return Ok(()),
            (i, m) => {
                let e = format!(
                    "commit: implementation {:?} / model {:?}\nrequest: {}",
                    i.as_ref()
                        .map(|r| compact(&model::ledger_projection(&r["ledger"]))),
                    m.map(|l| compact(&model::ledger_projection(&l))),
                    compact(&creq)
                );
                f.note(Some(e))?;
                match i {
                    Ok(r) => r["ledger"].clone(),
                    Err(_) => return Ok(()),
                }
            }
        };
        let before = req.get("ledger").cloned().unwrap_or(json!({}));
        f.note(
            check_not_overbilled(&req, &before, &ledger)
                .err()
                .map(|e| format!("{e}\nrequest: {}", compact(&creq))),
        )?;
        req["ledger"] = ledger;
        // Committing a run and running the same period again bills nothing.
        let (imp, problem) = compare_preview(&req);
        f.note(problem)?;
        if let Ok(p) = imp {
            let nothing = p["lines"].as_array().is_none_or(Vec::is_empty)
                && p["adjustments"].as_array().is_none_or(Vec::is_empty);
            if !nothing {
                f.note(Some(format!(
                    "a rerun after the commit bills again\nrequest: {}\npreview: {}",
                    compact(&req),
                    compact(&model::preview_projection(&p))
                )))?;
            }
        }
        // Credits.
        if s.chance(60) || s.below(2) == 0 {
            let credits = credits_for(&mut s, &req["ledger"], &cur, step);
            let rreq = json!({"ledger": req["ledger"], "currency": cur, "credits": credits});
            let imp = run("record_credit", &rreq);
            let m = model::record_credit(&req["ledger"], &cur, &credits);
            match (imp, m) {
                (Ok(l), Ok(ml)) => {
                    let il = model::ledger_projection(&l);
                    let mlp = model::ledger_projection(&ml);
                    if il != mlp {
                        f.note(Some(explain(
                            &format!("ledger after record_credit differs (step {step})"),
                            &rreq,
                            &il,
                            &mlp,
                        )))?;
                    }
                    let off = model::amounts_off_scale(&l, &cur);
                    if !off.is_empty() {
                        f.note(Some(format!(
                            "record_credit outputs amounts off the currency's scale: {off:?}\nrequest: {}",
                            compact(&rreq)
                        )))?;
                    }
                    req["ledger"] = l;
                }
                (Err(c), Err(r)) if r.accepts(&c) => {}
                (i, m) => {
                    f.note(Some(format!(
                        "record_credit: implementation {:?} / model {:?}\nrequest: {}",
                        i.as_ref().map(|l| compact(&model::ledger_projection(l))),
                        m.map(|l| compact(&model::ledger_projection(&l))),
                        compact(&rreq)
                    )))?;
                    if let Ok(l) = i {
                        req["ledger"] = l;
                    }
                }
            }
        }
        more_work(&mut s, &mut req, step);
    }
    let (_, problem) = compare_preview(&req);
    f.note(problem)
}

proptest! {
    #![proptest_config(config(5))]

    #[test]
    fn commits_credits_and_more_work_agree_with_the_model_rerun_bill_nothing_and_never_overbill(
        b in bytes(),
        steps in prop::collection::vec(any::<u8>(), 0..60),
    ) {
        let mut f = Findings { lenient: false, found: vec![] };
        if let Err(e) = sequence(&b, &steps, &mut f) {
            prop_assert!(false, "{}", e);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// c. Change orders one at a time and at once
// ------------------------------------------------------------------------------------------------

fn rules_projection(rules: &[Value]) -> Value {
    model::sorted(
        rules
            .iter()
            .map(|r| {
                json!({
                    "role": r.get("role").cloned().unwrap_or(Value::Null),
                    "resource_id": r.get("resource_id").cloned().unwrap_or(Value::Null),
                    "task_id": r.get("task_id").cloned().unwrap_or(Value::Null),
                    "rate": model::n(amount(&r["rate"])),
                    "unit": r.get("unit").and_then(Value::as_str).unwrap_or("hour"),
                    "from": r["effective_from"],
                    "to": r.get("effective_to").cloned().unwrap_or(Value::Null),
                    "source": r["source"],
                })
            })
            .collect(),
    )
}

fn model_rules(v: &model::Version) -> Value {
    model::sorted(
        v.rules
            .iter()
            .map(|r| {
                json!({
                    "role": r.role, "resource_id": r.resource, "task_id": r.task,
                    "rate": model::n(r.rate), "unit": if r.day { "day" } else { "hour" },
                    "from": model::fmt_date(r.from), "to": r.to.map(model::fmt_date), "source": r.source,
                })
            })
            .collect(),
    )
}

fn terms_projection(ceiling: Option<D>, end: &str, milestones: Vec<String>) -> Value {
    json!({"ceiling": ceiling.map(model::n), "end_date": end, "milestones": milestones})
}

fn versions_case(b: &[u8]) -> Result<(), String> {
    let req = generate::request(b);
    let mut contract = req["contract"].clone();
    if let Some(c) = contract.as_object_mut() {
        c.remove("change_orders");
    }
    if model::preview(&json!({"contract": contract, "period": {"start": "2026-03-01", "end": "2026-03-31"}, "as_of": "2026-04-02"}))
        .is_err_and(|r| r.stage == "contract")
    {
        return Ok(());
    }
    // Every change order approved, in sequence; approvals as generated, in any order
    // (change-orders.md: "A change order approved before the one it follows is applied all the
    // same").
    let mut cos: Vec<Value> = req["change_orders"].as_array().cloned().unwrap_or_default();
    for co in &mut cos {
        co["status"] = json!("approved");
        if co.get("approved_on").is_none() {
            co["approved_on"] = json!("2026-03-05");
        }
        if co["contract_id"] != generate::CONTRACT {
            co["contract_id"] = json!(generate::CONTRACT);
        }
    }
    let mco: Vec<model::Co> = cos.iter().map(model::read_co).collect();
    let (versions, refused) = model::strict_history(&contract, &mco, true);
    // READING: with several problems, the order in which a history built at once reports them
    // is not fixed by the spec: the first problem in sequence order (as one at a time) and any
    // problem of the first failing stage (documents, sequence, applying) are accepted.
    let at_once = match (
        model::history_at_once(&contract, &mco),
        model::strict_history(&contract, &mco, false).1,
    ) {
        (Err(mut r), Some((_, c))) => {
            r.codes.insert(c.to_owned());
            Err(r)
        }
        (r, _) => r,
    };
    let mut sorted_cos = cos.clone();
    sorted_cos.sort_by_key(|c| c["sequence"].as_i64());
    for n in 0..sorted_cos.len() {
        let mut before: Vec<Value> = sorted_cos[..n].to_vec();
        for c in &mut before {
            c["status"] = json!("applied");
        }
        let areq =
            json!({"contract": contract, "change_orders": before, "change_order": sorted_cos[n]});
        let imp = run("apply_change_order", &areq);
        match (refused, imp) {
            (Some((i, code)), Err(c)) if i == n => {
                if c != code {
                    return Err(format!(
                        "apply_change_order {n}: implementation {c}, model {code}\nrequest: {}",
                        compact(&areq)
                    ));
                }
                break;
            }
            (Some((i, code)), r) if i <= n => {
                return Err(format!(
                    "apply_change_order {n}: the model refuses it ({code}), the implementation {}\nrequest: {}",
                    r.map(|v| format!("applies it: {}", compact(&v["version"])))
                        .unwrap_or_else(|c| format!("refuses it with {c}")),
                    compact(&areq)
                ));
            }
            (_, Err(c)) => {
                return Err(format!(
                    "apply_change_order {n}: implementation refuses ({c}), model applies\nrequest: {}",
                    compact(&areq)
                ));
            }
            (_, Ok(r)) => {
                let v = &versions[n + 1];
                let iv = &r["version"];
                let irules =
                    rules_projection(iv["rates"].as_array().map(Vec::as_slice).unwrap_or(&[]));
                let mrules = model_rules(v);
                if irules != mrules {
                    return Err(explain(
                        &format!("version {} rates differ", n + 1),
                        &areq,
                        &irules,
                        &mrules,
                    ));
                }
                let t = &iv["terms"];
                let it = terms_projection(
                    t.get("ceiling")
                        .filter(|c| !c.is_null())
                        .map(|c| amount(&c["amount"])),
                    t["end_date"].as_str().unwrap_or(""),
                    t["milestones"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| m["id"].as_str().unwrap().to_owned())
                        .collect(),
                );
                let mt = terms_projection(
                    v.ceiling.as_ref().map(|c| c.limit),
                    &model::fmt_date(v.end),
                    v.milestones.iter().map(|m| m.id.clone()).collect(),
                );
                if it != mt {
                    return Err(explain(
                        &format!("version {} terms differ", n + 1),
                        &areq,
                        &it,
                        &mt,
                    ));
                }
            }
        }
    }
    // resolve_rate with the history built at once.
    let mut s = Src::new(b.get(b.len() / 2..).unwrap_or(&[]));
    for _ in 0..3 {
        let mut q = json!({
            "role": s.pick(&["Consultant", "Senior", "Astronaut"]),
            "work_date": s.pick(&["2026-02-15", "2026-03-01", "2026-03-12", "2026-03-18", "2026-04-20", "2026-03-31"]),
        });
        if let Some(r) = s.pick(&[None, Some("R-1"), Some("R-2")]) {
            q["resource_id"] = json!(r);
        }
        if let Some(t) = s.pick(&[None, Some("T-1"), Some("T-2")]) {
            q["task_id"] = json!(t);
        }
        let rreq = json!({"contract": contract, "change_orders": cos, "query": q});
        let imp = run("resolve_rate", &rreq);
        match (&at_once, imp) {
            (Err(r), Err(c)) => {
                // With more than one problem in the history, only the refusal is compared.
                let cid = contract["id"].as_str().unwrap_or_default();
                let mut seqs: Vec<i64> = mco.iter().map(|c| c.seq).collect();
                seqs.sort_unstable();
                let repeated = seqs.windows(2).any(|w| w[0] == w[1]);
                seqs.dedup();
                let gap = seqs.iter().enumerate().any(|(i, s)| *s != i as i64 + 1);
                let problems = mco
                    .iter()
                    .filter(|c| !model::co_document_problems(c, cid).is_empty())
                    .count()
                    + usize::from(repeated)
                    + usize::from(gap)
                    + usize::from(refused.is_some_and(|(i, _)| i < mco.len() && !repeated && !gap));
                if problems <= 1 && !r.accepts(&c) {
                    return Err(format!(
                        "resolve_rate: implementation {c}, model {}\nrequest: {}",
                        refusal_text(r),
                        compact(&rreq)
                    ));
                }
            }
            (Ok(versions), Ok(r)) => {
                let last = versions.last().unwrap();
                let day = model::parse_date(q["work_date"].as_str().unwrap());
                let m = model::resolve(
                    &last.rules,
                    q["role"].as_str(),
                    q["resource_id"].as_str(),
                    q["task_id"].as_str(),
                    day,
                );
                let mine = match &m {
                    Some(x) => {
                        json!({"outcome": "rate", "rate": model::n(x.rate), "unit": if x.day { "day" } else { "hour" }, "rate_source": x.source, "contract_version": versions.len() - 1})
                    }
                    None => {
                        json!({"outcome": "missing_rate", "rate": null, "unit": null, "rate_source": "missing_rate", "contract_version": versions.len() - 1})
                    }
                };
                let theirs = json!({
                    "outcome": r["outcome"],
                    "rate": r.get("rate").filter(|x| !x.is_null()).map(|x| json!(model::n(amount(x)))).unwrap_or(Value::Null),
                    "unit": if r["outcome"] == "rate" { r.get("unit").cloned().unwrap_or(Value::Null) } else { Value::Null },
                    "rate_source": r["rate_source"],
                    "contract_version": r["contract_version"],
                });
                if mine != theirs {
                    return Err(explain("resolve_rate differs", &rreq, &theirs, &mine));
                }
            }
            (h, r) => {
                return Err(format!(
                    "resolve_rate: model {:?}, implementation {:?}\nrequest: {}",
                    h.as_ref().err(),
                    r.map(|v| compact(&v)),
                    compact(&rreq)
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(3))]

    #[test]
    fn applying_change_orders_one_at_a_time_gives_the_versions_and_codes_of_the_history_built_at_once(b in bytes()) {
        if let Err(e) = versions_case(&b) {
            prop_assert!(false, "{}", e);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// What the generator reaches (on the model's side)
// ------------------------------------------------------------------------------------------------

/// Whether the model spares a ledger entry without a role that the run cannot complete (no time
/// entry of that id) because every retroactive change order after its version changes no dated
/// rate, though one of them has a `set_rate` or `end_rate` (billing.md: "a retroactive change
/// order that changes no rate at all looks at no billed item, and cannot refuse a ledger entry
/// without a role").
fn spares_an_entry_without_a_role(req: &Value) -> bool {
    let c = &req["contract"];
    let cur = c["currency"].as_str().unwrap_or("USD");
    let Some(l) = req.get("ledger") else {
        return false;
    };
    let Ok(st) = model::read_ledger(l, generate::CONTRACT, cur) else {
        return false;
    };
    let cos: Vec<model::Co> = req["change_orders"]
        .as_array()
        .into_iter()
        .flatten()
        .map(model::read_co)
        .collect();
    let as_of = model::parse_date(req["as_of"].as_str().unwrap());
    let Ok((versions, applied)) = model::run_history(
        c,
        &cos,
        as_of,
        st.billed_against_ceiling(),
        &Default::default(),
    ) else {
        return false;
    };
    let listed = |id: &str| {
        req["time_entries"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["id"] == id)
    };
    st.net.iter().any(|((kind, id), net)| {
        let Some(e) = net.last.map(|i| &st.entries[i]) else {
            return false;
        };
        if kind != "time" || net.q <= D::ZERO || e.role.is_some() || listed(id) {
            return false;
        }
        let later: Vec<usize> = (e.version as usize + 1..versions.len())
            .filter(|&n| applied[n - 1].retro)
            .collect();
        let has_rate_change = |n: usize| {
            applied[n - 1].v["changes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|ch| ch["type"] == "set_rate" || ch["type"] == "end_rate")
        };
        later.iter().any(|&n| has_rate_change(n))
            && !later
                .iter()
                .any(|&n| model::changes_a_rate(&versions[n - 1].rules, &versions[n].rules))
    })
}

/// The generator reaches the situations the prose's latest changes are about, on 3000 fixed byte
/// strings (counted on the model, which is what decides them): a decrease freeing less room than
/// it decreases (work billed before the contract had a ceiling, a ceiling added by a change
/// order), an adjustment committed as two entries, a retroactive change order whose rate changes
/// change no dated rate sparing a ledger entry without a role, a derived ceiling share kept
/// within [0, the item's net against the ceiling], a ledger entry of negative quantity.
#[test]
fn the_generator_reaches_the_ceiling_and_repricing_situations_of_the_prose() {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for bytes in fixed_byte_strings(7) {
        let req = generate::request(&bytes);
        let mut bump = |k| *counts.entry(k).or_default() += 1;
        match model::compute(&req) {
            Err(r) => {
                if r.stage == "ledger" && r.accepts("DOCUMENT_NEGATIVE_AMOUNT") {
                    bump("negative quantity refused");
                }
            }
            Ok(comp) => {
                let added = req["contract"].get("ceiling").is_none() && comp.ceiling.is_some();
                for a in &comp.adjustments {
                    if a.amount < D::ZERO && comp.ceiling.is_some() && a.against != a.amount {
                        bump("decrease freeing less than it decreases");
                        if a.against.is_zero() {
                            bump("decrease freeing none");
                        }
                        if added {
                            bump("decrease under a ceiling added by a change order");
                        }
                        if !a.against.is_zero() {
                            bump("adjustment committed as two entries");
                        }
                    }
                }
                if spares_an_entry_without_a_role(&req) {
                    bump("entry without a role spared");
                }
                let cur = comp.currency.clone();
                let l = req.get("ledger");
                if let Some(l) = l {
                    let st = model::read_ledger(l, generate::CONTRACT, &cur).unwrap();
                    if st.net.values().any(|n| n.c < D::ZERO) {
                        bump("item below zero against the ceiling");
                    }
                    for cr in l["credits"].as_array().into_iter().flatten() {
                        if cr.get("ceiling_share").is_none() {
                            bump("derived ceiling share");
                        }
                    }
                }
            }
        }
    }
    println!("{counts:?}");
    for k in [
        "negative quantity refused",
        "decrease freeing less than it decreases",
        "decrease freeing none",
        "decrease under a ceiling added by a change order",
        "adjustment committed as two entries",
        "entry without a role spared",
        "item below zero against the ceiling",
        "derived ceiling share",
    ] {
        let n = counts.get(k).copied().unwrap_or(0);
        assert!(
            n >= 10,
            "the generator reached `{k}` {n} times in 3000 requests: {counts:?}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// The model against the spec's own examples
// ------------------------------------------------------------------------------------------------

/// The spec's preview cases that the model is known to read differently, each for a stated reason
/// (none at present: 050, 083 and 089 agree since the spec's last changes).
const CASES_READ_DIFFERENTLY: &[(&str, &str)] = &[];

#[test]
fn the_model_reproduces_the_specs_preview_examples() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../spec/cases/billing/preview_invoice");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = vec![];
    for f in files {
        let name = f.file_stem().unwrap().to_str().unwrap().to_owned();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let input = &case["input"];
        // Input-layer errors (JSON numbers, unknown fields, missing fields) are not modelled, nor
        // amounts too large to compute (the model's arithmetic is plain, not checked).
        if let Some(code) = case["expect"]["error"]["code"].as_str()
            && (code.starts_with("INPUT_") || code == "MONEY_OVERFLOW")
        {
            continue;
        }
        let got = model::preview(input);
        let ok = match (&case["expect"].get("result"), got) {
            (Some(r), Ok(m)) => {
                let e = model::preview_projection(r);
                if e == m {
                    true
                } else {
                    let mut d = vec![];
                    diff(&e, &m, "", &mut d);
                    failures.push(format!("{name}: {}", d.join("; ")));
                    false
                }
            }
            (None, Err(r)) => {
                let code = case["expect"]["error"]["code"].as_str().unwrap();
                if r.accepts(code) {
                    true
                } else {
                    failures.push(format!(
                        "{name}: expected {code}, model {}",
                        refusal_text(&r)
                    ));
                    false
                }
            }
            (_, m) => {
                failures.push(format!("{name}: model {:?}", m.map(|v| compact(&v))));
                false
            }
        };
        let expected_to_differ = CASES_READ_DIFFERENTLY.iter().any(|(c, _)| *c == name);
        if ok && expected_to_differ {
            failures.push(format!("{name}: listed as read differently, but agrees"));
        }
        if !ok && expected_to_differ {
            println!(
                "read differently, as listed: {}",
                failures.pop().unwrap_or_default()
            );
        }
    }
    // record_credit and commit_invoice examples.
    for op in ["record_credit", "commit_invoice"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../spec/cases/billing/{op}"));
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_stem().unwrap().to_str().unwrap().to_owned();
            let case: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            let input = &case["input"];
            let got = if op == "record_credit" {
                model::record_credit(
                    &input["ledger"],
                    input["currency"].as_str().unwrap(),
                    input["credits"].as_array().unwrap(),
                )
            } else {
                model::commit(&input["run"], input["invoice_id"].as_str().unwrap())
            };
            let expected = &case["expect"];
            let ok = match (expected.get("result"), &got) {
                (Some(r), Ok(l)) => {
                    let r = if op == "record_credit" {
                        r.clone()
                    } else {
                        r["ledger"].clone()
                    };
                    model::ledger_projection(&r) == model::ledger_projection(l)
                }
                (None, Err(r)) => r.accepts(expected["error"]["code"].as_str().unwrap()),
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{op}/{name}: model {:?}",
                    got.map(|l| compact(&model::ledger_projection(&l)))
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------------------------------------------------
// Survey (ignored): disagreements grouped by kind, the smallest request of each
// ------------------------------------------------------------------------------------------------

fn signature(e: &str) -> String {
    let first = e.lines().next().unwrap_or_default().to_owned();
    let paths: std::collections::BTreeSet<String> = e
        .lines()
        .filter(|l| l.starts_with("  /"))
        .map(|l| {
            let p = l.trim().split(':').next().unwrap_or_default();
            // collapse indices
            p.split('/')
                .map(|s| {
                    if s.chars().all(|c| c.is_ascii_digit()) {
                        "#"
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    let codes: String = if first.starts_with("both refuse") || first.contains("refuses") {
        first.clone()
    } else {
        paths.into_iter().collect::<Vec<_>>().join(" ")
    };
    format!(
        "{} | {}",
        first
            .split('\n')
            .next()
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default(),
        codes
    )
}

#[test]
#[ignore]
fn survey() {
    let n = cases(1) * 10;
    let mut rng = proptest::test_runner::TestRunner::deterministic();
    let strat = bytes();
    let mut kinds: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for _ in 0..n {
        let b = strat.new_tree(&mut rng).unwrap().current();
        let req = generate::request(&b);
        if let Err(e) = check_preview(&req) {
            let sig = signature(&e);
            let slot = kinds.entry(sig).or_insert((0, e.clone()));
            slot.0 += 1;
            if e.len() < slot.1.len() {
                slot.1 = e;
            }
        }
    }
    #[allow(clippy::disallowed_methods)]
    if std::env::var("BILLWISE_SURVEY_SEQUENCES").is_ok() {
        kinds.clear();
        let steps = prop::collection::vec(any::<u8>(), 0..60);
        for _ in 0..n / 4 {
            let b = strat.new_tree(&mut rng).unwrap().current();
            let st = steps.new_tree(&mut rng).unwrap().current();
            let mut f = Findings {
                lenient: true,
                found: vec![],
            };
            let _ = sequence(&b, &st, &mut f);
            for e in f.found {
                let sig = signature(&e);
                let slot = kinds.entry(sig).or_insert((0, e.clone()));
                slot.0 += 1;
                if e.len() < slot.1.len() {
                    slot.1 = e;
                }
            }
        }
    }
    println!("{} requests, {} kinds of disagreement", n, kinds.len());
    for (k, (count, e)) in &kinds {
        println!("\n### {count} x {k}\n{e}");
    }
}

/// `BILLWISE_PROBE=<file.jsonl> cargo test ... -- --ignored probe --nocapture`: requests, one a
/// line (a preview request, or `{"label"?, "op"?, "input"}`; `op` is `preview_invoice`,
/// `commit_invoice` or `record_credit`), through the implementation and the model, both printed.
/// `repros.jsonl` holds one small request per kind of disagreement seen against the
/// implementation this model was first run against, and (labels `V2-`) per kind seen after the
/// spec let approvals arrive out of order and credits record their ceiling share, and (labels
/// `V3-`) per situation of the prose's next changes (adjustments against the ceiling, derived
/// ceiling shares, retroactive change orders that change no dated rate), those still disagreeing
/// labelled `DISAGREES`.
#[test]
#[ignore]
fn probe() {
    #[allow(clippy::disallowed_methods)]
    let path = std::env::var("BILLWISE_PROBE").expect("BILLWISE_PROBE");
    for text in std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(text).unwrap();
        if let Some(l) = v.get("label").and_then(Value::as_str) {
            println!("## {l}");
        }
        let (op, input) = match (v.get("op"), v.get("input")) {
            (Some(op), _) => (op.as_str().unwrap().to_owned(), v["input"].clone()),
            (None, Some(input)) => ("preview_invoice".to_owned(), input.clone()),
            (None, None) => ("preview_invoice".to_owned(), v),
        };
        let imp = run(&op, &input);
        match op.as_str() {
            "commit_invoice" => {
                let m = model::commit(&input["run"], input["invoice_id"].as_str().unwrap());
                println!(
                    "implementation: {:?}",
                    imp.map(|r| compact(&model::ledger_projection(&r["ledger"])))
                );
                println!(
                    "model:          {:?}",
                    m.map(|l| compact(&model::ledger_projection(&l)))
                );
            }
            "record_credit" => {
                let m = model::record_credit(
                    &input["ledger"],
                    input["currency"].as_str().unwrap(),
                    input["credits"].as_array().unwrap(),
                );
                println!(
                    "implementation: {:?}",
                    imp.map(|l| compact(&model::ledger_projection(&l)))
                );
                println!(
                    "model:          {:?}",
                    m.map(|l| compact(&model::ledger_projection(&l)))
                );
            }
            _ => {
                let (_, problem) = compare_preview(&input);
                println!(
                    "implementation: {:?}",
                    imp.map(|p| compact(&model::preview_projection(&p)))
                );
                println!(
                    "model:          {:?}",
                    model::preview(&input).map(|p| compact(&p))
                );
                println!(
                    "{}",
                    problem
                        .map(|p| p
                            .lines()
                            .filter(|l| l.starts_with("  /") || !l.contains('{'))
                            .collect::<Vec<_>>()
                            .join("\n"))
                        .unwrap_or_else(|| "agree".to_owned())
                );
            }
        }
        println!();
    }
}
