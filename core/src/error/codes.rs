//! The one table of error and problem codes.
//!
//! Every code is declared here once, with its stable string, the class of failure it belongs to and
//! a one-line description. Bindings export [`ErrorCode::ALL`]; `spec/errors.md` is generated from it.

use serde::{Deserialize, Serialize};

/// How a code is surfaced to callers. Bindings map each class to one exception or error name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The input could not be read as the document it claims to be.
    Input,
    /// The input carries a `schema_version` this build does not understand.
    SchemaVersion,
    /// The input is larger or deeper than the configured limits.
    LimitExceeded,
    /// A document was read but breaks a rule; reported as a problem in a validation report.
    Validation,
    /// An idempotency key was reused with a different payload.
    IdempotencyConflict,
    /// An `expected_version` did not match.
    VersionConflict,
    /// A rule refused an operation (a change order that cannot be applied, a transition not allowed).
    Rule,
    /// The store's database could not be reached, read or written, or holds what does not agree
    /// with itself.
    Store,
    /// A defect in billwise itself.
    Internal,
}

impl ErrorClass {
    /// The stable name of the class.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::SchemaVersion => "schema_version",
            Self::LimitExceeded => "limit_exceeded",
            Self::Validation => "validation",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::VersionConflict => "version_conflict",
            Self::Rule => "rule",
            Self::Store => "store",
            Self::Internal => "internal",
        }
    }

    /// The exception a binding raises for the class: the one mapping every runtime uses (Python
    /// raises `billwise.<name>`, JavaScript `Billwise<name>`). A `validation` code that an
    /// operation raises (rather than reports as a problem) is an input the caller must correct,
    /// so it is an `InputError`, as an unreadable value is.
    pub const fn exception(self) -> &'static str {
        match self {
            Self::Input | Self::Validation => "InputError",
            Self::SchemaVersion => "SchemaVersionError",
            Self::LimitExceeded => "LimitExceededError",
            Self::IdempotencyConflict => "IdempotencyConflictError",
            Self::VersionConflict => "VersionConflictError",
            Self::Rule => "RuleError",
            Self::Store => "StoreError",
            Self::Internal => "InternalError",
        }
    }
}

macro_rules! error_codes {
    ($( $(#[$meta:meta])* $variant:ident = $code:literal, $class:ident, $desc:literal; )+) => {
        /// A stable error or problem code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ErrorCode {
            $( $(#[$meta])* #[doc = $desc] $variant, )+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )+ ];

            /// The stable string, e.g. `INPUT_UNKNOWN_FIELD`.
            pub const fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )+ }
            }

            /// The class of failure this code belongs to.
            pub const fn class(self) -> ErrorClass {
                match self { $( ErrorCode::$variant => ErrorClass::$class, )+ }
            }

            /// A one-line description of when the code is used.
            pub const fn description(self) -> &'static str {
                match self { $( ErrorCode::$variant => $desc, )+ }
            }

            /// Looks a code up by its stable string.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                // A search of `ALL` rather than a `match` on the strings: the same answer from a
                // loop, where a match compiles to a comparison tree per code (2.5 KB of the
                // WebAssembly module). Parsing a code is never on a hot path.
                Self::ALL.iter().copied().find(|c| c.as_str() == code)
            }
        }
    };
}

