// The contract preview page. A preview_invoice request (contract, change orders, projects, time
// entries, expenses, period) is built from the files a finance analyst has, edited in place, and
// previewed by billwise-wasm on every change. Every rule runs in the WebAssembly module: this file
// reads inputs, writes the DOM (always through textContent, never as HTML), and keeps the request
// in local storage. Money stays a decimal string end to end.

import init, { previewInvoice } from "../pkg/web.mjs";

const SAMPLE = new URL("../../spec/examples/scenario/month-1-january.json", import.meta.url);
const STORAGE_KEY = "billwise-preview-request";
const STATUSES = ["draft", "submitted", "approved", "rejected", "billed"];

/** Whether a change order is in force for the preview: approved (or applied) by the as-of day. */
function inForce(co) {
  const asOf = request.as_of || request.period.end;
  return (co.status === "approved" || co.status === "applied") && (!co.approved_on || co.approved_on <= asOf);
}
function coState(co) {
  if (inForce(co)) return `${co.status}${co.retroactive ? ", retroactive" : ""}`;
  if (co.status === "approved" || co.status === "applied") return `approved ${co.approved_on}: not in force as of ${request.as_of || request.period.end}`;
  return `${co.status}: not in force until approved`;
}

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "class") e.className = v;
    else if (k in e && typeof v !== "string") e[k] = v;
    else if (k in e && (k === "value" || k === "type" || k === "id")) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
};

// --- Formatting: one way for every figure ------------------------------------------------------

/** "25643.02" -> "25,643.02", by string (a float would lose cents). */
function group(amount) {
  const neg = amount.startsWith("-");
  const [int, frac] = (neg ? amount.slice(1) : amount).split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${neg ? "-" : ""}${grouped}${frac === undefined ? "" : "." + frac}`;
}
const money = (m) => (m ? `${group(m.amount)} ${m.currency}` : "—");
/** Amounts inside billwise's sentences, grouped as everywhere else ("25000.00" -> "25,000.00"). */
const sentence = (t) => t.replace(/`/g, "").replace(/(?<![\w.-])\d{4,}(\.\d+)?(?![\w])/g, (n) => group(n));
const words = (s) => s.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
/** "20 hours", "1 hour", "0.5 hours". */
const quantity = (q, unit) => `${group(q)} ${unit}${q === "1" || unit.endsWith("s") ? "" : "s"}`;
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The difference of two decimal strings at the scale of the wider, by integer arithmetic. */
function minus(a, b) {
  const scale = Math.max((a.split(".")[1] || "").length, (b.split(".")[1] || "").length);
  const big = (s) => {
    const [i, f = ""] = s.replace("-", "").split(".");
    const v = BigInt(i + f.padEnd(scale, "0"));
    return s.startsWith("-") ? -v : v;
  };
  const d = big(a) - big(b);
  const neg = d < 0n;
  const digits = (neg ? -d : d).toString().padStart(scale + 1, "0");
  const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return (neg ? "-" : "") + text;
}

// --- State ------------------------------------------------------------------------------------

let request = null; // the preview_invoice request being edited
let preview = null; // its latest preview
let baseline = null; // while comparing: {preview} of the version compared with
const inputsByPath = new Map(); // JSON pointer -> the input that edits it

function setStatus(text) {
  $("status").textContent = text;
}

function save() {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(request));
  } catch {
    // Storage full or disabled: the page still works, it only forgets on reload.
  }
}

/** A plain name for what a JSON pointer into the request points at: "TE-JAN-13, hours". */
const FIELDS = { work_date: "date", resource_id: "person", task_id: "task", project_id: "project", "amount/amount": "amount", hours: "hours", category: "category", status: "status", role: "role", id: "id", date: "date" };
function subject(path) {
  const [, list, index, ...rest] = path.split("/");
  const field = FIELDS[rest.join("/")] || FIELDS[rest[0]] || (rest[0] || "").replace(/_/g, " ");
  const items = request && Array.isArray(request[list]) ? request[list] : null;
  const item = items && items[Number(index)];
  if ((list === "time_entries" || list === "expenses") && item) {
    const name = item.id || `row ${Number(index) + 1} of the ${list === "expenses" ? "expenses" : "time entries"}`;
    return field ? `${name}, ${field}` : name;
  }
  if (list === "change_orders" && item) return `Change order ${item.id}`;
  if (list === "contract" && index === "rate_card") {
    const entry = request.contract.rate_card.entries[Number(rest[1])];
    if (entry) return `The rate of ${entry.role || entry.resource_id} from ${entry.effective_from}`;
  }
  if (list === "contract" && index === "ceiling") return "The ceiling";
  if (list === "contract") return `The contract${index ? `, ${index.replace(/_/g, " ")}` : ""}`;
  if (list === "period") return `The period, ${index === "start" ? "from" : "to"}`;
  if (list === "as_of") return "As of";
  return "The request";
}

