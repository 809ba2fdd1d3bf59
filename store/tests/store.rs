//! The store against real databases: SQLite always, PostgreSQL when `BILLWISE_TEST_POSTGRES_URL`
//! names one (`make test` starts a server and sets it). Every test runs on each backend, on the
//! sample scenario's event log (68 envelopes from four systems, with a duplicate delivery and
//! refusals) and its ownership policy.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use billwise_core::ErrorCode;
use billwise_core::engine::{Engine, Envelope, OutcomeStatus};
use billwise_core::json::{self, Limits};
use billwise_core::model::OwnershipPolicy;
use billwise_store::{ApplyOptions, ExceptionFilter, ExceptionStatus, Store};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario() -> Vec<Envelope> {
    let text = std::fs::read_to_string(root().join("spec/examples/scenario/events.jsonl"))
        .expect("the scenario's event log");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| json::from_str(l, &Limits::DEFAULT).expect("an envelope"))
        .collect()
}

fn policy() -> OwnershipPolicy {
    let bytes = std::fs::read(root().join("spec/examples/ownership-policy.json")).expect("policy");
    json::from_slice(&bytes, &Limits::DEFAULT).expect("a policy")
}

fn with_policy() -> ApplyOptions {
    ApplyOptions {
        atomic: false,
        ownership_policy: Some(policy()),
    }
}

/// The scenario through one engine in memory, one envelope at a time.
fn in_memory(envelopes: &[Envelope]) -> Engine {
    let mut engine = Engine::with_ownership_policy(policy()).expect("engine");
    engine.apply_batch(envelopes, false).expect("applies");
    engine
}

/// A fresh database URL per test and backend: a new SQLite file, and the PostgreSQL database
/// when one is configured (contracts are then named apart per test and process).
fn backends(test: &str) -> Vec<(String, String)> {
    let dir = std::env::temp_dir().join(format!("billwise-store-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut out = vec![(
        format!("sqlite:///{}", dir.join("store.db").display()),
        format!("{test}-C"),
    )];
    #[allow(clippy::disallowed_methods)]
    match std::env::var("BILLWISE_TEST_POSTGRES_URL") {
        Ok(url) => out.push((url, format!("{test}-{}-C", std::process::id()))),
        // `make test` runs these with a server of its own: there, a missing one is a failure.
        Err(_) => assert!(
            std::env::var("BILLWISE_REQUIRE_POSTGRES").is_err(),
            "BILLWISE_REQUIRE_POSTGRES is set but BILLWISE_TEST_POSTGRES_URL is not"
        ),
    }
    out
}

#[test]
fn a_reopened_store_holds_the_engine_that_applied_its_envelopes() {
    let envelopes = scenario();
    let expected = in_memory(&envelopes).snapshot().expect("snapshot");
    for (url, c) in backends("reopen") {
        {
            let mut store = Store::open(&url).expect("open");
            for batch in envelopes.chunks(7) {
                store.apply(&c, batch, &with_policy()).expect("apply");
            }
        }
        let mut store = Store::open(&url).expect("reopen");
        assert_eq!(store.snapshot(&c).expect("snapshot"), expected, "{url}");
        let v = store.verify(&c).expect("verify");
        assert!(v.valid, "{url}: {:?}", v.problems);
        assert_eq!(v.version, 65);
        assert_eq!(v.audit_entries, 65);
        let r = store.replay(&c).expect("replay");
        assert!(r.matches, "{url}");
        assert_eq!(r.envelopes, 68);
    }
}

#[test]
fn an_envelope_received_again_is_applied_once() {
    let envelopes = scenario();
    for (url, c) in backends("twice") {
        let mut store = Store::open(&url).expect("open");
        let first = store.apply(&c, &envelopes, &with_policy()).expect("apply");
        // Another worker, its own connection, receives the whole log again.
        let mut other = Store::open(&url).expect("open");
        let again = other
            .apply(&c, &envelopes, &ApplyOptions::default())
            .expect("again");
        assert_eq!(again.version, first.version, "{url}");
        assert!(
            again
                .outcomes
                .iter()
                .all(|o| o.status != OutcomeStatus::Applied),
            "{url}: nothing is applied twice"
        );
        // The first store's cached engine is behind the database now: it must see the second
        // worker's log (the refusals it added) rather than its cache.
        let v = store.verify(&c).expect("verify");
        assert!(v.valid, "{url}: {:?}", v.problems);
        assert!(store.replay(&c).expect("replay").matches, "{url}");
    }
}

