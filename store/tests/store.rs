//! The store against real databases: SQLite always, PostgreSQL when `BILLWISE_TEST_POSTGRES_URL`
//! names one (`make test` starts a server and sets it). Every test runs on each backend, on the
//! sample scenario's event log (68 envelopes from four systems, with a duplicate delivery and
//! refusals) and its ownership policy.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use billwise_core::ErrorCode;
use billwise_core::engine::audit::Sha256Digest;
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

/// Opens the SQLite file behind a `sqlite:///` URL directly, as someone editing it by hand would.
fn raw(url: &str) -> rusqlite::Connection {
    rusqlite::Connection::open(url.trim_start_matches("sqlite:///")).expect("open")
}

#[test]
fn replay_and_verify_read_the_database_not_the_stores_memory() {
    let envelopes = scenario();
    let (url, c) = backends("memory").into_iter().next().expect("sqlite");
    let mut store = Store::open(&url).expect("open").snapshot_every(10);
    store.apply(&c, &envelopes, &with_policy()).expect("apply");
    raw(&url)
        .execute(
            "UPDATE billwise_snapshots SET snapshot = 'not a snapshot'",
            [],
        )
        .expect("damage");
    // The same store holds the engine in memory, and must not answer from it.
    let err = store
        .replay(&c)
        .expect_err("the stored snapshot is unreadable");
    assert_eq!(err.code, ErrorCode::StoreCorrupt);
    let v = store.verify(&c).expect("verify");
    assert!(!v.valid);
    assert!(
        v.problems.iter().any(|p| p.contains("cannot be restored")),
        "{:?}",
        v.problems
    );
}

#[test]
fn verify_finds_a_snapshot_whose_state_was_changed() {
    let envelopes = scenario();
    let (url, c) = backends("state").into_iter().next().expect("sqlite");
    let mut store = Store::open(&url).expect("open").snapshot_every(10);
    store.apply(&c, &envelopes, &with_policy()).expect("apply");
    // Hours inside the snapshot's state only: the audit chain does not cover them.
    let conn = raw(&url);
    let (seq, text): (i64, String) = conn
        .query_row(
            "SELECT log_seq, snapshot FROM billwise_snapshots ORDER BY log_seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("snapshot");
    let mut snapshot: serde_json::Value = serde_json::from_str(&text).expect("json");
    let entries = snapshot["state"]["time_entries"]
        .as_object_mut()
        .expect("entries");
    let first = entries.values_mut().next().expect("an entry");
    first["hours"] = serde_json::Value::String("0.5".into());
    let changed = json::to_canonical_string(&snapshot).expect("canonical");
    conn.execute(
        "UPDATE billwise_snapshots SET snapshot = ?1 WHERE log_seq = ?2",
        rusqlite::params![changed, seq],
    )
    .expect("tamper");
    drop(conn);
    let v = Store::open(&url).expect("open").verify(&c).expect("verify");
    assert!(!v.valid);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("is not the one its whole log rebuilds")),
        "{:?}",
        v.problems
    );
}

#[test]
fn verify_finds_a_hand_resolution_without_its_action() {
    let envelopes = scenario();
    let (url, c) = backends("forged").into_iter().next().expect("sqlite");
    let mut store = Store::open(&url).expect("open");
    store.apply(&c, &envelopes, &with_policy()).expect("apply");
    store
        .resolve(&c, 2, "handled in the ERP", "ops")
        .expect("resolve");
    let conn = raw(&url);
    conn.execute("DELETE FROM billwise_actions", [])
        .expect("delete");
    drop(conn);
    let v = store.verify(&c).expect("verify");
    assert!(!v.valid);
    assert!(
        v.problems.iter().any(|p| p.contains("records 1 actions")),
        "{:?}",
        v.problems
    );
    assert!(
        v.problems.iter().any(|p| p.contains("no resolve action")),
        "{:?}",
        v.problems
    );

    // An exception marked resolved in the database with no action at all.
    let (url, c) = backends("forged2").into_iter().next().expect("sqlite");
    let mut store = Store::open(&url).expect("open");
    store.apply(&c, &envelopes, &with_policy()).expect("apply");
    raw(&url)
        .execute(
            "UPDATE billwise_exceptions SET status = 'resolved', note = 'fine'",
            [],
        )
        .expect("forge");
    let v = store.verify(&c).expect("verify");
    assert!(
        v.problems.iter().any(|p| p.contains("no resolve action")),
        "{:?}",
        v.problems
    );
}

