//! Lifecycles as state machines.
//!
//! A [`Machine`] is `const` data: its states (one of the status enums of the canonical documents),
//! its events and the systems that may send each, its transitions with named [`Guard`]s and
//! [`Effect`]s, and its terminal states. [`transition`] is pure: it returns the next state and the
//! effects the caller should carry out, or a [`Rejection`] whose code names why (the transition is
//! not in the machine, the sender may not send the event, or a guard failed). Nothing is executed.
//!
//! [`MachineName`] reaches every machine by name for the operations and the CLI; [`describe()`]
//! exports a machine as a [`MachineDescription`] (JSON) and [`mermaid`] as a Mermaid
//! `stateDiagram-v2`.
//!
//! ```
//! use billwise_core::machines::{GuardContext, Guard, TIME_ENTRY, transition};
//! use billwise_core::model::WorkStatus;
//!
//! // An approved entry not yet billed may be recalled by the PSA.
//! let unbilled = GuardContext { billed: Some(false), ..GuardContext::default() };
//! let taken = transition(&TIME_ENTRY, WorkStatus::Approved, "recall", "psa", &unbilled);
//! assert_eq!(taken.map(|o| o.to), Ok(WorkStatus::Submitted));
//!
//! // Once billed, the guard `not_billed` refuses it; the rejection names the guard.
//! let billed = GuardContext { billed: Some(true), ..GuardContext::default() };
//! let refused = transition(&TIME_ENTRY, WorkStatus::Approved, "recall", "psa", &billed);
//! let rejection = refused.err().map(|r| (r.code.as_str(), r.failed_guards));
//! assert_eq!(rejection, Some(("MACHINE_GUARD_FAILED", vec![Guard::NotBilled])));
//! ```

mod definitions;
mod describe;
mod guards;

pub use definitions::{
    CHANGE_ORDER, EXPENSE, INVOICE, MILESTONE, OPPORTUNITY, PROJECT, TIME_ENTRY,
};
pub use describe::{
    EffectDescription, EventDescription, GuardDescription, MachineDescription,
    TransitionDescription, describe, mermaid,
};
pub use guards::{Guard, GuardContext};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
use crate::model::{
    ChangeOrderStatus, InvoiceStatus, MilestoneStatus, OpportunityStage, ProjectStatus, WorkStatus,
};

/// A state type a machine runs over: one of the status enums of the canonical documents.
pub trait StateName: Copy + Eq + std::fmt::Debug + 'static {
    /// Every state, in declaration order.
    const STATES: &'static [Self];

    /// The wire name of the state.
    fn name(self) -> &'static str;

    /// Looks a state up by its wire name.
    fn from_name(name: &str) -> Option<Self> {
        Self::STATES.iter().copied().find(|s| s.name() == name)
    }
}

macro_rules! state_names {
    ($($t:ty),+ $(,)?) => {$(
        impl StateName for $t {
            const STATES: &'static [Self] = <$t>::ALL;
            fn name(self) -> &'static str {
                self.as_str()
            }
        }
    )+};
}

state_names!(
    OpportunityStage,
    ProjectStatus,
    WorkStatus,
    MilestoneStatus,
    ChangeOrderStatus,
    InvoiceStatus,
);

/// An event a machine understands, and the systems allowed to send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSpec {
    /// The event name (`submit`, `payment_received`, ...).
    pub name: &'static str,
    /// The systems that may send it (`psa`, `erp`, `billing`, `crm`).
    pub senders: &'static [&'static str],
    /// What the event means.
    pub description: &'static str,
}

/// One arrow of a machine: on `event` in state `from`, go to `to` when every guard passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition<S: 'static> {
    /// The state the arrow leaves.
    pub from: S,
    /// The event that takes it.
    pub event: &'static str,
    /// The state it reaches.
    pub to: S,
    /// Guards that must all pass, in order.
    pub guards: &'static [Guard],
    /// What the caller should do once the transition is taken.
    pub effects: &'static [Effect],
}

