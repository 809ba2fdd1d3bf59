//! The billing run, in the order of `spec/domain/billing.md`:
//!
//! 1. **Inputs** ("Inputs"): the contract and its change orders as they stood on `as_of`
//!    ([`ContractHistory::as_of`](crate::changes::ContractHistory::as_of), through [`Terms`]),
//!    the ledger ([`LedgerIndex::for_contract`]) and the items ([`inputs::check_items`]); a run
//!    refuses exactly what `validate`, `apply_change_order` and `record_credit` refuse.
//! 2. **Adjustments** for billed work a retroactive change order re-prices ([`adjustments`]).
//! 3. **Eligibility and pricing** of each item, in (date, kind, id) order ([`eligibility`],
//!    [`pricing`]; the order is [`order::item_order`]).
//! 4. **The ceiling**: one meter for adjustments and items ([`ceiling::Meter`]).
//! 5. **Summary**: totals, retainer, ceiling status, backlog, and the identities every preview
//!    satisfies ([`summary`]).
//!
//! How a run over a million entries stays fast, without changing what it decides:
//! - Lines and held items borrow ids and names from the request, and their descriptions, rate
//!   sources and sentences are [`Text`] words written out only when serialised.
//! - Items are checked, priced and put against the ceiling in their order, so lines and held
//!   items are made in it and nothing is sorted or moved afterwards; a priced item's line is
//!   written straight into the list of lines, where the ceiling keeps it, cuts it or takes it
//!   back. The ordering and memory machinery is [`order`].
//! - Totals, held-by-reason and aging figures are summed as items are decided, as integers
//!   ([`Sum`](super::sum::Sum)).
//! - An item's project and task are found by hash (`TextMap`), the last project is remembered,
//!   and a project's own checks are decided once for all its items.
//!
//! `benches/PERFORMANCE.md` has the measurements behind these choices.

mod adjustments;
mod ceiling;
mod eligibility;
mod inputs;
mod order;
mod pricing;
mod summary;

use std::cell::Cell;

pub use order::PreviewBuffers;
pub use summary::utilisation_percent;

use super::terms::Terms;
use super::types::{InvoicePreview, ItemKind, PreviewInvoiceRequest, PreviewLine, Summary};
use crate::changes::ValidContract;
use crate::error::Error;
use crate::hash::{TextMap, same_text};
use crate::ledger::LedgerIndex;
use crate::model::{CeilingScope, Date, Id, Milestone, Project, SchemaVersion};
use ceiling::Meter;
use order::{IdOrder, TimeScan, day_kind, item_order, merge_adjustments_held, touch};
use pricing::Pricing;
use summary::{Held, KindTotals};

/// Everything about a project a check needs.
struct ProjectInfo<'a> {
    project: &'a Project,
    /// Each task's billable flag and name.
    tasks: TextMap<&'a str, (bool, &'a str)>,
    /// Check 4 on the project, the same for each of its items: it belongs to the contract, its
    /// status is one the options bill, and its legal entity is the contract's.
    on_contract: bool,
    status_billable: bool,
    same_entity: bool,
}

/// An item that passed checks 1-9, priced: its line is the last of the run's lines, waiting for
/// the ceiling (which keeps it, cuts it to the room left, or takes it back to hold the item).
/// Until the ceiling keeps it, the line holds its quantity as priced; a kept line shows it to 4
/// decimals, and a split one the share the room pays for.
struct Priced<'a> {
    id: &'a Id,
    counts_against_ceiling: bool,
}

/// What a run reads: the request, the contract as it stood on `as_of`, the ledger, the projects.
struct Run<'a> {
    req: &'a PreviewInvoiceRequest,
    terms: Terms<'a>,
    ledger: LedgerIndex<'a>,
    projects: TextMap<&'a str, ProjectInfo<'a>>,
    /// The last project looked up and where it is in `projects`: an export lists a project's
    /// items together, so one comparison usually finds it.
    last_project: Cell<Option<(&'a str, Option<usize>)>>,
    pricing: Pricing,
    /// The contract end date in force.
    end_date: Date,
    /// What counts against the ceiling in force, if there is one.
    ceiling_scope: Option<CeilingScope>,
}

