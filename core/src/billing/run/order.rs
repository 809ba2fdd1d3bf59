//! The order a billing run takes its items in, and the memory it writes them into.
//!
//! The spec takes items by date, then kind (`time`, `expense`, `milestone`), then id
//! (`spec/domain/billing.md`, the ceiling). A comparison sort of a million items took a large
//! share of a run, so [`item_order`] is a counting sort on (date, kind) that compares ids only
//! for a kind whose list is not already in id order ([`IdOrder`]); its plain twin, a stable sort
//! by `(date, kind, id)`, is what the property test below compares it with. The rest of this
//! module is the machinery that keeps a run over a million entries fast: one pass over the time
//! entries for their checks and keys ([`scan_time_entries`]), reading ahead of the checks
//! ([`touch`]), and recycled output memory ([`PreviewBuffers`]). None of it decides anything.

use crate::billing::types::{
    HeldItem, HoldReason, InvoicePreview, ItemKind, PreviewInvoiceRequest, PreviewLine,
};
use crate::error::Error;
use crate::model::{Date, Expense, Milestone, TimeEntry};
use crate::validate::Problems;

/// One item of a run.
#[derive(Clone, Copy)]
pub(super) enum Item<'a> {
    Time(&'a TimeEntry),
    Expense(&'a Expense),
    Milestone(&'a Milestone),
}

/// A run's items, numbered: the time entries, then the expenses, then the milestones, each in
/// its list's order; and what one pass over the time entries found.
pub(super) struct Items<'a> {
    req: &'a PreviewInvoiceRequest,
    pub(super) milestones: Vec<&'a Milestone>,
    /// How the time entries' ids run.
    pub(super) time_ids: IdOrder,
    time_problems: Option<Problems>,
    /// The time entries' [`day_kind`]s, with room for every item's.
    keys: Vec<u32>,
}

impl<'a> Items<'a> {
    /// The items of `req` with `milestones`, the time entries read once ([`scan_time_entries`]).
    pub(super) fn of(req: &'a PreviewInvoiceRequest, milestones: Vec<&'a Milestone>) -> Self {
        let all = req.time_entries.len() + req.expenses.len() + milestones.len();
        let TimeScan {
            ids,
            problems,
            keys,
        } = scan_time_entries(&req.time_entries, all);
        Items {
            req,
            milestones,
            time_ids: ids,
            time_problems: Some(problems),
            keys,
        }
    }

    /// What the pass over the time entries found wrong with them (once).
    pub(super) fn take_time_problems(&mut self) -> Problems {
        self.time_problems.take().unwrap_or_default()
    }

    /// How many items there are.
    pub(super) fn len(&self) -> usize {
        self.req.time_entries.len() + self.req.expenses.len() + self.milestones.len()
    }

    /// Item `i`.
    pub(super) fn get(&self, i: usize) -> Option<Item<'a>> {
        let (times, expenses) = (self.req.time_entries.len(), self.req.expenses.len());
        if i < times {
            self.req.time_entries.get(i).map(Item::Time)
        } else if i < times + expenses {
            self.req.expenses.get(i - times).map(Item::Expense)
        } else {
            self.milestones
                .get(i - times - expenses)
                .copied()
                .map(Item::Milestone)
        }
    }

    /// `e` with the path of item `i` in the request when it has none: an amount too large to
    /// compute names the item that made it (a milestone by where the run found it: the
    /// request's `milestones`, the contract's, or the change orders that added it).
    #[cold]
    pub(super) fn blame(&self, i: usize, e: Error) -> Error {
        e.or_at(&|| self.path_of(i))
    }

    fn path_of(&self, i: usize) -> String {
        let (times, expenses) = (self.req.time_entries.len(), self.req.expenses.len());
        if i < times {
            format!("/time_entries/{i}")
        } else if i < times + expenses {
            format!("/expenses/{}", i - times)
        } else {
            let id = self.id(i).unwrap_or_default();
            let at = |list: &[Milestone]| list.iter().position(|m| m.id.as_str() == id);
            match (
                self.req.milestones.as_deref().and_then(at),
                at(&self.req.contract.milestones),
            ) {
                (Some(k), _) => format!("/milestones/{k}"),
                (None, Some(k)) => format!("/contract/milestones/{k}"),
                (None, None) => "/change_orders".to_owned(),
            }
        }
    }

    fn id(&self, i: usize) -> Option<&'a str> {
        self.get(i).map(|item| match item {
            Item::Time(e) => e.id.as_str(),
            Item::Expense(x) => x.id.as_str(),
            Item::Milestone(m) => m.id.as_str(),
        })
    }

    /// Every item's position, in (date, kind, id) order ([`item_order`]).
    pub(super) fn order(&mut self) -> Result<Vec<u32>, Error> {
        let req = self.req;
        let mut keys = std::mem::take(&mut self.keys);
        keys.extend(
            req.expenses
                .iter()
                .map(|x| day_kind(x.date, ItemKind::Expense)),
        );
        keys.extend(
            self.milestones
                .iter()
                .map(|m| day_kind(m.due_date, ItemKind::Milestone)),
        );
        let id_order = [
            self.time_ids,
            IdOrder::of(req.expenses.iter().map(|x| x.id.as_str())),
            IdOrder::of(self.milestones.iter().map(|m| m.id.as_str())),
        ];
        let in_order = |kind: ItemKind| id_order.get(kind as usize).is_some_and(|o| o.in_order());
        item_order(&keys, in_order, |i| self.id(i))
    }
}