// --- Inputs -----------------------------------------------------------------------------------

/** "25,000.00" and " 25000.00 " read as 25000.00; grouping commas only, never a decimal comma. */
function normalise(v) {
  const t = v.trim().replace(/\s/g, "");
  return /^-?\d{1,3}(,\d{3})+(\.\d*)?$/.test(t) ? t.replace(/,/g, "") : t;
}
/** Text someone is still typing ("175.", "-"): no preview, and no error, until it is a number. */
const unfinished = (v) => /^-?$|^-?\d*\.$/.test(v);

function input(props, path, onValue) {
  const i = el("input", { autocomplete: "off", ...props });
  const read = () => (i.type === "checkbox" ? i.checked : i.inputMode === "decimal" ? normalise(i.value) : i.value.trim());
  // Leaving a field commits what it holds, finished or not: a value is never kept only on screen.
  if (i.inputMode === "decimal") {
    i.addEventListener("change", () => {
      onValue(read());
      refresh();
    });
  }
  i.addEventListener(i.type === "checkbox" ? "change" : "input", () => {
    const v = read();
    if (i.inputMode === "decimal" && unfinished(v)) {
      // Still being typed: the preview waits, and says so, rather than flash an error.
      clearError();
      document.querySelector(".preview").classList.add("stale");
      setCurrent(false);
      setStatus("Waiting for a number…");
      return;
    }
    onValue(v);
    refresh();
  });
  // A renamed entry renames its row's labels ("Hours of TE-JAN-11") once the field is left.
  if (props.class === "id") i.addEventListener("change", () => renderInputs());
  if (path) inputsByPath.set(path, i);
  return i;
}

function select(props, options, value, path, onValue) {
  const s = el("select", props, ...options.map((o) => el("option", { value: o, selected: o === value }, words(o))));
  s.value = value;
  s.addEventListener("change", () => {
    onValue(s.value);
    refresh();
  });
  if (path) inputsByPath.set(path, s);
  return s;
}

function removeButton(label, onClick) {
  const b = el("button", { type: "button", "aria-label": label, title: label }, "×");
  b.addEventListener("click", () => {
    const table = b.closest("table").id;
    onClick();
    renderInputs();
    refresh();
    // Focus stays in the table, on the next row's remove button, or moves to the add button.
    const next = document.querySelectorAll(`#${table} tbody button`);
    (next[Math.min(rowIndex, next.length - 1)] || $(table === "entries" ? "add-entry" : "add-expense")).focus();
  });
  let rowIndex = 0;
  b.addEventListener("focus", () => (rowIndex = [...b.closest("tbody").querySelectorAll("button")].indexOf(b)));
  return b;
}

