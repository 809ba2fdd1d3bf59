//! The run's items and period checked as `validate` checks them (`spec/domain/billing.md`,
//! "Inputs", step 4). The contract, the change orders and the ledger are checked where they are
//! read: `ContractHistory::as_of` and `LedgerIndex::for_contract`.

use super::order::IdOrder;
use crate::billing::types::PreviewInvoiceRequest;
use crate::error::{Error, ErrorCode, Pointer, Problem};
use crate::validate::Problems;
use crate::validate::documents::{date_order, expense, milestone, project, unique_ids};

/// The checks `validate` makes on the run's items (ids unique per list; projects' tasks; hours,
/// amounts, rates and fx rates not negative, or zero where they must be positive, and amounts at
/// the currency's minor unit; each milestone of `milestones` as a contract's milestone; the
/// period's end not before its start), and an `fx_rate` other than 1 on an expense in the
/// contract's currency. The first problem is raised at its path, with the number found in
/// `details.problems`.
///
/// With `hold_invalid_items`, the problems of the time entries, expenses and milestones are
/// returned instead, by item (numbered as [`super::order::Items`] numbers them), for the run to
/// hold those items; the other problems (projects, the period) still refuse it.
///
/// Time entries whose ids are listed in ascending order (`time_ids`) are distinct and are not
/// compared again. Each time entry's own checks were made by [`super::order::scan_time_entries`]
/// (`time_problems`); they are reported where this list puts them.
pub(super) fn check_items(
    req: &PreviewInvoiceRequest,
    time_ids: IdOrder,
    time_problems: Problems,
) -> Result<Vec<Vec<Problem>>, Error> {
    let mut p = Problems::new();
    let root = Pointer::root();
    if time_ids != IdOrder::Ascending {
        let time_ids = req.time_entries.iter().map(|e| &e.id);
        unique_ids(time_ids, &root.key("time_entries"), "time entry", &mut p);
    }
    let expense_ids = req.expenses.iter().map(|x| &x.id);
    unique_ids(expense_ids, &root.key("expenses"), "expense", &mut p);
    if let Some(list) = &req.milestones {
        let ids = list.iter().map(|m| &m.id);
        unique_ids(ids, &root.key("milestones"), "milestone", &mut p);
    }
    let projects = root.key("projects");
    let project_ids = req.projects.iter().map(|x| &x.id);
    unique_ids(project_ids, &projects, "project", &mut p);
    for (i, d) in req.projects.iter().enumerate() {
        project(d, &projects.index(i), &mut p);
    }
    p.extend(time_problems);
    let expenses = root.key("expenses");
    let currency = req.contract.currency;
    for (i, x) in req.expenses.iter().enumerate() {
        expense(x, &|| expenses.index(i), &mut p);
        // An fx rate on an expense already in the contract currency: the currency or the rate
        // is wrong, and the run does not guess which.
        if x.amount.currency == currency
            && let Some(fx) = x.fx_rate
            && fx.0 != rust_decimal::Decimal::ONE
        {
            p.push(
                &expenses.index(i).key("fx_rate"),
                ErrorCode::ExpenseInvalidFxRate,
                format!(
                    "expense `{}` is in {currency}, the contract's currency; an fx rate of `{fx}` would re-price it",
                    x.id
                ),
            );
        }
    }
    // (The contract's own milestones are checked with the contract.)
    if let Some(list) = &req.milestones {
        let at = root.key("milestones");
        for (i, m) in list.iter().enumerate() {
            milestone(m, &req.contract, &at.index(i), &mut p);
        }
    }
    date_order(
        req.period.start,
        req.period.end,
        &root.key("period").key("end"),
        "the period start",
        "the period end",
        &mut p,
    );
    let problems = p.into_vec();
    if !req.options.hold_invalid_items {
        crate::validate::refuse(&problems, "")?;
        return Ok(Vec::new());
    }
    let mut by_item: Vec<Vec<Problem>> = Vec::new();
    let mut rest = Vec::new();
    for problem in problems {
        match item_of(req, &problem.path) {
            Some(i) => {
                if by_item.is_empty() {
                    let all = req.time_entries.len()
                        + req.expenses.len()
                        + req.milestones.as_ref().map_or(0, Vec::len);
                    by_item.resize_with(all, Vec::new);
                }
                if let Some(list) = by_item.get_mut(i) {
                    list.push(problem);
                }
            }
            None => rest.push(problem),
        }
    }
    crate::validate::refuse(&rest, "")?;
    Ok(by_item)
}

/// The item a problem's path is in: `/time_entries/3/hours` is item 3, `/expenses/0` the first
/// expense's (numbered after the time entries), `/milestones/1` the second milestone's of the
/// request's own list.
fn item_of(req: &PreviewInvoiceRequest, path: &str) -> Option<usize> {
    let mut tokens = path.split('/').skip(1);
    let (list, at) = (tokens.next()?, tokens.next()?.parse::<usize>().ok()?);
    let (times, expenses) = (req.time_entries.len(), req.expenses.len());
    match list {
        "time_entries" if at < times => Some(at),
        "expenses" if at < expenses => Some(times + at),
        "milestones" if req.milestones.as_ref().is_some_and(|m| at < m.len()) => {
            Some(times + expenses + at)
        }
        _ => None,
    }
}
