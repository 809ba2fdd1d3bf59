//! Text of a preview (line descriptions, rate sources, held sentences) written out only when it is
//! serialised or displayed.
//!
//! A run over a million entries used to format and allocate a million descriptions, rate sources
//! and sentences, then copy them again into JSON. A [`Text`] instead keeps what the words are made
//! of (references into the request, a few values) and writes the words straight into the output.
//! The bytes are the same: every format string lives in [`Words`]'s `Display`.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::types::{ItemKind, Period};
use crate::model::decimal::write_at_scale;
use crate::model::{
    Contract, Date, Dec, Id, Money, Project, ProjectStatus, RateEntry, TimeEntry, WorkStatus,
};
use crate::out::{FmtOut, Out};
use rust_decimal::Decimal;

/// Text in a preview: a string, or words built from the request that are written out on demand.
///
/// Compare it, print it or serialise it like a string; [`Text::into_owned`] detaches it from the
/// request.
#[derive(Clone)]
pub struct Text<'a>(Repr<'a>);

#[derive(Clone)]
enum Repr<'a> {
    Str(Cow<'a, str>),
    Words(Words<'a>),
}

/// The words of a [`Text`] that are built from the request. Kept small and `Copy`: every line
/// and held item carries one or two of them.
#[derive(Clone, Copy)]
pub(crate) enum Words<'a> {
    /// A time line's description: role, resource and task name.
    Work { entry: &'a TimeEntry, task: &'a str },
    /// A rate of the signed card: `rate_card:role=...@date`.
    CardRate(&'a RateEntry),
    /// A rate set by a change order: `change_order:CO-1`.
    ChangeOrderRate(&'a Id),
    /// Held: billed in full already.
    TimeBilledAlready { id: &'a Id, net_hours: Dec },
    /// Held: marked billed without a ledger record.
    MarkedBilled(&'a TimeEntry),
    /// Held: not approved.
    NotApproved {
        kind: ItemKind,
        id: &'a Id,
        status: WorkStatus,
    },
    /// Held: marked non-billable.
    MarkedNonBillable { kind: ItemKind, id: &'a Id },
    /// Held: on a non-billable task.
    TaskNonBillable(&'a TimeEntry),
    /// Held: on a task its project does not have.
    TaskUnknown(&'a TimeEntry),
    /// Held: its project is not in the run.
    ProjectUnknown {
        kind: ItemKind,
        id: &'a Id,
        project: &'a Id,
    },
    /// Held: its project belongs to another contract.
    ProjectOtherContract {
        project: &'a Project,
        contract: &'a Id,
    },
    /// Held: its project is not in a billable status.
    ProjectStatus {
        project: &'a Project,
        allowed: &'a [ProjectStatus],
    },
    /// Held: dated outside the contract period.
    OutsideContractPeriod {
        kind: ItemKind,
        id: &'a Id,
        date: Date,
        period: Period,
    },
    /// Held: dated outside the billing period.
    OutsideBillingPeriod {
        kind: ItemKind,
        id: &'a Id,
        date: Date,
        period: Period,
    },
    /// Held: delivered by another legal entity.
    LegalEntity {
        project: &'a Project,
        contract: &'a Contract,
    },
    /// Held: a manual rate in another currency.
    OverrideCurrency {
        entry: &'a TimeEntry,
        contract: &'a Contract,
    },
    /// Held: no rate prices it.
    MissingRate { entry: &'a TimeEntry, version: u32 },
    /// Held: the ceiling had no room left for it.
    CeilingFull {
        kind: ItemKind,
        id: &'a Id,
        limit: Money,
    },
    /// `{kind} {id} waits behind an earlier item held at the ceiling of {limit} (items count in
    /// order)`: the ceiling had room, but something before it did not fit.
    CeilingHeldBehind {
        kind: ItemKind,
        id: &'a Id,
        limit: Money,
    },
}

impl fmt::Display for Words<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = FmtOut::new(f);
        self.write(&mut out);
        out.result()
    }
}

impl Words<'_> {
    /// Writes the words to `out`: the one place their shapes are spelled.
    fn write(&self, out: &mut impl Out) {
        match *self {
            // The shapes made for every line or held item of a large run are written piece by
            // piece, without `fmt`.
            Self::Work { entry, task } => {
                out.put(&entry.role);
                out.ascii(b", ");
                out.put(entry.resource_id.as_str());
                out.ascii(b", ");
                out.put(task);
            }
            Self::CardRate(e) => {
                out.ascii(b"rate_card:");
                match (&e.resource_id, &e.role) {
                    (Some(r), _) => {
                        out.ascii(b"resource=");
                        out.put(r.as_str());
                    }
                    (None, Some(role)) => {
                        out.ascii(b"role=");
                        out.put(role);
                    }
                    (None, None) => {}
                }
                if let Some(t) = &e.task_id {
                    out.ascii(b",task=");
                    out.put(t.as_str());
                }
                out.ascii(b"@");
                e.effective_from.write_to(out);
            }
            Self::ChangeOrderRate(id) => {
                out.ascii(b"change_order:");
                out.put(id.as_str());
            }
            Self::TimeBilledAlready { id, net_hours } => out.args(format_args!(
                "time entry {id} is billed already ({net_hours} h net of credits)"
            )),
            Self::MarkedBilled(e) => out.args(format_args!(
                "time entry {} is marked billed, but the ledger has no record of it",
                e.id
            )),
            Self::NotApproved { kind, id, status } => {
                out.put(kind.noun());
                out.ascii(b" ");
                out.put(id.as_str());
                out.ascii(b" is ");
                out.put(status.as_str());
                out.ascii(b", not approved");
            }
            Self::MarkedNonBillable { kind, id } => {
                out.put(kind.noun());
                out.ascii(b" ");
                out.put(id.as_str());
                out.ascii(b" is marked non-billable");
            }
            Self::TaskNonBillable(e) => out.args(format_args!(
                "task {} of project {} is non-billable",
                e.task_id, e.project_id
            )),
            Self::TaskUnknown(e) => out.args(format_args!(
                "task {} is not a task of project {}",
                e.task_id, e.project_id
            )),
            Self::ProjectUnknown { kind, id, project } => out.args(format_args!(
                "project {project} of {} {id} is not part of this billing run",
                kind.noun()
            )),
            Self::ProjectOtherContract { project, contract } => out.args(format_args!(
                "project {} belongs to contract {}, not {contract}",
                project.id, project.contract_id
            )),
            Self::ProjectStatus { project, allowed } => {
                out.args(format_args!(
                    "project {} is {}; billable statuses are ",
                    project.id, project.status
                ));
                for (i, s) in allowed.iter().enumerate() {
                    if i > 0 {
                        out.ascii(b", ");
                    }
                    out.put(s.as_str());
                }
            }
            Self::OutsideContractPeriod {
                kind,
                id,
                date,
                period,
            } => out.args(format_args!(
                "{} {id} is dated {date}, outside the contract period {} to {}",
                kind.noun(),
                period.start,
                period.end
            )),
            Self::OutsideBillingPeriod {
                kind,
                id,
                date,
                period,
            } => out.args(format_args!(
                "{} {id} is dated {date}, outside the billing period {} to {}",
                kind.noun(),
                period.start,
                period.end
            )),
            Self::LegalEntity { project, contract } => out.args(format_args!(
                "project {} is delivered by {}, but contract {} is with {}",
                project.id, project.legal_entity, contract.id, contract.legal_entity
            )),
            Self::OverrideCurrency { entry, contract } => out.args(format_args!(
                "the manual rate of time entry {} is in {}; contract {} bills in {}",
                entry.id,
                entry
                    .rate_override
                    .map_or(contract.currency, |o| o.currency),
                contract.id,
                contract.currency
            )),
            Self::MissingRate { entry, version } => out.args(format_args!(
                "no rate prices role {} (resource {}, task {}) on {} under contract version {version}",
                entry.role, entry.resource_id, entry.task_id, entry.work_date
            )),
            Self::CeilingFull { kind, id, limit } => {
                let scale = limit.currency.minor_units();
                out.put(kind.noun());
                out.ascii(b" ");
                out.put(id.as_str());
                out.ascii(b" would bring the total billed against the ceiling to more than ");
                write_at_scale(limit.amount, scale, out);
                out.ascii(b" (");
                write_at_scale(Decimal::ZERO, scale, out);
                out.ascii(b" left)");
            }
            Self::CeilingHeldBehind { kind, id, limit } => {
                out.put(kind.noun());
                out.ascii(b" ");
                out.put(id.as_str());
                out.ascii(b" waits behind an earlier item held at the ceiling of ");
                write_at_scale(limit.amount, limit.currency.minor_units(), out);
                out.ascii(b" (items count in order)");
            }
        }
    }
}

impl<'a> Text<'a> {
    pub(crate) const fn words(words: Words<'a>) -> Self {
        Self(Repr::Words(words))
    }

    /// The text, borrowed when it is a string already.
    pub fn to_str(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Str(s) => Cow::Borrowed(s),
            Repr::Words(w) => Cow::Owned(w.to_string()),
        }
    }

    /// The same text, owning its words.
    pub fn into_owned(self) -> Text<'static> {
        Text(Repr::Str(Cow::Owned(match self.0 {
            Repr::Str(s) => s.into_owned(),
            Repr::Words(w) => w.to_string(),
        })))
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Self(Repr::Str(Cow::Owned(s)))
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Self(Repr::Str(Cow::Borrowed(s)))
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Str(s) => f.write_str(s),
            Repr::Words(w) => w.fmt(f),
        }
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.to_str(), f)
    }
}

impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.to_str() == other.to_str()
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.to_str() == other
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.to_str() == *other
    }
}

