// Prints the size of a .wasm file (raw and gzip) and fails when the gzip size is over the budget.
// Usage: node wasm-size.mjs FILE BUDGET_BYTES

import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const [file, budgetArg] = process.argv.slice(2);
const raw = readFileSync(file);
const gzip = gzipSync(raw, { level: 9 }).length;
const budget = Number(budgetArg);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`wasm size: ${file}: ${kb(raw.length)} raw, ${kb(gzip)} gzip (budget ${kb(budget)} gzip)`);
if (!(gzip <= budget)) {
  console.error(`wasm size: ${kb(gzip)} gzip is over the budget of ${kb(budget)}`);
  process.exit(1);
}