impl<'a> Run<'a> {
    /// Step 1: every input read and checked.
    fn new(req: &'a PreviewInvoiceRequest) -> Result<Self, Error> {
        let contract = &req.contract;
        // In the spec's order: the contract, the ledger, the change orders (then the items).
        let valid = ValidContract::check(contract)?;
        let ledger =
            LedgerIndex::for_contract(req.ledger.as_ref(), &contract.id, contract.currency)?;
        let terms = Terms::new(valid, &req.change_orders, req.as_of, &ledger)?;
        let projects = TextMap::new(req.projects.iter().map(|p| {
            let tasks = TextMap::new(
                p.tasks
                    .iter()
                    .map(|t| (t.id.as_str(), (t.billable, t.name.as_str()))),
            );
            let info = ProjectInfo {
                project: p,
                tasks,
                on_contract: p.contract_id == contract.id,
                status_billable: req.options.billable_project_statuses.contains(&p.status),
                same_entity: p.legal_entity == contract.legal_entity,
            };
            (p.id.as_str(), info)
        }));
        Ok(Run {
            req,
            end_date: terms.end_date(),
            ceiling_scope: terms.ceiling().map(|(_, scope, _)| scope),
            terms,
            ledger,
            projects,
            last_project: Cell::new(None),
            pricing: Pricing {
                currency: contract.currency,
                mode: contract.rounding.mode,
            },
        })
    }

    /// The project `id`, if the request has it.
    fn project(&self, id: &'a Id) -> Option<&ProjectInfo<'a>> {
        let id = id.as_str();
        let pos = match self.last_project.get() {
            Some((last, pos)) if same_text(last, id) => pos,
            _ => {
                let pos = self.projects.position(id);
                self.last_project.set(Some((id, pos)));
                pos
            }
        };
        self.projects.at(pos?)
    }
}

/// Runs a billing preview. The preview borrows ids, names and rate sources from `req`.
pub fn preview_invoice<'a>(req: &'a PreviewInvoiceRequest) -> Result<InvoicePreview<'a>, Error> {
    preview_invoice_with(req, &mut PreviewBuffers::default())
}