/// A date and a kind packed in one integer that orders like `(date, kind)`.
fn day_kind(date: Date, kind: ItemKind) -> u32 {
    (u32::from(date.year()) << 11)
        | (u32::from(date.month()) << 7)
        | (u32::from(date.day()) << 2)
        | kind as u32
}

/// How the ids of a list run, in the order the request lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdOrder {
    /// Each id after the one before: in order, and so distinct.
    Ascending,
    /// In order, with some ids repeated.
    NonDecreasing,
    /// Not in order.
    Unordered,
}

impl IdOrder {
    pub(super) fn of<'k>(ids: impl Iterator<Item = &'k str>) -> IdOrder {
        let mut prev: Option<&str> = None;
        let mut order = IdOrder::Ascending;
        for id in ids {
            order = order.then(prev, id);
            if order == IdOrder::Unordered {
                break;
            }
            prev = Some(id);
        }
        order
    }

    /// The order of a list running so far as `self` and ending in `prev`, once `id` follows.
    fn then(self, prev: Option<&str>, id: &str) -> IdOrder {
        match prev.map(|p| p.cmp(id)) {
            Some(std::cmp::Ordering::Greater) => IdOrder::Unordered,
            Some(std::cmp::Ordering::Equal) if self == IdOrder::Ascending => IdOrder::NonDecreasing,
            _ => self,
        }
    }

    pub(super) fn in_order(self) -> bool {
        self != IdOrder::Unordered
    }
}

/// The positions of items with `keys` (their [`day_kind`]) in (date, kind, id) order, equal keys
/// in position order.
///
/// Dates span few distinct days, so this is a counting sort on (date, kind), linear and stable. A kind whose list has its
/// ids `in_order` needs nothing more: within one (date, kind), position order is id order. The
/// items of another kind are sorted by `id` within each (date, kind). A span of dates too wide to
/// count falls back to a stable comparison sort. Positions are `u32` (a run of more items is
/// refused), which halves the list a million items make.
fn item_order<'k>(
    keys: &[u32],
    in_order: impl Fn(ItemKind) -> bool,
    id: impl Fn(usize) -> Option<&'k str>,
) -> Result<Vec<u32>, Error> {
    let n = keys.len();
    if u32::try_from(n).is_err() {
        return Err(Error::new(
            crate::error::ErrorCode::InputLimitExceeded,
            format!("a run of {n} items exceeds the limit of {}", u32::MAX),
        )
        .with("limit", "items_per_run")
        .with("max", u64::from(u32::MAX)));
    }
    let (Some(&min), Some(&max)) = (keys.iter().min(), keys.iter().max()) else {
        return Ok(Vec::new());
    };
    let kind_of = |day_kind: u32| match day_kind & 3 {
        0 => ItemKind::Time,
        1 => ItemKind::Expense,
        _ => ItemKind::Milestone,
    };
    // Within one (date, kind), items of a kind not in order: by id, then position (stable).
    let sort_run = |run: &mut [u32], kind: ItemKind| {
        if !in_order(kind) && !run.is_sorted_by_key(|&i| id(i as usize)) {
            run.sort_by_key(|&i| id(i as usize));
        }
    };
    let key = |i: u32| keys.get(i as usize).copied().unwrap_or(0);
    let span = (max - min) as usize + 1;
    if span > n.saturating_mul(2).saturating_add(4096) {
        // (`n` fits in a u32, checked above.)
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| key(i));
        for run in order.chunk_by_mut(|&a, &b| key(a) == key(b)) {
            if let Some(&first) = run.first() {
                sort_run(run, kind_of(key(first)));
            }
        }
        return Ok(order);
    }
    // starts[b]: the first slot of bucket b (day_kind - min); starts[span] = n.
    let mut starts = vec![0u32; span + 1];
    for &k in keys {
        if let Some(c) = starts.get_mut((k - min) as usize + 1) {
            *c += 1;
        }
    }
    let mut total = 0;
    for s in &mut starts {
        total += *s;
        *s = total;
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; n];
    for (&k, i) in keys.iter().zip(0u32..) {
        if let Some(slot) = next.get_mut((k - min) as usize)
            && let Some(o) = order.get_mut(*slot as usize)
        {
            *o = i;
            *slot += 1;
        }
    }
    for (b, w) in starts.windows(2).enumerate() {
        if let (Some(&start), Some(&end)) = (w.first(), w.get(1))
            && end - start > 1
            && let Some(run) = order.get_mut(start as usize..end as usize)
        {
            let day_kind = min + u32::try_from(b).unwrap_or(0);
            sort_run(run, kind_of(day_kind));
        }
    }
    Ok(order)
}

