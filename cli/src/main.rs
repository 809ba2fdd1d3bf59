//! The `billwise` command.

use std::io::{Read, Write};
use std::process::ExitCode;

use billwise_core::api::{self, validate_document};
use billwise_core::json::{Limits, to_canonical_string};
use billwise_core::model::{ChangeOrder, Date, DocumentKind, Id, Money, SchemaVersion};
use billwise_core::{Error, ErrorClass};
use clap::{Parser, Subcommand};

mod ownership_cli;
mod preview;
// Event engine.
mod replay;
// The durable store.
mod store_cli;

/// Exit code: every input valid.
const OK: u8 = 0;
/// Exit code: an input was read and has problems.
const INVALID: u8 = 1;
/// Exit code: an input could not be read.
const UNREADABLE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "billwise",
    version,
    about = "The business rules of professional-services opportunity-to-cash"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate canonical documents and print every problem as `path: CODE: message`.
    ///
    /// A file holds one document, a JSON array of documents, or JSON Lines (a document a line):
    /// each document of a batch gets its report (`file[n]` for an array's element n, `file:line`
    /// for JSON Lines). Exits 0 when every document is valid, 1 when one has problems, 2 when one
    /// cannot be read.
    Validate {
        /// Files to read (`-` for standard input).
        #[arg(required = true)]
        files: Vec<String>,
        /// The document kind, when the documents have no `kind` field.
        #[arg(long)]
        kind: Option<String>,
        /// A contract to check change orders against (unknown roles and milestones).
        #[arg(long)]
        contract: Option<String>,
        /// Print the reports as canonical JSON, one per line.
        #[arg(long)]
        json: bool,
    },
    /// Check an inbound update against an ownership policy, field by field.
    ///
    /// Prints the decisions as canonical JSON. Exits 0 when every field is accepted, 1 when a
    /// field is refused, 2 when the input cannot be read.
    CheckUpdate {
        /// The changed fields and their new values: a JSON object (`-` for standard input).
        changes: String,
        /// The ownership policy.
        #[arg(long)]
        policy: String,
        /// The entity kind (`account`, `contract`, ...).
        #[arg(long)]
        entity: String,
        /// The entity's lifecycle stage.
        #[arg(long)]
        stage: Option<String>,
        /// The system the update comes from.
        #[arg(long)]
        source: String,
        /// Refuse the whole update if any field is refused.
        #[arg(long)]
        strict: bool,
    },
    /// Reconcile the records of one entity kind across systems (one JSON Lines file per system).
    ///
    /// Each file is `SYSTEM=PATH`, or a path whose file name (without extension) is the system.
    /// Prints a readable report, or the canonical JSON report with `--json`. Exits 0 when the
    /// systems agree, 1 when there are findings, 2 when an input cannot be read.
    Reconcile {
        /// The JSON Lines files, one per system.
        #[arg(required = true)]
        files: Vec<String>,
        /// The ownership policy.
        #[arg(long)]
        policy: String,
        /// The entity kind.
        #[arg(long)]
        kind: String,
        /// Judge every entity at this stage instead of the stage its records hold.
        #[arg(long)]
        stage: Option<String>,
        /// Cross-references: JSON Lines of `{"id": ..., "ids": {"system": "id", ...}}`.
        #[arg(long)]
        cross_refs: Option<String>,
        /// Print the canonical JSON report.
        #[arg(long)]
        json: bool,
    },
    /// Run the activation gate on a won opportunity.
    ///
    /// Exits 0 when it is ready to become a project, 1 when it is blocked, 2 when an input cannot
    /// be read.
    Activate {
        /// The opportunity document.
        opportunity: String,
        /// The accounts: one account, a JSON array of accounts, or JSON Lines.
        #[arg(long)]
        accounts: String,
        /// The ownership policy (for the currencies each legal entity may use).
        #[arg(long)]
        policy: Option<String>,
        /// Print the canonical JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Preview a billing run: lines, held items by reason, the ceiling, totals.
    ///
    /// REQUEST is a `preview_invoice` request. Exits 2 when it cannot be evaluated.
    Preview {
        /// The request file (`-` for standard input).
        request: String,
        /// Use this ledger instead of the request's.
        #[arg(long)]
        ledger: Option<String>,
        /// Print the canonical JSON preview.
        #[arg(long)]
        json: bool,
        /// List every held item, including those billed by earlier runs.
        #[arg(long)]
        verbose: bool,
    },
    /// Commit a billing run: print the ledger with the run's lines recorded as INVOICE_ID.
    Commit {
        /// The `preview_invoice` request file.
        request: String,
        /// The invoice the lines are billed on.
        #[arg(long)]
        invoice_id: String,
        /// Use this ledger instead of the request's.
        #[arg(long)]
        ledger: Option<String>,
        /// Write the new ledger here instead of standard output.
        #[arg(long)]
        out: Option<String>,
    },
    /// Add credit notes to a ledger (a JSON list of credits) and print the new ledger.
    Credit {
        /// The ledger file.
        ledger: String,
        /// The credits file: a JSON list of `{credit_note_id, kind, item_id, quantity?, amount?}`.
        credits: String,
        /// The contract currency.
        #[arg(long)]
        currency: String,
        /// Write the new ledger here instead of standard output.
        #[arg(long)]
        out: Option<String>,
    },
    /// Run any operation on a JSON request and print the canonical JSON response.
    ///
    /// Errors are printed as `{"error": {...}}` and exit with status 2.
    Run {
        /// The operation (`validate`, ...).
        op: String,
        /// The request file (`-` for standard input).
        #[arg(default_value = "-")]
        file: String,
    },
    /// Show the lifecycle state machines: a summary, or `--json` data, or `--mermaid` diagrams.
    Machines {
        /// One machine (`opportunity`, `project`, `time_entry`, `expense`, `milestone`,
        /// `change_order`, `invoice`); every machine when absent.
        name: Option<String>,
        /// Print each machine as pretty JSON (what `describe_machines` returns).
        #[arg(long, conflicts_with = "mermaid")]
        json: bool,
        /// Print each machine as a Mermaid `stateDiagram-v2`.
        #[arg(long)]
        mermaid: bool,
    },
    // Event engine.
    /// Replay an event log (JSON Lines, one envelope per line) through the engine.
    ///
    /// Prints each envelope's outcome, the exception queue and the final invoice preview.
    /// Exits 0 when every line was read and applied, rejected or found duplicate; 2 otherwise.
    Replay {
        /// The event log (`-` for standard input).
        events: String,
        /// Write the final snapshot (canonical JSON) here.
        #[arg(long)]
        snapshot: Option<String>,
        /// Enforce this ownership policy.
        #[arg(long)]
        policy: Option<String>,
        /// The period of the final preview, `START..END` (default: contract start to `--as-of`).
        #[arg(long)]
        period: Option<String>,
        /// The day of the final preview (default: the latest `occurred_at` date in the log).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// The durable store: engines kept per contract in SQLite or PostgreSQL.
    Store {
        #[command(subcommand)]
        command: store_cli::StoreCommand,
    },
    /// Resolve the rate for one piece of work and say why that rate won.
    ///
    /// Exits 0 with a rate, 1 with `missing_rate` or when a rule refuses the input, 2 when a file
    /// cannot be read.
    Rate {
        /// The contract file.
        contract: String,
        /// The role worked in.
        #[arg(long)]
        role: String,
        /// The day worked (YYYY-MM-DD).
        #[arg(long)]
        date: String,
        /// Who worked.
        #[arg(long)]
        resource: Option<String>,
        /// The task.
        #[arg(long)]
        task: Option<String>,
        /// Approved change orders (a change order or an array of them per file; repeatable).
        #[arg(long = "change-orders")]
        change_orders: Vec<String>,
        /// Print the canonical JSON response instead.
        #[arg(long)]
        json: bool,
    },
    /// Apply an approved change order and print the new contract version and its impact.
    ///
    /// Exits 0 when applied, 1 when a rule refuses it (with the code and path), 2 when a file
    /// cannot be read.
    Amend {
        /// The contract file.
        contract: String,
        /// The change order to apply.
        change_order: String,
        /// Change orders already applied (a change order or an array per file; repeatable).
        #[arg(long)]
        applied: Vec<String>,
        /// The billed ledger (for the ceiling, billed milestones and retroactive adjustments).
        #[arg(long)]
        ledger: Option<String>,
        /// Print the canonical JSON response instead.
        #[arg(long)]
        json: bool,
    },
}

fn parse_file<T: serde::de::DeserializeOwned + 'static>(path: &str) -> Result<T, String> {
    let bytes = read_input(path)?;
    billwise_core::json::from_slice(&bytes, &Limits::DEFAULT).map_err(|e| {
        let at = if e.path.is_empty() {
            String::new()
        } else {
            format!(" at `{}`", e.path)
        };
        format!("{path}{at}: {}: {}", e.code, e.message)
    })
}