/// [`preview_invoice`], writing its lines and held items into `buffers`' memory (see
/// [`PreviewBuffers`]). The run takes the buffers' lists, leaving them empty: give the preview
/// back with [`PreviewBuffers::recycle`] when done with it. A run that fails may have taken
/// them; they grow again on the next run.
///
/// # Errors
/// As [`preview_invoice`].
pub fn preview_invoice_with<'a>(
    req: &'a PreviewInvoiceRequest,
    buffers: &mut PreviewBuffers,
) -> Result<InvoicePreview<'a>, Error> {
    // 1. Inputs.
    let run = Run::new(req)?;
    let milestones: Vec<&'a Milestone> = match &req.milestones {
        Some(list) => list.iter().collect(),
        None => run.terms.milestones(),
    };
    let (times, expenses) = (req.time_entries.len(), req.expenses.len());
    let items = times + expenses + milestones.len();
    let TimeScan {
        ids: time_ids,
        problems: time_problems,
        mut keys,
    } = order::scan_time_entries(&req.time_entries, items);
    inputs::check_items(req, time_ids, time_problems)?;

    // 2. Adjustments, and the ceiling's meter, which takes them first.
    let pricing = run.pricing;
    let adjustments = run.adjustments()?;
    let mut held = Held::new(std::mem::take(&mut buffers.held), req.as_of);
    held.items.reserve(items);
    for h in adjustments.unpriced {
        held.push(h)?;
    }
    let ceiling = run.terms.ceiling();
    let mut meter = Meter::new(
        ceiling.map(|(limit, _, mode)| (limit, mode)),
        run.ledger.against_ceiling()?,
    );
    let adjustments = meter.adjustments(adjustments.lines, &mut held, &pricing)?;
    // Held before any item: adjustments (merged into place at the end, by date and item).
    let adjustments_held = held.items.len();
    if let Some(first) = held.items.get_mut(..adjustments_held) {
        first.sort_by(|a, b| (a.date, a.id.as_str()).cmp(&(b.date, b.id.as_str())));
    }

    // 3. Every item's place in (date, kind, id) order.
    keys.extend(
        req.expenses
            .iter()
            .map(|x| day_kind(x.date, ItemKind::Expense)),
    );
    keys.extend(
        milestones
            .iter()
            .map(|m| day_kind(m.due_date, ItemKind::Milestone)),
    );
    let id_order = [
        time_ids,
        IdOrder::of(req.expenses.iter().map(|x| x.id.as_str())),
        IdOrder::of(milestones.iter().map(|m| m.id.as_str())),
    ];
    let item_id = |i: usize| -> Option<&str> {
        if i < times {
            req.time_entries.get(i).map(|e| e.id.as_str())
        } else if i < times + expenses {
            req.expenses.get(i - times).map(|x| x.id.as_str())
        } else {
            milestones.get(i - times - expenses).map(|m| m.id.as_str())
        }
    };
    let in_order = |kind: ItemKind| id_order.get(kind as usize).is_some_and(|o| o.in_order());
    let order = item_order(&keys, in_order, item_id)?;
    drop(keys);

    // 4. Each item checked and priced, then metered against the ceiling. At most one line per
    // item: reserved once, not grown by copying.
    let mut lines: Vec<PreviewLine<'a>> = std::mem::take(&mut buffers.lines);
    lines.reserve(items);
    let mut kinds = KindTotals::ZERO;
    for (k, &i) in order.iter().enumerate() {
        let i = i as usize;
        if k % order::TOUCH_AHEAD == 0 {
            touch(
                &req.time_entries,
                order.get(k..k + order::TOUCH_AHEAD).unwrap_or_default(),
            );
        }
        let priced = if i < times {
            match req.time_entries.get(i) {
                Some(e) => run.time(e, &mut held, &mut lines)?,
                None => None,
            }
        } else if i < times + expenses {
            match req.expenses.get(i - times) {
                Some(x) => run.expense(x, &mut held, &mut lines)?,
                None => None,
            }
        } else {
            match milestones.get(i - times - expenses) {
                Some(m) => run.milestone(m, &mut held, &mut lines)?,
                None => None,
            }
        };
        if let Some(priced) = priced
            && meter.item(&priced, &mut lines, &mut held, &pricing)?
            && let Some(line) = lines.last()
        {
            kinds.add(line)?;
        }
    }

    // 5. Summary.
    let contract = &req.contract;
    let (held_by_reason, unbilled_approved) = held.figures(&pricing);
    let held = merge_adjustments_held(held.items, adjustments_held);
    let (totals, retainer) = summary::totals(contract, &run.ledger, kinds, &adjustments, &pricing)?;
    let ceiling = match ceiling {
        Some((limit, scope, _)) => Some(summary::ceiling_status(
            limit,
            scope,
            meter.billed_before,
            meter.used,
            &pricing,
        )?),
        None => None,
    };
    let backlog = summary::backlog(
        contract,
        &run.ledger,
        &milestones,
        &totals,
        retainer.as_ref(),
        ceiling.as_ref(),
        &pricing,
    )?;
    let preview = InvoicePreview {
        schema_version: SchemaVersion,
        contract_id: contract.id.clone(),
        currency: pricing.currency,
        period: req.period,
        as_of: req.as_of,
        contract_version: run.terms.version_on(req.as_of),
        lines,
        adjustments,
        held,
        ceiling,
        retainer,
        totals,
        summary: Summary {
            unbilled_approved,
            held_by_reason,
            backlog,
        },
    };
    summary::check_identities(&preview)?;
    Ok(preview)
}

#[cfg(test)]
mod tests;
