//! `dsim run FILE --replications N`: the scenario with N seeds, run in parallel on all cores,
//! summarised as mean ± 95% confidence interval per headline figure.
//!
//! Results do not depend on the threads: each replication is a pure function of its seed, and
//! they are collected by index, so `replications.json` is byte-identical with 1 or 16 threads.

use crate::cli::output::{Mode, OutDir};
use crate::cli::run::{OUTPUT_FILES, REPORT_FILE, run_files};
use crate::cli::{Failure, RunArgs, exit, memory, output};
use crate::model::Scenario;
use crate::report::Results;
use crate::study::replications::ReplicationSummary;
use crate::study::runner;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The extra file a replicated run writes.
pub(super) const OUTPUT_FILE: &str = "replications.json";

pub(super) fn run(
    args: &RunArgs,
    mut scenario: Scenario,
    scenario_text: &str,
    memory_limit: Option<u64>,
) -> Result<u8, Failure> {
    let sim = &args.sim;
    // Replications without a warm-up of their own choose one (MSER-5), each seed from its
    // own pilot, when the run has the intervals to choose from.
    let intervals = scenario.duration.as_secs() / scenario.interval.as_secs();
    if !scenario.warmup_given && intervals >= f64::from(crate::metrics::warmup::MIN_INTERVALS) {
        scenario.warmup = crate::model::Warmup::Auto;
    }
    let n = args.replications as usize;
    let threads = sim.threads_for(n);
    // Each thread runs one replication at a time, so each gets its share of the memory.
    let per_run_limit = memory_limit.map(|l| l / threads as u64);
    memory::check_estimate(&scenario, per_run_limit, sim.output.quiet)?;
    let [summary_file, timeseries_file] = OUTPUT_FILES;
    let out_dir = OutDir::prepare(
        &sim.output,
        PathBuf::from("output").join(&scenario.name),
        &[summary_file, timeseries_file, REPORT_FILE, OUTPUT_FILE],
    )?;
    let (seeds, copies) = runner::seeded_copies(&scenario, n);
    let bar = output::progress_bar(
        sim.output.quiet,
        n as u64,
        "{bar:30} {pos}/{len} replications · eta {eta}",
    );
    let started = Instant::now();
    // Each run timed on its own thread: their sum over the wall time is the parallelism.
    let runs = runner::parallel_map(&copies, threads, |s| {
        let started = Instant::now();
        let r = crate::run_with_limit(s.clone(), per_run_limit, &mut |_| {});
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        (r, started.elapsed())
    });
    let wall = started.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let thread_time: Duration = runs.iter().map(|(_, d)| *d).sum();
    let runs: Vec<Results> = runs.into_iter().map(|(r, _)| r).collect();
    memory::refuse_if_stopped(&runs, per_run_limit)?;
    output::warn_unfinished(
        sim.output.quiet,
        seeds
            .iter()
            .zip(&runs)
            .map(|(seed, r)| (format!("seed {seed}"), r)),
    );
    let summary = ReplicationSummary::of(&runs, &seeds);
    let json = summary.to_json();
    let format = args.format.format;
    let mut stdout = sim
        .output
        .stdout_text(format, &json, || summary.render_table());
    if out_dir.is_some() && sim.output.announce_files(format) {
        stdout.push_str(&format!(
            "({summary_file}, {timeseries_file}, {REPORT_FILE} and the charts are those of \
             seed {})\n",
            seeds[0]
        ));
    }
    // summary.json, timeseries.csv, report.html and the charts are the first seed's, as a
    // plain run writes them.
    let mut files = vec![(OUTPUT_FILE.to_string(), json.into_bytes())];
    if out_dir.is_some() {
        files.extend(run_files(&runs[0], scenario_text, args.charts.no_charts)?);
    }
    output::deliver(
        stdout,
        out_dir,
        &files,
        Mode::ReplaceSet,
        sim.output.announce_files(format),
    )?;
    if !sim.output.quiet {
        // Thread time over wall time is the parallelism obtained; the speed-up over one
        // thread is lower when the threads slow each other down (shared caches, memory).
        eprintln!(
            "ran {n} replications on {threads} threads in {:.2} s ({:.2} s of simulation in \
             all, {:.2} running at once on average)",
            wall.as_secs_f64(),
            thread_time.as_secs_f64(),
            thread_time.as_secs_f64() / wall.as_secs_f64().max(1e-9)
        );
    }
    Ok(exit::OK)
}
