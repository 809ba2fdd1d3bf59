// The `Engine` class: a held engine gives the same answers, byte for byte, as the stateless
// `engine_replay` operation over the same envelopes; snapshots round-trip; errors keep the shape.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { billwise, canonical, ROOT, RUNTIME, WASM } from "./support.mjs";

const scenario = join(ROOT, "spec", "examples", "scenario");
const envelopes = readFileSync(join(scenario, "events.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line));
const policy = JSON.parse(readFileSync(join(ROOT, "spec", "examples", "ownership-policy.json"), "utf8"));
const query = { period: { start: "2026-01-01", end: "2026-03-31" }, as_of: "2026-04-01" };

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("expected an error");
}

function replayed() {
  return billwise.engineReplay({
    ownership_policy: policy,
    envelopes,
    preview: query,
    metrics_as_of: "2026-04-01",
  });
}

describe(`Engine (${RUNTIME})`, () => {
  test("envelopes applied one by one give the outcomes, snapshot and preview of engine_replay", () => {
    const expected = replayed();
    const engine = new billwise.Engine({ ownership_policy: policy });
    const outcomes = envelopes.map((e) => engine.apply(e));
    assert.equal(canonical(outcomes), canonical(expected.outcomes));
    assert.equal(engine.version, expected.version);
    assert.equal(engine.snapshot(), canonical(expected.snapshot));
    assert.equal(canonical(engine.previewInvoice(query)), canonical(expected.preview));
    assert.equal(canonical(engine.metrics({ as_of: "2026-04-01" })), canonical(expected.metrics));
    assert.equal(canonical(engine.exceptions()), canonical(expected.exceptions));
    assert.equal(canonical(engine.verifyAudit()), canonical(expected.audit));
    engine.free();
  });

  test("an invalid time entry is rejected with every problem and the engine still previews", () => {
    const engine = new billwise.Engine({ ownership_policy: policy });
    for (const e of envelopes) engine.apply(e);
    const expected = engine.previewInvoice(query);
    const bad = {
      idempotency_key: "psa-TE-BAD-1",
      correlation_id: "week-2026-03-09",
      source: "psa",
      occurred_at: "2026-03-12T09:00:00Z",
      event: {
        type: "time_entry.recorded",
        time_entry: {
          id: "TE-BAD-1", project_id: "PRJ-5530", task_id: "T-BUILD", resource_id: "R-PATEL",
          role: "", work_date: "2026-03-06", hours: "-3", status: "submitted",
        },
      },
    };
    const outcome = engine.apply(bad);
    assert.equal(outcome.status, "rejected");
    const problems = outcome.rejection.problems.map((p) => [p.code, p.path]);
    assert.deepEqual(problems, [
      ["DOCUMENT_EMPTY_FIELD", "/event/time_entry/role"],
      ["DOCUMENT_NEGATIVE_AMOUNT", "/event/time_entry/hours"],
    ]);
    assert.deepEqual(engine.previewInvoice(query), expected);
    assert.deepEqual(engine.exceptions().at(-1).problems, outcome.rejection.problems);
  });

  test("a batch answers every outcome and the version", () => {
    const engine = new billwise.Engine({ ownership_policy: policy });
    const batch = engine.applyBatch(envelopes);
    assert.equal(batch.outcomes.length, envelopes.length);
    assert.equal(batch.version, replayed().version);
    // The same envelopes again are all duplicates; nothing changes.
    const again = engine.applyBatch(envelopes, { atomic: true });
    assert.ok(again.outcomes.every((o) => o.status === "duplicate" || o.status === "rejected"));
    assert.equal(again.version, batch.version);
  });

  test("a snapshot restores into an engine with the same bytes that keeps applying", () => {
    const engine = new billwise.Engine({ ownership_policy: policy });
    engine.applyBatch(envelopes.slice(0, 30));
    const restored = billwise.Engine.fromSnapshot(engine.snapshot());
    assert.equal(restored.snapshot(), engine.snapshot());
    assert.equal(restored.apply(envelopes[0]).status, "duplicate");
    for (const e of envelopes.slice(30)) {
      assert.equal(canonical(restored.apply(e)), canonical(engine.apply(e)));
    }
    assert.equal(restored.snapshot(), engine.snapshot());
  });

  test("a tampered snapshot is refused and the engine stays as it was", () => {
    const engine = new billwise.Engine({ ownership_policy: policy });
    engine.applyBatch(envelopes.slice(0, 10));
    const before = engine.snapshot();
    const tampered = before.replace('"OPP-7781"', '"OPP-7782"');
    assert.notEqual(tampered, before);
    const e = thrown(() => engine.restore(tampered));
    assert.ok(e instanceof billwise.BillwiseError, String(e));
    assert.equal(engine.snapshot(), before);
  });

  test("a reused idempotency key with another payload throws the idempotency error", () => {
    const engine = new billwise.Engine();
    engine.apply(envelopes[0]);
    const changed = structuredClone(envelopes[0]);
    changed.event.opportunity.name = "Something else";
    const e = thrown(() => engine.apply(changed));
    assert.equal(e.name, "BillwiseIdempotencyConflictError");
    assert.equal(e.code, "ENGINE_IDEMPOTENCY_CONFLICT");
    assert.equal(engine.version, 1);
  });

  test("hostile envelopes are refused with input errors and the engine keeps working", () => {
    const engine = new billwise.Engine();
    let deep = {};
    for (let i = 0; i < 5000; i += 1) deep = { a: deep };
    for (const bad of [null, 3, "text", [], { event: deep }, { ...envelopes[0], event: { type: "no.such" } }]) {
      const e = thrown(() => engine.apply(bad));
      assert.ok(e instanceof billwise.BillwiseError, String(e));
    }
    const e = thrown(() => engine.metrics({ as_of: 20260401 }));
    assert.equal(e.code, "INPUT_INVALID_TYPE");
    assert.equal(engine.apply(envelopes[0]).status, "applied");
  });

  test("an options object with an unknown field is an input error at its path", () => {
    const e = thrown(() => new billwise.Engine({ ownership: policy }));
    assert.equal(e.name, "BillwiseInputError");
    assert.equal(e.code, "INPUT_UNKNOWN_FIELD");
    assert.equal(e.path, "/ownership");
  });

  test("a freed engine refuses further calls", () => {
    const engine = new billwise.Engine();
    engine.free();
    assert.equal(thrown(() => engine.version).code, "INPUT_INVALID_VALUE");
  });

  test("after a defect an engine is either intact (native) or reported lost (WebAssembly)", () => {
    const engine = new billwise.Engine();
    engine.apply(envelopes[0]);
    thrown(() => billwise._panicForTests());
    if (WASM) {
      const e = thrown(() => engine.version);
      assert.equal(e.name, "BillwiseInternalError");
      // A new engine works on the fresh instance.
      assert.equal(new billwise.Engine().apply(envelopes[0]).status, "applied");
    } else {
      assert.equal(engine.version, 1);
    }
  });
});
