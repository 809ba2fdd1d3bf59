//! The engine's documents: envelopes and events, outcomes, the exception queue, the state it
//! holds, its snapshot and its metrics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::audit::{AuditChange, AuditEntry, EventTypeName, Sha256Digest};
use crate::billing::{BilledLedger, HeldByReason, ItemKind, Period};
use crate::error::{Error, ErrorCode, Problem};
use crate::machines::MachineName;
use crate::model::{
    ChangeOrder, Contract, Date, Dec, Expense, Id, InvoiceStatus, Milestone, Money, Opportunity,
    OwnershipPolicy, Payment, Project, SchemaVersion, System, TimeEntry,
};

/// One event, as a connected system sends it, with what the engine needs to apply it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Unique per event: a second envelope with the same key is a duplicate (same payload) or an
    /// idempotency conflict (different payload).
    pub idempotency_key: Id,
    /// Ties the envelope to the business transaction it belongs to (shown in the exception queue
    /// and the audit log).
    pub correlation_id: Id,
    /// The system that sent it (`crm`, `psa`, `erp`, `billing`, ...).
    pub source: System,
    /// When the event happened in the source system: an RFC 3339 timestamp or a date
    /// (`2026-01-12T09:30:00Z`); its first ten characters must be a date.
    pub occurred_at: String,
    /// The engine version the sender last saw; when given and different from the engine's
    /// version, the envelope is rejected (`ENGINE_VERSION_CONFLICT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// The event.
    pub event: Event,
}

/// One line of a credit note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreditLine {
    /// What is credited.
    pub kind: ItemKind,
    /// The item credited; it must be on the credited invoice.
    pub item_id: Id,
    /// Hours (or items) given back; when absent, derived from `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Dec>,
    /// Amount given back; when absent, derived from `quantity` at the billed price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

