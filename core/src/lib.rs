//! billwise-core: the business rules of professional-services opportunity-to-cash.
//!
//! Pure Rust: no I/O, no clock, no randomness, no floats. Every public operation lives in [`api`]
//! and takes and returns canonical documents; the bindings call those functions and nothing else.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod activation;
pub mod api;
pub mod billing;
pub mod changes;
pub mod engine;
pub mod error;
mod hash;
pub mod json;
pub mod ledger;
pub mod machines;
pub mod model;
mod out;
pub mod ownership;
pub mod rates;
pub mod reconcile;
pub mod validate;

pub use error::{Error, ErrorClass, ErrorCode, Problem, Result};

/// The version of this crate (and of every binding built from it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
