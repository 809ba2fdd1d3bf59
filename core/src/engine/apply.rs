//! Evaluating an envelope into a [`Plan`]: the documents to write and the audit changes, computed
//! without touching the state. The engine commits a plan only when every check passed.

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use super::audit::AuditChange;
use super::types::{CreditLine, Envelope, Event, InvoiceRecord, Rejection, World};
use super::{BilledIndex, Engine, occurred_on};
use crate::billing::{self, BilledLedger, ItemKind, LedgerCredit, LedgerIndex, NetBilled, Period};
use crate::error::Problem;
use crate::error::{Error, ErrorCode, Pointer};
use crate::json::{CanonicalJson, to_canonical_string, to_canonical_value};
use crate::machines::{GuardContext, MachineName, StateName};
use crate::model::Currency;
use crate::model::{
    Change, ChangeOrder, ChangeOrderStatus, Contract, Date, Dec, Expense, Id, InvoiceStatus,
    Milestone, MilestoneStatus, Money, Opportunity, OpportunityStage, Payment, Project,
    ProjectStatus, SchemaVersion, System, TimeEntry, WorkStatus,
};
use crate::validate::{Document, Problems, documents};

/// Why an envelope was not applied: a rule refused it, or it could not be evaluated.
pub(super) enum Fail {
    Rejected(Rejection),
    Error(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Error(e)
    }
}

impl From<Rejection> for Fail {
    fn from(r: Rejection) -> Self {
        Fail::Rejected(r)
    }
}

fn rejected<T>(code: ErrorCode, message: String) -> Result<T, Fail> {
    Err(Fail::Rejected(Rejection::new(code, message)))
}

/// An envelope whose document is not valid: rejected with every problem, each at its path in the
/// envelope (`/event/time_entry/hours`), the first one's code as the reason.
fn invalid(field: &str, id: &Id, problems: Vec<Problem>) -> Fail {
    let noun = field.replace('_', " ");
    let base = Pointer::root().key("event").key(field);
    let problems: Vec<Problem> = problems
        .into_iter()
        .map(|p| Problem {
            path: format!("{}{}", base.as_str(), p.path),
            ..p
        })
        .collect();
    let Some(first) = problems.first() else {
        return Fail::Error(Error::internal("an invalid document with no problem"));
    };
    let more = match problems.len() {
        1 => String::new(),
        2 => " (and 1 more problem)".to_owned(),
        n => format!(" (and {} more problems)", n - 1),
    };
    let message = format!(
        "{noun} `{id}` is not valid: {} (at `{}`){more}",
        first.message, first.path
    );
    Fail::Rejected(Rejection {
        code: first.code,
        message,
        problems,
    })
}

/// The problems `validate` finds in a document an event records, before anything changes: an
/// invalid document never enters the engine's state. A milestone is checked against the held
/// contract (its currency, whether it has a fixed fee); with none held yet, against its own
/// amount's currency, and a percent is checked against the fee when the contract arrives.
fn document_problems(event: &Event, contract: Option<&Contract>) -> Vec<Problem> {
    let root = Pointer::root();
    let mut p = Problems::new();
    match event {
        Event::OpportunityRecorded { opportunity } => {
            documents::opportunity(opportunity, &root, &mut p);
        }
        Event::ProjectRecorded { project } => documents::project(project, &root, &mut p),
        Event::TimeEntryRecorded { time_entry } => {
            documents::time_entry(time_entry, true, &Pointer::root, &mut p);
        }
        Event::ExpenseRecorded { expense } => documents::expense(expense, &Pointer::root, &mut p),
        Event::MilestoneRecorded { milestone } => match contract {
            Some(c) => documents::milestone(milestone, c, &root, &mut p),
            None => {
                // The currency is read only for an amount, which it then always matches.
                let currency = milestone
                    .amount
                    .as_ref()
                    .map_or(Currency::Usd, |a| a.currency);
                documents::milestone_of(milestone, currency, true, &root, &mut p);
            }
        },
        _ => {}
    }
    p.into_vec()
}

/// A document to store.
pub(super) enum Write {
    Contract(Box<Contract>),
    Opportunity(Box<Opportunity>),
    ChangeOrder(Box<ChangeOrder>),
    Project(Box<Project>),
    TimeEntry(Box<TimeEntry>),
    Expense(Box<Expense>),
    Milestone(Box<Milestone>),
    /// A milestone an approved change order removes (`remove_milestone`).
    MilestoneRemoved(Id),
    Invoice(Box<InvoiceRecord>),
    Payment(Box<Payment>),
    Ledger(Box<BilledLedger>),
}

/// What an applied envelope does.
#[derive(Default)]
pub(super) struct Plan {
    pub writes: Vec<Write>,
    pub changes: Vec<AuditChange>,
}

/// What a [`Write`] replaced: rolling the write back puts it back (`None`: there was nothing).
#[derive(Debug, Clone)]
pub(super) enum Undo {
    Contract(Option<Box<Contract>>),
    Ledger(Option<Box<BilledLedger>>),
    Opportunity(Id, Option<Box<Opportunity>>),
    ChangeOrder(Id, Option<Box<ChangeOrder>>),
    Project(Id, Option<Box<Project>>),
    TimeEntry(Id, Option<Box<TimeEntry>>),
    Expense(Id, Option<Box<Expense>>),
    Milestone(Id, Option<Box<Milestone>>),
    Invoice(Id, Option<Box<InvoiceRecord>>),
    Payment(Id, Option<Box<Payment>>),
}

/// Stores one document; with `undo`, records what it replaced there.
pub(super) fn write(world: &mut World, w: Write, undo: Option<&mut Vec<Undo>>) {
    macro_rules! put {
        ($map:ident, $kind:ident, $d:expr) => {{
            let d = $d;
            let id = undo.as_ref().map(|_| d.id.clone());
            let old = world.$map.insert(d.id.clone(), d);
            if let (Some(u), Some(id)) = (undo, id) {
                u.push(Undo::$kind(id, old));
            }
        }};
    }
    match w {
        Write::Contract(d) => {
            let old = world.contract.replace(*d);
            if let Some(u) = undo {
                u.push(Undo::Contract(old.map(Box::new)));
            }
        }
        Write::Opportunity(d) => put!(opportunities, Opportunity, d),
        Write::ChangeOrder(d) => put!(change_orders, ChangeOrder, d),
        Write::Project(d) => put!(projects, Project, d),
        Write::TimeEntry(d) => put!(time_entries, TimeEntry, d),
        Write::Expense(d) => put!(expenses, Expense, d),
        Write::Milestone(d) => put!(milestones, Milestone, d),
        Write::MilestoneRemoved(id) => {
            let old = world.milestones.remove(&id);
            if let Some(u) = undo {
                u.push(Undo::Milestone(id, old));
            }
        }
        Write::Invoice(d) => put!(invoices, Invoice, d),
        Write::Payment(d) => put!(payments, Payment, d),
        Write::Ledger(d) => {
            let old = world.ledger.replace(*d);
            if let Some(u) = undo {
                u.push(Undo::Ledger(old.map(Box::new)));
            }
        }
    }
}

/// Puts back what one write replaced.
pub(super) fn undo(world: &mut World, u: Undo) {
    macro_rules! back {
        ($map:ident, $id:expr, $old:expr) => {
            match $old {
                Some(d) => {
                    world.$map.insert($id, d);
                }
                None => {
                    world.$map.remove(&$id);
                }
            }
        };
    }
    match u {
        Undo::Contract(old) => world.contract = old.map(|c| *c),
        Undo::Ledger(old) => world.ledger = old.map(|l| *l),
        Undo::Opportunity(id, old) => back!(opportunities, id, old),
        Undo::ChangeOrder(id, old) => back!(change_orders, id, old),
        Undo::Project(id, old) => back!(projects, id, old),
        Undo::TimeEntry(id, old) => back!(time_entries, id, old),
        Undo::Expense(id, old) => back!(expenses, id, old),
        Undo::Milestone(id, old) => back!(milestones, id, old),
        Undo::Invoice(id, old) => back!(invoices, id, old),
        Undo::Payment(id, old) => back!(payments, id, old),
    }
}

