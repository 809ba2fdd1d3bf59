// The contract preview page (bindings-wasm/www/) in headless Chromium, as a finance analyst uses
// it: the sample's figures, the layout at 800, 1400 and 1920 px (nothing overlaps, nothing
// overflows the window), editing and adding entries, messages in plain words, a what-if
// comparison, exports, a printable invoice, the request kept across a reload, files loaded one by
// one, and an axe-core accessibility check. Screenshots go to target/screenshots/ for a person to
// look at; they are not compared by pixels.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../suite/support.mjs";
import { CHROMIUM, launch, serve } from "./support.mjs";

const require = createRequire(import.meta.url);
const SHOTS = join(ROOT, "target", "screenshots");
const AXE = require.resolve("axe-core/axe.min.js");

/** Every pair of visible elements whose boxes overlap (ancestors and descendants excepted). */
function overlaps() {
  const sel = "h1,h2,h3,h4,p,li,dt,dd,th,td,caption,label,input,select,button,meter,legend";
  const clip = (e) => {
    // The part of an element inside every scrolling box around it: a table scrolled sideways
    // inside its box does not cover what is beside the box.
    let r = e.getBoundingClientRect();
    let box = { l: r.left, t: r.top, r: r.right, b: r.bottom };
    for (let a = e.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== "visible" || s.overflowY !== "visible") {
        const c = a.getBoundingClientRect();
        box = { l: Math.max(box.l, c.left), t: Math.max(box.t, c.top), r: Math.min(box.r, c.right), b: Math.min(box.b, c.bottom) };
      }
    }
    return box;
  };
  const els = [...document.querySelectorAll(sel)].filter((e) => {
    const s = getComputedStyle(e);
    return e.getClientRects().length > 0 && s.visibility !== "hidden" && !e.closest(".sr-only");
  });
  const boxes = els.map((e) => [e, clip(e)]).filter(([, b]) => b.r - b.l > 1 && b.b - b.t > 1);
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, x] = boxes[i];
      const [b, y] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const w = Math.min(x.r, y.r) - Math.max(x.l, y.l);
      const h = Math.min(x.b, y.b) - Math.max(x.t, y.t);
      if (w > 1.5 && h > 1.5) {
        const name = (e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}${e.getAttribute("aria-label") ? `[${e.getAttribute("aria-label")}]` : ""} "${(e.textContent || "").trim().slice(0, 30)}"`;
        found.push(`${name(a)} overlaps ${name(b)} by ${w.toFixed(0)}x${h.toFixed(0)} px`);
      }
    }
  }
  return found.slice(0, 10);
}

async function open(browser, url, width) {
  const context = await browser.newContext({ viewport: { width, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${url}bindings-wasm/www/index.html`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  return { context, page, errors };
}

