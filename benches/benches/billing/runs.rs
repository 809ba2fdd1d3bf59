//! The billing benchmarks, shared by `billing` (mimalloc) and `billing_system_alloc` (the
//! system allocator).

use billwise_core::billing::PreviewInvoiceRequest;
use billwise_core::json::Limits;

/// The generated request over `n` entries, parsed, with its JSON text. The text is kept alive
/// through the benchmark, as a process holding its input would: freeing it would leave the runs
/// memory to reuse that a real caller's heap may not have.
fn request(n: usize) -> (String, PreviewInvoiceRequest) {
    let json = billwise_benches::billing_request_json(n);
    let request =
        billwise_core::json::preview_request_from_slice(json.as_bytes(), &Limits::DEFAULT)
            .expect("a valid request");
    (json, request)
}

#[divan::bench(args = [100_000, 1_000_000], sample_count = 5, sample_size = 1)]
fn preview_invoice(bencher: divan::Bencher, n: usize) {
    let (_json, request) = request(n);
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| billwise_core::billing::preview_invoice(divan::black_box(&request)));
}

/// `preview_invoice` as a process that runs many large previews would: one `PreviewBuffers`
/// kept across the runs, each preview handed back to it (inside the timing).
#[divan::bench(args = [100_000, 1_000_000], sample_count = 5, sample_size = 1)]
fn preview_invoice_with_recycled_buffers(bencher: divan::Bencher, n: usize) {
    let (_json, request) = request(n);
    let mut buffers = billwise_core::billing::PreviewBuffers::new();
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench_local(|| {
            let preview = billwise_core::billing::preview_invoice_with(
                divan::black_box(&request),
                &mut buffers,
            )
            .expect("a preview");
            divan::black_box(&preview);
            buffers.recycle(preview);
        });
}

#[divan::bench(args = [100_000, 1_000_000], sample_count = 5, sample_size = 1)]
fn run_preview_invoice(bencher: divan::Bencher, n: usize) {
    let json = billwise_benches::billing_request_json(n);
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            billwise_core::api::run(
                "preview_invoice",
                divan::black_box(json.as_bytes()),
                &Limits::DEFAULT,
            )
        });
}
