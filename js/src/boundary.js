// The generic JS side of the boundary, shared by the native addon (`billwise`) and the
// WebAssembly build (`billwise-wasm`). `js/scripts/gen.mjs` copies it into both packages as
// CommonJS and as an ES module; edit this file, then run `make js-gen`.
//
// It knows no operation and no rule. The native side answers every call with a string: canonical
// JSON on success, or "!" followed by `{class, code, message, path, details}` on failure (see
// bindings-common/src/lib.rs). This file turns objects into JSON text, JSON text back into plain
// objects, and error answers into thrown `Error`s with `name`, `code`, `path` and `details`.

const ERROR_MARK = 33; // "!"

/** The base class of every error billwise throws. */
class BillwiseError extends Error {
  constructor(payload) {
    super(payload.message);
    this.code = payload.code;
    this.path = payload.path === undefined ? "" : payload.path;
    this.details = payload.details === undefined ? {} : payload.details;
  }
}
BillwiseError.prototype.name = "BillwiseError";

function errorClass(name) {
  const cls = class extends BillwiseError {};
  Object.defineProperty(cls, "name", { value: name });
  cls.prototype.name = name;
  return cls;
}

const BillwiseInputError = errorClass("BillwiseInputError");
const BillwiseSchemaVersionError = errorClass("BillwiseSchemaVersionError");
const BillwiseLimitExceededError = errorClass("BillwiseLimitExceededError");
const BillwiseIdempotencyConflictError = errorClass("BillwiseIdempotencyConflictError");
const BillwiseVersionConflictError = errorClass("BillwiseVersionConflictError");
const BillwiseRuleError = errorClass("BillwiseRuleError");
const BillwiseStoreError = errorClass("BillwiseStoreError");
const BillwiseInternalError = errorClass("BillwiseInternalError");

// The core names the error for each code (`exception` in the error answer and in
// ERROR_CODES: one mapping for every runtime); the JS error is `Billwise` + that name.
const ERROR_BY_NAME = {
  InputError: BillwiseInputError,
  SchemaVersionError: BillwiseSchemaVersionError,
  LimitExceededError: BillwiseLimitExceededError,
  IdempotencyConflictError: BillwiseIdempotencyConflictError,
  VersionConflictError: BillwiseVersionConflictError,
  RuleError: BillwiseRuleError,
  StoreError: BillwiseStoreError,
  InternalError: BillwiseInternalError,
};

function makeError(payload) {
  const cls = Object.prototype.hasOwnProperty.call(ERROR_BY_NAME, payload.exception)
    ? ERROR_BY_NAME[payload.exception]
    : BillwiseInternalError;
  return new cls(payload);
}

function lowerFirst(s) {
  return s.length === 0 ? s : s[0].toLowerCase() + s.slice(1);
}

