//! `Engine::apply` over a sequence of envelopes (a JSON array, or an `engine_replay` request).
//!
//! Properties: no panic and no internal error; the audit chain verifies after every envelope; an
//! applied envelope sent again is a duplicate and changes nothing; the snapshot restores to an
//! engine with the same snapshot; and the `engine_replay` operation gives the same answer twice.

#![no_main]

use billwise_core::engine::{Engine, Envelope, OutcomeStatus};
use billwise_core::json;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = common::run_op("engine_replay", data);
    let Ok(envelopes) = json::from_slice::<Vec<Envelope>>(data, &common::LIMITS) else {
        return;
    };
    let mut engine = Engine::new();
    let mut applied = Vec::new();
    for env in &envelopes {
        let before = engine.version();
        match engine.apply(env) {
            Ok(outcome) => {
                assert!(engine.version() >= before, "the version went down");
                if outcome.status == OutcomeStatus::Applied {
                    assert_eq!(engine.version(), before + 1, "applied without a new version");
                    applied.push(env);
                } else {
                    assert_eq!(engine.version(), before, "{:?} changed the version", outcome.status);
                }
            }
            Err(e) => {
                assert_ne!(e.code, billwise_core::ErrorCode::InternalError, "internal error: {e}");
                assert_eq!(engine.version(), before, "an error changed the version");
            }
        }
        let audit = engine.verify_audit().unwrap_or_else(|e| panic!("audit: {e}"));
        assert!(audit.valid, "the audit chain does not verify: {audit:?}");
    }
    let snapshot = engine.snapshot().unwrap_or_else(|e| panic!("snapshot: {e}"));
    for env in applied {
        let before = engine.version();
        let outcome = engine.apply(env).unwrap_or_else(|e| panic!("re-sent envelope: {e}"));
        assert_eq!(outcome.status, OutcomeStatus::Duplicate, "a re-sent envelope is not a duplicate");
        assert_eq!(engine.version(), before);
    }
    let mut restored = Engine::new();
    restored
        .restore(snapshot.as_bytes(), &billwise_core::json::Limits::DEFAULT)
        .unwrap_or_else(|e| panic!("the engine's own snapshot does not restore: {e}"));
    let again = restored.snapshot().unwrap_or_else(|e| panic!("snapshot: {e}"));
    assert_eq!(snapshot, again, "a restored engine has another snapshot");
});
