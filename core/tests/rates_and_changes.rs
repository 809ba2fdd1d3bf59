//! Rate resolution, contract versions and change orders, through the public API.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers outside #[test] functions build fixed inputs"
)]

use billwise_core::ErrorCode;
use billwise_core::billing::BilledLedger;
use billwise_core::changes::{ContractHistory, apply_change_order};
use billwise_core::model::{ChangeOrder, Contract, Date, RoundingMode};
use billwise_core::rates::{CompiledCard, RateQuery, RateResolution, RateRule, Specificity};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn usd(a: &str) -> Value {
    json!({"amount": a, "currency": "USD"})
}

fn contract(entries: Value) -> Contract {
    serde_json::from_value(json!({
        "schema_version": 1, "id": "C-1", "account_id": "A-1", "legal_entity": "US01",
        "currency": "USD", "billing_model": "time_and_materials", "status": "active",
        "start_date": "2026-01-01", "end_date": "2026-12-31",
        "ceiling": {"amount": usd("100000.00")},
        "rate_card": {"hours_per_day": "8", "entries": entries},
        "milestones": [{"id": "M-1", "name": "Go-live", "amount": usd("5000.00"), "due_date": "2026-06-30", "status": "billed"}]
    }))
    .unwrap()
}

fn standard() -> Contract {
    contract(json!([
        {"role": "Consultant", "rate": usd("150.00"), "effective_from": "2026-01-01", "effective_to": "2026-06-30"},
        {"role": "Consultant", "rate": usd("160.00"), "effective_from": "2026-07-01"},
        {"role": "Consultant", "task_id": "T-2", "rate": usd("170.00"), "effective_from": "2026-01-01"},
        {"resource_id": "R-1", "rate": usd("1400.00"), "unit": "day", "effective_from": "2026-03-01"},
        {"resource_id": "R-1", "task_id": "T-2", "rate": usd("190.00"), "effective_from": "2026-01-01", "effective_to": "2026-03-31"}
    ]))
}

fn co(seq: u32, eff: &str, approved: &str, retro: bool, changes: Value) -> ChangeOrder {
    serde_json::from_value(json!({
        "schema_version": 1, "id": format!("CO-{seq}"), "contract_id": "C-1", "sequence": seq,
        "status": "approved", "effective_date": eff, "approved_on": approved,
        "retroactive": retro, "changes": changes
    }))
    .unwrap()
}

fn q<'a>(role: &'a str, res: Option<&'a str>, task: Option<&'a str>, date: &str) -> RateQuery<'a> {
    RateQuery {
        role,
        resource_id: res,
        task_id: task,
        work_date: d(date),
        rate_override: None,
    }
}

fn source(h: &ContractHistory, query: &RateQuery<'_>) -> String {
    let r = h.resolve(query);
    match r.rate() {
        Some((m, u)) => format!("{} {u} {}", m.amount_string(), r.rate_source()),
        None => r.rate_source().to_owned(),
    }
}

#[test]
fn the_most_specific_entry_in_force_wins() {
    let h = ContractHistory::new(&standard(), &[]).unwrap();
    assert_eq!(
        source(&h, &q("Consultant", Some("R-1"), Some("T-2"), "2026-03-15")),
        "190.00 hour rate_card:resource=R-1,task=T-2@2026-01-01"
    );
    // The resource + task rate ended on 03-31: the resource's day rate is next.
    assert_eq!(
        source(&h, &q("Consultant", Some("R-1"), Some("T-2"), "2026-04-01")),
        "1400.00 day rate_card:resource=R-1@2026-03-01"
    );
    assert_eq!(
        source(&h, &q("Consultant", Some("R-9"), Some("T-2"), "2026-04-01")),
        "170.00 hour rate_card:role=Consultant,task=T-2@2026-01-01"
    );
    assert_eq!(
        source(&h, &q("Consultant", Some("R-9"), None, "2026-06-30")),
        "150.00 hour rate_card:role=Consultant@2026-01-01"
    );
    assert_eq!(
        source(&h, &q("Consultant", None, None, "2026-07-01")),
        "160.00 hour rate_card:role=Consultant@2026-07-01"
    );
    assert_eq!(
        source(&h, &q("Architect", None, None, "2026-07-01")),
        "missing_rate"
    );
    assert_eq!(
        source(&h, &q("Consultant", None, None, "2025-12-31")),
        "missing_rate"
    );
}

