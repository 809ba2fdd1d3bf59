//! Input generators shared by the benchmarks.

use std::fmt::Write;

/// A contract with 20 roles x 3 dated rates, as JSON.
pub fn contract_json() -> String {
    let mut entries = String::new();
    for r in 0..20 {
        for (i, from) in ["2025-01-01", "2026-01-01", "2026-07-01"]
            .iter()
            .enumerate()
        {
            if !entries.is_empty() {
                entries.push(',');
            }
            let rate = 100 + r * 10 + i * 5;
            let _ = write!(
                entries,
                r#"{{"role":"Role {r}","rate":{{"amount":"{rate}.00","currency":"USD"}},"effective_from":"{from}"}}"#
            );
        }
    }
    format!(
        r#"{{"schema_version":1,"kind":"contract","id":"C-1","account_id":"A-1","legal_entity":"US01","currency":"USD","billing_model":"time_and_materials","status":"active","start_date":"2025-01-01","end_date":"2027-12-31","rate_card":{{"entries":[{entries}]}}}}"#
    )
}

/// A work log of `n` time entries, as JSON.
pub fn work_log_json(n: usize) -> String {
    let mut s = String::with_capacity(n * 200);
    s.push_str(r#"{"schema_version":1,"kind":"work_log","time_entries":["#);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"id":"TE-{i}","project_id":"P-1","task_id":"T-{t}","resource_id":"R-{r}","role":"Role {role}","work_date":"2026-{m:02}-{d:02}","hours":"{h}.{q}","status":"approved"}}"#,
            t = i % 7,
            r = i % 50,
            role = i % 20,
            m = 1 + i % 12,
            d = 1 + i % 28,
            h = 1 + i % 8,
            q = (i % 4) * 25
        );
    }
    s.push_str("]}");
    s
}

