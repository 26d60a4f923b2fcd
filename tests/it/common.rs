//! Helpers shared by the integration tests: running the binary on a scenario value or file.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The `dsim` binary cargo built for these tests, as a command to add arguments to.
pub fn dsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dsim"))
}

/// A fresh folder under the target directory (kept on failure for inspection).
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Writes `scenario` to a temporary file and returns its path.
pub fn write_scenario(scenario: &Value) -> PathBuf {
    let dir = temp_dir("scenario");
    let path = dir.join("scenario.json");
    std::fs::write(&path, serde_json::to_string_pretty(scenario).unwrap()).unwrap();
    path
}

/// Runs `scenario` with `seed` and returns the summary JSON.
pub fn run_summary(scenario: &Value, seed: u64) -> Value {
    let path = write_scenario(scenario);
    let out = dsim()
        .args([
            "run",
            "--format",
            "json",
            "--no-write",
            "--seed",
            &seed.to_string(),
        ])
        .arg(&path)
        .output()
        .expect("run dsim");
    assert!(
        out.status.success(),
        "dsim failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("summary is JSON")
}

/// Runs a scenario file with default options and returns its summary JSON text.
pub fn run_file_json(path: &std::path::Path) -> String {
    let out = dsim()
        .args(["run", "--format", "json", "--no-write"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 summary")
}

/// A field of a summary as f64, by a `/`-separated pointer.
pub fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {v:#}"))
}

/// Every scenario file under scenarios/.
pub fn scenario_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Runs `cmd`, asserts it succeeded (showing its stderr if not), and returns its output.
pub fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("run dsim");
    assert!(
        out.status.success(),
        "dsim failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network whose every link (the users' too) takes no time: hand-worked cases then count
/// only what the machines do.
pub fn zero_latency() -> Value {
    serde_json::json!({
        "client_link": {"latency_ms": {"constant": {"ms": 0}}},
        "default_link": {"latency_ms": {"constant": {"ms": 0}}}
    })
}