fn change_order_files(files: &[String]) -> Result<Vec<ChangeOrder>, String> {
    let mut out = Vec::new();
    for f in files {
        let bytes = read_input(f)?;
        let is_array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        if is_array {
            out.extend(parse_file::<Vec<ChangeOrder>>(f)?);
        } else {
            out.push(parse_file::<ChangeOrder>(f)?);
        }
    }
    Ok(out)
}

fn rule_error(out: &mut impl Write, e: &Error) -> Result<u8, String> {
    print_error(out, "billwise", e).map_err(|e| e.to_string())?;
    Ok(INVALID)
}

#[allow(clippy::too_many_arguments)]
fn rate_cmd(
    contract: &str,
    role: String,
    date: &str,
    resource: Option<String>,
    task: Option<String>,
    change_orders: &[String],
    json: bool,
    out: &mut impl Write,
) -> Result<u8, String> {
    let work_date = Date::parse(date).map_err(|e| format!("--date: {}", e.message))?;
    let id = |s: Option<String>, what: &str| {
        s.map(|s| Id::new(s).map_err(|e| format!("--{what}: {}", e.message)))
            .transpose()
    };
    let req = api::ResolveRateRequest {
        schema_version: SchemaVersion,
        contract: parse_file(contract)?,
        change_orders: change_order_files(change_orders)?,
        query: api::RateQueryDoc {
            role,
            resource_id: id(resource, "resource")?,
            task_id: id(task, "task")?,
            work_date,
            rate_override: None,
        },
    };
    let r = match api::resolve_rate(&req, &Limits::DEFAULT) {
        Ok(r) => r,
        Err(e) => return rule_error(out, &e),
    };
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| e.to_string());
    if json {
        w(out, to_canonical_string(&r).map_err(|e| e.message)?)?;
        return Ok(OK);
    }
    let who = format!(
        "{}{}{}",
        req.query.role,
        req.query
            .resource_id
            .as_ref()
            .map(|r| format!(", resource {r}"))
            .unwrap_or_default(),
        req.query
            .task_id
            .as_ref()
            .map(|t| format!(", task {t}"))
            .unwrap_or_default()
    );
    match (&r.rate, r.unit) {
        (Some(rate), Some(unit)) => {
            w(out, format!("{who}, {}: {rate} per {unit}", r.work_date))?;
            if let Some(h) = r.hours_per_day {
                w(out, format!("  day rate: H hours bill H / {h} days"))?;
            }
        }
        _ => w(
            out,
            format!("{who}, {}: no rate (missing_rate)", r.work_date),
        )?,
    }
    w(out, format!("  source:   {}", r.rate_source))?;
    w(
        out,
        format!(
            "  contract: {} version {}",
            r.contract_id, r.contract_version
        ),
    )?;
    w(out, format!("  why:      {}", r.explanation))?;
    Ok(if r.rate.is_some() { OK } else { INVALID })
}

