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
        // The entry with an explicit `effective_to` that reaches furthest so far, among earlier starts.
        let mut reach: Option<(Date, Date, usize)> = None;
        for pair in dated.windows(2) {
            let [(from_a, _, ia), (from_b, _, ib)] = pair else {
                continue;
            };
            if from_a == from_b {
                p.push(
                    &entries.index(*ib),
                    ErrorCode::RatesAmbiguousEntry,
                    format!("{who}{task} already has a rate from {from_b} (entry {ia})"),
                );
            }
        }
        for (from_b, to_b, ib) in &dated {
            if let Some((from_a, to_a, ia)) = reach
                && from_a < *from_b
                && to_a >= *from_b
            {
                p.push(
                    &entries.index(ia).key("effective_to"),
                    ErrorCode::RatesOverlappingEntries,
                    format!(
                        "{who}{task}: the rate from {from_a} runs to {to_a} but entry {ib} starts on {from_b}"
                    ),
                );
            }
            if let Some(to) = to_b
                && reach.is_none_or(|(_, r, _)| *to > r)
            {
                reach = Some((*from_b, *to, *ib));
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Contract;

    fn card(entries: serde_json::Value) -> Vec<(String, ErrorCode)> {
        let c: Contract = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "id": "C-1", "account_id": "A-1", "legal_entity": "US01",
            "currency": "USD", "billing_model": "time_and_materials", "status": "active",
            "start_date": "2026-01-01", "end_date": "2026-12-31",
            "rate_card": {"entries": entries}
        }))
        .unwrap();
        validate_rate_card(&c.rate_card, Currency::Usd, &Pointer::root())
            .into_vec()
            .into_iter()
            .map(|p| (p.path, p.code))
            .collect()
    }

    fn e(from: &str, to: Option<&str>) -> serde_json::Value {
        let mut v = serde_json::json!({"role": "Consultant", "rate": {"amount": "100.00", "currency": "USD"}, "effective_from": from});
        if let Some(t) = to {
            v["effective_to"] = serde_json::json!(t);
        }
        v
    }

    #[test]
    fn a_long_range_overlapping_a_later_entry_is_reported_even_past_a_short_one() {
        let got = card(serde_json::json!([
            e("2026-01-01", Some("2026-12-31")),
            e("2026-03-01", Some("2026-03-31")),
            e("2026-06-01", None),
        ]));
        assert_eq!(
            got,
            vec![
                (
                    "/entries/0/effective_to".to_owned(),
                    ErrorCode::RatesOverlappingEntries
                ),
                (
                    "/entries/0/effective_to".to_owned(),
                    ErrorCode::RatesOverlappingEntries
                ),
            ]
        );
    }

    #[test]
    fn a_temporary_rate_over_an_open_ended_one_is_not_an_overlap() {
        let got = card(serde_json::json!([
            e("2026-01-01", None),
            e("2026-03-01", Some("2026-03-31")),
        ]));
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn entries_that_end_the_day_before_the_next_starts_are_fine() {
        let got = card(serde_json::json!([
            e("2026-01-01", Some("2026-06-30")),
            e("2026-07-01", None),
        ]));
        assert!(got.is_empty(), "{got:?}");
        let got = card(serde_json::json!([
            e("2026-01-01", Some("2026-07-01")),
            e("2026-07-01", None),
        ]));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, ErrorCode::RatesOverlappingEntries);
    }
}
