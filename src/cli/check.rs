//! `dsim check FILE`: runs a scenario and holds it to its `slos` and, with `--baseline`, to
//! an earlier summary.json. Exit 0 when every check holds, 1 when one fails, 2 on bad input.
//! Prints a table, Markdown (for a CI comment) or JSON, and can write JUnit XML.

use crate::cli::output::OutDir;
use crate::cli::run::OUTPUT_FILES;
use crate::cli::{Failure, Format, SimArgs, exit, memory, output, parse_share};
use crate::report::{self, check};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Scenario file (JSON) with `slos` (or give --baseline).
    pub file: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// An earlier summary.json: fail if throughput, error rate or p50/p99/p99.9 latency got
    /// worse than it by more than --tolerance.
    #[arg(long, value_name = "SUMMARY.JSON")]
    pub baseline: Option<PathBuf>,
    /// How much worse than the baseline a figure may get, e.g. `5%` or `0.05`.
    #[arg(long, default_value = "5%")]
    pub tolerance: String,
    /// Also write the checks as JUnit XML to this file (for CI test reports).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// `5%` or `0.05` as a fraction.
fn parse_tolerance(text: &str) -> Result<f64, Failure> {
    parse_share(text, "--tolerance", 0.0, 10.0)
}

fn read_baseline(path: &Path) -> Result<Value, Failure> {
    let text = output::read_text(path)?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::BadInput(format!(
            "error: --baseline {}: not JSON ({e}); give a summary.json written by dsim run\n",
            path.display()
        ))
    })
}

pub fn run(args: &CheckArgs) -> Result<u8, Failure> {
    let sim = &args.sim;
    let mut scenario = output::load_scenario_with(&args.file, &sim.set)?;
    if let Some(seed) = sim.seed {
        scenario.seed = seed;
    }
    let tolerance = parse_tolerance(&args.tolerance)?;
    let baseline = args.baseline.as_deref().map(read_baseline).transpose()?;
    if scenario.slos.is_empty() && baseline.is_none() {
        return Err(Failure::BadInput(format!(
            "error: {}: nothing to check: add \"slos\" to the scenario (e.g. \"slos\": \
             {{\"p99_ms\": 200, \"error_rate\": 0.001}}) or give --baseline summary.json\n",
            args.file.display()
        )));
    }
    let memory_limit = memory::limit_bytes(sim.max_memory_gb)?;
    memory::check_estimate(&scenario, memory_limit, sim.output.quiet)?;
    let out_dir = OutDir::prepare(
        &sim.output,
        PathBuf::from("output").join(&scenario.name),
        &OUTPUT_FILES,
    )?;
    let slos = scenario.slos.clone();
    let results = crate::run_with_limit(scenario, memory_limit, &mut |_| {});
    memory::refuse_if_stopped([&results], out_dir.as_ref(), memory_limit)?;
    let mut verdicts = check::slo_verdicts(&results, &slos);
    if let (Some(base), Some(path)) = (&baseline, &args.baseline) {
        let regressions = check::regression_verdicts(&results, base, tolerance).map_err(|e| {
            Failure::BadInput(format!(
                "error: --baseline {}: {e}; give a summary.json written by dsim run\n",
                path.display()
            ))
        })?;
        verdicts.extend(regressions);
    }
    if results.stop_reason != crate::StopReason::Completed.name() && !sim.output.quiet {
        eprintln!(
            "warning: the run stopped early ({}); the checks cover only what was simulated",
            results.stop_reason
        );
    }
    if let Some(path) = &args.junit {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            Failure::BadInput(format!(
                "error: --junit {}: not a file name\n",
                path.display()
            ))
        })?;
        output::write_all_atomic(
            dir.unwrap_or(Path::new(".")),
            &[(name, check::render_junit(&results.scenario, &verdicts))],
        )?;
    }
    let stdout = match sim.output.format {
        Format::Markdown => check::render_markdown(&results.scenario, results.seed, &verdicts),
        Format::Json => verdicts_json(&results, &verdicts),
        Format::Table if sim.output.quiet => String::new(),
        Format::Table => check::render_table(&results.scenario, &verdicts),
    };
    let [summary, timeseries] = OUTPUT_FILES;
    output::deliver(
        stdout,
        out_dir.as_ref(),
        &[
            (summary, results.to_json()),
            (timeseries, report::csv::render(&results)),
        ],
        sim.output.announce_files(),
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
                "kind": v.kind, "figure": v.name, "value": v.actual, "limit": v.limit,
                "at_least": v.floor, "passed": v.passed, "note": v.note,
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
    fn tolerance_reads_percent_or_fraction() {
        assert_eq!(super::parse_tolerance("5%").ok(), Some(0.05));
        assert_eq!(super::parse_tolerance("0.1").ok(), Some(0.1));
        assert!(super::parse_tolerance("-1%").is_err());
        assert!(super::parse_tolerance("lots").is_err());
    }
}
