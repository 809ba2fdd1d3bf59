// The README's quickstart for Node runs as written against the package under test, and prints
// what the README says it prints. (The browser quickstart runs in js/browser/.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_DIR, PACKAGE_NAME, ROOT, RUNTIME, WASM } from "./support.mjs";

/** The first `lang` code block of README section `heading` and the `text` block after it. */
export function quickstart(heading, lang) {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has no section "## ${heading}"`);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const code = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(section);
  const output = /```text\n([\s\S]*?)```/.exec(section);
  assert.ok(code && output, `README section "${heading}" needs a ${lang} block and a text block`);
  return { code: code[1], output: output[1] };
}

/** A throwaway project whose node_modules holds the package under test. */
export function project(name, packageDir) {
  const dir = mkdtempSync(join(tmpdir(), "billwise-readme-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(packageDir, join(dir, "node_modules", name), "dir");
  return dir;
}

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
