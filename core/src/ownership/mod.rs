//! System-of-record ownership: validating a policy, compiling it into lookup tables, deciding
//! inbound updates field by field, and building golden records.
//!
//! A policy is compiled once ([`CompiledPolicy::compile`]); every decision afterwards is an index
//! lookup: entity kind x stage x field -> owning system.

pub mod catalog;
mod compare;

pub use catalog::{EntityKind, FieldKind, entity, entity_index, entity_kinds};
pub use compare::values_equal;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Pointer, Problem};
use crate::model::{OwnershipPolicy, System};
use crate::validate::Problems;

const WILDCARD: &str = "*";

/// Checks a policy and records every problem: unknown entity kinds, fields and stages; fields with
/// two owners at one stage; stages of a named entity kind that no rule covers; bad
/// case-insensitive field lists and empty currency lists.
pub fn validate_policy(d: &OwnershipPolicy, root: &Pointer, p: &mut Problems) {
    let rules = root.key("rules");
    // (entity, field or `*`, stage) -> (owner, rule index); stage-less kinds use stage 0.
    let mut seen: BTreeMap<(usize, &str, usize), (&str, usize)> = BTreeMap::new();
    // (rule, field position, earlier rule) -> conflicting stages
    let mut conflicts: BTreeMap<(usize, usize, usize), Vec<usize>> = BTreeMap::new();
    // entity -> (first rule, covered stages)
    let mut named: BTreeMap<usize, (usize, BTreeSet<usize>)> = BTreeMap::new();
    for (i, r) in d.rules.iter().enumerate() {
        let at = rules.index(i);
        let Some(ei) = entity_index(&r.entity) else {
            p.push(
                &at.key("entity"),
                ErrorCode::OwnershipUnknownEntity,
                format!(
                    "`{}` is not an entity kind; expected one of {}",
                    r.entity,
                    catalog::entity_names()
                ),
            );
            continue;
        };
        let Some(kind) = entity_kinds().get(ei) else {
            continue;
        };
        if r.fields.is_empty() {
            p.push(
                &at.key("fields"),
                ErrorCode::DocumentEmptyField,
                "a rule must name at least one field (or `*`)",
            );
        }
        if r.stages.is_empty() {
            p.push(
                &at.key("stages"),
                ErrorCode::DocumentEmptyField,
                "a rule must name at least one stage (or `*`)",
            );
        }
        let mut stages: BTreeSet<usize> = BTreeSet::new();
        for (k, stage) in r.stages.iter().enumerate() {
            if stage == WILDCARD {
                stages.extend(0..kind.stages.len().max(1));
            } else if let Some(si) = kind.stage_index(stage) {
                stages.insert(si);
            } else {
                let expected = if kind.stages.is_empty() {
                    format!("`{}` has no lifecycle; use `*`", kind.name)
                } else {
                    format!("expected `*` or one of {}", kind.stages.join(", "))
                };
                p.push(
                    &at.key("stages").index(k),
                    ErrorCode::OwnershipUnknownStage,
                    format!("`{stage}` is not a stage of `{}`; {expected}", kind.name),
                );
            }
        }
        named
            .entry(ei)
            .or_insert_with(|| (i, BTreeSet::new()))
            .1
            .extend(stages.iter().copied());
        for (k, field) in r.fields.iter().enumerate() {
            if field != WILDCARD && kind.field_index(field).is_none() {
                p.push(
                    &at.key("fields").index(k),
                    ErrorCode::OwnershipUnknownField,
                    format!(
                        "`{}` has no field `{field}`; expected `*` or one of {}",
                        kind.name,
                        kind.fields.join(", ")
                    ),
                );
                continue;
            }
            for &s in &stages {
                match seen.get(&(ei, field.as_str(), s)) {
                    Some((owner, j)) if *owner != r.owner.as_str() => {
                        conflicts.entry((i, k, *j)).or_default().push(s);
                    }
                    Some(_) => {}
                    None => {
                        seen.insert((ei, field.as_str(), s), (r.owner.as_str(), i));
                    }
                }
            }
        }
    }
    for ((i, k, j), stages) in conflicts {
        let (Some(rule), Some(earlier)) = (d.rules.get(i), d.rules.get(j)) else {
            continue;
        };
        let Some(kind) = entity(&rule.entity) else {
            continue;
        };
        let field = rule.fields.get(k).map_or("", String::as_str);
        let names: Vec<String> = stages
            .iter()
            .map(|s| format!("`{}`", kind.stages.get(*s).copied().unwrap_or(WILDCARD)))
            .collect();
        p.push(
            &rules.index(i).key("fields").index(k),
            ErrorCode::OwnershipConflict,
            format!(
                "`{}.{field}` has two owners at stage {}: `{}` (rule {j}) and `{}` (rule {i})",
                rule.entity,
                names.join(", "),
                earlier.owner,
                rule.owner
            ),
        );
    }
    for (ei, (first, covered)) in named {
        let Some(kind) = entity_kinds().get(ei) else {
            continue;
        };
        for (si, stage) in kind.stages.iter().enumerate() {
            if !covered.contains(&si) {
                p.push(
                    &rules.index(first).key("stages"),
                    ErrorCode::OwnershipUncoveredStage,
                    format!(
                        "no rule covers `{}` at stage `{stage}`; add the stage to a rule or use `*`",
                        kind.name
                    ),
                );
            }
        }
    }
    let ci = root.key("case_insensitive_fields");
    for (name, fields) in &d.case_insensitive_fields {
        let Some(kind) = entity(name) else {
            p.push(
                &ci.key(name),
                ErrorCode::OwnershipUnknownEntity,
                format!(
                    "`{name}` is not an entity kind; expected one of {}",
                    catalog::entity_names()
                ),
            );
            continue;
        };
        for (k, f) in fields.iter().enumerate() {
            if kind.field_index(f).is_none() {
                p.push(
                    &ci.key(name).index(k),
                    ErrorCode::OwnershipUnknownField,
                    format!("`{name}` has no field `{f}`"),
                );
            }
        }
    }
    if let Some(a) = &d.activation {
        let at = root.key("activation").key("currencies_by_legal_entity");
        for (le, currencies) in &a.currencies_by_legal_entity {
            if currencies.is_empty() {
                p.push(
                    &at.key(le.as_str()),
                    ErrorCode::DocumentEmptyField,
                    format!("legal entity `{le}` must allow at least one currency"),
                );
            }
        }
    }
}

