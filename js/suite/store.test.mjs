// The `Store` class: engines kept per contract in SQLite (always) and PostgreSQL (when
// BILLWISE_TEST_POSTGRES_URL names a server; `make test` starts one). Only the native addon has a
// database; the WebAssembly build throws BillwiseStoreError.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { billwise, ROOT, WASM } from "./support.mjs";

const scenario = join(ROOT, "spec", "examples", "scenario");
const envelopes = readFileSync(join(scenario, "events.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line));
const policy = JSON.parse(readFileSync(join(ROOT, "spec", "examples", "ownership-policy.json"), "utf8"));

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("expected an error");
}

function backends() {
  const out = [["sqlite", () => `sqlite:///${join(mkdtempSync(join(tmpdir(), "billwise-store-")), "billing.db")}`]];
  const pg = process.env.BILLWISE_TEST_POSTGRES_URL;
  if (pg) out.push(["postgresql", () => pg]);
  else if (process.env.BILLWISE_REQUIRE_POSTGRES) throw new Error("BILLWISE_REQUIRE_POSTGRES is set but BILLWISE_TEST_POSTGRES_URL is not");
  return out;
}

if (WASM) {
  test("the WebAssembly build has no store and says so with a StoreError", () => {
    const e = thrown(() => new billwise.Store("sqlite://"));
    assert.ok(e instanceof billwise.BillwiseStoreError);
    assert.equal(e.code, "STORE_UNAVAILABLE");
    assert.match(e.message, /native addon/);
  });
} else {
  for (const [name, url] of backends()) {
    describe(`Store on ${name}`, () => {
      test("a reopened store holds the engine that applied the scenario", () => {
        const db = url();
        const contract = `CTR-${randomUUID().slice(0, 12)}`;
        const store = new billwise.Store(db, { snapshot_every: 20 });
        for (let i = 0; i < envelopes.length; i += 9) {
          store.apply(contract, envelopes.slice(i, i + 9), { ownership_policy: policy });
        }
        store.close();
        const engine = new billwise.Engine({ ownership_policy: policy });
        engine.applyBatch(envelopes);
        const again = new billwise.Store(db);
        assert.equal(again.snapshot(contract), engine.snapshot());
        const v = again.verify(contract);
        assert.deepEqual([v.valid, v.version, v.audit_entries], [true, 65, 65]);
        assert.equal(again.replay(contract).matches, true);
        assert.ok(again.contracts().includes(contract));
        assert.equal(again.engine(contract).version, 65);
        again.close();
      });

      test("exceptions are listed, retried, resolved with a note and traced", () => {
        const contract = `CTR-${randomUUID().slice(0, 12)}`;
        const store = new billwise.Store(url());
        const first = store.apply(contract, envelopes, { ownership_policy: policy });
        assert.equal(first.version, 65);
        const waiting = store.exceptions({ contract_id: contract });
        assert.deepEqual(
          waiting.map((x) => [x.code, x.source, x.status]),
          [["OWNERSHIP_NOT_OWNER", "crm", "open"]],
        );
        const [x] = waiting;
        assert.equal(store.retry(contract, x.sequence).outcomes[0].status, "rejected");
        assert.equal(store.exceptions({ contract_id: contract })[0].attempts, 2);
        const trace = store.trace(x.correlation_id);
        assert.ok(trace.stuck.some((s) => s.contract_id === contract && s.sequence === x.sequence));
        const done = store.resolve(contract, x.sequence, { note: "handled in the ERP", actor: "ops" });
        assert.deepEqual([done.status, done.note], ["resolved", "handled in the ERP"]);
        assert.deepEqual(store.exceptions({ contract_id: contract }), []);
        assert.equal(store.verify(contract).valid, true);
        store.close();
      });

      test("errors keep their class and code", () => {
        const store = new billwise.Store(url());
        const unknown = thrown(() => store.verify("CTR-NONE"));
        assert.ok(unknown instanceof billwise.BillwiseInputError);
        assert.equal(unknown.code, "STORE_NOT_FOUND");
        const missing = thrown(() => store.retry(undefined, 1));
        assert.equal(missing.code, "INPUT_MISSING_FIELD");
        store.close();
        const closed = thrown(() => store.contracts());
        assert.ok(closed instanceof billwise.BillwiseStoreError);
      });
    });
  }

  test("a store URL that is not one is an input error", () => {
    const e = thrown(() => new billwise.Store("mysql://localhost/billing"));
    assert.ok(e instanceof billwise.BillwiseInputError);
    assert.equal(e.code, "STORE_INVALID_URL");
  });
}