/** "preview_invoice" -> "previewInvoice" */
function camelCase(op) {
  return op.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/**
 * Builds the public API over a native module.
 *
 * `getNative()` returns `{run(op, text), info(), runAsync?(op, text), panicForTests?()}`, or
 * throws when the module is not loaded yet. `options.recover(error)` is called when a native call
 * throws (a WebAssembly trap): it may reset the module and return a message; the call then throws
 * a `BillwiseInternalError` with that message, and the next call works. `options.encode(text)`
 * turns JSON text into what the module's `run`, `init` and `call` take (the WebAssembly module
 * takes UTF-8 bytes); by default the text is passed as it is.
 */
function createApi(getNative, options) {
  const recover = (options && options.recover) || (() => undefined);
  const encode = (options && options.encode) || ((text) => text);
  let info = null;
  // How many times `recover` reset the module: a held engine made before a reset is gone.
  let generation = 0;

  function callNative(fn) {
    try {
      return fn(getNative());
    } catch (e) {
      if (e instanceof BillwiseError) throw e;
      const message = recover(e);
      if (message === undefined) throw e;
      generation += 1;
      throw new BillwiseInternalError({
        class: "internal",
        code: "INTERNAL_ERROR",
        message,
        path: "",
        details: {},
      });
    }
  }

  function answer(text) {
    if (text.charCodeAt(0) === ERROR_MARK) throw makeError(JSON.parse(text.slice(1)));
    return text;
  }

  function inputError(code, message, details) {
    return new BillwiseInputError({ class: "input", code, message, path: "", details: details || {} });
  }

  function toJson(request) {
    if (request === null || typeof request !== "object" || Array.isArray(request)) {
      const got = request === null ? "null" : Array.isArray(request) ? "an array" : typeof request;
      throw inputError(
        "INPUT_INVALID_TYPE",
        `the request must be an object, got ${got}` +
          (typeof request === "string" ? " (pass JSON text to the `...Json` function)" : ""),
      );
    }
    try {
      return JSON.stringify(request);
    } catch (e) {
      if (e instanceof RangeError) {
        const err = new BillwiseLimitExceededError({
          class: "limit_exceeded",
          code: "INPUT_LIMIT_EXCEEDED",
          message: "the request is nested too deeply to be written as JSON",
          path: "",
          details: { limit: "max_depth" },
        });
        throw err;
      }
      throw inputError(
        "INPUT_INVALID_TYPE",
        `the request cannot be written as JSON: ${lowerFirst(String(e && e.message))}`,
      );
    }
  }

  function checkText(text) {
    if (typeof text !== "string") {
      throw inputError("INPUT_INVALID_TYPE", `the request must be JSON text, got ${text === null ? "null" : typeof text}`);
    }
    return text;
  }

  function checkOp(op) {
    if (typeof op !== "string") throw inputError("INPUT_INVALID_TYPE", "the operation name must be a string");
    return op;
  }

  function runJson(op, text) {
    checkOp(op);
    checkText(text);
    return answer(callNative((n) => n.run(op, encode(text))));
  }

  function run(op, request) {
    checkOp(op);
    return JSON.parse(answer(callNative((n) => n.run(op, encode(toJson(request))))));
  }

  async function runJsonAsync(op, text) {
    checkOp(op);
    checkText(text);
    const native = callNative((n) => n);
    if (typeof native.runAsync !== "function") return runJson(op, text);
    return answer(await native.runAsync(op, text));
  }

  async function runAsync(op, request) {
    return JSON.parse(await runJsonAsync(op, toJson(request)));
  }

  function getInfo() {
    if (info === null) {
      const raw = JSON.parse(callNative((n) => n.info()));
      const codes = {};
      for (const c of raw.error_codes) codes[c.code] = Object.freeze({ ...c });
      info = {
        VERSION: raw.version,
        SCHEMA_VERSION: raw.schema_version,
        OPERATIONS: Object.freeze(raw.operations.slice()),
        ERROR_CODES: Object.freeze(codes),
      };
    }
    return info;
  }

  const api = {
    run,
    runJson,
    runAsync,
    runJsonAsync,
    BillwiseError,
    BillwiseInputError,
    BillwiseSchemaVersionError,
    BillwiseLimitExceededError,
    BillwiseIdempotencyConflictError,
    BillwiseVersionConflictError,
    BillwiseRuleError,
    BillwiseStoreError,
    BillwiseInternalError,
    /** Panics inside billwise on purpose: the test of "no panic reaches the host". */
    _panicForTests() {
      return answer(callNative((n) => n.panicForTests()));
    },
  };

  /**
   * One contract's world held between calls (billwise_core's `Engine`): envelopes in, outcomes,
   * previews, metrics and the audit chain out, with the same bytes as `engine_apply`.
   */
  class Engine {
    #handle;
    #generation;

    /** A new engine; `options.ownership_policy` is the policy it enforces. */
    constructor(options) {
      this.#generation = generation;
      this.#handle = callNative((n) => new n.NativeEngine());
      if (options !== undefined) this.#call((h) => h.init(encode(toJson(options))));
    }

    /** An engine restored from `snapshot()` text (the audit chain is verified). */
    static fromSnapshot(snapshot) {
      const engine = new Engine();
      engine.restore(snapshot);
      return engine;
    }

    #call(fn) {
      if (this.#handle === null) {
        throw new BillwiseInputError({
          class: "input",
          code: "INPUT_INVALID_VALUE",
          message: "this engine was freed",
          path: "",
          details: {},
        });
      }
      if (this.#generation !== generation) {
        throw new BillwiseInternalError({
          class: "internal",
          code: "INTERNAL_ERROR",
          message: "this engine was lost when billwise recovered from a defect; restore it from a snapshot",
          path: "",
          details: {},
        });
      }
      return answer(callNative(() => fn(this.#handle)));
    }

    #method(name, request) {
      const text = request === undefined ? "" : toJson(request);
      return JSON.parse(this.#call((h) => h.call(name, encode(text))));
    }

    /** Applies one envelope; returns its outcome (`applied`, `duplicate` or `rejected`). */
    apply(envelope) {
      return this.#method("apply", envelope);
    }

    /** Applies envelopes in order (with `{atomic: true}`, all or none); returns `{outcomes, version}`. */
    applyBatch(envelopes, options) {
      const atomic = options !== undefined && options !== null && options.atomic === true;
      if (!Array.isArray(envelopes)) {
        throw inputError("INPUT_INVALID_TYPE", "the envelopes must be an array");
      }
      return this.#method("apply_batch", { envelopes, atomic });
    }

    /** The whole engine as canonical JSON text; `Engine.fromSnapshot` or `restore` reads it back. */
    snapshot() {
      return this.#call((h) => h.call("snapshot", encode("")));
    }

    /** Replaces this engine by the one `snapshot` (text from `snapshot()`) describes. */
    restore(snapshot) {
      checkText(snapshot);
      return JSON.parse(this.#call((h) => h.call("restore", encode(snapshot)))).version;
    }

    /** What a billing run for `{period, as_of}` would bill now (nothing is recorded). */
    previewInvoice(query) {
      return this.#method("preview_invoice", query);
    }

    /** The exception queue: every rejected envelope with its reason. */
    exceptions() {
      return this.#method("exceptions");
    }

    /** Figures a finance team watches, on `{as_of}`. */
    metrics(query) {
      return this.#method("metrics", query);
    }

    /** Checks the audit chain from its first entry to the engine's head. */
    verifyAudit() {
      return this.#method("verify_audit");
    }

    /** How many envelopes have been applied. */
    get version() {
      return this.#method("version").version;
    }

    /** Releases the engine's memory now (the garbage collector does it otherwise). */
    free() {
      const h = this.#handle;
      this.#handle = null;
      if (h !== null && typeof h.free === "function" && this.#generation === generation) h.free();
    }
  }
  api.Engine = Engine;

  /**
   * A durable store of engines, one per contract, in SQLite (`sqlite:///billing.db`) or
   * PostgreSQL (`postgresql://user@host:5432/db`): see spec/domain/store.md. Each `apply` is one
   * transaction under the contract's row lock. Only the native addon has it; the WebAssembly
   * build has no database and throws `BillwiseStoreError` (`STORE_UNAVAILABLE`).
   */
  class Store {
    #handle;

    /** Opens (and migrates) the store at `url`; `options.snapshot_every` (default 10,000). */
    constructor(url, options) {
      if (typeof url !== "string") throw inputError("INPUT_INVALID_TYPE", "the store URL must be a string");
      const every = options && options.snapshot_every !== undefined ? options.snapshot_every : 10000;
      if (!Number.isInteger(every) || every < 1 || every > 0xffffffff) {
        throw inputError("INPUT_INVALID_VALUE", "`snapshot_every` must be a whole number from 1");
      }
      this.#handle = callNative((n) => {
        if (typeof n.NativeStore !== "function") {
          throw new BillwiseStoreError({
            class: "store",
            code: "STORE_UNAVAILABLE",
            message: "the store needs the native addon (npm package `billwise`); the WebAssembly build has no database",
            path: "",
            details: {},
          });
        }
        return new n.NativeStore();
      });
      answer(callNative(() => this.#handle.open(url, every)));
    }

    #method(name, args) {
      if (args !== undefined) toJson(args);
      const text = args === undefined ? "" : JSON.stringify(args);
      return answer(callNative(() => this.#handle.call(name, text)));
    }

    #json(name, args) {
      return JSON.parse(this.#method(name, args));
    }

    /** Applies envelopes to a contract's engine in one transaction; `{contract_id, version, outcomes}`. */
    apply(contractId, envelopes, options) {
      if (!Array.isArray(envelopes)) throw inputError("INPUT_INVALID_TYPE", "the envelopes must be an array");
      const o = options || {};
      const args = { contract_id: contractId, envelopes, atomic: o.atomic === true };
      if (o.ownership_policy !== undefined && o.ownership_policy !== null) args.ownership_policy = o.ownership_policy;
      return this.#json("apply", args);
    }

    /** The exceptions not resolved (or of `filter.status`), oldest first. */
    exceptions(filter) {
      return this.#json("exceptions", filter || {});
    }

    /** Applies exception `sequence`'s envelope again. */
    retry(contractId, sequence) {
      return this.#json("retry", { contract_id: contractId, sequence });
    }

    /** Retries every exception not resolved (of `filter.contract_id` when given). */
    retryAll(filter) {
      return this.#json("retry_all", filter || {});
    }

    /** Marks an exception resolved by `actor` with `note` (recorded in the action log). */
    resolve(contractId, sequence, { note, actor }) {
      return this.#json("resolve", { contract_id: contractId, sequence, note, actor });
    }

    /** Every envelope of a correlation id across contracts, and where it is stuck. */
    trace(correlationId) {
      return this.#json("trace", { correlation_id: correlationId });
    }

    /** Rebuilds a contract from its log and compares it with the stored state. */
    replay(contractId) {
      return this.#json("replay", { contract_id: contractId });
    }

    /** Checks one contract's records (or, without an id, every contract's: an array). */
    verify(contractId) {
      return this.#json("verify", contractId === undefined ? {} : { contract_id: contractId });
    }

    /** The ids of the contracts the store holds, sorted. */
    contracts() {
      return this.#json("contracts", {});
    }

    /** The contract's engine snapshot (canonical JSON text). */
    snapshot(contractId) {
      return this.#method("snapshot", { contract_id: contractId });
    }

    /** A copy of the contract's engine as stored (what is applied to it is not stored). */
    engine(contractId) {
      return Engine.fromSnapshot(this.snapshot(contractId));
    }

    /** Closes the connection; later calls throw `BillwiseStoreError`. */
    close() {
      callNative(() => this.#handle.close());
    }
  }
  api.Store = Store;

  /** Adds `op`, `opJson`, `opAsync` and `opJsonAsync` for one operation name. */
  api.addOperation = function addOperation(op) {
    const name = camelCase(op);
    api[name] = (request) => run(op, request);
    api[`${name}Json`] = (text) => runJson(op, text);
    api[`${name}Async`] = (request) => runAsync(op, request);
    api[`${name}JsonAsync`] = (text) => runJsonAsync(op, text);
  };

  for (const key of ["VERSION", "SCHEMA_VERSION", "OPERATIONS", "ERROR_CODES"]) {
    Object.defineProperty(api, key, { enumerable: true, get: () => getInfo()[key] });
  }
  return api;
}
