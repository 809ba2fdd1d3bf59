// The README's quickstart for Node runs as written against the package under test, and prints
// what the README says it prints. (The browser quickstart runs in js/browser/.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_DIR, PACKAGE_NAME, RUNTIME, WASM, project, quickstart } from "./support.mjs";

const heading = WASM ? "Quickstart: Node without a native addon" : "Quickstart: Node";

test(`the README's "${heading}" runs and prints what it says (${RUNTIME})`, () => {
  const { code, output } = quickstart(heading, "js");
  assert.ok(code.includes(`require("${PACKAGE_NAME}")`), `the quickstart should require ${PACKAGE_NAME}`);
  const dir = project(PACKAGE_NAME, PACKAGE_DIR);
  try {
    writeFileSync(join(dir, "quickstart.cjs"), code);
    const stdout = execFileSync(process.execPath, ["quickstart.cjs"], { cwd: dir, encoding: "utf8" });
    assert.equal(stdout, output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
