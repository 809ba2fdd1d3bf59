//! Readable rendering of an invoice preview.

use std::fmt::Write;

use billwise_core::billing::{HoldReason, InvoicePreview, LineUnit};
use billwise_core::model::Money;

fn money(m: &Money) -> String {
    let s = m.amount_string();
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let (int, frac) = digits
        .split_once('.')
        .map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn gauge(percent: f64) -> String {
    let filled = ((percent / 5.0).round() as usize).min(20);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(20 - filled))
}

/// Renders the preview for a person.
pub fn render(p: &InvoicePreview, verbose: bool) -> String {
    let mut s = String::new();
    let cur = p.currency;
    let _ = writeln!(
        s,
        "Invoice preview for {}  period {} to {}  as of {}  (contract version {})",
        p.contract_id, p.period.start, p.period.end, p.as_of, p.contract_version
    );
    let _ = writeln!(s, "\nLines ({})", p.lines.len());
    for l in &p.lines {
        let unit = match l.unit {
            LineUnit::Hour => "h",
            LineUnit::Day => "d",
            LineUnit::Item => " ",
        };
        let id = l.source_ids.first().map(|i| i.as_str()).unwrap_or_default();
        let worked = match (&l.worked_hours, &l.billed_hours) {
            (Some(w), Some(b)) if w != b => format!(" (worked {w} h, billed {b} h)"),
            _ => String::new(),
        };
        let split = if l.ceiling_split {
            "  [split at ceiling]"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {}  {:<9} {:<10} {:<48} {:>8} {unit} x {:>10} = {:>12}  {} v{}{worked}{split}",
            l.date,
            l.kind.as_str(),
            id,
            l.description.to_str().chars().take(48).collect::<String>(),
            l.quantity.to_string(),
            money(&l.unit_price),
            money(&l.amount),
            l.rate_source,
            l.contract_version
        );
    }
    if !p.adjustments.is_empty() {
        let _ = writeln!(
            s,
            "\nAdjustments for retroactive change orders ({})",
            p.adjustments.len()
        );
        for a in &p.adjustments {
            let _ = writeln!(
                s,
                "  {}  {:<10} {} h: {} -> {} per h  = {:>12}  ({})",
                a.date,
                a.item_id.as_str(),
                a.quantity,
                money(&a.rate_before),
                money(&a.rate_after),
                money(&a.amount),
                a.change_order_id
            );
        }
    }
    let _ = writeln!(s, "\nHeld ({})", p.held.len());
    for reason in HoldReason::ALL {
        let items: Vec<_> = p.held.iter().filter(|h| h.reason == *reason).collect();
        if items.is_empty() {
            continue;
        }
        let total = p
            .summary
            .held_by_reason
            .iter()
            .find(|h| h.reason == *reason)
            .map(|h| money(&h.amount))
            .unwrap_or_default();
        if *reason == HoldReason::AlreadyBilled && !verbose {
            let _ = writeln!(
                s,
                "  already_billed ({} item(s) billed by earlier runs; --verbose lists them)",
                items.len()
            );
            continue;
        }
        let _ = writeln!(
            s,
            "  {} ({} item(s), {} {cur} where known)",
            reason.as_str(),
            items.len(),
            total
        );
        for h in items {
            let amount = h
                .amount
                .as_ref()
                .map(|m| format!("  [{}]", money(m)))
                .unwrap_or_default();
            let _ = writeln!(s, "    {:<10} {}{amount}", h.id.as_str(), h.sentence);
        }
    }
    if let Some(c) = &p.ceiling {
        let pct: f64 = c.utilisation_percent.to_string().parse().unwrap_or(0.0);
        let _ = writeln!(
            s,
            "\nCeiling {} {}%  limit {}  billed before {}  this run {}  remaining {} ({})",
            gauge(pct),
            c.utilisation_percent,
            money(&c.limit),
            money(&c.billed_before),
            money(&c.this_run),
            money(&c.remaining),
            match c.scope {
                billwise_core::model::CeilingScope::Fees => "fees",
                billwise_core::model::CeilingScope::FeesAndExpenses => "fees and expenses",
            }
        );
    }
    if let Some(r) = &p.retainer {
        let _ = writeln!(
            s,
            "\nRetainer {}  drawn before {}  drawn now {}  remaining {}  excess invoiced {}",
            money(&r.amount),
            money(&r.drawn_before),
            money(&r.drawn_this_run),
            money(&r.remaining),
            money(&r.excess)
        );
    }
    let t = &p.totals;
    let _ = writeln!(
        s,
        "\nTotals  time {}  expenses {}  milestones {}  adjustments {}{}  TOTAL {} {cur}",
        money(&t.time),
        money(&t.expenses),
        money(&t.milestones),
        money(&t.adjustments),
        if t.retainer_drawdown.amount.is_zero() {
            String::new()
        } else {
            format!("  retainer {}", money(&t.retainer_drawdown))
        },
        money(&t.total)
    );
    let aged: Vec<String> = p
        .summary
        .unbilled_approved
        .iter()
        .filter(|b| b.entries > 0)
        .map(|b| format!("{} d: {} h / {}", b.bucket, b.hours, money(&b.amount)))
        .collect();
    if !aged.is_empty() {
        let _ = writeln!(s, "Unbilled approved time  {}", aged.join("  "));
    }
    if let Some(b) = &p.summary.backlog {
        let _ = writeln!(
            s,
            "Backlog (contract value not yet billed)  {} {cur}",
            money(b)
        );
    }
    s
}