error_codes! {
    // Reading input.
    InputMalformedJson = "INPUT_MALFORMED_JSON", Input, "the input is not well-formed JSON (or not UTF-8)";
    InputInvalidType = "INPUT_INVALID_TYPE", Input, "a value has the wrong JSON type";
    InputUnknownField = "INPUT_UNKNOWN_FIELD", Input, "an object has a field the schema does not define";
    InputMissingField = "INPUT_MISSING_FIELD", Input, "a required field is absent";
    InputDuplicateKey = "INPUT_DUPLICATE_KEY", Input, "an object has the same key twice";
    InputInvalidValue = "INPUT_INVALID_VALUE", Input, "a value is not one of the allowed values";
    InputInvalidDecimal = "INPUT_INVALID_DECIMAL", Input, "a decimal string is not of the form `-?digits[.digits]`";
    InputNumberNotAllowed = "INPUT_NUMBER_NOT_ALLOWED", Input, "a JSON number stands where a decimal string is required (a float may already have lost cents)";
    InputInvalidDate = "INPUT_INVALID_DATE", Input, "a date is not a real calendar date written `YYYY-MM-DD`";
    InputUnknownCurrency = "INPUT_UNKNOWN_CURRENCY", Input, "a currency is not an ISO 4217 code billwise knows";
    InputInvalidId = "INPUT_INVALID_ID", Input, "an id is empty, too long or contains control characters";
    InputInvalidSystem = "INPUT_INVALID_SYSTEM", Input, "a system name is not a lowercase identifier";
    InputUnknownKind = "INPUT_UNKNOWN_KIND", Input, "the document kind is missing or not one billwise knows";
    InputLimitExceeded = "INPUT_LIMIT_EXCEEDED", LimitExceeded, "the input is larger, deeper or longer than the configured limit";
    SchemaVersionUnsupported = "SCHEMA_VERSION_UNSUPPORTED", SchemaVersion, "the document's `schema_version` is not supported by this build";

    // Money.
    MoneyOverflow = "MONEY_OVERFLOW", Rule, "an amount is too large to compute exactly";
    MoneyCurrencyMismatch = "MONEY_CURRENCY_MISMATCH", Validation, "an amount is in a currency other than the document's";
    MoneyInvalidScale = "MONEY_INVALID_SCALE", Validation, "an amount has more decimals than its currency's minor unit (`66700.9` JPY); only rates and unit prices may";

    // Document validation.
    DocumentDuplicateId = "DOCUMENT_DUPLICATE_ID", Validation, "two items in one list share an id";
    DocumentEmptyField = "DOCUMENT_EMPTY_FIELD", Validation, "a required text field is empty";
    DocumentDateOrder = "DOCUMENT_DATE_ORDER", Validation, "an end date is before its start date";
    DocumentNegativeAmount = "DOCUMENT_NEGATIVE_AMOUNT", Validation, "an amount or quantity that must not be negative is negative";
    DocumentInvalidPercent = "DOCUMENT_INVALID_PERCENT", Validation, "a percentage is outside its allowed range";
    DocumentInconsistentTotals = "DOCUMENT_INCONSISTENT_TOTALS", Validation, "a stated total is not the sum of its lines";
    ContractModelTerms = "CONTRACT_MODEL_TERMS", Validation, "the contract lacks a term its billing model needs, or has one it forbids";
    ContractMilestoneAmount = "CONTRACT_MILESTONE_AMOUNT", Validation, "a milestone needs exactly one of `amount` or `percent`";
    ContractInvalidTimeIncrement = "CONTRACT_INVALID_TIME_INCREMENT", Validation, "the time-rounding increment is missing, zero, negative or more than a day";
    TimeHoursOutOfRange = "TIME_HOURS_OUT_OF_RANGE", Validation, "a time entry records more than 24 hours on one day";
    ExpenseInvalidFxRate = "EXPENSE_INVALID_FX_RATE", Validation, "an expense's `fx_rate` is zero or negative";
    AccountHierarchyCycle = "ACCOUNT_HIERARCHY_CYCLE", Validation, "an account is its own ancestor";

    // Rate cards.
    RatesEntryTarget = "RATES_ENTRY_TARGET", Validation, "a rate-card entry needs exactly one of `role` or `resource_id`";
    RatesAmbiguousEntry = "RATES_AMBIGUOUS_ENTRY", Validation, "two rate-card entries of the same specificity start on the same date";
    RatesNonPositiveRate = "RATES_NON_POSITIVE_RATE", Validation, "a rate is zero or negative";
    RatesOverlappingEntries = "RATES_OVERLAPPING_ENTRIES", Validation, "an entry's `effective_to` runs past the start of its successor";
    RatesInvalidHoursPerDay = "RATES_INVALID_HOURS_PER_DAY", Validation, "`hours_per_day` is not between 0 (exclusive) and 24";

    // Change orders.
    ChangesUnknownTarget = "CHANGES_UNKNOWN_TARGET", Validation, "a change names a role, resource or milestone the contract does not have";
    ChangesWrongContract = "CHANGES_WRONG_CONTRACT", Validation, "a change order belongs to another contract";
    ChangesDuplicateSequence = "CHANGES_DUPLICATE_SEQUENCE", Validation, "two change orders of one contract share a sequence number";
    ChangesEmpty = "CHANGES_EMPTY", Validation, "a change order changes nothing";
    ChangesInvalidSequence = "CHANGES_INVALID_SEQUENCE", Validation, "a change order's sequence number is not 1 or more";
    ChangesMissingApprovalDate = "CHANGES_MISSING_APPROVAL_DATE", Validation, "an approved or applied change order has no `approved_on` date";

    // Rates and change orders (resolution, contract versions, applying amendments).
    ChangesNotApproved = "CHANGES_NOT_APPROVED", Rule, "only an approved change order can be applied (or form a contract version)";
    ChangesOutOfSequence = "CHANGES_OUT_OF_SEQUENCE", Rule, "a change order is not the next in sequence (n+1 after n), or was approved before the one it follows";
    ChangesCeilingBelowBilled = "CHANGES_CEILING_BELOW_BILLED", Rule, "a ceiling change would bring the ceiling below what is already billed";
    ChangesMilestoneBilled = "CHANGES_MILESTONE_BILLED", Rule, "a change order removes a milestone that is already billed";
    ChangesNoCeiling = "CHANGES_NO_CEILING", Rule, "a change order adjusts the ceiling of a contract that has none";
    ChangesHistoryMismatch = "CHANGES_HISTORY_MISMATCH", Rule, "the contract's list of applied change orders does not match the change orders given";

    // Ownership.
    OwnershipConflict = "OWNERSHIP_CONFLICT", Validation, "a field has two owners at one lifecycle stage";
    OwnershipUnknownEntity = "OWNERSHIP_UNKNOWN_ENTITY", Validation, "an ownership rule names an entity kind billwise does not know";
    OwnershipUnknownField = "OWNERSHIP_UNKNOWN_FIELD", Validation, "a rule or an update names a field the entity kind does not have";
    OwnershipUnknownStage = "OWNERSHIP_UNKNOWN_STAGE", Validation, "a rule or a request names a lifecycle stage the entity kind does not have";
    OwnershipUncoveredStage = "OWNERSHIP_UNCOVERED_STAGE", Validation, "no rule covers a lifecycle stage of an entity kind the policy names";
    OwnershipNotOwner = "OWNERSHIP_NOT_OWNER", Rule, "an update changes a field that its source system does not own at the entity's stage";
    OwnershipNoOwner = "OWNERSHIP_NO_OWNER", Rule, "no rule gives the field one owner at the entity's stage";
    OwnershipStrictRejected = "OWNERSHIP_STRICT_REJECTED", Rule, "in strict mode, a field the source owns is refused because another field of the same update was";

    // Reconciliation.
    ReconcileMissingId = "RECONCILE_MISSING_ID", Input, "a record has no text `id`";
    ReconcileDuplicateRecord = "RECONCILE_DUPLICATE_RECORD", Input, "one system holds two records of one entity";
    ReconcileCrossRefConflict = "RECONCILE_CROSS_REF_CONFLICT", Input, "cross-references map one system's record to two entities";

    // Activation.
    ActivationNotWon = "ACTIVATION_NOT_WON", Validation, "the opportunity is not `closed_won`";
    ActivationUnknownAccount = "ACTIVATION_UNKNOWN_ACCOUNT", Validation, "the opportunity's account is not among the accounts given";
    ActivationMissingErpId = "ACTIVATION_MISSING_ERP_ID", Validation, "the account has no ERP external id (it does not exist in the ERP yet)";
    ActivationInactiveAccount = "ACTIVATION_INACTIVE_ACCOUNT", Validation, "the account is not `active`";
    ActivationMissingField = "ACTIVATION_MISSING_FIELD", Validation, "a value a project needs is absent from the opportunity (and its account)";
    ActivationCurrencyNotAllowed = "ACTIVATION_CURRENCY_NOT_ALLOWED", Validation, "the policy does not allow the currency for the legal entity";
    ActivationUnknownParent = "ACTIVATION_UNKNOWN_PARENT", Validation, "an account in the hierarchy names a parent that is not among the accounts given";
    ActivationHierarchyCycle = "ACTIVATION_HIERARCHY_CYCLE", Validation, "the account hierarchy above the account loops back on itself";

    // Billing and the ledger.
    LedgerUnknownItem = "LEDGER_UNKNOWN_ITEM", Input, "a credit names an item the ledger never billed";
    LedgerInvalidCredit = "LEDGER_INVALID_CREDIT", Input, "a credit gives back more than was billed, a negative amount, neither a quantity nor an amount, all of the quantity without all of the amount, all of the amount for more than a rounding less of the quantity, or a ceiling share it could not have";
    LedgerWrongContract = "LEDGER_WRONG_CONTRACT", Input, "the ledger belongs to another contract";
    LedgerDuplicateInvoice = "LEDGER_DUPLICATE_INVOICE", Input, "an invoice id is already in the ledger";
    LedgerZeroCredit = "LEDGER_ZERO_CREDIT", Input, "a credit gives back no amount (it would return an item to billing for nothing)";
    LedgerAdjustedLater = "LEDGER_ADJUSTED_LATER", Rule, "an invoice cannot be voided while a later invoice carries an adjustment of an item it billed";
    // Lifecycle state machines.
    MachineTransitionNotAllowed = "MACHINE_TRANSITION_NOT_ALLOWED", Rule, "the machine has no transition from this state on this event";
    MachineSourceNotAllowed = "MACHINE_SOURCE_NOT_ALLOWED", Rule, "the system that sent the event may not send it";
    MachineGuardFailed = "MACHINE_GUARD_FAILED", Rule, "a guard of the transition failed (the message names it)";

    // Audit chain.
    AuditEntryTampered = "AUDIT_ENTRY_TAMPERED", Validation, "an audit entry's content no longer matches its hash";
    AuditEntryMissing = "AUDIT_ENTRY_MISSING", Validation, "an audit entry's version skips one or more versions: entries are missing";
    AuditChainBroken = "AUDIT_CHAIN_BROKEN", Validation, "an audit entry does not follow the one before it (previous hash or version out of order)";
    AuditHeadMismatch = "AUDIT_HEAD_MISMATCH", Validation, "the audit chain does not end at the head hash recorded for it";

    // Event engine.
    EngineIdempotencyConflict = "ENGINE_IDEMPOTENCY_CONFLICT", IdempotencyConflict, "an idempotency key already used for an envelope was sent again with a different payload";
    EngineVersionConflict = "ENGINE_VERSION_CONFLICT", VersionConflict, "an envelope's `expected_version` is not the engine's version";
    EngineUnknownEntity = "ENGINE_UNKNOWN_ENTITY", Rule, "an event names a document or item the engine does not hold";
    EngineNoContract = "ENGINE_NO_CONTRACT", Rule, "the engine holds no contract yet, so it cannot bill or preview";
    EngineWrongContract = "ENGINE_WRONG_CONTRACT", Rule, "a document belongs to another contract than the one the engine holds";
    EngineFieldNotByUpsert = "ENGINE_FIELD_NOT_BY_UPSERT", Rule, "an upsert sets a status (or the applied change orders) that only lifecycle events may set";
    EngineItemLocked = "ENGINE_ITEM_LOCKED", Rule, "an upsert changes an item that is already billed";
    EngineAlreadyExists = "ENGINE_ALREADY_EXISTS", Rule, "an event creates an invoice, payment or credit note whose id the engine already holds";
    EngineEmptyInvoice = "ENGINE_EMPTY_INVOICE", Rule, "a billing run for the invoice found nothing to bill";
    EngineBatchAborted = "ENGINE_BATCH_ABORTED", Rule, "another envelope of an atomic batch was rejected, so none of the batch was applied";
    EngineInvalidSnapshot = "ENGINE_INVALID_SNAPSHOT", Input, "a snapshot does not agree with itself (version, audit chain or idempotency records)";
    EngineInvalidTimestamp = "ENGINE_INVALID_TIMESTAMP", Input, "an envelope's `occurred_at` does not start with a `YYYY-MM-DD` date";

    // The durable store (billwise-store).
    StoreInvalidUrl = "STORE_INVALID_URL", Input, "a store URL is neither `sqlite:///PATH` nor `postgresql://...`";
    StoreUnavailable = "STORE_UNAVAILABLE", Store, "the store's database could not be opened, read or written";
    StoreCorrupt = "STORE_CORRUPT", Store, "the store's log, snapshots or audit chain do not agree with each other";
    StoreSchemaTooNew = "STORE_SCHEMA_TOO_NEW", SchemaVersion, "the store's database was migrated by a newer billwise";
    StoreNotFound = "STORE_NOT_FOUND", Input, "the store holds no such contract or exception";
    StorePolicyMismatch = "STORE_POLICY_MISMATCH", Rule, "an ownership policy other than the one the store's contract was created with";

    // Defects.
    InternalError = "INTERNAL_ERROR", Internal, "billwise could not evaluate the request because of a defect; please report it";
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ErrorCode::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code `{s}`")))
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": codes, "description": "A stable error or problem code (see spec/errors.md)." })
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_screaming_snake_and_round_trips() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{s} is not SCREAMING_SNAKE"
            );
            assert_eq!(ErrorCode::parse(s), Some(*code));
            assert!(!code.description().is_empty());
        }
    }
}
