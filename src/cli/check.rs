//! `dsim check FILE`: runs a scenario and holds it to its `slos` and, with `--baseline`, to
//! an earlier summary.json. Exit 0 when every check holds, 1 when one fails (a run cut short
//! fails too), 2 on bad input. Prints a table, Markdown (for a CI comment) or JSON, and can
//! write JUnit XML — also on bad input, as one test case in error.
//!
//! The gate cannot be turned on itself: its results go to `output/<name>-check/`, never the
//! folder `dsim run` writes, and a baseline inside the output folder is refused. A baseline
//! of another scenario, seed, window, load or set of classes is refused unless
//! `--allow-different-baseline` says the comparison is meant.

use crate::cli::output::{Mode, OutDir};
use crate::cli::run::OUTPUT_FILES;
use crate::cli::{Failure, SimArgs, exit, memory, outdir, output, parse_share};
use crate::report::{self, check};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Scenario file (JSON) with `slos` (or give --baseline).
    pub file: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// An earlier summary.json of the same scenario: fail if throughput, error rate or
    /// p50/p99/p99.9 latency got worse than it by more than --tolerance.
    #[arg(long, value_name = "SUMMARY.JSON")]
    pub baseline: Option<PathBuf>,
    /// How much worse than the baseline a figure may get: a percentage (`5%`) or a fraction
    /// of at most 1 (`0.05`).
    #[arg(long, default_value = "5%", requires = "baseline")]
    pub tolerance: String,
    /// Compare with a baseline of another scenario, seed, measured window, load or set of
    /// request classes (refused otherwise: its figures would not be comparable).
    #[arg(long, requires = "baseline")]
    pub allow_different_baseline: bool,
    /// Also write the checks as JUnit XML to this file (for CI test reports); written on bad
    /// input too, as one test case in error.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,
}

/// What `dsim check` prints.
#[derive(Debug, Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum CheckFormat {
    /// A table for people.
    Table,
    /// The checks as JSON.
    Json,
    /// The checks as a Markdown table, for a CI comment.
    Markdown,
}

/// A `dsim check … --junit FILE` whose arguments clap refused (exit 2) still gets its JUnit
/// file, holding the usage error, when FILE can be told from the arguments.
pub(super) fn junit_for_usage_error(args: &[std::ffi::OsString], message: &str) {
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let Some(at) = words.iter().position(|w| *w == "check") else {
        return;
    };
    let rest = &words[at + 1..];
    let path = rest
        .iter()
        .enumerate()
        .find_map(|(i, w)| match w.strip_prefix("--junit") {
            Some("") => rest.get(i + 1).copied(),
            Some(value) => value.strip_prefix('='),
            None => None,
        });
    if let Some(path) = path.map(Path::new)
        && check_junit_path(path, &[]).is_ok()
    {
        let text = crate::cli::message::error(crate::cli::message::what(message));
        // The suite is named by the scenario file, as for a check that ran, when one is given.
        let suite = rest
            .iter()
            .rev()
            .find(|w| w.ends_with(".json"))
            .unwrap_or(&"dsim check");
        let _ = outdir::write_file(
            path,
            crate::report::junit::render_junit_error(suite, &text).as_bytes(),
        );
    }
}

/// `5%` or `0.05` as a fraction of at most 1; a bare number above 1 is refused, since `5`
/// would mean 500 %.
fn parse_tolerance(text: &str) -> Result<f64, Failure> {
    let t = text.trim();
    if !t.ends_with('%') && t.parse::<f64>().is_ok_and(|x| x > 1.0) {
        return Err(Failure::bad(format!(
            "--tolerance {t} would allow {}% worse; write {t}% for {t} percent, or a \
             fraction of at most 1 such as 0.05",
            t.parse::<f64>().map_or(0.0, |x| x * 100.0)
        )));
    }
    parse_share(text, "--tolerance", 0.0, 1.0)
}

fn read_baseline(path: &Path) -> Result<Value, Failure> {
    let text = output::read_text(path)?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        Failure::bad(format!(
            "--baseline {}: not JSON ({e}); give a summary.json written by dsim run",
            path.display()
        ))
    })?;
    if let Some(why) = check::unusable_baseline(&doc) {
        return Err(Failure::bad(format!(
            "--baseline {}: {why}; give a summary.json of a whole dsim run",
            path.display()
        )));
    }
    Ok(doc)
}

