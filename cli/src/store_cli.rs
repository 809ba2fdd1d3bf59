//! `billwise store ...`: the durable store from the command line, for an operations team.
//!
//! Exit codes as everywhere: 0 done (and everything checked is intact), 1 a check found a
//! problem (a verification that fails, a replay that differs) or an apply rejected an envelope,
//! 2 the input or the database could not be read.

use std::fmt::Write as _;
use std::io::Write;

use billwise_core::Error;
use billwise_core::engine::{Envelope, OutcomeStatus};
use billwise_core::json::{self, Limits};
use billwise_core::model::OwnershipPolicy;
use billwise_store::{ApplyOptions, ExceptionFilter, ExceptionStatus, Store, StoredException};
use clap::Subcommand;

use crate::{INVALID, OK, read_input};

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Apply envelopes (a JSON array, or JSON Lines: one envelope a line) to a contract's engine.
    ///
    /// Each batch of `--batch-size` envelopes is one transaction: applied whole, or (when the
    /// process dies) not at all; sending the file again applies only what is missing. Exits 0
    /// when every envelope was applied or a duplicate, 1 when one was rejected (it is in the
    /// exception queue), 2 on unreadable input.
    Apply {
        /// The store: sqlite:///PATH, sqlite:////ABSOLUTE/PATH or postgresql://USER@HOST:PORT/DB.
        #[arg(long)]
        db: String,
        /// The contract whose engine receives the envelopes.
        #[arg(long)]
        contract: String,
        /// Envelopes per transaction.
        #[arg(long, default_value_t = 1000)]
        batch_size: usize,
        /// Apply each batch all or nothing.
        #[arg(long)]
        atomic: bool,
        /// The ownership policy of a new contract's engine.
        #[arg(long)]
        policy: Option<String>,
        /// Print one JSON object per batch instead of a summary.
        #[arg(long)]
        json: bool,
        /// The envelopes (`-` for standard input).
        file: String,
    },
    /// List the exceptions not resolved (or those of `--status`), oldest first, with a count by
    /// reason and source.
    Exceptions {
        #[arg(long)]
        db: String,
        #[arg(long)]
        contract: Option<String>,
        /// open, retried or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Only this reason code.
        #[arg(long)]
        code: Option<String>,
        /// Only this source system.
        #[arg(long)]
        source: Option<String>,
        /// Only those first seen before this time (`2026-01-31` or `2026-01-31T12:00:00Z`).
        #[arg(long)]
        seen_before: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Apply an exception's envelope again (`--contract` and `--sequence`), or every exception
    /// not resolved (`--all`). Exits 1 when one is refused again.
    Retry {
        #[arg(long)]
        db: String,
        #[arg(long)]
        contract: Option<String>,
        #[arg(long)]
        sequence: Option<u64>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Mark an exception resolved by hand, with a note; the action is recorded in the
    /// contract's hash-chained action log.
    Resolve {
        #[arg(long)]
        db: String,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        sequence: u64,
        /// Why nothing more is needed.
        #[arg(long)]
        note: String,
        /// Who resolved it (default: $USER).
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every envelope of a correlation id across contracts and systems, and where it is stuck.
    Trace {
        #[arg(long)]
        db: String,
        correlation_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild contracts from their logs and compare with the stored state. Exits 1 on a difference.
    Replay {
        #[arg(long)]
        db: String,
        /// One contract (default: every one).
        #[arg(long)]
        contract: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check contracts' audit chains, applied keys, logs, exceptions and action logs in the
    /// database. Exits 1 when one is not intact.
    Verify {
        #[arg(long)]
        db: String,
        #[arg(long)]
        contract: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a contract's engine snapshot (canonical JSON, as `engine_apply` takes it).
    Snapshot {
        #[arg(long)]
        db: String,
        #[arg(long)]
        contract: String,
    },
}

fn show(e: &Error) -> String {
    let path = if e.path.is_empty() { "/" } else { &e.path };
    format!("{path}: {}: {}", e.code, e.message)
}

fn open(db: &str) -> Result<Store, String> {
    Store::open(db).map_err(|e| show(&e))
}

/// Reads envelopes from a JSON array or JSON Lines.
fn read_envelopes(file: &str) -> Result<Vec<Envelope>, String> {
    let bytes = read_input(file)?;
    let limits = Limits {
        max_bytes: usize::MAX,
        ..Limits::DEFAULT
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("`{file}` is not UTF-8"))?;
    if text.trim_start().starts_with('[') {
        let values: Vec<Box<serde_json::value::RawValue>> =
            serde_json::from_str(text).map_err(|e| format!("`{file}` is not a JSON array: {e}"))?;
        return values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json::from_str(v.get(), &limits).map_err(|e| format!("{file}[{i}]: {}", show(&e)))
            })
            .collect();
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            json::from_str(line, &limits).map_err(|e| format!("{file}:{}: {}", n + 1, show(&e)))?,
        );
    }
    Ok(out)
}

fn status_arg(s: Option<&str>) -> Result<Option<ExceptionStatus>, String> {
    s.map(ExceptionStatus::parse)
        .transpose()
        .map_err(|e| show(&e))
}

fn to_json(v: &impl serde::Serialize) -> Result<String, String> {
    json::to_canonical_string(v).map_err(|e| show(&e))
}

pub fn run(cmd: StoreCommand, out: &mut impl Write) -> Result<u8, String> {
    let w = |out: &mut dyn Write, s: &str| out.write_all(s.as_bytes()).map_err(|e| e.to_string());
    match cmd {
        StoreCommand::Apply {
            db,
            contract,
            batch_size,
            atomic,
            policy,
            json,
            file,
        } => {
            let policy = policy
                .map(|p| -> Result<OwnershipPolicy, String> {
                    let bytes = read_input(&p)?;
                    json::from_slice(&bytes, &Limits::DEFAULT)
                        .map_err(|e| format!("{p}: {}", show(&e)))
                })
                .transpose()?;
            let envelopes = read_envelopes(&file)?;
            let mut store = open(&db)?;
            let options = ApplyOptions {
                atomic,
                ownership_policy: policy,
            };
            let (mut applied, mut duplicate, mut rejected, mut version) = (0, 0, 0, 0);
            for (i, batch) in envelopes.chunks(batch_size.max(1)).enumerate() {
                let r = store
                    .apply(&contract, batch, &options)
                    .map_err(|e| format!("batch {} of `{file}`: {}", i + 1, show(&e)))?;
                version = r.version;
                for o in &r.outcomes {
                    match o.status {
                        OutcomeStatus::Applied => applied += 1,
                        OutcomeStatus::Duplicate => duplicate += 1,
                        OutcomeStatus::Rejected => rejected += 1,
                    }
                }
                if json {
                    w(out, &format!("{}\n", to_json(&r)?))?;
                }
            }
            if !json {
                w(
                    out,
                    &format!(
                        "{contract}: {} envelopes: {applied} applied, {duplicate} duplicate, {rejected} rejected; version {version}\n",
                        envelopes.len()
                    ),
                )?;
            }
            Ok(if rejected > 0 { INVALID } else { OK })
        }
        StoreCommand::Exceptions {
            db,
            contract,
            status,
            code,
            source,
            seen_before,
            json,
        } => {
            let filter = ExceptionFilter {
                contract_id: contract,
                status: status_arg(status.as_deref())?,
                code,
                source,
                seen_before,
            };
            let xs = open(&db)?.exceptions(&filter).map_err(|e| show(&e))?;
            if json {
                w(out, &format!("{}\n", to_json(&xs)?))?;
            } else {
                w(out, &exceptions_report(&xs))?;
            }
            Ok(OK)
        }
        StoreCommand::Retry {
            db,
            contract,
            sequence,
            all,
            json,
        } => {
            let mut store = open(&db)?;
            let results = match (all, contract, sequence) {
                (true, contract, None) => store
                    .retry_all(&ExceptionFilter {
                        contract_id: contract,
                        ..ExceptionFilter::default()
                    })
                    .map_err(|e| show(&e))?,
                (false, Some(c), Some(n)) => vec![store.retry(&c, n).map_err(|e| show(&e))?],
                _ => {
                    return Err(
                        "say which exception (--contract and --sequence) or --all".to_owned()
                    );
                }
            };
            let mut refused = 0;
            for r in &results {
                for o in &r.outcomes {
                    if o.status == OutcomeStatus::Rejected {
                        refused += 1;
                    }
                    if !json {
                        let why = o
                            .rejection
                            .as_ref()
                            .map(|r| format!(": {} {}", r.code, r.message))
                            .unwrap_or_default();
                        w(
                            out,
                            &format!(
                                "{} {} {}{why}\n",
                                r.contract_id,
                                o.idempotency_key,
                                o.status.as_str()
                            ),
                        )?;
                    }
                }
            }
            if json {
                w(out, &format!("{}\n", to_json(&results)?))?;
            } else {
                w(
                    out,
                    &format!(
                        "{} retried: {} applied, {refused} refused again\n",
                        results.len(),
                        results.len() - refused
                    ),
                )?;
            }
            Ok(if refused > 0 { INVALID } else { OK })
        }
        StoreCommand::Resolve {
            db,
            contract,
            sequence,
            note,
            actor,
            json,
        } => {
            // The CLI is where the environment is read (the workspace forbids it in the core).
            #[allow(clippy::disallowed_methods)]
            let user = std::env::var("USER").ok();
            let actor = actor.or(user).unwrap_or_default();
            let x = open(&db)?
                .resolve(&contract, sequence, &note, &actor)
                .map_err(|e| show(&e))?;
            if json {
                w(out, &format!("{}\n", to_json(&x)?))?;
            } else {
                w(
                    out,
                    &format!(
                        "{contract} exception {sequence} ({}) resolved by {actor}: {note}\n",
                        x.idempotency_key
                    ),
                )?;
            }
            Ok(OK)
        }
        StoreCommand::Trace {
            db,
            correlation_id,
            json,
        } => {
            let t = open(&db)?.trace(&correlation_id).map_err(|e| show(&e))?;
            if json {
                w(out, &format!("{}\n", to_json(&t)?))?;
                return Ok(OK);
            }
            let mut s = format!("{correlation_id}: {} envelopes received\n", t.steps.len());
            for st in &t.steps {
                let _ = writeln!(
                    s,
                    "  {}  {:<14} #{:<4} {:<8} {:<28} {:<9} v{}{}",
                    st.received_at,
                    st.contract_id,
                    st.seq,
                    st.source,
                    st.event_type,
                    st.status,
                    st.version,
                    st.reason
                        .as_deref()
                        .map(|r| format!("  {r}"))
                        .unwrap_or_default()
                );
            }
            if t.stuck.is_empty() {
                s.push_str("Not stuck: no exception of it is waiting.\n");
            } else {
                s.push_str("Stuck on:\n");
                s.push_str(&exceptions_report(&t.stuck));
            }
            w(out, &s)?;
            Ok(OK)
        }
        StoreCommand::Replay { db, contract, json } => {
            let mut store = open(&db)?;
            let ids = match contract {
                Some(c) => vec![c],
                None => store.contracts().map_err(|e| show(&e))?,
            };
            let mut worst = OK;
            for c in ids {
                let r = store.replay(&c).map_err(|e| show(&e))?;
                if !r.matches {
                    worst = INVALID;
                }
                if json {
                    w(out, &format!("{}\n", to_json(&r)?))?;
                } else {
                    w(
                        out,
                        &format!(
                            "{c}: {} envelopes replayed to version {}: {}\n",
                            r.envelopes,
                            r.replayed_version,
                            if r.matches {
                                "identical to the stored state".to_owned()
                            } else {
                                format!(
                                    "DIFFERS from the stored state (version {}, sha256 {} vs {})",
                                    r.stored_version, r.replayed_sha256, r.stored_sha256
                                )
                            }
                        ),
                    )?;
                }
            }
            Ok(worst)
        }
        StoreCommand::Verify { db, contract, json } => {
            let mut store = open(&db)?;
            let reports = match contract {
                Some(c) => vec![store.verify(&c).map_err(|e| show(&e))?],
                None => store.verify_all().map_err(|e| show(&e))?,
            };
            let mut worst = OK;
            for r in &reports {
                if !r.valid {
                    worst = INVALID;
                }
                if json {
                    w(out, &format!("{}\n", to_json(r)?))?;
                } else if r.valid {
                    w(
                        out,
                        &format!(
                            "{}: intact (version {}, {} audit entries)\n",
                            r.contract_id, r.version, r.audit_entries
                        ),
                    )?;
                } else {
                    let mut s = format!("{}: NOT INTACT\n", r.contract_id);
                    for p in &r.problems {
                        let _ = writeln!(s, "  {p}");
                    }
                    w(out, &s)?;
                }
            }
            Ok(worst)
        }
        StoreCommand::Snapshot { db, contract } => {
            let s = open(&db)?.snapshot(&contract).map_err(|e| show(&e))?;
            w(out, &format!("{s}\n"))?;
            Ok(OK)
        }
    }
}

/// Counts by reason and source, then one line per exception, oldest first.
fn exceptions_report(xs: &[StoredException]) -> String {
    let mut s = String::new();
    if xs.is_empty() {
        s.push_str("No exceptions.\n");
        return s;
    }
    let mut counts: std::collections::BTreeMap<(&str, &str), (usize, &str)> =
        std::collections::BTreeMap::new();
    for x in xs {
        let c = counts
            .entry((x.code.as_str(), x.source.as_str()))
            .or_insert((0, x.first_seen_at.as_str()));
        c.0 += 1;
        if x.first_seen_at.as_str() < c.1 {
            c.1 = &x.first_seen_at;
        }
    }
    s.push_str("By reason and source (count, oldest first seen):\n");
    for ((code, source), (n, oldest)) in &counts {
        let _ = writeln!(s, "  {code:<32} {source:<10} {n:>5}  {oldest}");
    }
    s.push_str("Exceptions, oldest first:\n");
    for x in xs {
        let _ = writeln!(
            s,
            "  {} #{} {} {} ({}, {} attempt{}) {}: {}{}",
            x.contract_id,
            x.sequence,
            match x.status {
                ExceptionStatus::Open => "open",
                ExceptionStatus::Retried => "retried",
                ExceptionStatus::Resolved => "resolved",
            },
            x.idempotency_key,
            x.source,
            x.attempts,
            if x.attempts == 1 { "" } else { "s" },
            x.code,
            x.message,
            x.note
                .as_deref()
                .map(|n| format!(" [note: {n}]"))
                .unwrap_or_default()
        );
    }
    s
}
