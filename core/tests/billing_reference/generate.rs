//! Random billing runs over a deliberately small domain (two roles, two resources, a dozen dates,
//! round amounts), so that rate collisions, ceiling boundaries and ledger overlaps happen often.
//!
//! A run is built from a vector of choice bytes: each decision takes the next byte, and a missing
//! byte means "the first option". Proptest shrinks the bytes towards zero, which shrinks the run
//! towards the simplest one that still fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use billwise_core::api::{self, CommitInvoiceRequest, RecordCreditRequest};
use billwise_core::billing::{BilledLedger, LedgerCredit, Period, PreviewInvoiceRequest};
use billwise_core::json::Limits;
use billwise_core::model::{
    BillingModel, Ceiling, CeilingMode, CeilingScope, Change, ChangeOrder, ChangeOrderStatus,
    Contract, ContractStatus, Currency, Date, Dec, DocumentKind, Expense, ExpensePolicy, Id,
    Milestone, MilestoneStatus, Money, Project, ProjectStatus, RateCard, RateEntry, RateTarget,
    RateUnit, Retainer, RoundingMode, RoundingPolicy, SchemaVersion, Task, TimeEntry, TimeRounding,
    WorkStatus,
};
use rust_decimal::Decimal;

/// Takes decisions from a byte string.
pub struct Picker<'a> {
    bytes: &'a [u8],
    at: usize,
    /// A clean run has approved, billable work on an active project (its first option at every
    /// "noisy" choice), so that pricing, the ceiling and adjustments are reached often; the other
    /// runs spread over every hold reason.
    clean: bool,
}

impl<'a> Picker<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            clean: false,
        }
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    /// One of `options` (the first is the simplest).
    pub fn pick<T: Clone>(&mut self, options: &[T]) -> T {
        options[self.below(options.len())].clone()
    }

    /// True with probability `percent`% (false is the simplest).
    pub fn chance(&mut self, percent: u8) -> bool {
        (u16::from(self.byte()) * 100 / 256) < u16::from(percent)
    }

    /// One of `options`, the first (the clean one) in a clean run.
    fn noisy<T: Clone>(&mut self, options: &[T]) -> T {
        let picked = self.pick(options);
        if self.clean {
            options[0].clone()
        } else {
            picked
        }
    }

    /// `chance`, always false in a clean run.
    fn noisy_chance(&mut self, percent: u8) -> bool {
        let yes = self.chance(percent);
        yes && !self.clean
    }
}

pub fn d(day: i64) -> Date {
    // Day 0 is 2026-03-01.
    let base = Date::new(2026, 3, 1).unwrap().days_since_epoch();
    Date::from_days_since_epoch(base + day).unwrap()
}

pub fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn money(s: &str, c: Currency) -> Money {
    Money::new(dec(s), c)
}

/// A work date: 2026-02-26 .. 2026-03-08.
fn work_date(p: &mut Picker) -> Date {
    d(p.below(12) as i64 - 3)
}

fn target(p: &mut Picker) -> RateTarget {
    let mut t = RateTarget::default();
    match p.below(4) {
        0 => t.role = Some("A".into()),
        1 => t.role = Some("B".into()),
        2 => t.resource_id = Some(id("R1")),
        _ => t.resource_id = Some(id("R2")),
    }
    if p.chance(25) {
        t.task_id = Some(id("T1"));
    }
    t
}

fn rate(p: &mut Picker, c: Currency) -> (Money, RateUnit) {
    if p.chance(15) {
        (money(p.pick(&["800", "1000", "999.99"]), c), RateUnit::Day)
    } else {
        (
            money(p.pick(&["150", "100", "33.33", "200", "125.125"]), c),
            RateUnit::Hour,
        )
    }
}

