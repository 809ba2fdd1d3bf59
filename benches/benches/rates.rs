//! Rate resolution: 1,000,000 queries against a card of 20 roles x 3 dated rates plus 3 change
//! orders, through the compiled contract history (the billing run's hot path).

#![allow(
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "a benchmark's fixed inputs; failing to build them should stop the run"
)]

use billwise_core::changes::ContractHistory;

use billwise_core::model::Date;
use billwise_core::rates::{RateQuery, RateResolution};

fn main() {
    divan::main();
}

const QUERIES: usize = 1_000_000;

fn history() -> ContractHistory {
    billwise_benches::rates_history().expect("the benchmark history")
}

struct Work {
    roles: Vec<String>,
    resources: Vec<String>,
    tasks: Vec<String>,
    rows: Vec<(usize, usize, usize, Date)>,
}

fn work(n: usize) -> Work {
    let roles = (0..21).map(|r| format!("Role {r}")).collect(); // Role 20 has no rate
    let resources = (0..50).map(|r| format!("R-{r}")).collect();
    let tasks = (0..7).map(|t| format!("T-{t}")).collect();
    let rows = (0..n)
        .map(|i| {
            let date = Date::new(
                2025 + (i % 2) as u16,
                1 + (i % 12) as u8,
                1 + (i % 28) as u8,
            )
            .expect("date");
            (i % 21, i % 50, i % 7, date)
        })
        .collect();
    Work {
        roles,
        resources,
        tasks,
        rows,
    }
}

#[divan::bench(sample_count = 10)]
fn resolve_1m_queries(bencher: divan::Bencher) {
    let h = history();
    let w = work(QUERIES);
    bencher
        .counter(divan::counter::ItemsCount::new(QUERIES))
        .bench_local(|| {
            let mut missing = 0usize;
            let mut cents = 0i64;
            for &(role, res, task, date) in &w.rows {
                let q = RateQuery {
                    role: w.roles.get(role).map_or("", String::as_str),
                    resource_id: w.resources.get(res).map(String::as_str),
                    task_id: w.tasks.get(task).map(String::as_str),
                    work_date: date,
                    rate_override: None,
                };
                match divan::black_box(h.resolve(divan::black_box(&q))) {
                    RateResolution::Rate { rate, .. } => {
                        cents = cents.wrapping_add(rate.amount.mantissa() as i64);
                    }
                    RateResolution::Missing { .. } => missing += 1,
                }
            }
            (missing, cents)
        });
}

/// The alternative a user would write: scan the version's rates for every query (same answers).
#[divan::bench(sample_count = 3)]
fn linear_scan_1m_queries(bencher: divan::Bencher) {
    let h = history();
    let w = work(QUERIES);
    let rates = &h.current().rates;
    bencher
        .counter(divan::counter::ItemsCount::new(QUERIES))
        .bench_local(|| {
            let mut missing = 0usize;
            let mut cents = 0i64;
            for &(role, res, task, date) in &w.rows {
                let role = w.roles.get(role).map_or("", String::as_str);
                let res = w.resources.get(res).map(String::as_str);
                let task = w.tasks.get(task).map(String::as_str);
                // best[specificity] = (effective_from, rule)
                let mut best: [Option<(Date, &billwise_core::rates::RateRule)>; 4] = [None; 4];
                for r in rates {
                    if !r.in_force_on(date) {
                        continue;
                    }
                    let k = &r.key;
                    let level = match (&k.resource_id, &k.role, &k.task_id) {
                        (Some(x), _, Some(t))
                            if Some(x.as_str()) == res && Some(t.as_str()) == task =>
                        {
                            0
                        }
                        (Some(x), _, None) if Some(x.as_str()) == res => 1,
                        (None, Some(x), Some(t)) if x == role && Some(t.as_str()) == task => 2,
                        (None, Some(x), None) if x == role => 3,
                        _ => continue,
                    };
                    if let Some(slot) = best.get_mut(level)
                        && slot.is_none_or(|(from, _)| r.effective_from > from)
                    {
                        *slot = Some((r.effective_from, r));
                    }
                }
                match best.iter().flatten().next() {
                    Some((_, r)) => cents = cents.wrapping_add(r.rate.amount.mantissa() as i64),
                    None => missing += 1,
                }
            }
            (missing, cents)
        });
}