function renderInputs() {
  inputsByPath.clear();
  const c = request.contract;
  $("contract-summary").textContent =
    `${c.id}: ${words(c.billing_model).toLowerCase()}, ${c.currency}, account ${c.account_id}, ` +
    `${plural((request.change_orders || []).length, "change order")}.`;
  for (const s of document.querySelectorAll(".currency")) s.textContent = c.currency;

  $("period-start").value = request.period.start;
  $("period-end").value = request.period.end;
  $("as-of").value = request.as_of || "";
  inputsByPath.set("/period/start", $("period-start"));
  inputsByPath.set("/period/end", $("period-end"));
  inputsByPath.set("/as_of", $("as-of"));
  $("ceiling").value = c.ceiling ? group(c.ceiling.amount.amount) : "";
  inputsByPath.set("/contract/ceiling/amount/amount", $("ceiling"));

  // The rate card as signed (editable) and the rates change orders set (shown with their order).
  const rates = $("rates").tBodies[0];
  rates.replaceChildren();
  (c.rate_card ? c.rate_card.entries : []).forEach((entry, i) => {
    const who = entry.role || entry.resource_id || `entry ${i + 1}`;
    const task = entry.task_id ? `, task ${entry.task_id}` : "";
    const path = `/contract/rate_card/entries/${i}/rate/amount`;
    rates.append(
      el(
        "tr",
        {},
        el("th", { scope: "row" }, `${who}${task}`),
        el("td", {}, entry.effective_from),
        el("td", {}, input({ inputmode: "decimal", value: group(entry.rate.amount), "aria-label": `Rate for ${who}${task} from ${entry.effective_from} (${entry.rate.currency} per hour)` }, path, (v) => (entry.rate.amount = v))),
        el("td", {}, "contract as signed"),
      ),
    );
  });
  for (const co of (request.change_orders || []).slice().sort((a, b) => a.sequence - b.sequence)) {
    for (const ch of co.changes || []) {
      if (ch.type !== "set_rate") continue;
      rates.append(
        el(
          "tr",
          { class: inForce(co) ? "" : "pending" },
          el("th", { scope: "row" }, ch.role || ch.resource_id),
          el("td", {}, ch.effective_from || co.effective_date),
          el("td", { class: "num" }, money(ch.rate)),
          el("td", {}, `${co.id} (${coState(co)})`),
        ),
      );
    }
  }

  const projects = request.projects || [];
  const tasks = [...new Set(projects.flatMap((p) => (p.tasks || []).map((t) => t.id)))];
  const entries = $("entries").tBodies[0];
  entries.replaceChildren();
  (request.time_entries || []).forEach((t, i) => {
    const name = t.id || `entry ${i + 1}`;
    const p = (f) => `/time_entries/${i}/${f}`;
    entries.append(
      el(
        "tr",
        {},
        el("td", {}, input({ type: "text", class: "id", value: t.id, "aria-label": `Id of ${name}` }, p("id"), (v) => (t.id = v))),
        el("td", {}, input({ type: "date", value: t.work_date, "aria-label": `Date of ${name}` }, p("work_date"), (v) => (t.work_date = v))),
        el("td", {}, input({ type: "text", value: t.role || "", "aria-label": `Role of ${name}` }, p("role"), (v) => (t.role = v))),
        el("td", {}, input({ type: "text", value: t.resource_id, "aria-label": `Person of ${name}` }, p("resource_id"), (v) => (t.resource_id = v))),
        el("td", {}, input({ type: "text", class: "id", value: t.project_id, "aria-label": `Project of ${name}` }, p("project_id"), (v) => (t.project_id = v))),
        el("td", {}, tasks.length ? select({ "aria-label": `Task of ${name}` }, tasks.includes(t.task_id) ? tasks : [t.task_id, ...tasks], t.task_id, p("task_id"), (v) => (t.task_id = v)) : input({ type: "text", value: t.task_id, "aria-label": `Task of ${name}` }, p("task_id"), (v) => (t.task_id = v))),
        el("td", {}, select({ "aria-label": `Status of ${name}` }, STATUSES, t.status, p("status"), (v) => (t.status = v))),
        el("td", {}, input({ type: "checkbox", checked: t.billable !== false, "aria-label": `${name} is billable` }, p("billable"), (v) => (v ? delete t.billable : (t.billable = false)))),
        el("td", {}, input({ inputmode: "decimal", value: t.hours, "aria-label": `Hours of ${name}` }, p("hours"), (v) => (t.hours = v))),
        el("td", {}, removeButton(`Remove ${name}`, () => request.time_entries.splice(i, 1))),
      ),
    );
  });

  const expenses = $("expenses").tBodies[0];
  expenses.replaceChildren();
  (request.expenses || []).forEach((x, i) => {
    const name = x.id || `expense ${i + 1}`;
    const p = (f) => `/expenses/${i}/${f}`;
    expenses.append(
      el(
        "tr",
        {},
        el("td", {}, input({ type: "text", class: "id", value: x.id, "aria-label": `Id of ${name}` }, p("id"), (v) => (x.id = v))),
        el("td", {}, input({ type: "date", value: x.date, "aria-label": `Date of ${name}` }, p("date"), (v) => (x.date = v))),
        el("td", {}, input({ type: "text", class: "id", value: x.project_id, "aria-label": `Project of ${name}` }, p("project_id"), (v) => (x.project_id = v))),
        el("td", {}, input({ type: "text", value: x.category, "aria-label": `Category of ${name}` }, p("category"), (v) => (x.category = v))),
        el("td", {}, select({ "aria-label": `Status of ${name}` }, STATUSES, x.status, p("status"), (v) => (x.status = v))),
        el("td", {}, input({ type: "checkbox", checked: x.billable !== false, "aria-label": `${name} is billable` }, p("billable"), (v) => (v ? delete x.billable : (x.billable = false)))),
        el("td", {}, input({ inputmode: "decimal", value: group(x.amount.amount), "aria-label": `Amount of ${name} (${x.amount.currency})` }, p("amount/amount"), (v) => (x.amount.amount = v))),
        el("td", {}, removeButton(`Remove ${name}`, () => request.expenses.splice(i, 1))),
      ),
    );
  });
}

