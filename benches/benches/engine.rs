//! The event engine: applying envelopes (audit chain included), snapshot and restore.
//!
//! `cargo bench -p billwise-benches --bench engine`. Targets: 1,000,000 envelopes applied at
//! 200,000 or more per second; snapshot and restore of a 100,000-entry contract under 1 s each.

use billwise_core::engine::{Engine, Envelope};
use billwise_core::json::Limits;

fn main() {
    divan::main();
}

/// A contract with `n` approved time entries, each recorded by one event.
fn engine_with(n: usize) -> Engine {
    let mut e = Engine::new();
    for env in billwise_benches::engine_setup()
        .iter()
        .chain(billwise_benches::engine_entries(n).iter())
    {
        let _ = e.apply(env);
    }
    e
}

/// Times applying `envelopes` into an engine that has applied `setup`: one by one, or in atomic
/// batches of `atomic_batch` envelopes.
fn bench_apply(
    bencher: divan::Bencher,
    setup: &[Envelope],
    envelopes: &[Envelope],
    atomic_batch: Option<usize>,
) {
    bencher
        .counter(divan::counter::ItemsCount::new(envelopes.len()))
        .with_inputs(|| {
            let mut e = Engine::new();
            for s in setup {
                let _ = e.apply(s);
            }
            e
        })
        .bench_local_values(|mut e| {
            match atomic_batch {
                Some(n) => {
                    for batch in envelopes.chunks(n) {
                        let _ = divan::black_box(e.apply_batch(batch, true));
                    }
                }
                None => {
                    for env in envelopes {
                        let _ = divan::black_box(e.apply(env));
                    }
                }
            }
            e
        });
}

/// The engine setup and an invoice that billed 30,000 of 100,000 other entries.
fn setup_after_an_invoice() -> Vec<Envelope> {
    billwise_benches::engine_setup()
        .into_iter()
        .chain(billwise_benches::engine_billed(100_000))
        .collect()
}

/// 1,000,000 envelopes (500,000 entries recorded, then approved) into a fresh engine.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn apply_1m_envelopes(bencher: divan::Bencher) {
    let setup = billwise_benches::engine_setup();
    let envelopes = billwise_benches::engine_envelopes(1_000_000);
    bench_apply(bencher, &setup, &envelopes, None);
}

/// 100,000 envelopes (50,000 entries recorded, then approved) into an engine whose billed ledger
/// already holds an invoice of 30,000 entries: an approval looks its item up in the ledger, and
/// must not index the whole ledger again (it did: 169 envelopes per second).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn apply_100k_envelopes_after_an_invoice(bencher: divan::Bencher) {
    let envelopes = billwise_benches::engine_envelopes(100_000);
    bench_apply(bencher, &setup_after_an_invoice(), &envelopes, None);
}

/// The same 100,000 envelopes into the same engine, in atomic batches of two (an entry recorded,
/// then approved): a batch must cost what it changes, not the engine's size (a copy of the
/// engine per batch made this take minutes).
#[divan::bench(sample_count = 3, sample_size = 1)]
fn apply_100k_envelopes_in_atomic_pairs_after_an_invoice(bencher: divan::Bencher) {
    let envelopes = billwise_benches::engine_envelopes(100_000);
    bench_apply(bencher, &setup_after_an_invoice(), &envelopes, Some(2));
}

/// A snapshot of a contract with 100,000 approved time entries (100,002 events in its audit).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn snapshot_100k_entries(bencher: divan::Bencher) {
    let e = engine_with(100_000);
    bencher.bench(|| e.snapshot());
}

/// Restoring that snapshot (its audit chain verified).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn restore_100k_entries(bencher: divan::Bencher) {
    let snap = engine_with(100_000).snapshot().unwrap_or_default();
    bencher.bench(|| {
        let mut e = Engine::new();
        e.restore(divan::black_box(snap.as_bytes()), &Limits::DEFAULT)
            .map(|()| e.version())
    });
}
