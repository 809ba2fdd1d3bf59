//! The store's two promises, tested with real processes on real databases (SQLite always,
//! PostgreSQL when `BILLWISE_TEST_POSTGRES_URL` names one; `make test` starts a server for it):
//!
//! - **Crashes**: a `billwise store apply` child is killed with SIGKILL at random points, again and
//!   again, and restarted with the same envelopes (an at-least-once sender). After every kill the
//!   store verifies; at the end every envelope is applied exactly once and the engine is
//!   byte-identical to one that applied the envelopes once, in order, in memory.
//! - **Concurrency**: four processes apply overlapping, duplicated streams to the same contracts
//!   at once. Every key is applied once, and each contract's state equals a serial replay.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use billwise_core::engine::{Engine, Envelope};
use billwise_core::json::{self, Limits};

const BIN: &str = env!("CARGO_BIN_EXE_billwise");

/// A small deterministic generator (xorshift64*), so a failing run can be repeated from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[allow(clippy::disallowed_methods)]
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn seed() -> u64 {
    env("BILLWISE_STORE_TEST_SEED")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_B111)
}

/// One SQLite file per test, and the test server when there is one (contracts named apart).
fn backends(test: &str) -> Vec<(String, String)> {
    let dir = std::env::temp_dir().join(format!("billwise-procs-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut out = vec![(
        format!("sqlite:///{}", dir.join("store.db").display()),
        test.to_owned(),
    )];
    match env("BILLWISE_TEST_POSTGRES_URL") {
        Some(url) => out.push((url, format!("{test}-{}", std::process::id()))),
        None => assert!(
            env("BILLWISE_REQUIRE_POSTGRES").is_none(),
            "BILLWISE_REQUIRE_POSTGRES is set but BILLWISE_TEST_POSTGRES_URL is not"
        ),
    }
    out
}

/// `n` envelopes for one contract: time entries recorded, and every third one submitted for
/// approval and approved, so the order of the stream matters to the audit chain.
fn stream(contract: &str, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0usize;
    while out.len() < n {
        let id = format!("{contract}-TE-{i}");
        let day = 1 + i % 28;
        out.push(format!(
            r#"{{"idempotency_key":"psa-{id}-rec","correlation_id":"week-{w}","source":"psa","occurred_at":"2026-02-{day:02}T17:00:00Z","event":{{"type":"time_entry.recorded","time_entry":{{"id":"{id}","project_id":"PRJ-1","task_id":"T-1","resource_id":"R-{r}","role":"Developer","work_date":"2026-02-{day:02}","hours":"{h}.25","status":"submitted"}}}}}}"#,
            w = i / 50,
            r = i % 7,
            h = 1 + i % 8
        ));
        if i.is_multiple_of(3) && out.len() < n {
            out.push(format!(
                r#"{{"idempotency_key":"psa-{id}-ok","correlation_id":"week-{w}","source":"psa","occurred_at":"2026-02-{day:02}T18:00:00Z","event":{{"type":"time_entry.approved","id":"{id}"}}}}"#,
                w = i / 50
            ));
        }
        i += 1;
    }
    out
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").expect("write envelopes");
}

fn in_memory(lines: &[String]) -> Engine {
    let envelopes: Vec<Envelope> = lines
        .iter()
        .map(|l| json::from_str(l, &Limits::DEFAULT).expect("envelope"))
        .collect();
    let mut engine = Engine::new();
    engine.apply_batch(&envelopes, false).expect("applies");
    engine
}

fn store(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("store")
        .args(args)
        .output()
        .expect("run billwise");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_intact(url: &str, contract: &str, when: &str) {
    let (code, out, err) = store(&["verify", "--db", url, "--contract", contract]);
    assert_eq!(code, 0, "{when}: the store does not verify:\n{out}{err}");
}

fn dir_of(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("billwise-procs-{}-{test}", std::process::id()))
}