function nextId(prefix, list) {
  let n = list.length + 1;
  while (list.some((x) => x.id === `${prefix}${n}`)) n += 1;
  return `${prefix}${n}`;
}

$("add-entry").addEventListener("click", () => {
  const list = (request.time_entries ||= []);
  // Like the first entry (its project, task, person and role), one approved hour on day one.
  const like = list[0] || {};
  const project = (request.projects || [])[0];
  const role = like.role || (request.contract.rate_card?.entries || []).find((e) => e.role)?.role || "";
  list.push({
    id: nextId("TE-NEW-", list),
    project_id: like.project_id || project?.id || "PRJ-1",
    task_id: like.task_id || project?.tasks?.[0]?.id || "T-1",
    resource_id: like.resource_id || "R-1",
    role,
    work_date: like.work_date || request.period.start,
    hours: "1",
    status: "approved",
  });
  renderInputs();
  refresh();
  $("entries").querySelector("tbody tr:last-child input[inputmode=decimal]").focus();
});

$("add-expense").addEventListener("click", () => {
  const list = (request.expenses ||= []);
  const like = list[0] || {};
  list.push({
    id: nextId("EX-NEW-", list),
    project_id: like.project_id || (request.projects || [])[0]?.id || "PRJ-1",
    date: like.date || request.period.start,
    amount: { amount: "0.00", currency: request.contract.currency },
    category: like.category || "travel",
    status: "approved",
  });
  renderInputs();
  refresh();
});

for (const [id, apply] of [
  ["period-start", (v) => (request.period.start = v)],
  ["period-end", (v) => (request.period.end = v)],
  ["as-of", (v) => (v ? (request.as_of = v) : delete request.as_of)],
]) {
  $(id).addEventListener("input", (e) => {
    if (!request) return;
    apply(e.target.value);
    refresh();
  });
}

$("ceiling").addEventListener("input", (e) => {
  const v = normalise(e.target.value);
  if (v !== "" && unfinished(v)) return;
  const c = request.contract;
  const kept = c.ceiling ? { scope: c.ceiling.scope, mode: c.ceiling.mode } : { scope: "fees", mode: "split" };
  if (v === "") delete c.ceiling;
  else c.ceiling = { amount: { amount: v, currency: c.currency }, ...kept };
  refresh();
});

// --- Preview ----------------------------------------------------------------------------------

function showError(e) {
  const box = $("error");
  const where = e.path ? subject(e.path) : null;
  box.replaceChildren(
    el("span", {}, `${where ? `${where}: ` : ""}${sentence(e.message)}`),
    el("span", {}, request && preview ? " The figures below are from before this change." : ""),
    e.code ? el("small", {}, ` (${e.code}${e.path ? ` at ${e.path}` : ""})`) : "",
  );
  box.hidden = false;
  const target = e.path && (inputsByPath.get(e.path) || [...inputsByPath].find(([p]) => e.path.startsWith(`${p}/`))?.[1]);
  if (target) target.setAttribute("aria-invalid", "true");
  document.querySelector(".preview").classList.add("stale");
}