#[test]
fn a_rebuild_starts_from_the_latest_snapshot_and_replays_the_log_after_it() {
    let envelopes = scenario();
    let expected = in_memory(&envelopes).snapshot().expect("snapshot");
    for (url, c) in backends("snapshots") {
        {
            let mut store = Store::open(&url).expect("open").snapshot_every(10);
            for batch in envelopes.chunks(3) {
                store.apply(&c, batch, &with_policy()).expect("apply");
            }
        }
        let mut store = Store::open(&url).expect("reopen");
        assert_eq!(store.snapshot(&c).expect("snapshot"), expected, "{url}");
        assert!(store.verify(&c).expect("verify").valid, "{url}");
    }
}

#[test]
fn exceptions_are_listed_retried_and_resolved_with_a_note() {
    let envelopes = scenario();
    for (url, c) in backends("exceptions") {
        let mut store = Store::open(&url).expect("open");
        store.apply(&c, &envelopes, &with_policy()).expect("apply");
        let only_mine = ExceptionFilter {
            contract_id: Some(c.clone()),
            ..ExceptionFilter::default()
        };
        let open = store.exceptions(&only_mine).expect("exceptions");
        assert_eq!(open.len(), 1, "{url}");
        let x = open.first().expect("one");
        assert_eq!(x.code, "OWNERSHIP_NOT_OWNER");
        assert_eq!(x.source, "crm");
        assert_eq!(x.status, ExceptionStatus::Open);

        // Retrying sends the same envelope: the CRM still does not own the field.
        let r = store.retry(&c, x.sequence).expect("retry");
        assert_eq!(
            r.outcomes.first().map(|o| o.status),
            Some(OutcomeStatus::Rejected)
        );
        let again = store.exceptions(&only_mine).expect("exceptions");
        assert_eq!(
            again.first().map(|x| (x.status, x.attempts)),
            Some((ExceptionStatus::Retried, 2))
        );

        let resolved = store
            .resolve(
                &c,
                x.sequence,
                "CRM sync disabled for signed contracts",
                "ops",
            )
            .expect("resolve");
        assert_eq!(resolved.status, ExceptionStatus::Resolved);
        assert_eq!(
            resolved.note.as_deref(),
            Some("CRM sync disabled for signed contracts")
        );
        assert!(
            store.exceptions(&only_mine).expect("exceptions").is_empty(),
            "{url}"
        );
        let v = store.verify(&c).expect("verify");
        assert!(v.valid, "{url}: {:?}", v.problems);

        let err = store
            .resolve(&c, 999, "nothing", "ops")
            .expect_err("no such exception");
        assert_eq!(err.code, ErrorCode::StoreNotFound);
        let err = store
            .resolve(&c, x.sequence, "  ", "ops")
            .expect_err("a note is needed");
        assert_eq!(err.code, ErrorCode::DocumentEmptyField);
    }
}

#[test]
fn a_trace_follows_a_correlation_id_across_contracts() {
    let envelopes = scenario();
    for (url, c) in backends("trace") {
        let mut store = Store::open(&url).expect("open");
        store.apply(&c, &envelopes, &with_policy()).expect("apply");
        let other = format!("{c}-2");
        // The CRM sends the same opportunity to another contract's engine.
        store
            .apply(
                &other,
                envelopes.get(..1).unwrap_or_default(),
                &ApplyOptions::default(),
            )
            .expect("apply");
        let t = store.trace("OPP-7781").expect("trace");
        let contracts: std::collections::BTreeSet<&str> =
            t.steps.iter().map(|s| s.contract_id.as_str()).collect();
        assert!(
            contracts.contains(c.as_str()) && contracts.contains(other.as_str()),
            "{url}"
        );
        assert!(t.stuck.is_empty());
        let contract_key = envelopes
            .iter()
            .find(|e| e.idempotency_key.as_str() == "crm-ctr-2026-031-sync")
            .map(|e| e.correlation_id.as_str().to_owned())
            .expect("the CRM's refused write");
        let t = store.trace(&contract_key).expect("trace");
        assert!(
            t.stuck.iter().any(|x| x.code == "OWNERSHIP_NOT_OWNER"),
            "{url}: the refused CRM write is where it is stuck"
        );
    }
}

