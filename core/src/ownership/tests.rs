use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::model::{OwnershipPolicy, OwnershipRule};

const EXAMPLE: &str = include_str!("../../../spec/examples/ownership-policy.json");

fn example() -> OwnershipPolicy {
    serde_json::from_str(EXAMPLE).unwrap()
}

fn problems(policy: &OwnershipPolicy) -> Vec<Problem> {
    let mut p = Problems::new();
    validate_policy(policy, &Pointer::root(), &mut p);
    p.into_vec()
}

fn rule(entity: &str, fields: &[&str], stages: &[&str], owner: &str) -> OwnershipRule {
    OwnershipRule {
        entity: entity.to_owned(),
        fields: fields.iter().map(|s| (*s).to_owned()).collect(),
        stages: stages.iter().map(|s| (*s).to_owned()).collect(),
        owner: System::new(owner).unwrap(),
    }
}

fn policy(rules: Vec<OwnershipRule>) -> OwnershipPolicy {
    OwnershipPolicy {
        schema_version: crate::model::SchemaVersion,
        kind: None,
        rules,
        case_insensitive_fields: BTreeMap::new(),
        activation: None,
    }
}

#[test]
fn the_example_policy_is_valid_and_compiles() {
    assert_eq!(problems(&example()), vec![]);
    CompiledPolicy::compile(&example()).unwrap();
}

#[test]
fn a_named_field_beats_the_wildcard() {
    let p = policy(vec![
        rule("project", &["*"], &["*"], "psa"),
        rule("project", &["legal_entity"], &["*"], "erp"),
    ]);
    assert_eq!(problems(&p), vec![]);
    let c = CompiledPolicy::compile(&p).unwrap();
    let kind = entity_index("project").unwrap();
    let erp = c.system_index("erp");
    let psa = c.system_index("psa");
    assert_eq!(
        c.decide(kind, Some(0), psa, "legal_entity"),
        Decision::NotOwner(erp.unwrap())
    );
    assert_eq!(c.decide(kind, Some(0), psa, "status"), Decision::Accepted);
    assert_eq!(
        c.decide(kind, Some(0), erp, "legal_entity"),
        Decision::Accepted
    );
    assert_eq!(
        c.decide(kind, Some(0), psa, "colour"),
        Decision::UnknownField
    );
}

#[test]
fn contract_ownership_moves_from_crm_to_erp_at_signature() {
    let c = CompiledPolicy::compile(&example()).unwrap();
    let kind = entity_index("contract").unwrap();
    let k = entity("contract").unwrap();
    let crm = c.system_index("crm");
    let draft = k.stage_index("draft");
    let signed = k.stage_index("signed");
    assert_eq!(c.decide(kind, draft, crm, "end_date"), Decision::Accepted);
    assert_eq!(
        c.decide(kind, signed, crm, "end_date"),
        Decision::NotOwner(c.system_index("erp").unwrap())
    );
    // Without a stage, a contract field has no single owner.
    assert_eq!(c.decide(kind, None, crm, "end_date"), Decision::NoOwner);
}

#[test]
fn validation_reports_unknown_kinds_fields_stages_and_uncovered_stages_with_paths() {
    let mut p = policy(vec![
        rule("spaceship", &["name"], &["*"], "crm"),
        rule("contract", &["*", "colour"], &["draft", "orbit"], "crm"),
        rule("payment", &["*"], &["received"], "billing"),
    ]);
    p.case_insensitive_fields
        .insert("account".to_owned(), vec!["nickname".to_owned()]);
    let found: Vec<(String, &str)> = problems(&p)
        .into_iter()
        .map(|x| (x.path, x.code.as_str()))
        .collect();
    let expect = |path: &str, code: &str| {
        assert!(
            found.iter().any(|(p, c)| p == path && *c == code),
            "{code} at {path} not in {found:?}"
        );
    };
    expect("/rules/0/entity", "OWNERSHIP_UNKNOWN_ENTITY");
    expect("/rules/1/fields/1", "OWNERSHIP_UNKNOWN_FIELD");
    expect("/rules/1/stages/1", "OWNERSHIP_UNKNOWN_STAGE");
    expect("/rules/2/stages/0", "OWNERSHIP_UNKNOWN_STAGE");
    expect("/rules/1/stages", "OWNERSHIP_UNCOVERED_STAGE");
    expect(
        "/case_insensitive_fields/account/0",
        "OWNERSHIP_UNKNOWN_FIELD",
    );
    // contract has six stages and the rule covers one.
    assert_eq!(
        found
            .iter()
            .filter(|(_, c)| *c == "OWNERSHIP_UNCOVERED_STAGE")
            .count(),
        5
    );
}

