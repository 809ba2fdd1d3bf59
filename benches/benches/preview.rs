//! The billing run over many time entries: reading the request, the run itself, and writing the
//! canonical JSON response (the figures the Python benchmark compares its own against).

use billwise_core::api;
use billwise_core::billing::PreviewInvoiceRequest;
use billwise_core::json::{self, Limits};

fn main() {
    divan::main();
}

const SIZES: [usize; 2] = [100_000, 1_000_000];

/// JSON bytes to canonical JSON, as `billwise run preview_invoice` does.
#[divan::bench(args = SIZES, sample_count = 5)]
fn run_from_json(bencher: divan::Bencher, n: usize) {
    let input = billwise_benches::preview_request_json(n);
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            api::run(
                "preview_invoice",
                divan::black_box(input.as_bytes()),
                &Limits::DEFAULT,
            )
        });
}

/// Reading the request only (limits scan and typed parse).
#[divan::bench(args = SIZES, sample_count = 5)]
fn parse_request(bencher: divan::Bencher, n: usize) {
    let input = billwise_benches::preview_request_json(n);
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            json::preview_request_from_slice(divan::black_box(input.as_bytes()), &Limits::DEFAULT)
        });
}

/// The run on a parsed request.
#[divan::bench(args = SIZES, sample_count = 5)]
fn preview_parsed(bencher: divan::Bencher, n: usize) {
    let input = billwise_benches::preview_request_json(n);
    let request: Option<PreviewInvoiceRequest> =
        json::preview_request_from_slice(input.as_bytes(), &Limits::DEFAULT).ok();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            request
                .as_ref()
                .map(|r| api::preview_invoice(divan::black_box(r), &Limits::DEFAULT))
        });
}

/// Writing the response as canonical JSON.
#[divan::bench(args = SIZES, sample_count = 5)]
fn write_response(bencher: divan::Bencher, n: usize) {
    let input = billwise_benches::preview_request_json(n);
    let preview = json::preview_request_from_slice(input.as_bytes(), &Limits::DEFAULT)
        .ok()
        .and_then(|r| api::preview_invoice(&r, &Limits::DEFAULT).ok());
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            preview
                .as_ref()
                .map(|p| json::to_canonical_string(divan::black_box(p)))
        });
}
