//! `billwise replay`: an event log through the engine, with a summary a person can read.

use std::fmt::Write;

use billwise_core::Error;
use billwise_core::billing::Period;
use billwise_core::engine::{Engine, Envelope, OutcomeStatus};
use billwise_core::json::{self, Limits};
use billwise_core::model::{Date, OwnershipPolicy};

/// What to replay and what to print.
pub struct Options<'a> {
    pub events: &'a [u8],
    pub policy: Option<&'a [u8]>,
    pub period: Option<&'a str>,
    pub as_of: Option<&'a str>,
}

/// The printed report, the snapshot, and whether any line could not be applied.
pub struct Replayed {
    pub report: String,
    pub snapshot: String,
    pub errors: usize,
}

fn short(s: &str, n: usize) -> String {
    let t: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        format!("{t}…")
    } else {
        t
    }
}

fn parse_period(s: &str) -> Result<Period, Error> {
    let (a, b) = s.split_once("..").ok_or_else(|| {
        Error::new(
            billwise_core::ErrorCode::InputInvalidValue,
            format!("`{s}` is not a period written `START..END`"),
        )
    })?;
    Ok(Period {
        start: Date::parse(a)?,
        end: Date::parse(b)?,
    })
}

/// Replays every envelope of a JSON Lines log (blank lines are skipped).
pub fn replay(o: &Options<'_>) -> Result<Replayed, Error> {
    let limits = Limits::DEFAULT;
    let mut engine = match o.policy {
        Some(p) => Engine::with_ownership_policy(json::from_slice::<OwnershipPolicy>(p, &limits)?)?,
        None => Engine::new(),
    };
    let text = std::str::from_utf8(o.events).map_err(|_| {
        Error::new(
            billwise_core::ErrorCode::InputMalformedJson,
            "the event log is not UTF-8",
        )
    })?;
    let mut r = String::new();
    let mut errors = 0usize;
    let mut last_day: Option<Date> = None;
    let (mut applied, mut duplicates, mut rejected) = (0, 0, 0);
    let _ = writeln!(r, "Outcomes, one line per envelope:");
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let env: Envelope = match json::from_str(line, &limits) {
            Ok(e) => e,
            Err(e) => {
                errors += 1;
                let _ = writeln!(
                    r,
                    "{line_no:>4}  ERROR {}: {} (at `{}`)",
                    e.code, e.message, e.path
                );
                continue;
            }
        };
        if let Ok(d) = billwise_core::engine::occurred_on(&env.occurred_at) {
            last_day = Some(last_day.map_or(d, |l| l.max(d)));
        }
        let head = format!(
            "{line_no:>4}  {:<10} {:<8} {:<26}",
            env.occurred_at.get(..10).unwrap_or(&env.occurred_at),
            env.source,
            env.event.type_name()
        );
        match engine.apply(&env) {
            Ok(out) => match out.status {
                OutcomeStatus::Applied => {
                    applied += 1;
                    let _ = writeln!(
                        r,
                        "{head} applied    v{} ({} change{})",
                        out.version,
                        out.changes.len(),
                        if out.changes.len() == 1 { "" } else { "s" }
                    );
                }
                OutcomeStatus::Duplicate => {
                    duplicates += 1;
                    let _ = writeln!(
                        r,
                        "{head} duplicate  of v{} (key {}): nothing changed",
                        out.version, out.idempotency_key
                    );
                }
                OutcomeStatus::Rejected => {
                    rejected += 1;
                    let (code, msg) = out
                        .rejection
                        .map(|x| (x.code.as_str(), x.message))
                        .unwrap_or_default();
                    let _ = writeln!(r, "{head} REJECTED   {code}: {}", short(&msg, 110));
                }
            },
            Err(e) => {
                errors += 1;
                let _ = writeln!(r, "{head} ERROR      {}: {}", e.code, e.message);
            }
        }
    }
    let check = engine.verify_audit()?;
    let _ = writeln!(
        r,
        "\n{applied} applied, {duplicates} duplicate, {rejected} rejected, {errors} error(s); engine at version {}",
        engine.version()
    );
    let _ = writeln!(
        r,
        "Audit chain: {} ({} entries, head {})",
        if check.valid { "verified" } else { "BROKEN" },
        check.entries,
        short(&check.head, 16)
    );
    let queue = engine.exceptions();
    let open = queue
        .iter()
        .filter(|e| e.resolved_by_version.is_none())
        .count();
    let _ = writeln!(
        r,
        "\nException queue: {} entr{} ({open} open)",
        queue.len(),
        if queue.len() == 1 { "y" } else { "ies" }
    );
    for e in queue {
        let state = match e.resolved_by_version {
            Some(v) => format!("resolved: applied as v{v} when sent again"),
            None => "OPEN".to_owned(),
        };
        let _ = writeln!(
            r,
            "  {}. {} {} from {} (correlation {}, {} attempt{}): {state}\n     {}: {}",
            e.sequence,
            e.envelope.idempotency_key,
            e.envelope.event.type_name(),
            e.envelope.source,
            e.envelope.correlation_id,
            e.attempts,
            if e.attempts == 1 { "" } else { "s" },
            e.code,
            e.message
        );
    }
    if engine.state().contract.is_some() {
        let as_of = match o.as_of {
            Some(s) => Date::parse(s)?,
            None => last_day.ok_or_else(|| {
                Error::new(
                    billwise_core::ErrorCode::InputInvalidValue,
                    "the log has no envelope to take `--as-of` from",
                )
            })?,
        };
        let period = match o.period {
            Some(p) => parse_period(p)?,
            None => Period {
                start: engine
                    .state()
                    .contract
                    .as_ref()
                    .map_or(as_of, |c| c.start_date),
                end: as_of,
            },
        };
        let preview = engine.preview_invoice(period, as_of)?;
        let _ = writeln!(r, "\nFinal preview from the engine's state:");
        r.push_str(&crate::preview::render(&preview, false));
    }
    Ok(Replayed {
        report: r,
        snapshot: engine.snapshot()?,
        errors,
    })
}
