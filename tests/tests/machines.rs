//! Every transition of every lifecycle machine is shown by at least one conformance case.

use std::collections::BTreeSet;

use billwise_conformance::cases::{self, Expect};
use billwise_core::machines::MachineName;

/// `(machine, from, event, to)` of every `transition` case whose expected result takes a transition.
fn covered(all: &[cases::Case]) -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    for case in all {
        if case.op != "transition" {
            continue;
        }
        let (Some(input), Expect::Result(result)) = (&case.input, &case.expect) else {
            continue;
        };
        let Some(to) = result.get("next_state").and_then(|v| v.as_str()) else {
            continue;
        };
        let field = |k: &str| input.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        out.insert((
            field("machine").to_owned(),
            field("state").to_owned(),
            field("event").to_owned(),
            to.to_owned(),
        ));
    }
    out
}

#[test]
fn every_transition_of_every_machine_has_a_case() {
    let covered = covered(&cases::load_all().unwrap());
    let mut missing = Vec::new();
    let mut total = 0;
    for name in MachineName::ALL {
        for t in name.describe().transitions {
            total += 1;
            let key = (name.as_str().to_owned(), t.from, t.event, t.to);
            if !covered.contains(&key) {
                missing.push(format!("{} {} --{}--> {}", key.0, key.1, key.2, key.3));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {total} transitions have no case in spec/cases/machines/transition:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn every_rejection_code_of_the_machines_has_a_case() {
    let mut seen = BTreeSet::new();
    for case in cases::load_all().unwrap() {
        if let (true, Expect::Result(r)) = (case.op == "transition", &case.expect)
            && let Some(code) = r.pointer("/rejection/code").and_then(|c| c.as_str())
        {
            seen.insert(code.to_owned());
        }
    }
    for code in [
        "MACHINE_TRANSITION_NOT_ALLOWED",
        "MACHINE_SOURCE_NOT_ALLOWED",
        "MACHINE_GUARD_FAILED",
    ] {
        assert!(seen.contains(code), "no case shows {code}");
    }
}

#[test]
fn machine_cases_number_at_least_fifty() {
    let n = cases::load_all()
        .unwrap()
        .iter()
        .filter(|c| c.id.starts_with("machines/") || c.id.starts_with("engine/"))
        .count();
    assert!(n >= 50, "only {n} machine and engine cases");
}
