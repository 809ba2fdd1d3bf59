//! One preview compared with the model: the implementation's answer (or code), the model's, and
//! where they differ. Shared by the tests of `main.rs` and the fuzz target `billing_differential`.

use billwise_core::api;
use billwise_core::json::Limits;
use serde_json::Value;

use crate::model::{self, D, Refusal, dec};

/// The model against the run on the request that `bytes` choose: `Err` says where they differ.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    check_preview(&crate::generate::request(bytes)).map(|_| ())
}

/// The implementation: the JSON result, or the error code.
pub fn run(op: &str, req: &Value) -> Result<Value, String> {
    let input = serde_json::to_vec(req).unwrap();
    match api::run(op, &input, &Limits::DEFAULT) {
        Ok(text) => Ok(serde_json::from_str(&text).unwrap()),
        Err(e) => Err(e.code.as_str().to_owned()),
    }
}

pub fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// The paths where two JSON values differ.
pub fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}/{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(p, q, &format!("{path}/{i}"), out);
            }
        }
        _ => {
            if a != b {
                out.push(format!(
                    "{path}: implementation {} / model {}",
                    compact(a),
                    compact(b)
                ));
            }
        }
    }
}

pub fn explain(what: &str, req: &Value, imp: &Value, model: &Value) -> String {
    let mut d = vec![];
    diff(imp, model, "", &mut d);
    format!(
        "{what}\nrequest: {}\ndifferences:\n  {}\nimplementation: {}\nmodel:          {}",
        compact(req),
        d.join("\n  "),
        compact(imp),
        compact(model)
    )
}

pub fn refusal_text(r: &Refusal) -> String {
    format!(
        "{} ({})",
        r.codes.iter().cloned().collect::<Vec<_>>().join(" or "),
        r.stage
    )
}

/// One preview compared: Ok(the implementation's preview, or None when both refused).
pub fn check_preview(req: &Value) -> Result<Option<Value>, String> {
    let (imp, problem) = compare_preview(req);
    match problem {
        Some(e) => Err(e),
        None => Ok(imp.ok()),
    }
}

/// The implementation's preview (or code) and, when it differs from the model, why.
pub fn compare_preview(req: &Value) -> (Result<Value, String>, Option<String>) {
    let imp = run("preview_invoice", req);
    let m = model::preview(req);
    let problem = match (&imp, m) {
        (Ok(p), Ok(mp)) => {
            let ip = model::preview_projection(p);
            let cur = req["contract"]["currency"].as_str().unwrap_or("USD");
            let off = model::amounts_off_scale(p, cur);
            if ip != mp {
                Some(explain("preview differs", req, &ip, &mp))
            } else if !off.is_empty() {
                Some(format!(
                    "amounts off the currency's scale: {off:?}\nrequest: {}",
                    compact(req)
                ))
            } else {
                check_ceiling(p)
                    .err()
                    .map(|e| format!("{e}\nrequest: {}", compact(req)))
            }
        }
        (Err(code), Err(r)) => (!r.accepts(code)).then(|| {
            format!(
                "both refuse, with different codes: implementation {code}, model {}\nrequest: {}",
                refusal_text(&r),
                compact(req)
            )
        }),
        (Ok(p), Err(r)) => Some(format!(
            "the model refuses ({}), the implementation previews\nrequest: {}\nimplementation: {}",
            refusal_text(&r),
            compact(req),
            compact(&model::preview_projection(p))
        )),
        (Err(code), Ok(mp)) => Some(format!(
            "the implementation refuses ({code}), the model previews\nrequest: {}\nmodel: {}",
            compact(req),
            compact(&mp)
        )),
    };
    (imp, problem)
}

pub fn amount(v: &Value) -> D {
    dec(v["amount"].as_str().unwrap_or("0"))
}

/// billing.md: `billed_before + this run <= limit` whenever `billed_before` was within it.
pub fn check_ceiling(p: &Value) -> Result<(), String> {
    if let Some(c) = p.get("ceiling").filter(|c| !c.is_null()) {
        let limit = amount(&c["limit"]);
        let before = amount(&c["billed_before"]);
        let this = amount(&c["this_run"]);
        if before <= limit && before + this > limit {
            return Err(format!(
                "billed past the ceiling: {before} + {this} > {limit}"
            ));
        }
    }
    Ok(())
}
