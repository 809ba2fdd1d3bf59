use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::model::OwnershipPolicy;
use crate::ownership::entity_index;

/// Expenses: PSA owns them, except that ERP owns the amount once approved or billed and billing
/// owns the category.
fn policy() -> OwnershipPolicy {
    serde_json::from_value(json!({
        "schema_version": 1,
        "rules": [
            {"entity": "expense", "fields": ["*"], "stages": ["*"], "owner": "psa"},
            {"entity": "expense", "fields": ["amount"], "stages": ["approved", "billed"], "owner": "erp"},
            {"entity": "expense", "fields": ["category"], "stages": ["*"], "owner": "billing"}
        ],
        "case_insensitive_fields": {"expense": ["category"]}
    }))
    .unwrap()
}

fn compiled(p: &OwnershipPolicy) -> CompiledPolicy {
    CompiledPolicy::compile(p).unwrap()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn run(
    p: &OwnershipPolicy,
    data: &BTreeMap<System, Vec<Map<String, Value>>>,
    cross_refs: &[CrossRef],
) -> Report {
    let systems: Vec<SystemRecords<'_>> = data
        .iter()
        .map(|(system, records)| SystemRecords { system, records })
        .collect();
    reconcile(
        &compiled(p),
        entity_index("expense").unwrap(),
        None,
        &systems,
        cross_refs,
    )
    .unwrap()
}

fn sys(s: &str) -> System {
    System::new(s).unwrap()
}

#[test]
fn a_missing_record_and_a_changed_amount_are_found_and_corrected_from_the_owner() {
    let e = |amount: &str| {
        obj(
            json!({"id": "EX-1", "amount": {"amount": amount, "currency": "USD"}, "status": "approved", "date": "2026-03-02"}),
        )
    };
    let mut data = BTreeMap::new();
    data.insert(sys("psa"), vec![e("120.00")]);
    data.insert(sys("erp"), vec![e("125.00")]);
    data.insert(sys("billing"), vec![]);
    let r = run(&policy(), &data, &[]);
    assert_eq!(r.summary.entities, 1);
    let f = r.findings.first().unwrap();
    assert_eq!(f.stage.as_deref(), Some("approved"));
    assert_eq!(f.missing_in, vec![sys("billing")]);
    let m = f.mismatches.first().unwrap();
    assert_eq!(m.field, "amount");
    assert_eq!(m.owner, Some(sys("erp")));
    assert_eq!(
        m.authoritative,
        Some(json!({"amount": "125.00", "currency": "USD"}))
    );
    let targets: Vec<(&str, Action)> = r
        .corrections
        .iter()
        .map(|c| (c.system.as_str(), c.action))
        .collect();
    assert_eq!(
        targets,
        vec![("billing", Action::Create), ("psa", Action::Update)]
    );
}

#[test]
fn equal_amounts_dates_and_case_insensitive_text_are_not_findings() {
    let mut data = BTreeMap::new();
    data.insert(
        sys("psa"),
        vec![obj(json!({"id": "EX-1", "amount": {"amount": "120", "currency": "USD"}, "date": "2026-03-02", "category": "Travel"}))],
    );
    data.insert(
        sys("erp"),
        vec![obj(json!({"id": "EX-1", "amount": {"amount": "120.00", "currency": "USD"}, "date": "2026-03-02T09:00:00Z", "category": "TRAVEL"}))],
    );
    let r = run(&policy(), &data, &[]);
    assert_eq!(r.findings, vec![]);
    assert_eq!(r.summary.consistent, 1);
}

#[test]
fn cross_references_join_records_known_by_other_ids() {
    let mut data = BTreeMap::new();
    data.insert(
        sys("psa"),
        vec![obj(json!({"id": "EX-1", "category": "travel"}))],
    );
    data.insert(
        sys("erp"),
        vec![obj(json!({"id": "AP-77", "category": "travel"}))],
    );
    let x = CrossRef {
        id: "EX-1".to_owned(),
        ids: [(sys("erp"), "AP-77".to_owned())].into_iter().collect(),
    };
    let r = run(&policy(), &data, &[x]);
    assert_eq!(r.summary.entities, 1);
    assert_eq!(r.summary.consistent, 1);
}

#[test]
fn a_system_holding_one_entity_twice_is_an_error() {
    let mut data = BTreeMap::new();
    data.insert(
        sys("psa"),
        vec![obj(json!({"id": "EX-1"})), obj(json!({"id": "EX-1"}))],
    );
    let systems: Vec<SystemRecords<'_>> = data
        .iter()
        .map(|(system, records)| SystemRecords { system, records })
        .collect();
    let e = reconcile(
        &compiled(&policy()),
        entity_index("expense").unwrap(),
        None,
        &systems,
        &[],
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::ReconcileDuplicateRecord);
    assert_eq!(e.path, "/records/psa/1");
}

const SYSTEMS: [&str; 3] = ["billing", "erp", "psa"];
const AMOUNTS: [&str; 4] = ["10.00", "10.0", "12.50", "99"];
const DATES: [&str; 3] = ["2026-03-01", "2026-03-02", "2026-03-01T08:00:00Z"];
const CATEGORIES: [&str; 3] = ["travel", "TRAVEL", "meals"];
const STATUSES: [&str; 3] = ["submitted", "approved", "billed"];

/// Per entity and system: held or not, and the index of each field's value (or none).
type Cell = (
    bool,
    Option<usize>,
    Option<usize>,
    Option<usize>,
    Option<usize>,
);

fn build(cells: &[Vec<Cell>]) -> BTreeMap<System, Vec<Map<String, Value>>> {
    let mut data: BTreeMap<System, Vec<Map<String, Value>>> =
        SYSTEMS.iter().map(|s| (sys(s), Vec::new())).collect();
    for (e, row) in cells.iter().enumerate() {
        for (s, (held, amount, date, category, status)) in row.iter().enumerate() {
            if !held {
                continue;
            }
            let mut r = Map::new();
            r.insert("id".into(), json!(format!("EX-{e}")));
            if let Some(a) = amount {
                r.insert(
                    "amount".into(),
                    json!({"amount": AMOUNTS[a % 4], "currency": "USD"}),
                );
            }
            if let Some(d) = date {
                r.insert("date".into(), json!(DATES[d % 3]));
            }
            if let Some(c) = category {
                r.insert("category".into(), json!(CATEGORIES[c % 3]));
            }
            if let Some(st) = status {
                r.insert("status".into(), json!(STATUSES[st % 3]));
            }
            data.get_mut(&sys(SYSTEMS[s % 3])).unwrap().push(r);
        }
    }
    data
}

fn cells() -> impl Strategy<Value = Vec<Vec<Cell>>> {
    let cell = (
        any::<bool>(),
        proptest::option::of(0usize..4),
        proptest::option::of(0usize..3),
        proptest::option::of(0usize..3),
        proptest::option::of(0usize..3),
    );
    proptest::collection::vec(proptest::collection::vec(cell, 3), 0..10)
}

/// Renames `a` to `b` and `b` to `a` in every key and text value.
fn swap_names(v: &Value, a: &str, b: &str) -> Value {
    let swap = |s: &str| {
        if s == a {
            b.to_owned()
        } else if s == b {
            a.to_owned()
        } else {
            s.to_owned()
        }
    };
    match v {
        Value::String(s) => Value::String(swap(s)),
        Value::Array(xs) => Value::Array(xs.iter().map(|x| swap_names(x, a, b)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (swap(k), swap_names(x, a, b)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The report as JSON with every list of systems and the corrections re-sorted.
fn raw(r: &Report) -> Value {
    json!({
        "systems": r.systems, "summary": r.summary, "findings": r.findings, "corrections": r.corrections
    })
}

fn normalised(mut v: Value) -> Value {
    let sort = |xs: &mut Vec<Value>| xs.sort_by_key(|x| x.to_string());
    if let Some(Value::Array(xs)) = v.get_mut("systems") {
        sort(xs);
    }
    if let Some(Value::Array(xs)) = v.get_mut("corrections") {
        sort(xs);
    }
    if let Some(Value::Array(fs)) = v.get_mut("findings") {
        for f in fs {
            if let Some(Value::Array(xs)) = f.get_mut("missing_in") {
                sort(xs);
            }
        }
    }
    v
}

fn apply(data: &mut BTreeMap<System, Vec<Map<String, Value>>>, corrections: &[Correction]) {
    for c in corrections {
        let records = data.get_mut(&c.system).unwrap();
        match c.action {
            Action::Create => records.push(c.value.as_object().unwrap().clone()),
            Action::Update => {
                let r = records
                    .iter_mut()
                    .find(|r| r.get("id") == Some(&json!(c.system_id)))
                    .unwrap();
                r.insert(c.field.clone().unwrap(), c.value.clone());
            }
        }
    }
}

proptest! {
    #[test]
    fn swapping_two_systems_swaps_the_findings_and_nothing_else(cells in cells()) {
        let p = policy();
        let data = build(&cells);
        let before = run(&p, &data, &[]);

        let mut swapped_data = data.clone();
        let erp = swapped_data.remove(&sys("erp")).unwrap();
        let psa = swapped_data.remove(&sys("psa")).unwrap();
        swapped_data.insert(sys("psa"), erp);
        swapped_data.insert(sys("erp"), psa);
        let swapped_policy: OwnershipPolicy =
            serde_json::from_value(swap_names(&serde_json::to_value(&p).unwrap(), "erp", "psa")).unwrap();
        let after = run(&swapped_policy, &swapped_data, &[]);

        prop_assert_eq!(
            normalised(raw(&after)),
            normalised(swap_names(&raw(&before), "erp", "psa"))
        );

        // The order records come in does not matter either.
        let mut reversed = data.clone();
        for records in reversed.values_mut() {
            records.reverse();
        }
        prop_assert_eq!(run(&p, &reversed, &[]), before);
    }

    #[test]
    fn applying_the_corrections_converges_in_one_step(cells in cells()) {
        let p = policy();
        let mut data = build(&cells);
        let first = run(&p, &data, &[]);
        apply(&mut data, &first.corrections);
        let second = run(&p, &data, &[]);
        prop_assert_eq!(&second.corrections, &vec![]);
        for f in &second.findings {
            prop_assert!(f.missing_in.is_empty(), "{:?}", f);
            prop_assert!(f.mismatches.iter().all(|m| m.needs_review), "{:?}", f);
        }
        // What is left is exactly what needed review the first time.
        prop_assert_eq!(second.summary.needs_review, first.summary.needs_review);
        if first.summary.needs_review == 0 {
            prop_assert_eq!(&second.findings, &vec![]);
        }
    }
}

/// Records kept as JSON text and parsed again whenever they are asked for.
struct Lines(Vec<String>);

impl RecordSource for Lines {
    fn visit(&self, f: &mut Visitor<'_>) -> Result<(), Error> {
        for (i, line) in self.0.iter().enumerate() {
            f(i, &serde_json::from_str(line).unwrap())?;
        }
        Ok(())
    }

    fn record(&self, index: usize) -> Result<Cow<'_, Map<String, Value>>, Error> {
        Ok(Cow::Owned(serde_json::from_str(&self.0[index]).unwrap()))
    }
}

/// Gives every id a long prefix (with a two-byte letter split by the 16-byte head) so ids share
/// their first 16 bytes and differ only after it.
fn lengthen(
    data: &BTreeMap<System, Vec<Map<String, Value>>>,
) -> BTreeMap<System, Vec<Map<String, Value>>> {
    let mut out = data.clone();
    for records in out.values_mut() {
        for r in records.iter_mut() {
            let id = r.get("id").and_then(Value::as_str).unwrap().to_owned();
            r.insert("id".into(), json!(format!("EXPENSE-2026-ABÄ-{id}")));
        }
    }
    out
}

proptest! {
    #[test]
    fn records_read_again_from_text_and_long_ids_give_the_same_report(cells in cells()) {
        let p = policy();
        let data = build(&cells);
        let short = run(&p, &data, &[]);
        let long_data = lengthen(&data);
        let long = run(&p, &long_data, &[]);
        let renamed = |v: &Value| -> Value {
            serde_json::from_str(
                &v.to_string().replace("\"EXPENSE-2026-ABÄ-", "\""),
            )
            .unwrap()
        };
        prop_assert_eq!(renamed(&raw(&long)), raw(&short));

        let lines: Vec<(System, Lines)> = long_data
            .iter()
            .map(|(s, rs)| (s.clone(), Lines(rs.iter().map(|r| Value::Object(r.clone()).to_string()).collect())))
            .collect();
        let sources: Vec<SystemSource<'_, &Lines>> = lines
            .iter()
            .map(|(system, records)| SystemSource { system, records })
            .collect();
        let from_text = reconcile_sources(
            &compiled(&p),
            entity_index("expense").unwrap(),
            None,
            &sources,
            &[],
        )
        .unwrap();
        prop_assert_eq!(from_text, long);
    }
}

#[test]
fn records_whose_fingerprints_collide_are_still_compared_and_their_difference_reported() {
    let e = |amount: &str, extra: bool| {
        let mut r = obj(
            json!({"id": "EX-1", "amount": {"amount": amount, "currency": "USD"}, "status": "approved"}),
        );
        if extra {
            r.insert("date".to_owned(), json!("2026-03-02"));
        }
        r
    };
    let mut data = BTreeMap::new();
    data.insert(sys("psa"), vec![e("120.00", false)]);
    data.insert(sys("erp"), vec![e("125.00", false)]);
    // Every fingerprint made the same, as a collision would make two of them.
    COLLIDE.with(|c| c.set(true));
    let collided = run(&policy(), &data, &[]);
    // A field only one record has is a difference too, though the shared fields agree.
    let mut extra = BTreeMap::new();
    extra.insert(sys("psa"), vec![e("120.00", true)]);
    extra.insert(sys("erp"), vec![e("120.00", false)]);
    let one_sided = run(&policy(), &extra, &[]);
    let mut same = BTreeMap::new();
    same.insert(sys("psa"), vec![e("120.00", true)]);
    same.insert(sys("erp"), vec![e("120.00", true)]);
    let equal = run(&policy(), &same, &[]);
    COLLIDE.with(|c| c.set(false));
    assert_eq!(collided.summary.consistent, 0);
    let m = collided
        .findings
        .first()
        .unwrap()
        .mismatches
        .first()
        .unwrap();
    assert_eq!(m.field, "amount");
    assert_eq!(
        collided,
        run(&policy(), &data, &[]),
        "the same report as without the collision"
    );
    assert_eq!(one_sided, run(&policy(), &extra, &[]));
    assert_eq!(equal.summary.consistent, 1);
}