/// A lifecycle declared as data.
///
/// Several transitions may leave one state on one event; they are tried in declaration order and
/// the first whose guards all pass is taken (an invoice payment goes to `partially_paid` or to
/// `paid` depending on the balance it leaves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine<S: 'static> {
    /// The machine's name.
    pub name: MachineName,
    /// The entity kind it governs, as the ownership policy names it.
    pub entity: &'static str,
    /// What the machine governs.
    pub description: &'static str,
    /// The state a new entity starts in.
    pub initial: S,
    /// States no transition leaves.
    pub terminal: &'static [S],
    /// The events, in declaration order.
    pub events: &'static [EventSpec],
    /// The transitions, in declaration order.
    pub transitions: &'static [Transition<S>],
}

impl<S: StateName> Machine<S> {
    /// The event called `name`, if the machine has one.
    pub fn event(&self, name: &str) -> Option<&'static EventSpec> {
        self.events.iter().find(|e| e.name == name)
    }

    /// The events that some transition out of `state` takes, each once, in declaration order.
    pub fn events_from(&self, state: S) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for t in self.transitions.iter().filter(|t| t.from == state) {
            if !out.contains(&t.event) {
                out.push(t.event);
            }
        }
        out
    }

    /// Whether `state` is declared terminal.
    pub fn is_terminal(&self, state: S) -> bool {
        self.terminal.contains(&state)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $s:literal => $desc:literal ),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = $desc] #[serde(rename = $s)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s, )+ }
            }

            /// What it means.
            pub const fn description(self) -> &'static str {
                match self { $( $name::$variant => $desc, )+ }
            }

            /// Looks a value up by its wire name.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $( $s => Some($name::$variant), )+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use string_enum;

string_enum! {
    /// The name of a lifecycle machine.
    MachineName {
        Opportunity = "opportunity" => "a sales opportunity, from prospecting to won or lost",
        Project = "project" => "a delivery project, from planned to closed",
        TimeEntry = "time_entry" => "a time entry, from draft through approval to billed",
        Expense = "expense" => "an expense, from draft through approval to billed",
        Milestone = "milestone" => "a milestone, from pending through acceptance to billed",
        ChangeOrder = "change_order" => "a change order (contract amendment), from draft to applied",
        Invoice = "invoice" => "an invoice, from draft through posting to paid, with credit notes",
    }
}

string_enum! {
    /// Something the caller should do once a transition is taken. The machine only names it.
    Effect {
        StartActivation = "start_activation" => "run the activation gate to turn the won opportunity into a project",
        BillingEligible = "billing_eligible" => "the item (for a project: its approved work) may be picked up by the next billing run",
        BillingIneligible = "billing_ineligible" => "the item (for a project: its work) is held from billing until it returns",
        RecordBilled = "record_billed" => "add what was billed to the billed ledger",
        RecordCredit = "record_credit" => "record the credit note in the billed ledger; what it gives back becomes billable again",
        ReleaseItems = "release_items" => "the items on the voided invoice return to the billing run",
        OpenReceivable = "open_receivable" => "open a receivable for the invoice total",
        RecordPayment = "record_payment" => "apply the payment to the open receivable",
        CloseReceivable = "close_receivable" => "the receivable is settled; nothing is left to collect",
        PauseCollection = "pause_collection" => "stop dunning while the dispute is open",
        ResumeCollection = "resume_collection" => "resume dunning on the open balance",
        NewContractVersion = "new_contract_version" => "apply the changes to make the contract's next version",
    }
}

impl MachineName {
    /// The machine's description as data.
    pub fn describe(self) -> MachineDescription {
        match self {
            Self::Opportunity => describe(&OPPORTUNITY),
            Self::Project => describe(&PROJECT),
            Self::TimeEntry => describe(&TIME_ENTRY),
            Self::Expense => describe(&EXPENSE),
            Self::Milestone => describe(&MILESTONE),
            Self::ChangeOrder => describe(&CHANGE_ORDER),
            Self::Invoice => describe(&INVOICE),
        }
    }

    /// The machine as a Mermaid `stateDiagram-v2`.
    pub fn mermaid(self) -> String {
        match self {
            Self::Opportunity => mermaid(&OPPORTUNITY),
            Self::Project => mermaid(&PROJECT),
            Self::TimeEntry => mermaid(&TIME_ENTRY),
            Self::Expense => mermaid(&EXPENSE),
            Self::Milestone => mermaid(&MILESTONE),
            Self::ChangeOrder => mermaid(&CHANGE_ORDER),
            Self::Invoice => mermaid(&INVOICE),
        }
    }

