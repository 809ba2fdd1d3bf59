// What every test file shares: the binding under test, canonical JSON, and the spec cases.
//
// `BILLWISE_TEST_WASM=1` runs the whole suite against the WebAssembly build for Node
// (bindings-wasm/pkg) instead of the native addon (bindings-node), with the same expectations.

import { createRequire } from "node:module";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WASM = ["1", "true", "yes"].includes(String(process.env.BILLWISE_TEST_WASM || "").toLowerCase());
/** Where the package under test lives. */
export const PACKAGE_DIR = WASM ? join(ROOT, "bindings-wasm", "pkg") : join(ROOT, "bindings-node");
/** The CommonJS entry point of the package under test. */
export const ENTRY = WASM ? join(PACKAGE_DIR, "node.cjs") : join(PACKAGE_DIR, "index.js");
/** The ES module entry point of the package under test. */
export const ESM_ENTRY = WASM ? join(PACKAGE_DIR, "node.mjs") : join(PACKAGE_DIR, "index.mjs");
export const PACKAGE_NAME = WASM ? "billwise-wasm" : "billwise";
export const RUNTIME = WASM ? "wasm" : "native";

export const billwise = require(ENTRY);

/**
 * Canonical JSON exactly as billwise_core::json::write_canonical writes it: compact, object keys
 * sorted by their UTF-8 bytes, control characters and DEL as lowercase `\u00xx`.
 */
export function canonical(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new Error(`not JSON: ${value}`);
      return JSON.stringify(value);
    case "string":
      return canonicalString(value);
    case "object":
      if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
      return `{${Object.keys(value)
        .sort(compareUtf8)
        .map((k) => `${canonicalString(k)}:${canonical(value[k])}`)
        .join(",")}}`;
    default:
      throw new Error(`not JSON: ${typeof value}`);
  }
}

function canonicalString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

const encoder = new TextEncoder();
function compareUtf8(a, b) {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** "preview_invoice" -> "previewInvoice" */
export function camelCase(op) {
  return op.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/** Every case under spec/cases, sorted by path, each checked to have the id of its path. */
export function loadCases() {
  const dir = join(ROOT, "spec", "cases");
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".json")) files.push(p);
    }
  };
  walk(dir);
  return files.map((file) => {
    const c = JSON.parse(readFileSync(file, "utf8"));
    const id = relative(dir, file).replace(/\\/g, "/").replace(/\.json$/, "");
    if (c.id !== id) throw new Error(`${file}: id \`${c.id}\` should be \`${id}\``);
    return c;
  });
}

/**
 * The text a generator stands for (spec/README.md, "Generated inputs"): each repeat is `times`
 * copies of `text` joined by `separator`, `@{i}` in copy k replaced by `start + k`; each `@{name}`
 * of the template is replaced by its repeat's expansion, without rescanning.
 */
export function expandGenerator(gen) {
  const repeat = gen.repeat || {};
  if (Object.hasOwn(repeat, "i")) throw new Error("`i` is the counter; a repeat may not be called `i`");
  const done = new Map();
  const expandRepeat = (r) => {
    const sep = r.separator ?? "";
    const start = r.start ?? 0;
    if (!r.text.includes("@{i}")) {
      return r.times === 0 ? "" : (r.text + sep).repeat(r.times - 1) + r.text;
    }
    const parts = r.text.split("@{i}");
    const out = [];
    for (let k = 0; k < r.times; k++) out.push(parts.join(String(start + k)));
    return out.join(sep);
  };
  return gen.template.replace(/@\{([a-z0-9_]+)\}/g, (_, name) => {
    if (!Object.hasOwn(repeat, name)) throw new Error(`the template names @{${name}}, which repeat does not define`);
    if (!done.has(name)) done.set(name, expandRepeat(repeat[name]));
    return done.get(name);
  });
}

/**
 * A case's request as JSON text, the form the `*Json` functions take: `input` written canonically
 * (the bytes the Rust runner sends), `input_text` as it is, `input_gen` expanded, `input_base64`
 * decoded as strict UTF-8. Bytes that are not UTF-8 cannot be a JS string at all: for them this
 * returns `{ notUtf8: true }`, and the runner checks that strict decoding refuses them.
 */
export function caseRequestText(c) {
  if (c.input !== undefined) return canonical(c.input);
  if (c.input_text !== undefined) return c.input_text;
  if (c.input_gen !== undefined) return expandGenerator(c.input_gen);
  if (c.input_base64 !== undefined) {
    const bytes = Buffer.from(c.input_base64, "base64");
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      return { notUtf8: true };
    }
  }
  throw new Error(`${c.id}: no input`);
}

/** A case's expected result (`result`, or `result_gen` expanded and parsed); undefined for an error. */
export function caseExpectedResult(c) {
  if (c.expect.result !== undefined) return c.expect.result;
  if (c.expect.result_gen !== undefined) return JSON.parse(expandGenerator(c.expect.result_gen));
  return undefined;
}

/** The JS error name for a core error code: `Billwise` + the name the core gives it. */
export function errorNameFor(code) {
  return `Billwise${billwise.ERROR_CODES[code].exception}`;
}

/** A small valid request, for "the module still works" checks. */
export const VALID_REQUEST = Object.freeze({
  document: {
    schema_version: 1,
    kind: "payment",
    id: "PAY-1",
    invoice_id: "INV-1",
    amount: { amount: "100.00", currency: "USD" },
    date: "2026-03-01",
  },
});

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

