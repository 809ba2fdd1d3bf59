//! A machine as a document (JSON) and as a Mermaid `stateDiagram-v2`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Effect, Guard, Machine, MachineName, StateName};

/// An event and the systems that may send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EventDescription {
    /// The event name.
    pub name: String,
    /// The systems that may send it.
    pub senders: Vec<String>,
    /// What it means.
    pub description: String,
}

/// A guard a machine uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GuardDescription {
    /// The guard name.
    pub name: Guard,
    /// The condition, and the context fact it reads.
    pub description: String,
}

/// An effect a machine names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EffectDescription {
    /// The effect name.
    pub name: Effect,
    /// What the caller should do.
    pub description: String,
}

/// One transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionDescription {
    /// The state it leaves.
    pub from: String,
    /// The event that takes it.
    pub event: String,
    /// The state it reaches.
    pub to: String,
    /// Guards that must all pass.
    pub guards: Vec<Guard>,
    /// What the caller should do after it.
    pub effects: Vec<Effect>,
}

/// A machine as data: what `describe_machines` returns and `spec/machines/<name>.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MachineDescription {
    /// The machine name.
    pub name: MachineName,
    /// The entity kind it governs, as the ownership policy names it.
    pub entity: String,
    /// What it governs.
    pub description: String,
    /// The state a new entity starts in.
    pub initial: String,
    /// Every state, in declaration order.
    pub states: Vec<String>,
    /// States no transition leaves.
    pub terminal: Vec<String>,
    /// Every event, with its senders.
    pub events: Vec<EventDescription>,
    /// The guards its transitions use, in order of first use.
    pub guards: Vec<GuardDescription>,
    /// The effects its transitions name, in order of first use.
    pub effects: Vec<EffectDescription>,
    /// Every transition, in declaration order (candidates for one state and event are tried in
    /// this order).
    pub transitions: Vec<TransitionDescription>,
}

/// The machine as data.
pub fn describe<S: StateName>(m: &Machine<S>) -> MachineDescription {
    let mut guards: Vec<Guard> = Vec::new();
    let mut effects: Vec<Effect> = Vec::new();
    for t in m.transitions {
        for g in t.guards {
            if !guards.contains(g) {
                guards.push(*g);
            }
        }
        for e in t.effects {
            if !effects.contains(e) {
                effects.push(*e);
            }
        }
    }
    MachineDescription {
        name: m.name,
        entity: m.entity.to_owned(),
        description: m.description.to_owned(),
        initial: m.initial.name().to_owned(),
        states: S::STATES.iter().map(|s| s.name().to_owned()).collect(),
        terminal: m.terminal.iter().map(|s| s.name().to_owned()).collect(),
        events: m
            .events
            .iter()
            .map(|e| EventDescription {
                name: e.name.to_owned(),
                senders: e.senders.iter().map(|s| (*s).to_owned()).collect(),
                description: e.description.to_owned(),
            })
            .collect(),
        guards: guards
            .into_iter()
            .map(|g| GuardDescription {
                name: g,
                description: g.description().to_owned(),
            })
            .collect(),
        effects: effects
            .into_iter()
            .map(|e| EffectDescription {
                name: e,
                description: e.description().to_owned(),
            })
            .collect(),
        transitions: m
            .transitions
            .iter()
            .map(|t| TransitionDescription {
                from: t.from.name().to_owned(),
                event: t.event.to_owned(),
                to: t.to.name().to_owned(),
                guards: t.guards.to_vec(),
                effects: t.effects.to_vec(),
            })
            .collect(),
    }
}

/// The machine as a Mermaid `stateDiagram-v2`: one arrow per transition labelled
/// `event [guard]`, the initial state entered from `[*]` and terminal states leaving to `[*]`.
pub fn mermaid<S: StateName>(m: &Machine<S>) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "stateDiagram-v2");
    let _ = writeln!(
        s,
        "    %% {}: generated by `make gen` from core/src/machines; do not edit",
        m.name
    );
    let _ = writeln!(s, "    [*] --> {}", m.initial.name());
    for t in m.transitions {
        let _ = write!(s, "    {} --> {}: {}", t.from.name(), t.to.name(), t.event);
        if !t.guards.is_empty() {
            let names: Vec<&str> = t.guards.iter().map(|g| g.as_str()).collect();
            let _ = write!(s, " [{}]", names.join(", "));
        }
        s.push('\n');
    }
    for state in m.terminal {
        let _ = writeln!(s, "    {} --> [*]", state.name());
    }
    s
}
