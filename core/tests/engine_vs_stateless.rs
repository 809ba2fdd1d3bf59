//! The engine and the stateless operations agree: for the same documents, an engine fed them as
//! events and `preview_invoice` / `commit_invoice` / `record_credit` called on them give
//! byte-identical previews, and the engine's invoices and credit notes leave the ledger the
//! stateless operations leave. Random scenarios: a contract (ceiling or not, time increment or
//! not), time entries over two months, change orders (retroactive or not) approved between
//! invoices, invoices and partial credit notes by hours or by amount.
//!
//! Case count: `BILLWISE_PROPTEST_CASES` (default 2000; this test runs a tenth of it). Failures are
//! saved in `core/tests/engine_vs_stateless.proptest-regressions` and replayed first.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use billwise_core::api::{self, CommitInvoiceRequest, RecordCreditRequest};
use billwise_core::billing::{self, BilledLedger, Period, PreviewInvoiceRequest};
use billwise_core::engine::{Engine, Envelope, OutcomeStatus};
use billwise_core::json::{Limits, to_canonical_string};
use billwise_core::model::{Currency, Date, SchemaVersion};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

// A test may read its environment: the case count is a knob for long runs, not an input of the core.
#[allow(clippy::disallowed_methods)]
fn cases() -> u32 {
    let n = std::env::var("BILLWISE_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(2000);
    (n / 10).max(1)
}

/// How a caller who knows which invoice a credit note credits writes its `line` for
/// `record_credit` (engine.md, `credit_note.issued`): when another invoice billed the item too and
/// no adjustment of it is still billed (an invoice's adjustments less its price reductions), the
/// side a line leaves out and its ceiling share are the invoice's own share, its hours at its
/// price (what it billed of the item net of its earlier credit notes, `notes`); otherwise the
/// line is left to `record_credit`'s share of the item.
fn as_the_invoice_priced(
    ledger: &BilledLedger,
    invoice: &str,
    notes: &[(String, String)],
    line: &mut Value,
) {
    use rust_decimal::{Decimal, RoundingStrategy};
    let item = line["item_id"].as_str().unwrap().to_owned();
    let of_item = |e: &&billwise_core::ledger::LedgerEntry| e.item_id.as_str() == item;
    let on = |note: &str, inv: &str| notes.iter().any(|(n, i)| n == note && i == inv);
    let credits_of = |inv: &str| {
        ledger
            .credits
            .iter()
            .filter(|c| c.item_id.as_str() == item && on(c.credit_note_id.as_str(), inv))
            .collect::<Vec<_>>()
    };
    let elsewhere = ledger
        .entries
        .iter()
        .filter(of_item)
        .any(|e| e.invoice_id.as_str() != invoice && !e.quantity.0.is_zero());
    let adjusted = ledger
        .entries
        .iter()
        .filter(of_item)
        .filter(|e| e.quantity.0.is_zero())
        .any(|e| {
            let inv = e.invoice_id.as_str();
            let adjustments: Decimal = ledger
                .entries
                .iter()
                .filter(of_item)
                .filter(|x| x.invoice_id.as_str() == inv && x.quantity.0.is_zero())
                .map(|x| x.amount.amount)
                .sum();
            let reductions: Decimal = credits_of(inv)
                .iter()
                .filter(|c| c.quantity.is_some_and(|q| q.0.is_zero()))
                .map(|c| c.amount.map_or(Decimal::ZERO, |a| a.amount))
                .sum();
            adjustments != reductions
        });
    if !elsewhere || adjusted {
        return;
    }
    let (mut q, mut a, mut against) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for e in ledger.entries.iter().filter(of_item) {
        if e.invoice_id.as_str() == invoice {
            q += e.quantity.0;
            a += e.amount.amount;
            if e.against_ceiling {
                against += e.amount.amount;
            }
        }
    }
    for c in credits_of(invoice) {
        q -= c.quantity.map_or(Decimal::ZERO, |x| x.0);
        a -= c.amount.map_or(Decimal::ZERO, |x| x.amount);
        against -= c.ceiling_share.map_or(Decimal::ZERO, |x| x.amount);
    }
    if q <= Decimal::ZERO || a <= Decimal::ZERO {
        return;
    }
    let half_up =
        |d: Decimal, dp: u32| d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    let d = |s: &Value| s.as_str().unwrap().parse::<Decimal>().unwrap();
    if let Some(given) = line.get("quantity").map(d) {
        if given <= q {
            let amount = if given == q {
                a
            } else {
                half_up(given * a / q, 2)
            };
            line["amount"] = money(&format!("{amount:.2}"));
        }
    } else if let Some(given) = line.get("amount").map(|m| d(&m["amount"]))
        && given <= a
    {
        let quantity = if given == a {
            q
        } else {
            half_up(given * q / a, 12).min(q)
        };
        line["quantity"] = json!(quantity.normalize().to_string());
    }
    // The part of the ceiling it gives back: the same share of this invoice's part against it.
    if let Some(amount) = line.get("amount").map(|m| d(&m["amount"]))
        && amount > Decimal::ZERO
        && amount <= a
    {
        let most = against.max(Decimal::ZERO).min(amount);
        let share = if amount == a {
            against
        } else {
            half_up(amount * against / a, 2)
        };
        let share = share.max(Decimal::ZERO).min(most);
        line["ceiling_share"] = money(&format!("{share:.2}"));
    }
}

fn money(a: &str) -> Value {
    json!({"amount": a, "currency": "USD"})
}

/// Reads the scenario's choices from bytes (0 when they run out).
struct Picker<'a>(&'a [u8], usize);