macro_rules! events {
    (
        documents { $( $dv:ident = $ds:literal, $dfield:ident : $dty:ty, $ddoc:literal; )+ }
        transitions { $( $tv:ident = $ts:literal => ($tm:ident, $te:literal); )+ }
    ) => {
        /// An event. `type` names it; the other fields depend on the type.
        ///
        /// `*.recorded` events upsert a document (create it, or change fields of the one held);
        /// lifecycle events (`time_entry.approved`, `invoice.posted`, ...) carry the `id` of the
        /// document whose machine they drive; `invoice.drafted`, `payment.received` and
        /// `credit_note.issued` bill, collect and credit.
        //
        // Deserialisation is written by hand (`EventFields`, below): serde's derive for an
        // internally tagged enum buffers every event into an intermediate tree before choosing
        // the variant, which is slower and, over documents this size, doubles the parsing code.
        // Serialisation is written by hand too (below), with `type` in its sorted place, so the
        // canonical text comes out in one pass. The `serde` attributes describe the wire form to
        // the JSON Schema derive.
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[cfg_attr(feature = "schema", serde(tag = "type", deny_unknown_fields))]
        pub enum Event {
            $(
                #[doc = $ddoc]
                #[cfg_attr(feature = "schema", serde(rename = $ds))]
                $dv {
                    /// The document.
                    $dfield: $dty,
                },
            )+
            $(
                #[doc = concat!("The `", $te, "` event of the `", stringify!($tm), "` machine.")]
                #[cfg_attr(feature = "schema", serde(rename = $ts))]
                $tv {
                    /// The document whose lifecycle the event drives.
                    id: Id,
                },
            )+
            /// A billing run over the engine's state, recorded as a draft invoice: its lines go
            /// to the billed ledger and the items they bill become `billed`.
            #[cfg_attr(feature = "schema", serde(rename = "invoice.drafted"))]
            InvoiceDrafted {
                /// The new invoice's id.
                invoice_id: Id,
                /// The work dates billed.
                period: Period,
                /// The day of the run.
                as_of: Date,
            },
            /// A payment applied to a posted invoice.
            #[cfg_attr(feature = "schema", serde(rename = "payment.received"))]
            PaymentReceived {
                /// The payment's id.
                payment_id: Id,
                /// The invoice paid.
                invoice_id: Id,
                /// The amount received, in the invoice currency.
                amount: Money,
                /// The day received.
                date: Date,
            },
            /// A credit note giving back all or part of items billed on a posted invoice.
            #[cfg_attr(feature = "schema", serde(rename = "credit_note.issued"))]
            CreditNoteIssued {
                /// The credit note's id.
                credit_note_id: Id,
                /// The invoice credited.
                invoice_id: Id,
                /// What it gives back.
                lines: Vec<CreditLine>,
            },
        }

        /// Every event type, in declaration order.
        pub const EVENT_TYPES: &[&str] = &[
            $( $ds, )+ $( $ts, )+ "invoice.drafted", "payment.received", "credit_note.issued",
        ];

        impl Event {
            /// The event's `type`.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $( Event::$dv { .. } => $ds, )+
                    $( Event::$tv { .. } => $ts, )+
                    Event::InvoiceDrafted { .. } => "invoice.drafted",
                    Event::PaymentReceived { .. } => "payment.received",
                    Event::CreditNoteIssued { .. } => "credit_note.issued",
                }
            }

            /// Whether the event records a whole document (`*.recorded`).
            pub fn records_document(&self) -> bool {
                matches!(self, $( Event::$dv { .. } )|+)
            }

            /// For a `*.recorded` event: the field that carries the document (`time_entry`)
            /// and the document's id.
            pub fn recorded_document(&self) -> Option<(&'static str, &Id)> {
                match self {
                    $( Event::$dv { $dfield } => Some((stringify!($dfield), &$dfield.id)), )+
                    _ => None,
                }
            }

            /// For a lifecycle event: the machine, the machine's event name and the document id.
            pub fn lifecycle(&self) -> Option<(MachineName, &'static str, &Id)> {
                match self {
                    $( Event::$tv { id } => Some((MachineName::$tm, $te, id)), )+
                    _ => None,
                }
            }
        }

        /// An event as a map with its keys in sorted order (`type` in its place, not first as
        /// serde's derive for an internally tagged enum writes it): the canonical text comes out
        /// in one pass, without being read back and sorted.
        impl Serialize for Event {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let tag = self.type_name();
                match self {
                    $( Event::$dv { $dfield } => {
                        let mut m = s.serialize_map(Some(2))?;
                        if stringify!($dfield) < "type" {
                            m.serialize_entry(stringify!($dfield), $dfield)?;
                            m.serialize_entry("type", tag)?;
                        } else {
                            m.serialize_entry("type", tag)?;
                            m.serialize_entry(stringify!($dfield), $dfield)?;
                        }
                        m.end()
                    } )+
                    // One arm for every lifecycle event: one copy of the code.
                    $( Event::$tv { id } )|+ => {
                        let mut m = s.serialize_map(Some(2))?;
                        m.serialize_entry("id", id)?;
                        m.serialize_entry("type", tag)?;
                        m.end()
                    }
                    Event::InvoiceDrafted { invoice_id, period, as_of } => {
                        let mut m = s.serialize_map(Some(4))?;
                        m.serialize_entry("as_of", as_of)?;
                        m.serialize_entry("invoice_id", invoice_id)?;
                        m.serialize_entry("period", period)?;
                        m.serialize_entry("type", tag)?;
                        m.end()
                    }
                    Event::PaymentReceived { payment_id, invoice_id, amount, date } => {
                        let mut m = s.serialize_map(Some(5))?;
                        m.serialize_entry("amount", amount)?;
                        m.serialize_entry("date", date)?;
                        m.serialize_entry("invoice_id", invoice_id)?;
                        m.serialize_entry("payment_id", payment_id)?;
                        m.serialize_entry("type", tag)?;
                        m.end()
                    }
                    Event::CreditNoteIssued { credit_note_id, invoice_id, lines } => {
                        let mut m = s.serialize_map(Some(4))?;
                        m.serialize_entry("credit_note_id", credit_note_id)?;
                        m.serialize_entry("invoice_id", invoice_id)?;
                        m.serialize_entry("lines", lines)?;
                        m.serialize_entry("type", tag)?;
                        m.end()
                    }
                }
            }
        }

        /// An event's `type`.
        #[derive(Debug, Clone, Copy, Deserialize)]
        enum EventTag {
            $( #[serde(rename = $ds)] $dv, )+
            $( #[serde(rename = $ts)] $tv, )+
            #[serde(rename = "invoice.drafted")]
            InvoiceDrafted,
            #[serde(rename = "payment.received")]
            PaymentReceived,
            #[serde(rename = "credit_note.issued")]
            CreditNoteIssued,
        }

        /// Every field any event may have, read in one pass whatever the key order (`type` often
        /// comes last: canonical JSON sorts keys). [`EventFields::into_event`] then checks that
        /// the fields present are exactly those of the event's type.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct EventFields {
            #[serde(rename = "type", default)]
            tag: Option<EventTag>,
            $( #[serde(default)] $dfield: Option<$dty>, )+
            #[serde(default)]
            id: Option<Id>,
            #[serde(default)]
            invoice_id: Option<Id>,
            #[serde(default)]
            period: Option<Period>,
            #[serde(default)]
            as_of: Option<Date>,
            #[serde(default)]
            payment_id: Option<Id>,
            #[serde(default)]
            amount: Option<Money>,
            #[serde(default)]
            date: Option<Date>,
            #[serde(default)]
            credit_note_id: Option<Id>,
            #[serde(default)]
            lines: Option<Vec<CreditLine>>,
        }

        impl EventFields {
            /// Fails with `unknown field` for a field present that `allowed` does not name.
            // Not inlined: each event type's arm calls it.
            #[inline(never)]
            fn only<E: serde::de::Error>(&self, allowed: &'static [&'static str]) -> Result<(), E> {
                let present = [
                    $( (stringify!($dfield), self.$dfield.is_some()), )+
                    ("id", self.id.is_some()),
                    ("invoice_id", self.invoice_id.is_some()),
                    ("period", self.period.is_some()),
                    ("as_of", self.as_of.is_some()),
                    ("payment_id", self.payment_id.is_some()),
                    ("amount", self.amount.is_some()),
                    ("date", self.date.is_some()),
                    ("credit_note_id", self.credit_note_id.is_some()),
                    ("lines", self.lines.is_some()),
                ];
                match present.iter().find(|(name, is)| *is && !allowed.contains(name)) {
                    Some((name, _)) => Err(E::unknown_field(name, allowed)),
                    None => Ok(()),
                }
            }

            fn into_event<E: serde::de::Error>(self) -> Result<Event, E> {
                fn need<T, E: serde::de::Error>(v: Option<T>, name: &'static str) -> Result<T, E> {
                    v.ok_or_else(|| E::missing_field(name))
                }
                let tag = need(self.tag, "type")?;
                Ok(match tag {
                    $( EventTag::$dv => {
                        self.only(&["type", stringify!($dfield)])?;
                        Event::$dv { $dfield: need(self.$dfield, stringify!($dfield))? }
                    } )+
                    // One arm for every lifecycle event: one copy of the checks.
                    $( EventTag::$tv )|+ => {
                        self.only(&["type", "id"])?;
                        let id = need(self.id, "id")?;
                        match tag {
                            $( EventTag::$tv => Event::$tv { id }, )+
                            _ => return Err(E::custom("not a lifecycle event")),
                        }
                    }
                    EventTag::InvoiceDrafted => {
                        self.only(&["type", "invoice_id", "period", "as_of"])?;
                        Event::InvoiceDrafted {
                            invoice_id: need(self.invoice_id, "invoice_id")?,
                            period: need(self.period, "period")?,
                            as_of: need(self.as_of, "as_of")?,
                        }
                    }
                    EventTag::PaymentReceived => {
                        self.only(&["type", "payment_id", "invoice_id", "amount", "date"])?;
                        Event::PaymentReceived {
                            payment_id: need(self.payment_id, "payment_id")?,
                            invoice_id: need(self.invoice_id, "invoice_id")?,
                            amount: need(self.amount, "amount")?,
                            date: need(self.date, "date")?,
                        }
                    }
                    EventTag::CreditNoteIssued => {
                        self.only(&["type", "credit_note_id", "invoice_id", "lines"])?;
                        Event::CreditNoteIssued {
                            credit_note_id: need(self.credit_note_id, "credit_note_id")?,
                            invoice_id: need(self.invoice_id, "invoice_id")?,
                            lines: need(self.lines, "lines")?,
                        }
                    }
                })
            }
        }

        impl<'de> Deserialize<'de> for Event {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Event, D::Error> {
                /// Checks the fields while the parser is still at the event's closing brace, so
                /// an error about the event as a whole is reported at the event.
                struct EventVisitor;
                impl<'de> serde::de::Visitor<'de> for EventVisitor {
                    type Value = Event;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("an event object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Event, A::Error> {
                        EventFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?
                            .into_event()
                    }
                }
                deserializer.deserialize_map(EventVisitor)
            }
        }

        /// Each lifecycle event type with its machine and the machine's event name.
        pub const LIFECYCLE_EVENTS: &[(&str, MachineName, &str)] = &[
            $( ($ts, MachineName::$tm, $te), )+
        ];
    };
}

