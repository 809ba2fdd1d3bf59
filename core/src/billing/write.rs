//! An invoice preview written as canonical JSON by hand.
//!
//! A run over a million entries makes a million lines and held items. Through serde, each of them
//! allocated a string per decimal and date, went through `fmt` for every number, and had every key
//! copied and compared by the sorted-keys check: writing took longer than the run itself. Here the
//! lines and held items are written field by field, keys as constants in their sorted order,
//! dates and decimals straight into the output; everything else (adjustments, ceiling, summary,
//! totals: a few objects per run) still goes through [`crate::json::to_canonical_string`]. It
//! writes bytes into a `Vec<u8>` and checks them as UTF-8 once, when they become the `String`. The
//! bytes are the same as `to_canonical_string(&preview)`: the tests compare the two on every
//! billing case of the spec and on random runs.

use super::types::{HeldItem, InvoicePreview, LineUnit, PreviewLine};
use crate::error::Error;
use crate::json::{to_canonical_string, write_string};
use crate::model::decimal::write_at_scale;
use crate::model::{Date, Money};
use crate::out::{Out, put_u32};
use rust_decimal::Decimal;
use serde::Serialize;

/// The canonical JSON of `preview`: the bytes of `to_canonical_string(preview)`, written faster.
pub fn preview_json(preview: &InvoicePreview<'_>) -> Result<String, Error> {
    let mut out: Vec<u8> = Vec::with_capacity(
        4096 + preview.lines.len().saturating_mul(320) + preview.held.len().saturating_mul(200),
    );
    out.put("{\"adjustments\":");
    value(&preview.adjustments, &mut out)?;
    out.put(",\"as_of\":");
    date(preview.as_of, &mut out);
    if let Some(c) = &preview.ceiling {
        out.put(",\"ceiling\":");
        value(c, &mut out)?;
    }
    out.put(",\"contract_id\":");
    write_string(preview.contract_id.as_str(), &mut out);
    out.put(",\"contract_version\":");
    put_u32(preview.contract_version, &mut out);
    out.put(",\"currency\":");
    write_string(preview.currency.code(), &mut out);
    out.put(",\"held\":[");
    for (i, h) in preview.held.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        held(h, &mut out);
    }
    out.put("],\"lines\":[");
    for (i, l) in preview.lines.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        line(l, &mut out);
    }
    out.put("],\"period\":");
    value(&preview.period, &mut out)?;
    if let Some(r) = &preview.retainer {
        out.put(",\"retainer\":");
        value(r, &mut out)?;
    }
    out.put(",\"schema_version\":");
    value(&preview.schema_version, &mut out)?;
    out.put(",\"summary\":");
    value(&preview.summary, &mut out)?;
    out.put(",\"totals\":");
    value(&preview.totals, &mut out)?;
    out.push(b'}');
    // Every piece written was a `str` or ASCII: the check cannot fail, and runs once.
    String::from_utf8(out)
        .map_err(|e| Error::internal(format!("the preview's JSON is not UTF-8: {e}")))
}

fn value<T: Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    out.put(&to_canonical_string(v)?);
    Ok(())
}

fn date(d: Date, out: &mut Vec<u8>) {
    out.push(b'"');
    d.write_to(out);
    out.push(b'"');
}

fn decimal(d: Decimal, out: &mut Vec<u8>) {
    out.push(b'"');
    write_at_scale(d, 0, out);
    out.push(b'"');
}

fn money(m: Money, out: &mut Vec<u8>) {
    out.put("{\"amount\":\"");
    write_at_scale(m.amount, m.currency.minor_units(), out);
    out.put("\",\"currency\":");
    write_string(m.currency.code(), out);
    out.push(b'}');
}

fn line(l: &PreviewLine<'_>, out: &mut Vec<u8>) {
    out.put("{\"amount\":");
    money(l.amount, out);
    if let Some(h) = l.billed_hours {
        out.put(",\"billed_hours\":");
        decimal(h.0, out);
    }
    if let Some(q) = l.billed_quantity {
        out.put(",\"billed_quantity\":");
        decimal(q.0, out);
    }
    if l.ceiling_split {
        out.put(",\"ceiling_split\":true");
    }
    out.put(",\"contract_version\":");
    put_u32(l.contract_version, out);
    out.put(",\"date\":");
    date(l.date, out);
    out.put(",\"description\":");
    l.description.write_json(out);
    out.put(",\"kind\":\"");
    out.put(l.kind.as_str());
    out.put("\",\"quantity\":");
    decimal(l.quantity.0, out);
    out.put(",\"rate_source\":");
    l.rate_source.write_json(out);
    out.put(",\"source_ids\":[");
    for (i, id) in l.source_ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(id.as_str(), out);
    }
    out.put("],\"unit\":\"");
    out.put(match l.unit {
        LineUnit::Hour => "hour",
        LineUnit::Day => "day",
        LineUnit::Item => "item",
    });
    out.put("\",\"unit_price\":");
    money(l.unit_price, out);
    if let Some(h) = l.worked_hours {
        out.put(",\"worked_hours\":");
        decimal(h.0, out);
    }
    out.push(b'}');
}