fn amend_cmd(
    contract: &str,
    change_order: &str,
    applied: &[String],
    ledger: Option<&str>,
    json: bool,
    out: &mut impl Write,
) -> Result<u8, String> {
    let req = api::ApplyChangeOrderRequest {
        schema_version: SchemaVersion,
        contract: parse_file(contract)?,
        change_orders: change_order_files(applied)?,
        change_order: parse_file(change_order)?,
        ledger: ledger.map(parse_file).transpose()?,
    };
    let r = match api::apply_change_order(&req, &Limits::DEFAULT) {
        Ok(r) => r,
        Err(e) => return rule_error(out, &e),
    };
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| e.to_string());
    if json {
        w(out, to_canonical_string(&r).map_err(|e| e.message)?)?;
        return Ok(OK);
    }
    let i = &r.impact;
    w(
        out,
        format!(
            "{} version {} (change order {}): rates change for work from {}, other terms from {}{}",
            r.contract_id,
            i.version,
            i.change_order_id,
            i.effective_date,
            i.approved_on
                .map(|d| d.to_string())
                .unwrap_or_else(|| "approval".into()),
            if i.retroactive { "; retroactive" } else { "" }
        ),
    )?;
    let ceiling = |m: &Option<Money>| m.map(|m| m.to_string()).unwrap_or_else(|| "none".into());
    if i.ceiling_before == i.ceiling_after {
        w(
            out,
            format!(
                "  ceiling:        {} (unchanged)",
                ceiling(&i.ceiling_after)
            ),
        )?;
    } else {
        w(
            out,
            format!(
                "  ceiling:        {} -> {} ({}{})",
                ceiling(&i.ceiling_before),
                ceiling(&i.ceiling_after),
                if i.ceiling_delta.amount.is_sign_negative() {
                    ""
                } else {
                    "+"
                },
                i.ceiling_delta
            ),
        )?;
    }
    let change = |a: String, b: String| {
        if a == b {
            format!("{b} (unchanged)")
        } else {
            format!("{a} -> {b}")
        }
    };
    w(
        out,
        format!(
            "  end date:       {}",
            change(i.end_date_before.to_string(), i.end_date_after.to_string())
        ),
    )?;
    w(
        out,
        format!(
            "  expense markup: {}",
            change(
                format!("{}%", i.expense_markup_before),
                format!("{}%", i.expense_markup_after)
            )
        ),
    )?;
    w(
        out,
        format!(
            "  contract value: {}{}",
            if i.contract_value_delta.amount.is_sign_negative() {
                ""
            } else {
                "+"
            },
            i.contract_value_delta
        ),
    )?;
    for m in &i.milestones_added {
        w(out, format!("  milestone added:   {m}"))?;
    }
    for m in &i.milestones_removed {
        w(out, format!("  milestone removed: {m}"))?;
    }
    if i.rate_changes.is_empty() {
        w(out, "  rate changes:   none".into())?;
    } else {
        w(out, "  rate changes:".into())?;
    }
    for c in &i.rate_changes {
        let rate = |m: Option<Money>, u: Option<billwise_core::model::RateUnit>| match (m, u) {
            (Some(m), Some(u)) => format!("{m}/{u}"),
            _ => "no rate".to_owned(),
        };
        w(
            out,
            format!(
                "    {} from {}: {} -> {}",
                c.key.describe(),
                c.from,
                rate(c.before, c.before_unit),
                rate(c.after, c.after_unit)
            ),
        )?;
    }
    if req.ledger.is_none() {
        w(
            out,
            "  adjustments:    none computed (no billed ledger given)".into(),
        )?;
    } else if r.adjustments.is_empty() {
        w(out, "  adjustments:    none".into())?;
    } else {
        w(
            out,
            format!(
                "  adjustments:    {} billed item(s) re-priced",
                r.adjustments.len()
            ),
        )?;
        for a in &r.adjustments {
            let now = match (&a.new_amount, &a.adjustment) {
                (Some(n), Some(d)) => format!("{n} (adjustment {d})"),
                _ => "no rate now (held with missing_rate)".to_owned(),
            };
            w(
                out,
                format!(
                    "    {} on {}: billed {} -> {now}",
                    a.item_id, a.work_date, a.billed_amount
                ),
            )?;
        }
    }
    Ok(OK)
}