/// The billing run of the Python benchmark (`benches/python/workload.py`, byte for byte): a capped
/// time-and-materials contract with 20 roles x 2 dated rates, three projects and `n` time entries,
/// as the JSON of a `preview_invoice` request.
pub fn preview_request_json(n: usize) -> String {
    const ROLES: usize = 20;
    const DAYS_IN_MONTH: [usize; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut rates = String::new();
    for r in 0..ROLES {
        let first = 100 + 5 * r;
        if r > 0 {
            rates.push(',');
        }
        let _ = write!(
            rates,
            r#"{{"role":"Role {r}","rate":{{"amount":"{first}.00","currency":"USD"}},"effective_from":"2026-01-01","effective_to":"2026-06-30"}},{{"role":"Role {r}","rate":{{"amount":"{}.50","currency":"USD"}},"effective_from":"2026-07-01"}}"#,
            first + 10
        );
    }
    let mut tasks = String::new();
    for t in 0..6 {
        let _ = write!(tasks, r#"{{"id":"T-{t}","name":"Task {t}"}},"#);
    }
    tasks.push_str(r#"{"id":"T-6","name":"Internal","billable":false}"#);
    let mut s = String::with_capacity(n * 190 + 4096);
    let _ = write!(
        s,
        r#"{{"contract":{{"schema_version":1,"kind":"contract","id":"C-BENCH","account_id":"A-1","legal_entity":"US01","currency":"USD","billing_model":"time_and_materials","status":"active","start_date":"2026-01-01","end_date":"2026-12-31","rate_card":{{"entries":[{rates}]}},"ceiling":{{"amount":{{"amount":"{}.00","currency":"USD"}},"mode":"split"}}}},"projects":["#,
        n * 360
    );
    for (i, status) in ["active", "completed", "on_hold"].iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"schema_version":1,"id":"P-{}","contract_id":"C-BENCH","legal_entity":"US01","status":"{status}","tasks":[{tasks}]}}"#,
            i + 1
        );
    }
    s.push_str(r#"],"time_entries":["#);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let month = i % 12;
        let days = DAYS_IN_MONTH.get(month).copied().unwrap_or(28);
        let project = if i % 23 == 0 { 3 } else { 1 + i % 2 };
        let status = if i % 19 == 0 { "submitted" } else { "approved" };
        let _ = write!(
            s,
            r#"{{"id":"TE-{i}","project_id":"P-{project}","task_id":"T-{}","resource_id":"R-{}","role":"Role {}","work_date":"2026-{:02}-{:02}","hours":"{}.{:02}","status":"{status}""#,
            (i / 5) % 7,
            i % 50,
            i % (ROLES + 1),
            month + 1,
            1 + (i / 12) % days,
            1 + i % 8,
            (i % 4) * 25
        );
        if i % 29 == 0 {
            s.push_str(r#","billable":false"#);
        }
        s.push('}');
    }
    s.push_str(r#"],"period":{"start":"2026-01-01","end":"2026-11-30"},"as_of":"2026-12-01"}"#);
    s
}

// Event engine.

/// The envelopes that set up a contract with a 3,000,000.00 ceiling and an active project.
pub fn engine_setup() -> Vec<billwise_core::engine::Envelope> {
    let contract = r#"{"idempotency_key":"ctr","correlation_id":"setup","source":"erp","occurred_at":"2026-01-01T09:00:00Z","event":{"type":"contract.recorded","contract":{"schema_version":1,"id":"CTR-1","account_id":"ACC-1","legal_entity":"US01","currency":"USD","billing_model":"time_and_materials","status":"active","start_date":"2026-01-01","end_date":"2026-12-31","ceiling":{"amount":{"amount":"3000000.00","currency":"USD"}},"rate_card":{"entries":[{"role":"Developer","rate":{"amount":"100.00","currency":"USD"},"effective_from":"2026-01-01"}]}}}}"#;
    let project = r#"{"idempotency_key":"prj","correlation_id":"setup","source":"psa","occurred_at":"2026-01-01T09:00:00Z","event":{"type":"project.recorded","project":{"schema_version":1,"id":"PRJ-1","contract_id":"CTR-1","legal_entity":"US01","status":"active"}}}"#;
    [contract, project]
        .iter()
        .filter_map(|s| serde_json::from_str(s).ok())
        .collect()
}

/// `n` envelopes from the PSA: each time entry is recorded as submitted, then approved, so
/// `n / 2` entries.
pub fn engine_envelopes(n: usize) -> Vec<billwise_core::engine::Envelope> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0usize;
    while out.len() < n {
        let day = 1 + i % 28;
        let rec = format!(
            r#"{{"idempotency_key":"rec-{i}","correlation_id":"week-{w}","source":"psa","occurred_at":"2026-01-{day:02}T17:00:00Z","event":{{"type":"time_entry.recorded","time_entry":{{"id":"TE-{i}","project_id":"PRJ-1","task_id":"T-1","resource_id":"R-{r}","role":"Developer","work_date":"2026-01-{day:02}","hours":"{h}","status":"submitted"}}}}}}"#,
            w = i / 500,
            r = i % 50,
            h = 1 + i % 8
        );
        let approve = format!(
            r#"{{"idempotency_key":"ap-{i}","correlation_id":"week-{w}","source":"psa","occurred_at":"2026-01-{day:02}T18:00:00Z","event":{{"type":"time_entry.approved","id":"TE-{i}"}}}}"#,
            w = i / 500
        );
        for s in [rec, approve] {
            if out.len() < n
                && let Ok(e) = serde_json::from_str(&s)
            {
                out.push(e);
            }
        }
        i += 1;
    }
    out
}

/// `n` time entries from the PSA, each recorded once as approved (a contract of `n` entries).
pub fn engine_entries(n: usize) -> Vec<billwise_core::engine::Envelope> {
    (0..n)
        .filter_map(|i| {
            let day = 1 + i % 28;
            serde_json::from_str(&format!(
                r#"{{"idempotency_key":"rec-{i}","correlation_id":"week-{w}","source":"psa","occurred_at":"2026-01-{day:02}T17:00:00Z","event":{{"type":"time_entry.recorded","time_entry":{{"id":"TE-{i}","project_id":"PRJ-1","task_id":"T-1","resource_id":"R-{r}","role":"Developer","work_date":"2026-01-{day:02}","hours":"{h}","status":"approved"}}}}}}"#,
                w = i / 500,
                r = i % 50,
                h = 1 + i % 8
            ))
            .ok()
        })
        .collect()
}