/// Refuses a JUnit path that cannot be written before anything runs, or that names one of
/// the command's own inputs (the scenario, the baseline).
fn check_junit_path(path: &Path, inputs: &[&Path]) -> Result<(), Failure> {
    let bad = |why: String| Failure::bad(format!("--junit {}: {why}", path.display()));
    if path.is_dir() {
        return Err(bad(
            "is a folder; give a file name such as report.xml".into()
        ));
    }
    let same = |input: &&&Path| {
        matches!(
            (std::fs::canonicalize(path), std::fs::canonicalize(input)),
            (Ok(a), Ok(b)) if a == b
        )
    };
    if let Some(input) = inputs.iter().find(same) {
        return Err(bad(format!(
            "is {}, an input of this check; give the report a file of its own",
            input.display()
        )));
    }
    if path.file_name().and_then(|n| n.to_str()).is_none() {
        return Err(bad("does not end in a file name".into()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(bad(format!("the folder {} does not exist", dir.display())));
    }
    let probe = dir.join(format!(".dsim-junit-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| bad(format!("cannot write in {}: {e}", dir.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

pub(super) fn run(args: &CheckArgs) -> Result<u8, Failure> {
    if let Some(path) = &args.junit {
        let mut inputs = vec![args.file.as_path()];
        inputs.extend(args.baseline.as_deref());
        check_junit_path(path, &inputs)?;
    }
    match checked(args) {
        Err(Failure::BadInput(text)) => {
            if let Some(path) = &args.junit {
                let suite = args.file.display().to_string();
                outdir::write_file(
                    path,
                    crate::report::junit::render_junit_error(&suite, &text).as_bytes(),
                )?;
            }
            Err(Failure::BadInput(text))
        }
        other => other,
    }
}

fn checked(args: &CheckArgs) -> Result<u8, Failure> {
    let sim = &args.sim;
    let mut scenario = output::load_scenario_with(&args.file, &sim.set)?;
    if let Some(seed) = sim.seed {
        scenario.seed = seed;
    }
    let tolerance = parse_tolerance(&args.tolerance)?;
    let baseline = args.baseline.as_deref().map(read_baseline).transpose()?;
    if scenario.slos.is_empty() && baseline.is_none() {
        return Err(Failure::bad(format!(
            "{}: nothing to check: add \"slos\" to the scenario (e.g. \"slos\": \
             {{\"p99_ms\": 200, \"error_rate\": 0.001}}) or give --baseline summary.json",
            args.file.display()
        )));
    }
    let memory_limit = memory::limit_bytes(sim.max_memory_gb)?;
    memory::check_estimate(&scenario, memory_limit, sim.output.quiet)?;
    let out_dir = OutDir::prepare(
        &sim.output,
        PathBuf::from("output").join(format!("{}-check", scenario.name)),
        &OUTPUT_FILES,
    )?;
    if let (Some(dir), Some(path)) = (&out_dir, &args.baseline)
        && dir.holds(path)
    {
        return Err(Failure::bad(format!(
            "--baseline {} is in the output folder {}, where this check's results \
             would replace it\n  keep baselines elsewhere (e.g. baselines/), or give --out DIR \
             or --no-write",
            path.display(),
            dir.path.display()
        )));
    }
    let slos = scenario.slos.clone();
    let results = crate::run_with_limit(scenario, memory_limit, &mut |_| {});
    if let (Some(base), Some(path)) = (&baseline, &args.baseline) {
        let differences = check::incomparable(&results, base);
        if !differences.is_empty() && !args.allow_different_baseline {
            return Err(Failure::bad(format!(
                "--baseline {} is not comparable with this run: {}\n  give a baseline \
                 of the same scenario and settings, or --allow-different-baseline if the \
                 comparison is meant",
                path.display(),
                differences.join("; ")
            )));
        }
    }
    let mut verdicts = vec![check::run_verdict(&results)];
    verdicts.extend(check::slo_verdicts(&results, &slos));
    if let (Some(base), Some(path)) = (&baseline, &args.baseline) {
        let regressions = check::regression_verdicts(&results, base, tolerance).map_err(|e| {
            Failure::bad(format!(
                "--baseline {}: {e}; give a summary.json written by dsim run",
                path.display()
            ))
        })?;
        verdicts.extend(regressions);
    }
    if let Some(path) = &args.junit {
        // Named by the file, as on bad input: one suite in a CI's history either way.
        let suite = args.file.display().to_string();
        outdir::write_file(
            path,
            crate::report::junit::render_junit(&suite, &verdicts).as_bytes(),
        )?;
    }
    let stdout = match args.format {
        CheckFormat::Markdown => check::render_markdown(&results.scenario, results.seed, &verdicts),
        CheckFormat::Json => verdicts_json(&results, &verdicts),
        CheckFormat::Table if sim.output.quiet => String::new(),
        CheckFormat::Table => check::render_table(&results.scenario, &verdicts),
    };
    let [summary, timeseries] = OUTPUT_FILES;
    output::deliver(
        stdout,
        out_dir,
        &[
            (summary, results.to_json()),
            (timeseries, report::csv::render(&results)),
        ],
        Mode::ReplaceSet,
        args.format == CheckFormat::Table && !sim.output.quiet,
    )?;
    Ok(if verdicts.iter().all(|v| v.passed) {
        exit::OK
    } else {
        exit::CHECK_FAILED
    })
}

fn verdicts_json(r: &report::Results, verdicts: &[check::Verdict]) -> String {
    let checks: Vec<Value> = verdicts
        .iter()
        .map(|v| {
            serde_json::json!({
                "kind": v.kind, "figure": v.name,
                // No request completed: no latency (null), never 0.
                "value": if v.actual.is_finite() { Some(v.actual) } else { None },
                "limit": v.limit, "at_least": v.floor, "passed": v.passed, "note": v.note,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "scenario": r.scenario, "seed": r.seed,
        "passed": verdicts.iter().all(|v| v.passed), "checks": checks,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn tolerance_reads_percent_or_a_fraction_up_to_one() {
        assert_eq!(super::parse_tolerance("5%").ok(), Some(0.05));
        assert_eq!(super::parse_tolerance("0.1").ok(), Some(0.1));
        assert_eq!(super::parse_tolerance("1").ok(), Some(1.0));
        assert!(super::parse_tolerance("5").is_err(), "5 would be 500 %");
        assert!(super::parse_tolerance("150%").is_err());
        assert!(super::parse_tolerance("-1%").is_err());
        assert!(super::parse_tolerance("lots").is_err());
    }
}
