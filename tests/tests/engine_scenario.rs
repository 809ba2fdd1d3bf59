//! The sample event log gives, through the engine, the invoice the scenario computes from documents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use billwise_conformance::cases::spec_dir;
use billwise_core::api;
use billwise_core::billing::PreviewInvoiceRequest;
use billwise_core::engine::{Engine, Envelope, OutcomeStatus};
use billwise_core::json::{Limits, from_slice, to_canonical_string};
use billwise_core::model::{Id, SchemaVersion};

fn read<T: serde::de::DeserializeOwned + 'static>(rel: &str) -> T {
    from_slice(
        &std::fs::read(spec_dir().join(rel)).unwrap(),
        &Limits::DEFAULT,
    )
    .unwrap()
}

#[test]
fn the_event_log_bills_march_exactly_as_the_documents_do() {
    let limits = Limits::DEFAULT;
    // From documents: commit January and February, credit 11 h, preview March.
    let m1: PreviewInvoiceRequest = read("examples/scenario/month-1-january.json");
    let mut m2: PreviewInvoiceRequest = read("examples/scenario/month-2-february.json");
    let mut m3: PreviewInvoiceRequest = read("examples/scenario/month-3-march.json");
    let commit = |run: PreviewInvoiceRequest, id: &str| {
        api::commit_invoice(
            &api::CommitInvoiceRequest {
                schema_version: SchemaVersion,
                invoice_id: Id::new(id).unwrap(),
                run,
            },
            &limits,
        )
        .unwrap()
        .ledger
    };
    m2.ledger = Some(commit(m1, "INV-2026-0107"));
    let l2 = commit(m2, "INV-2026-0212");
    let l3 = api::record_credit(
        &api::RecordCreditRequest {
            schema_version: SchemaVersion,
            ledger: l2,
            currency: m3.contract.currency,
            credits: read("examples/scenario/credit-march.json"),
        },
        &limits,
    )
    .unwrap();
    m3.ledger = Some(l3);
    let expected = api::preview_invoice(&m3, &limits).unwrap();

    // From events, with the ownership policy.
    let mut engine = Engine::with_ownership_policy(read("examples/ownership-policy.json")).unwrap();
    let log = std::fs::read_to_string(spec_dir().join("examples/scenario/events.jsonl")).unwrap();
    let mut rejected = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let env: Envelope = from_slice(line.as_bytes(), &limits).unwrap();
        let o = engine.apply(&env).unwrap();
        if o.status == OutcomeStatus::Rejected {
            rejected.push(o.rejection.unwrap().code.as_str().to_owned());
        }
    }
    assert_eq!(rejected, ["ENGINE_UNKNOWN_ENTITY", "OWNERSHIP_NOT_OWNER"]);
    let actual = engine.preview_invoice(m3.period, m3.as_of).unwrap();
    assert_eq!(
        to_canonical_string(&actual).unwrap(),
        to_canonical_string(&expected).unwrap()
    );
    assert!(engine.verify_audit().unwrap().valid);
}
