//! Golden outputs: every curated scenario's summary.json is pinned in `tests/golden/`, so any
//! change in results is seen and reviewed. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test every_scenario` and read the diff before committing it.

use std::path::PathBuf;

/// Compares `got` (a summary.json text) with the golden file for scenario `stem`, or writes it
/// when `UPDATE_GOLDEN` is set. Returns a one-line description of the first difference.
pub fn compare_with_golden(stem: &str, got: &str) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{stem}.summary.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create tests/golden");
        std::fs::write(&path, got).expect("write golden file");
        return None;
    }
    let Ok(want) = std::fs::read_to_string(&path) else {
        return Some(format!(
            "{stem}: no golden file {} (UPDATE_GOLDEN=1 writes it)",
            path.display()
        ));
    };
    if got == want {
        return None;
    }
    let line = got
        .lines()
        .zip(want.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
    Some(format!(
        "{stem}: first difference at line {}: got `{}`, golden `{}`",
        line + 1,
        got.lines().nth(line).unwrap_or("<end>").trim(),
        want.lines().nth(line).unwrap_or("<end>").trim()
    ))
}
