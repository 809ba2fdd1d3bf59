// `make bench-node` / `make bench-wasm`: previewInvoice over N time entries, from request objects
// and from JSON text, against
//   - a hand-written JS implementation of the same billing subset with decimal.js (eligibility,
//     dated role rates, exact amounts rounded half-up once per line, a fees ceiling with split),
//     whose totals must equal billwise's before any figure is printed, and
//   - GoRules ZEN (@gorules/zen-engine) evaluating only the eligibility part as a decision table
//     (hit policy first, loop mode over all entries in one evaluation).
// The request is the one benches/src/lib.rs (`billing_request_json`) builds for the Rust
// benchmark: 20 roles x 3 dated rates, 7 tasks (one not billable), 70% approved, a ceiling at
// half of the approved work, crossed about halfway.
//
// Usage: node bench.mjs native|wasm [sizes, comma-separated; default 100000,1000000]

import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Decimal from "decimal.js";
import { eligibilityJdm } from "./zen-eligibility.mjs";

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const runtime = process.argv[2] === "wasm" ? "wasm" : "native";
const sizes = (process.argv[3] || "100000,1000000").split(",").map(Number);
const billwise = runtime === "wasm" ? require(join(ROOT, "bindings-wasm", "pkg", "node.cjs")) : require(join(ROOT, "bindings-node"));

// --- The request (a port of benches/src/lib.rs `billing_request_json`) -------------------------

const pad = (n, w) => String(n).padStart(w, "0");

function contract() {
  const entries = [];
  for (let r = 0; r < 20; r++) {
    ["2025-01-01", "2026-01-01", "2026-07-01"].forEach((from, i) => {
      entries.push({ role: `Role ${r}`, rate: { amount: `${100 + r * 10 + i * 5}.00`, currency: "USD" }, effective_from: from });
    });
  }
  return {
    schema_version: 1,
    kind: "contract",
    id: "C-1",
    account_id: "A-1",
    legal_entity: "US01",
    currency: "USD",
    billing_model: "time_and_materials",
    status: "active",
    start_date: "2025-01-01",
    end_date: "2027-12-31",
    rate_card: { entries },
  };
}

function request(n) {
  const c = contract();
  let approvedCents = 0n;
  const time_entries = new Array(n);
  for (let i = 0; i < n; i++) {
    const approved = i % 10 < 7;
    const hundredths = (1 + (i % 8)) * 100 + (i % 4) * 25;
    if (approved) approvedCents += BigInt(hundredths) * 150n;
    time_entries[i] = {
      id: `TE-${pad(i, 7)}`,
      project_id: "P-1",
      task_id: `T-${i % 7}`,
      resource_id: `R-${i % 50}`,
      role: `Role ${i % 20}`,
      work_date: `2026-${pad(1 + (i % 12), 2)}-${pad(1 + (i % 28), 2)}`,
      hours: `${Math.floor(hundredths / 100)}.${pad(hundredths % 100, 2)}`,
      status: approved ? "approved" : "submitted",
    };
  }
  const half = approvedCents / 2n;
  c.ceiling = { amount: { amount: `${half / 100n}.${pad(half % 100n, 2)}`, currency: "USD" }, scope: "fees", mode: "split" };
  const tasks = Array.from({ length: 7 }, (_, t) => ({ id: `T-${t}`, name: `Task ${t}`, billable: t !== 6 }));
  return {
    schema_version: 1,
    contract: c,
    projects: [{ schema_version: 1, kind: "project", id: "P-1", contract_id: "C-1", legal_entity: "US01", status: "active", tasks }],
    time_entries,
    period: { start: "2026-01-01", end: "2026-12-31" },
    as_of: "2027-01-05",
  };
}

// --- The hand-written JS implementation (decimal.js) ------------------------------------------

Decimal.set({ precision: 40, rounding: Decimal.ROUND_HALF_UP });