#[test]
fn a_manual_override_wins_and_says_so() {
    let h = ContractHistory::new(&standard(), &[]).unwrap();
    let mut query = q("Consultant", Some("R-1"), Some("T-2"), "2026-03-15");
    query.rate_override = Some(serde_json::from_value(usd("99.00")).unwrap());
    let r = h.resolve(&query);
    assert_eq!(r.rate_source(), "rate_override");
    assert_eq!(r.specificity(), Some(Specificity::Override));
}

#[test]
fn a_temporary_rate_hands_back_to_the_open_ended_one() {
    let c = contract(json!([
        {"role": "Consultant", "rate": usd("150.00"), "effective_from": "2026-01-01"},
        {"role": "Consultant", "rate": usd("120.00"), "effective_from": "2026-03-01", "effective_to": "2026-03-31"}
    ]));
    let h = ContractHistory::new(&c, &[]).unwrap();
    let at = |day: &str| source(&h, &q("Consultant", None, None, day));
    assert_eq!(
        at("2026-02-28"),
        "150.00 hour rate_card:role=Consultant@2026-01-01"
    );
    assert_eq!(
        at("2026-03-31"),
        "120.00 hour rate_card:role=Consultant@2026-03-01"
    );
    assert_eq!(
        at("2026-04-01"),
        "150.00 hour rate_card:role=Consultant@2026-01-01"
    );
}

#[test]
fn day_rates_bill_hours_over_hours_per_day() {
    let h = ContractHistory::new(&standard(), &[]).unwrap();
    let r = h.resolve(&q("Consultant", Some("R-1"), None, "2026-05-04"));
    let amount = r
        .price_hours(Decimal::new(6, 0), RoundingMode::HalfUp)
        .unwrap()
        .unwrap();
    assert_eq!(amount.amount_string(), "1050.00");
}

#[test]
fn an_ambiguous_card_is_refused_never_a_silent_pick() {
    let c = contract(json!([
        {"role": "Consultant", "rate": usd("150.00"), "effective_from": "2026-01-01"},
        {"role": "Consultant", "rate": usd("160.00"), "effective_from": "2026-01-01"}
    ]));
    let e = ContractHistory::new(&c, &[]).unwrap_err();
    assert_eq!(e.code, ErrorCode::RatesAmbiguousEntry);
    assert_eq!(e.path, "/contract/rate_card/entries/1");
}

#[test]
fn a_rate_change_applies_from_its_effective_date_and_the_ceiling_from_approval() {
    let base = ContractHistory::new(&standard(), &[]).unwrap();
    let c1 = co(
        1,
        "2026-05-01",
        "2026-05-20",
        false,
        json!([
            {"type": "set_rate", "role": "Consultant", "rate": usd("155.00")},
            {"type": "adjust_ceiling", "delta": usd("20000.00")}
        ]),
    );
    let a = apply_change_order(&base, &c1, None).unwrap();
    let h = &a.history;
    assert_eq!(h.version(), 1);
    let at = |day: &str| source(h, &q("Consultant", None, None, day));
    assert_eq!(
        at("2026-04-30"),
        "150.00 hour rate_card:role=Consultant@2026-01-01"
    );
    assert_eq!(at("2026-05-01"), "155.00 hour change_order:CO-1");
    // The change order replaces the July step of the same key as well.
    assert_eq!(at("2026-09-01"), "155.00 hour change_order:CO-1");
    assert_eq!(h.terms_at(d("2026-05-19")).version, 0);
    assert_eq!(h.terms_at(d("2026-05-20")).version, 1);
    assert_eq!(a.impact.ceiling_delta.amount_string(), "20000.00");
    assert_eq!(a.impact.rate_changes.len(), 1);
}

