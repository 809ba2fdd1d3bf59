//! `billwise-gen`: writes the generated spec files (`make gen`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = billwise_conformance::cases::spec_dir();
    let files = match billwise_conformance::generate::all() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("billwise-gen: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (rel, text) in files {
        let path = dir.join(&rel);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                std::fs::write(&path, &text)?;
                eprintln!("wrote spec/{rel}");
            }
            Ok(())
        };
        if let Err(e) = write() {
            eprintln!("billwise-gen: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
