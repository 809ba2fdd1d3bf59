//! The billing benchmarks of `billing`, with the system allocator (see `billing.rs`).
//!
//! `cargo bench -p billwise-benches --bench billing_system_alloc`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "billing/runs.rs"]
mod runs;

fn main() {
    divan::main();
}
