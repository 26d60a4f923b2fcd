//! Reading scenario files and writing results: error texts for bad input, and atomic writes
//! (a temporary file renamed into place) so an interrupted run leaves no half-written file.

use crate::cli::Failure;
use crate::model::Scenario;
use crate::scenario::{self, ScenarioError};
use anyhow::Context;
use std::fmt::Write as _;
use std::path::Path;

/// Reads and validates `file`, turning every problem into a located message.
pub fn load_scenario(file: &Path) -> Result<Scenario, Failure> {
    let text = read_text(file)?;
    scenario::load(&text).map_err(|e| Failure::BadInput(describe(file, &e)))
}

pub fn read_text(file: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(file).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => " (no such file; scenarios/ holds the examples)",
            std::io::ErrorKind::InvalidData => " (not UTF-8 text; scenario files are JSON)",
            _ => "",
        };
        Failure::BadInput(format!(
            "error: cannot read {}: {e}{hint}\n",
            file.display()
        ))
    })
}

/// `error: FILE:LINE:COL: PATH: MESSAGE` lines, then a count.
pub fn describe(file: &Path, e: &ScenarioError) -> String {
    let mut out = String::new();
    let diagnostics = e.diagnostics();
    for d in &diagnostics {
        let _ = writeln!(out, "error: {}:{d}", file.display());
    }
    if diagnostics.len() > 1 {
        let _ = writeln!(out, "{} problems in {}", diagnostics.len(), file.display());
    }
    out
}

/// Writes `contents` to `dir/name` through a temporary file and a rename.
pub fn write_atomic(dir: &Path, name: &str, contents: &str) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, contents).with_context(|| format!("writing {}", tmp.display()))?;
    let target = dir.join(name);
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("renaming into {}", target.display()))?;
    Ok(())
}