/// A document the engine holds, and how events may change it.
trait Doc: Serialize + Clone {
    /// Its collection in [`World`] (its pointer prefix).
    const COLLECTION: &'static str;
    /// Its entity kind in the ownership policy.
    const ENTITY: &'static str;
    /// Its name in sentences.
    const NOUN: &'static str;
    /// The field holding its lifecycle state.
    const STATUS_FIELD: &'static str;
    /// The states a new document may arrive in by upsert.
    const NEW_STATES: &'static [&'static str];
    /// Fields only lifecycle events may change.
    const FIXED: &'static [&'static str];
    /// States in which an upsert may change nothing.
    const LOCKED: &'static [&'static str];
    fn id(&self) -> &Id;
    fn state(&self) -> &'static str;
    fn set_state(&mut self, name: &str) -> Result<(), Error>;
    fn held<'a>(world: &'a World, id: &Id) -> Option<&'a Self>;
    fn into_write(self) -> Write;
    /// The pointer of the document in the snapshot's `state`.
    fn pointer(id: &Id) -> Pointer {
        Pointer::root().key(Self::COLLECTION).key(id.as_str())
    }
}

/// The items the ledger's entries of invoice `invoice_id` bill, sorted, each once.
fn invoice_items<'l>(ledger: &'l BilledLedger, invoice_id: &Id) -> Vec<(ItemKind, &'l Id)> {
    sorted_items(
        ledger
            .entries
            .iter()
            .filter(|e| &e.invoice_id == invoice_id)
            .map(|e| (e.kind, &e.item_id)),
    )
}

/// The items of `items`, sorted, each once (a sorted list rather than a set: a set's B-tree and
/// its sort cost the WebAssembly module more).
fn sorted_items<'i>(items: impl Iterator<Item = (ItemKind, &'i Id)>) -> Vec<(ItemKind, &'i Id)> {
    let mut out: Vec<(ItemKind, &'i Id)> = items.collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The keys of `b` and `a`, in order, each once. Both maps hand their keys over sorted, so they
/// are merged as they come (a set built from them would sort them again, and cost the WebAssembly
/// module its own B-tree and sort).
fn merged_keys<'m>(
    b: &'m serde_json::Map<String, Value>,
    a: &'m serde_json::Map<String, Value>,
) -> Vec<&'m String> {
    let mut keys = Vec::with_capacity(b.len().max(a.len()));
    let (mut x, mut y) = (b.keys().peekable(), a.keys().peekable());
    loop {
        let next = match (x.peek(), y.peek()) {
            (Some(p), Some(q)) if p < q => x.next(),
            (Some(p), Some(q)) if q < p => y.next(),
            (Some(_), Some(_)) => {
                y.next();
                x.next()
            }
            (Some(_), None) => x.next(),
            (None, _) => y.next(),
        };
        match next {
            Some(k) => keys.push(k),
            None => return keys,
        }
    }
}

/// A document type's [`Doc`] facts as a value, for the checks compiled once for every type.
struct DocKind {
    entity: &'static str,
    noun: &'static str,
    status_field: &'static str,
    new_states: &'static [&'static str],
    fixed: &'static [&'static str],
    locked: &'static [&'static str],
}

fn parse_state<S: StateName>(name: &str) -> Result<S, Error> {
    S::from_name(name).ok_or_else(|| Error::internal(format!("`{name}` is not a known state")))
}

macro_rules! doc {
    ($t:ty, $coll:literal, $entity:literal, $noun:literal, $field:ident, $state:ty,
     new: [$($new:literal),*], fixed: [$($fixed:literal),*], locked: [$($locked:literal),*],
     $world:ident, $wvar:ident) => {
        impl Doc for $t {
            const COLLECTION: &'static str = $coll;
            const ENTITY: &'static str = $entity;
            const NOUN: &'static str = $noun;
            const STATUS_FIELD: &'static str = stringify!($field);
            const NEW_STATES: &'static [&'static str] = &[$($new),*];
            const FIXED: &'static [&'static str] = &[$($fixed),*];
            const LOCKED: &'static [&'static str] = &[$($locked),*];
            fn id(&self) -> &Id {
                &self.id
            }
            fn state(&self) -> &'static str {
                self.$field.as_str()
            }
            fn set_state(&mut self, name: &str) -> Result<(), Error> {
                self.$field = parse_state::<$state>(name)?;
                Ok(())
            }
            fn held<'a>(world: &'a World, id: &Id) -> Option<&'a Self> {
                world.$world.get(id).map(|d| &**d)
            }
            fn into_write(self) -> Write {
                Write::$wvar(Box::new(self))
            }
        }
    };
}

doc!(Opportunity, "opportunities", "opportunity", "opportunity", stage, OpportunityStage,
    new: ["prospecting", "qualification", "proposal", "negotiation", "closed_lost"],
    fixed: ["stage"], locked: [], opportunities, Opportunity);
doc!(Project, "projects", "project", "project", status, ProjectStatus,
    new: ["planned", "active", "on_hold"], fixed: ["status", "contract_id"], locked: ["closed"],
    projects, Project);
doc!(TimeEntry, "time_entries", "time_entry", "time entry", status, WorkStatus,
    new: ["draft", "submitted", "rejected", "approved"], fixed: ["status"], locked: ["billed"],
    time_entries, TimeEntry);
doc!(Expense, "expenses", "expense", "expense", status, WorkStatus,
    new: ["draft", "submitted", "rejected", "approved"], fixed: ["status"], locked: ["billed"],
    expenses, Expense);
doc!(Milestone, "milestones", "milestone", "milestone", status, MilestoneStatus,
    new: ["pending", "completed", "rejected", "accepted"], fixed: ["status"], locked: ["billed"],
    milestones, Milestone);
doc!(ChangeOrder, "change_orders", "change_order", "change order", status, ChangeOrderStatus,
    new: ["draft", "submitted", "approved"], fixed: ["status", "contract_id", "sequence"],
    locked: ["applied", "rejected", "withdrawn"], change_orders, ChangeOrder);
doc!(InvoiceRecord, "invoices", "invoice", "invoice", status, InvoiceStatus,
    new: [], fixed: [], locked: [], invoices, Invoice);

impl Doc for Contract {
    const COLLECTION: &'static str = "contract";
    const ENTITY: &'static str = "contract";
    const NOUN: &'static str = "contract";
    const STATUS_FIELD: &'static str = "status";
    const NEW_STATES: &'static [&'static str] = &[
        "draft",
        "negotiation",
        "signed",
        "active",
        "completed",
        "terminated",
    ];
    const FIXED: &'static [&'static str] = &["change_orders"];
    const LOCKED: &'static [&'static str] = &[];
    fn id(&self) -> &Id {
        &self.id
    }
    fn state(&self) -> &'static str {
        self.status.as_str()
    }
    fn set_state(&mut self, _: &str) -> Result<(), Error> {
        Err(Error::internal("a contract has no lifecycle machine"))
    }
    fn held<'a>(world: &'a World, id: &Id) -> Option<&'a Self> {
        world.contract.as_ref().filter(|c| &c.id == id)
    }
    fn into_write(self) -> Write {
        Write::Contract(Box::new(self))
    }
    fn pointer(_: &Id) -> Pointer {
        Pointer::root().key("contract")
    }
}