fn held(h: &HeldItem<'_>, out: &mut Vec<u8>) {
    out.push(b'{');
    if let Some(a) = h.amount {
        out.put("\"amount\":");
        money(a, out);
        out.push(b',');
    }
    if let Some(co) = &h.change_order_id {
        out.put("\"change_order_id\":");
        write_string(co.as_str(), out);
        out.push(b',');
    }
    out.put("\"date\":");
    date(h.date, out);
    out.put(",\"id\":");
    write_string(h.id.as_str(), out);
    out.put(",\"kind\":\"");
    out.put(h.kind.as_str());
    out.push(b'"');
    if !h.problems.is_empty() {
        out.put(",\"problems\":[");
        for (i, p) in h.problems.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.put("{\"code\":\"");
            out.put(p.code.as_str());
            out.put("\",\"message\":");
            write_string(&p.message, out);
            out.put(",\"path\":");
            write_string(&p.path, out);
            out.push(b'}');
        }
        out.push(b']');
    }
    out.put(",\"reason\":\"");
    out.put(h.reason.as_str());
    out.put("\",\"sentence\":");
    h.sentence.write_json(out);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{PreviewInvoiceRequest, preview_invoice};
    use crate::json::{Limits, from_str};

    /// Every `preview_invoice` case of the spec whose run succeeds: the hand-written text equals
    /// serde's.
    #[test]
    fn the_hand_written_preview_is_byte_for_byte_the_serde_one_on_every_spec_case() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/cases");
        let mut compared = 0;
        let mut files: Vec<_> = walk(&dir);
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let Ok(case) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let Some(input) = case
                .get("input")
                .filter(|_| case.get("op").and_then(|o| o.as_str()) == Some("preview_invoice"))
            else {
                continue;
            };
            let Ok(req) = from_str::<PreviewInvoiceRequest>(&input.to_string(), &Limits::DEFAULT)
            else {
                continue;
            };
            let Ok(preview) = preview_invoice(&req) else {
                continue;
            };
            assert_eq!(
                preview_json(&preview).ok(),
                to_canonical_string(&preview).ok(),
                "{}",
                path.display()
            );
            compared += 1;
        }
        assert!(compared >= 50, "only {compared} preview cases compared");
    }

    /// Ids, roles and task names with quotes, backslashes, control characters, DEL and non-ASCII
    /// text come out with the same escapes both ways.
    #[test]
    fn text_needing_escapes_is_written_like_serde_writes_it() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../spec/cases/billing/preview_invoice");
        let mut files = walk(&dir);
        files.sort();
        // Ids take no control characters; roles and descriptions take anything.
        let in_ids = "q\"\\/é\u{2028}😀";
        let anywhere = "q\"\\/\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é\u{2028}😀";
        let mut compared = 0;
        for path in files.iter().take(40) {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let Ok(mut case) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let Some(input) = case.get_mut("input") else {
                continue;
            };
            for list in ["time_entries", "expenses", "milestones"] {
                for item in input
                    .get_mut(list)
                    .and_then(|l| l.as_array_mut())
                    .into_iter()
                    .flatten()
                {
                    for key in ["id", "role", "description"] {
                        if let Some(serde_json::Value::String(s)) = item.get_mut(key) {
                            s.push_str(if key == "id" { in_ids } else { anywhere });
                        }
                    }
                }
            }
            let Ok(req) = from_str::<PreviewInvoiceRequest>(&input.to_string(), &Limits::DEFAULT)
            else {
                continue;
            };
            let Ok(preview) = preview_invoice(&req) else {
                continue;
            };
            let fast = preview_json(&preview).unwrap_or_default();
            assert_eq!(Some(&fast), to_canonical_string(&preview).ok().as_ref());
            if fast.contains("q\\\"\\\\/é") && fast.contains("\\u0001\\u001f\\u007f") {
                compared += 1;
            }
        }
        assert!(
            compared >= 10,
            "only {compared} previews with escapes compared"
        );
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
        out
    }
}