#[test]
fn an_aborted_atomic_batch_is_logged_and_replays_the_same() {
    let envelopes = scenario();
    for (url, c) in backends("atomic") {
        let mut store = Store::open(&url).expect("open");
        // The batch with the CRM's refused write: none of it applies.
        let atomic = ApplyOptions {
            atomic: true,
            ownership_policy: Some(policy()),
        };
        let first = store
            .apply(&c, envelopes.get(..38).unwrap_or_default(), &atomic)
            .expect("apply");
        assert_eq!(first.version, 0, "{url}");
        assert!(
            first
                .outcomes
                .iter()
                .all(|o| o.status == OutcomeStatus::Rejected)
        );
        // Five that all apply, as one batch: their exceptions (`ENGINE_BATCH_ABORTED`) resolve.
        let second = store
            .apply(&c, envelopes.get(..5).unwrap_or_default(), &atomic)
            .expect("apply");
        assert_eq!(second.version, 5, "{url}");
        let mut engine = Engine::with_ownership_policy(policy()).expect("engine");
        engine
            .apply_batch(envelopes.get(..38).unwrap_or_default(), true)
            .expect("batch");
        engine
            .apply_batch(envelopes.get(..5).unwrap_or_default(), true)
            .expect("batch");
        let open = engine
            .exceptions()
            .iter()
            .filter(|x| x.resolved_by_version.is_none())
            .count();
        let only_mine = ExceptionFilter {
            contract_id: Some(c.clone()),
            ..ExceptionFilter::default()
        };
        let waiting = store.exceptions(&only_mine).expect("exceptions");
        assert_eq!(waiting.len(), open, "{url}");
        assert!(open > 20 && open < 38);
        let r = store.replay(&c).expect("replay");
        assert!(r.matches, "{url}");
        assert!(store.verify(&c).expect("verify").valid, "{url}");
    }
}

#[test]
fn a_contract_keeps_the_ownership_policy_it_was_created_with() {
    let envelopes = scenario();
    for (url, c) in backends("policy") {
        let mut store = Store::open(&url).expect("open");
        store
            .apply(
                &c,
                envelopes.get(..1).unwrap_or_default(),
                &ApplyOptions::default(),
            )
            .expect("apply");
        let err = store
            .apply(&c, envelopes.get(1..2).unwrap_or_default(), &with_policy())
            .expect_err("another policy");
        assert_eq!(err.code, ErrorCode::StorePolicyMismatch, "{url}");
        assert_eq!(err.path, "/ownership_policy");
        // The refused call changed nothing.
        assert_eq!(store.verify(&c).expect("verify").version, 1);
    }
}

#[test]
fn unknown_contracts_and_bad_urls_are_errors_with_codes() {
    let err = Store::open("mysql://db").err().expect("not a store URL");
    assert_eq!(err.code, ErrorCode::StoreInvalidUrl);
    let err = Store::open("sqlite:///").err().expect("no path");
    assert_eq!(err.code, ErrorCode::StoreInvalidUrl);
    let err = Store::open("sqlite:////nonexistent-dir/x/y.db")
        .err()
        .expect("cannot open");
    assert_eq!(err.code, ErrorCode::StoreUnavailable);
    for (url, c) in backends("unknown") {
        let mut store = Store::open(&url).expect("open");
        let err = store.verify(&format!("{c}-none")).expect_err("unknown");
        assert_eq!(err.code, ErrorCode::StoreNotFound, "{url}");
        let err = store
            .apply("", &[], &ApplyOptions::default())
            .expect_err("empty id");
        assert_eq!(err.code, ErrorCode::InputInvalidId);
        assert_eq!(err.path, "/contract_id");
    }
}

#[test]
fn a_database_migrated_by_a_newer_build_is_refused() {
    let (url, _) = backends("newer").into_iter().next().expect("sqlite");
    drop(Store::open(&url).expect("open"));
    let path = url.trim_start_matches("sqlite:///");
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute(
        "INSERT INTO billwise_schema (version, applied_at) VALUES (99, 'later')",
        [],
    )
    .expect("insert");
    drop(conn);
    let err = Store::open(&url).err().expect("too new");
    assert_eq!(err.code, ErrorCode::StoreSchemaTooNew);
}

#[test]
fn verify_finds_an_audit_row_or_action_changed_in_the_database() {
    let envelopes = scenario();
    let (url, c) = backends("tamper").into_iter().next().expect("sqlite");
    let mut store = Store::open(&url).expect("open");
    store.apply(&c, &envelopes, &with_policy()).expect("apply");
    store
        .resolve(&c, 2, "handled in the ERP", "ops")
        .expect("resolve");
    assert!(store.verify(&c).expect("verify").valid);

    let path = url.trim_start_matches("sqlite:///");
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute(
        "UPDATE billwise_audit SET entry = replace(entry, '\"occurred_at\":\"2026-', '\"occurred_at\":\"2025-') WHERE contract_id = ?1 AND version = 10",
        [&c],
    )
    .expect("tamper");
    conn.execute(
        "UPDATE billwise_actions SET note = 'nothing to see' WHERE contract_id = ?1",
        [&c],
    )
    .expect("tamper");
    drop(conn);
    let v = store.verify(&c).expect("verify");
    assert!(!v.valid);
    assert!(
        v.problems.iter().any(|p| p.contains("audit chain")),
        "{:?}",
        v.problems
    );
    assert!(
        v.problems.iter().any(|p| p.contains("action log")),
        "{:?}",
        v.problems
    );
}
