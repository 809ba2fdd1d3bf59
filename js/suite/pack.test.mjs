// `npm pack` gives a package that a fresh project installs, `require`s and `import`s.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_DIR, PACKAGE_NAME, RUNTIME } from "./support.mjs";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const quiet = ["--no-audit", "--no-fund", "--loglevel=error"];

test(`npm pack gives a package a fresh project can require and import (${RUNTIME})`, () => {
  const work = mkdtempSync(join(tmpdir(), "billwise-pack-"));
  try {
    const packed = JSON.parse(
      execFileSync(npm, ["pack", "--json", "--pack-destination", work, ...quiet], { cwd: PACKAGE_DIR, encoding: "utf8" }),
    );
    const files = packed[0].files.map((f) => f.path);
    assert.ok(files.includes("index.d.ts") && files.includes("documents.d.ts"), files.join(", "));
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
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