function clearError() {
  $("error").hidden = true;
  for (const i of document.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  document.querySelector(".preview").classList.remove("stale");
}

/** The totals rows that apply to this contract (a retainer row only on a retainer, ...). */
function totalRows(p) {
  const model = request.contract.billing_model;
  const rows = [
    ["time", "Time", true],
    ["expenses", "Expenses", true],
    ["milestones", "Milestones", model === "milestone" || model === "fixed_fee"],
    ["adjustments", "Adjustments for earlier invoices", false],
    ["retainer_drawdown", "Retainer drawdown", model === "retainer"],
    ["total", "Total", true],
  ];
  return rows.filter(([k, , always]) => always || (p.totals[k] && p.totals[k].amount !== "0.00" && p.totals[k].amount !== "0"));
}

function renderTotals(p) {
  const before = baseline && baseline.preview;
  $("totals").tBodies[0].replaceChildren(
    ...totalRows(p).map(([k, label]) => {
      const now = p.totals[k];
      const was = before && before.totals[k];
      const delta = was ? minus(now.amount, was.amount) : null;
      const sign = delta && !/^-?0(\.0+)?$/.test(delta) ? (delta.startsWith("-") ? "down" : "up") : "";
      return el(
        "tr",
        { class: k === "total" ? "grand" : "" },
        el("th", { scope: "row" }, label),
        el("td", { class: "num before", id: `before-${k}` }, was ? money(was) : ""),
        el("td", { class: "num", id: `total-${k}` }, money(now)),
        el("td", { class: `num before ${sign}`, id: `change-${k}` }, delta ? `${sign === "up" ? "+" : ""}${group(delta)} ${now.currency}` : ""),
      );
    }),
  );
}

function ceilingText(c) {
  return (
    `${c.utilisation_percent}% of ${money(c.limit)} (${c.scope}): ${money(c.billed_before)} billed before, ` +
    `${money(c.this_run)} in this preview, ${money(c.remaining)} remaining.`
  );
}

function renderCeiling(p) {
  const c = p.ceiling;
  const signed = request.contract.ceiling;
  $("ceiling-help").textContent = !c
    ? "No ceiling: leave empty for none, or type an amount."
    : signed && signed.amount.amount !== c.limit.amount
      ? `In force for this period, with change orders: ${money(c.limit)}.`
      : "The limit in force for this period; change orders may raise it.";
  $("ceiling-section").hidden = !c;
  if (c) {
    const gauge = $("gauge");
    gauge.value = Math.min(100, Number(c.utilisation_percent)); // display only
    gauge.textContent = `${c.utilisation_percent}%`;
    gauge.setAttribute("aria-label", `Ceiling used: ${c.utilisation_percent} percent`);
    $("gauge-text").textContent = ceilingText(c);
  }
  const b = baseline && baseline.preview.ceiling;
  $("gauge-before").textContent = b ? `Before: ${ceilingText(b)}` : "";
}

const lineKey = (l) => `${l.kind}:${(l.source_ids || []).join("+")}:${l.date || ""}`;

function renderChanges(p) {
  const list = $("changes");
  if (!baseline) return list.replaceChildren();
  const before = new Map(baseline.preview.lines.map((l) => [lineKey(l), l]));
  const after = new Map(p.lines.map((l) => [lineKey(l), l]));
  const items = [];
  for (const [k, l] of after) {
    const b = before.get(k);
    const what = `${(l.source_ids || []).join(", ") || l.description}`;
    if (!b) items.push(`${what}: new line, ${money(l.amount)}`);
    else if (b.amount.amount !== l.amount.amount || b.quantity !== l.quantity) items.push(`${what}: ${money(b.amount)} → ${money(l.amount)}`);
  }
  for (const [k, l] of before) if (!after.has(k)) items.push(`${(l.source_ids || []).join(", ") || l.description}: no longer billed (was ${money(l.amount)})`);
  const heldNow = new Set(p.held.map((h) => `${h.id}:${h.reason}`));
  for (const h of p.held) if (!baseline.preview.held.some((x) => x.id === h.id && x.reason === h.reason)) items.push(`${h.id}: now held, ${words(h.reason).toLowerCase()}`);
  for (const h of baseline.preview.held) if (!heldNow.has(`${h.id}:${h.reason}`)) items.push(`${h.id}: no longer held as ${words(h.reason).toLowerCase()}`);
  list.replaceChildren(...(items.length ? items : ["Nothing changed yet: edit an input."]).map((t) => el("li", {}, t)));
}

function renderLines(p) {
  const body = $("lines").tBodies[0];
  // While comparing, each line shows its amount before the edit, and lines the edit removed stay
  // listed with their old amount, so before and after read side by side.
  const before = baseline ? new Map(baseline.preview.lines.map((l) => [lineKey(l), l])) : null;
  const row = (l, was, gone) =>
    el(
      "tr",
      { class: gone ? "gone" : "" },
      el("td", {}, l.date || "—"),
      el(
        "td",
        { class: "desc" },
        `${(l.source_ids || []).join(", ")} ${l.description}`.trim(),
        el("small", {}, [l.rate_source, l.contract_version === undefined ? null : `contract v${l.contract_version}`].filter(Boolean).join(" · ")),
      ),
      el("td", { class: "num" }, gone ? "—" : quantity(l.quantity, l.unit)),
      el("td", { class: "num" }, gone ? "—" : money(l.unit_price)),
      el("td", { class: "num before" }, was ? money(was.amount) : before ? "—" : ""),
      el("td", { class: "num" }, gone ? "not billed" : money(l.amount)),
    );
  const rows = p.lines.map((l) => row(l, before && before.get(lineKey(l)), false));
  if (before) {
    const now = new Set(p.lines.map(lineKey));
    for (const [k, l] of before) if (!now.has(k)) rows.push(row(l, l, true));
  }
  body.replaceChildren(...rows);
  if (rows.length === 0) body.append(el("tr", {}, el("td", { colSpan: 6 }, "No billable line in this period.")));
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
    // An amount only where billwise knows one: an item not approved has no price yet.
    const known = items.some((h) => h.amount) || g.amount.amount !== "0.00";
    box.append(
      el(
        "section",
        { class: "held-group", "aria-labelledby": id },
        el("h4", { id }, `${words(g.reason)}: ${plural(g.count, "item")}${known ? `, ${money(g.amount)}` : ""}`),
        el("ul", {}, ...items.map((h) => el("li", {}, el("strong", {}, h.id), ` (${h.kind}, ${h.date || "no date"}): ${sentence(h.sentence)}`))),
      ),
    );
  }
}

