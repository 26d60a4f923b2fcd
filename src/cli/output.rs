//! Reading scenario files and writing results: error texts for bad input, and atomic writes
//! (a temporary file renamed into place) so an interrupted run leaves no half-written file.

use crate::cli::Failure;
use crate::model::Scenario;
use crate::scenario::overrides::{Override, apply_all};
use crate::scenario::{self, ScenarioError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

/// Reads and validates `file`, turning every problem into a located message.
pub fn load_scenario(file: &Path) -> Result<Scenario, Failure> {
    load_scenario_with(file, &[])
}

/// Reads `file`, applies `--set` overrides, and validates the result. Problems in the file
/// itself keep their line and column; once overrides are applied, problems are named by
/// their JSON path (the changed document has no lines of its own).
pub fn load_scenario_with(file: &Path, sets: &[String]) -> Result<Scenario, Failure> {
    load_scenario_and_text(file, sets).map(|(scenario, _)| scenario)
}

/// As `load_scenario_with`, also returning the scenario text as run (the file with the
/// overrides applied), for report.html.
pub fn load_scenario_and_text(file: &Path, sets: &[String]) -> Result<(Scenario, String), Failure> {
    let text = read_text(file)?;
    if sets.is_empty() {
        let scenario = scenario::load(&text).map_err(|e| Failure::BadInput(describe(file, &e)))?;
        return Ok((scenario, text));
    }
    // A file whose shape is wrong is reported as it is, with its position; its values are
    // validated once, after the overrides.
    scenario::parse(&text).map_err(|e| Failure::BadInput(describe(file, &e)))?;
    let overrides = sets
        .iter()
        .map(|s| Override::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::BadInput(format!("error: {e}\n")))?;
    let changed = apply_all(&text, &overrides)
        .map_err(|e| Failure::BadInput(format!("error: {}: {e}\n", file.display())))?;
    let scenario = scenario::load(&changed).map_err(|e| {
        let mut out = String::new();
        for d in e.diagnostics() {
            let place = if d.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", d.path)
            };
            let _ = writeln!(
                out,
                "error: {} with --set {}: {place}{}",
                file.display(),
                sets.join(" --set "),
                d.message
            );
        }
        Failure::BadInput(out)
    })?;
    Ok((scenario, changed))
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

/// Makes sure results can be written in `dir` before spending time on a run: creates it,
/// and checks that it is a folder we may write in and that no folder stands where an output
/// file goes. Returns whether it created the folder (to remove it if the run fails).
pub fn prepare_out_dir(dir: &Path, files: &[&str]) -> Result<bool, Failure> {
    let bad = |what: String| {
        Failure::BadInput(format!(
            "error: {what}\n  choose another folder with --out DIR, or --no-write\n"
        ))
    };
    if dir.exists() && !dir.is_dir() {
        return Err(bad(format!("{} is a file, not a folder", dir.display())));
    }
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| {
        bad(format!(
            "cannot create output folder {}: {e}",
            dir.display()
        ))
    })?;
    for name in files {
        let target = dir.join(name);
        if target.is_dir() {
            return Err(bad(format!(
                "{} is a folder; dsim writes a file there",
                target.display()
            )));
        }
    }
    let probe = dir.join(".dsim-write-probe.tmp");
    std::fs::write(&probe, b"")
        .map_err(|e| bad(format!("cannot write in {}: {e}", dir.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(created)
}

/// Writes every `(name, contents)` into `dir` all-or-nothing as far as the filesystem allows:
/// each goes to a temporary file first, and only when all of them are written are they renamed
/// into place. A failure while writing leaves the old outputs untouched; a rename failing
/// after another succeeded (rare: the folder changed under us) is reported as such.
pub fn write_all_atomic<N: AsRef<str>, C: AsRef<[u8]>>(
    dir: &Path,
    files: &[(N, C)],
) -> Result<(), Failure> {
    let tmp = |name: &N| dir.join(format!(".{}.tmp", name.as_ref()));
    let cleanup = || {
        for (name, _) in files {
            let _ = std::fs::remove_file(tmp(name));
        }
    };
    let fail = |what: String, replaced: &[&str]| {
        cleanup();
        let state = if replaced.is_empty() {
            "the previous outputs, if any, are unchanged".to_string()
        } else {
            format!(
                "{} were replaced, the others not: the folder mixes two runs",
                replaced.join(", ")
            )
        };
        Failure::BadInput(format!("error: {what}\n  {state}\n"))
    };
    for (name, contents) in files {
        std::fs::write(tmp(name), contents)
            .map_err(|e| fail(format!("cannot write {}: {e}", tmp(name).display()), &[]))?;
    }
    let mut replaced = Vec::new();
    for (name, _) in files {
        let target = dir.join(name.as_ref());
        std::fs::rename(tmp(name), &target)
            .map_err(|e| fail(format!("cannot write {}: {e}", target.display()), &replaced))?;
        replaced.push(name.as_ref());
    }
    Ok(())
}

/// Writes `text` to stdout. A reader that has gone away (`dsim run … | head`) is not an error:
/// what it wanted, it got.
pub fn print_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::BadInput(format!(
            "error: cannot write to stdout: {e}\n"
        ))),
    }
}

