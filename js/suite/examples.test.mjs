// bindings-node/examples: the n8n-style step gives one report per item, never throws on bad data.
// Under BILLWISE_TEST_WASM the same step runs with `billwise` resolved to the WebAssembly package.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

test(`the n8n-style preview step turns time entries into lines, held items and totals (${RUNTIME})`, () => {
  const dir = project("billwise", PACKAGE_DIR);
  try {
    cpSync(join(ROOT, "bindings-node", "examples"), join(dir, "examples"), { recursive: true });
    const request = join(ROOT, "spec", "examples", "scenario", "month-1-january.json");
    const stdout = execFileSync(process.execPath, ["examples/n8n-preview-step.js", request], { cwd: dir, encoding: "utf8" });
    // January of the sample scenario: the 25,000.00 ceiling is crossed by TE-JAN-23 (20 h at
    // 160.00), billed for the 120.00 left; 25,000.00 of time + 643.02 travel (612.40 + 5%).
    assert.equal(
      stdout,
      [
        "line TE-JAN-11: 5700.00",
        "line TE-JAN-12: 3900.00",
        "line EX-JAN-1: 643.02",
        "line TE-JAN-13: 3200.00",
        "line TE-JAN-14: 2480.00",
        "line TE-JAN-21: 5700.00",
        "line TE-JAN-22: 3900.00",
        "line TE-JAN-23: 120.00",
        "held EX-JAN-2 not_billable: expense category meals is not billable under CTR-2026-031 (billable: lodging, travel)",
        "held TE-JAN-23 ceiling_exceeded: time entry TE-JAN-23 was billed up to the ceiling of 25000.00; 3080.00 is over it",
        "held TE-JAN-24 ceiling_exceeded: time entry TE-JAN-24 would bring the total billed against the ceiling to more than 25000.00 (0.00 left)",
        "held TE-JAN-90 not_billable: task T-TRAINING of project PRJ-5530 is non-billable",
        "held TE-JAN-91 not_approved: time entry TE-JAN-91 is submitted, not approved",
        "total 25643.02 USD",
        "",
      ].join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The README's n8n recipe requires the example by its path in the package.
test("the examples are importable by their path in the package, as the n8n recipe does", { skip: RUNTIME !== "native" }, () => {
  const dir = project("billwise", PACKAGE_DIR);
  try {
    const stdout = execFileSync(
      process.execPath,
      ["-e", 'const m = require("billwise/examples/n8n-preview-step.js"); console.log(typeof m.previewItems)'],
      { cwd: dir, encoding: "utf8" },
    );
    assert.equal(stdout, "function\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`the JSON Lines example previews a month streamed from disk, as JSON text (${RUNTIME})`, () => {
  const dir = project("billwise", PACKAGE_DIR);
  try {
    cpSync(join(ROOT, "bindings-node", "examples"), join(dir, "examples"), { recursive: true });
    const month = JSON.parse(readFileSync(join(ROOT, "spec", "examples", "scenario", "month-1-january.json"), "utf8"));
    writeFileSync(join(dir, "entries.jsonl"), month.time_entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
    writeFileSync(join(dir, "request.json"), JSON.stringify({ ...month, time_entries: [] }));
    const stdout = execFileSync(process.execPath, ["examples/preview-jsonl.js", "request.json", "entries.jsonl"], { cwd: dir, encoding: "utf8" });
    // The sample's January (spec/domain/billing.md), the same as the whole request in one piece.
    assert.equal(stdout, "10 time entries: 8 lines, 5 held, total 25643.02 USD\n");

    // A line that is not an entry is billwise's error, at its position in the list.
    writeFileSync(join(dir, "bad.jsonl"), [JSON.stringify(month.time_entries[0]), '{"id": "TE-X", "hours": 1.5}'].join("\n"));
    const bad = (() => {
      try {
        execFileSync(process.execPath, ["examples/preview-jsonl.js", "request.json", "bad.jsonl"], { cwd: dir, encoding: "utf8", stdio: "pipe" });
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.ok(bad, "a bad line must fail");
    assert.match(bad.stderr, /at \/time_entries\/1\//);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