/// A random billing run (its ledger empty).
pub fn run(p: &mut Picker) -> PreviewInvoiceRequest {
    p.clean = !p.chance(50);
    let cur = p.pick(&[Currency::Usd, Currency::Usd, Currency::Bhd]);
    let other = Currency::Cad;

    let mut entries: Vec<RateEntry> = Vec::new();
    for _ in 0..1 + p.below(4) {
        let t = target(p);
        let (r, unit) = rate(p, cur);
        let from = p.pick(&[d(-60), d(2), d(4)]);
        let to = if p.chance(20) { Some(d(3)) } else { None };
        if to.is_some_and(|t| t < from) {
            continue;
        }
        // Two entries of one target from one date would be ambiguous (a validation error).
        if entries.iter().any(|e| {
            e.role == t.role
                && e.resource_id == t.resource_id
                && e.task_id == t.task_id
                && e.effective_from == from
        }) {
            continue;
        }
        entries.push(RateEntry {
            role: t.role,
            resource_id: t.resource_id,
            task_id: t.task_id,
            rate: r,
            unit,
            effective_from: from,
            effective_to: to,
        });
    }

    let model = p.pick(&[
        BillingModel::TimeAndMaterials,
        BillingModel::FixedFee,
        BillingModel::Retainer,
        BillingModel::Milestone,
    ]);
    let ceiling = p.chance(45).then(|| Ceiling {
        amount: money(p.pick(&["1000", "500", "1500", "3000", "1200"]), cur),
        scope: p.pick(&[CeilingScope::Fees, CeilingScope::FeesAndExpenses]),
        mode: p.pick(&[CeilingMode::Split, CeilingMode::HoldWhole]),
    });
    let fixed_fee = (model == BillingModel::FixedFee).then(|| money("10000", cur));
    let retainer = (model == BillingModel::Retainer).then(|| Retainer {
        amount: money(p.pick(&["1000", "2000", "300"]), cur),
    });
    let mut milestones = Vec::new();
    if matches!(model, BillingModel::FixedFee | BillingModel::Milestone) {
        for i in 0..p.below(3) {
            // A percent milestone on a milestone contract has no fixed fee to be a percent of.
            let percent = p.chance(if model == BillingModel::FixedFee {
                50
            } else {
                10
            });
            milestones.push(Milestone {
                id: id(&format!("MS-{i}")),
                name: format!("Milestone {i}"),
                amount: (!percent).then(|| money(p.pick(&["500", "1234.56", "250"]), cur)),
                percent: percent.then(|| Dec(dec(p.pick(&["10", "25", "12.5"])))),
                due_date: work_date(p),
                status: p.noisy(&[
                    MilestoneStatus::Accepted,
                    MilestoneStatus::Completed,
                    MilestoneStatus::Pending,
                ]),
            });
        }
    }
    let (time_increment, time_rounding) = if p.chance(30) {
        (
            Some(Dec(dec(p.pick(&["0.25", "0.5", "1"])))),
            p.pick(&[
                Some(TimeRounding::Up),
                Some(TimeRounding::Down),
                Some(TimeRounding::Nearest),
                None,
            ]),
        )
    } else {
        (None, None)
    };
    let contract = Contract {
        schema_version: SchemaVersion,
        kind: Some(DocumentKind::Contract),
        id: id("C-1"),
        account_id: id("A-1"),
        legal_entity: id("US01"),
        currency: cur,
        billing_model: model,
        status: ContractStatus::Active,
        start_date: p.pick(&[d(-60), d(0)]),
        end_date: p.pick(&[d(60), d(5)]),
        ceiling,
        rate_card: RateCard {
            hours_per_day: Dec(dec(p.pick(&["8", "7.5"]))),
            entries,
        },
        expense_policy: ExpensePolicy {
            billable_categories: vec!["travel".into(), "lodging".into()],
            markup_percent: Dec(dec(p.pick(&["0", "10", "12.5"]))),
        },
        milestones,
        fixed_fee,
        retainer,
        rounding: RoundingPolicy {
            mode: p.pick(&[RoundingMode::HalfUp, RoundingMode::HalfEven]),
            time_increment,
            time_rounding,
        },
        change_orders: Vec::new(),
    };

    let mut change_orders = Vec::new();
    for seq in 1..=p.below(3) as u32 {
        let mut changes = Vec::new();
        for j in 0..1 + p.below(2) {
            let ch = match p.below(7) {
                0 | 1 => {
                    let (r, unit) = rate(p, cur);
                    Change::SetRate {
                        target: target(p),
                        rate: r,
                        unit,
                    }
                }
                2 => Change::EndRate { target: target(p) },
                3 if contract.ceiling.is_some() => Change::AdjustCeiling {
                    delta: money(p.pick(&["500", "250"]), cur),
                },
                4 => Change::SetEndDate {
                    end_date: p.pick(&[d(3), d(60)]),
                },
                5 => Change::SetExpenseMarkup {
                    markup_percent: Dec(dec("5")),
                },
                _ if !contract.milestones.is_empty() || model == BillingModel::Milestone => {
                    Change::AddMilestone {
                        milestone: Milestone {
                            id: id(&format!("MS-CO{seq}-{j}")),
                            name: "Added".into(),
                            amount: Some(money("400", cur)),
                            percent: None,
                            due_date: work_date(p),
                            status: p.pick(&[MilestoneStatus::Accepted, MilestoneStatus::Pending]),
                        },
                    }
                }
                _ => Change::SetExpenseMarkup {
                    markup_percent: Dec(dec("20")),
                },
            };
            changes.push(ch);
        }
        let status = p.noisy(&[
            ChangeOrderStatus::Approved,
            ChangeOrderStatus::Applied,
            ChangeOrderStatus::Draft,
        ]);
        let approved = matches!(
            status,
            ChangeOrderStatus::Approved | ChangeOrderStatus::Applied
        );
        change_orders.push(ChangeOrder {
            schema_version: SchemaVersion,
            kind: Some(DocumentKind::ChangeOrder),
            id: id(&format!("CO-{seq}")),
            contract_id: id("C-1"),
            sequence: seq,
            status,
            // Often effective before all the work, and approved after earlier runs billed it, so
            // that retroactive adjustments happen.
            effective_date: if p.chance(50) { d(-3) } else { work_date(p) },
            approved_on: approved.then(|| p.pick(&[d(9), d(1)])),
            retroactive: p.chance(60),
            description: None,
            changes,
        });
    }

    let tasks = |nb: bool| {
        vec![
            Task {
                id: id("T1"),
                name: "Delivery".into(),
                billable: true,
            },
            Task {
                id: id("T2"),
                name: "Internal".into(),
                billable: nb,
            },
        ]
    };
    let mut projects = vec![Project {
        schema_version: SchemaVersion,
        kind: Some(DocumentKind::Project),
        id: id("P1"),
        contract_id: id("C-1"),
        legal_entity: id("US01"),
        status: p.noisy(&[
            ProjectStatus::Active,
            ProjectStatus::Active,
            ProjectStatus::Completed,
            ProjectStatus::OnHold,
            ProjectStatus::Planned,
        ]),
        tasks: tasks(false),
    }];
    if p.chance(50) {
        projects.push(Project {
            schema_version: SchemaVersion,
            kind: Some(DocumentKind::Project),
            id: id("P2"),
            contract_id: id(p.noisy(&["C-1", "C-1", "C-2"])),
            legal_entity: id(p.noisy(&["US01", "UK01"])),
            status: p.noisy(&[ProjectStatus::Active, ProjectStatus::Closed]),
            tasks: tasks(p.chance(50)),
        });
    }

    let mut time_entries = Vec::new();
    for i in 0..p.below(7) {
        time_entries.push(TimeEntry {
            id: id(&format!("TE-{i}")),
            project_id: id(p.noisy(&["P1", "P1", "P2", "P9"])),
            task_id: id(p.noisy(&["T1", "T1", "T2", "T3"])),
            resource_id: id(p.pick(&["R1", "R2"])),
            role: p.pick(&["A", "B"]).into(),
            work_date: work_date(p),
            hours: Dec(dec(p.pick(&["8", "1", "2.5", "0.3", "4.1", "6.66"]))),
            billable: !p.noisy_chance(10),
            status: p.noisy(&[
                WorkStatus::Approved,
                WorkStatus::Approved,
                WorkStatus::Approved,
                WorkStatus::Submitted,
                WorkStatus::Draft,
                WorkStatus::Billed,
            ]),
            rate_override: if p.noisy_chance(10) {
                Some(p.pick(&[money("120", cur), money("90", other)]))
            } else {
                None
            },
        });
    }
    let mut expenses = Vec::new();
    for i in 0..p.below(4) {
        let c = p.noisy(&[cur, cur, other]);
        expenses.push(Expense {
            id: id(&format!("EX-{i}")),
            project_id: id(p.noisy(&["P1", "P1", "P2", "P9"])),
            date: work_date(p),
            amount: money(p.pick(&["100", "189", "33.35"]), c),
            category: p.noisy(&["travel", "travel", "gifts"]).into(),
            billable: !p.noisy_chance(10),
            status: p.noisy(&[
                WorkStatus::Approved,
                WorkStatus::Approved,
                WorkStatus::Submitted,
            ]),
            fx_rate: p.chance(60).then(|| Dec(dec(p.pick(&["0.7321", "0.75"])))),
        });
    }
    let milestones = p.chance(20).then(|| {
        let mut ms = contract.milestones.clone();
        for m in &mut ms {
            m.status = MilestoneStatus::Accepted;
        }
        ms
    });

    let period = p.pick(&[
        Period {
            start: d(0),
            end: d(30),
        },
        Period {
            start: d(-3),
            end: d(3),
        },
        Period {
            start: d(2),
            end: d(5),
        },
    ]);
    PreviewInvoiceRequest {
        schema_version: SchemaVersion,
        contract,
        change_orders,
        projects,
        time_entries,
        expenses,
        milestones,
        ledger: None,
        period,
        as_of: p.pick(&[d(10), d(5)]),
        options: Default::default(),
    }
}