events! {
    documents {
        OpportunityRecorded = "opportunity.recorded", opportunity: Box<Opportunity>, "Creates or updates the opportunity.";
        ContractRecorded = "contract.recorded", contract: Box<Contract>, "Creates or updates the contract (version 0 terms; change orders are applied by events).";
        ProjectRecorded = "project.recorded", project: Box<Project>, "Creates or updates a project of the contract.";
        TimeEntryRecorded = "time_entry.recorded", time_entry: Box<TimeEntry>, "Creates or updates a time entry.";
        ExpenseRecorded = "expense.recorded", expense: Box<Expense>, "Creates or updates an expense.";
        MilestoneRecorded = "milestone.recorded", milestone: Box<Milestone>, "Creates or updates a milestone.";
        ChangeOrderRecorded = "change_order.recorded", change_order: Box<ChangeOrder>, "Creates or updates a change order of the contract.";
    }
    transitions {
        OpportunityQualified = "opportunity.qualified" => (Opportunity, "qualify");
        OpportunityProposed = "opportunity.proposed" => (Opportunity, "propose");
        OpportunityNegotiated = "opportunity.negotiated" => (Opportunity, "negotiate");
        OpportunityWon = "opportunity.won" => (Opportunity, "win");
        OpportunityLost = "opportunity.lost" => (Opportunity, "lose");
        OpportunityReverted = "opportunity.reverted" => (Opportunity, "revert");
        OpportunityReopened = "opportunity.reopened" => (Opportunity, "reopen");
        ProjectActivated = "project.activated" => (Project, "activate");
        ProjectHeld = "project.held" => (Project, "hold");
        ProjectResumed = "project.resumed" => (Project, "resume");
        ProjectCompleted = "project.completed" => (Project, "complete");
        ProjectClosed = "project.closed" => (Project, "close");
        TimeEntrySubmitted = "time_entry.submitted" => (TimeEntry, "submit");
        TimeEntryApproved = "time_entry.approved" => (TimeEntry, "approve");
        TimeEntryRejected = "time_entry.rejected" => (TimeEntry, "reject");
        TimeEntryRecalled = "time_entry.recalled" => (TimeEntry, "recall");
        ExpenseSubmitted = "expense.submitted" => (Expense, "submit");
        ExpenseApproved = "expense.approved" => (Expense, "approve");
        ExpenseRejected = "expense.rejected" => (Expense, "reject");
        ExpenseRecalled = "expense.recalled" => (Expense, "recall");
        MilestoneCompleted = "milestone.completed" => (Milestone, "complete");
        MilestoneAccepted = "milestone.accepted" => (Milestone, "accept");
        MilestoneRejected = "milestone.rejected" => (Milestone, "reject");
        MilestoneReopened = "milestone.reopened" => (Milestone, "reopen");
        ChangeOrderSubmitted = "change_order.submitted" => (ChangeOrder, "submit");
        ChangeOrderApproved = "change_order.approved" => (ChangeOrder, "approve");
        ChangeOrderRejected = "change_order.rejected" => (ChangeOrder, "reject");
        ChangeOrderWithdrawn = "change_order.withdrawn" => (ChangeOrder, "withdraw");
        ChangeOrderApplied = "change_order.applied" => (ChangeOrder, "apply");
        InvoiceApproved = "invoice.approved" => (Invoice, "approve");
        InvoicePosted = "invoice.posted" => (Invoice, "post");
        InvoiceVoided = "invoice.voided" => (Invoice, "void");
        InvoiceDisputed = "invoice.disputed" => (Invoice, "dispute");
        InvoiceDisputeResolved = "invoice.dispute_resolved" => (Invoice, "resolve_dispute");
    }
}