function jsPreview(req) {
  const c = req.contract;
  const rates = new Map(); // role -> [{from, rate}] sorted by from
  for (const e of c.rate_card.entries) {
    if (!rates.has(e.role)) rates.set(e.role, []);
    rates.get(e.role).push({ from: e.effective_from, rate: new Decimal(e.rate.amount) });
  }
  for (const list of rates.values()) list.sort((a, b) => (a.from < b.from ? -1 : 1));
  const projects = new Map(req.projects.map((p) => [p.id, p]));
  const held = [];
  const priced = [];
  for (const t of req.time_entries) {
    if (t.status !== "approved") {
      held.push({ id: t.id, reason: "not_approved", sentence: `time entry ${t.id} is ${t.status}, not approved` });
      continue;
    }
    const p = projects.get(t.project_id);
    const task = p && p.tasks.find((k) => k.id === t.task_id);
    if (task && task.billable === false) {
      held.push({ id: t.id, reason: "not_billable", sentence: `task ${t.task_id} of project ${t.project_id} is non-billable` });
      continue;
    }
    if (!p || p.status !== "active" || p.contract_id !== c.id) {
      held.push({ id: t.id, reason: "project_status" });
      continue;
    }
    if (t.work_date < c.start_date || t.work_date > c.end_date) {
      held.push({ id: t.id, reason: "outside_contract_period" });
      continue;
    }
    if (t.work_date < req.period.start || t.work_date > req.period.end) {
      held.push({ id: t.id, reason: "outside_billing_period" });
      continue;
    }
    let rate = null;
    for (const r of rates.get(t.role) || []) if (r.from <= t.work_date) rate = r;
    if (!rate) {
      held.push({ id: t.id, reason: "missing_rate" });
      continue;
    }
    const hours = new Decimal(t.hours);
    priced.push({ t, hours, rate: rate.rate, amount: hours.times(rate.rate).toDecimalPlaces(2), from: rate.from });
  }
  priced.sort((a, b) => (a.t.work_date < b.t.work_date ? -1 : a.t.work_date > b.t.work_date ? 1 : a.t.id < b.t.id ? -1 : 1));
  const limit = c.ceiling ? new Decimal(c.ceiling.amount.amount) : null;
  let billed = new Decimal(0);
  const lines = [];
  for (const x of priced) {
    let amount = x.amount;
    let quantity = x.hours;
    if (limit) {
      const room = limit.minus(billed);
      if (room.lte(0)) {
        held.push({ id: x.t.id, reason: "ceiling_exceeded", amount: amount.toFixed(2) });
        continue;
      }
      if (amount.gt(room)) {
        held.push({ id: x.t.id, reason: "ceiling_exceeded", amount: amount.minus(room).toFixed(2) });
        quantity = room.div(x.rate).toDecimalPlaces(4, Decimal.ROUND_DOWN);
        amount = room;
      }
    }
    billed = billed.plus(amount);
    lines.push({
      id: x.t.id,
      date: x.t.work_date,
      description: `${x.t.role}, ${x.t.resource_id}, ${x.t.task_id}`,
      quantity: quantity.toString(),
      unit_price: { amount: x.rate.toFixed(2), currency: c.currency },
      amount: { amount: amount.toFixed(2), currency: c.currency },
      rate_source: `rate_card:role=${x.t.role}@${x.from}`,
    });
  }
  return { lines, held, totals: { time: { amount: billed.toFixed(2), currency: c.currency } } };
}

// --- Timing -------------------------------------------------------------------------------------

// The best of `runs` by wall time, with the process CPU time of that run (on a shared machine the
// wall time includes waiting for a core; the CPU time does not).
async function best(runs, fn) {
  let min = Infinity;
  let cpu = Infinity;
  let out;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    out = await fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const c = process.cpuUsage(c0);
    if (ms < min) {
      min = ms;
      cpu = (c.user + c.system) / 1000;
    }
  }
  return { ms: min, cpu, out };
}

const rate = (n, ms) => Math.round((n / ms) * 1000);
const fmt = (x) => x.toLocaleString("en-US");

