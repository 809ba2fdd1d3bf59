// A typed use of `billwise-wasm`, as in a browser: initialise once, then the same functions and
// types as the native addon.

import { init, validate, validateJsonAsync, BillwiseInternalError, type ValidateResponse } from "billwise-wasm";

export async function main(): Promise<ValidateResponse> {
  await init();
  await init(new URL("https://example.invalid/billwise_wasm_bg.wasm"));
  const text: string = await validateJsonAsync('{"document": {"schema_version": 1}}');
  console.log(text, BillwiseInternalError.name);
  return validate({ document: { schema_version: 1, kind: "payment" } });
}