/// What became of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The event changed the state; the version went up by one.
    Applied,
    /// The key was applied before with the same payload; nothing changed.
    Duplicate,
    /// A machine, guard, ownership, version or domain rule refused it; it is in the exception queue.
    Rejected,
}

impl OutcomeStatus {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
        }
    }
}

/// Why an envelope was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// The reason code (`MACHINE_GUARD_FAILED`, `OWNERSHIP_NOT_OWNER`, `ENGINE_VERSION_CONFLICT`, ...).
    pub code: ErrorCode,
    /// A sentence naming the document, its state and what refused the event.
    pub message: String,
    /// When the event's document is not valid: every problem `validate` finds in it, each at its
    /// path in the envelope (`/event/time_entry/hours`); `code` is the first one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

impl Rejection {
    /// A rejection with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Rejection {
        Rejection {
            code,
            message: message.into(),
            problems: Vec::new(),
        }
    }
}

/// The result of applying one envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The envelope's idempotency key.
    pub idempotency_key: Id,
    /// The envelope's correlation id.
    pub correlation_id: Id,
    /// The event type.
    #[serde(deserialize_with = "super::audit::event_type_name")]
    pub event_type: EventTypeName,
    /// Applied, duplicate or rejected.
    pub status: OutcomeStatus,
    /// Applied: the version the event produced; duplicate: the version the original produced;
    /// rejected: the engine's version, unchanged.
    pub version: u64,
    /// Applied and duplicate: what the event changed (JSON pointers into the snapshot's `state`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<AuditChange>,
    /// Rejected: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
}