const { ZenEngine } = require("@gorules/zen-engine");
const zen = new ZenEngine();
const zenTable = zen.createDecision(Buffer.from(JSON.stringify(eligibilityJdm({ loop: true }))));

const results = [];
for (const n of sizes) {
  const runs = n <= 100_000 ? 5 : 2;
  const req = request(n);
  const text = JSON.stringify(req);

  // Warm up each path once on a small request.
  const small = request(1000);
  billwise.previewInvoice(small);
  jsPreview(small);

  const fromObjects = await best(runs, () => billwise.previewInvoice(req));
  const fromJson = await best(runs, () => billwise.previewInvoiceJson(text));
  const js = await best(runs, () => jsPreview(req));

  // The JS implementation must agree with billwise before its time means anything.
  const bw = fromObjects.out;
  if (bw.totals.time.amount !== js.out.totals.time.amount || bw.lines.length !== js.out.lines.length || bw.held.length !== js.out.held.length) {
    throw new Error(
      `the JS implementation disagrees with billwise at n=${n}: time ${js.out.totals.time.amount} vs ${bw.totals.time.amount}, ` +
        `lines ${js.out.lines.length} vs ${bw.lines.length}, held ${js.out.held.length} vs ${bw.held.length}`,
    );
  }

  // ZEN: eligibility only, every entry in one loop-mode evaluation (inputs flattened beforehand).
  const billable = new Map(req.projects[0].tasks.map((t) => [t.id, t.billable !== false]));
  const zenInput = {
    entries: req.time_entries.map((t) => ({
      status: t.status,
      billable: billable.get(t.task_id),
      work_date: t.work_date,
      period_start: req.period.start,
      period_end: req.period.end,
    })),
  };
  const zenRuns = n <= 100_000 ? 3 : 1;
  const z = await best(zenRuns, () => zenTable.evaluate(zenInput));
  const zenEligible = z.out.result.results.filter((r) => r.eligible).length;
  const bwEligible = bw.lines.length + bw.held.filter((h) => h.reason === "ceiling_exceeded").length - (bw.lines.some((l) => l.ceiling_split) ? 1 : 0);
  if (zenEligible !== bwEligible) throw new Error(`ZEN finds ${zenEligible} eligible entries, billwise ${bwEligible}`);

  const row = {
    runtime,
    entries: n,
    wall_per_s: {
      billwise_objects: rate(n, fromObjects.ms),
      billwise_json: rate(n, fromJson.ms),
      js_decimal: rate(n, js.ms),
      zen_eligibility: rate(n, z.ms),
    },
    cpu_per_s: {
      billwise_objects: rate(n, fromObjects.cpu),
      billwise_json: rate(n, fromJson.cpu),
      js_decimal: rate(n, js.cpu),
      zen_eligibility: rate(n, z.cpu),
    },
  };
  results.push(row);
  for (const kind of ["wall", "cpu"]) {
    const r = row[`${kind}_per_s`];
    console.log(
      `${runtime} n=${fmt(n)} (${kind} time): billwise from objects ${fmt(r.billwise_objects)}/s, from JSON ${fmt(r.billwise_json)}/s; ` +
        `JS + decimal.js ${fmt(r.js_decimal)}/s; ZEN eligibility only ${fmt(r.zen_eligibility)}/s; ` +
        `ratios objects/JS ${(r.billwise_objects / r.js_decimal).toFixed(2)}x, JSON/JS ${(r.billwise_json / r.js_decimal).toFixed(2)}x, ` +
        `objects/ZEN ${(r.billwise_objects / r.zen_eligibility).toFixed(2)}x, JSON/ZEN ${(r.billwise_json / r.zen_eligibility).toFixed(2)}x`,
    );
  }
}

mkdirSync(join(ROOT, "target"), { recursive: true });
writeFileSync(join(ROOT, "target", `bench-${runtime}.json`), JSON.stringify(results, null, 2) + "\n");
console.log(`wrote target/bench-${runtime}.json`);