/// Puts the first `first` held items (adjustments over the ceiling, by date and id) into their
/// places among the rest (items, already in date, kind, id order). An item can be held twice, as
/// itself and for its adjustment: its own hold comes first when the checks made it, after the
/// adjustment's when the ceiling did, as the adjustments meet the ceiling before the items.
pub(super) fn merge_adjustments_held(
    mut held: Vec<HeldItem<'_>>,
    first: usize,
) -> Vec<HeldItem<'_>> {
    if first == 0 || first > held.len() {
        return held;
    }
    let items = held.split_off(first);
    let mut out = Vec::with_capacity(held.len() + items.len());
    let mut adjustments = held.into_iter().peekable();
    let mut items = items.into_iter().peekable();
    loop {
        let item_first = match (adjustments.peek(), items.peek()) {
            (Some(a), Some(i)) => {
                let (ka, ki) = (
                    (a.date, a.kind, a.id.as_str()),
                    (i.date, i.kind, i.id.as_str()),
                );
                ki < ka || (ki == ka && i.reason != HoldReason::CeilingExceeded)
            }
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => break,
        };
        let next = if item_first {
            items.next()
        } else {
            adjustments.next()
        };
        out.extend(next);
    }
    out
}

/// How many items [`touch`] reads ahead of their checks.
pub(super) const TOUCH_AHEAD: usize = 16;

/// Reads a little of each time entry at `positions` (and the role name it points to) before any
/// is checked. Items are checked in date order, which visits the request at random; reading a
/// group first lets their cache misses overlap instead of each stalling its own check.
pub(super) fn touch(entries: &[TimeEntry], positions: &[u32]) {
    let mut sum = 0usize;
    for e in positions.iter().filter_map(|&i| entries.get(i as usize)) {
        sum ^= e.id.as_str().len()
            ^ e.project_id.as_str().len()
            ^ e.task_id.as_str().len()
            ^ e.resource_id.as_str().len()
            ^ e.role.len()
            ^ usize::from(e.work_date.day())
            ^ e.hours.0.scale() as usize
            ^ usize::from(e.rate_override.is_some());
    }
    for e in positions.iter().filter_map(|&i| entries.get(i as usize)) {
        sum ^= usize::from(e.role.as_bytes().first().copied().unwrap_or(0));
    }
    std::hint::black_box(sum);
}

/// What one pass over the time entries finds.
struct TimeScan {
    /// How their ids run.
    ids: IdOrder,
    /// What `validate` finds wrong with each that pricing depends on (see
    /// [`super::inputs::check_items`]).
    problems: Problems,
    /// Each one's [`day_kind`], in list order.
    keys: Vec<u32>,
}