/// A progress bar on stderr with `template`, only when stderr is a terminal and not `quiet`.
pub fn progress_bar(quiet: bool, len: u64, template: &str) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message("starting");
    Some(bar)
}

/// A command's output folder, and whether the command created it (so that a run that fails
/// after creating it can take it away again).
pub struct OutDir {
    pub path: std::path::PathBuf,
    created: bool,
}

impl OutDir {
    /// `--out`, else `default`; checked and created before any time is spent (see
    /// `prepare_out_dir`). `None` with `--no-write`.
    pub fn prepare(
        output: &crate::cli::OutputArgs,
        default: std::path::PathBuf,
        files: &[&str],
    ) -> Result<Option<OutDir>, Failure> {
        if output.no_write {
            return Ok(None);
        }
        let path = output.out.clone().unwrap_or(default);
        let created = prepare_out_dir(&path, files)?;
        Ok(Some(OutDir { path, created }))
    }

    /// Removes the folder if this command created it and it is still empty.
    pub fn abandon(&self) {
        if self.created {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

/// Ends a command: writes `files` into the output folder (if any) all-or-nothing, then prints
/// `stdout`, followed when `announce` is set by a line naming what was written. Files come
/// first: a reader that closes stdout early (`| head`) must not cost the results.
pub fn deliver<N: AsRef<str>, C: AsRef<[u8]>>(
    mut stdout: String,
    dir: Option<&OutDir>,
    files: &[(N, C)],
    announce: bool,
) -> Result<(), Failure> {
    if let Some(dir) = dir {
        write_all_atomic(&dir.path, files)?;
        if announce {
            let is_chart = |n: &str| n.ends_with(".svg") || n.ends_with(".png");
            let mut names: Vec<String> = files
                .iter()
                .map(|(name, _)| name.as_ref())
                .filter(|n| !is_chart(n))
                .map(String::from)
                .collect();
            let charts = files.iter().filter(|(n, _)| is_chart(n.as_ref())).count();
            if charts > 0 {
                names.push(format!("{charts} chart files (SVG and PNG)"));
            }
            let _ = writeln!(
                stdout,
                "wrote {} in {}",
                names.join(", "),
                dir.path.display()
            );
        }
    }
    print_stdout(&stdout)
}

/// `deliver` for the commands that draw charts (run, sweep, compare, merge): their charts
/// replace, in the folder, the ones an earlier command drew (see `remove_stale_charts`).
pub fn deliver_with_charts<N: AsRef<str>, C: AsRef<[u8]>>(
    stdout: String,
    dir: Option<&OutDir>,
    files: &[(N, C)],
    announce: bool,
) -> Result<(), Failure> {
    deliver(stdout, dir, files, announce)?;
    remove_stale_charts(dir, files);
    Ok(())
}

/// The file in an output folder naming the charts dsim last wrote there.
const CHART_MANIFEST: &str = ".dsim-charts";

/// Removes the charts an earlier dsim command wrote in the folder (listed in its
/// `.dsim-charts`) that this command did not write in `files` — they would pass for this
/// one's (`--no-charts` after a run with charts, a run without a queue chart) — and lists
/// this command's charts there instead. Files dsim did not write are never touched.
fn remove_stale_charts<N: AsRef<str>, C>(dir: Option<&OutDir>, files: &[(N, C)]) {
    let Some(dir) = dir else { return };
    let is_chart = |n: &str| n.ends_with(".svg") || n.ends_with(".png");
    let written: Vec<&str> = files
        .iter()
        .map(|(n, _)| n.as_ref())
        .filter(|n| is_chart(n))
        .collect();
    let manifest = dir.path.join(CHART_MANIFEST);
    let earlier = std::fs::read_to_string(&manifest).unwrap_or_default();
    for name in earlier.lines() {
        // Only plain names of charts: a damaged manifest cannot reach outside the folder.
        let plain = !name.contains(['/', '\\']) && !name.starts_with('.');
        if plain && is_chart(name) && !written.contains(&name) {
            let _ = std::fs::remove_file(dir.path.join(name));
        }
    }
    if written.is_empty() {
        let _ = std::fs::remove_file(&manifest);
    } else {
        let _ = std::fs::write(&manifest, written.join("\n") + "\n");
    }
}

/// Warns on stderr about runs that did not end normally (`max_events`, `drain_limit`), whose
/// figures sit in a table next to complete ones.
pub fn warn_unfinished<'a>(
    quiet: bool,
    runs: impl IntoIterator<Item = (String, &'a crate::report::Results)>,
) {
    let cut: Vec<String> = runs
        .into_iter()
        .filter(|(_, r)| r.stop_reason != crate::StopReason::Completed.name())
        .map(|(label, r)| format!("{label} ({})", r.stop_reason))
        .collect();
    if !quiet && !cut.is_empty() {
        eprintln!(
            "warning: these runs did not end normally; their figures cover only what was \
             simulated: {}",
            cut.join(", ")
        );
    }
}