/// The same run with a ledger built by committing zero, one or two earlier runs over part of the
/// work (fewer hours, an earlier `as_of`, another period), with random partial credits between.
pub fn with_history(p: &mut Picker, mut req: PreviewInvoiceRequest) -> PreviewInvoiceRequest {
    let limits = Limits::default();
    let mut ledger: Option<BilledLedger> = None;
    // Sometimes the story of a retroactive change order: earlier runs before the approvals of
    // day 9, this run after them.
    let retroactive_story = p.chance(30);
    if retroactive_story {
        req.as_of = d(10);
    }
    for n in 0..p.below(3) {
        let mut earlier = req.clone();
        earlier.ledger = ledger.clone();
        earlier.as_of = p.pick(&[d(2), d(5), d(10)]);
        if retroactive_story {
            earlier.as_of = d(5);
        }
        earlier.period = p.pick(&[
            Period {
                start: d(-3),
                end: d(2),
            },
            Period {
                start: d(0),
                end: d(30),
            },
        ]);
        for te in &mut earlier.time_entries {
            if p.chance(30) {
                te.hours = Dec(te.hours.0 * dec(p.pick(&["0.5", "0.25"])));
            }
        }
        let committed = api::commit_invoice(
            &CommitInvoiceRequest {
                schema_version: SchemaVersion,
                invoice_id: id(&format!("INV-{n}")),
                run: earlier,
            },
            &limits,
        );
        // A generated run is always valid: refusing it is a finding.
        let committed =
            committed.unwrap_or_else(|e| panic!("commit refused a generated run: {e:?}"));
        let mut l = committed.ledger;
        // Random partial credits on what the run billed.
        let mut credits = Vec::new();
        for (i, line) in committed.preview.lines.iter().enumerate() {
            if !p.chance(30) {
                continue;
            }
            let billed = line.billed_hours.unwrap_or(line.quantity).0;
            let by_amount = p.chance(50);
            let share = dec(p.pick(&["0.5", "1", "0.25"]));
            credits.push(LedgerCredit {
                credit_note_id: id(&format!("CN-{n}-{i}")),
                kind: line.kind,
                item_id: line.source_ids[0].clone(),
                quantity: (!by_amount).then(|| Dec(billed * share)),
                amount: by_amount.then(|| {
                    Money::new(
                        (line.amount.amount * share).round_dp(line.amount.currency.minor_units()),
                        line.amount.currency,
                    )
                }),
                ceiling_share: None,
            });
        }
        if !credits.is_empty()
            && let Ok(after) = api::record_credit(
                &RecordCreditRequest {
                    schema_version: SchemaVersion,
                    ledger: l.clone(),
                    currency: req.contract.currency,
                    credits,
                },
                &limits,
            )
        {
            l = after;
        }
        ledger = Some(l);
    }
    req.ledger = ledger;
    req
}
