// `npm pack` gives a package that a fresh project installs, `require`s and `import`s.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_DIR, PACKAGE_NAME, ROOT, RUNTIME, WASM, quickstart } from "./support.mjs";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const quiet = ["--no-audit", "--no-fund", "--loglevel=error"];

test(`npm pack gives a package a fresh project can require and import (${RUNTIME})`, (t) => {
  const work = mkdtempSync(join(tmpdir(), "billwise-pack-"));
  try {
    const packed = JSON.parse(
      execFileSync(npm, ["pack", "--json", "--pack-destination", work, ...quiet], { cwd: PACKAGE_DIR, encoding: "utf8" }),
    );
    const files = packed[0].files.map((f) => f.path);
    for (const f of ["index.d.ts", "documents.d.ts", "README.md", "LICENSE", "package.json"]) {
      assert.ok(files.includes(f), `${f} is not in the package: ${files.join(", ")}`);
    }
    assert.ok(files.some((f) => f.endsWith(RUNTIME === "wasm" ? ".wasm" : ".node")), files.join(", "));
    const tarball = join(work, packed[0].filename);

    const app = join(work, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
    execFileSync(npm, ["install", "--offline", ...quiet, tarball], { cwd: app, encoding: "utf8" });
    assert.ok(readdirSync(join(app, "node_modules")).includes(PACKAGE_NAME));

    const request = '{document: {schema_version: 1, kind: "payment", id: "P", invoice_id: "I", amount: {amount: "1.00", currency: "USD"}, date: "2026-01-01"}}';
    writeFileSync(join(app, "a.cjs"), `const b = require("${PACKAGE_NAME}"); console.log(b.validate(${request}).valid, b.SCHEMA_VERSION);`);
    writeFileSync(join(app, "b.mjs"), `import { validate, VERSION } from "${PACKAGE_NAME}"; console.log(validate(${request}).valid, typeof VERSION);`);
    assert.equal(execFileSync(process.execPath, ["a.cjs"], { cwd: app, encoding: "utf8" }), "true 1\n");
    assert.equal(execFileSync(process.execPath, ["b.mjs"], { cwd: app, encoding: "utf8" }), "true string\n");

    // The README's quickstart, run as a user would after installing the tarball.
    const { code, output } = quickstart(WASM ? "Quickstart: Node without a native addon" : "Quickstart: Node", "js");
    writeFileSync(join(app, "quickstart.cjs"), code);
    assert.equal(execFileSync(process.execPath, ["quickstart.cjs"], { cwd: app, encoding: "utf8" }), output);

    if (!WASM) {
      // The documented n8n-style step, required by the path its comment gives.
      const request = join(ROOT, "spec", "examples", "scenario", "month-1-january.json");
      writeFileSync(
        join(app, "step.cjs"),
        `const { previewItems } = require("billwise/examples/n8n-preview-step.js");
const req = require(${JSON.stringify(request)});
const out = previewItems(req.time_entries.map((json) => ({ json })), req);
console.log(out.filter((i) => i.json.type === "line").length, out.filter((i) => i.json.type === "held").length);`,
      );
      assert.equal(execFileSync(process.execPath, ["step.cjs"], { cwd: app, encoding: "utf8" }), "8 5\n");

      // The addon is stripped: no symbol table, only what `require` needs.
      const addon = join(app, "node_modules", PACKAGE_NAME, files.find((f) => f.endsWith(".node")));
      const sections = execFileSync("readelf", ["-S", "-W", addon], { encoding: "utf8" });
      assert.ok(!sections.includes(".symtab"), "the packed addon still has its symbol table");
      t.diagnostic(`stripped addon: ${(statSync(addon).size / 1e6).toFixed(2)} MB; tarball: ${(statSync(tarball).size / 1e6).toFixed(2)} MB`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