impl Text<'_> {
    /// Appends the text as a canonical JSON string (the bytes its `Serialize` gives).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Repr::Str(s) => crate::json::write_string(s, out),
            Repr::Words(w) => {
                out.push(b'"');
                // Written as it displays, then escaped in place if it must be: escaping the whole
                // is escaping each piece, and one check costs less than one per piece.
                let start = out.len();
                w.write(out);
                if out
                    .get(start..)
                    .is_some_and(crate::json::needs_escape_bytes)
                {
                    let written = out.split_off(start);
                    // The words are text: each piece was a `str`. (Were they not, they go back
                    // as they were, and the UTF-8 check of the whole output reports it.)
                    match std::str::from_utf8(&written) {
                        Ok(text) => crate::json::write_escaped(text, out),
                        Err(_) => out.extend_from_slice(&written),
                    }
                }
                out.push(b'"');
            }
        }
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Str(s) => serializer.serialize_str(s),
            // Written straight into the output (serde_json escapes each piece as it comes).
            Repr::Words(w) => serializer.collect_str(w),
        }
    }
}

impl<'de> Deserialize<'de> for Text<'_> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}

/// The schema of a string.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Text<'_> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        String::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::to_canonical_string;

    #[test]
    fn words_serialise_as_the_string_they_display() {
        let id = Id::new("TE-1\"x").unwrap();
        let t = Text::words(Words::MarkedNonBillable {
            kind: ItemKind::Time,
            id: &id,
        });
        assert_eq!(t.to_string(), "time entry TE-1\"x is marked non-billable");
        assert_eq!(
            to_canonical_string(&t).unwrap(),
            to_canonical_string(&t.to_string()).unwrap()
        );
        assert_eq!(t.clone().into_owned(), t);
        assert_eq!(t, "time entry TE-1\"x is marked non-billable");
    }
}
