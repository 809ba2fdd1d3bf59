//! Named guards and the facts they read.
//!
//! A guard is a named condition on a [`GuardContext`], evaluated by one exhaustive `match`. A guard
//! whose fact is absent from the context fails, and says which fact it needed: a transition is
//! never allowed on a fact nobody supplied.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::model::Dec;

string_enum! {
    /// A named condition a transition needs.
    Guard {
        NotBilled = "not_billed" => "the item is not on any invoice yet (context `billed` is false)",
        BalanceRemains = "balance_remains" => "the invoice still has an open balance after the payment or credit (context `balance_after` is more than zero)",
        BalanceSettled = "balance_settled" => "the payment or credit settles the invoice exactly (context `balance_after` is zero)",
        NextInSequence = "next_in_sequence" => "the change order is the next one to apply (context `sequence` is `last_applied_sequence` + 1)",
        NothingUnbilled = "nothing_unbilled" => "the project has no approved work left to bill (context `unbilled_items` is zero)",
    }
}

/// The facts guards read. Every field is optional; a guard fails when its fact is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GuardContext {
    /// Whether the item (time entry, expense, milestone) is on an invoice, net of credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed: Option<bool>,
    /// The invoice's open balance once this payment or credit note is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_after: Option<Dec>,
    /// The change order's sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u32>,
    /// The sequence number of the last change order applied to the contract (0 when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_sequence: Option<u32>,
    /// How many approved items of the project are not billed yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unbilled_items: Option<u32>,
}

fn missing(fact: &str) -> String {
    format!("the context does not give `{fact}`")
}

impl Guard {
    /// Evaluates the guard; `Err` says why it failed.
    pub fn check(self, ctx: &GuardContext) -> Result<(), String> {
        match self {
            Guard::NotBilled => match ctx.billed {
                Some(false) => Ok(()),
                Some(true) => Err("the item is already billed".to_owned()),
                None => Err(missing("billed")),
            },
            Guard::BalanceRemains => match ctx.balance_after {
                Some(b) if b.get() > Decimal::ZERO => Ok(()),
                Some(b) if b.get() == Decimal::ZERO => {
                    Err("the balance after it is zero".to_owned())
                }
                Some(b) => Err(format!(
                    "the balance after it is `{b}`: more than the open balance was paid or credited"
                )),
                None => Err(missing("balance_after")),
            },
            Guard::BalanceSettled => match ctx.balance_after {
                Some(b) if b.get() == Decimal::ZERO => Ok(()),
                Some(b) if b.get() > Decimal::ZERO => Err(format!("a balance of `{b}` remains")),
                Some(b) => Err(format!("the balance after it is `{b}`, not zero")),
                None => Err(missing("balance_after")),
            },
            Guard::NextInSequence => match (ctx.sequence, ctx.last_applied_sequence) {
                (Some(seq), Some(last)) => {
                    if last.checked_add(1) == Some(seq) {
                        Ok(())
                    } else {
                        Err(format!(
                            "sequence {seq} is out of sequence; the next to apply is {}",
                            u64::from(last).saturating_add(1)
                        ))
                    }
                }
                (None, _) => Err(missing("sequence")),
                (Some(_), None) => Err(missing("last_applied_sequence")),
            },
            Guard::NothingUnbilled => match ctx.unbilled_items {
                Some(0) => Ok(()),
                Some(n) => Err(format!("{n} approved item(s) are not billed yet")),
                None => Err(missing("unbilled_items")),
            },
        }
    }
}

/// Used by tests and descriptions: the guard evaluates without panicking on any context.
#[cfg(test)]
pub(crate) fn any_context_strategy() -> impl proptest::strategy::Strategy<Value = GuardContext> {
    use proptest::prelude::*;
    (
        proptest::option::of(any::<bool>()),
        proptest::option::of(-3i64..3),
        proptest::option::of(0u32..4),
        proptest::option::of(prop_oneof![Just(u32::MAX), 0u32..4]),
        proptest::option::of(0u32..3),
    )
        .prop_map(|(billed, bal, sequence, last, unbilled)| GuardContext {
            billed,
            balance_after: bal.map(|b| Dec(Decimal::from(b))),
            sequence,
            last_applied_sequence: last,
            unbilled_items: unbilled,
        })
}