// Lifecycle state machines.
fn machines(
    name: Option<&str>,
    json: bool,
    mermaid: bool,
    out: &mut impl Write,
) -> Result<u8, String> {
    use billwise_core::machines::MachineName;
    let names: Vec<MachineName> = match name {
        Some(n) => vec![MachineName::parse(n).ok_or_else(|| {
            let all: Vec<&str> = MachineName::ALL.iter().map(|m| m.as_str()).collect();
            format!("`{n}` is not a machine; expected one of {}", all.join(", "))
        })?],
        None => MachineName::ALL.to_vec(),
    };
    let io = |e: std::io::Error| e.to_string();
    if json {
        let all: Vec<_> = names.iter().map(|n| n.describe()).collect();
        let text = if let [one] = all.as_slice() {
            serde_json::to_string_pretty(one)
        } else {
            serde_json::to_string_pretty(&all)
        }
        .map_err(|e| e.to_string())?;
        writeln!(out, "{text}").map_err(io)?;
        return Ok(OK);
    }
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            writeln!(out).map_err(io)?;
        }
        if mermaid {
            write!(out, "{}", n.mermaid()).map_err(io)?;
            continue;
        }
        let d = n.describe();
        writeln!(out, "{}: {}", d.name, d.description).map_err(io)?;
        writeln!(
            out,
            "  states: {} (starts in {})",
            d.states.join(", "),
            d.initial
        )
        .map_err(io)?;
        if !d.terminal.is_empty() {
            writeln!(out, "  terminal: {}", d.terminal.join(", ")).map_err(io)?;
        }
        for t in &d.transitions {
            let senders = d
                .events
                .iter()
                .find(|e| e.name == t.event)
                .map(|e| e.senders.join("|"))
                .unwrap_or_default();
            write!(out, "  {} --{}--> {}  by {senders}", t.from, t.event, t.to).map_err(io)?;
            if !t.guards.is_empty() {
                let g: Vec<&str> = t.guards.iter().map(|g| g.as_str()).collect();
                write!(out, "  if {}", g.join(", ")).map_err(io)?;
            }
            if !t.effects.is_empty() {
                let e: Vec<&str> = t.effects.iter().map(|e| e.as_str()).collect();
                write!(out, "  then {}", e.join(", ")).map_err(io)?;
            }
            writeln!(out).map_err(io)?;
        }
    }
    Ok(OK)
}