impl Picker<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.0.get(self.1).copied().unwrap_or(0);
        self.1 += 1;
        b
    }
    fn pick<'v>(&mut self, from: &[&'v str]) -> &'v str {
        from[usize::from(self.byte()) % from.len()]
    }
    fn chance(&mut self, percent: u8) -> bool {
        self.byte() % 100 < percent
    }
}

/// Both sides of one scenario: the engine, and the documents and ledger the stateless side keeps.
struct Sides {
    engine: Engine,
    key: u32,
    contract: Value,
    project: Value,
    entries: Vec<Value>,
    change_orders: Vec<Value>,
    ledger: Option<BilledLedger>,
    invoices: Vec<(String, Vec<(String, String)>)>,
    /// Each credit note issued, with the invoice it credits.
    notes: Vec<(String, String)>,
}

impl Sides {
    fn send(&mut self, source: &str, event: Value) -> OutcomeStatus {
        self.key += 1;
        let envelope: Envelope = serde_json::from_value(json!({
            "idempotency_key": format!("k{}", self.key), "correlation_id": "c", "source": source,
            "occurred_at": "2026-01-02T00:00:00Z", "event": event}))
        .unwrap();
        self.engine.apply(&envelope).unwrap().status
    }

    fn request(&self, as_of: &str) -> PreviewInvoiceRequest {
        serde_json::from_value(json!({
            "contract": self.contract, "projects": [self.project], "time_entries": self.entries,
            "change_orders": self.change_orders, "ledger": self.ledger,
            "period": {"start": "2026-01-01", "end": "2026-02-28"}, "as_of": as_of}))
        .unwrap()
    }

    /// The engine's preview and the stateless one, for the same documents.
    fn compare_previews(&self, as_of: &str) -> Result<(), String> {
        let day = Date::parse(as_of).unwrap();
        let period = Period {
            start: Date::parse("2026-01-01").unwrap(),
            end: Date::parse("2026-02-28").unwrap(),
        };
        let engine = self
            .engine
            .preview_invoice(period, day)
            .map(|p| to_canonical_string(&p).unwrap());
        let request = self.request(as_of);
        let stateless = api::preview_invoice(&request, &Limits::DEFAULT)
            .map(|p| to_canonical_string(&p).unwrap());
        match (engine, stateless) {
            (Ok(a), Ok(b)) if a == b => Ok(()),
            (Err(a), Err(b)) if a.code == b.code => Ok(()),
            (a, b) => Err(format!("engine {a:?}\nstateless {b:?}")),
        }
    }

    fn compare_ledgers(&self) -> Result<(), String> {
        let engine = self
            .engine
            .state()
            .ledger
            .as_ref()
            .map(|l| to_canonical_string(l).unwrap());
        let stateless = self
            .ledger
            .as_ref()
            .map(|l| to_canonical_string(l).unwrap());
        if engine == stateless {
            Ok(())
        } else {
            Err(format!(
                "engine ledger {engine:?}\nstateless ledger {stateless:?}"
            ))
        }
    }
}

