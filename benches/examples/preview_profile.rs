//! Runs the billing run once over N generated entries, for profiling:
//! `cargo run --release -p billwise-benches --example preview_profile -- N [typed|by-date|by-date-numbered|json|parse|write] [REPEAT]`.
//! `typed` runs the typed preview, `by-date` runs it with the time entries listed in date order
//! (as many exports list them; the generated ones cycle through the year), `by-date-numbered`
//! in date order with each day's ids in numeric order (so the run still sorts them), `json` runs
//! `api::run` from JSON bytes to JSON text, `parse` only parses the request, `write` parses,
//! runs and writes the preview; REPEAT runs the typed preview that many times.

// A measuring tool reads the clock and prints; the core never does.
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::print_stdout
)]

use std::time::Instant;

use billwise_core::billing::PreviewInvoiceRequest;
use billwise_core::json::Limits;

fn main() -> Result<(), billwise_core::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mode = std::env::args().nth(2).unwrap_or_else(|| "json".to_owned());
    let json = billwise_benches::billing_request_json(n);
    let start = Instant::now();
    let bytes = match mode.as_str() {
        "json" => {
            billwise_core::api::run("preview_invoice", json.as_bytes(), &Limits::DEFAULT)?.len()
        }
        _ => {
            let mut request: PreviewInvoiceRequest =
                billwise_core::json::from_slice(json.as_bytes(), &Limits::DEFAULT)?;
            if mode == "by-date" {
                request
                    .time_entries
                    .sort_by(|a, b| (a.work_date, &a.id).cmp(&(b.work_date, &b.id)));
            } else if mode == "by-date-numbered" {
                // Date order, but each day's ids in numeric order (`TE-9` before `TE-10`), which
                // is not their text order: the run still sorts each day's ids, on entries near
                // each other in memory.
                request.time_entries.sort_by_key(|e| {
                    let n = e.id.as_str().trim_start_matches("TE-").parse::<u64>();
                    (e.work_date, n.unwrap_or(0))
                });
            }
            if mode.starts_with("by-date") {
                // Read again, so that memory is laid out as reading a date-ordered export lays it.
                let sorted = billwise_core::json::to_canonical_string(&request)?;
                request = billwise_core::json::from_slice(sorted.as_bytes(), &Limits::DEFAULT)?;
            }
            let parsed = start.elapsed();
            println!("parse {:.1} ms", parsed.as_secs_f64() * 1e3);
            if mode == "parse" {
                0
            } else {
                let repeat: usize = std::env::args()
                    .nth(3)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                for _ in 1..repeat {
                    std::hint::black_box(billwise_core::billing::preview_invoice(&request)?);
                }
                let preview = billwise_core::billing::preview_invoice(&request)?;
                println!(
                    "run {:.1} ms",
                    (start.elapsed() - parsed).as_secs_f64() * 1e3
                );
                if mode == "write" {
                    billwise_core::billing::preview_json(&preview)?.len()
                } else {
                    preview.lines.len()
                }
            }
        }
    };
    println!(
        "{mode}: {n} entries in {:.1} ms ({bytes} out, {} in)",
        start.elapsed().as_secs_f64() * 1e3,
        json.len()
    );
    Ok(())
}