// Event engine.
fn replay_command(
    events: &str,
    snapshot: Option<&str>,
    policy: Option<&str>,
    period: Option<&str>,
    as_of: Option<&str>,
    out: &mut impl Write,
) -> Result<u8, String> {
    let events = read_input(events)?;
    let policy = policy.map(read_input).transpose()?;
    let r = replay::replay(&replay::Options {
        events: &events,
        policy: policy.as_deref(),
        period,
        as_of,
    })
    .map_err(|e| e.to_string())?;
    write!(out, "{}", r.report).map_err(|e| e.to_string())?;
    if let Some(p) = snapshot {
        write_output(out, Some(p), &r.snapshot)?;
        writeln!(out, "(snapshot written to {p})").map_err(|e| e.to_string())?;
    }
    Ok(if r.errors == 0 { OK } else { UNREADABLE })
}

fn load_request(
    path: &str,
    ledger: Option<&str>,
) -> Result<billwise_core::billing::PreviewInvoiceRequest, Error> {
    let limits = Limits::DEFAULT;
    let bytes = read_input(path)
        .map_err(|m| Error::new(billwise_core::ErrorCode::InputMalformedJson, m))?;
    let mut req = billwise_core::json::preview_request_from_slice(&bytes, &limits)?;
    if let Some(l) = ledger {
        let bytes = read_input(l)
            .map_err(|m| Error::new(billwise_core::ErrorCode::InputMalformedJson, m))?;
        req.ledger = Some(billwise_core::json::from_slice(&bytes, &limits)?);
    }
    Ok(req)
}

fn write_output(out: &mut impl Write, path: Option<&str>, text: &str) -> Result<(), String> {
    match path {
        Some(p) => {
            std::fs::write(p, format!("{text}\n")).map_err(|e| format!("cannot write `{p}`: {e}"))
        }
        None => writeln!(out, "{text}").map_err(|e| e.to_string()),
    }
}

