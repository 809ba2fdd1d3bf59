//! Times the engine's hot paths once, for profiling and for CPU-time figures on a busy machine:
//! `cargo run --release -p billwise-benches --example engine_profile -- N [gen|apply|billed|atomic|all|snapshot]`.
//! `gen` only builds the envelopes; `apply` also applies them; `billed` applies them after an
//! invoice that billed 30,000 of 100,000 other entries (a billed ledger of that size); `atomic`
//! does the same in atomic batches of two (an entry recorded, then approved); `all` also snapshots
//! that engine and restores it; `snapshot` records N approved entries, then snapshots and
//! restores. `perf stat` on `gen` and `apply` gives the CPU time of applying.

// A measuring tool reads the clock and prints; the core never does.
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

use std::time::Instant;

use billwise_core::engine::Engine;
use billwise_core::json::Limits;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let mode = std::env::args().nth(2).unwrap_or_else(|| "all".to_owned());
    let mut setup = billwise_benches::engine_setup();
    // `billed`: the envelopes are applied after an invoice that billed 100,000 other entries.
    if mode == "billed" || mode == "atomic" {
        setup.extend(billwise_benches::engine_billed(100_000));
    }
    let envelopes = if mode == "snapshot" {
        billwise_benches::engine_entries(n)
    } else {
        billwise_benches::engine_envelopes(n)
    };
    if mode == "gen" {
        println!("built {} envelopes", envelopes.len());
        return;
    }
    let mut e = Engine::new();
    for s in &setup {
        let _ = e.apply(s);
    }
    if mode == "billed" || mode == "atomic" {
        let ledger = e.state().ledger.as_ref().map_or(0, |l| l.entries.len());
        println!("billed ledger: {ledger} entries");
    }
    let t = Instant::now();
    if mode == "atomic" {
        for pair in envelopes.chunks(2) {
            let _ = e.apply_batch(pair, true);
        }
    } else {
        for env in &envelopes {
            let _ = e.apply(env);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "apply: {n} envelopes in {secs:.3} s = {:.0}/s (wall clock)",
        n as f64 / secs
    );
    if mode == "apply" || mode == "billed" || mode == "atomic" {
        return;
    }
    let t = Instant::now();
    let snap = e.snapshot().unwrap_or_default();
    println!(
        "snapshot: {} entries, {} bytes in {:.3} s",
        e.state().time_entries.len(),
        snap.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut r = Engine::new();
    let ok = r.restore(snap.as_bytes(), &Limits::DEFAULT).is_ok();
    println!("restore: {ok} in {:.3} s", t.elapsed().as_secs_f64());
}
