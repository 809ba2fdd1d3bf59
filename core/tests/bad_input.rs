//! Hostile and malformed input: each gives an error (or a problem) with a code and a path, never a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use billwise_core::ErrorCode;
use billwise_core::api::{self, validate_document};
use billwise_core::json::Limits;
use billwise_core::model::DocumentKind;

fn run_err(input: &[u8]) -> billwise_core::Error {
    api::run("validate", input, &Limits::DEFAULT).unwrap_err()
}

fn problems(doc: &str, kind: DocumentKind) -> Vec<(ErrorCode, String)> {
    let r = validate_document(doc.as_bytes(), Some(kind), None, &Limits::DEFAULT).unwrap();
    r.problems.into_iter().map(|p| (p.code, p.path)).collect()
}

fn entry_with_hours(hours: &str) -> String {
    format!(
        r#"{{"schema_version":1,"time_entries":[{{"id":"TE-1","project_id":"P","task_id":"T","resource_id":"R","role":"Dev","work_date":"2026-01-05","hours":{hours},"status":"approved"}}]}}"#
    )
}

#[test]
fn nesting_ten_thousand_deep_is_refused_with_the_depth_limit() {
    let input = format!(
        r#"{{"document":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = run_err(input.as_bytes());
    assert_eq!(e.code, ErrorCode::InputLimitExceeded);
    assert_eq!(e.details.get("limit").unwrap(), "max_depth");
    assert!(e.path.starts_with("/document/0/0"), "{}", e.path);
}

#[test]
fn a_hundred_megabyte_string_is_refused_with_the_string_limit() {
    let big = "x".repeat(100 * 1024 * 1024);
    let input = format!(
        r#"{{"document":{{"schema_version":1,"kind":"account","id":"A","name":"{big}","status":"active"}}}}"#
    );
    let e = run_err(input.as_bytes());
    assert_eq!(e.code, ErrorCode::InputLimitExceeded);
    assert_eq!(e.path, "/document/name");
    assert_eq!(e.details.get("limit").unwrap(), "max_string_bytes");
}

#[test]
fn input_over_the_byte_limit_is_refused_before_parsing() {
    let limits = Limits {
        max_bytes: 10,
        ..Limits::DEFAULT
    };
    let e = api::run("validate", br#"{"document":{}}"#, &limits).unwrap_err();
    assert_eq!(e.code, ErrorCode::InputLimitExceeded);
    assert_eq!(e.details.get("limit").unwrap(), "max_bytes");
}

#[test]
fn a_million_element_array_is_bounded_by_the_item_limit() {
    let limits = Limits {
        max_items: 1000,
        ..Limits::DEFAULT
    };
    let input = format!(r#"{{"document":[{}0]}}"#, "0,".repeat(1_000_000));
    let e = api::run("validate", input.as_bytes(), &limits).unwrap_err();
    assert_eq!(
        (e.code, e.path.as_str()),
        (ErrorCode::InputLimitExceeded, "/document/1000")
    );
}

#[test]
fn malformed_json_is_an_error_with_line_and_column() {
    let e = run_err(b"{\"document\": {\"a\": }");
    assert_eq!(e.code, ErrorCode::InputMalformedJson);
    assert!(e.details.contains_key("line") && e.details.contains_key("column"));
}

#[test]
fn invalid_utf8_is_malformed_json() {
    assert_eq!(
        run_err(b"{\"document\":\"\xff\xfe\"}").code,
        ErrorCode::InputMalformedJson
    );
}

#[test]
fn wrong_types_name_the_field() {
    let p = problems(
        r#"{"schema_version":1,"time_entries":{}}"#,
        DocumentKind::WorkLog,
    );
    assert_eq!(
        p,
        vec![(ErrorCode::InputInvalidType, "/time_entries".to_owned())]
    );
}

#[test]
fn bad_decimals_are_problems_at_their_path() {
    let path = "/time_entries/0/hours".to_owned();
    for (hours, code) in [
        (r#""1e400""#, ErrorCode::InputInvalidDecimal),
        (r#""NaN""#, ErrorCode::InputInvalidDecimal),
        (r#""12.3.4""#, ErrorCode::InputInvalidDecimal),
        (r#""Infinity""#, ErrorCode::InputInvalidDecimal),
        ("7.5", ErrorCode::InputNumberNotAllowed),
        // Well-formed JSON, but beyond any runtime's float range: refused at its path.
        ("1e400", ErrorCode::InputLimitExceeded),
    ] {
        let doc = entry_with_hours(hours);
        match validate_document(
            doc.as_bytes(),
            Some(DocumentKind::WorkLog),
            None,
            &Limits::DEFAULT,
        ) {
            Ok(r) => assert_eq!(
                r.problems
                    .iter()
                    .map(|p| (p.code, p.path.clone()))
                    .collect::<Vec<_>>(),
                vec![(code, path.clone())],
                "{hours}"
            ),
            Err((_, e)) => {
                assert_eq!(e.code, code, "{hours}: {e}");
                assert!(e.path.ends_with(&path), "{hours}: {e}");
            }
        }
    }
}

#[test]
fn forty_digit_decimals_exceed_the_digit_limit() {
    let doc = entry_with_hours(&format!("\"{}\"", "9".repeat(40)));
    let (part, e) = validate_document(
        doc.as_bytes(),
        Some(DocumentKind::WorkLog),
        None,
        &Limits::DEFAULT,
    )
    .unwrap_err();
    assert_eq!(
        (part, e.code, e.path.as_str()),
        (
            "/document",
            ErrorCode::InputLimitExceeded,
            "/time_entries/0/hours"
        )
    );
}

#[test]
fn an_unknown_currency_and_an_impossible_date_are_problems() {
    let doc = r#"{"schema_version":1,"id":"P","invoice_id":"I","amount":{"amount":"1","currency":"ZZZ"},"date":"2026-02-30"}"#;
    assert_eq!(
        problems(doc, DocumentKind::Payment),
        vec![(
            ErrorCode::InputUnknownCurrency,
            "/amount/currency".to_owned()
        )]
    );
    let doc = r#"{"schema_version":1,"id":"P","invoice_id":"I","amount":{"amount":"1","currency":"USD"},"date":"2026-02-30"}"#;
    assert_eq!(
        problems(doc, DocumentKind::Payment),
        vec![(ErrorCode::InputInvalidDate, "/date".to_owned())]
    );
}

#[test]
fn an_unknown_operation_is_an_input_error() {
    let e = api::run("launch_rockets", b"{}", &Limits::DEFAULT).unwrap_err();
    assert_eq!(e.code, ErrorCode::InputInvalidValue);
}
