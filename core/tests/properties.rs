//! Property tests of the foundation: exact money text, canonical JSON, a parser that never panics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use billwise_core::api;
use billwise_core::json::{self, Limits, to_canonical_string};
use billwise_core::model::decimal::{format_decimal, parse_decimal};
use billwise_core::model::{
    BillingModel, Contract, ContractStatus, Currency, Date, Dec, DocumentKind, Expense,
    ExpensePolicy, Id, Money, RateCard, RateEntry, RateUnit, RoundingPolicy, SchemaVersion,
    TimeEntry, WorkLog, WorkStatus,
};
use billwise_core::validate::Document;
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=10).prop_map(|(m, s)| Decimal::new(m, s))
}

fn date() -> impl Strategy<Value = Date> {
    (1u16..=9999, 1u8..=12, 1u8..=31).prop_filter_map("a real day", |(y, m, d)| Date::new(y, m, d))
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL.to_vec())
}

fn money() -> impl Strategy<Value = Money> {
    (decimal(), currency()).prop_map(|(a, c)| Money::new(a, c))
}

fn id() -> impl Strategy<Value = Id> {
    "[A-Za-z0-9 _.:/-]{1,24}".prop_map(|s| Id::new(s).unwrap())
}

fn status() -> impl Strategy<Value = WorkStatus> {
    prop::sample::select(WorkStatus::ALL.to_vec())
}

fn time_entry() -> impl Strategy<Value = TimeEntry> {
    (
        id(),
        id(),
        id(),
        id(),
        "[A-Za-z ]{1,20}",
        date(),
        decimal(),
        any::<bool>(),
        status(),
        prop::option::of(money()),
    )
        .prop_map(
            |(
                id,
                project_id,
                task_id,
                resource_id,
                role,
                work_date,
                hours,
                billable,
                status,
                rate_override,
            )| TimeEntry {
                id,
                project_id,
                task_id,
                resource_id,
                role: role.into(),
                work_date,
                hours: Dec(hours),
                billable,
                status,
                rate_override,
            },
        )
}

fn expense() -> impl Strategy<Value = Expense> {
    (
        id(),
        id(),
        date(),
        money(),
        "[a-z]{1,10}",
        any::<bool>(),
        status(),
        prop::option::of(decimal()),
    )
        .prop_map(
            |(id, project_id, date, amount, category, billable, status, fx)| Expense {
                id,
                project_id,
                date,
                amount,
                category,
                billable,
                status,
                fx_rate: fx.map(Dec),
            },
        )
}

fn rate_entry() -> impl Strategy<Value = RateEntry> {
    (
        prop::option::of("[A-Za-z ]{1,20}"),
        prop::option::of(id()),
        prop::option::of(id()),
        money(),
        any::<bool>(),
        date(),
        prop::option::of(date()),
    )
        .prop_map(
            |(role, resource_id, task_id, rate, day, effective_from, effective_to)| RateEntry {
                role,
                resource_id,
                task_id,
                rate,
                unit: if day { RateUnit::Day } else { RateUnit::Hour },
                effective_from,
                effective_to,
            },
        )
}

fn contract() -> impl Strategy<Value = Contract> {
    (
        id(),
        currency(),
        prop::sample::select(BillingModel::ALL.to_vec()),
        date(),
        date(),
        prop::collection::vec(rate_entry(), 0..8),
        decimal(),
    )
        .prop_map(
            |(id, currency, billing_model, start_date, end_date, entries, markup)| Contract {
                schema_version: SchemaVersion,
                kind: Some(DocumentKind::Contract),
                account_id: Id::new("A-1").unwrap(),
                id,
                legal_entity: Id::new("US01").unwrap(),
                currency,
                billing_model,
                status: ContractStatus::Active,
                start_date,
                end_date,
                ceiling: None,
                rate_card: RateCard {
                    hours_per_day: Dec(Decimal::from(8u32)),
                    entries,
                },
                expense_policy: ExpensePolicy {
                    billable_categories: vec!["travel".into()],
                    markup_percent: Dec(markup),
                },
                milestones: vec![],
                fixed_fee: None,
                retainer: None,
                rounding: RoundingPolicy::default(),
                change_orders: vec![],
            },
        )
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "2026-02-30",
            "1e400",
            "-0",
            "NaN",
            "12.3.4",
            "USD",
            "approved",
            "contract",
            "1500.00"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        let keys = prop::sample::select(vec![
            "schema_version",
            "kind",
            "id",
            "amount",
            "currency",
            "hours",
            "rate_card",
            "entries",
            "role",
            "rate",
            "effective_from",
            "time_entries",
            "expenses",
            "status",
            "work_date",
            "document",
            "lines",
            "total",
            "x",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..8).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decimal_text_round_trips_exactly(d in decimal()) {
        let text = format_decimal(d);
        prop_assert_eq!(parse_decimal(&text).unwrap(), d);
        prop_assert_eq!(format_decimal(parse_decimal(&text).unwrap()), text);
    }

    #[test]
    fn money_parse_and_format_round_trip(m in money()) {
        let text = serde_json::to_string(&m).unwrap();
        let back: Money = json::from_str(&text, &Limits::DEFAULT).unwrap();
        prop_assert_eq!(back, m);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn canonical_json_of_a_work_log_is_stable(entries in prop::collection::vec(time_entry(), 0..6), expenses in prop::collection::vec(expense(), 0..4)) {
        let log = WorkLog { schema_version: SchemaVersion, kind: Some(DocumentKind::WorkLog), time_entries: entries, expenses };
        let first = to_canonical_string(&log).unwrap();
        let back: WorkLog = json::from_str(&first, &Limits::DEFAULT).unwrap();
        prop_assert_eq!(to_canonical_string(&back).unwrap(), first);
    }

    #[test]
    fn canonical_json_of_a_contract_is_stable(c in contract()) {
        let first = to_canonical_string(&c).unwrap();
        let back: Contract = json::from_str(&first, &Limits::DEFAULT).unwrap();
        prop_assert_eq!(&back, &c);
        prop_assert_eq!(to_canonical_string(&back).unwrap(), first);
    }

    #[test]
    fn arbitrary_json_never_panics_the_document_parser(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        for kind in DocumentKind::ALL {
            let _ = Document::parse(&bytes, Some(*kind), &Limits::DEFAULT).map(|d| d.validate(None));
        }
        let request = serde_json::to_vec(&serde_json::json!({ "document": v })).unwrap();
        let _ = api::run("validate", &request, &Limits::DEFAULT);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_document_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Document::parse(&bytes, None, &Limits::DEFAULT);
        let _ = api::run("validate", &bytes, &Limits::DEFAULT);
    }

    #[test]
    fn validating_the_same_document_twice_gives_the_same_report(c in contract()) {
        let doc = Document::Contract(Box::new(c));
        prop_assert_eq!(doc.validate(None), doc.validate(None));
    }
}
