//! `dsim sweep FILE --param PATH=V1,V2,… [--param …]`: the scenario at every point of a grid,
//! run in parallel on all cores, side by side in a table, `sweep.csv` and `sweep.json`.
//!
//! Each point is the file with `--set` overrides, validated like a file; the runs are pure
//! functions of their scenarios and are collected by index, so the outputs do not depend on
//! the thread count.

use crate::cli::output::{Mode, OutDir};
use crate::cli::run::REPORT_FILE;
use crate::cli::{
    ChartArgs, Failure, Format, FormatArg, OutputArgs, SimArgs, exit, memory, output,
};
use crate::model::Scenario;
use crate::report::Results;
use crate::scenario::overrides::Override;
use crate::study::runner;
use crate::study::shard::{IndexedPoint, SHARD_SCHEMA_VERSION, ShardSpec, SweepShard, fingerprint};
use crate::study::sweep::{SweepSummary, grid};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Instant;

/// Most points a sweep may have.
pub(super) use crate::study::shard::MAX_POINTS;
const OUTPUT_FILES: [&str; 2] = ["sweep.json", "sweep.csv"];
/// What a whole sweep (or a merge) writes besides its charts, checked before it runs.
pub(super) const WHOLE_SWEEP_FILES: [&str; 3] = [OUTPUT_FILES[0], OUTPUT_FILES[1], REPORT_FILE];

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario file (JSON).
    pub file: PathBuf,
    /// A swept field and its values, e.g. `--param workload.model.closed.users=20,2000,200000`.
    /// Repeat for a grid (the first varies slowest). Values are JSON or strings.
    #[arg(long = "param", value_name = "PATH=V1,V2,…", required = true)]
    pub params: Vec<String>,
    /// Run only slice I of N of the grid (every N-th point from the I-th) and write it as
    /// sweep-shard-I-of-N.json; `dsim merge` combines the slices into the sweep's outputs.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Run every point with N seeds (seed, seed+1, …) and report means, with 95%
    /// confidence half-widths in the JSON and CSV and as error bars on the charts.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub replications: u32,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub format: FormatArg,
    #[command(flatten)]
    pub charts: ChartArgs,
}

/// `PATH=V1,V2,…` → the path and its values as `--set` texts.
pub(super) fn parse_param(text: &str) -> Result<(String, Vec<String>), Failure> {
    let bad = |why: &str| Failure::bad(format!("--param {text}: {why}"));
    let (path, values) = text
        .split_once('=')
        .ok_or_else(|| bad("expected PATH=V1,V2,…, e.g. workload.model.closed.users=20,2000"))?;
    let values: Vec<&str> = values.split(',').map(str::trim).collect();
    if path.trim().is_empty() || values.iter().any(|v| v.is_empty()) {
        return Err(bad(
            "needs a path and values separated by single commas, none of them empty",
        ));
    }
    let values = values
        .iter()
        .map(|v| format!("{}={v}", path.trim()))
        .collect();
    Ok((path.trim().to_string(), values))
}

/// Refuses grids that are too big (before building them) and paths that would be set twice,
/// where a row would show one value and run another.
pub(super) fn check_params(params: &[(String, Vec<String>)], sim: &SimArgs) -> Result<(), Failure> {
    let bad = |why: String| Err(Failure::bad(why));
    let size = params
        .iter()
        .try_fold(1usize, |n, (_, values)| n.checked_mul(values.len()));
    if size.is_none_or(|n| n > MAX_POINTS) {
        return bad(format!(
            "the grid has more than {MAX_POINTS} points: sweep fewer values"
        ));
    }
    for (i, (path, _)) in params.iter().enumerate() {
        if params[..i].iter().any(|(p, _)| p == path) {
            return bad(format!(
                "--param {path} is given twice: give all its values once"
            ));
        }
        let fixed = sim
            .set
            .iter()
            .any(|s| s.split_once('=').is_some_and(|(p, _)| p.trim() == path));
        if fixed || (path == "seed" && sim.seed.is_some()) {
            return bad(format!(
                "{path} is both swept (--param) and fixed (--set or --seed): drop one"
            ));
        }
    }
    Ok(())
}

/// Most runs (points × replications) one command starts.
const MAX_RUNS: usize = 100_000;

/// Refuses a grid whose runs, with their replications, would be too many.
pub(super) fn check_runs(points: usize, replications: u32) -> Result<(), Failure> {
    if points.saturating_mul(replications as usize) > MAX_RUNS {
        return Err(Failure::bad(format!(
            "{points} points × {replications} replications is more than {MAX_RUNS} \
             runs: sweep fewer values or fewer replications (or cut it with --shard I/N)"
        )));
    }
    Ok(())
}