    /// [`transition`] by names: the state and event are looked up in this machine.
    ///
    /// A state or event the machine does not know is an input error (path `/state` or `/event`);
    /// a known transition that is refused is a [`Rejection`] in the `Ok` value.
    pub fn transition(
        self,
        state: &str,
        event: &str,
        source: &str,
        context: &GuardContext,
    ) -> Result<Result<Taken, Rejection>, Error> {
        match self {
            Self::Opportunity => by_name(&OPPORTUNITY, state, event, source, context),
            Self::Project => by_name(&PROJECT, state, event, source, context),
            Self::TimeEntry => by_name(&TIME_ENTRY, state, event, source, context),
            Self::Expense => by_name(&EXPENSE, state, event, source, context),
            Self::Milestone => by_name(&MILESTONE, state, event, source, context),
            Self::ChangeOrder => by_name(&CHANGE_ORDER, state, event, source, context),
            Self::Invoice => by_name(&INVOICE, state, event, source, context),
        }
    }
}

/// A transition that was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<S: 'static> {
    /// The next state.
    pub to: S,
    /// The guards that were checked and passed.
    pub guards: &'static [Guard],
    /// What the caller should do.
    pub effects: &'static [Effect],
}

/// A taken transition, by name (what [`MachineName::transition`] returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The next state's name.
    pub to: &'static str,
    /// The guards that were checked and passed.
    pub guards: &'static [Guard],
    /// What the caller should do.
    pub effects: &'static [Effect],
}

/// Why a transition was refused. A rejection is an outcome, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `MACHINE_TRANSITION_NOT_ALLOWED`, `MACHINE_SOURCE_NOT_ALLOWED` or `MACHINE_GUARD_FAILED`.
    pub code: ErrorCode,
    /// A sentence naming the machine, state and event.
    pub message: String,
    /// For a failed guard: the guard that failed in each candidate transition, in order.
    pub failed_guards: Vec<Guard>,
    /// For a refused sender: the systems that may send the event.
    pub allowed_sources: &'static [&'static str],
    /// For a transition not in the machine: the events the state does accept.
    pub allowed_events: Vec<&'static str>,
}

impl Rejection {
    fn new(code: ErrorCode, message: String) -> Rejection {
        Rejection {
            code,
            message,
            failed_guards: Vec::new(),
            allowed_sources: &[],
            allowed_events: Vec::new(),
        }
    }
}

