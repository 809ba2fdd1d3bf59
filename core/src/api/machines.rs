//! `transition` and `describe_machines`: the lifecycle state machines.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
use crate::json::Limits;
use crate::machines::{Effect, Guard, GuardContext, MachineDescription, MachineName};
use crate::model::{SchemaVersion, System};

/// An event to try on an entity in a given state.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The machine (`time_entry`, `invoice`, ...).
    pub machine: MachineName,
    /// The entity's current state.
    pub state: String,
    /// The event.
    pub event: String,
    /// The system that sent the event.
    pub source: System,
    /// The facts the guards read.
    #[serde(default)]
    pub context: GuardContext,
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionRejection {
    /// `MACHINE_TRANSITION_NOT_ALLOWED`, `MACHINE_SOURCE_NOT_ALLOWED` or `MACHINE_GUARD_FAILED`.
    pub code: ErrorCode,
    /// A sentence naming the machine, state and event.
    pub message: String,
    /// For `MACHINE_GUARD_FAILED`: the failing guard of each candidate transition, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_guards: Vec<Guard>,
    /// For `MACHINE_SOURCE_NOT_ALLOWED`: the systems that may send the event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_sources: Vec<String>,
    /// For `MACHINE_TRANSITION_NOT_ALLOWED`: the events the state accepts (none for a terminal
    /// state).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_events: Vec<String>,
}

/// The outcome: the next state and effects, or the rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// Whether the transition is taken.
    pub allowed: bool,
    /// The state after the event (absent when refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_state: Option<String>,
    /// The guards checked and passed (empty when refused or unguarded).
    pub guards: Vec<Guard>,
    /// What the caller should do (empty when refused).
    pub effects: Vec<Effect>,
    /// Why it was refused (absent when allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<TransitionRejection>,
}

/// Applies an event to a state in a machine, without side effects.
///
/// A refusal (not in the machine, wrong sender, failed guard) is a response with
/// `allowed: false`; a state or event name the machine does not know is an input error.
pub fn transition(req: &TransitionRequest, _limits: &Limits) -> Result<TransitionResponse, Error> {
    let outcome =
        req.machine
            .transition(&req.state, &req.event, req.source.as_str(), &req.context)?;
    Ok(match outcome {
        Ok(taken) => TransitionResponse {
            schema_version: SchemaVersion,
            allowed: true,
            next_state: Some(taken.to.to_owned()),
            guards: taken.guards.to_vec(),
            effects: taken.effects.to_vec(),
            rejection: None,
        },
        Err(r) => TransitionResponse {
            schema_version: SchemaVersion,
            allowed: false,
            next_state: None,
            guards: Vec::new(),
            effects: Vec::new(),
            rejection: Some(TransitionRejection {
                code: r.code,
                message: r.message,
                failed_guards: r.failed_guards,
                allowed_sources: r.allowed_sources.iter().map(|s| (*s).to_owned()).collect(),
                allowed_events: r.allowed_events.iter().map(|s| (*s).to_owned()).collect(),
            }),
        },
    })
}

/// Which machines to describe.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DescribeMachinesRequest {
    /// Always 1 (may be omitted).
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// One machine; every machine when absent.
    #[serde(default)]
    pub machine: Option<MachineName>,
}

/// The machines as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DescribeMachinesResponse {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The machines, in a fixed order (opportunity, project, time entry, expense, milestone,
    /// change order, invoice).
    pub machines: Vec<MachineDescription>,
}

/// Describes one machine or all of them: states, events and senders, guards, effects, transitions.
pub fn describe_machines(
    req: &DescribeMachinesRequest,
    _limits: &Limits,
) -> Result<DescribeMachinesResponse, Error> {
    let names: Vec<MachineName> = match req.machine {
        Some(m) => vec![m],
        None => MachineName::ALL.to_vec(),
    };
    Ok(DescribeMachinesResponse {
        schema_version: SchemaVersion,
        machines: names.into_iter().map(MachineName::describe).collect(),
    })
}
