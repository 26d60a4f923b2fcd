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
use crate::report::replications::ReplicationSummary;
use indicatif::ProgressBar;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The extra file a replicated run writes.
pub const OUTPUT_FILE: &str = "replications.json";

pub fn run(
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
    let (seeds, copies) = seeded_copies(&scenario, n);
    let bar = output::progress_bar(
        sim.output.quiet,
        n as u64,
        "{bar:30} {pos}/{len} replications · eta {eta}",
    );
    let started = Instant::now();
    let runs = run_parallel(&copies, threads, per_run_limit, bar.as_ref());
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

/// `scenario` once per seed `seed`, `seed + 1`, …: the seeds and the copies.
pub fn seeded_copies(scenario: &Scenario, n: usize) -> (Vec<u64>, Vec<Scenario>) {
    let seeds: Vec<u64> = (0..n as u64)
        .map(|i| scenario.seed.wrapping_add(i))
        .collect();
    let copies = seeds
        .iter()
        .map(|&seed| Scenario {
            seed,
            ..scenario.clone()
        })
        .collect();
    (seeds, copies)
}

/// `work` on every item, on `threads` threads; results in input order (so they do not depend
/// on the threads when `work` is a pure function of its item).
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = work(item);
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(r);
                    }
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.expect("every item was worked on"))
        .collect()
}

/// Runs every scenario on `threads` threads (each run a pure function of its scenario);
/// results in input order, each with its own wall time. Shared by replications and sweeps.
pub fn run_parallel(
    scenarios: &[Scenario],
    threads: usize,
    memory_limit: Option<u64>,
    bar: Option<&ProgressBar>,
) -> Vec<(Results, Duration)> {
    parallel_map(scenarios, threads, |s| {
        let started = Instant::now();
        let r = crate::run_with_limit(s.clone(), memory_limit, &mut |_| {});
        if let Some(bar) = bar {
            bar.inc(1);
        }
        (r, started.elapsed())
    })
}