fn billing_command(command: Command, out: &mut impl Write) -> Result<u8, Error> {
    let limits = Limits::DEFAULT;
    let fail = |m: String| Error::new(billwise_core::ErrorCode::InputMalformedJson, m);
    match command {
        Command::Preview {
            request,
            ledger,
            json,
            verbose,
        } => {
            let req = load_request(&request, ledger.as_deref())?;
            let p = billwise_core::api::preview_invoice(&req, &limits)?;
            let text = if json {
                billwise_core::billing::preview_json(&p)?
            } else {
                preview::render(&p, verbose)
            };
            write!(out, "{text}").map_err(|e| fail(e.to_string()))?;
            if json {
                writeln!(out).map_err(|e| fail(e.to_string()))?;
            }
        }
        Command::Commit {
            request,
            invoice_id,
            ledger,
            out: path,
        } => {
            let req = load_request(&request, ledger.as_deref())?;
            let invoice_id = billwise_core::model::Id::new(invoice_id)?;
            let r = billwise_core::api::commit_invoice(
                &billwise_core::api::CommitInvoiceRequest {
                    schema_version: Default::default(),
                    invoice_id,
                    run: req,
                },
                &limits,
            )?;
            write_output(out, path.as_deref(), &to_canonical_string(&r.ledger)?).map_err(fail)?;
        }
        Command::Credit {
            ledger,
            credits,
            currency,
            out: path,
        } => {
            let ledger =
                billwise_core::json::from_slice(&read_input(&ledger).map_err(fail)?, &limits)?;
            let credits =
                billwise_core::json::from_slice(&read_input(&credits).map_err(fail)?, &limits)?;
            let currency = currency.parse()?;
            let l = billwise_core::api::record_credit(
                &billwise_core::api::RecordCreditRequest {
                    schema_version: Default::default(),
                    ledger,
                    currency,
                    credits,
                },
                &limits,
            )?;
            write_output(out, path.as_deref(), &to_canonical_string(&l)?).map_err(fail)?;
        }
        _ => {}
    }
    Ok(OK)
}

fn run_op(op: &str, file: &str, out: &mut impl Write) -> Result<u8, String> {
    let bytes = read_input(file)?;
    match billwise_core::api::run(op, &bytes, &Limits::DEFAULT) {
        Ok(json) => {
            writeln!(out, "{json}").map_err(|e| e.to_string())?;
            // A validation report with problems exits 1, as `billwise validate` does.
            let invalid = matches!(op, "validate" | "validate_batch")
                && serde_json::from_str::<serde_json::Value>(&json)
                    .is_ok_and(|v| v.get("valid") == Some(&serde_json::Value::Bool(false)));
            Ok(if invalid { INVALID } else { OK })
        }
        Err(e) => {
            let s = to_canonical_string(&serde_json::json!({ "error": e }))
                .map_err(|e| e.to_string())?;
            writeln!(out, "{s}").map_err(|e| e.to_string())?;
            Ok(UNREADABLE)
        }
    }
}

fn read_input(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))
    }
}

fn print_error(out: &mut impl Write, name: &str, e: &Error) -> std::io::Result<()> {
    let path = if e.path.is_empty() {
        "/"
    } else {
        e.path.as_str()
    };
    writeln!(out, "{name}: {path}: {}: {}", e.code, e.message)
}

fn validate_one(
    file: &str,
    kind: Option<DocumentKind>,
    contract: Option<&[u8]>,
    json: bool,
    out: &mut impl Write,
) -> std::io::Result<u8> {
    let limits = Limits::DEFAULT;
    let bytes = match read_input(file) {
        Ok(b) => b,
        Err(msg) => {
            writeln!(out, "{file}: {msg}")?;
            return Ok(UNREADABLE);
        }
    };
    if let Some((documents, lines)) = batch(&bytes, &limits) {
        return validate_many(file, &documents, lines, kind, contract, json, out);
    }
    // A contract that cannot be read is unreadable input (exit 2), at its path under `/contract`.
    let report =
        validate_document(&bytes, kind, contract, &limits).map_err(|(part, e)| match part {
            "/contract" => (true, e.under(part)),
            _ => (false, e),
        });
    match report {
        Ok(r) => {
            if json {
                match to_canonical_string(&r) {
                    Ok(s) => writeln!(out, "{s}")?,
                    Err(e) => print_error(out, file, &e)?,
                }
            } else if r.valid {
                writeln!(out, "{file}: valid {}", r.kind)?;
            } else {
                for p in &r.problems {
                    let path = if p.path.is_empty() {
                        "/"
                    } else {
                        p.path.as_str()
                    };
                    writeln!(out, "{file}: {path}: {}: {}", p.code, p.message)?;
                }
                writeln!(out, "{file}: {} problem(s) in {}", r.problems.len(), r.kind)?;
            }
            Ok(if r.valid { OK } else { INVALID })
        }
        Err((in_contract, e)) => {
            print_failure(out, file, &e, json)?;
            Ok(match e.class() {
                ErrorClass::Input
                    if !in_contract && e.code != billwise_core::ErrorCode::InputMalformedJson =>
                {
                    INVALID
                }
                _ => UNREADABLE,
            })
        }
    }
}

