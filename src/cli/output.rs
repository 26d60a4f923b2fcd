//! Reading scenario files and delivering results: error texts for bad input, the output
//! folder's new set (`outdir`), stdout, progress bars and warnings.

use crate::cli::Failure;
use crate::cli::message;
pub(super) use crate::cli::outdir::{Mode, OutDir};
use crate::model::Scenario;
use crate::scenario::overrides::{Override, apply_all};
use crate::scenario::{self, ScenarioError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

/// Reads `file`, applies `--set` overrides, and validates the result. Problems in the file
/// itself keep their line and column; once overrides are applied, problems are named by
/// their JSON path (the changed document has no lines of its own).
pub(super) fn load_scenario_with(file: &Path, sets: &[String]) -> Result<Scenario, Failure> {
    load_scenario_and_text(file, sets).map(|(scenario, _)| scenario)
}

/// As `load_scenario_with`, also returning the scenario text as run (the file with the
/// overrides applied), for report.html.
pub(super) fn load_scenario_and_text(
    file: &Path,
    sets: &[String],
) -> Result<(Scenario, String), Failure> {
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
        .map_err(Failure::bad)?;
    let changed = apply_all(&text, &overrides)
        .map_err(|e| Failure::bad(format!("{}: {e}", file.display())))?;
    let scenario = scenario::load(&changed).map_err(|e| {
        let mut out = String::new();
        for d in e.diagnostics() {
            let place = if d.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", d.path)
            };
            out.push_str(&message::error(format_args!(
                "{} with --set {}: {place}{}",
                file.display(),
                sets.join(" --set "),
                d.message
            )));
        }
        Failure::BadInput(out)
    })?;
    Ok((scenario, changed))
}

pub(super) fn read_text(file: &Path) -> Result<String, Failure> {
    let bad = |why: String| Failure::bad(format!("cannot read {}: {why}", file.display()));
    let meta = std::fs::metadata(file).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => " (no such file; scenarios/ holds the examples)",
            _ => "",
        };
        bad(format!("{e}{hint}"))
    })?;
    // A FIFO would block forever and a device (/dev/zero) never end.
    if meta.is_dir() {
        return Err(bad("it is a folder, not a file".into()));
    }
    if !meta.is_file() {
        return Err(bad(
            "not a regular file (a pipe, a device or a socket); save the JSON to a file".into(),
        ));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(bad(format!(
            "{} bytes, more than the {} MiB dsim reads",
            meta.len(),
            MAX_INPUT_BYTES >> 20
        )));
    }
    let mut bytes = Vec::new();
    use std::io::Read;
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(bad(format!(
            "more than the {} MiB dsim reads",
            MAX_INPUT_BYTES >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        Failure::bad(format!(
            "{}:{line}:{column}: not UTF-8 text: byte {at} (0x{:02x}) starts no UTF-8 \
             character; save the file as UTF-8",
            file.display(),
            e.as_bytes()[at]
        ))
    })
}

/// The largest file dsim reads (a scenario, a baseline, a sweep slice).
pub(super) const MAX_INPUT_BYTES: u64 = 32 << 20;

/// `error: FILE:LINE:COL: PATH: MESSAGE` lines, then a count.
pub(super) fn describe(file: &Path, e: &ScenarioError) -> String {
    let mut out = String::new();
    let diagnostics = e.diagnostics();
    for d in &diagnostics {
        out.push_str(&message::error(format_args!("{}:{d}", file.display())));
    }
    if diagnostics.len() > 1 {
        let _ = writeln!(out, "{} problems in {}", diagnostics.len(), file.display());
    }
    out
}

/// Writes `text` to stdout. A reader that has gone away (`dsim run … | head`) is not an error:
/// what it wanted, it got.
pub(super) fn print_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::bad(format!("cannot write to stdout: {e}"))),
    }
}

/// A progress bar on stderr with `template`, only when stderr is a terminal and not `quiet`.
pub(super) fn progress_bar(quiet: bool, len: u64, template: &str) -> Option<ProgressBar> {
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

/// Ends a command: puts `files` in the output folder (if any) as `mode` says, then prints
/// `stdout`, followed when `announce` is set by a line naming what was written. Files come
/// first: a reader that closes stdout early (`| head`) must not cost the results.
pub(super) fn deliver<N: AsRef<str>, C: AsRef<[u8]>>(
    mut stdout: String,
    dir: Option<OutDir>,
    files: &[(N, C)],
    mode: Mode,
    announce: bool,
) -> Result<(), Failure> {
    if let Some(dir) = dir {
        let shown = dir.path.display().to_string();
        dir.commit(files, mode)?;
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
            let _ = writeln!(stdout, "wrote {} in {shown}", names.join(", "));
        }
    }
    print_stdout(&stdout)
}

/// Warns on stderr (unless `quiet`) about what in the scenario is valid but almost surely a
/// slip (`scenario::lint`), located like errors — by path alone after `--set` (`sets`), whose
/// changed document has no lines of the file's.
pub(super) fn warn_slips(
    file: &Path,
    text: &str,
    scenario: &Scenario,
    sets: &[String],
    quiet: bool,
) {
    if quiet {
        return;
    }
    for d in crate::scenario::lint::warnings(text, scenario) {
        if sets.is_empty() {
            message::warn(format_args!("{}:{d}", file.display()));
        } else {
            message::warn(format_args!(
                "{} with --set: {}: {}",
                file.display(),
                d.path,
                d.message
            ));
        }
    }
}

/// Warns on stderr about runs that did not end normally (`max_events`, `drain_limit`), whose
/// figures sit in a table next to complete ones.
pub(super) fn warn_unfinished<'a>(
    quiet: bool,
    runs: impl IntoIterator<Item = (String, &'a crate::report::Results)>,
) {
    let cut: Vec<String> = runs
        .into_iter()
        .filter(|(_, r)| r.stop_reason != crate::StopReason::Completed)
        .map(|(label, r)| format!("{label} ({})", r.stop_reason))
        .collect();
    if !quiet && !cut.is_empty() {
        message::warn(format_args!(
            "these runs did not end normally; their figures cover only what was simulated: \
             {}",
            cut.join(", ")
        ));
    }
}
