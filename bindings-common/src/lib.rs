//! The text protocol between the JavaScript bindings and their JS wrapper.
//!
//! The native addon (`bindings-node`) and the WebAssembly module (`bindings-wasm`) export the same
//! three functions, and one generic JS wrapper (`js/src/boundary.js`) turns them into the public
//! API. Every call returns a string, never throws:
//!
//! - success: the canonical JSON of the response (it starts with `{`);
//! - failure: [`ERROR_MARK`] followed by the canonical JSON of
//!   `{class, code, message, path, details}`, which the wrapper rethrows as a JS `Error`.
//!
//! A panic is caught here and becomes an `INTERNAL_ERROR` (on targets that unwind; on
//! `wasm32-unknown-unknown` a panic traps, and the wrapper resets the instance instead).

use std::panic::{AssertUnwindSafe, catch_unwind};

use billwise_core::json::{Limits, write_canonical};
use billwise_core::{Error, ErrorCode, api};
use serde_json::{Map, Value, json};

/// The first character of an error answer. JSON text never starts with it.
pub const ERROR_MARK: char = '!';

/// Runs operation `op` on the JSON request `input` and answers in the protocol above.
pub fn run(op: &str, input: &[u8], limits: &Limits) -> String {
    guarded(|| api::run(op, input, limits))
}

/// A held engine (`billwise_core::api::EngineSession`) behind the same protocol: the JS `Engine`
/// class owns one through the addon's or the module's `NativeEngine`.
#[derive(Debug, Default)]
pub struct Session {
    session: api::EngineSession,
}

impl Session {
    /// Replaces the engine with a new one made from `options` (JSON, or empty text); answers
    /// `{"version":0}`, or an error answer and the engine is left as it was.
    pub fn init(&mut self, options: &[u8], limits: &Limits) -> String {
        guarded(|| {
            self.session = api::EngineSession::new(options, limits)?;
            Ok(r#"{"version":0}"#.to_owned())
        })
    }

    /// Runs engine method `method` on the JSON request `input` (see `api::ENGINE_METHODS`).
    pub fn call(&mut self, method: &str, input: &[u8], limits: &Limits) -> String {
        guarded(|| self.session.call(method, input, limits))
    }
}

/// The error answer for `e`.
pub fn error_answer(e: &Error) -> String {
    let mut payload = Map::new();
    payload.insert("class".into(), e.class().as_str().into());
    payload.insert("exception".into(), e.class().exception().into());
    payload.insert("code".into(), e.code.as_str().into());
    payload.insert("message".into(), e.message.clone().into());
    payload.insert("path".into(), e.path.clone().into());
    payload.insert("details".into(), Value::Object(e.details.clone()));
    let mut out = String::from(ERROR_MARK);
    write_canonical(&Value::Object(payload), &mut out);
    out
}

/// Runs `f`, turning an error or a panic into an error answer.
pub fn guarded(f: impl FnOnce() -> Result<String, Error>) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(json)) => json,
        Ok(Err(e)) => error_answer(&e),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            error_answer(
                &Error::internal(format!("billwise panicked: {what}"))
                    .with("panic", what.chars().take(200).collect::<String>()),
            )
        }
    }
}

/// What the wrapper exports besides the operations: the version, the schema version, the
/// operation names and the error-code table, as canonical JSON.
pub fn info() -> String {
    let codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|c| json!({"code": c.as_str(), "class": c.class().as_str(), "exception": c.class().exception(), "description": c.description()}))
        .collect();
    let value = json!({
        "version": billwise_core::VERSION,
        "schema_version": 1,
        "operations": api::OPERATIONS,
        "error_codes": codes,
    });
    let mut out = String::new();
    write_canonical(&value, &mut out);
    out
}

/// Panics inside the guard, so tests can prove a panic never reaches the host.
#[expect(clippy::panic, reason = "a deliberate panic, to test the guard")]
pub fn panic_for_tests() -> String {
    guarded(|| panic!("deliberate panic for tests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_request_answers_with_canonical_json() {
        let out = run(
            "validate",
            br#"{"document":{"kind":"payment","id":"P"}}"#,
            &Limits::DEFAULT,
        );
        assert!(out.starts_with('{'), "{out}");
    }

    #[test]
    fn an_error_answer_starts_with_the_mark_and_carries_class_code_and_path() {
        let out = run("validate", b"{", &Limits::DEFAULT);
        let payload: Value = serde_json::from_str(out.strip_prefix(ERROR_MARK).unwrap()).unwrap();
        assert_eq!(payload["class"], "input");
        assert_eq!(payload["code"], "INPUT_MALFORMED_JSON");
        assert_eq!(payload["path"], "");
        assert!(payload["details"].is_object());
    }

    #[test]
    fn an_unknown_operation_is_an_input_error() {
        let out = run("no_such_op", b"{}", &Limits::DEFAULT);
        assert!(out.contains("INPUT_INVALID_VALUE"), "{out}");
    }

    #[test]
    fn a_held_engine_answers_in_the_protocol_and_survives_an_error() {
        let mut s = Session::default();
        assert_eq!(s.init(b"", &Limits::DEFAULT), r#"{"version":0}"#);
        let bad = s.init(br#"{"ownership_policy": 3}"#, &Limits::DEFAULT);
        assert!(bad.starts_with(ERROR_MARK), "{bad}");
        let bad = s.call("apply", b"{", &Limits::DEFAULT);
        assert!(bad.contains("INPUT_MALFORMED_JSON"), "{bad}");
        assert_eq!(s.call("version", b"", &Limits::DEFAULT), r#"{"version":0}"#);
    }

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let out = panic_for_tests();
        assert!(out.starts_with(ERROR_MARK));
        assert!(out.contains("\"code\":\"INTERNAL_ERROR\""), "{out}");
        assert!(out.contains("deliberate panic for tests"), "{out}");
    }

    #[test]
    fn info_lists_every_operation_and_code() {
        let v: Value = serde_json::from_str(&info()).unwrap();
        assert_eq!(
            v["operations"].as_array().unwrap().len(),
            api::OPERATIONS.len()
        );
        assert_eq!(
            v["error_codes"].as_array().unwrap().len(),
            ErrorCode::ALL.len()
        );
        assert_eq!(v["version"], billwise_core::VERSION);
    }
}
