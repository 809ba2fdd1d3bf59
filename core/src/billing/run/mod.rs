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
use super::types::{AdjustmentLine, InvoicePreview, PreviewInvoiceRequest, PreviewLine, Summary};
use crate::changes::ValidContract;
use crate::error::{Error, Problem};
use crate::hash::{TextMap, same_text};
use crate::ledger::LedgerIndex;
use crate::model::{CeilingScope, Date, Id, Milestone, Project, SchemaVersion};
use ceiling::Meter;
use order::{Item, Items, merge_adjustments_held, touch};
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
    // 1. Inputs: the contract, the ledger and the change orders, then the items.
    let run = Run::new(req)?;
    let mut items = Items::of(req, run.milestones());
    let mut invalid = inputs::check_items(req, items.time_ids, items.take_time_problems())?;

    // 2. Adjustments, which the ceiling's meter takes before any item.
    let mut held = Held::new(std::mem::take(&mut buffers.held), req.as_of, items.len());
    let mut meter = Meter::new(
        run.terms.ceiling().map(|(limit, _, mode)| (limit, mode)),
        run.ledger.against_ceiling()?,
    );
    let adjustments = run.adjust(&mut meter, &mut held)?;

    // 3. Each item, in (date, kind, id) order: checked, priced, metered.
    let order = items.order()?;
    let mut lines = std::mem::take(&mut buffers.lines);
    let kinds = run.bill(
        &items,
        &order,
        &mut invalid,
        &mut meter,
        &mut held,
        &mut lines,
    )?;

    // 4. Summary, and the identities every preview satisfies.
    let preview = run.preview(&items.milestones, lines, kinds, adjustments, held, &meter)?;
    summary::check_identities(&preview)?;
    Ok(preview)
}

impl<'a> Run<'a> {
    /// The milestones the run bills: the request's, or the contract's as amended on `as_of`.
    fn milestones(&self) -> Vec<&'a Milestone> {
        match &self.req.milestones {
            Some(list) => list.iter().collect(),
            None => self.terms.milestones(),
        }
    }

    /// Step 2: the adjustments, metered; those held (no room, or no rate) are the first held
    /// items, by date and item, until `preview` merges them into place.
    fn adjust(&self, meter: &mut Meter, held: &mut Held<'a>) -> Result<Adjusted, Error> {
        let adjustments = self.adjustments()?;
        for h in adjustments.unpriced {
            held.push(h)?;
        }
        let lines = meter.adjustments(adjustments.lines, held, &self.pricing)?;
        let held_count = held.items.len();
        if let Some(first) = held.items.get_mut(..held_count) {
            first.sort_by(|a, b| (a.date, a.id.as_str()).cmp(&(b.date, b.id.as_str())));
        }
        Ok(Adjusted { lines, held_count })
    }

    /// Step 3: each item of `order` checked and priced (a held one filed in `held`, a priced
    /// one's line written to `lines`), then metered; the totals of the lines kept. At most one
    /// line per item: `lines` is reserved once, not grown by copying. `invalid`: the problems of
    /// each item, by item, when the run holds invalid items (empty otherwise); taken as used.
    fn bill(
        &self,
        items: &Items<'a>,
        order: &[u32],
        invalid: &mut [Vec<Problem>],
        meter: &mut Meter,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
    ) -> Result<KindTotals, Error> {
        let req = self.req;
        lines.reserve(items.len());
        let mut kinds = KindTotals::ZERO;
        for (k, &i) in order.iter().enumerate() {
            if k % order::TOUCH_AHEAD == 0 {
                touch(
                    &req.time_entries,
                    order
                        .get(k..(k + order::TOUCH_AHEAD).min(order.len()))
                        .unwrap_or_default(),
                );
            }
            let item = items.get(i as usize);
            let problems = invalid.get_mut(i as usize).map(std::mem::take);
            let result = match (problems.filter(|p| !p.is_empty()), item) {
                (Some(problems), Some(item)) => self.hold_invalid(item, problems, held),
                _ => self.bill_item(item, meter, held, lines, &mut kinds),
            };
            result.map_err(|e| items.blame(i as usize, e))?;
        }
        Ok(kinds)
    }

    /// One item of step 3: checked, priced, metered and added to the totals.
    fn bill_item(
        &self,
        item: Option<Item<'a>>,
        meter: &mut Meter,
        held: &mut Held<'a>,
        lines: &mut Vec<PreviewLine<'a>>,
        kinds: &mut KindTotals,
    ) -> Result<(), Error> {
        let priced = match item {
            Some(Item::Time(e)) => self.time(e, held, lines)?,
            Some(Item::Expense(x)) => self.expense(x, held, lines)?,
            Some(Item::Milestone(m)) => self.milestone(m, held, lines)?,
            None => None,
        };
        if let Some(priced) = priced
            && meter.item(&priced, lines, held, &self.pricing)?
            && let Some(line) = lines.last()
        {
            kinds.add(line)?;
        }
        Ok(())
    }

    /// Step 4: the preview, with its totals, retainer, ceiling status and summary.
    fn preview(
        &self,
        milestones: &[&'a Milestone],
        lines: Vec<PreviewLine<'a>>,
        kinds: KindTotals,
        adjustments: Adjusted,
        held: Held<'a>,
        meter: &Meter,
    ) -> Result<InvoicePreview<'a>, Error> {
        let (req, pricing) = (self.req, &self.pricing);
        let contract = &req.contract;
        let (held_by_reason, unbilled_approved) = held.figures(pricing);
        let held = merge_adjustments_held(held.items, adjustments.held_count);
        let adjustments = adjustments.lines;
        let (totals, retainer) =
            summary::totals(contract, &self.ledger, kinds, &adjustments, pricing)?;
        let ceiling = match self.terms.ceiling() {
            Some((limit, scope, _)) => Some(summary::ceiling_status(
                limit,
                scope,
                meter.billed_before,
                meter.used,
                pricing,
            )?),
            None => None,
        };
        let backlog = summary::backlog(
            contract,
            &self.ledger,
            milestones,
            &totals,
            retainer.as_ref(),
            ceiling.as_ref(),
            pricing,
        )?;
        Ok(InvoicePreview {
            schema_version: SchemaVersion,
            contract_id: contract.id.clone(),
            currency: pricing.currency,
            period: req.period,
            as_of: req.as_of,
            contract_version: self.terms.version_on(req.as_of),
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
        })
    }
}

/// The adjustments a run bills, and how many held items (the first ones) are adjustments.
struct Adjusted {
    lines: Vec<AdjustmentLine>,
    held_count: usize,
}

#[cfg(test)]
mod tests;