fn ticks(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies `event`, sent by `source`, to an entity in `state`.
///
/// Checks, in order: that the machine has a transition from `state` on `event`
/// (`MACHINE_TRANSITION_NOT_ALLOWED`), that `source` may send the event
/// (`MACHINE_SOURCE_NOT_ALLOWED`), and that the guards of one of the candidate transitions all pass
/// (`MACHINE_GUARD_FAILED`). Pure: the same arguments always give the same answer.
pub fn transition<S: StateName>(
    machine: &Machine<S>,
    state: S,
    event: &str,
    source: &str,
    context: &GuardContext,
) -> Result<Outcome<S>, Rejection> {
    let taken = check(
        &ByName(machine),
        machine.name,
        machine.events,
        state.name(),
        event,
        source,
        context,
    )?;
    let t = machine.transitions.get(taken).ok_or_else(|| {
        Rejection::new(
            ErrorCode::InternalError,
            "a transition found is not in the machine".to_owned(),
        )
    })?;
    Ok(Outcome {
        to: t.to,
        guards: t.guards,
        effects: t.effects,
    })
}

/// A machine's transitions with their states by name: all [`check`] reads of them.
trait Transitions {
    /// The number of transitions.
    fn count(&self) -> usize;
    /// Transition `i`: the state it leaves (by name), its event and its guards.
    fn arrow(&self, i: usize) -> Option<(&'static str, &'static str, &'static [Guard])>;
}

struct ByName<'a, S: 'static>(&'a Machine<S>);

impl<S: StateName> Transitions for ByName<'_, S> {
    fn count(&self) -> usize {
        self.0.transitions.len()
    }
    fn arrow(&self, i: usize) -> Option<(&'static str, &'static str, &'static [Guard])> {
        let t = self.0.transitions.get(i)?;
        Some((t.from.name(), t.event, t.guards))
    }
}

/// The checks of [`transition`], on states by name: the index of the transition taken. (Compiled
/// once, rather than once per machine's state type: the WebAssembly module's size.)
fn check(
    transitions: &dyn Transitions,
    name: MachineName,
    events: &'static [EventSpec],
    state: &str,
    event: &str,
    source: &str,
    context: &GuardContext,
) -> Result<usize, Rejection> {
    let shown = |s: &str| {
        s.chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect::<String>()
    };
    let arrows = (0..transitions.count()).filter_map(|i| Some((i, transitions.arrow(i)?)));
    let mut candidates = arrows
        .clone()
        .filter(|(_, (from, on, _))| *from == state && *on == event)
        .peekable();
    if candidates.peek().is_none() {
        let mut allowed: Vec<&'static str> = Vec::new();
        for (_, (from, on, _)) in arrows {
            if from == state && !allowed.contains(&on) {
                allowed.push(on);
            }
        }
        let mut r = Rejection::new(
            ErrorCode::MachineTransitionNotAllowed,
            format!(
                "`{name}` in state `{state}` has no transition on event `{}`; events allowed in `{state}`: {}",
                shown(event),
                ticks(&allowed)
            ),
        );
        r.allowed_events = allowed;
        return Err(r);
    }
    let senders = events
        .iter()
        .find(|e| e.name == event)
        .map_or(&[][..], |e| e.senders);
    if !senders.contains(&source) {
        let mut r = Rejection::new(
            ErrorCode::MachineSourceNotAllowed,
            format!(
                "event `{}` of `{name}` may only be sent by {}, not `{}`",
                shown(event),
                ticks(senders),
                shown(source)
            ),
        );
        r.allowed_sources = senders;
        return Err(r);
    }
    let mut failed = Vec::new();
    let mut reasons = Vec::new();
    for (i, (_, _, guards)) in candidates {
        match guards
            .iter()
            .find_map(|g| g.check(context).err().map(|why| (*g, why)))
        {
            None => return Ok(i),
            Some((g, why)) => {
                failed.push(g);
                reasons.push(format!("guard `{}` failed: {why}", g.as_str()));
            }
        }
    }
    let mut r = Rejection::new(
        ErrorCode::MachineGuardFailed,
        format!(
            "`{name}` cannot leave state `{state}` on event `{}`: {}",
            shown(event),
            reasons.join("; ")
        ),
    );
    r.failed_guards = failed;
    Err(r)
}

fn by_name<S: StateName>(
    machine: &Machine<S>,
    state: &str,
    event: &str,
    source: &str,
    context: &GuardContext,
) -> Result<Result<Taken, Rejection>, Error> {
    let shown = |s: &str| {
        s.chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect::<String>()
    };
    let Some(from) = S::from_name(state) else {
        let names: Vec<&str> = S::STATES.iter().map(|s| s.name()).collect();
        return Err(Error::new(
            ErrorCode::InputInvalidValue,
            format!(
                "`{}` is not a state of `{}`; expected one of {}",
                shown(state),
                machine.name,
                ticks(&names)
            ),
        )
        .at("/state"));
    };
    if machine.event(event).is_none() {
        let names: Vec<&str> = machine.events.iter().map(|e| e.name).collect();
        return Err(Error::new(
            ErrorCode::InputInvalidValue,
            format!(
                "`{}` is not an event of `{}`; expected one of {}",
                shown(event),
                machine.name,
                ticks(&names)
            ),
        )
        .at("/event"));
    }
    let taken = match check(
        &ByName(machine),
        machine.name,
        machine.events,
        from.name(),
        event,
        source,
        context,
    ) {
        Ok(i) => i,
        Err(r) => return Ok(Err(r)),
    };
    let t = machine
        .transitions
        .get(taken)
        .ok_or_else(|| Error::internal("a transition found is not in the machine"))?;
    Ok(Ok(Taken {
        to: t.to.name(),
        guards: t.guards,
        effects: t.effects,
    }))
}

#[cfg(test)]
mod tests;
