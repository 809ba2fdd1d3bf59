//! Reconciling 1,000,000 invoices across three systems, timed once, with the CPU time of this
//! thread (from /proc, so other processes on a busy machine do not inflate it) next to wall time,
//! and the peak resident memory. Run: `cargo bench -p billwise-benches --bench reconcile_scale`
//! (optionally followed by the number of invoices).

use std::collections::BTreeMap;

use billwise_core::model::{OwnershipPolicy, System};
use billwise_core::ownership::{CompiledPolicy, entity_index};
use billwise_core::reconcile::{SystemRecords, reconcile};
use serde_json::{Map, Value, json};

const POLICY: &str = include_str!("../../spec/examples/ownership-policy.json");

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

/// The same data as the `ownership` bench: each system in its own random order, ~2% drift.
fn three_systems(n: u64) -> BTreeMap<System, Vec<Map<String, Value>>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let names = ["billing", "erp", "psa"];
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
    let mut out = BTreeMap::new();
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

/// This thread's user + system CPU time, in seconds (from /proc; 0 where unavailable).
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field overall.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// A line of /proc/self/status, e.g. `VmHWM` (peak resident memory).
fn status(key: &str) -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[expect(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a benchmark reads the clock; the core does not"
)]
fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let Ok(policy) = serde_json::from_str::<OwnershipPolicy>(POLICY) else {
        eprintln!("the example policy does not parse");
        return;
    };
    let Ok(policy) = CompiledPolicy::compile(&policy) else {
        eprintln!("the example policy has problems");
        return;
    };
    let kind = entity_index("invoice").unwrap_or_default();
    let data = three_systems(n);
    let records: usize = data.values().map(Vec::len).sum();
    let rss_input = status("VmRSS");
    let systems: Vec<SystemRecords<'_>> = data
        .iter()
        .map(|(system, records)| SystemRecords { system, records })
        .collect();
    for run in 1..=3 {
        let cpu0 = thread_cpu_seconds();
        let t0 = std::time::Instant::now();
        let report = reconcile(&policy, kind, None, &systems, &[]);
        let wall = t0.elapsed().as_secs_f64();
        let cpu = thread_cpu_seconds() - cpu0;
        match report {
            Ok(r) => println!(
                "run {run}: {n} invoices ({records} records in 3 systems): wall {wall:.3} s, cpu {cpu:.2} s; \
                 {} consistent, {} missing somewhere, {} with mismatches, {} corrections",
                r.summary.consistent,
                r.summary.with_missing,
                r.summary.with_mismatches,
                r.summary.corrections
            ),
            Err(e) => println!("run {run}: error {e}"),
        }
    }
    println!(
        "resident memory: {rss_input} with the input built; peak {}",
        status("VmHWM")
    );
}
