// Every case in spec/cases, by case id, through the binding under test: the canonical JSON of the
// result must equal the canonical JSON of `expect.result` byte for byte (the bytes the Rust core
// produces), both from JSON text (`opJson`) and from plain objects (`op`); an expected error must
// come back as a thrown Error with the code, the path and the name of its class.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  billwise,
  camelCase,
  canonical,
  caseExpectedResult,
  caseRequestText,
  errorNameFor,
  loadCases,
  RUNTIME,
} from "./support.mjs";

const cases = loadCases();

test("the spec has cases", () => {
  assert.ok(cases.length > 0);
});

function expectError(fn, expected) {
  let thrown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown, `expected error ${expected.code}, got a result`);
  assert.ok(thrown instanceof billwise.BillwiseError, `not a BillwiseError: ${thrown && thrown.stack}`);
  assert.equal(thrown.code, expected.code, thrown.message);
  if (expected.path !== undefined) assert.equal(thrown.path, expected.path);
  assert.equal(thrown.name, errorNameFor(expected.code));
}

describe(`spec cases (${RUNTIME})`, () => {
  for (const c of cases) {
    test(c.id, () => {
      const name = camelCase(c.op);
      assert.equal(typeof billwise[name], "function", `no function ${name} for op ${c.op}`);
      // The same bytes the Rust runner sends: a JSON value is written with sorted keys;
      // generated inputs are expanded (spec/README.md, "Generated inputs").
      const text = caseRequestText(c);
      if (typeof text !== "string") {
        // Bytes that are not UTF-8 cannot reach a string entry point: a JS caller cannot hold
        // them in a string. The case expects the core to refuse them as malformed.
        assert.equal(c.expect.error?.code, "INPUT_MALFORMED_JSON");
        return;
      }
      const expected = caseExpectedResult(c);
      if (expected !== undefined) {
        const want = canonical(expected);
        const fromText = billwise[`${name}Json`](text);
        assert.equal(fromText, want);
        if (c.input !== undefined) {
          const fromObject = billwise[name](JSON.parse(text));
          assert.equal(canonical(fromObject), want);
        }
      } else {
        expectError(() => billwise[`${name}Json`](text), c.expect.error);
        if (c.input !== undefined) expectError(() => billwise[name](JSON.parse(text)), c.expect.error);
      }
    });
  }
});