fn value<T: Serialize + ?Sized>(v: &T) -> Result<Value, Error> {
    to_canonical_value(v)
}

fn change(path: impl Into<String>, before: Value, after: Value) -> AuditChange {
    AuditChange {
        path: path.into(),
        before: CanonicalJson::from_value(&before),
        after: CanonicalJson::from_value(&after),
    }
}

fn unknown(noun: &str, id: &Id) -> Fail {
    Fail::Rejected(Rejection::new(
        ErrorCode::EngineUnknownEntity,
        format!(
            "{noun} `{id}` is not held by the engine; its creating event may not have arrived yet"
        ),
    ))
}

fn no_contract() -> Fail {
    Fail::Rejected(Rejection::new(
        ErrorCode::EngineNoContract,
        "the engine holds no contract yet; record one with `contract.recorded` first",
    ))
}

/// The system that carries out an effect on an item: the first sender its machine declares for
/// the event (`bill` by `billing`, `credit_issued` by `erp`).
const BILLING_SYSTEM: &str = "billing";
const CREDITING_SYSTEM: &str = "erp";

/// Takes `event` on machine `machine` from state `from`, or rejects with the machine's reason.
fn step(
    machine: MachineName,
    from: &str,
    event: &str,
    source: &str,
    ctx: &GuardContext,
) -> Result<&'static str, Fail> {
    match machine.transition(from, event, source, ctx)? {
        Ok(t) => Ok(t.to),
        Err(r) => Err(Fail::Rejected(Rejection::new(r.code, r.message))),
    }
}

