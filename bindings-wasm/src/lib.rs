//! The WebAssembly module: the same three functions and held engine as the native addon, over the shared text
//! protocol (`billwise-bindings-common`). `js/` wraps them into the public API; this file holds no
//! rule and knows no operation by name.

use billwise_bindings_common as common;
use billwise_core::json::Limits;
use wasm_bindgen::prelude::wasm_bindgen;

/// Runs `op` on a JSON request (UTF-8 bytes); answers with canonical JSON, or `!` and an error
/// payload.
///
/// The request comes as bytes, not as a `str`: the JS wrapper encodes it with `TextEncoder`
/// (native code), where a `str` argument is copied into the module by the glue's loop of one
/// character at a time (see `benches/PERFORMANCE.md`).
/// The bytes are checked as UTF-8 by the core, as every input is.
#[wasm_bindgen]
pub fn run(op: &str, input: &[u8]) -> String {
    common::run(op, input, &Limits::DEFAULT)
}

/// A held engine; the JS `Engine` class wraps it.
#[wasm_bindgen]
#[derive(Default)]
pub struct NativeEngine {
    session: common::Session,
}

#[wasm_bindgen]
impl NativeEngine {
    /// An empty engine without an ownership policy.
    #[wasm_bindgen(constructor)]
    pub fn new() -> NativeEngine {
        NativeEngine::default()
    }

    /// Replaces the engine with one made from `options` (JSON text, as UTF-8 bytes).
    pub fn init(&mut self, options: &[u8]) -> String {
        self.session.init(options, &Limits::DEFAULT)
    }

    /// Runs engine method `method` on the JSON request `input` (UTF-8 bytes, as for [`run`]).
    pub fn call(&mut self, method: &str, input: &[u8]) -> String {
        self.session.call(method, input, &Limits::DEFAULT)
    }
}

/// Version, schema version, operations and error codes, as canonical JSON.
#[wasm_bindgen]
pub fn info() -> String {
    common::info()
}

/// Panics. On `wasm32-unknown-unknown` a panic aborts (traps); the JS wrapper then resets the
/// instance and throws a `BillwiseInternalError`, and the next call works.
#[wasm_bindgen(js_name = panicForTests)]
pub fn panic_for_tests() -> String {
    common::panic_for_tests()
}
