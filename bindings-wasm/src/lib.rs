//! The WebAssembly module: the same three functions and held engine as the native addon, over the shared text
//! protocol (`billwise-bindings-common`). `js/` wraps them into the public API; this file holds no
//! rule and knows no operation by name.

use billwise_bindings_common as common;
use billwise_core::json::Limits;
use wasm_bindgen::prelude::wasm_bindgen;

/// Runs `op` on a JSON request; answers with canonical JSON, or `!` and an error payload.
#[wasm_bindgen]
pub fn run(op: &str, input: &str) -> String {
    common::run(op, input.as_bytes(), &Limits::DEFAULT)
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

    /// Replaces the engine with one made from `options` (JSON text).
    pub fn init(&mut self, options: &str) -> String {
        self.session.init(options.as_bytes(), &Limits::DEFAULT)
    }

    /// Runs engine method `method` on the JSON request `input`.
    pub fn call(&mut self, method: &str, input: &str) -> String {
        self.session
            .call(method, input.as_bytes(), &Limits::DEFAULT)
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