pub(super) fn run(args: &SweepArgs) -> Result<u8, Failure> {
    let params = args
        .params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<Vec<_>, _>>()?;
    check_params(&params, &args.sim)?;
    let shard = args
        .shard
        .as_deref()
        .map(ShardSpec::parse)
        .transpose()
        .map_err(Failure::bad)?;
    let points = grid(&params);
    let sim = &args.sim;
    let mut scenarios = Vec::with_capacity(points.len());
    for point in &points {
        let sets: Vec<String> = sim.set.iter().chain(point).cloned().collect();
        let mut s = output::load_scenario_with(&args.file, &sets)?;
        if let Some(seed) = sim.seed {
            s.seed = seed;
        }
        scenarios.push(s);
    }
    // Every point was validated above, so every slice refuses the same bad grid.
    let total_points = points.len();
    let owned: Vec<usize> = (0..total_points)
        .filter(|&k| shard.is_none_or(|s| s.owns(k)))
        .collect();
    // The name and seed of the grid's first point head the sweep, in every slice.
    let (name, seed) = (scenarios[0].name.clone(), scenarios[0].seed);
    let points: Vec<Vec<String>> = owned.iter().map(|&k| points[k].clone()).collect();
    let scenarios: Vec<crate::model::Scenario> =
        owned.iter().map(|&k| scenarios[k].clone()).collect();
    // A slice is held to its own runs: cutting is the way past the cap.
    check_runs(points.len(), args.replications)?;
    let threads = sim.threads_for(points.len() * args.replications as usize);
    let memory_limit = memory::limit_bytes(sim.max_memory_gb)?;
    let per_run_limit = memory_limit.map(|l| l / threads as u64);
    for s in &scenarios {
        memory::check_estimate(s, per_run_limit, true)?;
    }
    let default_dir = PathBuf::from("output").join(format!("{name}-sweep"));
    let shard_file = shard.map(ShardSpec::file_name);
    let out_dir = match &shard_file {
        Some(name) => OutDir::prepare(&sim.output, default_dir, &[name.as_str()])?,
        None => OutDir::prepare(&sim.output, default_dir, &WHOLE_SWEEP_FILES)?,
    };
    let started = Instant::now();
    let labels: Vec<String> = points.iter().map(|p| p.join(" ")).collect();
    let runs = run_replicated(
        &scenarios,
        &labels,
        args.replications,
        threads,
        per_run_limit,
        sim.output.quiet,
    )?;
    let paths: Vec<String> = params.iter().map(|(p, _)| p.clone()).collect();
    let table_points: Vec<(Vec<Value>, Vec<Results>)> = points
        .iter()
        .zip(runs)
        .map(|(point, r)| {
            let values = point
                .iter()
                .map(|set| Override::parse(set).map_or(Value::Null, |o| o.value))
                .collect();
            (values, r)
        })
        .collect();
    let summary = SweepSummary::of(&name, seed, &paths, table_points);
    match (shard, shard_file) {
        (Some(spec), Some(name)) => {
            let slice = SweepShard {
                schema_version: SHARD_SCHEMA_VERSION,
                dsim_version: summary.dsim_version.clone(),
                sweep_id: sweep_id(args, seed)?,
                shard: spec.index,
                shards: spec.count,
                total_points,
                scenario: summary.scenario.clone(),
                seed: summary.seed,
                params: summary.params.clone(),
                points: owned
                    .iter()
                    .zip(&summary.points)
                    .map(|(&index, p)| IndexedPoint {
                        index,
                        point: p.clone(),
                    })
                    .collect(),
            };
            let json = slice.to_json();
            let stdout = sim
                .output
                .stdout_text(args.format.format, &json, || summary.render_table());
            output::deliver(
                stdout,
                out_dir,
                &[(name, json)],
                Mode::Add,
                sim.output.announce_files(args.format.format),
            )?;
        }
        _ => deliver(
            &summary,
            out_dir,
            &sim.output,
            args.format.format,
            args.charts.no_charts,
        )?,
    }
    if !sim.output.quiet {
        let seeds = match args.replications {
            1 => String::new(),
            n => format!(" × {n} seeds"),
        };
        eprintln!(
            "ran {} points{seeds} on {threads} threads in {:.2} s",
            points.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(exit::OK)
}

/// Runs every scenario with `replications` seeds each (seed, seed + 1, …), all in parallel,
/// and returns each scenario's runs in seed order. Refuses (exit 2) runs that outgrew the
/// memory, and warns about runs that stopped early, by `labels`.
pub(super) fn run_replicated(
    scenarios: &[Scenario],
    labels: &[String],
    replications: u32,
    threads: usize,
    per_run_limit: Option<u64>,
    quiet: bool,
) -> Result<Vec<Vec<Results>>, Failure> {
    let n = replications as usize;
    let copies: Vec<Scenario> = scenarios
        .iter()
        .flat_map(|s| runner::seeded_copies(s, n).1)
        .collect();
    let bar = output::progress_bar(
        quiet || copies.len() < 4,
        copies.len() as u64,
        "{bar:30} {pos}/{len} runs · eta {eta}",
    );
    let tick = || {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    };
    let runs: Vec<Results> = runner::run_parallel(&copies, threads, per_run_limit, &tick);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    memory::refuse_if_stopped(&runs, per_run_limit)?;
    output::warn_unfinished(
        quiet,
        copies.iter().zip(&runs).enumerate().map(|(i, (s, r))| {
            let label = &labels[i / n];
            let label = if n > 1 {
                format!("{label} seed {}", s.seed)
            } else {
                label.clone()
            };
            (label, r)
        }),
    );
    let mut runs = runs.into_iter();
    Ok((0..scenarios.len())
        .map(|_| runs.by_ref().take(n).collect())
        .collect())
}

/// Prints a whole sweep (table or JSON) and writes sweep.json, sweep.csv, report.html and
/// its charts (shared with `dsim merge`).
pub(super) fn deliver(
    summary: &SweepSummary,
    out_dir: Option<OutDir>,
    how: &OutputArgs,
    format: Format,
    no_charts: bool,
) -> Result<(), Failure> {
    let json = summary.to_json();
    let stdout = how.stdout_text(format, &json, || summary.render_table());
    let [json_file, csv_file] = OUTPUT_FILES;
    let mut files = vec![
        (json_file.to_string(), json.into_bytes()),
        (csv_file.to_string(), summary.to_csv().into_bytes()),
    ];
    if out_dir.is_some() {
        files.extend(page_and_chart_files(summary, Some(0), no_charts)?);
    }
    output::deliver(
        stdout,
        out_dir,
        &files,
        Mode::ReplaceSet,
        how.announce_files(format),
    )?;
    Ok(())
}

/// The fingerprint that slices of one sweep share: the scenario's text, the overrides, the
/// swept values, the seed, the replications and the dsim version (not the file's path, which may differ
/// between the machines that run the slices).
fn sweep_id(args: &SweepArgs, seed: u64) -> Result<String, Failure> {
    let text = output::read_text(&args.file)?;
    // Each item its own part, each list led by its length, so no two sweeps share a text.
    let (n_sets, n_params) = (
        args.sim.set.len().to_string(),
        args.params.len().to_string(),
    );
    let (seed, replications) = (seed.to_string(), args.replications.to_string());
    let mut parts: Vec<&str> = vec![env!("CARGO_PKG_VERSION"), &text, &n_sets];
    parts.extend(args.sim.set.iter().map(String::as_str));
    parts.push(&n_params);
    parts.extend(args.params.iter().map(String::as_str));
    parts.extend([seed.as_str(), replications.as_str()]);
    Ok(fingerprint(&parts))
}

/// The page and charts of a sweep or comparison: report.html, and unless `no_charts` or
/// `x_param` is `None`, the knee charts against parameter `x_param` as SVG and PNG.
pub(super) fn page_and_chart_files(
    summary: &SweepSummary,
    x_param: Option<usize>,
    no_charts: bool,
) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let charts = match x_param {
        Some(x) if !no_charts => crate::report::charts::knee_charts(summary, x),
        _ => Vec::new(),
    };
    let drawn = crate::report::charts::render(&charts)
        .map_err(|e| Failure::Internal(anyhow::anyhow!(e)))?;
    let page = crate::report::html::render_sweep(summary, &drawn.inline);
    let mut files = vec![(REPORT_FILE.to_string(), page.into_bytes())];
    files.extend(drawn.files);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_every_combination_first_parameter_slowest() {
        let params = vec![
            parse_param("a=1,2").unwrap_or_else(|_| panic!("valid")),
            parse_param("b=x, y").unwrap_or_else(|_| panic!("valid")),
        ];
        assert_eq!(
            grid(&params),
            vec![
                vec!["a=1", "b=x"],
                vec!["a=1", "b=y"],
                vec!["a=2", "b=x"],
                vec!["a=2", "b=y"]
            ]
        );
        assert!(parse_param("a").is_err());
        assert!(parse_param("a=").is_err());
    }
}
