//! Conformance: the spec's cases, and the generated spec files (schema, error table).

pub mod cases;
pub mod generate;
