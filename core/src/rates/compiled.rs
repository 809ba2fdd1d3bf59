//! The pre-indexed form of a rate card.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{RateQuery, RateResolution, RateRule};
use crate::hash::TextMap;
use crate::model::{Date, RateUnit};

/// A date packed into one integer that orders like the date.
fn day_key(d: Date) -> u32 {
    (u32::from(d.year()) << 9) | (u32::from(d.month()) << 5) | u32::from(d.day())
}

/// Disjoint dated segments of one key, sorted by start; each names the rule in force.
#[derive(Debug, Clone, PartialEq, Default)]
struct Timeline {
    segments: Vec<Segment>,
}

/// Days `start..=end` (packed day keys) priced by rule `rule`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    start: u32,
    end: u32,
    rule: u32,
}

impl Timeline {
    /// Builds the segments of the rules `members` (indexes into `rules`): on each day the rule in
    /// force (`effective_from <= day <= effective_to`) with the latest `effective_from` wins.
    fn build(rules: &[RateRule], members: &[usize]) -> Timeline {
        // Events: a rule starts on `from`, and stops after `to` (at day key `to + 1`).
        let mut events: Vec<(Date, bool, usize)> = Vec::with_capacity(members.len() * 2);
        for &i in members {
            let Some(r) = rules.get(i) else { continue };
            events.push((r.effective_from, true, i));
            if let Some(next) = r.effective_to.and_then(Date::succ) {
                events.push((next, false, i));
            }
        }
        events.sort_unstable();
        // The rules in force, sorted: a few per timeline, so a sorted list (a map's insertion and
        // removal code would cost the WebAssembly module more).
        let mut active: Vec<(Date, usize)> = Vec::new();
        let mut t = Timeline::default();
        let mut k = 0;
        while let Some(&(day, _, _)) = events.get(k) {
            while let Some(&(d, starts, i)) = events.get(k) {
                if d != day {
                    break;
                }
                if let Some(r) = rules.get(i) {
                    let key = (r.effective_from, i);
                    match (active.binary_search(&key), starts) {
                        (Err(at), true) => active.insert(at, key),
                        (Ok(at), false) => _ = active.remove(at),
                        _ => {}
                    }
                }
                k += 1;
            }
            let winner = active.last().map(|(_, i)| *i);
            // The segment ends the day before the next event (or never).
            let end = events
                .get(k)
                .and_then(|(d, _, _)| d.pred())
                .map_or(u32::MAX, day_key);
            if let Some(w) = winner {
                let w = u32::try_from(w).unwrap_or(u32::MAX);
                let start = day_key(day);
                let before = day.pred().map(day_key);
                match t.segments.last_mut() {
                    Some(last) if last.rule == w && Some(last.end) == before => last.end = end,
                    _ => t.segments.push(Segment {
                        start,
                        end,
                        rule: w,
                    }),
                }
            }
        }
        t
    }

    #[inline]
    fn find(&self, day: u32) -> Option<u32> {
        let n = self.segments.partition_point(|s| s.start <= day);
        let seg = self.segments.get(n.checked_sub(1)?)?;
        (seg.end >= day).then_some(seg.rule)
    }
}

/// Interned names: a name's id is its position, in first-seen order.
type NameIndex = TextMap<Box<str>, ()>;

/// The id of `name` among the names of `map`, added if new.
fn intern(map: &mut NameIndex, name: &str) -> u32 {
    let pos = match map.position(name) {
        Some(pos) => pos,
        None => map.insert(name.into(), ()),
    };
    u32::try_from(pos).unwrap_or(u32::MAX)
}

/// The id of `name`, if `map` has it.
#[inline]
fn name_id(map: &NameIndex, name: &str) -> Option<u32> {
    map.position(name).and_then(|pos| u32::try_from(pos).ok())
}

/// A rate card compiled for fast resolution: interned names and one timeline per key.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledCard {
    rules: Vec<RateRule>,
    hours_per_day: Decimal,
    version: u32,
    roles: NameIndex,
    resources: NameIndex,
    tasks: NameIndex,
    timelines: Vec<Timeline>,
    by_role: Vec<Option<u32>>,
    by_resource: Vec<Option<u32>>,
    by_role_task: BTreeMap<(u32, u32), u32>,
    by_resource_task: BTreeMap<(u32, u32), u32>,
}

fn set(v: &mut Vec<Option<u32>>, at: u32, value: u32) {
    let at = at as usize;
    if v.len() <= at {
        v.resize(at + 1, None);
    }
    if let Some(slot) = v.get_mut(at) {
        *slot = Some(value);
    }
}

