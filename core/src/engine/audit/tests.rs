use proptest::prelude::*;
use serde_json::json;

use super::*;

fn record(n: u64) -> AuditRecord {
    AuditRecord {
        occurred_at: format!("2026-03-{:02}T09:00:00Z", n % 28 + 1),
        source: System::new(if n.is_multiple_of(2) {
            "psa"
        } else {
            "billing"
        })
        .unwrap(),
        correlation_id: Id::new(format!("corr-{n}")).unwrap(),
        idempotency_key: Id::new(format!("key-{n}")).unwrap(),
        event_type: "time_entry.approved".into(),
        changes: vec![AuditChange {
            path: format!("/time_entries/TE-{n}/status"),
            before: json!("submitted").into(),
            after: json!("approved").into(),
        }],
    }
}

fn chain(n: u64) -> AuditLog {
    let mut log = AuditLog::new();
    for i in 1..=n {
        log.append(record(i)).unwrap();
    }
    log
}

/// The two-entry example of the spec, with hashes computed independently (Python `hashlib` over
/// `json.dumps(entry, sort_keys=True, separators=(",", ":"))`).
fn spec_example() -> AuditLog {
    let mut log = AuditLog::new();
    log.append(AuditRecord {
        occurred_at: "2026-03-02T09:00:00Z".to_owned(),
        source: System::new("psa").unwrap(),
        correlation_id: Id::new("corr-1").unwrap(),
        idempotency_key: Id::new("psa-TE-7-approve").unwrap(),
        event_type: "time_entry.approved".into(),
        changes: vec![AuditChange {
            path: "/time_entries/TE-7/status".to_owned(),
            before: json!("submitted").into(),
            after: json!("approved").into(),
        }],
    })
    .unwrap();
    log.append(AuditRecord {
        occurred_at: "2026-03-05T17:30:00Z".to_owned(),
        source: System::new("billing").unwrap(),
        correlation_id: Id::new("run-2026-03").unwrap(),
        idempotency_key: Id::new("billing-TE-7-bill").unwrap(),
        event_type: "time_entry.billed".into(),
        changes: vec![
            AuditChange {
                path: "/time_entries/TE-7/status".to_owned(),
                before: json!("approved").into(),
                after: json!("billed").into(),
            },
            AuditChange {
                path: "/ledger/TE-7".to_owned(),
                before: Value::Null.into(),
                after: json!({"amount": "1200.00", "currency": "USD"}).into(),
            },
        ],
    })
    .unwrap();
    log
}

#[test]
fn entry_hash_is_sha256_of_the_canonical_entry_without_its_hash() {
    let log = spec_example();
    let [first, second] = log.entries() else {
        panic!("two entries expected")
    };
    assert_eq!(
        hashed_text(first).unwrap(),
        r#"{"changes":[{"after":"approved","before":"submitted","path":"/time_entries/TE-7/status"}],"correlation_id":"corr-1","event_type":"time_entry.approved","idempotency_key":"psa-TE-7-approve","occurred_at":"2026-03-02T09:00:00Z","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","source":"psa","version":1}"#
    );
    assert_eq!(
        first.hash,
        "be0bb90e765efd970af666c49f8c21189da267b27968c3ffc90d66e5553c7592"
    );
    assert_eq!(second.prev_hash, first.hash);
    assert_eq!(
        second.hash,
        "c8fb03bdd99787a7452f5b6141b91ca6f2c8bf0430c45884c0663c9f79e8613b"
    );
    assert_eq!(log.head(), second.hash);
}

