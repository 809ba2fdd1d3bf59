//! Runs every case in `spec/cases/` through the Rust core.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use billwise_conformance::{cases, generate};

#[test]
fn every_spec_case_gives_its_expected_result() {
    let all = cases::load_all().unwrap();
    assert!(!all.is_empty(), "no cases found under spec/cases");
    let failures: Vec<String> = all.iter().filter_map(|c| c.check().err()).collect();
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
        .filter(|code| !text.contains(&format!("\"{code}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes with no conformance case: {missing:?}"
    );
}