function renderTimeline(p) {
  const used = new Set(p.lines.map((l) => l.contract_version).filter((v) => v !== undefined));
  const c = request.contract;
  const items = [el("li", {}, el("strong", {}, "v0"), ` ${c.start_date}: contract ${c.id} as signed`, used.has(0) ? " (prices lines above)" : "")];
  for (const co of (request.change_orders || []).slice().sort((a, b) => a.sequence - b.sequence)) {
    const applies = inForce(co);
    items.push(
      el(
        "li",
        { class: applies ? "" : "pending" },
        el("strong", {}, `v${co.sequence}`),
        ` ${co.effective_date}${co.retroactive ? " (retroactive)" : ""}: ${co.id}, ${coState(co)}: ${co.description || ""}`,
        applies && used.has(co.sequence) ? " (prices lines above)" : "",
      ),
    );
  }
  $("timeline").replaceChildren(...items);
}

function renderInvoiceHeader(p) {
  const c = request.contract;
  $("invoice-header").replaceChildren(
    el("h2", {}, `Invoice draft: ${c.id}`),
    el("p", {}, `Account ${c.account_id}, legal entity ${c.legal_entity}. Work from ${p.period.start} to ${p.period.end}, as of ${p.as_of}.`),
  );
}

/** Exports and printing stand for the figures on screen: off while those are out of date. */
function setCurrent(current) {
  for (const id of ["export-csv", "print", "whatif"]) $(id).disabled = !current;
}

function refresh() {
  if (!request) return;
  clearError();
  save(); // every edit is kept, even one billwise refuses: a reload shows it and its message
  try {
    preview = previewInvoice(request);
  } catch (e) {
    showError(e);
    setCurrent(false);
    setStatus("The preview could not be computed: see the message above the totals.");
    return;
  }
  setCurrent(true);
  renderTotals(preview);
  renderCeiling(preview);
  renderChanges(preview);
  renderLines(preview);
  renderHeld(preview);
  renderTimeline(preview);
  renderInvoiceHeader(preview);
  setStatus(`Preview: ${plural(preview.lines.length, "line")}, ${plural(preview.held.length, "held item")}, total ${money(preview.totals.total)}.`);
  document.body.dataset.ready = "true";
}

// --- Loading ----------------------------------------------------------------------------------

function lastDayOfMonth(date) {
  const [y, m] = date.split("-").map(Number);
  const d = new Date(Date.UTC(y, m, 0));
  return d.toISOString().slice(0, 10);
}

