//! The shared conformance cases in `spec/cases/<area>/<op>/NNN-slug.json`.
//!
//! A case is `{id, op, description?, input | input_text, expect}` where `expect` is
//! `{"result": ...}` (compared as canonical JSON) or `{"error": {"code": ..., "path"?: ...}}`.
//! `input_text` carries raw JSON text for inputs a JSON value cannot hold (duplicate keys).

use std::path::{Path, PathBuf};

use billwise_core::json::{Limits, to_canonical_string};
use serde::Deserialize;
use serde_json::Value;

/// The repository's `spec/` directory.
pub fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("spec")
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id, `area/op/NNN-slug`.
    pub id: String,
    /// The operation (see `billwise_core::api::OPERATIONS`).
    pub op: String,
    /// What the case shows.
    #[serde(default)]
    pub description: Option<String>,
    /// The request.
    #[serde(default)]
    pub input: Option<Value>,
    /// The request as raw text.
    #[serde(default)]
    pub input_text: Option<String>,
    /// The expected outcome.
    pub expect: Expect,
    /// Where the case was read from.
    #[serde(skip)]
    pub file: PathBuf,
}

/// The expected outcome of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Expect {
    /// A response, compared as canonical JSON.
    Result(Value),
    /// An error with this code (and path, when given).
    Error {
        /// The error code.
        code: String,
        /// The JSON-pointer path, when the case pins it.
        #[serde(default)]
        path: Option<String>,
    },
}

impl Case {
    /// The request bytes.
    pub fn input_bytes(&self) -> Result<Vec<u8>, String> {
        match (&self.input, &self.input_text) {
            (Some(v), None) => serde_json::to_vec(v).map_err(|e| e.to_string()),
            (None, Some(t)) => Ok(t.clone().into_bytes()),
            _ => Err(format!(
                "{}: a case needs exactly one of `input` and `input_text`",
                self.id
            )),
        }
    }

    /// Runs the case through the Rust core; `Err` describes a mismatch.
    pub fn check(&self) -> Result<(), String> {
        let input = self.input_bytes()?;
        let got = billwise_core::api::run(&self.op, &input, &Limits::DEFAULT);
        match (&self.expect, got) {
            (Expect::Result(expected), Ok(actual)) => {
                let expected = to_canonical_string(expected).map_err(|e| e.to_string())?;
                if expected == actual {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: result differs\nexpected: {expected}\n  actual: {actual}",
                        self.id
                    ))
                }
            }
            (Expect::Result(_), Err(e)) => {
                Err(format!("{}: expected a result, got error {e}", self.id))
            }
            (Expect::Error { code, path }, Err(e)) => {
                if e.code.as_str() != code {
                    return Err(format!("{}: expected error {code}, got {e}", self.id));
                }
                match path {
                    Some(p) if *p != e.path => {
                        Err(format!("{}: expected error at `{p}`, got {e}", self.id))
                    }
                    _ => Ok(()),
                }
            }
            (Expect::Error { code, .. }, Ok(actual)) => Err(format!(
                "{}: expected error {code}, got result {actual}",
                self.id
            )),
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    Ok(())
}

/// Loads every case under `spec/cases`, sorted by path; checks that each id matches its path.
pub fn load_all() -> Result<Vec<Case>, String> {
    let root = spec_dir().join("cases");
    let mut files = Vec::new();
    collect(&root, &mut files).map_err(|e| format!("cannot list {}: {e}", root.display()))?;
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let mut case: Case =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        let rel = f
            .strip_prefix(&root)
            .map_err(|e| e.to_string())?
            .with_extension("");
        let expected_id = rel.to_string_lossy().replace('\\', "/");
        if case.id != expected_id {
            return Err(format!(
                "{}: id `{}` should be `{expected_id}`",
                f.display(),
                case.id
            ));
        }
        case.file = f;
        cases.push(case);
    }
    Ok(cases)
}
