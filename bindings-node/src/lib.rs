//! The Node.js native addon: three functions and a held engine over the shared text protocol
//! (`billwise-bindings-common`). `index.js` turns them into the public API; this file holds no
//! rule and knows no operation by name, so a new operation in `billwise_core::api` needs no change
//! here.

use billwise_bindings_common as common;
use billwise_core::json::Limits;
use napi::Task;
use napi::bindgen_prelude::{AsyncTask, Env, Result};
use napi_derive::napi;

/// The addon allocates with mimalloc, which keeps memory the addon freed for its next call.
///
/// With the system allocator (glibc's malloc), each large block a call allocates (the parsed
/// request, the preview's lists, the answer) came fresh from the kernel and went back to it
/// when freed, so every call of a long-lived process paid for that memory again, a page fault
/// per 4 KB (the figures are in `benches/PERFORMANCE.md`). Only the addon's Rust code allocates
/// through it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs `op` on a JSON request; answers with canonical JSON, or `!` and an error payload.
#[napi]
pub fn run(op: String, input: String) -> String {
    common::run(&op, input.as_bytes(), &Limits::DEFAULT)
}

/// [`run`] on the libuv thread pool, so a big batch does not block the event loop.
pub struct RunTask {
    op: String,
    input: String,
}

impl Task for RunTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(common::run(
            &self.op,
            self.input.as_bytes(),
            &Limits::DEFAULT,
        ))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

/// [`run`] off the main thread; the promise resolves with the same answer.
#[napi]
pub fn run_async(op: String, input: String) -> AsyncTask<RunTask> {
    AsyncTask::new(RunTask { op, input })
}

/// A held engine; the JS `Engine` class wraps it.
#[napi]
#[derive(Default)]
pub struct NativeEngine {
    session: common::Session,
}

#[napi]
impl NativeEngine {
    /// An empty engine without an ownership policy.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the engine with one made from `options` (JSON text).
    #[napi]
    pub fn init(&mut self, options: String) -> String {
        self.session.init(options.as_bytes(), &Limits::DEFAULT)
    }

    /// Runs engine method `method` on the JSON request `input`.
    #[napi]
    pub fn call(&mut self, method: String, input: String) -> String {
        self.session
            .call(&method, input.as_bytes(), &Limits::DEFAULT)
    }
}

/// A durable store (`billwise_store::Store`); the JS `Store` class wraps it. Its calls block the
/// thread they run on while the database answers, as `better-sqlite3`'s do.
#[napi]
#[derive(Default)]
pub struct NativeStore {
    store: Option<billwise_store::Store>,
}

#[napi]
impl NativeStore {
    /// A store not yet opened.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the store at `url` (migrating its tables); answers `{}` or an error answer.
    #[napi]
    pub fn open(&mut self, url: String, snapshot_every: u32) -> String {
        common::guarded(|| {
            self.store =
                Some(billwise_store::Store::open(&url)?.snapshot_every(u64::from(snapshot_every)));
            Ok("{}".to_owned())
        })
    }

    /// Runs store method `method` (`billwise_store::METHODS`) on the JSON arguments `input`.
    #[napi]
    pub fn call(&mut self, method: String, input: String) -> String {
        common::guarded(|| {
            let store = self.store.as_mut().ok_or_else(|| {
                billwise_core::Error::new(
                    billwise_core::ErrorCode::StoreUnavailable,
                    "the store is closed",
                )
            })?;
            billwise_store::call(store, &method, input.as_bytes())
        })
    }

    /// Closes the connection; later calls answer `STORE_UNAVAILABLE`.
    #[napi]
    pub fn close(&mut self) {
        self.store = None;
    }
}

/// Version, schema version, operations and error codes, as canonical JSON.
#[napi]
pub fn info() -> String {
    common::info()
}

/// Panics inside the guard: the answer is an `INTERNAL_ERROR` and the process lives on.
#[napi]
pub fn panic_for_tests() -> String {
    common::panic_for_tests()
}
