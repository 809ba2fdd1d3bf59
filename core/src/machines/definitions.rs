//! The lifecycles, as data. `spec/domain/lifecycles.md` explains each one; `spec/machines/` holds
//! their generated JSON and diagrams.

use super::{Effect, EventSpec, Guard, Machine, MachineName, Transition};
use crate::model::{
    ChangeOrderStatus as Co, InvoiceStatus as Inv, MilestoneStatus as Ms, OpportunityStage as Opp,
    ProjectStatus as Prj, WorkStatus as Work,
};

const CRM: &[&str] = &["crm"];
const PSA: &[&str] = &["psa"];
const ERP: &[&str] = &["erp"];
const BILLING: &[&str] = &["billing"];
const CRM_PSA: &[&str] = &["crm", "psa"];
const ERP_BILLING: &[&str] = &["erp", "billing"];

const fn ev(
    name: &'static str,
    senders: &'static [&'static str],
    description: &'static str,
) -> EventSpec {
    EventSpec {
        name,
        senders,
        description,
    }
}

const fn t<S: Copy>(
    from: S,
    event: &'static str,
    to: S,
    guards: &'static [Guard],
    effects: &'static [Effect],
) -> Transition<S> {
    Transition {
        from,
        event,
        to,
        guards,
        effects,
    }
}

// Opportunity: forward through the stages, back one stage at a time, lost from any open stage,
// and a lost opportunity may be reopened. Only a won opportunity is final.

const OPPORTUNITY_EVENTS: &[EventSpec] = &[
    ev(
        "qualify",
        CRM,
        "the opportunity is qualified as a real need with a buyer",
    ),
    ev("propose", CRM, "a proposal is sent"),
    ev("negotiate", CRM, "the customer negotiates terms"),
    ev("win", CRM, "the customer accepts; the opportunity is won"),
    ev("lose", CRM, "the opportunity is lost or abandoned"),
    ev("revert", CRM, "the opportunity goes back one stage"),
    ev("reopen", CRM, "a lost opportunity is revived"),
];

/// The sales opportunity.
pub const OPPORTUNITY: Machine<Opp> = Machine {
    name: MachineName::Opportunity,
    entity: "opportunity",
    description: "a sales opportunity, owned by the CRM, from prospecting to won or lost",
    initial: Opp::Prospecting,
    terminal: &[Opp::ClosedWon],
    events: OPPORTUNITY_EVENTS,
    transitions: &[
        t(Opp::Prospecting, "qualify", Opp::Qualification, &[], &[]),
        t(Opp::Qualification, "propose", Opp::Proposal, &[], &[]),
        t(Opp::Proposal, "negotiate", Opp::Negotiation, &[], &[]),
        t(
            Opp::Proposal,
            "win",
            Opp::ClosedWon,
            &[],
            &[Effect::StartActivation],
        ),
        t(
            Opp::Negotiation,
            "win",
            Opp::ClosedWon,
            &[],
            &[Effect::StartActivation],
        ),
        t(Opp::Prospecting, "lose", Opp::ClosedLost, &[], &[]),
        t(Opp::Qualification, "lose", Opp::ClosedLost, &[], &[]),
        t(Opp::Proposal, "lose", Opp::ClosedLost, &[], &[]),
        t(Opp::Negotiation, "lose", Opp::ClosedLost, &[], &[]),
        t(Opp::Qualification, "revert", Opp::Prospecting, &[], &[]),
        t(Opp::Proposal, "revert", Opp::Qualification, &[], &[]),
        t(Opp::Negotiation, "revert", Opp::Proposal, &[], &[]),
        t(Opp::ClosedLost, "reopen", Opp::Prospecting, &[], &[]),
    ],
};

// Project: planned → active ⇄ on_hold; active → completed → closed.

const PROJECT_EVENTS: &[EventSpec] = &[
    ev("activate", PSA, "delivery starts"),
    ev("hold", PSA, "delivery is paused"),
    ev("resume", PSA, "delivery restarts after a pause"),
    ev(
        "complete",
        PSA,
        "delivery is finished; remaining work may still be billed",
    ),
    ev("close", PSA, "the project is closed for good"),
];

/// The delivery project.
pub const PROJECT: Machine<Prj> = Machine {
    name: MachineName::Project,
    entity: "project",
    description: "a delivery project, owned by the PSA; only `active` and `completed` projects bill",
    initial: Prj::Planned,
    terminal: &[Prj::Closed],
    events: PROJECT_EVENTS,
    transitions: &[
        t(
            Prj::Planned,
            "activate",
            Prj::Active,
            &[],
            &[Effect::BillingEligible],
        ),
        t(
            Prj::Active,
            "hold",
            Prj::OnHold,
            &[],
            &[Effect::BillingIneligible],
        ),
        t(
            Prj::OnHold,
            "resume",
            Prj::Active,
            &[],
            &[Effect::BillingEligible],
        ),
        t(Prj::Active, "complete", Prj::Completed, &[], &[]),
        t(
            Prj::Completed,
            "close",
            Prj::Closed,
            &[Guard::NothingUnbilled],
            &[Effect::BillingIneligible],
        ),
    ],
};

