// The JavaScript side of `make parity`: every case of OUT_DIR/cases.jsonl through `runJson` of
// the native addon (`native`) or the WebAssembly build (`wasm`), on the exact request bytes
// decoded as UTF-8; writes OUT_DIR/<runtime>.jsonl (see tests/src/parity.rs). A JS string cannot
// hold invalid UTF-8, so a case whose bytes are not UTF-8 is answered `{"id", "skipped": ...}`
// and the comparison counts it as not applicable to JS.
"use strict";

const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const [runtime, out] = process.argv.slice(2);
const root = join(__dirname, "..", "..");
const entry =
  runtime === "wasm" ? join(root, "bindings-wasm", "pkg", "node.cjs") : join(root, "bindings-node", "index.js");
const billwise = require(entry);

// Keys sorted by UTF-16 code unit equal UTF-8 byte order for the ASCII keys written here.
function line(obj) {
  const keys = Object.keys(obj).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${value(obj[k])}`).join(",")}}`;
}
function value(v) {
  return v !== null && typeof v === "object" ? line(v) : JSON.stringify(v);
}

const lines = [];
for (const raw of readFileSync(join(out, "cases.jsonl"), "utf8").split("\n")) {
  if (raw === "") continue;
  const c = JSON.parse(raw);
  if (!c.utf8) {
    lines.push(line({ id: c.id, skipped: "the input is not UTF-8; a JS string cannot hold it" }));
    continue;
  }
  const text = readFileSync(join(out, c.input), "utf8");
  try {
    lines.push(line({ id: c.id, result: billwise.runJson(c.op, text) }));
  } catch (e) {
    if (!(e instanceof billwise.BillwiseError)) throw e;
    // The error's name without the JS prefix, as the other runtimes name it.
    const exception = e.name.replace(/^Billwise/, "");
    lines.push(line({ id: c.id, error: { code: e.code, exception, path: e.path } }));
  }
}
writeFileSync(join(out, `${runtime}.jsonl`), lines.map((l) => l + "\n").join(""));
console.log(`parity: ${runtime} answered ${lines.length} cases`);