/// An error of `billwise validate`: as `{"error": ...}` with `--json`, else as a line.
fn print_failure(out: &mut impl Write, file: &str, e: &Error, json: bool) -> std::io::Result<()> {
    if json {
        let s = to_canonical_string(&serde_json::json!({ "error": e })).unwrap_or_default();
        writeln!(out, "{s}")
    } else {
        print_error(out, file, e)
    }
}

/// Documents, each with its number as the reports show it.
type Numbered = Vec<(usize, Vec<u8>)>;

/// The documents of a batch file, each with its number as the reports show it (from 0): a JSON
/// array's elements (by position), or JSON Lines' non-blank lines (by line, less one). `None` for
/// a file of one document (a pretty-printed document spans lines, but its first line is not a
/// JSON value by itself). Whether the file is JSON Lines comes with them.
fn batch(bytes: &[u8], limits: &Limits) -> Option<(Numbered, bool)> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.trim_start().starts_with('[') {
        let items: Vec<Box<serde_json::value::RawValue>> =
            billwise_core::json::from_slice(bytes, limits).ok()?;
        return Some((
            items
                .iter()
                .enumerate()
                .map(|(i, d)| (i, d.get().as_bytes().to_vec()))
                .collect(),
            false,
        ));
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let first = lines.first()?.1;
    (lines.len() > 1 && serde_json::from_str::<serde::de::IgnoredAny>(first).is_ok()).then(|| {
        let documents = lines
            .into_iter()
            .map(|(i, l)| (i, l.as_bytes().to_vec()))
            .collect();
        (documents, true)
    })
}