/// `billed` approved time entries (ids `TB-…`, dated January 2026) and the invoice that bills them
/// all: after these, the engine's billed ledger holds `billed` entries.
pub fn engine_billed(billed: usize) -> Vec<billwise_core::engine::Envelope> {
    let mut out: Vec<billwise_core::engine::Envelope> = (0..billed)
        .filter_map(|i| {
            let day = 1 + i % 28;
            serde_json::from_str(&format!(
                r#"{{"idempotency_key":"billed-{i}","correlation_id":"billed","source":"psa","occurred_at":"2026-01-{day:02}T17:00:00Z","event":{{"type":"time_entry.recorded","time_entry":{{"id":"TB-{i}","project_id":"PRJ-1","task_id":"T-1","resource_id":"R-{r}","role":"Developer","work_date":"2026-01-{day:02}","hours":"1","status":"approved"}}}}}}"#,
                r = i % 50
            ))
            .ok()
        })
        .collect();
    let invoice = r#"{"idempotency_key":"inv-1","correlation_id":"billed","source":"erp","occurred_at":"2026-02-01T09:00:00Z","event":{"type":"invoice.drafted","invoice_id":"INV-1","period":{"start":"2026-01-01","end":"2026-01-31"},"as_of":"2026-02-01"}}"#;
    out.extend(serde_json::from_str(invoice).ok());
    out
}

/// A `preview_invoice` request over `n` time entries, as JSON: the contract of [`contract_json`]
/// (20 roles x 3 dated rates), one active project with 7 tasks (one of them not billable), about 70%
/// of the entries approved, and a fees ceiling set at half of the approved work (at a flat 150 an hour),
/// so that the run crosses it about halfway and splits one entry.
pub fn billing_request_json(n: usize) -> String {
    let contract = contract_json();
    let mut approved_cents: u128 = 0;
    let mut entries = String::with_capacity(n * 220);
    for i in 0..n {
        if i > 0 {
            entries.push(',');
        }
        let approved = i % 10 < 7;
        let hundredths = (1 + i % 8) * 100 + (i % 4) * 25;
        if approved {
            approved_cents += (hundredths as u128) * 150;
        }
        let _ = write!(
            entries,
            r#"{{"id":"TE-{i:07}","project_id":"P-1","task_id":"T-{t}","resource_id":"R-{r}","role":"Role {role}","work_date":"2026-{m:02}-{d:02}","hours":"{h}.{q:02}","status":"{status}"}}"#,
            t = i % 7,
            r = i % 50,
            role = i % 20,
            m = 1 + i % 12,
            d = 1 + i % 28,
            h = hundredths / 100,
            q = hundredths % 100,
            status = if approved { "approved" } else { "submitted" },
        );
    }
    let half = approved_cents / 2;
    let ceiling = format!(
        r#","ceiling":{{"amount":{{"amount":"{}.{:02}","currency":"USD"}},"scope":"fees","mode":"split"}}}}"#,
        half / 100,
        half % 100
    );
    let contract = match contract.strip_suffix('}') {
        Some(body) => format!("{body}{ceiling}"),
        None => contract,
    };
    let tasks: Vec<String> = (0..7)
        .map(|t| {
            format!(
                r#"{{"id":"T-{t}","name":"Task {t}","billable":{}}}"#,
                t != 6
            )
        })
        .collect();
    format!(
        r#"{{"schema_version":1,"contract":{contract},"projects":[{{"schema_version":1,"kind":"project","id":"P-1","contract_id":"C-1","legal_entity":"US01","status":"active","tasks":[{}]}}],"time_entries":[{entries}],"period":{{"start":"2026-01-01","end":"2026-12-31"}},"as_of":"2027-01-05"}}"#,
        tasks.join(",")
    )
}

/// The contract of [`contract_json`] with 3 approved change orders raising one role's rate each
/// (CO-n: `Role 3n` at 300 + n from 2026-0(2n)-01): the history the rates benchmarks resolve against.
pub fn rates_history() -> Result<billwise_core::changes::ContractHistory, billwise_core::Error> {
    use billwise_core::json::{Limits, from_str};
    let contract: billwise_core::model::Contract = from_str(&contract_json(), &Limits::DEFAULT)?;
    let cos = (1..=3u32)
        .map(|n| {
            let json = format!(
                r#"{{"schema_version":1,"id":"CO-{n}","contract_id":"C-1","sequence":{n},"status":"approved","effective_date":"2026-0{m}-01","approved_on":"2026-0{m}-15","changes":[{{"type":"set_rate","role":"Role {r}","rate":{{"amount":"{rate}.00","currency":"USD"}}}}]}}"#,
                m = n * 2,
                r = n * 3,
                rate = 300 + n
            );
            from_str(&json, &Limits::DEFAULT)
        })
        .collect::<Result<Vec<billwise_core::model::ChangeOrder>, _>>()?;
    billwise_core::changes::ContractHistory::new(&contract, &cos)
}
