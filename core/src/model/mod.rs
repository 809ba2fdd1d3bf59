//! The vocabulary: ids, currencies, money, dates and the canonical documents.

mod currency;
mod date;
pub mod decimal;
mod documents;
mod ids;
mod money;
mod ownership;
mod schema_version;
pub mod wire;

pub use currency::Currency;
pub use date::Date;
pub use decimal::Dec;
pub use documents::*;
pub use ids::{Id, MAX_ID_BYTES, Name, System};
pub use money::{Money, RoundingMode};
pub use ownership::{ActivationPolicy, OwnershipPolicy, OwnershipRule};
pub use schema_version::{SCHEMA_VERSION, SchemaVersion};
