// The public API of the package under test: exports, error shape, money as strings, async
// variants, hostile input, and bounded memory.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { billwise, canonical, ROOT, RUNTIME, VALID_REQUEST, ESM_ENTRY } from "./support.mjs";
import { operations } from "../scripts/gen.mjs";

const example = (name) => JSON.parse(readFileSync(join(ROOT, "spec", "examples", name), "utf8"));

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("expected an error");
}

async function rejected(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

function stillWorks() {
  const report = billwise.validate(VALID_REQUEST);
  assert.deepEqual(report, { kind: "payment", problems: [], schema_version: 1, valid: true });
}

describe(`exports (${RUNTIME})`, () => {
  test("the version, schema version and operations are exported", () => {
    assert.match(billwise.VERSION, /^\d+\.\d+\.\d+/);
    assert.equal(billwise.SCHEMA_VERSION, 1);
    assert.ok(billwise.OPERATIONS.includes("validate"));
  });

  test("the operations of the core are exactly those the generated entry points list", () => {
    // spec/schema/v1/api/*.request.schema.json drives index.mjs and index.d.ts; the core's
    // api::OPERATIONS is the truth. A difference means `make gen js-gen` was not run.
    assert.deepEqual([...billwise.OPERATIONS].sort(), operations());
  });

  test("every operation has a plain, a Json, an Async and a JsonAsync function", () => {
    for (const op of billwise.OPERATIONS) {
      const name = op.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
      for (const suffix of ["", "Json", "Async", "JsonAsync"]) {
        assert.equal(typeof billwise[`${name}${suffix}`], "function", `${name}${suffix}`);
      }
    }
  });

  test("ERROR_CODES lists every code with its class, exception and description", () => {
    const codes = billwise.ERROR_CODES;
    assert.ok(Object.isFrozen(codes));
    assert.deepEqual(codes.INPUT_UNKNOWN_FIELD, {
      code: "INPUT_UNKNOWN_FIELD",
      class: "input",
      exception: "InputError",
      description: "an object has a field the schema does not define",
    });
    assert.equal(codes.INTERNAL_ERROR.class, "internal");
    const md = readFileSync(join(ROOT, "spec", "errors.md"), "utf8");
    const inMd = [...md.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(Object.keys(codes), inMd);
  });

  test("the ES module entry point exports the same functions", async () => {
    const esm = await import(ESM_ENTRY);
    assert.equal(esm.validate, billwise.validate);
    assert.equal(esm.BillwiseInputError, billwise.BillwiseInputError);
    assert.equal(esm.VERSION, billwise.VERSION);
    assert.deepEqual(esm.validate(VALID_REQUEST).valid, true);
  });
});

describe(`errors (${RUNTIME})`, () => {
  test("an error is a real Error with name, code, message, path and details", () => {
    const e = thrown(() => billwise.validateJson('{"document": {"schema_version": 1,'));
    assert.ok(e instanceof Error);
    assert.ok(e instanceof billwise.BillwiseError);
    assert.ok(e instanceof billwise.BillwiseInputError);
    assert.equal(e.name, "BillwiseInputError");
    assert.equal(e.code, "INPUT_MALFORMED_JSON");
    assert.equal(e.path, "");
    assert.match(e.message, /^the input is not valid JSON/);
    assert.equal(typeof e.details.line, "number");
    assert.match(e.stack, /^BillwiseInputError: the input is not valid JSON/);
    assert.equal(String(e).split(":")[0], "BillwiseInputError");
  });

  test("a limit error is a BillwiseLimitExceededError with the limit in its details", () => {
    const e = thrown(() =>
      billwise.validate({ document: { kind: "account", name: "x".repeat(70_000) } }),
    );
    assert.equal(e.name, "BillwiseLimitExceededError");
    assert.ok(e instanceof billwise.BillwiseLimitExceededError);
    assert.equal(e.code, "INPUT_LIMIT_EXCEEDED");
    assert.equal(e.path, "/document/name");
    assert.equal(e.details.limit, "max_string_bytes");
  });

  test("an unsupported schema version is a BillwiseSchemaVersionError", () => {
    const e = thrown(() => billwise.validate({ schema_version: 2, document: VALID_REQUEST.document }));
    assert.equal(e.name, "BillwiseSchemaVersionError");
    assert.equal(e.code, "SCHEMA_VERSION_UNSUPPORTED");
    assert.equal(e.path, "/schema_version");
  });

  test("an unknown operation is an input error naming the operations", () => {
    const e = thrown(() => billwise.run("no_such_operation", {}));
    assert.equal(e.name, "BillwiseInputError");
    assert.equal(e.code, "INPUT_INVALID_VALUE");
    assert.match(e.message, /validate/);
  });

  test("a request that is not an object is refused before it reaches the core", () => {
    for (const bad of [null, undefined, 42, "{}", [], true]) {
      const e = thrown(() => billwise.validate(bad));
      assert.equal(e.name, "BillwiseInputError");
      assert.equal(e.code, "INPUT_INVALID_TYPE");
    }
    assert.match(thrown(() => billwise.validate("{}")).message, /validateJson|Json/);
    for (const bad of [null, undefined, 42, {}]) {
      assert.equal(thrown(() => billwise.validateJson(bad)).code, "INPUT_INVALID_TYPE");
    }
  });

  test("a value JSON cannot hold is refused with a clear error", () => {
    const big = thrown(() => billwise.validate({ document: { amount: 10n } }));
    assert.equal(big.name, "BillwiseInputError");
    assert.equal(big.code, "INPUT_INVALID_TYPE");
    assert.match(big.message, /BigInt/);
    const cyclic = { document: {} };
    cyclic.document.self = cyclic;
    assert.equal(thrown(() => billwise.validate(cyclic)).code, "INPUT_INVALID_TYPE");
    stillWorks();
  });

  test("a panic inside billwise is a BillwiseInternalError and the module keeps working", () => {
    const e = thrown(() => billwise._panicForTests());
    assert.equal(e.name, "BillwiseInternalError");
    assert.equal(e.code, "INTERNAL_ERROR");
    stillWorks();
    assert.equal(thrown(() => billwise._panicForTests()).code, "INTERNAL_ERROR");
    stillWorks();
  });
});

describe(`money is a decimal string (${RUNTIME})`, () => {
  test("a JS number where a quantity belongs is reported, not rounded", () => {
    const report = billwise.validate({
      document: {
        schema_version: 1,
        kind: "work_log",
        time_entries: [
          {
            id: "TE-1",
            project_id: "P-1",
            task_id: "T-1",
            resource_id: "R-1",
            role: "Consultant",
            work_date: "2026-03-02",
            hours: 7.5,
            status: "approved",
          },
        ],
        expenses: [],
      },
    });
    assert.equal(report.valid, false);
    assert.deepEqual(report.problems.map((p) => [p.code, p.path]), [
      ["INPUT_NUMBER_NOT_ALLOWED", "/time_entries/0/hours"],
    ]);
  });

  test("a JS number where money belongs in the contract is refused with a clear error", () => {
    const contract = example("contract-northwind-tm.json");
    contract.rate_card.entries[0].rate.amount = 185.5;
    const e = thrown(() =>
      billwise.validate({ document: example("change-order-northwind-co1.json"), contract }),
    );
    assert.equal(e.name, "BillwiseInputError");
    assert.equal(e.code, "INPUT_NUMBER_NOT_ALLOWED");
    assert.equal(e.path, "/contract/rate_card/entries/0/rate/amount");
    assert.match(e.message, /decimal string/);
  });

  test("decimal strings come back exactly as the core wrote them", () => {
    const text = billwise.validateJson(JSON.stringify({ document: example("contract-northwind-tm.json") }));
    assert.equal(canonical(JSON.parse(text)), text);
  });
});

describe(`results are plain JSON (${RUNTIME})`, () => {
  test("a result holds only plain objects, arrays, strings, numbers, booleans and null", () => {
    const report = billwise.validate({ document: example("contract-northwind-tm.json") });
    const check = (v) => {
      if (v === null || ["string", "number", "boolean"].includes(typeof v)) return;
      assert.equal(typeof v, "object");
      if (Array.isArray(v)) return v.forEach(check);
      assert.equal(Object.getPrototypeOf(v), Object.prototype);
      for (const x of Object.values(v)) {
        assert.notEqual(x, undefined);
        check(x);
      }
    };
    check(report);
  });

  test("text outside ASCII in an answer comes back as it was sent", () => {
    for (const key of ["café", "Tâche 🙂", "\u00ff\u0100"]) {
      const document = { ...VALID_REQUEST.document, [key]: key };
      const [problem] = billwise.validate({ document }).problems;
      assert.deepEqual([problem.code, problem.path], ["INPUT_UNKNOWN_FIELD", `/${key}`]);
      assert.ok(problem.message.includes(key), problem.message);
      const e = thrown(() => billwise.validate({ ...VALID_REQUEST, [key]: key }));
      assert.deepEqual([e.code, e.path], ["INPUT_UNKNOWN_FIELD", `/${key}`]);
      assert.ok(e.message.includes(key), e.message);
    }
  });

  test("the Json variant returns the canonical text of the object variant", () => {
    const request = { document: example("work-log-northwind-march.json") };
    assert.equal(billwise.validateJson(JSON.stringify(request)), canonical(billwise.validate(request)));
  });
});

describe(`async (${RUNTIME})`, () => {
  test("an async call resolves with the same result as the sync call", async () => {
    const request = { document: example("contract-northwind-tm.json") };
    const p = billwise.validateAsync(request);
    assert.ok(p instanceof Promise);
    assert.deepEqual(await p, billwise.validate(request));
    const text = JSON.stringify(request);
    assert.equal(await billwise.validateJsonAsync(text), billwise.validateJson(text));
    assert.deepEqual(await billwise.runAsync("validate", request), billwise.validate(request));
  });

  test("many concurrent async calls each get their own answer", async () => {
    const requests = Array.from({ length: 64 }, (_, i) => ({
      document: { ...VALID_REQUEST.document, id: `PAY-${i}`, amount: { amount: i % 2 ? "1.00" : "x", currency: "USD" } },
    }));
    const results = await Promise.all(requests.map((r) => billwise.validateAsync(r)));
    results.forEach((r, i) => assert.equal(r.valid, i % 2 === 1, `request ${i}`));
  });

  test("an async error rejects with the same error shape", async () => {
    const e = await rejected(billwise.validateJsonAsync("{"));
    assert.equal(e.name, "BillwiseInputError");
    assert.equal(e.code, "INPUT_MALFORMED_JSON");
    const e2 = await rejected(billwise.validateAsync(null));
    assert.equal(e2.code, "INPUT_INVALID_TYPE");
  });
});

describe(`hostile input (${RUNTIME})`, () => {
  test("JSON text nested a million deep is refused and the module keeps working", () => {
    const text = `{"document":${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}}`;
    const e = thrown(() => billwise.validateJson(text));
    assert.equal(e.name, "BillwiseLimitExceededError");
    assert.equal(e.details.limit, "max_depth");
    stillWorks();
  });

  test("an object nested a hundred thousand deep is refused and the module keeps working", () => {
    let deep = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const e = thrown(() => billwise.validate({ document: deep }));
    assert.equal(e.name, "BillwiseLimitExceededError");
    assert.equal(e.code, "INPUT_LIMIT_EXCEEDED");
    stillWorks();
  });

  test("a ten-megabyte string is refused and the module keeps working", () => {
    const e = thrown(() => billwise.validate({ document: { kind: "account", id: "a".repeat(10_000_000) } }));
    assert.equal(e.name, "BillwiseLimitExceededError");
    assert.equal(e.path, "/document/id");
    stillWorks();
  });

  test("a `__proto__` key is an unknown field and pollutes nothing", () => {
    const request = JSON.parse(
      '{"document": {"schema_version": 1, "kind": "payment", "__proto__": {"polluted": true}}, "__proto__": {"polluted": true}}',
    );
    const e = thrown(() => billwise.validate(request));
    assert.equal(e.code, "INPUT_UNKNOWN_FIELD");
    assert.equal(e.path, "/__proto__");
    const report = billwise.validate({ document: request.document });
    assert.deepEqual(report.problems.map((p) => [p.code, p.path]).slice(0, 1), [["INPUT_UNKNOWN_FIELD", "/__proto__"]]);
    assert.equal({}.polluted, undefined);
    assert.equal(Object.prototype.polluted, undefined);
    stillWorks();
  });

  test("lone surrogates, NUL bytes and odd text never crash the module", () => {
    const odd = ["\ud800", "\udfff\ud800", "a\u0000b", "\u202e", "\uffff", "😀".repeat(1000)];
    for (const s of odd) {
      for (const call of [
        () => billwise.validate({ document: { kind: "account", schema_version: 1, id: s, name: s, status: "active" } }),
        () => billwise.validateJson(s),
        () => billwise.validateJson(`{"document": {"kind": "${s}"}}`),
        () => billwise.run(s, {}),
      ]) {
        try {
          call();
        } catch (e) {
          assert.ok(e instanceof billwise.BillwiseError, String(e && e.stack));
          assert.notEqual(e.name, "BillwiseInternalError", e.message);
        }
      }
    }
    stillWorks();
  });

  test("garbage JSON text of many shapes is refused with an input error", () => {
    for (const text of ["", " ", "null", "[]", "1", '"x"', "{", "}", '{"document":}', "\u0000", "{}".repeat(1000), "\ufeff{}"]) {
      const e = thrown(() => billwise.validateJson(text));
      assert.ok(e instanceof billwise.BillwiseError, text);
      assert.ok(["BillwiseInputError", "BillwiseLimitExceededError"].includes(e.name), `${text}: ${e.name}`);
    }
    stillWorks();
  });
});

describe(`memory (${RUNTIME})`, () => {
  test("100,000 calls keep the resident set bounded", () => {
    const request = { document: example("payment-northwind-2026-02.json") };
    const text = JSON.stringify(request);
    for (let i = 0; i < 2_000; i++) billwise.validateJson(text);
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 50_000; i++) billwise.validate(request);
    for (let i = 0; i < 50_000; i++) billwise.validateJson(text);
    let failures = 0;
    for (let i = 0; i < 1_000; i++) {
      try {
        billwise.validateJson("{");
      } catch {
        failures++;
      }
    }
    assert.equal(failures, 1_000);
    globalThis.gc?.();
    const grown = (process.memoryUsage().rss - before) / (1024 * 1024);
    assert.ok(grown < 64, `resident set grew by ${grown.toFixed(1)} MiB over 101,000 calls`);
  });
});
