//! The billing run: eligibility, rate resolution, pricing, the ceiling and the explained output.
//!
//! `cargo bench -p billwise-benches --bench billing` (and `--bench billing_system_alloc`)
//!
//! `preview_invoice` runs on a parsed request; `preview_invoice_with_recycled_buffers` runs it
//! into memory kept from the run before; `run_preview_invoice` is the whole operation a binding
//! calls (JSON bytes in, canonical JSON out).
//!
//! This binary allocates with mimalloc, as the Node addon and the Python extension do: a
//! process that runs one large preview after another gets the memory the last one freed back
//! without asking the kernel again. `billing_system_alloc` runs the same benchmarks with the
//! system allocator (glibc's malloc on Linux), which returns each run's large blocks (about
//! 150 MB at a million entries) to the kernel, so that each run faults them in again, 4 KB at a
//! time (about 36,000 faults, some 90 ms of a run at a million entries on the machine measured).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "billing/runs.rs"]
mod runs;

fn main() {
    divan::main();
}
