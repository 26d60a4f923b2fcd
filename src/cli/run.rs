//! `dsim run FILE`: simulate, print the summary, write summary.json and timeseries.csv.

use crate::cli::message;
use crate::cli::output::{Mode, OutDir};
use crate::cli::{Failure, RunArgs, exit, memory, output, replicate};
use crate::report;
use std::path::PathBuf;
use std::time::Instant;

/// The files a run writes into its output folder (plus a SVG and a PNG per chart).
pub(super) const OUTPUT_FILES: [&str; 2] = ["summary.json", "timeseries.csv"];
pub(super) const REPORT_FILE: &str = "report.html";

/// Everything a run writes: summary.json, timeseries.csv, report.html and, unless
/// `no_charts`, each chart as SVG and PNG. `scenario_text` is the scenario as run.
pub(super) fn run_files(
    results: &report::Results,
    scenario_text: &str,
    no_charts: bool,
) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let [summary, timeseries] = OUTPUT_FILES;
    let charts = if no_charts {
        Vec::new()
    } else {
        report::charts::run_charts(results)
    };
    let drawn =
        report::charts::render(&charts).map_err(|e| Failure::Internal(anyhow::anyhow!(e)))?;
    let mut files = vec![
        (summary.to_string(), results.to_json().into_bytes()),
        (
            timeseries.to_string(),
            report::csv::render(results).into_bytes(),
        ),
        (
            REPORT_FILE.to_string(),
            report::html::render(results, &drawn.inline, scenario_text).into_bytes(),
        ),
    ];
    files.extend(drawn.files);
    Ok(files)
}

pub(super) fn run(args: &RunArgs) -> Result<u8, Failure> {
    let sim = &args.sim;
    let (mut scenario, scenario_text) = output::load_scenario_and_text(&args.file, &sim.set)?;
    output::warn_slips(
        &args.file,
        &scenario_text,
        &scenario,
        &sim.set,
        sim.output.quiet,
    );
    if let Some(seed) = sim.seed {
        scenario.seed = seed;
    }
    // Every check that can refuse the run comes before the output folder is created.
    let memory_limit = memory::limit_bytes(sim.max_memory_gb)?;
    if args.replications > 1 {
        if args.check_determinism {
            return Err(Failure::bad(
                "--check-determinism runs one scenario twice; it does not combine with \
                 --replications (whose results are already independent of threads)",
            ));
        }
        return replicate::run(args, scenario, &scenario_text, memory_limit);
    }
    memory::check_estimate(&scenario, memory_limit, sim.output.quiet)?;
    let out_dir = OutDir::prepare(
        &sim.output,
        PathBuf::from("output").join(&scenario.name),
        &[OUTPUT_FILES[0], OUTPUT_FILES[1], REPORT_FILE],
    )?;
    // The bar moves in simulated milliseconds and reads in simulated seconds; indicatif's
    // eta follows the recent rate, and so does the events/s shown.
    let bar = output::progress_bar(
        sim.output.quiet,
        scenario.duration.as_ms() as u64,
        "{bar:30} {msg} · eta {eta}",
    );
    let end_s = scenario.duration.as_secs();
    let second_copy = args.check_determinism.then(|| scenario.clone());
    let started = Instant::now();
    let mut last = (started, 0u64);
    let results = crate::run_with_limit(scenario, memory_limit, &mut |p| {
        if let Some(bar) = &bar {
            bar.set_position(p.now.as_ms().min(p.end.as_ms()) as u64);
            let now = Instant::now();
            let secs = now.duration_since(last.0).as_secs_f64().max(1e-9);
            let rate = p.events.saturating_sub(last.1) as f64 / secs / 1e6;
            last = (now, p.events);
            bar.set_message(format!(
                "{:.1}/{} s simulated · {rate:.1} M events/s",
                p.now.as_secs().min(end_s),
                crate::report::sections::secs(end_s)
            ));
        }
    });
    let wall = started.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    memory::refuse_if_stopped([&results], memory_limit)?;
    if let Some(copy) = second_copy {
        let again = crate::run_with_limit(copy, memory_limit, &mut |_| {});
        if let Some(difference) = first_difference(&results, &again) {
            eprint!(
                "{}",
                message::error(format_args!(
                    "two runs of the same scenario and seed differ ({difference}); this is a \
                     dsim bug: please report it with the scenario\n  nothing was written"
                ))
            );
            return Ok(exit::CHECK_FAILED);
        }
        if !sim.output.quiet {
            eprintln!(
                "deterministic: a second run gave byte-identical summary.json and timeseries.csv"
            );
        }
    }
    let json = results.to_json();
    let format = args.format.format;
    let stdout = sim
        .output
        .stdout_text(format, &json, || report::table::render(&results));
    let files = match &out_dir {
        Some(_) => run_files(&results, &scenario_text, args.charts.no_charts)?,
        None => Vec::new(),
    };
    output::deliver(
        stdout,
        out_dir,
        &files,
        Mode::ReplaceSet,
        sim.output.announce_files(format),
    )?;
    if !sim.output.quiet {
        if let Some(warning) = stop_warning(&results) {
            eprint!("{warning}");
        }
        // An automatic warm-up that cut something ran a pilot first: two passes.
        let passes = match &results.warmup_auto {
            Some(a) if a.truncated_batches > 0 => 2.0,
            _ => 1.0,
        };
        eprintln!(
            "simulated {} events in {:.2} s ({:.1} M events/s){}",
            results.engine.events,
            wall.as_secs_f64(),
            passes * results.engine.events as f64 / wall.as_secs_f64().max(1e-9) / 1e6,
            if passes > 1.0 {
                ", plus a pilot run of as many to choose the warm-up"
            } else {
                ""
            }
        );
    }
    Ok(exit::OK)
}