fn fields_of(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn entity_name(kind: usize) -> &'static str {
    crate::ownership::entity_kinds()
        .get(kind)
        .map_or("", |k| k.name)
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn money_sub(a: Money, b: Money) -> Result<Money, Fail> {
    Ok(a.checked_sub(b)?)
}

impl Engine {
    /// Whether the ownership policy checks the fields of `entity` (a policy is set and names it).
    fn enforces(&self, entity: &str) -> bool {
        match (&self.compiled, crate::ownership::entity_index(entity)) {
            (Some(policy), Some(kind)) => policy.names_kind(kind),
            _ => false,
        }
    }

    /// The ownership step: every field an event changes must be owned by its source at the
    /// entity's stage (`OWNERSHIP_NOT_OWNER`, or `OWNERSHIP_NO_OWNER` when no rule gives it one).
    /// Entity kinds the policy does not name, and fields the policy's catalogue does not know
    /// (the engine's own bookkeeping), are not checked.
    fn check_ownership(
        &self,
        entity: &str,
        stage: Option<&str>,
        source: &System,
        fields: &[&str],
    ) -> Result<(), Fail> {
        use crate::ownership::{Decision, entity_index};
        let (Some(policy), Some(kind)) = (&self.compiled, entity_index(entity)) else {
            return Ok(());
        };
        if !policy.names_kind(kind) || fields.is_empty() {
            return Ok(());
        }
        let stage_index = stage.and_then(|s| {
            crate::ownership::entity(entity_name(kind)).and_then(|k| k.stage_index(s))
        });
        let from = policy.system_index(source.as_str());
        let at = stage.map_or_else(
            || "at every stage".to_owned(),
            |s| format!("at stage `{s}`"),
        );
        for field in fields {
            match policy.decide(kind, stage_index, from, field) {
                Decision::Accepted | Decision::UnknownField => {}
                Decision::NotOwner(o) => {
                    let owner = policy.system(o).map_or("", |s| s.as_str());
                    return rejected(
                        ErrorCode::OwnershipNotOwner,
                        format!(
                            "`{owner}` owns `{entity}.{field}` {at}; `{source}` may not change it"
                        ),
                    );
                }
                Decision::NoOwner => {
                    return rejected(
                        ErrorCode::OwnershipNoOwner,
                        format!("no rule gives `{entity}.{field}` one owner {at}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Evaluates an envelope against the current state. `text` is the event's canonical JSON
    /// (already written for the fingerprint); an upsert records the event's document as the
    /// part of it that is the document's own canonical text.
    pub(super) fn plan(&self, env: &Envelope, text: &str) -> Result<Plan, Fail> {
        // The document an event records, as the canonical text the audit keeps: the event's
        // text is `{"<field>":<document>,"type":"<type>"}`, so the document's is the part
        // between (`upsert` writes the document itself should that ever not hold).
        let doc = |field: &str| {
            text.strip_prefix("{\"")?
                .strip_prefix(field)?
                .strip_prefix("\":")?
                .strip_suffix("\"}")?
                .strip_suffix(env.event.type_name())?
                .strip_suffix(",\"type\":\"")
                .map(CanonicalJson::from_canonical_text)
        };
        let problems = document_problems(&env.event, self.world.contract.as_ref());
        if let Some((field, id)) = env.event.recorded_document()
            && !problems.is_empty()
        {
            return Err(invalid(field, id, problems));
        }
        match &env.event {
            Event::OpportunityRecorded { opportunity } => {
                self.upsert(env, opportunity.as_ref(), doc("opportunity"))
            }
            Event::ContractRecorded { contract } => self.record_contract(env, contract),
            Event::ProjectRecorded { project } => {
                self.same_contract("project", &project.id, &project.contract_id)?;
                self.upsert(env, project.as_ref(), doc("project"))
            }
            Event::TimeEntryRecorded { time_entry } => {
                self.not_below_billed(time_entry)?;
                self.upsert(env, time_entry.as_ref(), doc("time_entry"))
            }
            Event::ExpenseRecorded { expense } => {
                self.upsert(env, expense.as_ref(), doc("expense"))
            }
            Event::MilestoneRecorded { milestone } => {
                self.upsert(env, milestone.as_ref(), doc("milestone"))
            }
            Event::ChangeOrderRecorded { change_order } => {
                self.same_contract("change order", &change_order.id, &change_order.contract_id)?;
                // Checked as a document here; against the contract as amended (roles, milestones,
                // currency) when it is approved and makes a version, by the history a run builds:
                // the contract as signed would refuse a change order that removes a milestone an
                // earlier one added.
                let problems = Document::ChangeOrder(change_order.as_ref().clone()).validate(None);
                if !problems.is_empty() {
                    return Err(invalid("change_order", &change_order.id, problems));
                }
                let mut plan = self.upsert(env, change_order.as_ref(), doc("change_order"))?;
                self.add_amended_milestones(change_order, &mut plan)?;
                Ok(plan)
            }
            Event::InvoiceDrafted {
                invoice_id,
                period,
                as_of,
            } => self.draft_invoice(env, invoice_id, *period, *as_of),
            Event::PaymentReceived {
                payment_id,
                invoice_id,
                amount,
                date,
            } => self.receive_payment(env, payment_id, invoice_id, *amount, *date),
            Event::CreditNoteIssued {
                credit_note_id,
                invoice_id,
                lines,
            } => self.issue_credit(env, credit_note_id, invoice_id, lines),
            other => match other.lifecycle() {
                Some((machine, event, id)) => self.lifecycle(env, machine, event, id),
                None => Err(Fail::Error(Error::internal(format!(
                    "event `{}` has no handler",
                    other.type_name()
                )))),
            },
        }
    }

    /// Rejects a document that belongs to another contract than the one held.
    fn same_contract(&self, noun: &str, id: &Id, contract_id: &Id) -> Result<(), Fail> {
        match &self.world.contract {
            Some(c) if &c.id != contract_id => rejected(
                ErrorCode::EngineWrongContract,
                format!(
                    "{noun} `{id}` belongs to contract `{contract_id}`; the engine holds contract `{}`",
                    c.id
                ),
            ),
            _ => Ok(()),
        }
    }

    fn record_contract(&self, env: &Envelope, contract: &Contract) -> Result<Plan, Fail> {
        if let Some(c) = &self.world.contract
            && c.id != contract.id
        {
            return rejected(
                ErrorCode::EngineWrongContract,
                format!(
                    "the engine holds contract `{}`; contract `{}` needs an engine of its own",
                    c.id, contract.id
                ),
            );
        }
        // The engine keeps the list of applied change orders: a sender that does not track it
        // sends the contract as signed (an empty list), which keeps the engine's.
        let mut contract = contract.clone();
        if contract.change_orders.is_empty()
            && let Some(c) = &self.world.contract
        {
            contract.change_orders.clone_from(&c.change_orders);
        }
        let contract = &contract;
        let problems = Document::Contract(Box::new(contract.clone())).validate(None);
        if !problems.is_empty() {
            return Err(invalid("contract", &contract.id, problems));
        }
        let mut plan = self.upsert(env, contract, None)?;
        // A new contract's milestones become milestones the engine tracks.
        for m in &contract.milestones {
            if !self.world.milestones.contains_key(m.id.as_str()) {
                plan.changes
                    .push(change(Milestone::pointer(&m.id), Value::Null, value(m)?));
                plan.writes.push(Write::Milestone(Box::new(m.clone())));
            }
        }
        Ok(plan)
    }

    /// Creates a document or changes fields of the one held.
    /// `after` is the document's canonical text when the caller has it.
    fn upsert<T: Doc>(
        &self,
        env: &Envelope,
        new: &T,
        after: Option<CanonicalJson>,
    ) -> Result<Plan, Fail> {
        let after = match after {
            Some(t) => t,
            None => CanonicalJson::from_canonical_text(&to_canonical_string(new)?),
        };
        let held = match T::held(&self.world, new.id()) {
            Some(old) => Some((value(old)?, old.state())),
            None => None,
        };
        let kind = DocKind {
            entity: T::ENTITY,
            noun: T::NOUN,
            status_field: T::STATUS_FIELD,
            new_states: T::NEW_STATES,
            fixed: T::FIXED,
            locked: T::LOCKED,
        };
        let changes = self.upsert_changes(
            env,
            &kind,
            new.id(),
            T::pointer(new.id()),
            new.state(),
            held,
            after,
        )?;
        Ok(Plan {
            writes: vec![new.clone().into_write()],
            changes,
        })
    }

    /// What an upsert changes, checked: the part of [`Engine::upsert`] that does not depend on
    /// the document's type, compiled once rather than once per document type. `held` is the
    /// document held (as JSON) and its state.
    #[allow(clippy::too_many_arguments)]
    fn upsert_changes(
        &self,
        env: &Envelope,
        kind: &DocKind,
        id: &Id,
        base: Pointer,
        new_state: &str,
        held: Option<(Value, &str)>,
        after: CanonicalJson,
    ) -> Result<Vec<AuditChange>, Fail> {
        let mut changes = Vec::new();
        let fields: Vec<String>;
        let stage;
        match held {
            None => {
                if !kind.new_states.contains(&new_state) {
                    return rejected(
                        ErrorCode::EngineFieldNotByUpsert,
                        format!(
                            "a new {} may arrive as {}, not `{new_state}`: later states are reached only by lifecycle events",
                            kind.noun,
                            list(kind.new_states)
                        ),
                    );
                }
                // Every field of a new document is checked, when the policy checks any.
                fields = if self.enforces(kind.entity) {
                    fields_of(&after.to_value())
                } else {
                    Vec::new()
                };
                changes.push(AuditChange {
                    path: base.into(),
                    before: CanonicalJson::null(),
                    after,
                });
                stage = new_state;
            }
            Some((before, state)) => {
                let after = after.to_value();
                let empty = serde_json::Map::new();
                let b = before.as_object().unwrap_or(&empty);
                let a = after.as_object().unwrap_or(&empty);
                let keys = merged_keys(b, a);
                let mut changed = Vec::new();
                for k in keys {
                    let (x, y) = (b.get(k), a.get(k));
                    if x != y {
                        changed.push(k.clone());
                        changes.push(change(
                            base.key(k),
                            x.cloned().unwrap_or(Value::Null),
                            y.cloned().unwrap_or(Value::Null),
                        ));
                    }
                }
                if let Some(f) = changed
                    .iter()
                    .find(|f| {
                        f.as_str() == kind.status_field && kind.fixed.contains(&kind.status_field)
                    })
                    .or_else(|| changed.iter().find(|f| kind.fixed.contains(&f.as_str())))
                {
                    return rejected(
                        ErrorCode::EngineFieldNotByUpsert,
                        format!(
                            "{} `{id}` is `{state}`; an upsert may not change `{f}`: send its lifecycle event instead",
                            kind.noun
                        ),
                    );
                }
                if !changed.is_empty() && kind.locked.contains(&state) {
                    return rejected(
                        ErrorCode::EngineItemLocked,
                        format!(
                            "{} `{id}` is `{state}`, so {} cannot change",
                            kind.noun,
                            list(&changed.iter().map(String::as_str).collect::<Vec<_>>())
                        ),
                    );
                }
                fields = changed;
                stage = state;
            }
        }
        let names: Vec<&str> = fields.iter().map(String::as_str).collect();
        self.check_ownership(kind.entity, Some(stage), &env.source, &names)?;
        Ok(changes)
    }

    /// Moves a held document through its machine; returns it changed and the audit change.
    fn move_doc<T: Doc>(
        &self,
        doc: &T,
        machine: MachineName,
        event: &str,
        source: &str,
        ctx: &GuardContext,
    ) -> Result<(T, AuditChange), Fail> {
        let from = doc.state();
        let to = step(machine, from, event, source, ctx)?;
        let mut next = doc.clone();
        next.set_state(to)?;
        let path = T::pointer(doc.id()).key(T::STATUS_FIELD);
        let ch = AuditChange {
            path: path.into(),
            before: CanonicalJson::string(from),
            after: CanonicalJson::string(to),
        };
        Ok((next, ch))
    }

    fn lifecycle_of<T: Doc>(
        &self,
        env: &Envelope,
        machine: MachineName,
        event: &str,
        id: &Id,
        ctx: &GuardContext,
    ) -> Result<(T, Plan), Fail> {
        let doc = T::held(&self.world, id).ok_or_else(|| unknown(T::NOUN, id))?;
        self.check_ownership(
            T::ENTITY,
            Some(doc.state()),
            &env.source,
            &[T::STATUS_FIELD],
        )?;
        let (next, ch) = self.move_doc(doc, machine, event, env.source.as_str(), ctx)?;
        Ok((
            next,
            Plan {
                writes: Vec::new(),
                changes: vec![ch],
            },
        ))
    }

    fn lifecycle(
        &self,
        env: &Envelope,
        machine: MachineName,
        event: &str,
        id: &Id,
    ) -> Result<Plan, Fail> {
        let none = GuardContext::default();
        match machine {
            MachineName::Opportunity => {
                let (d, mut plan) =
                    self.lifecycle_of::<Opportunity>(env, machine, event, id, &none)?;
                plan.writes.push(d.into_write());
                Ok(plan)
            }
            MachineName::Project => {
                let ctx = GuardContext {
                    unbilled_items: Some(self.unbilled_items(id)),
                    ..GuardContext::default()
                };
                let (d, mut plan) = self.lifecycle_of::<Project>(env, machine, event, id, &ctx)?;
                plan.writes.push(d.into_write());
                Ok(plan)
            }
            MachineName::TimeEntry => {
                let ctx = GuardContext {
                    billed: Some(self.is_billed(ItemKind::Time, id)?),
                    ..GuardContext::default()
                };
                let (d, mut plan) =
                    self.lifecycle_of::<TimeEntry>(env, machine, event, id, &ctx)?;
                plan.writes.push(d.into_write());
                Ok(plan)
            }
            MachineName::Expense => {
                let ctx = GuardContext {
                    billed: Some(self.is_billed(ItemKind::Expense, id)?),
                    ..GuardContext::default()
                };
                let (d, mut plan) = self.lifecycle_of::<Expense>(env, machine, event, id, &ctx)?;
                plan.writes.push(d.into_write());
                Ok(plan)
            }
            MachineName::Milestone => {
                let (d, mut plan) =
                    self.lifecycle_of::<Milestone>(env, machine, event, id, &none)?;
                plan.writes.push(d.into_write());
                Ok(plan)
            }
            MachineName::ChangeOrder => self.change_order_event(env, event, id),
            MachineName::Invoice => {
                let (d, mut plan) =
                    self.lifecycle_of::<InvoiceRecord>(env, machine, event, id, &none)?;
                if event == "void" {
                    self.release_items(&d.id, &mut plan)?;
                }
                plan.writes.push(d.into_write());
                Ok(plan)
            }
        }
    }

    fn change_order_event(&self, env: &Envelope, event: &str, id: &Id) -> Result<Plan, Fail> {
        let held = self
            .world
            .change_orders
            .get(id.as_str())
            .ok_or_else(|| unknown("change order", id))?;
        let mut ctx = GuardContext::default();
        if event == "apply" {
            let contract = self.world.contract.as_ref().ok_or_else(no_contract)?;
            ctx.sequence = Some(held.sequence);
            ctx.last_applied_sequence =
                Some(u32::try_from(contract.change_orders.len()).unwrap_or(u32::MAX));
        }
        let (mut co, mut plan) =
            self.lifecycle_of::<ChangeOrder>(env, MachineName::ChangeOrder, event, id, &ctx)?;
        if event == "approve" && co.approved_on.is_none() {
            let day = occurred_on(&env.occurred_at)?;
            co.approved_on = Some(day);
            plan.changes.push(change(
                ChangeOrder::pointer(id).key("approved_on"),
                Value::Null,
                value(&day)?,
            ));
        }
        if event == "approve" {
            self.add_amended_milestones(&co, &mut plan)?;
        }
        if event == "apply" {
            let mut contract = self.world.contract.clone().ok_or_else(no_contract)?;
            if co.contract_id != contract.id {
                return rejected(
                    ErrorCode::EngineWrongContract,
                    format!(
                        "change order `{id}` amends contract `{}`, not `{}`",
                        co.contract_id, contract.id
                    ),
                );
            }
            contract.change_orders.push(co.id.clone());
            plan.changes.push(change(
                Pointer::root()
                    .key("contract")
                    .key("change_orders")
                    .key("-"),
                Value::Null,
                Value::from(co.id.as_str()),
            ));
            plan.writes.push(Write::Contract(Box::new(contract)));
        }
        plan.writes.push(co.into_write());
        Ok(plan)
    }

    /// Milestones an approved change order adds (`add_milestone`) become milestones the engine
    /// tracks, as a new contract's do. The list is the billing run's own
    /// ([`billing::milestones_as_amended`]) on the change order's approval day, with `co` in place
    /// of the version held; milestones the engine holds already are left as they are. A milestone
    /// the change order removes (`remove_milestone`) and the amended list no longer has is removed
    /// from the engine too, so it can no longer be accepted or billed (removing a billed milestone
    /// is refused before this, by the change order's own checks).
    fn add_amended_milestones(&self, co: &ChangeOrder, plan: &mut Plan) -> Result<(), Fail> {
        let (Some(contract), Some(day)) = (&self.world.contract, co.approved_on) else {
            return Ok(());
        };
        let mut change_orders: Vec<ChangeOrder> = self
            .world
            .change_orders
            .values()
            .filter(|c| c.id != co.id)
            .map(|c| (**c).clone())
            .collect();
        change_orders.push(co.clone());
        let amended = billing::milestones_as_amended(
            contract,
            &change_orders,
            day,
            self.world.ledger.as_ref(),
        )?;
        for m in amended.iter() {
            if !self.world.milestones.contains_key(m.id.as_str()) {
                plan.changes
                    .push(change(Milestone::pointer(&m.id), Value::Null, value(m)?));
                plan.writes.push(Write::Milestone(Box::new(m.clone())));
            }
        }
        for ch in &co.changes {
            if let Change::RemoveMilestone { milestone_id } = ch
                && !amended.iter().any(|m| &m.id == milestone_id)
                && let Some(held) = self.world.milestones.get(milestone_id.as_str())
            {
                plan.changes.push(change(
                    Milestone::pointer(milestone_id),
                    value(held)?,
                    Value::Null,
                ));
                plan.writes
                    .push(Write::MilestoneRemoved(milestone_id.clone()));
            }
        }
        Ok(())
    }

    /// Approved time entries and expenses of a project that are not billed yet.
    fn unbilled_items(&self, project: &Id) -> u32 {
        let time = self
            .world
            .time_entries
            .values()
            .filter(|e| &e.project_id == project && e.status == WorkStatus::Approved)
            .count();
        let expenses = self
            .world
            .expenses
            .values()
            .filter(|e| &e.project_id == project && e.status == WorkStatus::Approved)
            .count();
        u32::try_from(time.saturating_add(expenses)).unwrap_or(u32::MAX)
    }

    /// A time entry partly billed (after a partial credit it is `approved` again) may not drop
    /// below the hours billed net of credits: the difference would be billed twice.
    fn not_below_billed(&self, e: &TimeEntry) -> Result<(), Fail> {
        let Some(old) = self.world.time_entries.get(e.id.as_str()) else {
            return Ok(());
        };
        if old.hours == e.hours {
            return Ok(());
        }
        if let Some(net) = self.net_billed(ItemKind::Time, e.id.as_str())?
            && e.hours.0 < net.quantity
        {
            return rejected(
                ErrorCode::EngineItemLocked,
                format!(
                    "time entry `{}` has {} h billed net of credits; its hours cannot go below that to `{}` (issue a credit note first)",
                    e.id,
                    net.quantity.round_dp(4).normalize(),
                    e.hours
                ),
            );
        }
        Ok(())
    }

    /// Whether the ledger holds a net billed quantity for the item.
    fn is_billed(&self, kind: ItemKind, id: &Id) -> Result<bool, Fail> {
        Ok(self
            .net_billed(kind, id.as_str())?
            .is_some_and(|n| n.quantity > Decimal::ZERO || n.amount > Decimal::ZERO))
    }

    /// What the ledger has billed of an item, net of credits (`None` with no ledger or contract).
    ///
    /// The ledger is indexed once after it (or the contract) changes, and kept: approving an item
    /// looks it up instead of indexing the whole ledger again, which made applying N events after
    /// an invoice of L items take N x L steps.
    fn net_billed(&self, kind: ItemKind, id: &str) -> Result<Option<&NetBilled>, Fail> {
        let index = self.billed.get_or_init(|| {
            let (Some(ledger), Some(contract)) = (&self.world.ledger, &self.world.contract) else {
                return Ok(BilledIndex::default());
            };
            Ok(LedgerIndex::new(Some(ledger), contract.currency)?.into_items())
        });
        match index {
            Ok(items) => Ok(items.get(kind as usize).and_then(|m| m.get(id))),
            Err(e) => Err(Fail::Error(e.clone())),
        }
    }

    /// Whether invoice `inv` still bills an adjustment of an item: its adjustments of it
    /// (entries of quantity 0) less the price reductions its credit notes gave back of it
    /// (credits of money and no hours; `extra`, credits not recorded yet, count as its own).
    fn adjustment_still_billed(
        &self,
        ledger: &BilledLedger,
        inv: &Id,
        kind: ItemKind,
        item: &Id,
        extra: &[LedgerCredit],
    ) -> Result<bool, Error> {
        let notes = self
            .world
            .invoices
            .get(inv.as_str())
            .map(|i| i.credit_notes.as_slice())
            .unwrap_or_default();
        let of_item = |k: ItemKind, id: &Id| k == kind && id == item;
        let mut left = Decimal::ZERO;
        for e in &ledger.entries {
            if &e.invoice_id == inv && of_item(e.kind, &e.item_id) && e.quantity.0.is_zero() {
                left = dec_add(left, e.amount.amount)?;
            }
        }
        for c in ledger
            .credits
            .iter()
            .filter(|c| notes.contains(&c.credit_note_id))
            .chain(extra)
        {
            if of_item(c.kind, &c.item_id) && c.quantity.is_some_and(|q| q.0.is_zero()) {
                left = dec_add(left, -c.amount.map_or(Decimal::ZERO, |a| a.amount))?;
            }
        }
        Ok(!left.is_zero())
    }

    /// The invoice, if any, that still bills an adjustment of an item
    /// ([`Self::adjustment_still_billed`]); `extra` are credits of invoice `current` not
    /// recorded yet.
    fn adjustment_outstanding<'l>(
        &self,
        ledger: &'l BilledLedger,
        kind: ItemKind,
        item: &Id,
        current: &Id,
        extra: &[LedgerCredit],
    ) -> Result<Option<&'l Id>, Error> {
        for e in &ledger.entries {
            if e.kind == kind && &e.item_id == item && e.quantity.0.is_zero() {
                let extra = if &e.invoice_id == current { extra } else { &[] };
                if self.adjustment_still_billed(ledger, &e.invoice_id, kind, item, extra)? {
                    return Ok(Some(&e.invoice_id));
                }
            }
        }
        Ok(None)
    }

    /// The `release_items` effect of voiding: the invoice's ledger entries are removed, and items
    /// it billed that no other invoice billed return to `approved` (`accepted` for milestones).
    ///
    /// Refused (`LEDGER_ADJUSTED_LATER`) while a later invoice carries an adjustment of an item
    /// this one billed: the adjustment re-priced hours this invoice billed, and would stay billed
    /// without them.
    fn release_items(&self, invoice_id: &Id, plan: &mut Plan) -> Result<(), Fail> {
        let Some(ledger) = &self.world.ledger else {
            return Ok(());
        };
        if let Some(first) = ledger
            .entries
            .iter()
            .position(|e| &e.invoice_id == invoice_id)
        {
            let billed = invoice_items(ledger, invoice_id);
            // An adjustment credited in full no longer re-prices anything.
            let mut adjusted_later = None;
            for e in ledger.entries.iter().skip(first + 1) {
                if &e.invoice_id != invoice_id
                    && e.quantity.0.is_zero()
                    && billed.binary_search(&(e.kind, &e.item_id)).is_ok()
                    && self.adjustment_still_billed(
                        ledger,
                        &e.invoice_id,
                        e.kind,
                        &e.item_id,
                        &[],
                    )?
                {
                    adjusted_later = Some(e);
                    break;
                }
            }
            if let Some(adj) = adjusted_later {
                return rejected(
                    ErrorCode::LedgerAdjustedLater,
                    format!(
                        "invoice `{invoice_id}` cannot be voided: invoice `{}` adjusts {} `{}` it billed; void or credit that adjustment first",
                        adj.invoice_id,
                        adj.kind.noun(),
                        adj.item_id
                    ),
                );
            }
        }
        let mut kept = ledger.clone();
        kept.entries.retain(|e| &e.invoice_id != invoice_id);
        for (i, e) in ledger.entries.iter().enumerate().rev() {
            if &e.invoice_id == invoice_id {
                plan.changes.push(change(
                    Pointer::root().key("ledger").key("entries").index(i),
                    value(e)?,
                    Value::Null,
                ));
            }
        }
        let released = invoice_items(ledger, invoice_id);
        // An item goes back to approved when nothing is left billed of it: no other invoice
        // bills hours of it net of credits (one left with only a credited adjustment bills none).
        let currency = self.world.contract.as_ref().map(|c| c.currency);
        let kept_index = match currency {
            Some(c) => Some(LedgerIndex::new(Some(&kept), c)?),
            None => None,
        };
        for (kind, id) in released {
            let left = match &kept_index {
                Some(index) => index
                    .get(kind, id.as_str())
                    .is_some_and(|n| n.quantity > Decimal::ZERO),
                None => kept
                    .entries
                    .iter()
                    .any(|e| e.kind == kind && &e.item_id == id),
            };
            if left {
                continue;
            }
            match kind {
                ItemKind::Time => {
                    if let Some(d) = self.world.time_entries.get(id.as_str())
                        && d.status == WorkStatus::Billed
                    {
                        let mut n = d.clone();
                        n.status = WorkStatus::Approved;
                        plan.changes.push(change(
                            TimeEntry::pointer(id).key("status"),
                            Value::from("billed"),
                            Value::from("approved"),
                        ));
                        plan.writes.push(n.into_write());
                    }
                }
                ItemKind::Expense => {
                    if let Some(d) = self.world.expenses.get(id.as_str())
                        && d.status == WorkStatus::Billed
                    {
                        let mut n = d.clone();
                        n.status = WorkStatus::Approved;
                        plan.changes.push(change(
                            Expense::pointer(id).key("status"),
                            Value::from("billed"),
                            Value::from("approved"),
                        ));
                        plan.writes.push(n.into_write());
                    }
                }
                ItemKind::Milestone => {
                    if let Some(d) = self.world.milestones.get(id.as_str())
                        && d.status == MilestoneStatus::Billed
                    {
                        let mut n = d.clone();
                        n.status = MilestoneStatus::Accepted;
                        plan.changes.push(change(
                            Milestone::pointer(id).key("status"),
                            Value::from("billed"),
                            Value::from("accepted"),
                        ));
                        plan.writes.push(n.into_write());
                    }
                }
            }
        }
        plan.writes.push(Write::Ledger(Box::new(kept)));
        Ok(())
    }

    /// Moves an item through its machine as an effect of a billing event.
    fn item_effect(
        &self,
        kind: ItemKind,
        id: &Id,
        event: &str,
        from_state: &str,
        plan: &mut Plan,
    ) -> Result<(), Fail> {
        let system = if event == "bill" {
            BILLING_SYSTEM
        } else {
            CREDITING_SYSTEM
        };
        let none = GuardContext::default();
        match kind {
            ItemKind::Time => {
                if let Some(d) = self.world.time_entries.get(id.as_str())
                    && d.status.as_str() == from_state
                {
                    let (n, ch) =
                        self.move_doc(&**d, MachineName::TimeEntry, event, system, &none)?;
                    plan.changes.push(ch);
                    plan.writes.push(n.into_write());
                }
            }
            ItemKind::Expense => {
                if let Some(d) = self.world.expenses.get(id.as_str())
                    && d.status.as_str() == from_state
                {
                    let (n, ch) =
                        self.move_doc(&**d, MachineName::Expense, event, system, &none)?;
                    plan.changes.push(ch);
                    plan.writes.push(n.into_write());
                }
            }
            ItemKind::Milestone => {
                let from = if from_state == "approved" {
                    "accepted"
                } else {
                    from_state
                };
                if let Some(d) = self.world.milestones.get(id.as_str())
                    && d.status.as_str() == from
                {
                    let (n, ch) =
                        self.move_doc(&**d, MachineName::Milestone, event, system, &none)?;
                    plan.changes.push(ch);
                    plan.writes.push(n.into_write());
                }
            }
        }
        Ok(())
    }

    fn draft_invoice(
        &self,
        env: &Envelope,
        invoice_id: &Id,
        period: Period,
        as_of: Date,
    ) -> Result<Plan, Fail> {
        if self.world.contract.is_none() {
            return Err(no_contract());
        }
        let exists = self.world.invoices.contains_key(invoice_id.as_str())
            || self
                .world
                .ledger
                .as_ref()
                .is_some_and(|l| l.entries.iter().any(|e| &e.invoice_id == invoice_id));
        if exists {
            return rejected(
                ErrorCode::EngineAlreadyExists,
                format!("invoice `{invoice_id}` already exists"),
            );
        }
        self.check_ownership(
            "invoice",
            Some("draft"),
            &env.source,
            &[
                "contract_id",
                "currency",
                "id",
                "issue_date",
                "lines",
                "status",
                "total",
            ],
        )?;
        if period.end < period.start {
            return rejected(
                ErrorCode::DocumentDateOrder,
                format!(
                    "the billing period ends on {} before it starts on {}",
                    period.end, period.start
                ),
            );
        }
        let request = self.preview_request(period, as_of)?;
        let preview = billing::preview_invoice(&request)?;
        if preview.lines.is_empty() && preview.adjustments.is_empty() {
            return rejected(
                ErrorCode::EngineEmptyInvoice,
                format!(
                    "a billing run for {} to {} on {as_of} bills nothing; {} item(s) are held",
                    period.start,
                    period.end,
                    preview.held.len()
                ),
            );
        }
        let before = self.world.ledger.as_ref().map_or(0, |l| l.entries.len());
        let ledger = billing::commit(
            self.world.ledger.clone(),
            &preview,
            invoice_id,
            &request.time_entries,
        )?;
        let total = preview.totals.total;
        let record = InvoiceRecord {
            id: invoice_id.clone(),
            status: InvoiceStatus::Draft,
            period,
            as_of,
            total,
            paid: Money::zero(total.currency),
            credited: Money::zero(total.currency),
            balance: total,
            payments: Vec::new(),
            credit_notes: Vec::new(),
        };
        let mut plan = Plan::default();
        plan.changes.push(change(
            InvoiceRecord::pointer(invoice_id),
            Value::Null,
            value(&record)?,
        ));
        for (i, e) in ledger.entries.iter().enumerate().skip(before) {
            plan.changes.push(change(
                Pointer::root().key("ledger").key("entries").index(i),
                Value::Null,
                value(e)?,
            ));
        }
        let billed = sorted_items(
            preview
                .lines
                .iter()
                .filter_map(|l| l.source_ids.first().map(|id| (l.kind, id))),
        );
        for (kind, id) in billed {
            self.item_effect(kind, id, "bill", "approved", &mut plan)?;
        }
        plan.writes.push(Write::Ledger(Box::new(ledger)));
        plan.writes.push(record.into_write());
        Ok(plan)
    }

    fn receive_payment(
        &self,
        env: &Envelope,
        payment_id: &Id,
        invoice_id: &Id,
        amount: Money,
        date: Date,
    ) -> Result<Plan, Fail> {
        let inv = self
            .world
            .invoices
            .get(invoice_id.as_str())
            .ok_or_else(|| unknown("invoice", invoice_id))?;
        if self.world.payments.contains_key(payment_id.as_str()) {
            return rejected(
                ErrorCode::EngineAlreadyExists,
                format!("payment `{payment_id}` was already received"),
            );
        }
        if amount.currency != inv.total.currency {
            return rejected(
                ErrorCode::MoneyCurrencyMismatch,
                format!(
                    "payment `{payment_id}` is in `{}`; invoice `{invoice_id}` is in `{}`",
                    amount.currency, inv.total.currency
                ),
            );
        }
        if amount.amount <= Decimal::ZERO {
            return rejected(
                ErrorCode::DocumentNegativeAmount,
                format!(
                    "payment `{payment_id}` of {} is not a positive amount",
                    amount.amount_string()
                ),
            );
        }
        self.check_ownership(
            "payment",
            None,
            &env.source,
            &["amount", "date", "id", "invoice_id"],
        )?;
        let balance = money_sub(inv.balance, amount)?;
        let ctx = GuardContext {
            balance_after: Some(Dec(balance.amount)),
            ..GuardContext::default()
        };
        let (mut next, ch) = self.move_doc(
            &**inv,
            MachineName::Invoice,
            "payment_received",
            env.source.as_str(),
            &ctx,
        )?;
        next.paid = next.paid.checked_add(amount)?;
        next.balance = balance;
        next.payments.push(payment_id.clone());
        let payment = Payment {
            schema_version: SchemaVersion,
            kind: None,
            id: payment_id.clone(),
            invoice_id: invoice_id.clone(),
            amount,
            date,
        };
        let base = InvoiceRecord::pointer(invoice_id);
        let plan = Plan {
            changes: vec![
                change(
                    Pointer::root().key("payments").key(payment_id.as_str()),
                    Value::Null,
                    value(&payment)?,
                ),
                ch,
                change(base.key("paid"), value(&inv.paid)?, value(&next.paid)?),
                change(base.key("balance"), value(&inv.balance)?, value(&balance)?),
            ],
            writes: vec![Write::Payment(Box::new(payment)), next.into_write()],
        };
        Ok(plan)
    }

    fn issue_credit(
        &self,
        env: &Envelope,
        credit_note_id: &Id,
        invoice_id: &Id,
        lines: &[CreditLine],
    ) -> Result<Plan, Fail> {
        let inv = self
            .world
            .invoices
            .get(invoice_id.as_str())
            .ok_or_else(|| unknown("invoice", invoice_id))?;
        let contract = self.world.contract.as_ref().ok_or_else(no_contract)?;
        let ledger = self
            .world
            .ledger
            .as_ref()
            .ok_or_else(|| unknown("invoice", invoice_id))?;
        if ledger
            .credits
            .iter()
            .any(|c| &c.credit_note_id == credit_note_id)
        {
            return rejected(
                ErrorCode::EngineAlreadyExists,
                format!("credit note `{credit_note_id}` was already issued"),
            );
        }
        if lines.is_empty() {
            return rejected(
                ErrorCode::LedgerInvalidCredit,
                format!("credit note `{credit_note_id}` has no lines"),
            );
        }
        self.check_ownership(
            "invoice",
            Some(inv.status.as_str()),
            &env.source,
            &["status"],
        )?;
        // Each line is frozen by the ledger's one credit operation (as `record_credit` records
        // it): both sides, a share of what the item is billed net.
        let currency = contract.currency;
        let mut index = LedgerIndex::new(Some(ledger), currency)?;
        let mut next_ledger = index.completed().unwrap_or_else(|| ledger.clone());
        let own_credits: Vec<&LedgerCredit> = next_ledger
            .credits
            .iter()
            .filter(|c| inv.credit_notes.contains(&c.credit_note_id))
            .collect();
        let mut new_credits = Vec::with_capacity(lines.len());
        let mut amount = Decimal::ZERO;
        for (i, l) in lines.iter().enumerate() {
            // What this invoice billed of the item, net of its own credit notes (and of this
            // note's lines before this one): hours, money, and the part of it against the
            // ceiling.
            let mut own = (Decimal::ZERO, Decimal::ZERO);
            let mut own_against = Decimal::ZERO;
            let mut on_invoice = false;
            for e in ledger.entries.iter().filter(|e| {
                &e.invoice_id == invoice_id && e.kind == l.kind && e.item_id == l.item_id
            }) {
                on_invoice = true;
                own = (
                    dec_add(own.0, e.quantity.0)?,
                    dec_add(own.1, e.amount.amount)?,
                );
                if e.against_ceiling {
                    own_against = dec_add(own_against, e.amount.amount)?;
                }
            }
            if !on_invoice {
                return rejected(
                    ErrorCode::LedgerUnknownItem,
                    format!(
                        "credit note `{credit_note_id}` credits {} `{}`, which invoice `{invoice_id}` did not bill",
                        l.kind.noun(),
                        l.item_id
                    ),
                );
            }
            for c in own_credits
                .iter()
                .copied()
                .chain(new_credits.iter())
                .filter(|c| c.kind == l.kind && c.item_id == l.item_id)
            {
                let q = c.quantity.map_or(Decimal::ZERO, |q| q.0);
                let a = c.amount.map_or(Decimal::ZERO, |a| a.amount);
                own = (dec_add(own.0, -q)?, dec_add(own.1, -a)?);
                own_against = dec_add(
                    own_against,
                    -c.ceiling_share.map_or(Decimal::ZERO, |s| s.amount),
                )?;
            }
            let mut credit = LedgerCredit {
                credit_note_id: credit_note_id.clone(),
                kind: l.kind,
                item_id: l.item_id.clone(),
                quantity: l.quantity,
                amount: l.amount,
                ceiling_share: None,
            };
            // A credit of an invoice that only re-priced the item (an adjustment) gives back
            // money, not hours.
            if own.0.is_zero() && credit.quantity.is_none() {
                credit.quantity = Some(Dec(Decimal::ZERO));
            }
            // An item another invoice billed too (at another price, or partly against a ceiling
            // the other did not count): the side a line leaves out, and the part of the ceiling
            // it gives back, are this invoice's own share, its hours at its price. Unless an
            // adjustment of the item is still billed (on any invoice): it made one price of all
            // the item's hours, and the item's share is that price.
            let elsewhere = ledger.entries.iter().any(|e| {
                &e.invoice_id != invoice_id
                    && e.kind == l.kind
                    && e.item_id == l.item_id
                    && !e.quantity.0.is_zero()
            });
            if own.0 > Decimal::ZERO
                && own.1 > Decimal::ZERO
                && elsewhere
                && self
                    .adjustment_outstanding(ledger, l.kind, &l.item_id, invoice_id, &new_credits)?
                    .is_none()
            {
                // (A side out of bounds is completed all the same, and refused below.)
                if let Some((q, a)) = crate::ledger::other_side(
                    credit.quantity.map(|q| q.0),
                    credit.amount.map(|a| a.amount),
                    own.0,
                    own.1,
                    currency,
                )? {
                    credit.quantity = Some(Dec(q));
                    credit.amount = Some(Money::new(
                        a,
                        credit.amount.map_or(currency, |m| m.currency),
                    ));
                }
                if let Some(a) = credit.amount {
                    credit.ceiling_share = Some(Money::new(
                        crate::ledger::ceiling_share(a.amount, own.1, own_against, currency)?,
                        currency,
                    ));
                }
            }
            let at = Pointer::root().key("lines").index(i);
            let frozen = match index.credit(&credit, &at) {
                Ok(f) => f,
                Err(e) => return rejected(e.code, e.message),
            };
            if frozen.quantity > own.0 || frozen.amount > own.1 {
                let later = ledger.entries.iter().any(|e| {
                    &e.invoice_id != invoice_id
                        && e.kind == l.kind
                        && e.item_id == l.item_id
                        && e.quantity.0.is_zero()
                });
                return rejected(
                    ErrorCode::LedgerInvalidCredit,
                    format!(
                        "invoice `{invoice_id}` has {} ({}) of {} `{}` left to credit, net of its earlier credit notes; credit note `{credit_note_id}` gives back {} ({}){}",
                        Dec(own.0.normalize()),
                        Money::new(own.1, currency).amount_string(),
                        l.kind.noun(),
                        l.item_id,
                        Dec(frozen.quantity.normalize()),
                        Money::new(frozen.amount, currency).amount_string(),
                        if later {
                            "; another invoice adjusted its price, credit that adjustment first"
                        } else {
                            ""
                        }
                    ),
                );
            }
            amount = dec_add(amount, frozen.amount)?;
            crate::ledger::complete(&mut credit, &frozen, currency);
            new_credits.push(credit);
        }
        let returned = sorted_items(
            new_credits
                .iter()
                .filter(|c| c.quantity.is_some_and(|q| !q.0.is_zero()))
                .map(|c| (c.kind, &c.item_id)),
        );
        let returned: Vec<(ItemKind, Id)> = returned
            .into_iter()
            .map(|(k, id)| (k, id.clone()))
            .collect();
        next_ledger.credits.extend(new_credits);
        let amount = Money::new(amount, currency);
        let balance = money_sub(inv.balance, amount)?;
        let ctx = GuardContext {
            balance_after: Some(Dec(balance.amount)),
            ..GuardContext::default()
        };
        let (mut next, ch) = self.move_doc(
            &**inv,
            MachineName::Invoice,
            "credit_issued",
            env.source.as_str(),
            &ctx,
        )?;
        next.credited = next.credited.checked_add(amount)?;
        next.balance = balance;
        next.credit_notes.push(credit_note_id.clone());
        let base = InvoiceRecord::pointer(invoice_id);
        let mut plan = Plan::default();
        for (i, c) in next_ledger
            .credits
            .iter()
            .enumerate()
            .skip(ledger.credits.len())
        {
            plan.changes.push(change(
                Pointer::root().key("ledger").key("credits").index(i),
                Value::Null,
                value(c)?,
            ));
        }
        plan.changes.push(ch);
        plan.changes.push(change(
            base.key("credited"),
            value(&inv.credited)?,
            value(&next.credited)?,
        ));
        plan.changes.push(change(
            base.key("balance"),
            value(&inv.balance)?,
            value(&balance)?,
        ));
        // Only what gives hours (or a share of an item) back returns an item to billing; a
        // credit of money alone is a price reduction and leaves it billed.
        for (kind, id) in &returned {
            self.item_effect(*kind, id, "credit_issued", "billed", &mut plan)?;
        }
        plan.writes.push(Write::Ledger(Box::new(next_ledger)));
        plan.writes.push(next.into_write());
        Ok(plan)
    }
}

/// A checked sum for the engine's credit arithmetic.
fn dec_add(a: Decimal, b: Decimal) -> Result<Decimal, Error> {
    crate::model::decimal::add(a, b, "the credit")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::merged_keys;
    use serde_json::json;

    #[test]
    fn merged_keys_are_the_sorted_union_of_both_maps_keys_each_once() {
        let b = json!({"a": 1, "c": 2, "d": 3, "x": 4});
        let a = json!({"b": 1, "c": 2, "y": 3});
        let keys = merged_keys(b.as_object().unwrap(), a.as_object().unwrap());
        assert_eq!(keys, ["a", "b", "c", "d", "x", "y"]);
        let empty = serde_json::Map::new();
        assert_eq!(merged_keys(&empty, a.as_object().unwrap()), ["b", "c", "y"]);
        assert_eq!(
            merged_keys(b.as_object().unwrap(), &empty),
            ["a", "c", "d", "x"]
        );
    }
}