/// The error for a request whose policy has problems: the first problem's code, its path under
/// `/policy`, and every problem in `details.problems`.
pub fn policy_error(problems: &[Problem], prefix: &str) -> Error {
    let Some(first) = problems.first() else {
        return Error::internal("a policy error without problems");
    };
    let all: Vec<Value> = problems
        .iter()
        .map(|p| {
            serde_json::json!({
                "path": format!("{prefix}{}", p.path),
                "code": p.code.as_str(),
                "message": p.message,
            })
        })
        .collect();
    Error::new(
        first.code,
        format!(
            "the ownership policy has {} problem(s); the first: {}",
            problems.len(),
            first.message
        ),
    )
    .at(format!("{prefix}{}", first.path))
    .with("problems", Value::Array(all))
}

/// One entity kind of a compiled policy.
#[derive(Debug, Clone)]
struct CompiledKind {
    /// Whether any rule names the kind.
    named: bool,
    nfields: usize,
    /// Owner per stage and field: `owners[stage * nfields + field]`.
    owners: Vec<Option<u16>>,
    /// Owner per field when it is the same at every stage.
    uniform: Vec<Option<u16>>,
    /// Whether each field compares case-insensitively.
    case_insensitive: Vec<bool>,
}

/// A validated policy turned into lookup tables.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    systems: Vec<System>,
    kinds: Vec<CompiledKind>,
}

/// The outcome for one field of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The source owns the field.
    Accepted,
    /// Another system (by index, see [`CompiledPolicy::system`]) owns it.
    NotOwner(u16),
    /// No rule gives the field one owner at this stage.
    NoOwner,
    /// The entity kind has no such field.
    UnknownField,
}