/// `billwise validate` on a batch file: one report per document (`file[n]: path: CODE: message`
/// for an array's element n, `file:line: ...` for JSON Lines), exit 1 when any document has
/// problems.
fn validate_many(
    file: &str,
    documents: &[(usize, Vec<u8>)],
    lines: bool,
    kind: Option<DocumentKind>,
    contract: Option<&[u8]>,
    json: bool,
    out: &mut impl Write,
) -> std::io::Result<u8> {
    let texts: Vec<&[u8]> = documents.iter().map(|(_, d)| d.as_slice()).collect();
    let mut report = match api::validate_each(&texts, kind, contract, &Limits::DEFAULT) {
        Ok(r) => r,
        Err(e) => {
            print_failure(out, file, &e, json)?;
            return Ok(UNREADABLE);
        }
    };
    for r in &mut report.reports {
        if let Some((n, _)) = documents.get(r.index) {
            r.index = *n;
        }
    }
    if json {
        match to_canonical_string(&report) {
            Ok(s) => writeln!(out, "{s}")?,
            Err(e) => print_error(out, file, &e)?,
        }
    } else {
        let mut bad = 0;
        for r in report.reports.iter().filter(|r| !r.valid) {
            bad += 1;
            for p in &r.problems {
                let path = if p.path.is_empty() {
                    "/"
                } else {
                    p.path.as_str()
                };
                let at = if lines {
                    format!("{file}:{}", r.index + 1)
                } else {
                    format!("{file}[{}]", r.index)
                };
                writeln!(out, "{at}: {path}: {}: {}", p.code, p.message)?;
            }
        }
        let n = report.reports.len();
        if bad == 0 {
            writeln!(out, "{file}: {n} documents valid")?;
        } else {
            writeln!(out, "{file}: {bad} of {n} documents have problems")?;
        }
    }
    Ok(if report.valid { OK } else { INVALID })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match cli.command {
        Command::Validate {
            files,
            kind,
            contract,
            json,
        } => (|| -> Result<u8, String> {
            let kind = kind
                .map(|k| k.parse::<DocumentKind>().map_err(|e| e.message))
                .transpose()?;
            let contract = contract.map(|c| read_input(&c)).transpose()?;
            let mut worst = OK;
            for f in &files {
                let code = validate_one(f, kind, contract.as_deref(), json, &mut out)
                    .map_err(|e| e.to_string())?;
                worst = worst.max(code);
            }
            Ok(worst)
        })(),
        Command::Run { op, file } => run_op(&op, &file, &mut out),
        Command::CheckUpdate {
            changes,
            policy,
            entity,
            stage,
            source,
            strict,
        } => ownership_cli::check_update(
            &changes,
            &policy,
            &entity,
            stage.as_deref(),
            &source,
            strict,
            &mut out,
        ),
        Command::Reconcile {
            files,
            policy,
            kind,
            stage,
            cross_refs,
            json,
        } => ownership_cli::reconcile(
            &files,
            &policy,
            &kind,
            stage.as_deref(),
            cross_refs.as_deref(),
            json,
            &mut out,
        ),
        Command::Activate {
            opportunity,
            accounts,
            policy,
            json,
        } => ownership_cli::activate(&opportunity, &accounts, policy.as_deref(), json, &mut out),
        cmd @ (Command::Preview { .. } | Command::Commit { .. } | Command::Credit { .. }) => {
            match billing_command(cmd, &mut out) {
                Ok(code) => Ok(code),
                Err(e) => {
                    let _ = print_error(&mut std::io::stderr(), "billwise", &e);
                    Ok(UNREADABLE)
                }
            }
        }
        Command::Machines {
            name,
            json,
            mermaid,
        } => machines(name.as_deref(), json, mermaid, &mut out),
        // Event engine.
        Command::Replay {
            events,
            snapshot,
            policy,
            period,
            as_of,
        } => replay_command(
            &events,
            snapshot.as_deref(),
            policy.as_deref(),
            period.as_deref(),
            as_of.as_deref(),
            &mut out,
        ),
        Command::Store { command } => store_cli::run(command, &mut out),
        Command::Rate {
            contract,
            role,
            date,
            resource,
            task,
            change_orders,
            json,
        } => rate_cmd(
            &contract,
            role,
            &date,
            resource,
            task,
            &change_orders,
            json,
            &mut out,
        ),
        Command::Amend {
            contract,
            change_order,
            applied,
            ledger,
            json,
        } => amend_cmd(
            &contract,
            &change_order,
            &applied,
            ledger.as_deref(),
            json,
            &mut out,
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            let _ = writeln!(std::io::stderr(), "billwise: {msg}");
            ExitCode::from(UNREADABLE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_array_is_a_batch_of_its_elements() {
        let (docs, lines) = batch(b" [ {\"a\": 1}, [2],\n\"x\" ]", &Limits::DEFAULT).unwrap();
        assert!(!lines);
        let texts: Vec<&[u8]> = docs.iter().map(|(_, d)| d.as_slice()).collect();
        assert_eq!(texts, [&b"{\"a\": 1}"[..], b"[2]", b"\"x\""]);
        assert_eq!(docs.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn json_lines_are_a_batch_numbered_by_line_with_blank_lines_skipped() {
        let (docs, lines) = batch(b"{\"a\":1}\n\n{\"b\":2}\nnot json\n", &Limits::DEFAULT).unwrap();
        assert!(lines);
        assert_eq!(docs.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 2, 3]);
    }

    #[test]
    fn one_document_on_one_line_or_pretty_printed_is_not_a_batch() {
        assert!(batch(b"{\"a\": 1}\n", &Limits::DEFAULT).is_none());
        assert!(batch(b"{\n  \"a\": 1,\n  \"b\": 2\n}\n", &Limits::DEFAULT).is_none());
    }

    #[test]
    fn a_batch_with_a_bad_document_exits_1_and_names_each_problem_by_line() {
        let text = b"{\"schema_version\":1,\"kind\":\"work_log\"}\n{\"schema_version\":1,\"kind\":\"nope\"}\n";
        let (docs, lines) = batch(text, &Limits::DEFAULT).unwrap();
        let mut out = Vec::new();
        let code = validate_many("f.jsonl", &docs, lines, None, None, false, &mut out).unwrap();
        assert_eq!(code, INVALID);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with("f.jsonl:2: /kind: INPUT_UNKNOWN_KIND: "),
            "{out}"
        );
        assert!(
            out.ends_with("f.jsonl: 1 of 2 documents have problems\n"),
            "{out}"
        );
    }
}