/// A rejected envelope, waiting to be corrected and sent again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ExceptionEntry {
    /// Position in the queue (1 for the first exception).
    pub sequence: u64,
    /// The reason code of the latest rejection.
    pub code: ErrorCode,
    /// The reason.
    pub message: String,
    /// The latest rejection's problems, when the envelope's document was not valid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// The engine version when it was last rejected.
    pub rejected_at_version: u64,
    /// How many times an envelope with this key was rejected.
    pub attempts: u32,
    /// When the same envelope was later applied: the version it produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by_version: Option<u64>,
    /// The envelope as received.
    pub envelope: Envelope,
}

/// An invoice the engine drafted, with what has been paid and credited on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InvoiceRecord {
    /// The invoice id.
    pub id: Id,
    /// Its lifecycle state.
    pub status: InvoiceStatus,
    /// The work dates it billed.
    pub period: Period,
    /// The day of the billing run.
    pub as_of: Date,
    /// The invoice total (the sum of its lines).
    pub total: Money,
    /// Payments applied.
    pub paid: Money,
    /// Credit notes issued against it.
    pub credited: Money,
    /// Total minus paid minus credited.
    pub balance: Money,
    /// The payments applied, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payments: Vec<Id>,
    /// The credit notes issued, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credit_notes: Vec<Id>,
}

/// Everything the engine holds about one contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct World {
    /// The contract as signed, with `change_orders` listing those applied (its versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    /// Opportunities, by id.
    #[serde(default)]
    pub opportunities: BTreeMap<Id, Box<Opportunity>>,
    /// Change orders, by id.
    #[serde(default)]
    pub change_orders: BTreeMap<Id, Box<ChangeOrder>>,
    /// Projects, by id.
    #[serde(default)]
    pub projects: BTreeMap<Id, Box<Project>>,
    /// Time entries, by id.
    #[serde(default)]
    pub time_entries: BTreeMap<Id, Box<TimeEntry>>,
    /// Expenses, by id.
    #[serde(default)]
    pub expenses: BTreeMap<Id, Box<Expense>>,
    /// Milestones, by id.
    #[serde(default)]
    pub milestones: BTreeMap<Id, Box<Milestone>>,
    /// Invoices, by id.
    #[serde(default)]
    pub invoices: BTreeMap<Id, Box<InvoiceRecord>>,
    /// Payments, by id.
    #[serde(default)]
    pub payments: BTreeMap<Id, Box<Payment>>,
    /// What invoices billed and credit notes gave back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<BilledLedger>,
}

impl World {
    /// How many tokens of a pointer into the state name a document: 2 in a member that holds
    /// documents by id (`/time_entries/TE-7`), 1 for `contract` and `ledger`.
    pub fn document_depth(member: &str) -> Option<usize> {
        match member {
            "opportunities" | "change_orders" | "projects" | "time_entries" | "expenses"
            | "milestones" | "invoices" | "payments" => Some(2),
            "contract" | "ledger" => Some(1),
            _ => None,
        }
    }

