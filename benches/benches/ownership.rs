//! Ownership decisions and cross-system reconciliation.
//!
//! `reconcile`: one entity kind (invoices) across three systems (erp, billing, psa), records in
//! shuffled order, about 2% drift injected (a third missing records, a third changed amounts, a
//! third changed dates). `check_update`: field decisions against the compiled example policy.

use std::collections::BTreeMap;

use billwise_core::model::{OwnershipPolicy, System};
use billwise_core::ownership::{CompiledPolicy, entity, entity_index};
use billwise_core::reconcile::{SystemRecords, reconcile};
use serde_json::{Map, Value, json};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

const POLICY: &str = include_str!("../../spec/examples/ownership-policy.json");

fn policy() -> CompiledPolicy {
    let p: OwnershipPolicy = serde_json::from_str(POLICY).unwrap_or_else(|e| {
        eprintln!("the example policy does not parse: {e}");
        std::process::exit(2)
    });
    CompiledPolicy::compile(&p).unwrap_or_else(|e| {
        eprintln!("the example policy has problems: {e:?}");
        std::process::exit(2)
    })
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn invoice(i: u64, day: u64, cents: u64) -> Map<String, Value> {
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    let mut m = Map::new();
    m.insert("id".into(), json!(format!("INV-{i:08}")));
    m.insert(
        "contract_id".into(),
        json!(format!("CTR-{:05}", i % 50_000)),
    );
    m.insert("status".into(), json!("posted"));
    m.insert(
        "issue_date".into(),
        json!(format!("2026-{:02}-{:02}", 1 + day % 12, 1 + day % 28)),
    );
    m.insert("currency".into(), json!("USD"));
    m.insert("total".into(), json!({"amount": amount, "currency": "USD"}));
    m
}

/// `n` invoices as erp, billing and psa hold them, with about 2% drift. Each system lists them in
/// its own random order, and its records are built in that order (as when read from a file).
pub fn three_systems(n: u64) -> BTreeMap<System, Vec<Map<String, Value>>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let names = ["billing", "erp", "psa"];
    // Per invoice: issue day, cents, drift (0 missing, 1 amount, 2 date, else none), victim.
    let truth: Vec<(u64, u64, u64, usize)> = (0..n)
        .map(|_| {
            (
                rng.below(336),
                10_000 + rng.below(10_000_000),
                rng.below(150),
                rng.below(3) as usize,
            )
        })
        .collect();
    let mut out: BTreeMap<System, Vec<Map<String, Value>>> = BTreeMap::new();
    for (si, name) in names.iter().enumerate() {
        let mut order: Vec<u64> = (0..n).collect();
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let mut records = Vec::with_capacity(n as usize);
        for i in order {
            let Some(&(day, cents, drift, victim)) = truth.get(i as usize) else {
                continue;
            };
            let hit = victim == si;
            match drift {
                0 if hit => {}
                1 if hit => records.push(invoice(i, day, cents + 1)),
                2 if hit => records.push(invoice(i, day + 1, cents)),
                _ => records.push(invoice(i, day, cents)),
            }
        }
        if let Ok(s) = System::new(*name) {
            out.insert(s, records);
        }
    }
    out
}

#[divan::bench(args = [100_000, 1_000_000], sample_count = 3, sample_size = 1)]
fn reconcile_invoices_across_three_systems(bencher: divan::Bencher, n: u64) {
    let policy = policy();
    let kind = entity_index("invoice").unwrap_or_default();
    let data = three_systems(n);
    let systems: Vec<SystemRecords<'_>> = data
        .iter()
        .map(|(system, records)| SystemRecords { system, records })
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            let r = reconcile(&policy, kind, None, divan::black_box(&systems), &[]);
            if let Ok(r) = &r {
                assert!(r.summary.entities == n && r.summary.consistent < n);
            }
            r
        });
}

#[divan::bench]
fn check_update_field_decisions(bencher: divan::Bencher) {
    let policy = policy();
    let kind = entity_index("contract").unwrap_or_default();
    let k = entity("contract");
    let fields: Vec<&str> = k.map(|k| k.fields.clone()).unwrap_or_default();
    let stages = k.map_or(1, |k| k.stages.len());
    let sources: Vec<Option<u16>> = ["crm", "erp", "psa"]
        .iter()
        .map(|s| policy.system_index(s))
        .collect();
    // 1,000 decisions per iteration, over every field, stage and source.
    let calls: Vec<(Option<usize>, Option<u16>, &str)> = (0..1000usize)
        .map(|i| {
            (
                Some(i % stages),
                sources.get(i % 3).copied().flatten(),
                fields.get(i % fields.len().max(1)).copied().unwrap_or("id"),
            )
        })
        .collect();
    bencher
        .counter(divan::counter::ItemsCount::new(calls.len()))
        .bench(|| {
            let mut accepted = 0u32;
            for (stage, source, field) in divan::black_box(&calls) {
                if policy.decide(kind, *stage, *source, field)
                    == billwise_core::ownership::Decision::Accepted
                {
                    accepted += 1;
                }
            }
            accepted
        });
}
