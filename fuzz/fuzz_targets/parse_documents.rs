//! Document parsing: every document type through `json::from_slice`, and the `validate` operation.
//! A document that parses must come back unchanged through its canonical JSON.

#![no_main]

use billwise_core::json::{self, to_canonical_string};
use billwise_core::model::{
    Account, ChangeOrder, Contract, Opportunity, OwnershipPolicy, Project, RateCard, WorkLog,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[path = "common.rs"]
mod common;

fn round_trip<T: DeserializeOwned + Serialize + 'static>(data: &[u8], what: &str) {
    let Ok(doc) = json::from_slice::<T>(data, &common::LIMITS) else {
        return;
    };
    let text = to_canonical_string(&doc).unwrap_or_else(|e| panic!("{what}: cannot write: {e}"));
    let again: T = json::from_slice(text.as_bytes(), &common::LIMITS)
        .unwrap_or_else(|e| panic!("{what}: canonical form does not parse: {e}\n{text}"));
    let text2 = to_canonical_string(&again).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(text, text2, "{what}: canonical form is not stable");
}

fuzz_target!(|data: &[u8]| {
    let _ = common::run_op("validate", data);
    // The same bytes as a bare document of every kind.
    round_trip::<Contract>(data, "contract");
    round_trip::<RateCard>(data, "rate_card");
    round_trip::<ChangeOrder>(data, "change_order");
    round_trip::<Project>(data, "project");
    round_trip::<WorkLog>(data, "work_log");
    round_trip::<Account>(data, "account");
    round_trip::<Opportunity>(data, "opportunity");
    round_trip::<OwnershipPolicy>(data, "ownership_policy");
    // And as the `document` of a validate request.
    if data.first() == Some(&b'{') {
        let mut wrapped = b"{\"document\":".to_vec();
        wrapped.extend_from_slice(data);
        wrapped.push(b'}');
        let _ = common::run_op("validate", &wrapped);
    }
});
