// The `billwise` package through `require`, typed.

import billwise = require("billwise");

const report = billwise.validate({ document: { schema_version: 1, kind: "payment" } });
const valid: boolean = report.valid;
const err: typeof billwise.BillwiseLimitExceededError = billwise.BillwiseLimitExceededError;
export = { valid, err };