    /// The documents the pointers `paths` lead into (`/time_entries/TE-7/hours` into time entry
    /// TE-7), as JSON shaped as the state: `{"time_entries": {"TE-7": {...}}}`. Only those
    /// documents are written, not the whole state: a binding reads what events changed through
    /// their documents' types with it.
    pub fn documents_json<'p>(
        &self,
        paths: impl IntoIterator<Item = &'p str>,
    ) -> Result<serde_json::Value, Error> {
        use serde_json::{Map, Value};
        fn json<T: Serialize>(doc: Option<&T>) -> Result<Option<Value>, Error> {
            doc.map(serde_json::to_value)
                .transpose()
                .map_err(|e| Error::internal(format!("could not write a document: {e}")))
        }
        let mut out = Map::new();
        for path in paths {
            let tokens = crate::error::pointer_tokens(path);
            let (Some(member), id) = (tokens.first(), tokens.get(1).map(String::as_str)) else {
                continue;
            };
            let id = id.unwrap_or_default();
            let doc = match member.as_str() {
                "opportunities" => json(self.opportunities.get(id))?,
                "change_orders" => json(self.change_orders.get(id))?,
                "projects" => json(self.projects.get(id))?,
                "time_entries" => json(self.time_entries.get(id))?,
                "expenses" => json(self.expenses.get(id))?,
                "milestones" => json(self.milestones.get(id))?,
                "invoices" => json(self.invoices.get(id))?,
                "payments" => json(self.payments.get(id))?,
                "contract" => json(self.contract.as_ref())?,
                "ledger" => json(self.ledger.as_ref())?,
                _ => None,
            };
            let Some(doc) = doc else { continue };
            if Self::document_depth(member) == Some(2) {
                let by_id = out
                    .entry(member.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = by_id {
                    m.insert(id.to_owned(), doc);
                }
            } else {
                out.insert(member.clone(), doc);
            }
        }
        Ok(Value::Object(out))
    }
}

/// What the engine remembers of an applied idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Processed {
    /// SHA-256 (lowercase hex) of the canonical JSON of the envelope's payload: its `source`,
    /// `occurred_at`, `expected_version` and `event`.
    pub fingerprint: Sha256Digest,
    /// The version the envelope produced.
    pub version: u64,
}

/// The whole engine as data: `snapshot()` writes it as canonical JSON, `restore` reads it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Always 1.
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The number of events applied.
    pub version: u64,
    /// The hash of the last audit entry.
    pub audit_head: String,
    /// The ownership policy the engine enforces, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership_policy: Option<OwnershipPolicy>,
    /// The contract's world.
    pub state: World,
    /// Applied idempotency keys.
    #[serde(default)]
    pub processed: BTreeMap<Id, Box<Processed>>,
    /// The exception queue, oldest first.
    #[serde(default)]
    pub exceptions: Vec<ExceptionEntry>,
    /// The audit chain, oldest first.
    #[serde(default)]
    pub audit: Vec<AuditEntry>,
}

/// Open exceptions of one reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ExceptionCount {
    /// The reason code.
    pub code: ErrorCode,
    /// How many open exceptions have it.
    pub count: u64,
}

/// Approved, billable work not billed yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Unbilled {
    /// Time entries with unbilled hours.
    pub entries: u64,
    /// Unbilled hours (after time rounding; at most 4 decimals).
    pub hours: Dec,
    /// What they would bill now.
    pub amount: Money,
}

/// Figures a finance team watches, from the engine's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Always 1.
    pub schema_version: SchemaVersion,
    /// The engine version.
    pub version: u64,
    /// The day the figures are for.
    pub as_of: Date,
    /// Approved time a billing run from the contract start to `as_of` would bill now.
    pub unbilled_approved_time: Unbilled,
    /// Items such a run would hold, by reason (already billed items are left out).
    pub held_by_reason: Vec<HeldByReason>,
    /// Open exceptions by reason code.
    pub exceptions_by_reason: Vec<ExceptionCount>,
    /// Open exceptions.
    pub open_exceptions: u64,
    /// Billed against the ceiling (net of credits) over its limit at `as_of`, in percent, when
    /// the contract has a ceiling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_utilisation_percent: Option<Dec>,
    /// The ceiling's limit at `as_of`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_limit: Option<Money>,
    /// Billed against the ceiling so far, net of credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceiling_billed: Option<Money>,
    /// Open receivables: the balance of posted, partly paid and disputed invoices.
    pub receivables: Money,
}
