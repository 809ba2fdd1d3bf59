//! The durable store: sustained envelopes per second into SQLite (one worker) and PostgreSQL
//! (four workers at once), in batches of 1,000, with the engine's own rate on the same envelopes
//! beside them. Targets (issue "A durable engine store"): SQLite ≥ 20,000/s, PostgreSQL with 4
//! workers ≥ 10,000/s.
//!
//! `make bench-store` runs it with a PostgreSQL server of its own; without
//! `BILLWISE_TEST_POSTGRES_URL` only the engine and SQLite rows are measured. Wall-clock time:
//! the database's own work (fsync, the server process) is part of what is measured.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::expect_used
)]

use std::time::Instant;

use billwise_core::engine::{Engine, Envelope};
use billwise_store::{ApplyOptions, Store};

const CONTRACTS: usize = 8;
const PER_CONTRACT: usize = 25_000;
const BATCH: usize = 1000;

/// Each contract: its setup (contract and project) and `PER_CONTRACT` PSA envelopes (time entries
/// recorded, then approved).
fn workload() -> Vec<Vec<Envelope>> {
    (0..CONTRACTS)
        .map(|_| {
            let mut v = billwise_benches::engine_setup();
            v.extend(billwise_benches::engine_envelopes(PER_CONTRACT));
            v
        })
        .collect()
}

fn row(what: &str, envelopes: usize, seconds: f64, target: Option<f64>) {
    let rate = envelopes as f64 / seconds;
    let verdict = match target {
        Some(t) if rate >= t => format!("meets {t:.0}/s"),
        Some(t) => format!("BELOW {t:.0}/s"),
        None => String::new(),
    };
    println!("{what:<48} {envelopes:>9} envelopes {seconds:>7.2} s {rate:>10.0}/s  {verdict}");
}

fn apply_all(store: &mut Store, prefix: &str, contracts: &[(usize, &Vec<Envelope>)]) {
    for (k, envelopes) in contracts {
        let id = format!("{prefix}-{k}");
        for batch in envelopes.chunks(BATCH) {
            store
                .apply(&id, batch, &ApplyOptions::default())
                .expect("apply");
        }
    }
}

fn main() {
    let work = workload();
    let total: usize = work.iter().map(Vec::len).sum();
    let run = std::process::id();

    let t = Instant::now();
    for envelopes in &work {
        let mut engine = Engine::new();
        for batch in envelopes.chunks(BATCH) {
            engine.apply_batch(batch, false).expect("apply");
        }
    }
    row(
        "engine in memory (no store)",
        total,
        t.elapsed().as_secs_f64(),
        None,
    );

    let dir = std::env::temp_dir().join(format!("billwise-bench-store-{run}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("sqlite:///{}", dir.join("bench.db").display());
    let mut store = Store::open(&url).expect("open");
    let all: Vec<(usize, &Vec<Envelope>)> = work.iter().enumerate().collect();
    let t = Instant::now();
    apply_all(&mut store, "S", &all);
    row(
        "SQLite, 1 worker, batches of 1,000",
        total,
        t.elapsed().as_secs_f64(),
        Some(20_000.0),
    );
    let t = Instant::now();
    let mut reopened = Store::open(&url).expect("open");
    let v = reopened.verify("S-0").expect("verify");
    assert!(v.valid, "{:?}", v.problems);
    println!(
        "  (a new process's first read of one contract: latest snapshot + log tail, all checks: {:.2} s)",
        t.elapsed().as_secs_f64()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);

    let Ok(pg) = std::env::var("BILLWISE_TEST_POSTGRES_URL") else {
        println!("PostgreSQL: skipped (set BILLWISE_TEST_POSTGRES_URL, or run `make bench-store`)");
        return;
    };
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..4 {
            let pg = pg.clone();
            let mine: Vec<(usize, &Vec<Envelope>)> =
                all.iter().filter(|(k, _)| k % 4 == w).copied().collect();
            s.spawn(move || {
                let mut store = Store::open(&pg).expect("open");
                apply_all(&mut store, &format!("P{run}"), &mine);
            });
        }
    });
    row(
        "PostgreSQL, 4 workers, batches of 1,000",
        total,
        t.elapsed().as_secs_f64(),
        Some(10_000.0),
    );
    // Four workers on the same contracts: each batch waits for the contract's row lock, and
    // three of every four envelopes are duplicates.
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let pg = pg.clone();
            let all = &all;
            s.spawn(move || {
                let mut store = Store::open(&pg).expect("open");
                apply_all(&mut store, &format!("Q{run}"), all);
            });
        }
    });
    row(
        "PostgreSQL, 4 workers, the same envelopes each",
        total * 4,
        t.elapsed().as_secs_f64(),
        None,
    );
}
