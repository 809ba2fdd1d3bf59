//! The shared conformance cases in `spec/cases/<area>/<op>/NNN-slug.json`.
//!
//! A case is `{id, op, description?, input | input_text | input_base64 | input_gen, expect}` where
//! `expect` is `{"result": ...}` or `{"result_gen": <generator>}` (compared as canonical JSON) or
//! `{"error": {"code": ..., "path"?: ...}}`. `input_text` carries raw JSON text for inputs a JSON
//! value cannot hold (duplicate keys), `input_base64` raw bytes (invalid UTF-8), and `input_gen` a
//! generator for inputs too large to commit (see [`Generator`] and `spec/README.md`).

use std::collections::BTreeMap;
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
    /// The request as raw bytes, in standard base64.
    #[serde(default)]
    pub input_base64: Option<String>,
    /// The request as a generator.
    #[serde(default)]
    pub input_gen: Option<Generator>,
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
    /// A response given by a generator (its text is parsed as JSON), compared as canonical JSON.
    ResultGen(Generator),
    /// An error with this code (and path, when given).
    Error {
        /// The error code.
        code: String,
        /// The JSON-pointer path, when the case pins it.
        #[serde(default)]
        path: Option<String>,
    },
}

/// A generated text: `template` with every placeholder `@{name}` replaced by the expansion of
/// `repeat[name]`. See `spec/README.md` ("Generated inputs") for the rule every runtime follows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    /// The text, with placeholders `@{name}` (`name` of `a-z`, `0-9`, `_`).
    pub template: String,
    /// What each placeholder expands to.
    #[serde(default)]
    pub repeat: BTreeMap<String, Repeat>,
}

/// `times` copies of `text`, joined by `separator`; in copy `k` (from 0), `@{i}` in `text` is
/// replaced by `start + k` in decimal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// The text of one copy.
    pub text: String,
    /// How many copies.
    pub times: usize,
    /// What stands between two copies.
    #[serde(default)]
    pub separator: String,
    /// The counter's first value.
    #[serde(default)]
    pub start: u64,
}

/// The counter placeholder inside a [`Repeat`]'s text.
const COUNTER: &str = "@{i}";

impl Repeat {
    fn expand(&self) -> String {
        if !self.text.contains(COUNTER) {
            if self.separator.is_empty() {
                return self.text.repeat(self.times);
            }
            let mut one = self.text.clone();
            one.push_str(&self.separator);
            let mut out = one.repeat(self.times.saturating_sub(1));
            if self.times > 0 {
                out.push_str(&self.text);
            }
            return out;
        }
        let mut out = String::new();
        for k in 0..self.times {
            if k > 0 {
                out.push_str(&self.separator);
            }
            let n = self.start.saturating_add(k as u64);
            out.push_str(&self.text.replace(COUNTER, &n.to_string()));
        }
        out
    }
}

impl Generator {
    /// The generated text.
    pub fn expand(&self) -> Result<String, String> {
        if self.repeat.contains_key("i") {
            return Err("`i` is the counter; a repeat may not be called `i`".to_owned());
        }
        let mut out = String::with_capacity(self.template.len());
        let mut rest = self.template.as_str();
        while let Some(at) = rest.find("@{") {
            let (before, from) = rest.split_at(at);
            out.push_str(before);
            let name_len = from.get(2..).and_then(|s| s.find('}')).filter(|&n| {
                n > 0
                    && from.get(2..2 + n).is_some_and(|name| {
                        name.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    })
            });
            match name_len {
                Some(n) => {
                    let name = from.get(2..2 + n).unwrap_or_default();
                    let r = self.repeat.get(name).ok_or_else(|| {
                        format!("the template names `@{{{name}}}`, which `repeat` does not define")
                    })?;
                    out.push_str(&r.expand());
                    rest = from.get(3 + n..).unwrap_or_default();
                }
                None => {
                    out.push_str("@{");
                    rest = from.get(2..).unwrap_or_default();
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Decodes standard base64 (RFC 4648, `+/`, `=` padding); whitespace is ignored.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0u32;
    let mut padding = 0usize;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return Err(format!("`{}` is not a base64 character", char::from(c))),
        };
        if padding > 0 {
            return Err("base64 data after `=` padding".to_owned());
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

impl Case {
    /// The request bytes.
    pub fn input_bytes(&self) -> Result<Vec<u8>, String> {
        match (
            &self.input,
            &self.input_text,
            &self.input_base64,
            &self.input_gen,
        ) {
            (Some(v), None, None, None) => serde_json::to_vec(v).map_err(|e| e.to_string()),
            (None, Some(t), None, None) => Ok(t.clone().into_bytes()),
            (None, None, Some(b), None) => {
                decode_base64(b).map_err(|e| format!("{}: `input_base64`: {e}", self.id))
            }
            (None, None, None, Some(g)) => g
                .expand()
                .map(String::into_bytes)
                .map_err(|e| format!("{}: `input_gen`: {e}", self.id)),
            _ => Err(format!(
                "{}: a case needs exactly one of `input`, `input_text`, `input_base64` and `input_gen`",
                self.id
            )),
        }
    }

    /// The expected result as a JSON value, when the case expects one.
    pub fn expected_result(&self) -> Result<Option<Value>, String> {
        match &self.expect {
            Expect::Result(v) => Ok(Some(v.clone())),
            Expect::ResultGen(g) => {
                let text = g
                    .expand()
                    .map_err(|e| format!("{}: `result_gen`: {e}", self.id))?;
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| format!("{}: `result_gen` is not JSON: {e}", self.id))
            }
            Expect::Error { .. } => Ok(None),
        }
    }

    /// Runs the case through the Rust core; `Err` describes a mismatch.
    pub fn check(&self) -> Result<(), String> {
        let input = self.input_bytes()?;
        let got = billwise_core::api::run(&self.op, &input, &Limits::DEFAULT);
        drop(input);
        match (self.expected_result()?, &self.expect, got) {
            (Some(expected), _, Ok(actual)) => {
                let expected = to_canonical_string(&expected).map_err(|e| e.to_string())?;
                if expected == actual {
                    Ok(())
                } else {
                    let at = expected
                        .bytes()
                        .zip(actual.bytes())
                        .take_while(|(a, b)| a == b)
                        .count();
                    let around = |s: &str| -> String {
                        s.chars().skip(at.saturating_sub(200)).take(2000).collect()
                    };
                    Err(format!(
                        "{}: result differs at byte {at}\nexpected: {}\n  actual: {}",
                        self.id,
                        around(&expected),
                        around(&actual)
                    ))
                }
            }
            (Some(_), _, Err(e)) => Err(format!("{}: expected a result, got error {e}", self.id)),
            (None, Expect::Error { code, path }, Err(e)) => {
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
            (None, Expect::Error { code, .. }, Ok(actual)) => Err(format!(
                "{}: expected error {code}, got result {}",
                self.id,
                actual.chars().take(2000).collect::<String>()
            )),
            (None, _, _) => Err(format!("{}: no expectation", self.id)),
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
