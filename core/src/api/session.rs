//! A held engine driven by JSON text: [`Engine`]'s methods by name, for bindings that talk to the
//! core in JSON (the Node and WebAssembly packages). The Python package wraps [`Engine`] itself.
//!
//! Every method takes a JSON request (empty text for the methods that need none) and answers
//! with canonical JSON, so a held engine gives the same bytes as `engine_apply` and `engine_replay`.

use serde::{Deserialize, Serialize};

use super::PreviewQuery;
use crate::engine::{Engine, Envelope, Outcome};
use crate::error::{Error, ErrorCode};
use crate::json::{self, Limits};
use crate::model::{Date, OwnershipPolicy, SchemaVersion};

/// The methods [`EngineSession::call`] answers, in the order the documentation lists them.
pub const ENGINE_METHODS: &[&str] = &[
    "apply",
    "apply_batch",
    "snapshot",
    "restore",
    "preview_invoice",
    "exceptions",
    "metrics",
    "verify_audit",
    "version",
];

/// How to make a new engine.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EngineOptions {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The ownership policy the engine enforces.
    #[serde(default)]
    pub ownership_policy: Option<OwnershipPolicy>,
}

/// `apply_batch`: envelopes applied in order.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ApplyBatchRequest {
    /// The envelopes, in the order received.
    pub envelopes: Vec<Envelope>,
    /// Apply all envelopes or none (default false: each on its own).
    #[serde(default)]
    pub atomic: bool,
}

/// What `apply_batch` did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApplyBatchResponse {
    /// One outcome per envelope, in order.
    pub outcomes: Vec<Outcome>,
    /// The engine version after the batch.
    pub version: u64,
}

/// `metrics`: the day the figures are computed for.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// The day of the figures (aging counts back from it).
    pub as_of: Date,
}

/// The engine version, answered by `restore` and `version`.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EngineVersion {
    /// How many envelopes have been applied.
    pub version: u64,
}

/// One engine, held between calls.
#[derive(Debug, Clone, Default)]
pub struct EngineSession {
    engine: Engine,
}

impl EngineSession {
    /// A new engine; `options` is JSON ([`EngineOptions`]) or empty text.
    pub fn new(options: &[u8], limits: &Limits) -> Result<EngineSession, Error> {
        let options: EngineOptions = if is_blank(options) {
            EngineOptions::default()
        } else {
            json::from_slice(options, limits)?
        };
        let engine = match options.ownership_policy {
            Some(policy) => Engine::with_ownership_policy(policy)?,
            None => Engine::new(),
        };
        Ok(EngineSession { engine })
    }

    /// The engine held.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs `method` (one of [`ENGINE_METHODS`]) on the JSON request `input` and answers with
    /// canonical JSON. `snapshot` answers with the snapshot itself; `restore` takes one.
    pub fn call(&mut self, method: &str, input: &[u8], limits: &Limits) -> Result<String, Error> {
        let e = &mut self.engine;
        match method {
            "apply" => {
                let envelope: Envelope = json::from_slice(input, limits)?;
                json::to_canonical_string(&e.apply(&envelope)?)
            }
            "apply_batch" => {
                let r: ApplyBatchRequest = json::from_slice(input, limits)?;
                let outcomes = e.apply_batch(&r.envelopes, r.atomic)?;
                json::to_canonical_string(&ApplyBatchResponse {
                    outcomes,
                    version: e.version(),
                })
            }
            "snapshot" => e.snapshot(),
            "restore" => {
                e.restore(input, limits)?;
                json::to_canonical_string(&EngineVersion {
                    version: e.version(),
                })
            }
            "preview_invoice" => {
                let q: PreviewQuery = json::from_slice(input, limits)?;
                crate::billing::preview_json(&e.preview_invoice(q.period, q.as_of)?)
            }
            "exceptions" => json::to_canonical_string(&e.exceptions()),
            "metrics" => {
                let q: MetricsQuery = json::from_slice(input, limits)?;
                json::to_canonical_string(&e.metrics(q.as_of)?)
            }
            "verify_audit" => json::to_canonical_string(&e.verify_audit()?),
            "version" => json::to_canonical_string(&EngineVersion {
                version: e.version(),
            }),
            _ => Err(Error::new(
                ErrorCode::InputInvalidValue,
                format!(
                    "`{}` is not an engine method; expected one of {}",
                    method.chars().take(40).collect::<String>(),
                    ENGINE_METHODS.join(", ")
                ),
            )),
        }
    }
}

