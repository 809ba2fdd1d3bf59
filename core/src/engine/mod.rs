//! The event engine. So far: the hash-chained audit log ([`audit`]).

pub mod audit;