impl CompiledPolicy {
    /// Validates and compiles a policy; a policy with problems is refused with all of them.
    pub fn compile(policy: &OwnershipPolicy) -> Result<CompiledPolicy, Vec<Problem>> {
        let mut p = Problems::new();
        validate_policy(policy, &Pointer::root(), &mut p);
        if !p.is_empty() {
            return Err(p.into_vec());
        }
        let systems: Vec<System> = policy
            .rules
            .iter()
            .map(|r| r.owner.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let sys_index = |s: &System| {
            systems
                .binary_search(s)
                .ok()
                .and_then(|i| u16::try_from(i).ok())
        };
        let mut kinds = Vec::with_capacity(entity_kinds().len());
        for (ei, kind) in entity_kinds().iter().enumerate() {
            let nfields = kind.fields.len();
            let nstages = kind.stages.len().max(1);
            let mut named_owner: Vec<Option<u16>> = vec![None; nstages * nfields];
            let mut wildcard: Vec<Option<u16>> = vec![None; nstages];
            let mut named = false;
            for r in policy
                .rules
                .iter()
                .filter(|r| entity_index(&r.entity) == Some(ei))
            {
                named = true;
                let owner = sys_index(&r.owner);
                let stages: Vec<usize> = if r.stages.iter().any(|s| s == WILDCARD) {
                    (0..nstages).collect()
                } else {
                    r.stages
                        .iter()
                        .filter_map(|s| kind.stage_index(s))
                        .collect()
                };
                for s in stages {
                    for f in &r.fields {
                        if f == WILDCARD {
                            if let Some(slot) = wildcard.get_mut(s) {
                                *slot = owner;
                            }
                        } else if let Some(fi) = kind.field_index(f)
                            && let Some(slot) = named_owner.get_mut(s * nfields + fi)
                        {
                            *slot = owner;
                        }
                    }
                }
            }
            let mut owners = named_owner;
            for s in 0..nstages {
                let w = wildcard.get(s).copied().flatten();
                for f in 0..nfields {
                    if let Some(slot) = owners.get_mut(s * nfields + f)
                        && slot.is_none()
                    {
                        *slot = w;
                    }
                }
            }
            let uniform = (0..nfields)
                .map(|f| {
                    let first = owners.get(f).copied().flatten()?;
                    (0..nstages)
                        .all(|s| owners.get(s * nfields + f).copied().flatten() == Some(first))
                        .then_some(first)
                })
                .collect();
            let mut case_insensitive = vec![false; nfields];
            if let Some(fields) = policy.case_insensitive_fields.get(kind.name) {
                for f in fields {
                    if let Some(slot) = kind
                        .field_index(f)
                        .and_then(|i| case_insensitive.get_mut(i))
                    {
                        *slot = true;
                    }
                }
            }
            kinds.push(CompiledKind {
                named,
                nfields,
                owners,
                uniform,
                case_insensitive,
            });
        }
        Ok(CompiledPolicy { systems, kinds })
    }

    /// The owning systems, sorted; owners are indexes into this list.
    pub fn systems(&self) -> &[System] {
        &self.systems
    }

    /// A system by index.
    pub fn system(&self, i: u16) -> Option<&System> {
        self.systems.get(usize::from(i))
    }

    /// The index of a system, if it owns anything.
    pub fn system_index(&self, name: &str) -> Option<u16> {
        self.systems
            .binary_search_by(|s| s.as_str().cmp(name))
            .ok()
            .and_then(|i| u16::try_from(i).ok())
    }

    /// Whether any rule names the entity kind (by catalog index).
    pub fn names_kind(&self, kind: usize) -> bool {
        self.kinds.get(kind).is_some_and(|k| k.named)
    }

    /// The owner of field `field` of entity kind `kind` at stage `stage`; with no stage, the owner
    /// it has at every stage, if there is one.
    #[inline]
    pub fn owner(&self, kind: usize, stage: Option<usize>, field: usize) -> Option<u16> {
        let k = self.kinds.get(kind)?;
        match stage {
            Some(s) => k.owners.get(s * k.nfields + field).copied().flatten(),
            None => k.uniform.get(field).copied().flatten(),
        }
    }

    /// Whether a field compares case-insensitively.
    #[inline]
    pub fn case_insensitive(&self, kind: usize, field: usize) -> bool {
        self.kinds
            .get(kind)
            .and_then(|k| k.case_insensitive.get(field))
            .copied()
            .unwrap_or(false)
    }

    /// Decides one field of an update from `source` (a system index, `None` when the source owns
    /// nothing in the policy).
    #[inline]
    pub fn decide(
        &self,
        kind: usize,
        stage: Option<usize>,
        source: Option<u16>,
        field: &str,
    ) -> Decision {
        let Some(fi) = entity_kinds().get(kind).and_then(|k| k.field_index(field)) else {
            return Decision::UnknownField;
        };
        match self.owner(kind, stage, fi) {
            None => Decision::NoOwner,
            Some(o) if Some(o) == source => Decision::Accepted,
            Some(o) => Decision::NotOwner(o),
        }
    }
}

/// Reads an entity kind name, or fails with `OWNERSHIP_UNKNOWN_ENTITY` at `path`.
pub fn entity_arg(name: &str, path: &str) -> Result<usize, Error> {
    entity_index(name).ok_or_else(|| {
        Error::new(
            ErrorCode::OwnershipUnknownEntity,
            format!(
                "`{}` is not an entity kind; expected one of {}",
                name.chars().take(40).collect::<String>(),
                catalog::entity_names()
            ),
        )
        .at(path)
    })
}

/// Reads a stage of an entity kind, or fails with `OWNERSHIP_UNKNOWN_STAGE` at `path`.
pub fn stage_arg(kind: usize, stage: Option<&str>, path: &str) -> Result<Option<usize>, Error> {
    let Some(stage) = stage else {
        return Ok(None);
    };
    let k = entity_kinds()
        .get(kind)
        .ok_or_else(|| Error::internal("entity kind index out of range"))?;
    k.stage_index(stage).map(Some).ok_or_else(|| {
        let expected = if k.stages.is_empty() {
            format!("`{}` has no lifecycle; leave `stage` out", k.name)
        } else {
            format!("expected one of {}", k.stages.join(", "))
        };
        Error::new(
            ErrorCode::OwnershipUnknownStage,
            format!(
                "`{}` is not a stage of `{}`; {expected}",
                stage.chars().take(40).collect::<String>(),
                k.name
            ),
        )
        .at(path)
    })
}

/// The stage of one entity as several systems hold it, when the caller did not give one.
///
/// Each stage value held is a candidate. The candidate furthest along the lifecycle (in its
/// declared order) that is held by the system owning the stage field at that very stage wins:
/// lifecycles move forward, so a system still showing an earlier stage is usually lagging.
/// Failing that, a stage every holder agrees on wins. Otherwise the stage is unknown (`None`) and only fields whose owner is the same
/// at every stage have an owner.
pub fn resolve_stage(
    policy: &CompiledPolicy,
    kind: usize,
    holders: &[(Option<u16>, &Map<String, Value>)],
) -> Option<usize> {
    let k = entity_kinds().get(kind)?;
    let sf = k.stage_field?;
    let sfi = k.field_index(sf)?;
    let held = |h: &Map<String, Value>| {
        h.get(sf)
            .and_then(Value::as_str)
            .and_then(|s| k.stage_index(s))
    };
    let mut candidates: Vec<usize> = holders.iter().filter_map(|(_, r)| held(r)).collect();
    candidates.sort_unstable();
    candidates.dedup();
    for &c in candidates.iter().rev() {
        if let Some(o) = policy.owner(kind, Some(c), sfi)
            && holders
                .iter()
                .any(|(s, r)| *s == Some(o) && held(r) == Some(c))
        {
            return Some(c);
        }
    }
    match candidates.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

/// A golden record: each field from its owner.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Golden {
    /// The stage the owners were taken at (`None` when it could not be told).
    pub stage: Option<usize>,
    /// Field -> (value, the system it came from).
    pub fields: BTreeMap<&'static str, (Value, System)>,
    /// Fields some system holds but whose owner does not (or that have no owner): field -> owner.
    pub unresolved: BTreeMap<&'static str, Option<System>>,
    /// Field names no entity of the kind has, as held by some system.
    pub ignored: BTreeSet<String>,
}

/// Builds the golden record of one entity from the records several systems hold.
pub fn golden_record(
    policy: &CompiledPolicy,
    kind: usize,
    stage: Option<usize>,
    records: &[(System, &Map<String, Value>)],
) -> Result<Golden, Error> {
    let k = entity_kinds()
        .get(kind)
        .ok_or_else(|| Error::internal("entity kind index out of range"))?;
    let holders: Vec<(Option<u16>, &Map<String, Value>)> = records
        .iter()
        .map(|(s, r)| (policy.system_index(s.as_str()), *r))
        .collect();
    let stage = match stage {
        Some(s) => Some(s),
        None => resolve_stage(policy, kind, &holders),
    };
    let mut g = Golden {
        stage,
        ..Golden::default()
    };
    for (_, r) in records {
        for key in r.keys() {
            if k.field_index(key).is_none() {
                g.ignored.insert(key.clone());
            }
        }
    }
    for (fi, field) in k.fields.iter().enumerate() {
        if !records.iter().any(|(_, r)| r.contains_key(*field)) {
            continue;
        }
        let owner = policy.owner(kind, stage, fi);
        let from_owner = owner.and_then(|o| {
            let sys = policy.system(o)?;
            let (_, r) = records.iter().find(|(s, _)| s == sys)?;
            Some((r.get(*field)?.clone(), sys.clone()))
        });
        match from_owner {
            Some(v) => {
                g.fields.insert(field, v);
            }
            None => {
                g.unresolved
                    .insert(field, owner.and_then(|o| policy.system(o)).cloned());
            }
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests;