/** Why `req` cannot be edited here, in words, or null. */
function unusable(req, from) {
  if (!req || typeof req !== "object" || Array.isArray(req) || !req.contract || typeof req.contract !== "object") {
    return `${from} is not a preview request: it has no contract. Load a contract file on its own with "Contract".`;
  }
  if (!req.period || typeof req.period.start !== "string" || typeof req.period.end !== "string") {
    return `${from} has no period (a start and an end date).`;
  }
  for (const [list, what] of [["time_entries", "time entries"], ["expenses", "expenses"], ["change_orders", "change orders"], ["projects", "projects"]]) {
    if (req[list] !== undefined && !Array.isArray(req[list])) return `${from}: its ${what} are not a list.`;
  }
  return null;
}

function load(req, from) {
  const why = unusable(req, from);
  if (why) {
    showError({ message: why });
    return;
  }
  req.as_of ||= req.period.end;
  request = req;
  request.time_entries ||= [];
  request.expenses ||= [];
  baseline = null;
  setComparing(false);
  renderInputs();
  refresh();
}

/** Reads a file as one JSON document or as JSON Lines (a document a line). */
async function readDocuments(file) {
  if (/\.csv$/i.test(file.name)) {
    throw new Error(`${file.name} is CSV: this page reads JSON and JSON Lines. Export the records as JSON (or one JSON object a line) and load that.`);
  }
  const text = await file.text();
  try {
    return [JSON.parse(text)];
  } catch (whole) {
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const docs = [];
    for (const [n, line] of lines.entries()) {
      try {
        docs.push(JSON.parse(line));
      } catch {
        throw new Error(`${file.name} is neither JSON nor JSON Lines (line ${n + 1} cannot be read)`);
      }
    }
    if (docs.length === 0) throw new Error(`${file.name} is empty`);
    return docs;
  }
}

const isContract = (d) => d && typeof d === "object" && (d.kind === "contract" || (d.billing_model && d.rate_card !== undefined));

function newRequest(contract, name) {
  const start = contract.start_date;
  if (typeof start !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(start)) throw new Error(`${name}: the contract has no start date`);
  const end = lastDayOfMonth(start);
  return { contract, change_orders: [], projects: [], time_entries: [], expenses: [], period: { start, end }, as_of: end };
}

async function onFile(id, handle) {
  $(id).addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      await handle(await readDocuments(file), file.name);
    } catch (err) {
      showError({ message: err.message });
      setStatus(`${file.name} was not loaded.`);
    }
    e.target.value = "";
  });
}

onFile("file-request", (docs, name) => load(docs[0], name));
onFile("file-contract", (docs, name) => {
  const contract = docs[0];
  if (!isContract(contract)) throw new Error(`${name} is not a contract (it has no billing model and rate card)`);
  // A contract starts a new request: its change orders and the period's work come next.
  load(newRequest(contract, name), name);
});
onFile("file-change-orders", (docs, name) => {
  if (!request) throw new Error("Load a contract first: change orders amend one.");
  const orders = docs.flatMap((d) => (Array.isArray(d) ? d : d.change_orders || [d]));
  for (const co of orders) {
    if (!co || !co.id || !Array.isArray(co.changes)) throw new Error(`${name} holds something that is not a change order`);
    const list = (request.change_orders ||= []);
    const at = list.findIndex((x) => x.id === co.id);
    if (at >= 0) list[at] = co;
    else list.push(co);
  }
  renderInputs();
  refresh();
});
/** Adds `item`, or replaces the one with its id: loading an export again updates, never doubles. */
function upsert(list, item) {
  const at = item.id === undefined ? -1 : list.findIndex((x) => x.id === item.id);
  if (at >= 0) list[at] = item;
  else list.push(item);
}

onFile("file-work", (docs, name) => {
  if (!request) throw new Error("Load a contract first: time and expenses are billed under one.");
  const items = docs.flatMap((d) => (Array.isArray(d) ? d : d.time_entries || d.expenses ? [...(d.time_entries || []), ...(d.expenses || [])] : [d]));
  let entries = 0;
  let expenses = 0;
  let projects = 0;
  for (const item of items) {
    if (item && (item.kind === "project" || (item.contract_id && Array.isArray(item.tasks)))) {
      // A project says which tasks bill: without it, billwise holds its entries.
      const list = (request.projects ||= []);
      const at = list.findIndex((x) => x.id === item.id);
      if (at >= 0) list[at] = item;
      else list.push(item);
      projects += 1;
    } else if (item && item.hours !== undefined) {
      upsert(request.time_entries, item);
      entries += 1;
    } else if (item && item.amount !== undefined && item.category !== undefined) {
      upsert(request.expenses, item);
      expenses += 1;
    } else throw new Error(`${name} holds an item that is not a time entry (hours), an expense (amount and category) or a project`);
  }
  renderInputs();
  refresh();
  const projectsAdded = projects ? `, ${plural(projects, "project")}` : "";
  setStatus(`${name}: ${plural(entries, "time entry", "time entries")}, ${plural(expenses, "expense")}${projectsAdded} read. ${$("status").textContent}`);
});

