// bindings-node/examples: the n8n-style step gives one report per item, never throws on bad data.
// Under BILLWISE_TEST_WASM the same step runs with `billwise` resolved to the WebAssembly package.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_DIR, ROOT, RUNTIME, project } from "./support.mjs";

test(`the n8n-style step reports the problems of each item (${RUNTIME})`, () => {
  const dir = project("billwise", PACKAGE_DIR);
  try {
    cpSync(join(ROOT, "bindings-node", "examples"), join(dir, "examples"), { recursive: true });
    const stdout = execFileSync(process.execPath, ["examples/n8n-validate-step.js"], { cwd: dir, encoding: "utf8" });
    assert.equal(
      stdout,
      [
        "0 contract CTR-2026-014: valid",
        "1 payment PAY-77120: valid",
        "2 work_log ?: /time_entries/0/hours INPUT_NUMBER_NOT_ALLOWED",
        "3 ? TS-1: /kind INPUT_UNKNOWN_KIND",
        "",
      ].join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