#[test]
fn a_worker_killed_at_random_points_applies_every_envelope_exactly_once() {
    let mut rng = Rng(seed());
    for (url, contract) in backends("crash") {
        let lines = stream(&contract, 3000);
        let file = dir_of("crash").join(format!("{}.jsonl", contract));
        write_lines(&file, &lines);
        let expected = in_memory(&lines).snapshot().expect("snapshot");

        let mut kills = 0;
        let mut finished = false;
        for round in 0..60 {
            let mut child = Command::new(BIN)
                .args(["store", "apply", "--db", &url, "--contract", &contract])
                .args(["--batch-size", "40"])
                .arg(&file)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            // Kill early in most rounds (while batches are being written), later in some.
            let wait = 5 + rng.below(if round % 4 == 3 { 1500 } else { 400 });
            std::thread::sleep(Duration::from_millis(wait));
            if child.try_wait().expect("poll").is_none() {
                child.kill().expect("SIGKILL");
                child.wait().expect("reap");
                kills += 1;
                assert_intact(
                    &url,
                    &contract,
                    &format!("{url}: after kill {kills} ({wait} ms)"),
                );
            } else {
                let out = child.wait_with_output().expect("output");
                assert!(
                    out.status.success(),
                    "{url}: the worker failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                finished = true;
                if kills >= 8 {
                    break;
                }
            }
        }
        eprintln!("{url}: {kills} kills mid-run, then the worker finished");
        assert!(finished, "{url}: the worker never finished in 60 rounds");
        assert!(
            kills >= 8,
            "{url}: only {kills} kills landed mid-run (seed {})",
            seed()
        );

        let (code, snapshot, err) = store(&["snapshot", "--db", &url, "--contract", &contract]);
        assert_eq!(code, 0, "{err}");
        assert!(
            snapshot.trim_end() == expected,
            "{url}: after {kills} kills the engine differs from applying each envelope once (seed {})",
            seed()
        );
        let (code, out, err) = store(&["replay", "--db", &url, "--contract", &contract]);
        assert_eq!(code, 0, "{url}: replay differs:\n{out}{err}");
        assert_intact(&url, &contract, "at the end");
    }
}

#[test]
fn four_processes_applying_overlapping_streams_apply_each_envelope_once() {
    for (url, prefix) in backends("concurrent") {
        let contracts: Vec<String> = (1..=3).map(|k| format!("{prefix}-C{k}")).collect();
        let streams: Vec<Vec<String>> = contracts.iter().map(|c| stream(c, 400)).collect();
        let dir = dir_of("concurrent");
        // Worker w sends every contract's stream starting a quarter further on, wrapping round,
        // then its first tenth again: every envelope reaches the store four times or more, in
        // four different orders.
        let mut files = Vec::new();
        for w in 0..4usize {
            let mut per_contract = Vec::new();
            for (k, s) in streams.iter().enumerate() {
                let start = w * s.len() / 4;
                let mut mine: Vec<String> = s[start..].iter().chain(&s[..start]).cloned().collect();
                mine.extend(s[..s.len() / 10].iter().cloned());
                let f = dir.join(format!("w{w}-c{k}-{}.jsonl", url.len()));
                write_lines(&f, &mine);
                per_contract.push(f);
            }
            files.push(per_contract);
        }
        let workers: Vec<_> = files
            .into_iter()
            .enumerate()
            .map(|(w, per_contract)| {
                let url = url.clone();
                let contracts = contracts.clone();
                std::thread::spawn(move || {
                    for j in 0..contracts.len() {
                        // Each worker visits the contracts in its own order.
                        let k = (j + w) % contracts.len();
                        let out = Command::new(BIN)
                            .args(["store", "apply", "--db", &url, "--contract", &contracts[k]])
                            .args(["--batch-size", "25"])
                            .arg(&per_contract[k])
                            .output()
                            .expect("run");
                        assert!(
                            out.status.success(),
                            "worker {w}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker");
        }
        for (c, s) in contracts.iter().zip(&streams) {
            assert_intact(&url, c, "after the workers");
            let (code, out, err) = store(&["replay", "--db", &url, "--contract", c]);
            assert_eq!(code, 0, "{url}: {out}{err}");
            let (_, snapshot, _) = store(&["snapshot", "--db", &url, "--contract", c]);
            let stored: serde_json::Value = serde_json::from_str(&snapshot).expect("snapshot");
            let serial: serde_json::Value =
                serde_json::from_str(&in_memory(s).snapshot().expect("snapshot")).expect("json");
            // Every key once: as many versions and applied keys as distinct envelopes.
            assert_eq!(stored["version"], serial["version"], "{url} {c}");
            assert_eq!(
                stored["processed"].as_object().map(|m| m.len()),
                serial["processed"].as_object().map(|m| m.len()),
                "{url} {c}"
            );
            // The documents and their states do not depend on the order the workers won.
            assert_eq!(stored["state"], serial["state"], "{url} {c}");
        }
    }
}