async function loadSample() {
  const res = await fetch(SAMPLE);
  if (!res.ok) throw new Error(`cannot load the sample (${res.status})`);
  load(await res.json(), "the sample");
}

$("load-sample").addEventListener("click", () => loadSample().catch((e) => showError({ message: e.message })));

// --- Ways out: compare, export, print, download ------------------------------------------------

function setComparing(on) {
  document.body.classList.toggle("comparing", on);
  $("whatif").setAttribute("aria-pressed", String(on));
  $("whatif").textContent = on ? "Stop comparing" : "Compare with this version";
}

$("whatif").addEventListener("click", () => {
  if (!preview) return;
  if (baseline) {
    baseline = null;
    setComparing(false);
  } else {
    baseline = { preview };
    setComparing(true);
  }
  refresh();
});

function download(name, type, text) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

const csvField = (v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
/** Text a spreadsheet would run as a formula (`=...`, `+...`, `@...`) is kept as text. */
const csvText = (v) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);

$("export-csv").addEventListener("click", () => {
  if (!preview) return;
  const header = ["date", "kind", "items", "description", "quantity", "unit", "unit_price", "amount", "currency", "priced_by", "contract_version"];
  const rows = preview.lines.map((l) => [
    l.date || "",
    l.kind,
    csvText((l.source_ids || []).join(" ")),
    csvText(l.description),
    l.quantity,
    l.unit,
    l.unit_price ? l.unit_price.amount : "",
    l.amount.amount,
    l.amount.currency,
    csvText(l.rate_source || ""),
    l.contract_version === undefined ? "" : String(l.contract_version),
  ]);
  rows.push(["", "total", "", "", "", "", "", preview.totals.total.amount, preview.totals.total.currency, "", ""]);
  const text = [header, ...rows].map((r) => r.map(csvField).join(",")).join("\n") + "\n";
  download(`${request.contract.id}-${preview.period.start}-${preview.period.end}.csv`, "text/csv", text);
});

$("print").addEventListener("click", () => window.print());

// A scenario travels in the link: the request, deflated and base64url-encoded after `#r=`.
async function encodeRequest(req) {
  const stream = new Blob([JSON.stringify(req)]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function decodeRequest(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return JSON.parse(await new Response(stream).text());
}

$("share").addEventListener("click", async () => {
  if (!request) return;
  const link = `${location.origin}${location.pathname}#r=${await encodeRequest(request)}`;
  history.replaceState(null, "", link);
  $("share-link").value = link;
  $("share-link").hidden = false;
  $("share-link").select();
  try {
    await navigator.clipboard.writeText(link);
    setStatus(`The link to this scenario is copied (${link.length} characters).`);
  } catch {
    setStatus("The link to this scenario is in the box below the buttons: copy it from there.");
  }
});

$("download-request").addEventListener("click", () => {
  if (!request) return;
  download(`${request.contract.id}-preview-request.json`, "application/json", JSON.stringify(request, null, 2) + "\n");
});

await init();
setStatus("billwise loaded.");
let stored = null;
try {
  stored = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
} catch {
  stored = null;
}
const shared = /^#r=([A-Za-z0-9_-]+)$/.exec(location.hash);
if (shared) {
  // A shared link wins over what this browser kept.
  await decodeRequest(shared[1])
    .then((req) => {
      load(req, "the link");
      // Loaded once: from here the scenario is this browser's own, kept as it is edited.
      history.replaceState(null, "", location.pathname);
    })
    .catch(() => showError({ message: "The link's scenario cannot be read: it may have been cut short when it was copied." }));
} else if (stored && stored.contract) load(stored, "the saved request");
else await loadSample().catch((e) => showError({ message: e.message }));
