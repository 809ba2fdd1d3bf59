//! Conformance: the spec's cases, and the generated spec files (schema, error table).

pub mod cases;
pub mod generate;

/// The README's Rust quickstart, compiled and run as a doc test.
#[doc = include_str!("../../README.md")]
pub mod readme {}
