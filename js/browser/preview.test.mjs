// The contract preview page (bindings-wasm/www/) in headless Chromium: it loads the sample
// (spec/examples/scenario/month-1-january.json) from a static server on 127.0.0.1, shows the
// totals, held items and ceiling the billing spec gives for it, recomputes when a rate is edited,
// and reports an invalid rate at its input. A screenshot is saved as target/contract-preview.png.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../suite/support.mjs";
import { CHROMIUM, launch, serve } from "./support.mjs";

test("the contract preview page shows the sample's invoice and follows an edited rate", async () => {
  assert.ok(existsSync(join(ROOT, "bindings-wasm", "pkg", "web.mjs")), "build the package first: make wasm-build");
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (make browser-deps)`);
  const { server, url } = await serve(ROOT);
  let browser;
  try {
    browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${url}bindings-wasm/www/index.html`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    assert.deepEqual(errors, []);
    const text = (sel) => page.textContent(sel).then((t) => t.trim());

    // January of the sample: 30,560.00 of time capped at the 25,000.00 ceiling, travel with 5%
    // markup (612.40 -> 643.02), meals not billable (spec/domain/billing.md).
    assert.equal(await text("#total-time"), "25,000.00 USD");
    assert.equal(await text("#total-expenses"), "643.02 USD");
    assert.equal(await text("#total-total"), "25,643.02 USD");
    assert.equal(await page.getAttribute("#gauge", "value"), "100");
    assert.match(await text("#gauge-text"), /^100% of 25,000\.00 USD/);
    assert.equal(await text("#held-ceiling_exceeded"), "Ceiling exceeded: 2 items, 5,560.00 USD");
    assert.equal(await text("#held-not_billable"), "Not billable: 2 items, 0.00 USD");
    assert.equal(await text("#held-not_approved"), "Not approved: 1 item, 0.00 USD");
    assert.equal(await page.locator("#lines tbody tr").count(), 8);
    assert.match(await text("#timeline"), /v1 2026-01-19 \(retroactive\): CO-1, submitted/);

    // Every input has an accessible name.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll("input")].filter((i) => !(i.labels.length > 0 || i.getAttribute("aria-label"))).map((i) => i.id),
    );
    assert.deepEqual(unnamed, []);

    // Senior Architect at 100.00 instead of 285.00: 40 h cost 7,400.00 less, so the time is
    // 30,560.00 - 7,400.00 = 23,160.00, under the ceiling; nothing is held for it any more.
    const rate = page.getByLabel("Rate for Senior Architect from 2026-01-05 (USD per hour)");
    await rate.fill("100.00");
    assert.equal(await text("#total-time"), "23,160.00 USD");
    assert.equal(await text("#total-total"), "23,803.02 USD");
    assert.equal(await page.locator("#held-ceiling_exceeded").count(), 0);
    assert.match(await text("#gauge-text"), /^92\.64% of 25,000\.00 USD/);

    // A rate that is not a decimal is refused by billwise and pointed at, then fixed by keyboard.
    await rate.fill("1O0.00");
    assert.equal(await page.isVisible("#error"), true);
    assert.match(await text("#error"), /BillwiseInputError .*\/contract\/rate_card\/entries\/1\/rate\/amount/);
    assert.equal(await rate.getAttribute("aria-invalid"), "true");
    await rate.press("End");
    await rate.press("Backspace");
    await rate.press("Backspace");
    await rate.press("Backspace");
    await rate.press("Backspace");
    await rate.press("Backspace");
    await rate.press("Backspace");
    await rate.pressSequentially("285.00");
    assert.equal(await page.isVisible("#error"), false);
    assert.equal(await text("#total-total"), "25,643.02 USD");

    // Raising the ceiling to 50,000.00 bills everything approved and billable: 30,560.00 + 643.02.
    await page.getByLabel("Ceiling (USD)").fill("50000.00");
    assert.equal(await text("#total-total"), "31,203.02 USD");
    await page.getByLabel("Ceiling (USD)").fill("25000.00");
    await rate.fill("100.00");

    assert.deepEqual(errors, []);
    mkdirSync(join(ROOT, "target"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "target", "contract-preview.png"), fullPage: true });
  } finally {
    if (browser) await browser.close();
    server.close();
  }
});
