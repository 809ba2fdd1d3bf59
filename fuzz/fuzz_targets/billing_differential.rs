//! The billing run against the reference model of `core/tests/billing_model/` (the same files its
//! proptest uses): the bytes choose a request, and the run must give the model's answer.

#![no_main]
#![allow(clippy::panic)]

#[path = "../../core/tests/billing_model/compare.rs"]
#[allow(dead_code)]
mod compare;
#[path = "../../core/tests/billing_model/gen.rs"]
#[allow(dead_code)]
mod generate;
#[path = "../../core/tests/billing_model/model.rs"]
#[allow(dead_code)]
mod model;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = compare::check(data) {
        panic!("{e}");
    }
});
