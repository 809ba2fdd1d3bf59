//! Tests of the run as a whole (the order machinery has its own, in `order`).

use super::*;
use crate::billing::types::HoldReason;

#[test]
fn items_after_the_ceiling_is_crossed_are_held_without_adding_them_to_what_it_has_taken() {
    // 60 h at 1e27 takes 6e28 of a 7e28 ceiling; 15 h more would pass it, and so is held
    // and crosses it. 20 h after that is held too: adding it to what the ceiling has taken
    // (8e28) would pass the largest decimal, but nothing later is added once it is crossed.
    let entry = |id: &str, day: u8, hours: &str| {
        format!(
            r#"{{"id":"{id}","project_id":"P-1","task_id":"T-1","resource_id":"R-1","role":"Lead","work_date":"2026-01-{day:02}","hours":"{hours}","status":"approved"}}"#
        )
    };
    let json = format!(
        r#"{{"schema_version":1,"contract":{{"schema_version":1,"kind":"contract","id":"C-1","account_id":"A-1","legal_entity":"US01","currency":"USD","billing_model":"time_and_materials","status":"active","start_date":"2026-01-01","end_date":"2026-12-31","rate_card":{{"entries":[{{"role":"Lead","rate":{{"amount":"1000000000000000000000000000","currency":"USD"}},"effective_from":"2026-01-01"}}]}},"ceiling":{{"amount":{{"amount":"70000000000000000000000000000","currency":"USD"}},"mode":"hold_whole"}}}},"projects":[{{"schema_version":1,"kind":"project","id":"P-1","contract_id":"C-1","legal_entity":"US01","status":"active"}}],"time_entries":[{},{},{}],"period":{{"start":"2026-01-01","end":"2026-01-31"}},"as_of":"2026-02-01"}}"#,
        entry("TE-1", 5, "60"),
        entry("TE-2", 6, "15"),
        entry("TE-3", 7, "20"),
    );
    let req: PreviewInvoiceRequest =
        crate::json::from_slice(json.as_bytes(), &crate::json::Limits::DEFAULT).unwrap();
    let preview = preview_invoice(&req).unwrap();
    assert_eq!(preview.lines.len(), 1);
    let held: Vec<(&str, HoldReason)> = preview
        .held
        .iter()
        .map(|h| (h.id.as_str(), h.reason))
        .collect();
    assert_eq!(
        held,
        [
            ("TE-2", HoldReason::CeilingExceeded),
            ("TE-3", HoldReason::CeilingExceeded)
        ]
    );
}
