// An n8n-style step: validate every incoming item and return its problems.
//
// In an n8n Code node ("Run Once for All Items"; allow the module with
// NODE_FUNCTION_ALLOW_EXTERNAL=billwise), the body is:
//
//     const { validateItems } = require("billwise/examples/n8n-validate-step.js");
//     return validateItems($input.all());
//
// Each item's `json` is one billwise document (a contract, a work log, an invoice, ...). The step
// never throws on bad data: an item that cannot be read at all comes back with `valid: false`
// and the error as its one problem, so one broken record does not stop the batch.
//
// Run it from a shell on the sample items: `node n8n-validate-step.js [items.json]`.

"use strict";

const billwise = require("billwise");

/**
 * @param {Array<{json: object}>} items the step's input items
 * @returns {Array<{json: {index: number, id: string|null, kind: string|null, valid: boolean,
 *   problems: Array<{path: string, code: string, message: string}>}}>}
 */
function validateItems(items) {
  return items.map((item, index) => {
    const document = item.json;
    const id = document && typeof document.id === "string" ? document.id : null;
    try {
      const report = billwise.validate({ document });
      return { json: { index, id, kind: report.kind, valid: report.valid, problems: report.problems } };
    } catch (e) {
      if (!(e instanceof billwise.BillwiseError)) throw e;
      // Paths in a report point into the document; an error's path points into the request.
      const path = e.path.startsWith("/document") ? e.path.slice("/document".length) : e.path;
      const problem = { path, code: e.code, message: e.message };
      return { json: { index, id, kind: null, valid: false, problems: [problem] } };
    }
  });
}

module.exports = { validateItems };

if (require.main === module) {
  const fs = require("node:fs");
  const path = require("node:path");
  const file = process.argv[2] || path.join(__dirname, "items.json");
  const items = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const { json } of validateItems(items)) {
    const what = `${json.index} ${json.kind || "?"} ${json.id || "?"}`;
    if (json.valid) console.log(`${what}: valid`);
    for (const p of json.problems) console.log(`${what}: ${p.path} ${p.code}`);
  }
}