/// Reads the time entries once, in list order, for their id order, their checks and their sort
/// keys. A million entries do not fit a cache: each pass over them reads them from memory.
///
/// `keys` is made with room for `all_items` keys (every item's, the time entries' first).
fn scan_time_entries(entries: &[TimeEntry], all_items: usize) -> TimeScan {
    let at = crate::error::Pointer::root().key("time_entries");
    let mut problems = Problems::new();
    let mut keys = Vec::with_capacity(all_items);
    let mut ids = IdOrder::Ascending;
    let mut prev: Option<&str> = None;
    for (i, e) in entries.iter().enumerate() {
        // As `IdOrder::of`: once unordered, the ids are not compared again.
        if ids.in_order() {
            ids = ids.then(prev, e.id.as_str());
            prev = Some(e.id.as_str());
        }
        crate::validate::documents::time_entry(e, false, &|| at.index(i), &mut problems);
        keys.push(day_kind(e.work_date, ItemKind::Time));
    }
    TimeScan {
        ids,
        problems,
        keys,
    }
}

/// Room for a billing run's lines and held items, kept from one run to the next.
///
/// A run makes one line or held item per item, about 150 MB for a million time entries. Memory
/// that fresh comes from the operating system, which maps it a page at a time as the run first
/// writes to it, and those page faults are a large part of a large run (`benches/PERFORMANCE.md`).
/// A process that runs many large previews can keep one `PreviewBuffers`,
/// run each with [`preview_invoice_with`] and hand each preview back with [`recycle`] once it is
/// written out: the next run writes into memory already mapped.
///
/// The buffers only lend capacity: a preview made with them is the same, byte for byte, as one
/// [`preview_invoice`] makes.
///
/// [`recycle`]: PreviewBuffers::recycle
#[derive(Debug, Default)]
pub struct PreviewBuffers {
    pub(super) lines: Vec<PreviewLine<'static>>,
    pub(super) held: Vec<HeldItem<'static>>,
}

impl PreviewBuffers {
    /// Empty buffers (they grow to the first run's size).
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes back `preview`'s lists of lines and held items, emptied, for the next run. The rest
    /// of the preview is dropped. A list no larger than the one the buffers already hold is
    /// dropped instead: the buffers keep their largest allocations until they are dropped.
    pub fn recycle(&mut self, preview: InvoicePreview<'_>) {
        let lines = emptied(preview.lines);
        if lines.capacity() > self.lines.capacity() {
            self.lines = lines;
        }
        let held = emptied(preview.held);
        if held.capacity() > self.held.capacity() {
            self.held = held;
        }
    }

    /// How many lines and held items the buffers have room for without growing.
    pub fn capacity(&self) -> (usize, usize) {
        (self.lines.capacity(), self.held.capacity())
    }
}