fn is_blank(input: &[u8]) -> bool {
    input.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn call(s: &mut EngineSession, method: &str, input: Value) -> Result<Value, Error> {
        let text = if input.is_null() {
            String::new()
        } else {
            input.to_string()
        };
        s.call(method, text.as_bytes(), &Limits::DEFAULT)
            .map(|out| serde_json::from_str(&out).unwrap())
    }

    fn contract_envelope(key: &str) -> Value {
        json!({
            "idempotency_key": key, "correlation_id": "c-1", "source": "crm",
            "occurred_at": "2026-01-02",
            "event": {"type": "contract.recorded", "contract": {
                "schema_version": 1, "id": "CTR-1", "account_id": "ACC-1", "legal_entity": "US01",
                "currency": "USD", "billing_model": "time_and_materials", "status": "active",
                "start_date": "2026-01-01", "end_date": "2026-12-31",
                "rate_card": {"entries": [{"role": "Developer",
                    "rate": {"amount": "100.00", "currency": "USD"}, "effective_from": "2026-01-01"}]}
            }}
        })
    }

    #[test]
    fn a_held_engine_applies_envelopes_and_answers_like_the_engine() {
        let mut s = EngineSession::new(b"", &Limits::DEFAULT).unwrap();
        let out = call(&mut s, "apply", contract_envelope("k-1")).unwrap();
        assert_eq!(out["status"], "applied");
        let again = call(&mut s, "apply", contract_envelope("k-1")).unwrap();
        assert_eq!(again["status"], "duplicate");
        assert_eq!(
            call(&mut s, "version", Value::Null).unwrap(),
            json!({"version": 1})
        );
        let audit = call(&mut s, "verify_audit", Value::Null).unwrap();
        assert_eq!(audit["entries"], 1);
    }

    #[test]
    fn a_snapshot_restores_into_another_held_engine_with_the_same_bytes() {
        let mut a = EngineSession::new(b"{}", &Limits::DEFAULT).unwrap();
        call(&mut a, "apply", contract_envelope("k-1")).unwrap();
        let snap = a.call("snapshot", b"", &Limits::DEFAULT).unwrap();
        let mut b = EngineSession::new(b"", &Limits::DEFAULT).unwrap();
        let v = b
            .call("restore", snap.as_bytes(), &Limits::DEFAULT)
            .unwrap();
        assert_eq!(v, r#"{"version":1}"#);
        assert_eq!(b.call("snapshot", b"", &Limits::DEFAULT).unwrap(), snap);
    }

    #[test]
    fn an_unknown_method_or_a_bad_request_is_an_input_error() {
        let mut s = EngineSession::new(b"", &Limits::DEFAULT).unwrap();
        let err = call(&mut s, "teleport", Value::Null).unwrap_err();
        assert_eq!(err.code, ErrorCode::InputInvalidValue);
        assert!(err.message.contains("apply_batch"), "{}", err.message);
        let err = call(&mut s, "metrics", json!({"as_of": "2026-02-30"})).unwrap_err();
        assert_eq!(err.code, ErrorCode::InputInvalidDate);
        assert_eq!(err.path, "/as_of");
        let err = call(
            &mut s,
            "preview_invoice",
            json!({"period": {"start": "2026-01-01",
            "end": "2026-01-31"}, "as_of": "2026-02-01"}),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::EngineNoContract);
        // The engine is unchanged and still answers.
        assert_eq!(
            call(&mut s, "version", Value::Null).unwrap(),
            json!({"version": 0})
        );
    }

    #[test]
    fn an_atomic_batch_answers_every_outcome_and_the_version() {
        let mut s = EngineSession::new(b"", &Limits::DEFAULT).unwrap();
        let out = call(
            &mut s,
            "apply_batch",
            json!({"envelopes": [contract_envelope("k-1"), contract_envelope("k-1")], "atomic": true}),
        )
        .unwrap();
        assert_eq!(out["version"], 1);
        assert_eq!(out["outcomes"][0]["status"], "applied");
        assert_eq!(out["outcomes"][1]["status"], "duplicate");
    }
}