// Time entries and expenses share one lifecycle:
// draft → submitted → approved → billed; submitted → rejected → submitted;
// approved → submitted (recall, only before billing); billed → approved only by a credit.

const WORK_EVENTS: &[EventSpec] = &[
    ev(
        "submit",
        PSA,
        "the item is submitted (or resubmitted) for approval",
    ),
    ev("approve", PSA, "the approver accepts the item"),
    ev("reject", PSA, "the approver sends the item back"),
    ev(
        "recall",
        PSA,
        "an approved item is taken back for correction, only before it is billed",
    ),
    ev(
        "bill",
        BILLING,
        "a committed billing run put the item on an invoice",
    ),
    ev(
        "credit_issued",
        ERP_BILLING,
        "a credit note gave back all or part of the billed item",
    ),
];

const WORK_TRANSITIONS: &[Transition<Work>] = &[
    t(Work::Draft, "submit", Work::Submitted, &[], &[]),
    t(
        Work::Submitted,
        "approve",
        Work::Approved,
        &[],
        &[Effect::BillingEligible],
    ),
    t(Work::Submitted, "reject", Work::Rejected, &[], &[]),
    t(Work::Rejected, "submit", Work::Submitted, &[], &[]),
    t(
        Work::Approved,
        "recall",
        Work::Submitted,
        &[Guard::NotBilled],
        &[Effect::BillingIneligible],
    ),
    t(
        Work::Approved,
        "bill",
        Work::Billed,
        &[],
        &[Effect::RecordBilled],
    ),
    t(
        Work::Billed,
        "credit_issued",
        Work::Approved,
        &[],
        &[Effect::RecordCredit, Effect::BillingEligible],
    ),
];

/// The time entry.
pub const TIME_ENTRY: Machine<Work> = Machine {
    name: MachineName::TimeEntry,
    entity: "time_entry",
    description: "a time entry, owned by the PSA; only `approved` time is billed",
    initial: Work::Draft,
    terminal: &[],
    events: WORK_EVENTS,
    transitions: WORK_TRANSITIONS,
};

/// The expense: the same lifecycle as a time entry.
pub const EXPENSE: Machine<Work> = Machine {
    name: MachineName::Expense,
    entity: "expense",
    description: "an expense, owned by the PSA; only `approved` expenses are billed",
    initial: Work::Draft,
    terminal: &[],
    events: WORK_EVENTS,
    transitions: WORK_TRANSITIONS,
};

// Milestone: pending → completed → accepted → billed; completed → rejected → pending; and, as for
// time, billed → accepted only by a credit.

const MILESTONE_EVENTS: &[EventSpec] = &[
    ev("complete", PSA, "delivery marks the milestone's work done"),
    ev("accept", PSA, "the customer's acceptance is recorded"),
    ev(
        "reject",
        PSA,
        "the customer does not accept the delivered work",
    ),
    ev("reopen", PSA, "work on a rejected milestone starts again"),
    ev(
        "bill",
        BILLING,
        "a committed billing run put the milestone on an invoice",
    ),
    ev(
        "credit_issued",
        ERP_BILLING,
        "a credit note gave back all or part of the billed milestone",
    ),
];

/// The milestone.
pub const MILESTONE: Machine<Ms> = Machine {
    name: MachineName::Milestone,
    entity: "milestone",
    description: "a milestone, owned by the PSA; only `accepted` milestones are billed",
    initial: Ms::Pending,
    terminal: &[],
    events: MILESTONE_EVENTS,
    transitions: &[
        t(Ms::Pending, "complete", Ms::Completed, &[], &[]),
        t(
            Ms::Completed,
            "accept",
            Ms::Accepted,
            &[],
            &[Effect::BillingEligible],
        ),
        t(Ms::Completed, "reject", Ms::Rejected, &[], &[]),
        t(Ms::Rejected, "reopen", Ms::Pending, &[], &[]),
        t(
            Ms::Accepted,
            "bill",
            Ms::Billed,
            &[],
            &[Effect::RecordBilled],
        ),
        t(
            Ms::Billed,
            "credit_issued",
            Ms::Accepted,
            &[],
            &[Effect::RecordCredit, Effect::BillingEligible],
        ),
    ],
};

// Change order: draft → submitted → approved → applied; rejected; withdrawn before it is applied.

const CHANGE_ORDER_EVENTS: &[EventSpec] = &[
    ev("submit", CRM_PSA, "the amendment is put to the customer"),
    ev("approve", CRM, "both parties approve the amendment"),
    ev("reject", CRM, "the customer refuses the amendment"),
    ev(
        "withdraw",
        CRM_PSA,
        "the amendment is withdrawn before it is applied",
    ),
    ev(
        "apply",
        ERP,
        "the amendment is applied to the contract, making its next version",
    ),
];