#[test]
fn change_orders_are_refused_with_their_codes() {
    let base = ContractHistory::new(&standard(), &[]).unwrap();
    let ledger: BilledLedger = serde_json::from_value(json!({
        "schema_version": 1, "contract_id": "C-1",
        "entries": [{
            "invoice_id": "INV-1", "kind": "time", "item_id": "TE-1", "date": "2026-03-02",
            "quantity": "600", "unit_price": usd("150.00"), "amount": usd("90000.00"),
            "contract_version": 0, "against_ceiling": true
        }]
    }))
    .unwrap();
    let end = json!([{"type": "set_end_date", "end_date": "2027-01-31"}]);
    let cases = [
        (
            co(2, "2026-05-01", "2026-05-02", false, end.clone()),
            ErrorCode::ChangesOutOfSequence,
        ),
        (
            co(
                1,
                "2026-05-01",
                "2026-05-02",
                false,
                json!([{"type": "set_rate", "role": "Nobody", "rate": usd("1.00")}]),
            ),
            ErrorCode::ChangesUnknownTarget,
        ),
        (
            co(
                1,
                "2026-05-01",
                "2026-05-02",
                false,
                json!([{"type": "remove_milestone", "milestone_id": "M-1"}]),
            ),
            ErrorCode::ChangesMilestoneBilled,
        ),
        (
            co(
                1,
                "2026-05-01",
                "2026-05-02",
                false,
                json!([{"type": "adjust_ceiling", "delta": usd("-20000.00")}]),
            ),
            ErrorCode::ChangesCeilingBelowBilled,
        ),
    ];
    for (c, code) in cases {
        let e = apply_change_order(&base, &c, Some(&ledger)).unwrap_err();
        assert_eq!(e.code, code, "{c:?}");
    }
    let mut draft = co(1, "2026-05-01", "2026-05-02", false, end);
    draft.status = billwise_core::model::ChangeOrderStatus::Submitted;
    let e = apply_change_order(&base, &draft, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::ChangesNotApproved);
}

const ROLES: [&str; 3] = ["A", "B", "C"];

/// Day `n` counted from 2026-01-01.
fn day(n: u32) -> String {
    Date::from_days_since_epoch(20_454 + i64::from(n))
        .unwrap()
        .to_string()
}

fn entry(role: usize, kind: usize, from: u32, rate: u32) -> Value {
    let mut e = json!({"rate": usd(&format!("{rate}.00")), "effective_from": day(from)});
    match kind {
        0 => e["role"] = json!(ROLES[role]),
        1 => {
            e["role"] = json!(ROLES[role]);
            e["task_id"] = json!("T");
        }
        _ => e["resource_id"] = json!(format!("R{role}")),
    }
    e
}

prop_compose! {
    /// Entries with distinct start days per key; some end after a while.
    fn card()(spec in prop::collection::vec(
        (0usize..3, 0usize..3, 0u32..300, 1u32..500, prop::option::of(0u32..40)), 1..20)
    ) -> Vec<Value> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for (role, kind, from, rate, len) in spec {
            if !seen.insert((role, kind, from)) {
                continue;
            }
            let mut e = entry(role, kind, from, rate);
            if let Some(l) = len {
                e["effective_to"] = json!(day(from + l));
            }
            out.push(e);
        }
        out
    }
}

type Probe = (usize, bool, bool, u32);

/// The answers of a card (compiled directly: overlapping ranges, which validation refuses, are
/// fair game here) to the probes.
fn answers(entries: &[Value], probes: &[Probe]) -> Vec<String> {
    let c = contract(json!(entries));
    let rules = c
        .rate_card
        .entries
        .iter()
        .map(RateRule::from_entry)
        .collect();
    let card = CompiledCard::new(rules, Decimal::new(8, 0), 0);
    probes
        .iter()
        .map(|(role, res, task, dd)| {
            let resource = format!("R{role}");
            let query = RateQuery {
                role: ROLES[*role],
                resource_id: res.then_some(resource.as_str()),
                task_id: task.then_some("T"),
                work_date: d(&day(*dd)),
                rate_override: None,
            };
            match card.resolve(&query) {
                RateResolution::Rate { rate, rule, .. } => format!(
                    "{} {}",
                    rate.amount_string(),
                    rule.map(|r| r.source.as_str()).unwrap_or("")
                ),
                RateResolution::Missing { .. } => "missing".to_owned(),
            }
        })
        .collect()
}

