//! `billwise-parity OUT_DIR`: the Rust side of `make parity`.
//!
//! Writes every case's request bytes to `OUT_DIR/inputs/<n>.json` (the exact bytes the Rust
//! runner sends, so every runtime reads the same input), a manifest `OUT_DIR/cases.jsonl`
//! (`{id, op, input, utf8}` per case, sorted by id), the expected answers `OUT_DIR/expect.jsonl`
//! and the Rust core's answers `OUT_DIR/rust.jsonl`. An answer line is
//! `{"id", "result": <canonical JSON text>}` or `{"id", "error": {"code", "exception", "path"}}`
//! (`exception`: the error's name without a runtime prefix, `InputError`, which every runtime
//! must take from the core's one mapping);
//! `scripts/parity/compare.py` compares the runtimes' files byte for byte.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use billwise_conformance::cases::{Expect, load_all};
use billwise_core::json::{Limits, to_canonical_string};
use serde_json::json;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: billwise-parity OUT_DIR");
        return ExitCode::from(2);
    };
    match run(&out) {
        Ok(n) => {
            println!("parity: rust answered {n} cases");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("billwise-parity: {e}");
            ExitCode::FAILURE
        }
    }
}

fn line(out: &mut Vec<u8>, value: &serde_json::Value) -> Result<(), String> {
    let text = to_canonical_string(value).map_err(|e| e.to_string())?;
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
    Ok(())
}

fn run(out: &Path) -> Result<usize, String> {
    let cases = load_all()?;
    let inputs = out.join("inputs");
    if inputs.exists() {
        fs::remove_dir_all(&inputs).map_err(|e| format!("{}: {e}", inputs.display()))?;
    }
    fs::create_dir_all(&inputs).map_err(|e| format!("{}: {e}", inputs.display()))?;
    let (mut manifest, mut expect, mut rust) = (Vec::new(), Vec::new(), Vec::new());
    for (n, case) in cases.iter().enumerate() {
        let bytes = case.input_bytes()?;
        let file = format!("inputs/{n:05}.json");
        fs::write(out.join(&file), &bytes).map_err(|e| format!("{file}: {e}"))?;
        let utf8 = std::str::from_utf8(&bytes).is_ok();
        line(
            &mut manifest,
            &json!({"id": case.id, "op": case.op, "input": file, "utf8": utf8}),
        )?;
        let expected = match (case.expected_result()?, &case.expect) {
            (Some(v), _) => {
                json!({"id": case.id, "result": to_canonical_string(&v).map_err(|e| e.to_string())?})
            }
            (None, Expect::Error { code, path }) => {
                let exception = billwise_core::ErrorCode::parse(code)
                    .map(|c| c.class().exception())
                    .ok_or_else(|| format!("{}: unknown code {code}", case.id))?;
                json!({"id": case.id, "error": {"code": code, "exception": exception, "path": path}})
            }
            (None, _) => return Err(format!("{}: no expectation", case.id)),
        };
        line(&mut expect, &expected)?;
        let answer = match billwise_core::api::run(&case.op, &bytes, &Limits::DEFAULT) {
            Ok(text) => json!({"id": case.id, "result": text}),
            Err(e) => json!({"id": case.id, "error": {
                "code": e.code.as_str(), "exception": e.class().exception(), "path": e.path}}),
        };
        line(&mut rust, &answer)?;
    }
    for (name, data) in [
        ("cases.jsonl", &manifest),
        ("expect.jsonl", &expect),
        ("rust.jsonl", &rust),
    ] {
        let mut f = fs::File::create(out.join(name)).map_err(|e| format!("{name}: {e}"))?;
        f.write_all(data).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(cases.len())
}
