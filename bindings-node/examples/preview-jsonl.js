// A month of time entries as JSON Lines (one entry a line, the way PSA exports and data pipelines
// write them) previewed without building a JS object per entry.
//
//     node preview-jsonl.js request.json entries.jsonl
//
// `request.json` holds the rest of the preview request (contract, change orders, projects,
// expenses, period, as_of); `entries.jsonl` the time entries. Each line is streamed from disk and
// written into the request's JSON text as it is: nothing is parsed in JavaScript. The request
// goes to `previewInvoiceJsonAsync`, which runs on the libuv thread pool; the answer is JSON text
// too. For large batches this is several times faster than `previewInvoice(object)`, where every
// entry is an object going in and every line one coming out (`make bench-node` measures both).
// A line that is not JSON is billwise's error, with its position: `/time_entries/<n>/...`.

"use strict";

const { createReadStream, readFileSync } = require("node:fs");
const { createInterface } = require("node:readline");
const billwise = require("billwise");

/** The request's JSON text with `entries` (JSON text, one entry a line) as its time entries. */
async function requestText(requestFile, entriesFile) {
  const rest = JSON.parse(readFileSync(requestFile, "utf8"));
  delete rest.time_entries;
  const parts = [];
  const lines = createInterface({ input: createReadStream(entriesFile), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() !== "") parts.push(line);
  }
  const head = JSON.stringify(rest).slice(0, -1); // the object without its closing brace
  return { text: `${head}${head.length > 1 ? "," : ""}"time_entries":[${parts.join(",")}]}`, entries: parts.length };
}

async function main(requestFile, entriesFile) {
  const { text, entries } = await requestText(requestFile, entriesFile);
  const preview = JSON.parse(await billwise.previewInvoiceJsonAsync(text));
  const t = preview.totals.total;
  console.log(`${entries} time entries: ${preview.lines.length} lines, ${preview.held.length} held, total ${t.amount} ${t.currency}`);
}

module.exports = { requestText };

if (require.main === module) {
  const [requestFile, entriesFile] = process.argv.slice(2);
  if (!requestFile || !entriesFile) {
    console.error("usage: node preview-jsonl.js request.json entries.jsonl");
    process.exit(2);
  }
  main(requestFile, entriesFile).catch((e) => {
    console.error(e instanceof billwise.BillwiseError ? `${e.code} at ${e.path}: ${e.message}` : e);
    process.exit(1);
  });
}
