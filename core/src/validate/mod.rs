//! Document validation: every problem, not the first, each with a code, a message and a path.

pub(crate) mod documents;

pub use crate::rates::validate_rate_card;
pub use documents::validate_change_order_against;

use serde::Deserialize;

use crate::error::{Error, ErrorCode, Pointer, Problem};
use crate::json::{self, Limits};
use crate::model::{
    Account, ChangeOrder, Contract, DocumentKind, Invoice, Opportunity, OwnershipPolicy, Payment,
    Project, WorkLog,
};

/// The first of `problems` as the error a call raises (`prefix` before its message), with the
/// number found in `details.problems`; `Ok` when there are none.
pub(crate) fn refuse(problems: &[Problem], prefix: &str) -> Result<(), Error> {
    match problems.first() {
        None => Ok(()),
        Some(first) => Err(Error::new(first.code, format!("{prefix}{}", first.message))
            .at(first.path.clone())
            .with("problems", problems.len())),
    }
}

/// Collects problems while walking a document.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// An empty collection.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Records a problem.
    pub fn push(&mut self, path: &Pointer, code: ErrorCode, message: impl Into<String>) {
        self.0.push(Problem::new(path.as_str(), code, message));
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, in the order found.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }

    /// Appends another collection.
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }
}

/// Any canonical top-level document.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// A customer.
    Account(Account),
    /// A sales opportunity.
    Opportunity(Opportunity),
    /// A contract.
    Contract(Box<Contract>),
    /// A change order.
    ChangeOrder(ChangeOrder),
    /// A project.
    Project(Project),
    /// Time entries and expenses.
    WorkLog(WorkLog),
    /// An invoice.
    Invoice(Invoice),
    /// A payment.
    Payment(Payment),
    /// An ownership policy.
    OwnershipPolicy(OwnershipPolicy),
}

#[derive(Deserialize)]
struct KindProbe {
    #[serde(default)]
    kind: Option<serde_json::Value>,
}

impl Document {
    /// The document's kind.
    pub fn kind(&self) -> DocumentKind {
        match self {
            Self::Account(_) => DocumentKind::Account,
            Self::Opportunity(_) => DocumentKind::Opportunity,
            Self::Contract(_) => DocumentKind::Contract,
            Self::ChangeOrder(_) => DocumentKind::ChangeOrder,
            Self::Project(_) => DocumentKind::Project,
            Self::WorkLog(_) => DocumentKind::WorkLog,
            Self::Invoice(_) => DocumentKind::Invoice,
            Self::Payment(_) => DocumentKind::Payment,
            Self::OwnershipPolicy(_) => DocumentKind::OwnershipPolicy,
        }
    }

    /// Reads the kind a JSON document declares in its `kind` field.
    pub fn detect_kind(bytes: &[u8], limits: &Limits) -> Result<DocumentKind, Error> {
        let probe: KindProbe = json::from_slice(bytes, limits)?;
        match probe.kind {
            None => Err(Error::new(
                ErrorCode::InputUnknownKind,
                "the document has no `kind` field; give the kind explicitly",
            )
            .at("/kind")),
            Some(serde_json::Value::String(s)) => DocumentKind::ALL
                .iter()
                .copied()
                .find(|k| k.as_str() == s)
                .ok_or_else(|| unknown_kind(&s)),
            Some(_) => {
                Err(Error::new(ErrorCode::InputInvalidType, "`kind` must be a string").at("/kind"))
            }
        }
    }

    /// Parses a document of a known kind (or of the kind it declares).
    pub fn parse(
        bytes: &[u8],
        kind: Option<DocumentKind>,
        limits: &Limits,
    ) -> Result<Document, Error> {
        let kind = match kind {
            Some(k) => k,
            None => Self::detect_kind(bytes, limits)?,
        };
        let doc = match kind {
            DocumentKind::Account => Self::Account(json::from_slice(bytes, limits)?),
            DocumentKind::Opportunity => Self::Opportunity(json::from_slice(bytes, limits)?),
            DocumentKind::Contract => Self::Contract(Box::new(json::from_slice(bytes, limits)?)),
            DocumentKind::ChangeOrder => Self::ChangeOrder(json::from_slice(bytes, limits)?),
            DocumentKind::Project => Self::Project(json::from_slice(bytes, limits)?),
            DocumentKind::WorkLog => Self::WorkLog(json::from_slice(bytes, limits)?),
            DocumentKind::Invoice => Self::Invoice(json::from_slice(bytes, limits)?),
            DocumentKind::Payment => Self::Payment(json::from_slice(bytes, limits)?),
            DocumentKind::OwnershipPolicy => {
                Self::OwnershipPolicy(json::from_slice(bytes, limits)?)
            }
        };
        if let Some(declared) = doc.declared_kind().filter(|d| *d != kind) {
            return Err(Error::new(
                ErrorCode::InputInvalidValue,
                format!("the document declares kind `{declared}` but was read as `{kind}`"),
            )
            .at("/kind"));
        }
        Ok(doc)
    }

    fn declared_kind(&self) -> Option<DocumentKind> {
        match self {
            Self::Account(d) => d.kind,
            Self::Opportunity(d) => d.kind,
            Self::Contract(d) => d.kind,
            Self::ChangeOrder(d) => d.kind,
            Self::Project(d) => d.kind,
            Self::WorkLog(d) => d.kind,
            Self::Invoice(d) => d.kind,
            Self::Payment(d) => d.kind,
            Self::OwnershipPolicy(d) => d.kind,
        }
    }

    /// Every problem in the document. `contract` gives change orders the contract they amend.
    pub fn validate(&self, contract: Option<&Contract>) -> Vec<Problem> {
        let root = Pointer::root();
        let mut p = Problems::new();
        match self {
            Self::Account(d) => documents::account(d, &root, &mut p),
            Self::Opportunity(d) => documents::opportunity(d, &root, &mut p),
            Self::Contract(d) => documents::contract(d, &root, &mut p),
            Self::ChangeOrder(d) => {
                documents::change_order(d, &root, &mut p);
                if let Some(c) = contract {
                    p.extend(validate_change_order_against(c, d, &root));
                }
            }
            Self::Project(d) => documents::project(d, &root, &mut p),
            Self::WorkLog(d) => documents::work_log(d, &root, &mut p),
            Self::Invoice(d) => documents::invoice(d, &root, &mut p),
            Self::Payment(d) => documents::payment(d, &root, &mut p),
            Self::OwnershipPolicy(d) => documents::ownership_policy(d, &root, &mut p),
        }
        p.into_vec()
    }
}

fn unknown_kind(s: &str) -> Error {
    let known: Vec<&str> = DocumentKind::ALL.iter().map(|k| k.as_str()).collect();
    Error::new(
        ErrorCode::InputUnknownKind,
        format!(
            "`{}` is not a document kind; expected one of {}",
            s.chars().take(40).collect::<String>(),
            known.join(", ")
        ),
    )
    .at("/kind")
}

impl std::str::FromStr for DocumentKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        DocumentKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| unknown_kind(s).at(""))
    }
}
