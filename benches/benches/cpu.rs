//! Rate resolution and the billing run measured in CPU time of the calling thread (one core), so
//! that a figure taken on a busy machine still says what one core does. Prints the median of 5 runs.
//!
//! `cargo bench -p billwise-benches --bench cpu`
//!
//! It allocates with mimalloc, as the Node addon and the Python extension do (see the `billing`
//! bench): with the system allocator each run of a million entries faults its 150 MB of output in
//! again, which measures the kernel more than the run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use std::time::Duration;

use billwise_core::billing::PreviewInvoiceRequest;
use billwise_core::changes::ContractHistory;
use billwise_core::json::Limits;
use billwise_core::model::Date;
use billwise_core::rates::{RateQuery, RateResolution};
use cpu_time::ThreadTime;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}

fn measure(mut f: impl FnMut()) -> Duration {
    median(
        (0..5)
            .map(|_| {
                let start = ThreadTime::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn report(what: &str, n: usize, t: Duration) {
    let per_second = n as f64 / t.as_secs_f64();
    println!(
        "{what:<34} {n:>9} items  {:>9.1} ms CPU  {:>6.2} M items/s",
        t.as_secs_f64() * 1e3,
        per_second / 1e6
    );
}

/// The card of the rates benchmark: 20 roles x 3 dated rates, plus 3 change orders.
fn history() -> ContractHistory {
    billwise_benches::rates_history().expect("the benchmark history")
}

fn rates() {
    let h = history();
    let roles: Vec<String> = (0..21).map(|r| format!("Role {r}")).collect();
    let resources: Vec<String> = (0..50).map(|r| format!("R-{r}")).collect();
    let tasks: Vec<String> = (0..7).map(|t| format!("T-{t}")).collect();
    let n = 1_000_000;
    let queries: Vec<RateQuery<'_>> = (0..n)
        .map(|i| RateQuery {
            role: roles[i % 21].as_str(),
            resource_id: Some(resources[i % 50].as_str()),
            task_id: Some(tasks[i % 7].as_str()),
            work_date: Date::new(
                2025 + (i % 2) as u16,
                1 + (i % 12) as u8,
                1 + (i % 28) as u8,
            )
            .unwrap(),
            rate_override: None,
        })
        .collect();
    let t = measure(|| {
        let mut found = 0usize;
        for q in &queries {
            if let RateResolution::Rate { .. } = h.resolve(std::hint::black_box(q)) {
                found += 1;
            }
        }
        std::hint::black_box(found);
    });
    report("resolve_rate (compiled history)", n, t);
}

fn main() {
    rates();
    for n in [100_000, 1_000_000] {
        let json = billwise_benches::billing_request_json(n);
        let request: PreviewInvoiceRequest =
            billwise_core::json::preview_request_from_slice(json.as_bytes(), &Limits::DEFAULT)
                .unwrap();
        let t = measure(|| {
            let preview = billwise_core::billing::preview_invoice(&request).unwrap();
            std::hint::black_box(&preview);
        });
        report("preview_invoice (typed)", n, t);
        let t = measure(|| {
            let out = billwise_core::api::run("preview_invoice", json.as_bytes(), &Limits::DEFAULT)
                .unwrap();
            std::hint::black_box(&out);
        });
        report("api::run preview_invoice (JSON)", n, t);
    }
}
