use std::collections::BTreeSet;

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::model::{Dec, System};

fn ctx() -> GuardContext {
    GuardContext::default()
}

fn balance(s: &str) -> GuardContext {
    GuardContext {
        balance_after: Some(s.parse().unwrap()),
        ..ctx()
    }
}

/// Structural checks every machine must pass; returns the problems found.
fn problems<S: StateName + Ord>(m: &Machine<S>) -> Vec<String> {
    let mut out = Vec::new();
    let name = m.name;
    for t in m.transitions {
        if m.event(t.event).is_none() {
            out.push(format!(
                "{name}: transition on undeclared event `{}`",
                t.event
            ));
        }
    }
    let mut seen_events = BTreeSet::new();
    for e in m.events {
        if !seen_events.insert(e.name) {
            out.push(format!("{name}: event `{}` declared twice", e.name));
        }
        if !m.transitions.iter().any(|t| t.event == e.name) {
            out.push(format!("{name}: event `{}` is never used", e.name));
        }
        if e.senders.is_empty() {
            out.push(format!("{name}: event `{}` has no sender", e.name));
        }
        for s in e.senders {
            if System::new(*s).is_err() {
                out.push(format!("{name}: `{s}` is not a system name"));
            }
        }
        if !e.name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            out.push(format!("{name}: event `{}` is not snake_case", e.name));
        }
    }
    for s in S::STATES {
        let leaves = m.transitions.iter().any(|t| t.from == *s);
        if leaves == m.is_terminal(*s) {
            out.push(format!(
                "{name}: `{}` is {}declared terminal but {}has outgoing transitions",
                s.name(),
                if m.is_terminal(*s) { "" } else { "not " },
                if leaves { "" } else { "no " }
            ));
        }
    }
    // Reachability from the initial state.
    let mut reached = BTreeSet::from([m.initial]);
    loop {
        let before = reached.len();
        for t in m.transitions {
            if reached.contains(&t.from) {
                reached.insert(t.to);
            }
        }
        if reached.len() == before {
            break;
        }
    }
    for s in S::STATES {
        if !reached.contains(s) {
            out.push(format!("{name}: `{}` cannot be reached", s.name()));
        }
    }
    // Candidates sharing a state and event must be told apart by guards.
    for (i, a) in m.transitions.iter().enumerate() {
        for b in m.transitions.iter().skip(i + 1) {
            if a.from == b.from && a.event == b.event {
                if a.guards.is_empty() || b.guards.is_empty() {
                    out.push(format!(
                        "{name}: `{}` on `{}` has several transitions and one without a guard",
                        a.from.name(),
                        a.event
                    ));
                }
                if a.to == b.to {
                    out.push(format!(
                        "{name}: `{}` on `{}` twice to `{}`",
                        a.from.name(),
                        a.event,
                        a.to.name()
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_machine_is_well_formed() {
    let mut all = Vec::new();
    all.extend(problems(&OPPORTUNITY));
    all.extend(problems(&PROJECT));
    all.extend(problems(&TIME_ENTRY));
    all.extend(problems(&EXPENSE));
    all.extend(problems(&MILESTONE));
    all.extend(problems(&CHANGE_ORDER));
    all.extend(problems(&INVOICE));
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn every_machine_name_reaches_a_machine_of_that_name() {
    for name in MachineName::ALL {
        let d = name.describe();
        assert_eq!(d.name, *name);
        assert_eq!(MachineName::parse(name.as_str()), Some(*name));
        assert!(!d.transitions.is_empty());
    }
}

#[test]
fn time_entry_follows_its_happy_path_to_billed() {
    use WorkStatus::*;
    let steps = [
        (Draft, "submit", "psa", Submitted),
        (Submitted, "approve", "psa", Approved),
        (Approved, "bill", "billing", Billed),
    ];
    for (from, event, source, to) in steps {
        let o = transition(&TIME_ENTRY, from, event, source, &ctx()).unwrap();
        assert_eq!(o.to, to, "{from} on {event}");
    }
}

#[test]
fn rejected_time_entry_can_be_resubmitted() {
    let o = transition(&TIME_ENTRY, WorkStatus::Submitted, "reject", "psa", &ctx()).unwrap();
    assert_eq!(o.to, WorkStatus::Rejected);
    let o = transition(&TIME_ENTRY, WorkStatus::Rejected, "submit", "psa", &ctx()).unwrap();
    assert_eq!(o.to, WorkStatus::Submitted);
}

#[test]
fn approved_time_entry_is_recalled_only_before_billing() {
    let unbilled = GuardContext {
        billed: Some(false),
        ..ctx()
    };
    let o = transition(
        &TIME_ENTRY,
        WorkStatus::Approved,
        "recall",
        "psa",
        &unbilled,
    )
    .unwrap();
    assert_eq!(o.to, WorkStatus::Submitted);
    assert_eq!(o.effects, &[Effect::BillingIneligible]);

    let billed = GuardContext {
        billed: Some(true),
        ..ctx()
    };
    let r = transition(&TIME_ENTRY, WorkStatus::Approved, "recall", "psa", &billed).unwrap_err();
    assert_eq!(r.code, ErrorCode::MachineGuardFailed);
    assert_eq!(r.failed_guards, vec![Guard::NotBilled]);
    assert!(r.message.contains("`not_billed`"), "{}", r.message);
}

#[test]
fn a_guard_without_its_fact_fails_and_names_the_missing_fact() {
    let r = transition(&TIME_ENTRY, WorkStatus::Approved, "recall", "psa", &ctx()).unwrap_err();
    assert_eq!(r.code, ErrorCode::MachineGuardFailed);
    assert!(r.message.contains("`billed`"), "{}", r.message);
}

#[test]
fn billed_time_entry_goes_back_to_approved_only_by_a_credit() {
    use WorkStatus::*;
    let events_from_billed = TIME_ENTRY.events_from(Billed);
    assert_eq!(events_from_billed, vec!["credit_issued"]);
    for event in ["recall", "approve", "submit", "reject", "bill"] {
        let r = transition(&TIME_ENTRY, Billed, event, "psa", &ctx()).unwrap_err();
        assert_eq!(r.code, ErrorCode::MachineTransitionNotAllowed, "{event}");
        assert_eq!(r.allowed_events, vec!["credit_issued"]);
    }
    let o = transition(&TIME_ENTRY, Billed, "credit_issued", "erp", &ctx()).unwrap();
    assert_eq!(o.to, Approved);
    assert_eq!(o.effects, &[Effect::RecordCredit, Effect::BillingEligible]);
}

#[test]
fn only_the_psa_may_approve_time() {
    let r = transition(&TIME_ENTRY, WorkStatus::Submitted, "approve", "erp", &ctx()).unwrap_err();
    assert_eq!(r.code, ErrorCode::MachineSourceNotAllowed);
    assert_eq!(r.allowed_sources, &["psa"]);
    assert_eq!(
        r.message,
        "event `approve` of `time_entry` may only be sent by `psa`, not `erp`"
    );
}

#[test]
fn expense_shares_the_time_entry_lifecycle() {
    assert_eq!(EXPENSE.transitions, TIME_ENTRY.transitions);
    assert_eq!(EXPENSE.entity, "expense");
}

#[test]
fn milestone_rejected_after_completion_goes_back_to_pending() {
    use MilestoneStatus::*;
    let o = transition(&MILESTONE, Completed, "reject", "psa", &ctx()).unwrap();
    assert_eq!(o.to, Rejected);
    let o = transition(&MILESTONE, Rejected, "reopen", "psa", &ctx()).unwrap();
    assert_eq!(o.to, Pending);
    let r = transition(&MILESTONE, Pending, "bill", "billing", &ctx()).unwrap_err();
    assert_eq!(r.code, ErrorCode::MachineTransitionNotAllowed);
}

#[test]
fn invoice_payment_goes_to_partially_paid_or_paid_by_the_balance_it_leaves() {
    use InvoiceStatus::*;
    let o = transition(
        &INVOICE,
        Posted,
        "payment_received",
        "billing",
        &balance("100.00"),
    )
    .unwrap();
    assert_eq!(o.to, PartiallyPaid);
    let o = transition(
        &INVOICE,
        PartiallyPaid,
        "payment_received",
        "billing",
        &balance("0.00"),
    )
    .unwrap();
    assert_eq!(o.to, Paid);
    assert_eq!(o.effects, &[Effect::RecordPayment, Effect::CloseReceivable]);
}

#[test]
fn an_overpayment_fails_both_balance_guards() {
    let r = transition(
        &INVOICE,
        InvoiceStatus::Posted,
        "payment_received",
        "billing",
        &balance("-5.00"),
    )
    .unwrap_err();
    assert_eq!(r.code, ErrorCode::MachineGuardFailed);
    assert_eq!(
        r.failed_guards,
        vec![Guard::BalanceRemains, Guard::BalanceSettled]
    );
}

#[test]
fn a_credit_note_reverses_a_posted_invoice_in_part_or_in_full() {
    use InvoiceStatus::*;
    let o = transition(&INVOICE, Posted, "credit_issued", "erp", &balance("400")).unwrap();
    assert_eq!(o.to, Posted);
    assert_eq!(o.effects, &[Effect::RecordCredit]);
    let o = transition(&INVOICE, Posted, "credit_issued", "erp", &balance("0")).unwrap();
    assert_eq!(o.to, Credited);
    for s in [Draft, Approved, Voided, Credited, Paid] {
        let r = transition(&INVOICE, s, "credit_issued", "erp", &balance("0")).unwrap_err();
        assert_eq!(r.code, ErrorCode::MachineTransitionNotAllowed, "{s}");
    }
}

#[test]
fn only_draft_or_approved_invoices_can_be_voided() {
    for s in InvoiceStatus::ALL {
        let got = transition(&INVOICE, *s, "void", "erp", &ctx());
        let expected = matches!(s, InvoiceStatus::Draft | InvoiceStatus::Approved);
        assert_eq!(got.is_ok(), expected, "{s}");
    }
}

#[test]
fn project_toggles_between_active_and_on_hold() {
    use ProjectStatus::*;
    assert_eq!(
        transition(&PROJECT, Active, "hold", "psa", &ctx())
            .unwrap()
            .to,
        OnHold
    );
    assert_eq!(
        transition(&PROJECT, OnHold, "resume", "psa", &ctx())
            .unwrap()
            .to,
        Active
    );
    let r = transition(&PROJECT, OnHold, "complete", "psa", &ctx()).unwrap_err();
    assert_eq!(r.code, ErrorCode::MachineTransitionNotAllowed);
}

#[test]
fn change_orders_apply_only_in_sequence() {
    let next = GuardContext {
        sequence: Some(2),
        last_applied_sequence: Some(1),
        ..ctx()
    };
    let o = transition(
        &CHANGE_ORDER,
        ChangeOrderStatus::Approved,
        "apply",
        "erp",
        &next,
    )
    .unwrap();
    assert_eq!(o.to, ChangeOrderStatus::Applied);
    assert_eq!(o.effects, &[Effect::NewContractVersion]);
    let skip = GuardContext {
        sequence: Some(3),
        last_applied_sequence: Some(1),
        ..ctx()
    };
    let r = transition(
        &CHANGE_ORDER,
        ChangeOrderStatus::Approved,
        "apply",
        "erp",
        &skip,
    )
    .unwrap_err();
    assert_eq!(r.failed_guards, vec![Guard::NextInSequence]);
    assert!(
        r.message.contains("the next to apply is 2"),
        "{}",
        r.message
    );
    let r = transition(
        &CHANGE_ORDER,
        ChangeOrderStatus::Submitted,
        "apply",
        "erp",
        &next,
    )
    .unwrap_err();
    assert_eq!(r.code, ErrorCode::MachineTransitionNotAllowed);
}

#[test]
fn terminal_states_accept_no_event() {
    for name in MachineName::ALL {
        let d = name.describe();
        for s in &d.terminal {
            for e in &d.events {
                let sender = e.senders.first().unwrap();
                let r = name.transition(s, &e.name, sender, &ctx()).unwrap();
                assert_eq!(
                    r.unwrap_err().code,
                    ErrorCode::MachineTransitionNotAllowed,
                    "{name} {s} {}",
                    e.name
                );
            }
        }
    }
}

#[test]
fn unknown_state_or_event_names_are_input_errors_at_their_path() {
    let e = MachineName::TimeEntry
        .transition("approvd", "recall", "psa", &ctx())
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InputInvalidValue);
    assert_eq!(e.path, "/state");
    let e = MachineName::TimeEntry
        .transition("approved", "pay", "psa", &ctx())
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InputInvalidValue);
    assert_eq!(e.path, "/event");
}

#[test]
fn mermaid_diagram_has_one_arrow_per_transition_and_marks_guards() {
    let m = mermaid(&TIME_ENTRY);
    assert!(m.starts_with("stateDiagram-v2\n"));
    assert!(m.contains("    [*] --> draft\n"));
    assert!(m.contains("    approved --> submitted: recall [not_billed]\n"));
    let arrows = m
        .lines()
        .filter(|l| l.contains(" --> ") && !l.contains("[*]"))
        .count();
    assert_eq!(arrows, TIME_ENTRY.transitions.len());
    let inv = mermaid(&INVOICE);
    assert!(inv.contains("    paid --> [*]\n"));
}

#[test]
fn guard_check_reads_only_its_own_fact() {
    let c = GuardContext {
        billed: Some(false),
        balance_after: Some(Dec(Decimal::ZERO)),
        sequence: Some(1),
        last_applied_sequence: Some(0),
        unbilled_items: Some(0),
    };
    for g in Guard::ALL {
        let pass = !matches!(g, Guard::BalanceRemains);
        assert_eq!(g.check(&c).is_ok(), pass, "{g}");
    }
    let overflow = GuardContext {
        sequence: Some(0),
        last_applied_sequence: Some(u32::MAX),
        ..ctx()
    };
    assert!(Guard::NextInSequence.check(&overflow).is_err());
}

fn check_any<S: StateName>(
    m: &Machine<S>,
    state: usize,
    event: usize,
    source: usize,
    c: &GuardContext,
) -> Result<(), TestCaseError> {
    let state = *S::STATES.get(state % S::STATES.len()).unwrap();
    let events: Vec<&str> = m.events.iter().map(|e| e.name).chain(["nope"]).collect();
    let event = events.get(event % events.len()).unwrap();
    let sources = ["psa", "erp", "crm", "billing", "other"];
    let source = sources.get(source % sources.len()).unwrap();
    let first = transition(m, state, event, source, c);
    prop_assert_eq!(&first, &transition(m, state, event, source, c));
    match first {
        Ok(o) => {
            prop_assert!(m.transitions.iter().any(|t| t.from == state
                && t.event == *event
                && t.to == o.to
                && t.guards == o.guards));
            prop_assert!(m.event(event).unwrap().senders.contains(source));
            for g in o.guards {
                prop_assert!(g.check(c).is_ok());
            }
        }
        Err(r) => {
            let exists = m
                .transitions
                .iter()
                .any(|t| t.from == state && t.event == *event);
            prop_assert_eq!(r.code == ErrorCode::MachineTransitionNotAllowed, !exists);
            let quoted = format!("`{event}`");
            prop_assert!(r.message.contains(&quoted));
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn transition_is_pure_and_only_takes_declared_arrows(
        state in 0usize..16,
        event in 0usize..16,
        source in 0usize..8,
        c in guards::any_context_strategy(),
    ) {
        check_any(&OPPORTUNITY, state, event, source, &c)?;
        check_any(&PROJECT, state, event, source, &c)?;
        check_any(&TIME_ENTRY, state, event, source, &c)?;
        check_any(&MILESTONE, state, event, source, &c)?;
        check_any(&CHANGE_ORDER, state, event, source, &c)?;
        check_any(&INVOICE, state, event, source, &c)?;
    }
}
