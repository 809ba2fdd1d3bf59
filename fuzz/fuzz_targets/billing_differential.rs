//! The billing run against the naive reference of `core/tests/billing_reference/` (the same files
//! the proptest differential test uses): the bytes choose a run with a ledger history.

#![no_main]
#![allow(clippy::panic)]

#[path = "../../core/tests/billing_reference/generate.rs"]
#[allow(dead_code)]
mod generate;
#[path = "../../core/tests/billing_reference/reference.rs"]
#[allow(dead_code)]
mod reference;
#[path = "../../core/tests/billing_reference/differential.rs"]
#[allow(dead_code)]
mod differential;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = differential::check(data) {
        panic!("{e}");
    }
});
