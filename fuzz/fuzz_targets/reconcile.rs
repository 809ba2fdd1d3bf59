//! `reconcile` (and `golden_record`, which reads the same records) from JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = common::run_op("reconcile", data);
    let _ = common::run_op("golden_record", data);
});