/// `items` with every element dropped, keeping its allocation for elements of another lifetime.
///
/// The standard library collects a vector's `into_iter` back into its own allocation when the
/// element layouts match, which they do here (the lifetimes are all that differ). That is an
/// optimisation std makes, not a promise it documents: were it lost, the buffers would only stop
/// saving memory, and the proptest on recycled runs (`core/tests/billing_model/invariants.rs`) would fail.
pub(super) fn emptied<T, U>(items: Vec<T>) -> Vec<U> {
    items.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::text::Text;
    use crate::model::Id;
    use proptest::prelude::*;
    use std::borrow::Cow;

    /// `item_order` with the id orders a run finds, against a stable sort.
    fn check(items: &[(Date, ItemKind, String)]) {
        let order_of = |kind: ItemKind| {
            IdOrder::of(items.iter().filter(|t| t.1 == kind).map(|t| t.2.as_str()))
        };
        let id_order = [
            order_of(ItemKind::Time),
            order_of(ItemKind::Expense),
            order_of(ItemKind::Milestone),
        ];
        let keys: Vec<u32> = items.iter().map(|t| day_kind(t.0, t.1)).collect();
        let order = item_order(
            &keys,
            |k| id_order[k as usize].in_order(),
            |i| items.get(i).map(|t| t.2.as_str()),
        )
        .unwrap();
        let mut expected: Vec<u32> = (0..items.len() as u32).collect();
        expected.sort_by(|&a, &b| {
            let (x, y) = (&items[a as usize], &items[b as usize]);
            (x.0, x.1, &x.2).cmp(&(y.0, y.1, &y.2))
        });
        assert_eq!(order, expected);
    }

    #[test]
    fn id_order_tells_ascending_from_repeated_and_unordered_ids() {
        let of = |ids: &[&str]| IdOrder::of(ids.iter().copied());
        assert_eq!(of(&[]), IdOrder::Ascending);
        assert_eq!(of(&["A"]), IdOrder::Ascending);
        assert_eq!(of(&["A", "B", "C"]), IdOrder::Ascending);
        assert_eq!(of(&["A", "B", "B", "C"]), IdOrder::NonDecreasing);
        assert_eq!(of(&["A", "C", "B"]), IdOrder::Unordered);
        assert_eq!(of(&["A", "A", "B", "A"]), IdOrder::Unordered);
    }

    fn held(day: i64, kind: ItemKind, id: &str, reason: HoldReason) -> HeldItem<'static> {
        HeldItem {
            amount: None,
            change_order_id: None,
            date: Date::from_days_since_epoch(20_000 + day).unwrap(),
            id: Cow::Owned(Id::from_text(id).unwrap()),
            kind,
            problems: Vec::new(),
            reason,
            sentence: Text::from(""),
        }
    }

    #[test]
    fn adjustments_held_go_to_their_dates_after_an_items_own_checks_and_before_its_ceiling() {
        use HoldReason::{AlreadyBilled, CeilingExceeded, NotApproved};
        let time = ItemKind::Time;
        let list = vec![
            // Adjustments over the ceiling, held first, by date and id.
            held(1, time, "TE-1", CeilingExceeded),
            held(3, time, "TE-3", CeilingExceeded),
            held(5, time, "TE-5", CeilingExceeded),
            // Then the items, in date, kind and id order.
            held(0, time, "TE-0", NotApproved),
            held(1, time, "TE-1", AlreadyBilled),
            held(2, ItemKind::Expense, "X-1", NotApproved),
            held(3, time, "TE-3", CeilingExceeded),
            held(9, time, "TE-9", CeilingExceeded),
        ];
        let mut list = list;
        for h in list.iter_mut().take(3) {
            h.change_order_id = Some(Cow::Owned(Id::from_text("CO-1").unwrap()));
        }
        let merged = merge_adjustments_held(list, 3);
        let got: Vec<(i64, &str, HoldReason)> = merged
            .iter()
            .map(|h| (h.date.days_since_epoch() - 20_000, h.id.as_str(), h.reason))
            .collect();
        assert_eq!(
            got,
            [
                (0, "TE-0", NotApproved),
                (1, "TE-1", AlreadyBilled),
                (1, "TE-1", CeilingExceeded),
                (2, "X-1", NotApproved),
                (3, "TE-3", CeilingExceeded),
                (3, "TE-3", CeilingExceeded),
                (5, "TE-5", CeilingExceeded),
                (9, "TE-9", CeilingExceeded),
            ]
        );
        // An item's own checks come before its adjustment; its ceiling hold after it.
        let adjustment = |i: usize| merged[i].change_order_id.is_some();
        assert_eq!(
            (0..merged.len()).map(adjustment).collect::<Vec<_>>(),
            [false, false, true, false, true, false, true, false]
        );
    }

    proptest! {
        #[test]
        fn items_come_out_by_date_kind_and_id_with_ties_in_input_order(
            items in prop::collection::vec((0i64..3000, 0u8..3, 0u8..8, 0usize..5), 0..80),
            wide in any::<bool>(),
            sorted_ids in any::<bool>(),
        ) {
            // Short ids, long ids with a long common part, ids that extend others, and
            // multi-byte text.
            const SHAPES: [&str; 5] = ["X-", "ENGAGEMENT-2026-ALPHA-TE-", "ENGAGEMENT-2026-ALPHA-TE-1", "é-", "X-1"];
            let mut items: Vec<(Date, ItemKind, String)> = items
                .iter()
                .map(|&(d, k, id, shape)| {
                    // A narrow span of days is counted; a span of years falls back to comparing.
                    let d = if wide { d * 10 } else { d % 40 };
                    let kind = [ItemKind::Time, ItemKind::Expense, ItemKind::Milestone][usize::from(k)];
                    let id = if id == 7 { SHAPES[shape].to_owned() } else { format!("{}{id}", SHAPES[shape]) };
                    (Date::from_days_since_epoch(20_000 + d).unwrap(), kind, id)
                })
                .collect();
            if sorted_ids {
                let mut ids: Vec<String> = items.iter().map(|t| t.2.clone()).collect();
                ids.sort();
                for (t, id) in items.iter_mut().zip(ids) {
                    t.2 = id;
                }
            }
            check(&items);
        }
    }
}
