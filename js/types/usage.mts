// A typed use of the `billwise` package as an ES module; `make js-types` checks it with
// `tsc --noEmit --strict`. It is never run.

import {
  validate,
  validateJson,
  validateAsync,
  previewInvoice,
  previewInvoiceAsync,
  run,
  BillwiseError,
  BillwiseInputError,
  ERROR_CODES,
  VERSION,
  SCHEMA_VERSION,
  type Contract,
  type Money,
  type Problem,
  type ValidateRequest,
  type ValidateResponse,
  type ErrorCode,
  type PreviewInvoiceRequest,
  type PreviewInvoiceResponse,
  type TimeEntry,
  Engine,
  type Envelope,
  type Outcome,
} from "billwise";

const rate: Money = { amount: "185.00", currency: "USD" };
const contract: Contract = {
  schema_version: 1,
  id: "C-1",
  account_id: "ACC-1",
  legal_entity: "US01",
  currency: "USD",
  billing_model: "time_and_materials",
  start_date: "2026-01-05",
  end_date: "2026-12-31",
  status: "active",
  rate_card: {
    entries: [{ role: "Consultant", rate, effective_from: "2026-01-05" }],
  },
};

const request: ValidateRequest = { document: contract };
const report: ValidateResponse = validate(request);
const problems: Problem[] = report.problems;
const codes: ErrorCode[] = problems.map((p) => p.code);
const same: ValidateResponse = run("validate", request);
const text: string = validateJson(JSON.stringify(request));

async function later(): Promise<boolean> {
  const r = await validateAsync({ document: contract, kind: "contract" });
  return r.valid;
}

// The billing run: approved time entries in, lines, held items and totals out.
const entry: TimeEntry = {
  id: "TE-1",
  project_id: "PRJ-1",
  task_id: "T-1",
  resource_id: "R-1",
  role: "Consultant",
  work_date: "2026-03-02",
  hours: "7.5",
  status: "approved",
};
const preview: PreviewInvoiceRequest = {
  contract,
  projects: [{ schema_version: 1, id: "PRJ-1", contract_id: "C-1", legal_entity: "US01", status: "active", tasks: [{ id: "T-1", name: "Build" }] }],
  time_entries: [entry],
  period: { start: "2026-03-01", end: "2026-03-31" },
  as_of: "2026-04-01",
};
const invoice: PreviewInvoiceResponse = previewInvoice(preview);
const total: string = invoice.totals.total.amount;
const heldReasons: string[] = invoice.held.map((h) => `${h.id}: ${h.reason}: ${h.sentence}`);
async function batch(): Promise<string> {
  const r = await previewInvoiceAsync(preview);
  return r.totals.total.amount;
}
// @ts-expect-error hours are a decimal string, never a number
const badHours: TimeEntry = { ...entry, hours: 7.5 };

try {
  validate({ document: { schema_version: 1 } });
} catch (e) {
  if (e instanceof BillwiseInputError) {
    const code: ErrorCode = e.code;
    const path: string = e.path;
    const details: { [key: string]: unknown } = e.details;
    console.log(code, path, details, ERROR_CODES[code].class);
  } else if (e instanceof BillwiseError) {
    console.log(e.name, e.message);
  }
}

// @ts-expect-error money is a decimal string, never a number
const wrong: Money = { amount: 185, currency: "USD" };
// @ts-expect-error an unknown currency is not a Currency
const unknownCurrency: Money = { amount: "1.00", currency: "XXX" };

// A held engine: envelopes in, typed outcomes and previews out.
const engine = new Engine();
const envelope: Envelope = {
  idempotency_key: "psa-te-1",
  correlation_id: "PRJ-1",
  source: "psa",
  occurred_at: "2026-01-12T09:30:00Z",
  event: { type: "time_entry.approved", id: "TE-1" },
};
const outcome: Outcome = engine.apply(envelope);
const applied: "applied" | "duplicate" | "rejected" = outcome.status;
const engineVersion: number = engine.applyBatch([envelope], { atomic: true }).version;
const restored: Engine = Engine.fromSnapshot(engine.snapshot());
const held = restored.previewInvoice({ period: { start: "2026-01-01", end: "2026-01-31" }, as_of: "2026-02-01" }).held;
engine.free();

const version: string = VERSION;
const schemaVersion: 1 = SCHEMA_VERSION;
export { applied, engineVersion, held, codes, same, text, later, total, heldReasons, batch, badHours, wrong, unknownCurrency, version, schemaVersion };