/// What a run that did not end normally should tell the user.
fn stop_warning(r: &report::Results) -> Option<String> {
    match r.stop_reason {
        crate::StopReason::MaxEvents => Some(message::warning(format_args!(
            "stopped at {:.3} s of simulated time after {} events (the scenario's \
             max_events); the figures cover only the time simulated. Raise max_events to \
             run the whole scenario.",
            r.sim_time_s, r.engine.events
        ))),
        crate::StopReason::DrainLimit => Some(message::warning(format_args!(
            "{} requests were still unfinished when the drain after the run ran \
             out; they are counted as failed (simulation_ended).",
            r.requests
                .failed_by
                .get("simulation_ended")
                .copied()
                .unwrap_or(0)
        ))),
        // A run stopped by its memory limit is an error of its own (exit 2).
        crate::StopReason::Completed | crate::StopReason::MemoryLimit => None,
    }
}

/// Where two runs' outputs first differ, if they do: the file and the line.
fn first_difference(a: &report::Results, b: &report::Results) -> Option<String> {
    let [summary, timeseries] = OUTPUT_FILES;
    for (name, x, y) in [
        (summary, a.to_json(), b.to_json()),
        (timeseries, report::csv::render(a), report::csv::render(b)),
    ] {
        if x != y {
            let line = x
                .lines()
                .zip(y.lines())
                .position(|(p, q)| p != q)
                .unwrap_or_else(|| x.lines().count().min(y.lines().count()));
            return Some(format!("{name}, line {}", line + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    /// The check that backs `--check-determinism` finds a difference where there is one.
    #[test]
    fn first_difference_names_the_file_and_line() {
        let text = r#"{"name": "d", "duration_s": 2,
            "workload": {"model": {"open": {"rate_per_s": 100}}, "entry": "api"},
            "components": {"api": {"kind": "service", "machine": {"cores": 1},
                "handlers": {"default": [{"cpu_ms": {"exponential": {"mean_ms": 1}}}]}}}}"#;
        let run = |seed| {
            let mut s = crate::scenario::load(text).expect("valid");
            s.seed = seed;
            crate::run(s, &mut |_| {})
        };
        let (a, b) = (run(1), run(1));
        assert_eq!(super::first_difference(&a, &b), None);
        // Another seed: the first summary line that differs is the seed (line 6).
        assert_eq!(
            super::first_difference(&a, &run(2)).as_deref(),
            Some("summary.json, line 6")
        );
    }
}
