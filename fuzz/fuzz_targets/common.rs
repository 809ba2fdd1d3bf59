//! Checks shared by the fuzz targets. A target panics (and libFuzzer reports a crash) when billwise
//! panics, returns `INTERNAL_ERROR`, or breaks one of these properties.

#![allow(dead_code, clippy::panic)]

use billwise_core::ErrorCode;
use billwise_core::api;
use billwise_core::json::Limits;

/// Limits small enough that a fuzz run spends its time in the rules, not in huge inputs.
pub const LIMITS: Limits = Limits {
    max_bytes: 1 << 20,
    max_depth: 64,
    max_items: 10_000,
    max_string_bytes: 4096,
};

/// Runs `op` on `data` twice: the outcome must be the same both times (no hidden state), never an
/// internal error, and a result must be canonical JSON (parsing it and writing it again gives the
/// same bytes).
pub fn run_op(op: &str, data: &[u8]) -> Option<String> {
    let first = api::run(op, data, &LIMITS);
    let second = api::run(op, data, &LIMITS);
    match (&first, &second) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{op}: two runs gave different results"),
        (Err(a), Err(b)) => {
            assert_eq!(a.code, b.code, "{op}: two runs gave different errors");
            assert_eq!(a.path, b.path, "{op}: two runs gave different error paths");
        }
        _ => panic!("{op}: one run failed and one did not: {first:?} / {second:?}"),
    }
    match first {
        Ok(out) => {
            let value: serde_json::Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{op}: result is not JSON: {e}"));
            let again = billwise_core::json::to_canonical_string(&value)
                .unwrap_or_else(|e| panic!("{op}: result cannot be written again: {e}"));
            assert_eq!(out, again, "{op}: result is not canonical");
            Some(out)
        }
        Err(e) => {
            assert_ne!(e.code, ErrorCode::InternalError, "{op}: internal error: {e}");
            assert!(!e.message.is_empty(), "{op}: error without a message: {e:?}");
            None
        }
    }
}