#[test]
fn an_envelope_over_the_request_limits_is_refused_before_it_is_stored() {
    let mut big: Envelope = serde_json::from_str(
        r#"{"idempotency_key":"psa-EX-1","correlation_id":"x","source":"psa","occurred_at":"2026-01-13T19:00:00Z","event":{"type":"expense.recorded","expense":{"id":"EX-1","project_id":"PRJ-1","date":"2026-01-13","amount":{"amount":"612.40","currency":"USD"},"category":"travel","status":"submitted"}}}"#,
    )
    .expect("envelope");
    if let billwise_core::engine::Event::ExpenseRecorded { expense } = &mut big.event {
        expense.category = "t".repeat(70_000);
    } else {
        panic!("an expense");
    }
    for (url, c) in backends("limits") {
        let mut store = Store::open(&url).expect("open");
        let err = store
            .apply(&c, &[big.clone()], &ApplyOptions::default())
            .expect_err("too long");
        assert_eq!(err.code, ErrorCode::InputLimitExceeded, "{url}");
        assert!(err.path.starts_with("/envelopes/0"), "{}", err.path);
        assert!(
            store
                .contracts()
                .expect("contracts")
                .iter()
                .all(|x| x != &c)
        );
    }
}

#[test]
fn a_contract_created_by_two_workers_at_once_keeps_one_policy() {
    let Some(url) = backends("race").into_iter().nth(1).map(|b| b.0) else {
        return; // PostgreSQL only: SQLite has one writer at a time, so the race cannot happen.
    };
    let c = format!("race-{}", std::process::id());
    drop(Store::open(&url).expect("migrate"));
    let mut other = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut tx = other.transaction().expect("begin");
    let g = Sha256Digest::GENESIS.to_hex();
    tx.execute(
        "INSERT INTO billwise_contracts (contract_id, version, log_seq, batches, snapshot_seq, audit_head, ownership_policy, actions, actions_head, created_at, updated_at) VALUES ($1, 0, 0, 0, 0, $2, NULL, 0, $2, 'now', 'now')",
        &[&c, &g],
    )
    .expect("insert without a policy");
    let worker = {
        let (url, c) = (url.clone(), c.clone());
        std::thread::spawn(move || {
            let mut store = Store::open(&url).expect("open");
            store.apply(&c, &scenario(), &with_policy())
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    tx.commit().expect("commit");
    let err = worker
        .join()
        .expect("worker")
        .expect_err("the row has no policy");
    assert_eq!(err.code, ErrorCode::StorePolicyMismatch);
}

#[test]
fn a_worker_queued_on_a_contract_reads_its_predecessors_commit_whatever_the_default_isolation() {
    let Some(url) = backends("isolation").into_iter().nth(1).map(|b| b.0) else {
        return; // PostgreSQL's isolation levels.
    };
    let c = format!("isolation-{}", std::process::id());
    let sep = if url.contains('?') { '&' } else { '?' };
    let strict =
        format!("{url}{sep}options=-c%20default_transaction_isolation%3Drepeatable%5C%20read");
    let envelopes = scenario();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (strict, c, envelopes) = (strict.clone(), c.clone(), envelopes.clone());
            std::thread::spawn(move || {
                let mut store = Store::open(&strict).expect("open");
                for batch in envelopes.chunks(5) {
                    store.apply(&c, batch, &with_policy())?;
                }
                Ok::<_, billwise_core::Error>(())
            })
        })
        .collect();
    for w in workers {
        w.join()
            .expect("worker")
            .expect("no worker fails on a lock it waited for");
    }
    assert!(
        Store::open(&url)
            .expect("open")
            .verify(&c)
            .expect("verify")
            .valid
    );
}

#[test]
fn a_store_stops_writing_once_a_newer_build_migrates_its_database() {
    let envelopes = scenario();
    let (url, c) = backends("migrated").into_iter().next().expect("sqlite");
    let mut store = Store::open(&url).expect("open");
    store
        .apply(
            &c,
            envelopes.get(..3).unwrap_or_default(),
            &ApplyOptions::default(),
        )
        .expect("apply");
    raw(&url)
        .execute(
            "INSERT INTO billwise_schema (version, applied_at) VALUES (99, 'later')",
            [],
        )
        .expect("a newer build's migration");
    let err = store
        .apply(
            &c,
            envelopes.get(3..6).unwrap_or_default(),
            &ApplyOptions::default(),
        )
        .expect_err("newer schema");
    assert_eq!(err.code, ErrorCode::StoreSchemaTooNew);
}

#[test]
fn a_store_connects_again_when_postgresql_drops_its_connection() {
    let Some(url) = backends("reconnect").into_iter().nth(1).map(|b| b.0) else {
        return; // SQLite has no connection to lose.
    };
    let c = format!("reconnect-{}", std::process::id());
    let envelopes = scenario();
    let sep = if url.contains('?') { '&' } else { '?' };
    let named = format!("{url}{sep}application_name={c}");
    let mut store = Store::open(&named).expect("open");
    store
        .apply(&c, envelopes.get(..10).unwrap_or_default(), &with_policy())
        .expect("apply");
    // A server restart, as the store sees it: its session (and only its: other tests share the
    // server) is terminated.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let ended: i64 = admin
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t",
            &[&c],
        )
        .expect("terminate")
        .get(0);
    assert!(ended >= 1);
    let r = store
        .apply(
            &c,
            envelopes.get(10..).unwrap_or_default(),
            &ApplyOptions::default(),
        )
        .expect("applied after connecting again");
    assert_eq!(r.version, 65);
    assert!(store.verify(&c).expect("verify").valid);
}