/** The serious and critical axe-core violations on the page (axe.min.js injected first). */
async function serious() {
  const r = await window.axe.run(document, { resultTypes: ["violations"] });
  return r.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.length} nodes, e.g. ${v.nodes[0].target.join(" ")})`);
}

const text = (page, sel) => page.textContent(sel).then((t) => t.trim());
/** Waits until the status line matches: files are read asynchronously. */
const settled = (page, pattern) =>
  page.waitForFunction((p) => new RegExp(p).test(document.getElementById("status").textContent), pattern.source, { timeout: 10_000 });

test("the contract preview page, as an analyst uses it", async (t) => {
  assert.ok(existsSync(join(ROOT, "bindings-wasm", "pkg", "web.mjs")), "build the package first: make wasm-build");
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (make browser-deps)`);
  mkdirSync(SHOTS, { recursive: true });
  const { server, url } = await serve(ROOT);
  const browser = await launch();
  try {
    await t.test("at 800, 1400 and 1920 px nothing overlaps and nothing overflows the window", async () => {
      for (const width of [800, 1400, 1920]) {
        const { context, page, errors } = await open(browser, url, width);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${width} px: the page is ${overflow} px wider than the window`);
        assert.deepEqual(await page.evaluate(overlaps), [], `${width} px`);
        await page.screenshot({ path: join(SHOTS, `contract-preview-${width}.png`), fullPage: true });
        assert.deepEqual(errors, []);
        await context.close();
      }
    });

    await t.test("the sample's figures, formatted one way, with only the rows that apply", async () => {
      const { context, page } = await open(browser, url, 1400);
      // January of the sample: 30,560.00 of time capped at the 25,000.00 ceiling, travel with 5%
      // markup (612.40 -> 643.02), meals not billable (spec/domain/billing.md).
      assert.equal(await text(page, "#total-time"), "25,000.00 USD");
      assert.equal(await text(page, "#total-expenses"), "643.02 USD");
      assert.equal(await text(page, "#total-total"), "25,643.02 USD");
      // A time-and-materials contract with nothing to adjust shows no retainer, milestone or
      // adjustment rows.
      assert.equal(await page.locator("#total-retainer_drawdown, #total-milestones, #total-adjustments").count(), 0);
      assert.match(await text(page, "#gauge-text"), /^100% of 25,000\.00 USD/);
      assert.equal(await text(page, "#held-ceiling_exceeded"), "Ceiling exceeded: 2 items, 5,560.00 USD");
      // No price is known for an item not approved: no "0.00 USD".
      assert.equal(await text(page, "#held-not_approved"), "Not approved: 1 item");
      assert.equal(await page.locator("#lines tbody tr").count(), 8);
      assert.match(await text(page, "#lines tbody tr:first-child"), /20 hours\s*285\.00 USD\s*5,700\.00 USD/);
      // The change order's rates are listed with the card's, with its state.
      assert.match(await text(page, "#rates"), /Senior Architect\s*2026-01-19\s*305\.00 USD\s*CO-1 \(submitted: not in force until approved\)/);
      // Billwise's sentences show amounts as the figures do.
      assert.match(await text(page, "#held"), /billed up to the ceiling of 25,000\.00; 3,080\.00 is over it/);
      await context.close();
    });

    await t.test("edits, plain messages, what-if, added and removed entries, exports and print", async () => {
      const { context, page, errors } = await open(browser, url, 1400);
      const hours = page.getByLabel("Hours of TE-JAN-13");
      await hours.fill("-3");
      assert.equal(await page.isVisible("#error"), true);
      const message = await text(page, "#error");
      assert.match(message, /^TE-JAN-13, hours: /);
      assert.doesNotMatch(message, /BillwiseInputError/);
      assert.equal(await hours.getAttribute("aria-invalid"), "true");
      // Half-typed numbers wait: no error flashes for "7." on the way to "7.5".
      await hours.fill("7.");
      assert.equal(await page.isVisible("#error"), false);
      assert.equal(await page.isDisabled("#export-csv"), true, "no export of figures that are out of date");
      // Left half-typed, the value is committed, and billwise says what is wrong with it.
      await hours.blur();
      assert.match(await text(page, "#error"), /^TE-JAN-13, hours: /);
      // An accessibility check with the message shown and the figures out of date.
      await page.addScriptTag({ path: AXE });
      assert.deepEqual(await page.evaluate(serious), []);
      await hours.fill("20");
      // Grouping commas are read: "25,000.00" is 25000.00.
      await page.getByLabel(/Ceiling as signed/).fill("25,000.00");
      assert.equal(await page.isVisible("#error"), false);
      assert.equal(await text(page, "#total-total"), "25,643.02 USD");

      // What-if: compare, then lower a rate; before, after and the change side by side.
      await page.click("#whatif");
      await page.getByLabel("Rate for Senior Architect from 2026-01-05 (USD per hour)").fill("100.00");
      assert.equal(await text(page, "#before-total"), "25,643.02 USD");
      assert.equal(await text(page, "#total-total"), "23,803.02 USD");
      assert.equal(await text(page, "#change-total"), "-1,840.00 USD");
      assert.match(await text(page, "#changes"), /TE-JAN-11: 5,700\.00 USD → 2,000\.00 USD/);
      assert.match(await text(page, "#changes"), /TE-JAN-23: no longer held as ceiling exceeded/);
      // The lines side by side: TE-JAN-11's amount before the edit beside its amount now.
      assert.match(await text(page, "#lines tbody tr:first-child"), /5,700\.00 USD\s*2,000\.00 USD$/);
      await page.click("#whatif");
      assert.equal(await page.isVisible("#before-total"), false);

      // Add an entry (one approved hour), then remove it.
      const before = await page.locator("#lines tbody tr").count();
      await page.click("#add-entry");
      assert.equal(await page.locator("#lines tbody tr").count(), before + 1);
      await page.getByLabel(/^Status of TE-NEW-/).selectOption("submitted");
      assert.equal(await page.locator("#lines tbody tr").count(), before);
      assert.match(await text(page, "#held-not_approved"), /^Not approved: 2 items$/);
      await page.getByRole("button", { name: /^Remove TE-NEW-/ }).click();
      assert.equal(await page.locator("#entries tbody tr").count(), 10);

      // Export the lines as CSV, and the edited request as JSON.
      const [csv] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
      const rows = readFileSync(await csv.path(), "utf8").trimEnd().split("\n");
      assert.equal(rows[0], "date,kind,items,description,quantity,unit,unit_price,amount,currency,priced_by,contract_version");
      assert.equal(rows.length, 1 + before + 1);
      assert.match(rows[rows.length - 1], /^,total,.*,23803\.02,USD,,$/);
      const [json] = await Promise.all([page.waitForEvent("download"), page.click("#download-request")]);
      const saved = JSON.parse(readFileSync(await json.path(), "utf8"));
      assert.equal(saved.contract.rate_card.entries[1].rate.amount, "100.00");

      // The printable invoice: the inputs and controls go, an invoice header comes.
      await page.emulateMedia({ media: "print" });
      assert.equal(await page.isVisible(".inputs"), false);
      assert.equal(await page.isVisible("#invoice-header"), true);
      assert.match(await text(page, "#invoice-header"), /Invoice draft: CTR-2026-031/);
      await page.screenshot({ path: join(SHOTS, "contract-preview-print.png"), fullPage: true });
      await page.emulateMedia({ media: "screen" });

      // The edited request is still there after a reload.
      await page.reload();
      await page.waitForSelector("body[data-ready=true]");
      assert.equal(await text(page, "#total-total"), "23,803.02 USD");

      // A link carries the scenario to someone else's browser (a new context: nothing stored).
      await page.click("#share");
      await page.waitForFunction(() => /#r=/.test(location.href));
      const link = await page.evaluate(() => location.href);
      assert.deepEqual(errors, []);
      await context.close();
      const other = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const there = await other.newPage();
      await there.goto(link);
      await there.waitForSelector("body[data-ready=true]");
      assert.equal(await text(there, "#total-total"), "23,803.02 USD");
      await other.close();
    });

    await t.test("a contract, its change orders and the time export are loaded one by one", async () => {
      const { context, page, errors } = await open(browser, url, 1400);
      const scenario = join(ROOT, "spec", "examples", "scenario");
      await page.setInputFiles("#file-contract", join(scenario, "contract.json"));
      await settled(page, /^Preview: 0 lines/);
      assert.equal(await page.locator("#entries tbody tr").count(), 0);
      assert.match(await text(page, "#lines"), /No billable line/);
      await page.setInputFiles("#file-change-orders", join(scenario, "change-order-co1.json"));
      await page.waitForFunction(() => /1 change order/.test(document.getElementById("contract-summary").textContent));
      assert.match(await text(page, "#contract-summary"), /1 change order\./);
      const month = JSON.parse(readFileSync(join(scenario, "month-1-january.json"), "utf8"));
      const dir = mkdtempSync(join(tmpdir(), "billwise-page-"));
      const export_ = join(dir, "psa-export.jsonl");
      writeFileSync(export_, [...month.projects, ...month.time_entries, ...month.expenses].map((x) => JSON.stringify(x)).join("\n") + "\n");
      await page.setInputFiles("#file-work", export_);
      await settled(page, /^psa-export/);
      assert.match(await text(page, "#status"), /^psa-export\.jsonl: 10 time entries, 2 expenses, 1 project read\./);
      // The same export again replaces by id: nothing is doubled.
      await page.setInputFiles("#file-work", export_);
      await settled(page, /^psa-export/);
      assert.equal(await page.locator("#entries tbody tr").count(), 10);
      // The same documents as the sample's request, loaded one by one: the same invoice.
      assert.equal(await text(page, "#total-total"), "25,643.02 USD");
      // A file that is not JSON says so in plain words.
      const csvFile = join(dir, "time.csv");
      writeFileSync(csvFile, "id,hours\nTE-1,8\n");
      await page.setInputFiles("#file-work", csvFile);
      await page.waitForSelector("#error:not([hidden])");
      assert.match(await text(page, "#error"), /time\.csv is CSV: this page reads JSON and JSON Lines/);
      assert.deepEqual(errors, []);
      await context.close();
    });

    await t.test("axe-core finds no serious or critical accessibility violation", async () => {
      const { context, page } = await open(browser, url, 1400);
      await page.addScriptTag({ path: AXE });
      assert.deepEqual(await page.evaluate(serious), []);
      await context.close();
    });
  } finally {
    await browser.close();
    server.close();
  }
});
