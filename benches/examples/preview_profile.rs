//! Runs the billing run once over N generated entries, for profiling:
//! `cargo run --release -p billwise-benches --example preview_profile -- N [typed|typed-reread|recycled|recycled-reread|by-date|by-date-numbered|json|parse|write] [REPEAT]`.
//! `typed` runs the typed preview, `by-date` runs it with the time entries listed in date order
//! (as many exports list them; the generated ones cycle through the year), `by-date-numbered`
//! in date order with each day's ids in numeric order (so the run still sorts them), `json` runs
//! `api::run` from JSON bytes to JSON text, `parse` only parses the request, `write` parses,
//! runs and writes the preview; REPEAT runs the typed preview that many times.
//!
//! `recycled` is `typed` run with one `PreviewBuffers`, each preview handed back to it;
//! `recycled-reread` is `recycled` with the request read twice.
//!
//! `typed-reread` is `typed` with the request read twice (parse, write it out, parse again), as
//! the `by-date` modes read it, so that those three start from the same heap.
//!
//! Each run is timed without dropping its preview (as the `billing` benchmark times it), and the
//! page faults taken while it runs are printed with its time (Linux; from `/proc/self/stat`).
//! They tell the layouts apart from the heap: in `typed`, as in the benchmark, each run's output
//! (about 150 MB at a million entries) is fresh memory the kernel hands out a 4 KB page at a time;
//! in the modes that read the request twice, glibc's malloc serves it from memory the process
//! freed earlier, without a fault.

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
                billwise_core::json::preview_request_from_slice(json.as_bytes(), &Limits::DEFAULT)?;
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
            if mode.starts_with("by-date") || mode.ends_with("-reread") {
                // Read again, so that memory is laid out as reading the export (date-ordered or
                // not) lays it, and these modes start from the same heap.
                let text = billwise_core::json::to_canonical_string(&request)?;
                request = billwise_core::json::preview_request_from_slice(
                    text.as_bytes(),
                    &Limits::DEFAULT,
                )?;
            }
            println!("parse {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
            if mode == "parse" {
                0
            } else {
                let repeat: usize = std::env::args()
                    .nth(3)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                let mut preview = None;
                let mut runs = Vec::with_capacity(repeat);
                let mut buffers = billwise_core::billing::PreviewBuffers::new();
                for _ in 0..repeat.max(1) {
                    // The last preview is dropped (or recycled) here, outside the timing.
                    if let Some(last) = preview.take() {
                        if mode.starts_with("recycled") {
                            buffers.recycle(last);
                        } else {
                            drop(last);
                        }
                    }
                    let faults = minor_faults();
                    let run = Instant::now();
                    preview = Some(if mode.starts_with("recycled") {
                        billwise_core::billing::preview_invoice_with(&request, &mut buffers)?
                    } else {
                        billwise_core::billing::preview_invoice(&request)?
                    });
                    let ms = run.elapsed().as_secs_f64() * 1e3;
                    runs.push(ms);
                    println!(
                        "run {ms:.1} ms, {} page faults",
                        minor_faults().saturating_sub(faults)
                    );
                }
                runs.sort_by(f64::total_cmp);
                println!(
                    "run median {:.1} ms over {} runs",
                    runs.get(runs.len() / 2).copied().unwrap_or_default(),
                    runs.len()
                );
                let Some(preview) = preview else {
                    return Ok(());
                };
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

/// The process's minor page faults so far (0 where `/proc/self/stat` cannot be read).
fn minor_faults() -> u64 {
    // Field 10 of `/proc/self/stat`, counted after the command name in parentheses (which may
    // hold spaces).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let (_, fields) = stat.rsplit_once(") ")?;
            fields.split(' ').nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}