#[test]
fn a_stage_wildcard_conflicts_with_a_named_stage_of_another_owner() {
    let p = policy(vec![
        rule("contract", &["end_date"], &["*"], "crm"),
        rule("contract", &["end_date"], &["signed", "active"], "erp"),
        rule("contract", &["*"], &["*"], "erp"),
    ]);
    let found = problems(&p);
    assert_eq!(found.len(), 1, "{found:?}");
    let c = found.first().unwrap();
    assert_eq!(c.code, ErrorCode::OwnershipConflict);
    assert_eq!(c.path, "/rules/1/fields/0");
    assert!(c.message.contains("`signed`, `active`"), "{}", c.message);
}

/// A rule that conflicts with rule `r` of the example: one of its fields, at one of its stages,
/// owned by another system.
fn conflicting_rule(
    base: &OwnershipPolicy,
    r: usize,
    f: usize,
    s: usize,
    o: usize,
) -> OwnershipRule {
    let src = base.rules.get(r % base.rules.len()).unwrap();
    let kind = entity(&src.entity).unwrap();
    let field = src.fields.get(f % src.fields.len()).unwrap();
    let stages: Vec<&str> = if src.stages.iter().any(|s| s == "*") {
        if kind.stages.is_empty() {
            vec!["*"]
        } else {
            kind.stages.clone()
        }
    } else {
        src.stages.iter().map(String::as_str).collect()
    };
    let stage = *stages.get(s % stages.len()).unwrap();
    let others: Vec<&str> = ["crm", "erp", "psa", "billing", "hris"]
        .into_iter()
        .filter(|x| *x != src.owner.as_str())
        .collect();
    let owner = others.get(o % others.len()).unwrap();
    rule(&src.entity, &[field], &[stage], owner)
}

proptest! {
    #[test]
    fn policy_validation_finds_every_injected_conflict(
        picks in proptest::collection::vec((0usize..64, 0usize..8, 0usize..8, 0usize..4), 1..6)
    ) {
        let mut p = example();
        let base = example();
        let mut injected = Vec::new();
        for (r, f, s, o) in picks {
            let new = conflicting_rule(&base, r, f, s, o);
            injected.push(p.rules.len());
            p.rules.push(new);
        }
        let found = problems(&p);
        for i in injected {
            let path = format!("/rules/{i}/fields/0");
            prop_assert!(
                found.iter().any(|x| x.code == ErrorCode::OwnershipConflict && x.path == path),
                "no conflict at {} in {:?}", path, found
            );
        }
        prop_assert!(found.iter().all(|x| x.code == ErrorCode::OwnershipConflict));
    }

    #[test]
    fn the_golden_record_never_takes_a_field_from_a_non_owner(
        present in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 9), 4),
        stage in proptest::option::of(0usize..6),
        status in proptest::collection::vec(0usize..6, 4),
    ) {
        let c = CompiledPolicy::compile(&example()).unwrap();
        let kind = entity_index("contract").unwrap();
        let k = entity("contract").unwrap();
        let systems = ["billing", "crm", "erp", "psa"];
        let fields = ["id", "account_id", "currency", "end_date", "start_date", "legal_entity", "billing_model", "status", "colour"];
        let mut records: Vec<(System, Map<String, Value>)> = Vec::new();
        for (si, sys) in systems.iter().enumerate() {
            let mut r = Map::new();
            for (fi, f) in fields.iter().enumerate() {
                if *present.get(si).unwrap().get(fi).unwrap() {
                    let v = if *f == "status" {
                        json!(k.stages.get(*status.get(si).unwrap()).unwrap())
                    } else {
                        json!(format!("{sys}-{f}"))
                    };
                    r.insert((*f).to_owned(), v);
                }
            }
            records.push((System::new(*sys).unwrap(), r));
        }
        let refs: Vec<(System, &Map<String, Value>)> = records.iter().map(|(s, r)| (s.clone(), r)).collect();
        let g = golden_record(&c, kind, stage, &refs).unwrap();
        for (field, (value, source)) in &g.fields {
            let fi = k.field_index(field).unwrap();
            let owner = c.owner(kind, g.stage, fi).and_then(|o| c.system(o));
            prop_assert_eq!(Some(source), owner);
            let held = records.iter().find(|(s, _)| s == source).unwrap().1.get(*field);
            prop_assert_eq!(Some(value), held);
        }
        prop_assert!(!g.fields.contains_key("colour"));
        prop_assert!(g.fields.len() + g.unresolved.len() < fields.len());
    }
}

