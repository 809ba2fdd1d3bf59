// An n8n-style step: approved time entries come in as items; the invoice preview and the held
// items go out.
//
// In an n8n Code node ("Run Once for All Items"; allow the module with
// NODE_FUNCTION_ALLOW_EXTERNAL=billwise), with the contract and its projects from earlier nodes:
//
//     const { previewItems } = require("billwise/examples/n8n-preview-step.js");
//     return previewItems($input.all(), {
//       contract: $("Contract").first().json,
//       projects: $("Projects").all().map((i) => i.json),
//       period: { start: "2026-01-01", end: "2026-01-31" },
//     });
//
// It returns one item per invoice line and one per held item (`json.type` says which), so the next
// nodes can route them: lines to the invoice, held items to a review queue with their sentences.
// A request billwise cannot read at all (a number where hours belong, an unknown field) throws the
// BillwiseError, with `code` and a JSON-pointer `path` naming the item: the step cannot bill anything.
//
// Run it from a shell on a preview request: `node n8n-preview-step.js request.json`.

"use strict";

const billwise = require("billwise");

/**
 * @param {Array<{json: object}>} items time entries, one per item
 * @param {{contract: object, projects: object[], period: {start: string, end: string},
 *   change_orders?: object[], expenses?: object[], as_of?: string}} context
 */
function previewItems(items, context) {
  const preview = billwise.previewInvoice({ ...context, time_entries: items.map((i) => i.json) });
  const { lines, held, totals } = preview;
  return [
    ...lines.map((line) => ({ json: { type: "line", contract_id: preview.contract_id, ...line } })),
    ...held.map((item) => ({ json: { type: "held", contract_id: preview.contract_id, ...item } })),
    { json: { type: "totals", contract_id: preview.contract_id, period: preview.period, ...totals } },
  ];
}

module.exports = { previewItems };

if (require.main === module) {
  const fs = require("node:fs");
  const { time_entries, ...context } = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const out = previewItems(time_entries.map((json) => ({ json })), context);
  for (const { json } of out) {
    if (json.type === "line") console.log(`line ${json.source_ids.join(",")}: ${json.amount.amount}`);
    if (json.type === "held") console.log(`held ${json.id} ${json.reason}: ${json.sentence}`);
    if (json.type === "totals") console.log(`total ${json.total.amount} ${json.total.currency}`);
  }
}