/// The rules of `spec/domain/rate-cards.md` written as plainly as possible: for each specificity
/// in order, the entries of that key in force on the day, latest `effective_from` first.
fn reference(entries: &[Value], probes: &[Probe]) -> Vec<String> {
    let c = contract(json!(entries));
    let rules: Vec<RateRule> = c
        .rate_card
        .entries
        .iter()
        .map(RateRule::from_entry)
        .collect();
    probes
        .iter()
        .map(|(role, res, task, dd)| {
            let date = d(&day(*dd));
            let resource = format!("R{role}");
            let res = res.then_some(resource.as_str());
            let task = task.then_some("T");
            let role = ROLES[*role];
            // (role, resource, task) of each step; a step needs every part the query lacks to be absent.
            let steps = [
                (None, res, task, res.is_some() && task.is_some()),
                (None, res, None, res.is_some()),
                (Some(role), None, task, task.is_some()),
                (Some(role), None, None, true),
            ];
            for (kr, kres, kt, applies) in steps {
                if !applies {
                    continue;
                }
                let best = rules
                    .iter()
                    .filter(|r| {
                        r.key.role.as_deref() == kr
                            && r.key.resource_id.as_ref().map(|x| x.as_str()) == kres
                            && r.key.task_id.as_ref().map(|x| x.as_str()) == kt
                            && r.in_force_on(date)
                    })
                    .max_by_key(|r| r.effective_from);
                if let Some(r) = best {
                    return format!("{} {}", r.rate.amount_string(), r.source);
                }
            }
            "missing".to_owned()
        })
        .collect()
}

fn probes() -> impl Strategy<Value = Vec<Probe>> {
    prop::collection::vec((0usize..3, any::<bool>(), any::<bool>(), 0u32..400), 1..30)
}

proptest! {
    #[test]
    fn the_compiled_card_agrees_with_the_plain_reading_of_the_rules(
        entries in card(),
        queries in probes(),
    ) {
        prop_assert_eq!(answers(&entries, &queries), reference(&entries, &queries));
    }

    #[test]
    fn resolution_never_depends_on_the_order_of_entries(
        entries in card(),
        seed in any::<u64>(),
        queries in probes(),
    ) {
        let mut shuffled = entries.clone();
        for i in (1..shuffled.len()).rev() {
            let j = (seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i as u64)
                % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        prop_assert_eq!(answers(&entries, &queries), answers(&shuffled, &queries));
    }

    #[test]
    fn a_later_entry_never_changes_the_rate_of_earlier_work(
        entries in card(),
        role in 0usize..3, kind in 0usize..3, from in 0u32..300, rate in 1u32..500,
        queries in probes(),
    ) {
        let mut more = entries.clone();
        more.push(entry(role, kind, from, rate));
        let before: Vec<Probe> = queries.iter().copied().filter(|p| p.3 < from).collect();
        prop_assert_eq!(answers(&entries, &before), answers(&more, &before));
    }

    #[test]
    fn applying_change_orders_one_by_one_equals_replaying_them(
        steps in prop::collection::vec((0usize..2, 0u32..300, 1u32..500, 0u32..50, any::<bool>()), 1..6),
    ) {
        let c = contract(json!([
            {"role": "A", "rate": usd("100.00"), "effective_from": "2026-01-01"},
            {"role": "B", "rate": usd("120.00"), "effective_from": "2026-01-01"}
        ]));
        let mut approved = 0u32;
        let cos: Vec<ChangeOrder> = steps
            .iter()
            .enumerate()
            .map(|(i, (role, eff, rate, gap, ceiling))| {
                approved += gap;
                let seq = u32::try_from(i).unwrap() + 1;
                let change = if *ceiling {
                    json!({"type": "adjust_ceiling", "delta": usd(&format!("{rate}.00"))})
                } else {
                    json!({"type": "set_rate", "role": ROLES[*role], "rate": usd(&format!("{rate}.00"))})
                };
                co(seq, &day(*eff), &day(approved), *ceiling, json!([change]))
            })
            .collect();
        let replayed = ContractHistory::new(&c, &cos).unwrap();
        let mut h = ContractHistory::new(&c, &[]).unwrap();
        for x in &cos {
            h = apply_change_order(&h, x, None).unwrap().history;
        }
        prop_assert_eq!(h, replayed);
    }
}
