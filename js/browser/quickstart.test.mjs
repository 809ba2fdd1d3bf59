// The README's browser quickstart, in headless Chromium: the page loads billwise-wasm as an ES
// module from a static server on 127.0.0.1, runs `validate`, and shows what the README says it
// shows. Then, on the same page, a panic inside the module and a valid call after it.
// A screenshot is saved as target/browser-quickstart.png.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, quickstart } from "../suite/support.mjs";
import { CHROMIUM, launch, serve } from "./support.mjs";

test("the README's browser quickstart runs in headless Chromium", async () => {
  const pkg = join(ROOT, "bindings-wasm", "pkg");
  assert.ok(existsSync(join(pkg, "web.mjs")), "build the package first: make wasm-build");
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (make browser-deps)`);
  const { code, output } = quickstart("Quickstart: browser", "html");

  const site = mkdtempSync(join(tmpdir(), "billwise-site-"));
  mkdirSync(join(site, "node_modules"));
  symlinkSync(pkg, join(site, "node_modules", "billwise-wasm"), "dir");
  writeFileSync(join(site, "index.html"), code);
  const { server, url } = await serve(site);
  let browser;
  try {
    browser = await launch();
    const page = await browser.newPage();
    const errors = [];
    const logs = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => logs.push(m.text()));
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById("out").textContent !== "loading", null, {
      timeout: 30_000,
    });
    assert.deepEqual(errors, []);
    assert.equal(await page.textContent("#out"), output.trimEnd());
    assert.ok(logs.some((l) => /^billwise \d+\.\d+\.\d+/.test(l)), logs.join("\n"));

    // A panic traps the WebAssembly instance; the wrapper resets it and the next call works.
    const after = await page.evaluate(async () => {
      const m = await import("billwise-wasm");
      let panic;
      try {
        m._panicForTests();
      } catch (e) {
        panic = [e.name, e.code];
      }
      const deep = "[".repeat(100000) + "]".repeat(100000);
      let limit;
      try {
        m.validateJson(`{"document":${deep}}`);
      } catch (e) {
        limit = [e.name, e.code];
      }
      const ok = m.validate({ document: { schema_version: 1, kind: "account", id: "A", name: "N", status: "active" } });
      return { panic, limit, valid: ok.valid, async: (await m.validateAsync({ document: { kind: "account" } })).valid };
    });
    assert.deepEqual(after, {
      panic: ["BillwiseInternalError", "INTERNAL_ERROR"],
      limit: ["BillwiseLimitExceededError", "INPUT_LIMIT_EXCEEDED"],
      valid: true,
      async: false,
    });

    mkdirSync(join(ROOT, "target"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "target", "browser-quickstart.png") });
  } finally {
    if (browser) await browser.close();
    server.close();
    rmSync(site, { recursive: true, force: true });
  }
});