impl CompiledCard {
    /// Compiles `rules` (one contract version's rates) resolved as `version`.
    pub fn new(rules: Vec<RateRule>, hours_per_day: Decimal, version: u32) -> CompiledCard {
        let mut roles = NameIndex::default();
        let mut resources = NameIndex::default();
        let mut tasks = NameIndex::default();
        // (is_resource, target id, task id or MAX) -> member rule indexes
        let mut groups: BTreeMap<(bool, u32, u32), Vec<usize>> = BTreeMap::new();
        for (i, r) in rules.iter().enumerate() {
            let (is_resource, target) = match (&r.key.resource_id, &r.key.role) {
                (Some(res), _) => (true, intern(&mut resources, res.as_str())),
                (None, Some(role)) => (false, intern(&mut roles, role)),
                (None, None) => continue,
            };
            let task = r
                .key
                .task_id
                .as_ref()
                .map_or(u32::MAX, |t| intern(&mut tasks, t.as_str()));
            groups
                .entry((is_resource, target, task))
                .or_default()
                .push(i);
        }
        let mut card = CompiledCard {
            hours_per_day,
            version,
            roles,
            resources,
            tasks,
            timelines: Vec::with_capacity(groups.len()),
            by_role: Vec::new(),
            by_resource: Vec::new(),
            by_role_task: BTreeMap::new(),
            by_resource_task: BTreeMap::new(),
            rules: Vec::new(),
        };
        for ((is_resource, target, task), members) in groups {
            let tl = u32::try_from(card.timelines.len()).unwrap_or(u32::MAX);
            card.timelines.push(Timeline::build(&rules, &members));
            match (is_resource, task) {
                (true, u32::MAX) => set(&mut card.by_resource, target, tl),
                (false, u32::MAX) => set(&mut card.by_role, target, tl),
                (true, t) => {
                    card.by_resource_task.insert((target, t), tl);
                }
                (false, t) => {
                    card.by_role_task.insert((target, t), tl);
                }
            }
        }
        card.rules = rules;
        card
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[RateRule] {
        &self.rules
    }

    /// The contract version this card belongs to.
    pub fn version(&self) -> u32 {
        self.version
    }

    fn hit(&self, timeline: Option<u32>, day: u32) -> Option<usize> {
        let tl = self.timelines.get(timeline? as usize)?;
        Some(tl.find(day)? as usize)
    }

    /// The position in [`rules`](Self::rules) of the rule that prices work of `q`'s role, resource
    /// and task on its date (its `rate_override` is not looked at): resource + task, resource,
    /// role + task, role.
    #[inline]
    pub fn rule_index(&self, q: &RateQuery<'_>) -> Option<usize> {
        let day = day_key(q.work_date);
        let task = match q.task_id {
            Some(t) if !self.tasks.is_empty() => name_id(&self.tasks, t),
            _ => None,
        };
        let mut found = None;
        if let Some(res) = q
            .resource_id
            .filter(|_| !self.resources.is_empty())
            .and_then(|r| name_id(&self.resources, r))
        {
            if let Some(t) = task {
                found = self.hit(self.by_resource_task.get(&(res, t)).copied(), day);
            }
            if found.is_none() {
                found = self.hit(self.by_resource.get(res as usize).copied().flatten(), day);
            }
        }
        if found.is_none()
            && let Some(role) = name_id(&self.roles, q.role)
        {
            if let Some(t) = task {
                found = self.hit(self.by_role_task.get(&(role, t)).copied(), day);
            }
            if found.is_none() {
                found = self.hit(self.by_role.get(role as usize).copied().flatten(), day);
            }
        }
        found
    }

    /// Resolves one query: override, then resource + task, resource, role + task, role.
    #[inline]
    pub fn resolve(&self, q: &RateQuery<'_>) -> RateResolution<'_> {
        if let Some(rate) = q.rate_override {
            return RateResolution::Rate {
                rate,
                unit: RateUnit::Hour,
                rule: None,
                hours_per_day: None,
                contract_version: self.version,
            };
        }
        let found = self.rule_index(q).and_then(|i| self.rules.get(i));
        match found {
            Some(rule) => RateResolution::Rate {
                rate: rule.rate,
                unit: rule.unit,
                rule: Some(rule),
                hours_per_day: match rule.unit {
                    RateUnit::Day => Some(self.hours_per_day),
                    RateUnit::Hour => None,
                },
                contract_version: self.version,
            },
            None => RateResolution::Missing {
                contract_version: self.version,
            },
        }
    }
}
