//! The entity kinds an ownership policy may name: their fields (read from the canonical document
//! types, so they cannot drift), their lifecycle stages (from the status enums) and how each
//! field's values compare.

use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::model::{
    AccountStatus, ChangeOrderStatus, ContractStatus, InvoiceStatus, MilestoneStatus,
    OpportunityStage, ProjectStatus, WorkStatus,
};

/// How the values of a field compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldKind {
    /// `{"amount": "1.50", "currency": "USD"}`: same currency, amounts equal as decimals.
    Money,
    /// A decimal string: equal as decimals (`"8"` equals `"8.00"`).
    Decimal,
    /// A `YYYY-MM-DD` date: equal as dates.
    Date,
    /// Anything else: equal as JSON (text exactly, unless the policy makes it case-insensitive).
    Exact,
}

/// One entity kind.
#[derive(Debug, Clone)]
pub struct EntityKind {
    /// Its name in policies and requests.
    pub name: &'static str,
    /// Its fields, sorted by name (the document envelope `schema_version` and `kind` excluded).
    pub fields: Vec<&'static str>,
    /// Its lifecycle stages in lifecycle order; empty when it has no lifecycle.
    pub stages: Vec<&'static str>,
    /// The field that holds the stage, when it has a lifecycle.
    pub stage_field: Option<&'static str>,
}

impl EntityKind {
    /// The index of a field in [`EntityKind::fields`].
    pub fn field_index(&self, field: &str) -> Option<usize> {
        self.fields.binary_search(&field).ok()
    }

    /// The index of a stage in [`EntityKind::stages`].
    pub fn stage_index(&self, stage: &str) -> Option<usize> {
        self.stages.iter().position(|s| *s == stage)
    }

    /// How a field's values compare.
    pub fn field_kind(&self, field: &str) -> FieldKind {
        field_kind(field)
    }
}

/// Field names whose values are money, decimals or dates in the canonical documents.
const MONEY_FIELDS: &[&str] = &["amount", "fixed_fee", "rate_override", "total"];
const DECIMAL_FIELDS: &[&str] = &["fx_rate", "hours", "percent"];
const DATE_FIELDS: &[&str] = &[
    "approved_on",
    "date",
    "due_date",
    "effective_date",
    "end_date",
    "expected_start",
    "issue_date",
    "start_date",
    "work_date",
];

/// How a canonical field's values compare.
pub fn field_kind(field: &str) -> FieldKind {
    if MONEY_FIELDS.contains(&field) {
        FieldKind::Money
    } else if DECIMAL_FIELDS.contains(&field) {
        FieldKind::Decimal
    } else if DATE_FIELDS.contains(&field) {
        FieldKind::Date
    } else {
        FieldKind::Exact
    }
}

/// The field names serde reads for a struct, captured from its `Deserialize` implementation.
fn struct_fields<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
    struct Capture<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Capture<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields captured"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Capture(&mut fields));
    let mut out: Vec<&'static str> = fields
        .iter()
        .copied()
        .filter(|f| *f != "schema_version" && *f != "kind")
        .collect();
    out.sort_unstable();
    out
}

fn kind<T: for<'de> Deserialize<'de>>(
    name: &'static str,
    stages: Vec<&'static str>,
    stage_field: Option<&'static str>,
) -> EntityKind {
    EntityKind {
        name,
        fields: struct_fields::<T>(),
        stages,
        stage_field,
    }
}

macro_rules! stages {
    ($e:ty) => {
        <$e>::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<&'static str>>()
    };
}

/// Every entity kind, sorted by name.
pub fn entity_kinds() -> &'static [EntityKind] {
    static KINDS: OnceLock<Vec<EntityKind>> = OnceLock::new();
    KINDS.get_or_init(|| {
        use crate::model::{
            Account, ChangeOrder, Contract, Expense, Invoice, Milestone, Opportunity, Payment,
            Project, TimeEntry,
        };
        let status = Some("status");
        let mut v = vec![
            kind::<Account>("account", stages!(AccountStatus), status),
            kind::<ChangeOrder>("change_order", stages!(ChangeOrderStatus), status),
            kind::<Contract>("contract", stages!(ContractStatus), status),
            kind::<Expense>("expense", stages!(WorkStatus), status),
            kind::<Invoice>("invoice", stages!(InvoiceStatus), status),
            kind::<Milestone>("milestone", stages!(MilestoneStatus), status),
            kind::<Opportunity>("opportunity", stages!(OpportunityStage), Some("stage")),
            kind::<Payment>("payment", Vec::new(), None),
            kind::<Project>("project", stages!(ProjectStatus), status),
            kind::<TimeEntry>("time_entry", stages!(WorkStatus), status),
        ];
        v.sort_by_key(|k| k.name);
        v
    })
}

/// The index of an entity kind in [`entity_kinds`].
pub fn entity_index(name: &str) -> Option<usize> {
    entity_kinds().binary_search_by(|k| k.name.cmp(name)).ok()
}

/// An entity kind by name.
pub fn entity(name: &str) -> Option<&'static EntityKind> {
    entity_index(name).and_then(|i| entity_kinds().get(i))
}

/// The names of every entity kind, comma-separated, for messages.
pub fn entity_names() -> String {
    entity_kinds()
        .iter()
        .map(|k| k.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_the_document_types() {
        let account = entity("account").unwrap();
        assert_eq!(
            account.fields,
            vec![
                "currency",
                "external_ids",
                "id",
                "legal_entity",
                "name",
                "parent_id",
                "payment_terms",
                "status",
                "tax_profile"
            ]
        );
        assert!(entity("time_entry").unwrap().fields.contains(&"work_date"));
        assert!(entity("payment").unwrap().stages.is_empty());
    }

    #[test]
    fn every_typed_field_name_exists_on_some_entity() {
        for f in MONEY_FIELDS.iter().chain(DECIMAL_FIELDS).chain(DATE_FIELDS) {
            assert!(
                entity_kinds().iter().any(|k| k.fields.contains(f)),
                "{f} is typed but no entity has it"
            );
        }
    }

    #[test]
    fn every_stage_field_is_a_field_of_its_entity() {
        for k in entity_kinds() {
            if let Some(f) = k.stage_field {
                assert!(k.fields.contains(&f), "{}", k.name);
            }
            assert_eq!(k.stage_field.is_some(), !k.stages.is_empty());
        }
    }
}
