//! `preview_invoice` from JSON: never a panic or an internal error, the same answer twice, canonical
//! output; and `commit_invoice` of the same run agrees with the preview.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = common::run_op("preview_invoice", data);
});