#[test]
fn appended_entries_number_versions_from_one_and_link_to_the_previous_hash() {
    let log = chain(4);
    let mut prev = GENESIS_HASH.to_owned();
    for (i, e) in log.entries().iter().enumerate() {
        assert_eq!(e.version, i as u64 + 1);
        assert_eq!(e.prev_hash.to_hex(), prev);
        let hex = e.hash.to_hex();
        assert_eq!(hex.len(), 64);
        assert!(
            hex.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(Sha256Digest::parse(&hex), Some(e.hash));
        prev = hex;
    }
    assert_eq!(log.version(), 4);
}

#[test]
fn an_untouched_chain_verifies_and_reports_its_head() {
    let log = chain(5);
    let v = verify(log.entries(), Some(&log.head().to_hex())).unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(v.entries, 5);
    assert_eq!(v.head, log.head().to_hex());
    assert_eq!(v.problem, None);
}

#[test]
fn an_empty_chain_is_valid_and_its_head_is_genesis() {
    let v = verify(&[], None).unwrap();
    assert!(v.valid);
    assert_eq!(v.head, GENESIS_HASH);
    let v = verify(&[], Some(GENESIS_HASH)).unwrap();
    assert!(v.valid);
}

#[test]
fn a_chain_read_back_from_json_still_verifies() {
    let log = spec_example();
    let text = crate::json::to_canonical_string(log.entries()).unwrap();
    let back: Vec<AuditEntry> =
        crate::json::from_str(&text, &crate::json::Limits::DEFAULT).unwrap();
    assert_eq!(back, log.entries());
    assert!(verify(&back, Some(&log.head().to_hex())).unwrap().valid);
}

#[test]
fn an_edited_amount_is_found_at_the_edited_entry() {
    let log = spec_example();
    let mut entries = log.entries().to_vec();
    entries[1].changes[1].after = json!({"amount": "120.00", "currency": "USD"}).into();
    let p = verify(&entries, None).unwrap().problem.unwrap();
    assert_eq!(p.code, ErrorCode::AuditEntryTampered);
    assert_eq!((p.index, p.version), (1, 2));
    assert!(
        p.message
            .starts_with("entry 2 was changed after it was sealed"),
        "{}",
        p.message
    );
}

#[test]
fn a_removed_entry_is_reported_missing_at_the_entry_after_the_gap() {
    let mut entries = chain(5).entries().to_vec();
    entries.remove(2);
    let p = verify(&entries, None).unwrap().problem.unwrap();
    assert_eq!(p.code, ErrorCode::AuditEntryMissing);
    assert_eq!((p.index, p.version), (2, 4));
    assert_eq!(p.message, "entry 4 follows version 2: version 3 is missing");

    let mut entries = chain(5).entries().to_vec();
    entries.drain(0..2);
    let p = verify(&entries, None).unwrap().problem.unwrap();
    assert_eq!(p.code, ErrorCode::AuditEntryMissing);
    assert_eq!(
        p.message,
        "entry 3 follows version 0: versions 1 to 2 are missing"
    );
}

#[test]
fn a_rewritten_and_resealed_entry_breaks_the_link_to_the_next() {
    let mut entries = chain(4).entries().to_vec();
    entries[1].event_type = "time_entry.rejected".into();
    entries[1].hash = entry_hash(&entries[1]).unwrap();
    let p = verify(&entries, None).unwrap().problem.unwrap();
    assert_eq!(p.code, ErrorCode::AuditChainBroken);
    assert_eq!((p.index, p.version), (2, 3));
}

#[test]
fn entries_out_of_order_are_refused() {
    let mut entries = chain(4).entries().to_vec();
    entries.swap(1, 2);
    let p = verify(&entries, None).unwrap().problem.unwrap();
    assert_eq!(p.code, ErrorCode::AuditEntryMissing);
    assert_eq!(p.index, 1);

    let mut entries = chain(3).entries().to_vec();
    let dup = entries[1].clone();
    entries.insert(2, dup);
    let p = verify(&entries, None).unwrap().problem.unwrap();
    assert_eq!(p.code, ErrorCode::AuditChainBroken);
    assert_eq!((p.index, p.version), (2, 2));
}

#[test]
fn cutting_the_end_is_found_only_against_the_recorded_head() {
    let log = chain(4);
    let head = log.head().to_hex();
    let cut = &log.entries()[..3];
    assert!(verify(cut, None).unwrap().valid);
    let p = verify(cut, Some(&head)).unwrap().problem.unwrap();
    assert_eq!(p.code, ErrorCode::AuditHeadMismatch);
    assert_eq!((p.index, p.version), (3, 3));
}

#[test]
fn a_chain_rewritten_to_its_end_is_found_against_the_recorded_head() {
    let log = chain(3);
    let head = log.head().to_hex();
    let mut forged = AuditLog::new();
    for (i, e) in log.entries().iter().enumerate() {
        let mut r = record(i as u64 + 1);
        if i == 0 {
            r.event_type = "time_entry.rejected".into();
        }
        assert_eq!(r.correlation_id, e.correlation_id);
        forged.append(r).unwrap();
    }
    assert!(verify(forged.entries(), None).unwrap().valid);
    let p = verify(forged.entries(), Some(&head))
        .unwrap()
        .problem
        .unwrap();
    assert_eq!(p.code, ErrorCode::AuditHeadMismatch);
}

#[test]
fn a_segment_verifies_from_the_entry_before_it() {
    let log = chain(5);
    let before = &log.entries()[1];
    let segment = &log.entries()[2..];
    let head = log.head().to_hex();
    let v = verify_from(segment, before.hash, before.version, Some(&head)).unwrap();
    assert!(v.valid, "{v:?}");
    let v = verify_from(segment, Sha256Digest::GENESIS, before.version, None).unwrap();
    assert_eq!(v.problem.unwrap().code, ErrorCode::AuditChainBroken);
}

/// Changes one field of an entry without resealing it.
fn tamper(e: &mut AuditEntry, field: u8) {
    match field % 8 {
        0 => e.version = e.version.wrapping_add(7),
        1 => e.occurred_at.push('x'),
        2 => e.source = System::new("erp").unwrap(),
        3 => e.correlation_id = Id::new(format!("{}x", e.correlation_id)).unwrap(),
        4 => e.idempotency_key = Id::new(format!("{}x", e.idempotency_key)).unwrap(),
        5 => e.event_type.to_mut().push('x'),
        6 => e.changes.clear(),
        _ => e.prev_hash = Sha256Digest::of(b"another entry"),
    }
}

proptest! {
    #[test]
    fn any_edit_to_any_entry_is_found_at_that_entry(
        len in 1u64..12,
        at in 0usize..12,
        field in 0u8..8,
    ) {
        let mut entries = chain(len).entries().to_vec();
        let at = at % entries.len();
        let before = entries[at].clone();
        tamper(&mut entries[at], field);
        prop_assume!(entries[at] != before);
        let v = verify(&entries, None).unwrap();
        prop_assert!(!v.valid);
        let p = v.problem.unwrap();
        prop_assert_eq!(p.code, ErrorCode::AuditEntryTampered);
        prop_assert_eq!(p.index, at);
    }

    #[test]
    fn removing_any_entry_but_the_last_is_found(len in 2u64..12, at in 0usize..12) {
        let mut entries = chain(len).entries().to_vec();
        let at = at % (entries.len() - 1);
        entries.remove(at);
        let p = verify(&entries, None).unwrap().problem.unwrap();
        prop_assert_eq!(p.code, ErrorCode::AuditEntryMissing);
        prop_assert_eq!(p.index, at);
    }
}

proptest::proptest! {
    #[test]
    fn the_field_by_field_text_is_the_canonical_json_of_the_entry(
        path in "\\PC{0,12}",
        text in "[\\x00-\\x7f\u{e9}\u{1f600}]{0,12}",
        version in 1u64..u64::MAX,
        n in proptest::prelude::any::<i64>(),
    ) {
        let entry = AuditEntry {
            version,
            occurred_at: format!("2026-01-01T{text}"),
            source: System::new("psa").unwrap(),
            correlation_id: Id::new(format!("c{path}").replace(char::is_control, "")).unwrap(),
            idempotency_key: Id::new("k").unwrap(),
            event_type: text.clone().into(),
            changes: vec![AuditChange {
                path: path.clone(),
                before: serde_json::json!({"z": n, "a": [text.clone(), null, true], "m": {"b": 1.5, "a": "x"}}).into(),
                after: serde_json::Value::String(text.clone()).into(),
            }],
            prev_hash: Sha256Digest::GENESIS,
            hash: Sha256Digest::GENESIS,
        };
        proptest::prop_assert_eq!(hashed_text(&entry).unwrap(), hashed_text_by_value(&entry).unwrap());
    }
}
