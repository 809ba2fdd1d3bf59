//! Runs every case in `spec/cases/` through the Rust core.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use billwise_conformance::{cases, generate};

// The runner times each case (the core itself reads no clock): hostile cases must stay fast.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
#[test]
fn every_spec_case_gives_its_expected_result() {
    let all = cases::load_all().unwrap();
    assert!(!all.is_empty(), "no cases found under spec/cases");
    let mut slow = Vec::new();
    let failures: Vec<String> = all
        .iter()
        .filter_map(|c| {
            let started = std::time::Instant::now();
            let outcome = c.check().err();
            let took = started.elapsed();
            if took.as_secs_f64() > 2.0 {
                slow.push(format!("{} ({:.1} s)", c.id, took.as_secs_f64()));
            }
            outcome
        })
        .collect();
    if !slow.is_empty() {
        println!("conformance: cases over 2 s: {}", slow.join(", "));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
    println!("conformance: {} cases passed", all.len());
}

#[test]
fn generated_files_match_the_committed_spec() {
    let dir = cases::spec_dir();
    let mut stale = Vec::new();
    for (rel, text) in generate::all().unwrap() {
        let on_disk = std::fs::read_to_string(dir.join(&rel)).unwrap_or_default();
        if on_disk != text {
            stale.push(rel);
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are out of date (run `make gen`): {stale:?}"
    );
}

/// Codes no case can produce, each with the reason.
const NOT_PRODUCIBLE_BY_CASES: &[(&str, &str)] = &[(
    "INTERNAL_ERROR",
    "a defect in billwise; bindings test it by forcing a panic at the boundary",
)];

/// The store's codes need a database, which the spec's cases (pure operations) do not have:
/// `store/tests/store.rs` asserts each of them (`ErrorCode::StoreNotFound`, ...).
const STORE_CODES_PREFIX: &str = "STORE_";

#[test]
fn every_error_code_appears_in_at_least_one_case() {
    let all = cases::load_all().unwrap();
    let mut text = String::new();
    for c in &all {
        text.push_str(&std::fs::read_to_string(&c.file).unwrap());
    }
    let missing: Vec<&str> = billwise_core::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|code| !NOT_PRODUCIBLE_BY_CASES.iter().any(|(c, _)| c == code))
        .filter(|code| !code.starts_with(STORE_CODES_PREFIX))
        .filter(|code| !text.contains(&format!("\"{code}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes with no conformance case: {missing:?}"
    );
}

#[test]
fn every_store_error_code_is_asserted_by_the_store_tests() {
    let tests = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/tests/store.rs"),
    )
    .unwrap();
    let missing: Vec<&str> = billwise_core::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|code| code.starts_with(STORE_CODES_PREFIX))
        .filter(|code| {
            let variant: String = code
                .split('_')
                .map(|w| {
                    let lower = w.to_lowercase();
                    let mut cs = lower.chars();
                    cs.next()
                        .map(|f| f.to_uppercase().collect::<String>() + cs.as_str())
                        .unwrap_or_default()
                })
                .collect();
            !tests.contains(&format!("ErrorCode::{variant}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "store error codes no store test asserts: {missing:?}"
    );
}

/// Every string value under a key called `key`, anywhere in `v`.
fn strings_under_key<'a>(v: &'a serde_json::Value, key: &str, out: &mut Vec<&'a str>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k == key
                    && let Some(s) = x.as_str()
                {
                    out.push(s);
                }
                strings_under_key(x, key, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings_under_key(x, key, out)),
        _ => {}
    }
}

#[test]
fn every_billing_hold_reason_appears_in_at_least_one_case() {
    let all = cases::load_all().unwrap();
    let mut seen = Vec::new();
    let results: Vec<serde_json::Value> = all
        .iter()
        .filter_map(|c| match &c.expect {
            cases::Expect::Result(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    for v in &results {
        strings_under_key(v, "reason", &mut seen);
    }
    let missing: Vec<&str> = billwise_core::billing::HoldReason::ALL
        .iter()
        .map(|r| r.as_str())
        .filter(|r| !seen.contains(r))
        .collect();
    assert!(
        missing.is_empty(),
        "hold reasons no case's expected result shows (as a held item's `reason`): {missing:?}"
    );
}

#[test]
fn every_state_machine_transition_appears_in_at_least_one_case() {
    let all = cases::load_all().unwrap();
    // (machine, from, event, to) of every `transition` case that expects the transition taken.
    let mut taken = std::collections::BTreeSet::new();
    for c in all.iter().filter(|c| c.op == "transition") {
        let (Some(input), cases::Expect::Result(result)) = (&c.input, &c.expect) else {
            continue;
        };
        if result["allowed"] != serde_json::Value::Bool(true) {
            continue;
        }
        let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        taken.insert((
            s(&input["machine"]),
            s(&input["state"]),
            s(&input["event"]),
            s(&result["next_state"]),
        ));
    }
    let mut missing = Vec::new();
    for name in billwise_core::machines::MachineName::ALL {
        let d = name.describe();
        for t in &d.transitions {
            let key = (
                name.as_str().to_owned(),
                t.from.clone(),
                t.event.clone(),
                t.to.clone(),
            );
            if !taken.contains(&key) {
                missing.push(format!("{}: {} --{}--> {}", key.0, key.1, key.2, key.3));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "transitions no `transition` case takes (allowed, with that next_state):\n{}",
        missing.join("\n")
    );
}

/// Every error a request can produce names what caused it, and every error case pins that path:
/// only malformed JSON has no value to point at. (Case `hostile/validate/007` is the exception:
/// its path is the 1 MB key it refuses.)
#[test]
fn every_error_case_states_the_path_of_its_cause() {
    let all = cases::load_all().unwrap();
    let unpinned: Vec<String> = all
        .iter()
        .filter_map(|c| match &c.expect {
            cases::Expect::Error { code, path }
                if path.as_deref().is_none_or(str::is_empty)
                    && code != "INPUT_MALFORMED_JSON"
                    && c.id != "hostile/validate/007-key-of-1-mb" =>
            {
                Some(format!("{} ({code})", c.id))
            }
            _ => None,
        })
        .collect();
    assert!(
        unpinned.is_empty(),
        "error cases without a path: {}",
        unpinned.join(", ")
    );
}
