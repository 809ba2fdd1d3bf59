//! The billing run measured in CPU time of the calling thread (one core), so that a figure taken on
//! a busy machine still says what one core does. Prints the median of 5 runs per size.
//!
//! `cargo bench -p billwise-benches --bench billing_cpu`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Duration;

use billwise_core::billing::PreviewInvoiceRequest;
use billwise_core::json::Limits;
use cpu_time::ThreadTime;

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
        "{what:<34} {n:>9} entries  {:>9.1} ms CPU  {:>6.2} M entries/s",
        t.as_secs_f64() * 1e3,
        per_second / 1e6
    );
}

fn main() {
    for n in [100_000, 1_000_000] {
        let json = billwise_benches::billing_request_json(n);
        let request: PreviewInvoiceRequest =
            billwise_core::json::from_slice(json.as_bytes(), &Limits::DEFAULT).unwrap();
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