#[test]
fn the_stage_table_in_the_spec_matches_the_documents() {
    let doc = include_str!("../../../spec/domain/ownership.md");
    let mut listed: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, kinds, field, stages, ..] = cells.as_slice() else {
            continue;
        };
        if !field.starts_with('`') && *field != "—" {
            continue;
        }
        for kind in kinds.split(", ") {
            listed.insert(
                kind.trim_matches('`').to_owned(),
                (field.trim_matches('`').to_owned(), (*stages).to_owned()),
            );
        }
    }
    for k in entity_kinds() {
        let (field, stages) = listed
            .get(k.name)
            .unwrap_or_else(|| panic!("`{}` is missing from the table", k.name));
        assert_eq!(
            field,
            k.stage_field.unwrap_or("—"),
            "stage field of {}",
            k.name
        );
        if !k.stages.is_empty() {
            assert_eq!(stages, &k.stages.join(", "), "stages of {}", k.name);
        }
    }
    assert_eq!(listed.len(), entity_kinds().len());
}

/// The properties of `def` (the top level when `None`) in a generated schema, with the `$defs`
/// type each refers to.
fn schema_refs(schema: &str, def: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let s: Value = serde_json::from_str(schema).unwrap();
    let node = match def {
        Some(d) => &s["$defs"][d],
        None => &s,
    };
    node["properties"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| {
            let text = v.to_string();
            let refs = text
                .split("#/$defs/")
                .skip(1)
                .map(|r| r.split('"').next().unwrap().to_owned())
                .collect();
            (name.clone(), refs)
        })
        .collect()
}

#[test]
fn every_money_decimal_and_date_field_of_the_documents_compares_as_such() {
    let schemas: [(&str, &str, Option<&str>); 10] = [
        (
            "account",
            include_str!("../../../spec/schema/v1/account.schema.json"),
            None,
        ),
        (
            "opportunity",
            include_str!("../../../spec/schema/v1/opportunity.schema.json"),
            None,
        ),
        (
            "contract",
            include_str!("../../../spec/schema/v1/contract.schema.json"),
            None,
        ),
        (
            "change_order",
            include_str!("../../../spec/schema/v1/change_order.schema.json"),
            None,
        ),
        (
            "project",
            include_str!("../../../spec/schema/v1/project.schema.json"),
            None,
        ),
        (
            "invoice",
            include_str!("../../../spec/schema/v1/invoice.schema.json"),
            None,
        ),
        (
            "payment",
            include_str!("../../../spec/schema/v1/payment.schema.json"),
            None,
        ),
        (
            "time_entry",
            include_str!("../../../spec/schema/v1/work_log.schema.json"),
            Some("TimeEntry"),
        ),
        (
            "expense",
            include_str!("../../../spec/schema/v1/work_log.schema.json"),
            Some("Expense"),
        ),
        (
            "milestone",
            include_str!("../../../spec/schema/v1/contract.schema.json"),
            Some("Milestone"),
        ),
    ];
    for (kind, schema, def) in schemas {
        let k = entity(kind).unwrap();
        for (field, refs) in schema_refs(schema, def) {
            if k.field_index(&field).is_none() {
                continue;
            }
            let expected = if refs.iter().any(|r| r == "Money") {
                FieldKind::Money
            } else if refs.iter().any(|r| r == "Decimal") {
                FieldKind::Decimal
            } else if refs.iter().any(|r| r == "Date") {
                FieldKind::Date
            } else {
                FieldKind::Exact
            };
            assert_eq!(k.field_kind(&field), expected, "{kind}.{field}");
        }
    }
}
