//! Errors and problems.
//!
//! An [`Error`] means "could not evaluate": bad input, a limit, a conflict. A [`Problem`] is one
//! finding of a validation report; reports are data, not errors. Both carry a stable
//! [`ErrorCode`], a lowercase message and a JSON-pointer path into the input.

mod codes;

pub use codes::{ErrorClass, ErrorCode};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A failure to evaluate a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("{code}: {message}{}", if path.is_empty() { String::new() } else { format!(" (at `{path}`)") })]
#[serde(deny_unknown_fields)]
pub struct Error {
    /// Stable code.
    pub code: ErrorCode,
    /// Lowercase sentence, no trailing period; the offending input in backticks.
    pub message: String,
    /// JSON pointer into the input (`""` is the whole document).
    pub path: String,
    /// Extra machine-readable facts (a limit and its value, the expected version, ...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub details: Map<String, Value>,
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error at the document root.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            path: String::new(),
            details: Map::new(),
        }
    }

    /// Sets the JSON-pointer path.
    #[must_use]
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Adds a detail.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The class of the error's code.
    pub fn class(&self) -> ErrorClass {
        self.code.class()
    }

    /// Places the error at `path` when it has no path of its own: an error from deep inside a
    /// computation (an overflow) names the input that was being computed.
    /// (`path` is a trait object: compiled once, however many callers.)
    pub fn or_at(self, path: &dyn Fn() -> String) -> Self {
        if self.path.is_empty() && self.code != ErrorCode::InternalError {
            let path = path();
            self.at(path)
        } else {
            self
        }
    }

    /// The error of a request nested at `prefix` in another (`/run` of a `commit_invoice`):
    /// its path is prefixed.
    pub fn under(mut self, prefix: &str) -> Self {
        self.path.insert_str(0, prefix);
        self
    }

    /// A defect in billwise (never the caller's fault).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// An amount could not be computed exactly.
    pub fn overflow(what: &str) -> Self {
        Self::new(
            ErrorCode::MoneyOverflow,
            format!("{what} is too large to compute exactly"),
        )
    }
}

/// One finding of a validation report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// JSON pointer to the offending value.
    pub path: String,
    /// Stable code.
    pub code: ErrorCode,
    /// Lowercase sentence.
    pub message: String,
}

impl Problem {
    /// A new problem.
    pub fn new(path: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl Problem {
    /// The problem at another path.
    pub fn with_path(mut self, path: String) -> Self {
        self.path = path;
        self
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        Self {
            path: e.path,
            code: e.code,
            message: e.message,
        }
    }
}

/// Builds JSON pointers (RFC 6901) by appending escaped segments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pointer(String);

impl Pointer {
    /// The root pointer (`""`).
    pub fn root() -> Self {
        Self(String::new())
    }

    /// A pointer with one more segment.
    #[must_use]
    pub fn key(&self, segment: &str) -> Self {
        let mut s = String::with_capacity(self.0.len() + segment.len() + 1);
        s.push_str(&self.0);
        push_segment(&mut s, segment);
        Self(s)
    }

    /// A pointer with one more array index.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}/{i}", self.0))
    }

    /// The pointer text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Pointer> for String {
    fn from(p: Pointer) -> Self {
        p.0
    }
}

/// A pointer's reference tokens, unescaped: the inverse of [`push_segment`]. A pointer is empty
/// or `/`-prefixed tokens. (By hand rather than with `str::replace`, whose substring search costs
/// the WebAssembly module more than this function.)
pub fn pointer_tokens(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in path.split('/').skip(1) {
        let mut t = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '~' {
                t.push(c);
                continue;
            }
            match chars.next() {
                Some('1') => t.push('/'),
                Some('0') => t.push('~'),
                Some(other) => {
                    t.push('~');
                    t.push(other);
                }
                None => t.push('~'),
            }
        }
        out.push(t);
    }
    out
}

/// Appends `/segment` to a pointer, escaping `~` and `/`.
pub fn push_segment(out: &mut String, segment: &str) {
    out.push('/');
    for c in segment.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_segments_escape_tilde_and_slash() {
        let p = Pointer::root().key("a/b").key("c~d").index(3);
        assert_eq!(p.as_str(), "/a~1b/c~0d/3");
        assert_eq!(pointer_tokens(p.as_str()), ["a/b", "c~d", "3"]);
        assert!(pointer_tokens("").is_empty());
    }

    #[test]
    fn error_display_names_code_and_path() {
        let e = Error::new(ErrorCode::InputUnknownField, "unknown field `x`").at("/a");
        assert_eq!(
            e.to_string(),
            "INPUT_UNKNOWN_FIELD: unknown field `x` (at `/a`)"
        );
    }
}
