// The contract preview page: a preview_invoice request (contract, change orders, projects, time
// entries, expenses, period) is edited in place and previewed by billwise-wasm on every keystroke.
// Every rule runs in the WebAssembly module; this file only reads inputs and writes the DOM
// (always through textContent, never as HTML). Money stays a decimal string end to end.

import init, { previewInvoice } from "../pkg/web.mjs";

const SAMPLE = new URL("../../spec/examples/scenario/month-1-january.json", import.meta.url);

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
};

/** "25643.02" -> "25,643.02", by string (a float would lose cents). */
function group(amount) {
  const neg = amount.startsWith("-");
  const [int, frac] = (neg ? amount.slice(1) : amount).split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${neg ? "-" : ""}${grouped}${frac === undefined ? "" : "." + frac}`;
}
const money = (m) => (m ? `${group(m.amount)} ${m.currency}` : "—");
const words = (s) => s.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

let request = null; // the preview_invoice request being edited
let savedCeiling = null; // the ceiling's scope and mode, kept while the amount is empty
const inputsByPath = new Map(); // JSON pointer -> the input that edits it

function setStatus(text) {
  $("status").textContent = text;
}

// --- Inputs -----------------------------------------------------------------------------------

function decimalInput(id, label, value, path, onValue) {
  const input = el("input", { id, value, inputmode: "decimal", autocomplete: "off", "aria-label": label });
  input.addEventListener("input", () => {
    onValue(input.value.trim());
    refresh();
  });
  inputsByPath.set(path, input);
  return input;
}

function renderInputs() {
  inputsByPath.clear();
  const c = request.contract;
  $("contract-summary").textContent =
    `${c.id} (${words(c.billing_model)}, ${c.currency}), account ${c.account_id}; ` +
    `period ${request.period.start} to ${request.period.end}, as of ${request.as_of || request.period.end}.`;
  for (const s of document.querySelectorAll(".currency")) s.textContent = c.currency;

  const ceiling = $("ceiling");
  savedCeiling = c.ceiling ? { scope: c.ceiling.scope, mode: c.ceiling.mode } : { scope: "fees", mode: "split" };
  ceiling.value = c.ceiling ? c.ceiling.amount.amount : "";
  inputsByPath.set("/contract/ceiling/amount/amount", ceiling);
  inputsByPath.set("/contract/ceiling", ceiling);

  const rates = $("rates").tBodies[0];
  rates.replaceChildren();
  (c.rate_card ? c.rate_card.entries : []).forEach((entry, i) => {
    const who = entry.role || entry.resource_id || `entry ${i + 1}`;
    const task = entry.task_id ? `, task ${entry.task_id}` : "";
    const path = `/contract/rate_card/entries/${i}/rate/amount`;
    const input = decimalInput(`rate-${i}`, `Rate for ${who}${task} from ${entry.effective_from} (${entry.rate.currency} per hour)`, entry.rate.amount, path, (v) => {
      entry.rate.amount = v;
    });
    rates.append(el("tr", {}, el("th", { scope: "row" }, `${who}${task}`), el("td", {}, entry.effective_from), el("td", {}, input)));
  });

  const entries = $("entries").tBodies[0];
  entries.replaceChildren();
  (request.time_entries || []).forEach((t, i) => {
    const path = `/time_entries/${i}/hours`;
    const input = decimalInput(`hours-${i}`, `Hours of ${t.id} (${t.role}, ${t.work_date})`, t.hours, path, (v) => {
      t.hours = v;
    });
    entries.append(
      el("tr", {}, el("th", { scope: "row" }, t.id), el("td", {}, t.work_date), el("td", {}, t.role || "—"), el("td", {}, t.status), el("td", {}, input)),
    );
  });
}

$("ceiling").addEventListener("input", (e) => {
  const v = e.target.value.trim();
  const c = request.contract;
  if (v === "") delete c.ceiling;
  else c.ceiling = { amount: { amount: v, currency: c.currency }, ...savedCeiling };
  refresh();
});

// --- Preview ----------------------------------------------------------------------------------

function showError(e) {
  const box = $("error");
  box.replaceChildren(
    el("strong", {}, `${e.name || "Error"}${e.code ? ` ${e.code}` : ""}`),
    el("span", {}, `: ${e.message}`),
    e.path ? el("span", {}, ` (at ${e.path})`) : "",
  );
  box.hidden = false;
  const input = e.path && inputsByPath.get(e.path);
  if (input) input.setAttribute("aria-invalid", "true");
  document.querySelector(".preview").classList.add("stale");
}

function clearError() {
  $("error").hidden = true;
  for (const input of inputsByPath.values()) input.removeAttribute("aria-invalid");
  document.querySelector(".preview").classList.remove("stale");
}

function renderTotals(p) {
  const rows = [
    ["time", "Time"],
    ["expenses", "Expenses"],
    ["milestones", "Milestones"],
    ["adjustments", "Adjustments"],
    ["retainer_drawdown", "Retainer drawdown"],
    ["total", "Total"],
  ];
  $("totals").replaceChildren(
    ...rows.flatMap(([k, label]) => [el("dt", {}, label), el("dd", { id: `total-${k}`, class: k === "total" ? "grand" : "" }, money(p.totals[k]))]),
  );
}

function renderCeiling(p) {
  const gauge = $("gauge");
  const c = p.ceiling;
  if (!c) {
    gauge.hidden = true;
    $("gauge-text").textContent = "This contract has no ceiling.";
    return;
  }
  gauge.hidden = false;
  const pct = Math.min(100, Number(c.utilisation_percent)); // display only
  gauge.value = pct;
  gauge.textContent = `${c.utilisation_percent}%`;
  gauge.setAttribute("aria-label", `Ceiling used: ${c.utilisation_percent} percent`);
  $("gauge-text").textContent =
    `${c.utilisation_percent}% of ${money(c.limit)} (${c.scope}): ${money(c.billed_before)} billed before, ` +
    `${money(c.this_run)} in this preview, ${money(c.remaining)} remaining.`;
}

function renderLines(p) {
  const body = $("lines").tBodies[0];
  body.replaceChildren(
    ...p.lines.map((l) =>
      el(
        "tr",
        {},
        el("td", {}, l.date || "—"),
        el("td", {}, l.description),
        el("td", { class: "num" }, `${l.quantity} ${l.unit}`),
        el("td", { class: "num" }, money(l.unit_price)),
        el("td", { class: "num" }, money(l.amount)),
        el("td", {}, l.rate_source || "—"),
        el("td", { class: "num" }, l.contract_version === undefined ? "—" : `v${l.contract_version}`),
      ),
    ),
  );
  if (p.lines.length === 0) body.append(el("tr", {}, el("td", { colSpan: 7 }, "No billable line in this period.")));
}

function renderHeld(p) {
  const box = $("held");
  box.replaceChildren();
  const groups = p.summary && p.summary.held_by_reason ? p.summary.held_by_reason.filter((g) => g.count > 0) : [];
  if (groups.length === 0) {
    box.append(el("p", {}, "Nothing is held."));
    return;
  }
  for (const g of groups) {
    const id = `held-${g.reason}`;
    const items = p.held.filter((h) => h.reason === g.reason);
    box.append(
      el(
        "section",
        { class: "held-group", "aria-labelledby": id },
        el("h4", { id }, `${words(g.reason)}: ${g.count} item${g.count === 1 ? "" : "s"}, ${money(g.amount)}`),
        el("ul", {}, ...items.map((h) => el("li", {}, el("strong", {}, h.id), ` (${h.kind}, ${h.date || "no date"}): ${h.sentence}`))),
      ),
    );
  }
}

function renderTimeline(p) {
  const used = new Set(p.lines.map((l) => l.contract_version).filter((v) => v !== undefined));
  const c = request.contract;
  const items = [
    el("li", {}, el("strong", {}, "v0"), ` ${c.start_date}: contract ${c.id} as signed`, used.has(0) ? " (prices lines below)" : ""),
  ];
  const cos = (request.change_orders || []).slice().sort((a, b) => a.sequence - b.sequence);
  for (const co of cos) {
    const applies = co.status === "approved" || co.status === "applied";
    items.push(
      el(
        "li",
        { class: applies ? "" : "pending" },
        el("strong", {}, `v${co.sequence}`),
        ` ${co.effective_date}${co.retroactive ? " (retroactive)" : ""}: ${co.id}, ${co.status}: ${co.description || ""}`,
        applies ? (used.has(co.sequence) ? " (prices lines below)" : "") : " (not in effect until approved)",
      ),
    );
  }
  $("timeline").replaceChildren(...items);
}

function refresh() {
  if (!request) return;
  clearError();
  let p;
  try {
    p = previewInvoice(request);
  } catch (e) {
    showError(e);
    setStatus(`The preview could not be computed: ${e.code || e.name}.`);
    return;
  }
  renderTotals(p);
  renderCeiling(p);
  renderLines(p);
  renderHeld(p);
  renderTimeline(p);
  setStatus(`Preview: ${p.lines.length} lines, ${p.held.length} held, total ${money(p.totals.total)}.`);
  document.body.dataset.ready = "true";
}

function load(req, from) {
  if (!req || typeof req !== "object" || !req.contract) {
    showError({ name: "Error", message: `${from} is not a preview request (it needs a contract)` });
    return;
  }
  request = req;
  renderInputs();
  refresh();
}

async function loadSample() {
  const res = await fetch(SAMPLE);
  if (!res.ok) throw new Error(`cannot load the sample (${res.status})`);
  load(await res.json(), "the sample");
}

$("load-sample").addEventListener("click", () => loadSample().catch(showError));
$("file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  try {
    load(JSON.parse(await file.text()), file.name);
  } catch (err) {
    showError(err);
  }
});
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", async (e) => {
  e.preventDefault();
  const file = e.dataTransfer.files[0];
  if (!file) return;
  try {
    load(JSON.parse(await file.text()), file.name);
  } catch (err) {
    showError(err);
  }
});

await init();
setStatus("billwise loaded.");
await loadSample().catch(showError);