/// The change order (contract amendment).
pub const CHANGE_ORDER: Machine<Co> = Machine {
    name: MachineName::ChangeOrder,
    entity: "change_order",
    description: "a change order: agreed in the CRM, applied to the contract in the ERP, in sequence",
    initial: Co::Draft,
    terminal: &[Co::Applied, Co::Rejected, Co::Withdrawn],
    events: CHANGE_ORDER_EVENTS,
    transitions: &[
        t(Co::Draft, "submit", Co::Submitted, &[], &[]),
        t(Co::Submitted, "approve", Co::Approved, &[], &[]),
        t(Co::Submitted, "reject", Co::Rejected, &[], &[]),
        t(
            Co::Approved,
            "apply",
            Co::Applied,
            &[Guard::NextInSequence],
            &[Effect::NewContractVersion],
        ),
        t(Co::Draft, "withdraw", Co::Withdrawn, &[], &[]),
        t(Co::Submitted, "withdraw", Co::Withdrawn, &[], &[]),
        t(Co::Approved, "withdraw", Co::Withdrawn, &[], &[]),
    ],
};

// Invoice: draft → approved → posted → partially_paid → paid; posted → disputed (and back);
// draft|approved → voided; credit notes reverse a posted invoice in part (the balance remains)
// or in full (`credited`).

const INVOICE_EVENTS: &[EventSpec] = &[
    ev("approve", ERP, "the draft invoice is approved for posting"),
    ev("post", ERP, "the invoice is posted to the ledger and sent"),
    ev("void", ERP, "an invoice not yet posted is cancelled"),
    ev(
        "payment_received",
        BILLING,
        "a payment is applied; context `balance_after` is the open balance it leaves",
    ),
    ev("dispute", ERP_BILLING, "the customer disputes the invoice"),
    ev("resolve_dispute", ERP_BILLING, "the dispute is settled"),
    ev(
        "credit_issued",
        ERP,
        "a credit note reverses the invoice in part or in full; context `balance_after` is the open balance it leaves",
    ),
];

const PAID: &[Effect] = &[Effect::RecordPayment, Effect::CloseReceivable];
const CREDITED: &[Effect] = &[Effect::RecordCredit, Effect::CloseReceivable];

/// The invoice, with credit notes.
pub const INVOICE: Machine<Inv> = Machine {
    name: MachineName::Invoice,
    entity: "invoice",
    description: "an invoice, owned by the ERP; payments come from the billing platform",
    initial: Inv::Draft,
    terminal: &[Inv::Paid, Inv::Voided, Inv::Credited],
    events: INVOICE_EVENTS,
    transitions: &[
        t(Inv::Draft, "approve", Inv::Approved, &[], &[]),
        t(
            Inv::Approved,
            "post",
            Inv::Posted,
            &[],
            &[Effect::OpenReceivable],
        ),
        t(
            Inv::Draft,
            "void",
            Inv::Voided,
            &[],
            &[Effect::ReleaseItems],
        ),
        t(
            Inv::Approved,
            "void",
            Inv::Voided,
            &[],
            &[Effect::ReleaseItems],
        ),
        t(
            Inv::Posted,
            "payment_received",
            Inv::PartiallyPaid,
            &[Guard::BalanceRemains],
            &[Effect::RecordPayment],
        ),
        t(
            Inv::Posted,
            "payment_received",
            Inv::Paid,
            &[Guard::BalanceSettled],
            PAID,
        ),
        t(
            Inv::PartiallyPaid,
            "payment_received",
            Inv::PartiallyPaid,
            &[Guard::BalanceRemains],
            &[Effect::RecordPayment],
        ),
        t(
            Inv::PartiallyPaid,
            "payment_received",
            Inv::Paid,
            &[Guard::BalanceSettled],
            PAID,
        ),
        t(
            Inv::Posted,
            "dispute",
            Inv::Disputed,
            &[],
            &[Effect::PauseCollection],
        ),
        t(
            Inv::Disputed,
            "resolve_dispute",
            Inv::Posted,
            &[],
            &[Effect::ResumeCollection],
        ),
        t(
            Inv::Posted,
            "credit_issued",
            Inv::Posted,
            &[Guard::BalanceRemains],
            &[Effect::RecordCredit],
        ),
        t(
            Inv::Posted,
            "credit_issued",
            Inv::Credited,
            &[Guard::BalanceSettled],
            CREDITED,
        ),
        t(
            Inv::PartiallyPaid,
            "credit_issued",
            Inv::PartiallyPaid,
            &[Guard::BalanceRemains],
            &[Effect::RecordCredit],
        ),
        t(
            Inv::PartiallyPaid,
            "credit_issued",
            Inv::Paid,
            &[Guard::BalanceSettled],
            CREDITED,
        ),
        t(
            Inv::Disputed,
            "credit_issued",
            Inv::Disputed,
            &[Guard::BalanceRemains],
            &[Effect::RecordCredit],
        ),
        t(
            Inv::Disputed,
            "credit_issued",
            Inv::Credited,
            &[Guard::BalanceSettled],
            CREDITED,
        ),
    ],
};
