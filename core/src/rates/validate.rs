//! Rate-card validation: every problem that would make resolution ambiguous or wrong.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::error::{ErrorCode, Pointer};
use crate::model::{Currency, Date, Id, RateCard};
use crate::validate::Problems;
use crate::validate::documents::{currency_is, date_order, target_problems};

/// Every problem in a rate card, for a contract in `currency`.
pub fn validate_rate_card(card: &RateCard, currency: Currency, path: &Pointer) -> Problems {
    let mut p = Problems::new();
    if card.hours_per_day.0 <= Decimal::ZERO || card.hours_per_day.0 > Decimal::from(24u32) {
        p.push(
            &path.key("hours_per_day"),
            ErrorCode::RatesInvalidHoursPerDay,
            format!(
                "hours_per_day must be more than 0 and at most 24 (got `{}`)",
                card.hours_per_day
            ),
        );
    }
    let entries = path.key("entries");
    // Entries grouped by what they price: (role, resource, task) -> [(effective_from, effective_to, index)].
    type Key<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let mut groups: BTreeMap<Key<'_>, Vec<(Date, Option<Date>, usize)>> = BTreeMap::new();
    for (i, e) in card.entries.iter().enumerate() {
        let at = entries.index(i);
        target_problems(e.role.as_ref(), e.resource_id.as_ref(), &at, &mut p);
        if e.rate.amount <= Decimal::ZERO {
            p.push(
                &at.key("rate").key("amount"),
                ErrorCode::RatesNonPositiveRate,
                format!(
                    "the rate must be more than zero (got `{}`)",
                    e.rate.amount_string()
                ),
            );
        }
        currency_is(&e.rate, currency, &at.key("rate"), "the rate", &mut p);
        if let Some(to) = e.effective_to {
            date_order(
                e.effective_from,
                to,
                &at.key("effective_to"),
                "effective_from",
                "effective_to",
                &mut p,
            );
        }
        let key = (
            e.role.as_deref(),
            e.resource_id.as_ref().map(Id::as_str),
            e.task_id.as_ref().map(Id::as_str),
        );
        groups
            .entry(key)
            .or_default()
            .push((e.effective_from, e.effective_to, i));
    }
    for ((role, resource, task), mut dated) in groups {
        dated.sort_by_key(|(from, _, i)| (*from, *i));
        let who = match (role, resource) {
            (_, Some(r)) => format!("resource `{r}`"),
            (Some(r), None) => format!("role `{r}`"),
            (None, None) => "the entry".to_owned(),
        };
        let task = task.map(|t| format!(" on task `{t}`")).unwrap_or_default();
        for pair in dated.windows(2) {
            let [(from_a, to_a, ia), (from_b, _, ib)] = pair else {
                continue;
            };
            if from_a == from_b {
                p.push(
                    &entries.index(*ib),
                    ErrorCode::RatesAmbiguousEntry,
                    format!("{who}{task} already has a rate from {from_b} (entry {ia})"),
                );
            } else if to_a.is_some_and(|to| to >= *from_b) {
                p.push(
                    &entries.index(*ia).key("effective_to"),
                    ErrorCode::RatesOverlappingEntries,
                    format!("{who}{task}: the rate from {from_a} runs to {} but entry {ib} starts on {from_b}", to_a.map(|d| d.to_string()).unwrap_or_default()),
                );
            }
        }
    }
    p
}
