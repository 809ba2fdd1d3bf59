//! Reading and validating documents.

use billwise_core::api::validate_document;
use billwise_core::json::Limits;
use billwise_core::model::DocumentKind;

fn main() {
    divan::main();
}

#[divan::bench(args = [1_000, 100_000])]
fn validate_work_log(bencher: divan::Bencher, n: usize) {
    let json = billwise_benches::work_log_json(n);
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| {
            validate_document(
                divan::black_box(json.as_bytes()),
                Some(DocumentKind::WorkLog),
                None,
                &Limits::DEFAULT,
            )
        });
}

#[divan::bench]
fn validate_contract(bencher: divan::Bencher) {
    let json = billwise_benches::contract_json();
    bencher.bench(|| {
        validate_document(
            divan::black_box(json.as_bytes()),
            Some(DocumentKind::Contract),
            None,
            &Limits::DEFAULT,
        )
    });
}