fn scenario(bytes: &[u8]) -> Result<(), String> {
    let mut p = Picker(bytes, 0);
    let mut contract = json!({"schema_version": 1, "id": "C-1", "account_id": "A-1", "legal_entity": "US01",
        "currency": "USD", "billing_model": "time_and_materials", "status": "active",
        "start_date": "2026-01-01", "end_date": "2026-12-31",
        "rate_card": {"entries": [
            {"role": "Dev", "rate": money(p.pick(&["100.00", "142.857", "99.99"])), "effective_from": "2026-01-01"},
            {"role": "Lead", "rate": money("180.00"), "unit": p.pick(&["hour", "day"]), "effective_from": "2026-01-01"}]}});
    if p.chance(50) {
        contract["ceiling"] = json!({"amount": money(p.pick(&["900.00", "2500.00", "10000.00"])),
            "mode": p.pick(&["split", "hold_whole"])});
    }
    if p.chance(30) {
        contract["rounding"] =
            json!({"time_increment": "0.25", "time_rounding": p.pick(&["up", "down", "nearest"])});
    }
    let project = json!({"schema_version": 1, "id": "P-1", "contract_id": "C-1", "legal_entity": "US01",
        "status": "active", "tasks": [{"id": "T-1", "name": "Build"}]});
    let mut sides = Sides {
        engine: Engine::new(),
        key: 0,
        contract: contract.clone(),
        project: project.clone(),
        entries: Vec::new(),
        change_orders: Vec::new(),
        ledger: None,
        invoices: Vec::new(),
        notes: Vec::new(),
    };
    assert_eq!(
        sides.send(
            "erp",
            json!({"type": "contract.recorded", "contract": contract})
        ),
        OutcomeStatus::Applied
    );
    assert_eq!(
        sides.send(
            "psa",
            json!({"type": "project.recorded", "project": project})
        ),
        OutcomeStatus::Applied
    );
    let mut next_entry = 0;
    let mut add_entries = |sides: &mut Sides, p: &mut Picker, month: u8| {
        for _ in 0..(1 + p.byte() % 4) {
            next_entry += 1;
            let e = json!({"id": format!("TE-{next_entry:02}"), "project_id": "P-1", "task_id": "T-1",
                "resource_id": "R-1", "role": p.pick(&["Dev", "Lead"]),
                "work_date": format!("2026-{month:02}-{:02}", 1 + p.byte() % 27),
                "hours": p.pick(&["8", "3.5", "7.33", "1"]), "status": "approved"});
            assert_eq!(
                sides.send(
                    "psa",
                    json!({"type": "time_entry.recorded", "time_entry": e})
                ),
                OutcomeStatus::Applied
            );
            sides.entries.push(e);
        }
    };
    add_entries(&mut sides, &mut p, 1);
    let mut sequence = 0;
    for (step, as_of) in ["2026-02-01", "2026-02-15", "2026-03-01", "2026-03-15"]
        .iter()
        .enumerate()
    {
        // An invoice: the engine drafts it; the stateless side commits the same run.
        let invoice = format!("INV-{step}");
        let request = sides.request(as_of);
        let committed = api::commit_invoice(
            &CommitInvoiceRequest {
                schema_version: SchemaVersion,
                invoice_id: billwise_core::model::Id::new(invoice.clone()).unwrap(),
                run: request,
            },
            &Limits::DEFAULT,
        );
        let status = sides.send(
            "erp",
            json!({"type": "invoice.drafted", "invoice_id": invoice,
            "period": {"start": "2026-01-01", "end": "2026-02-28"}, "as_of": as_of}),
        );
        match committed {
            Ok(c) if !(c.preview.lines.is_empty() && c.preview.adjustments.is_empty()) => {
                if status != OutcomeStatus::Applied {
                    return Err(format!(
                        "{invoice}: the engine did not draft what commit_invoice commits ({status:?})"
                    ));
                }
                let lines = c
                    .preview
                    .lines
                    .iter()
                    .map(|l| (l.kind.as_str().to_owned(), l.source_ids[0].to_string()))
                    .collect();
                sides.invoices.push((invoice.clone(), lines));
                sides.ledger = Some(c.ledger);
                for s in ["erp", "erp"] {
                    let event = if sides.engine.state().invoices[invoice.as_str()]
                        .status
                        .as_str()
                        == "draft"
                    {
                        "invoice.approved"
                    } else {
                        "invoice.posted"
                    };
                    assert_eq!(
                        sides.send(s, json!({"type": event, "id": invoice})),
                        OutcomeStatus::Applied
                    );
                }
            }
            _ => {
                if status == OutcomeStatus::Applied {
                    return Err(format!(
                        "{invoice}: the engine drafted a run commit_invoice has nothing in or refuses"
                    ));
                }
            }
        }
        sides.compare_ledgers()?;
        // Credit notes: the engine issues one; the stateless side records the credits it recorded.
        if let Some((inv, lines)) = sides.invoices.last().cloned()
            && !lines.is_empty()
            && p.chance(60)
        {
            let (kind, item) = &lines[usize::from(p.byte()) % lines.len()];
            let line = if p.chance(50) {
                json!({"kind": kind, "item_id": item, "quantity": p.pick(&["0.5", "1", "2.25"])})
            } else {
                json!({"kind": kind, "item_id": item, "amount": money(p.pick(&["10.00", "33.33", "100.00"]))})
            };
            let before = sides
                .engine
                .state()
                .ledger
                .as_ref()
                .map_or(0, |l| l.credits.len());
            let status = sides.send(
                "erp",
                json!({"type": "credit_note.issued", "credit_note_id": format!("CN-{step}"),
                "invoice_id": inv, "lines": [line]}),
            );
            if status == OutcomeStatus::Applied {
                let ledger = sides.ledger.clone().unwrap();
                let mut line = line;
                as_the_invoice_priced(&ledger, &inv, &sides.notes, &mut line);
                sides.notes.push((format!("CN-{step}"), inv.clone()));
                let recorded = serde_json::from_value(json!([line
                    .as_object()
                    .unwrap()
                    .clone()
                    .into_iter()
                    .chain([("credit_note_id".to_owned(), json!(format!("CN-{step}")))])
                    .collect::<serde_json::Map<_, _>>()]))
                .unwrap();
                let stateless = api::record_credit(
                    &RecordCreditRequest {
                        schema_version: SchemaVersion,
                        ledger,
                        currency: Currency::Usd,
                        credits: recorded,
                    },
                    &Limits::DEFAULT,
                )
                .map_err(|e| format!("record_credit refused a credit the engine issued: {e:?}"))?;
                sides.ledger = Some(stateless);
                let after = sides
                    .engine
                    .state()
                    .ledger
                    .as_ref()
                    .map_or(0, |l| l.credits.len());
                if after != before + 1 {
                    return Err("the engine recorded no credit for an applied credit note".into());
                }
                sides.compare_ledgers()?;
            }
        }
        sides.compare_previews(as_of)?;
        // More work, and sometimes a change order approved between invoices.
        add_entries(&mut sides, &mut p, 2);
        if p.chance(40) {
            sequence += 1;
            let co = json!({"schema_version": 1, "id": format!("CO-{sequence}"), "contract_id": "C-1",
                "sequence": sequence, "status": "submitted", "effective_date": "2026-01-15",
                "retroactive": p.chance(50),
                "changes": [{"type": "set_rate", "role": "Dev", "rate": money(p.pick(&["120.00", "90.00"]))}]});
            assert_eq!(
                sides.send(
                    "crm",
                    json!({"type": "change_order.recorded", "change_order": co})
                ),
                OutcomeStatus::Applied
            );
            assert_eq!(
                sides.send(
                    "crm",
                    json!({"type": "change_order.approved", "id": format!("CO-{sequence}")})
                ),
                OutcomeStatus::Applied
            );
            let held =
                sides.engine.state().change_orders[format!("CO-{sequence}").as_str()].clone();
            sides
                .change_orders
                .push(serde_json::to_value(&*held).unwrap());
        }
        sides.compare_previews(as_of)?;
    }
    let _ = billing::preview_invoice(&sides.request("2026-04-01")).map_err(|e| format!("{e:?}"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/engine_vs_stateless.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_engine_and_the_stateless_operations_give_the_same_previews_and_ledgers(
        bytes in prop::collection::vec(any::<u8>(), 0..200)
    ) {
        if let Err(e) = scenario(&bytes) {
            prop_assert!(false, "{}", e);
        }
    }
}
