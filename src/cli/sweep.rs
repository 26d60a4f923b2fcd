//! `dsim sweep FILE --param PATH=V1,V2,… [--param …]`: the scenario at every point of a grid,
//! run in parallel on all cores, side by side in a table, `sweep.csv` and `sweep.json`.
//!
//! Each point is the file with `--set` overrides, validated like a file; the runs are pure
//! functions of their scenarios and are collected by index, so the outputs do not depend on
//! the thread count.

use crate::cli::output::OutDir;
use crate::cli::{Failure, SimArgs, exit, memory, output, replicate};
use crate::report::sweep::SweepSummary;
use crate::scenario::overrides::Override;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Instant;

/// Most points a sweep may have.
pub(super) const MAX_POINTS: usize = 10_000;
const OUTPUT_FILES: [&str; 2] = ["sweep.json", "sweep.csv"];

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario file (JSON).
    pub file: PathBuf,
    /// A swept field and its values, e.g. `--param workload.model.closed.users=20,2000,200000`.
    /// Repeat for a grid (the first varies slowest). Values are JSON or strings.
    #[arg(long = "param", value_name = "PATH=V1,V2,…", required = true)]
    pub params: Vec<String>,
    #[command(flatten)]
    pub sim: SimArgs,
}

/// `PATH=V1,V2,…` → the path and its values as `--set` texts.
pub(super) fn parse_param(text: &str) -> Result<(String, Vec<String>), Failure> {
    let bad = |why: &str| Failure::BadInput(format!("error: --param {text}: {why}\n"));
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
    let bad = |why: String| Err(Failure::BadInput(format!("error: {why}\n")));
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

/// Every combination, the first parameter varying slowest.
pub(super) fn grid(params: &[(String, Vec<String>)]) -> Vec<Vec<String>> {
    params.iter().fold(vec![Vec::new()], |acc, (_, values)| {
        acc.iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect()
    })
}

pub fn run(args: &SweepArgs) -> Result<u8, Failure> {
    args.sim.no_markdown("sweep")?;
    let params = args
        .params
        .iter()
        .map(|p| parse_param(p))
        .collect::<Result<Vec<_>, _>>()?;
    check_params(&params, &args.sim)?;
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
    let threads = sim.threads_for(points.len());
    let memory_limit = memory::limit_bytes(sim.max_memory_gb)?;
    let per_run_limit = memory_limit.map(|l| l / threads as u64);
    for s in &scenarios {
        memory::check_estimate(s, per_run_limit, true)?;
    }
    let first = &scenarios[0];
    let default_dir = PathBuf::from("output").join(format!("{}-sweep", first.name));
    let out_dir = OutDir::prepare(sim, default_dir, &OUTPUT_FILES)?;
    let bar = output::progress_bar(
        sim.quiet,
        points.len() as u64,
        "{bar:30} {pos}/{len} points · eta {eta}",
    );
    let started = Instant::now();
    let runs = replicate::run_parallel(&scenarios, threads, per_run_limit, bar.as_ref());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    memory::refuse_if_stopped(runs.iter().map(|(r, _)| r), out_dir.as_ref(), per_run_limit)?;
    output::warn_unfinished(
        sim.quiet,
        points
            .iter()
            .zip(&runs)
            .map(|(point, (r, _))| (point.join(" "), r)),
    );
    let paths: Vec<String> = params.iter().map(|(p, _)| p.clone()).collect();
    let table_points: Vec<(Vec<Value>, crate::report::Results)> = points
        .iter()
        .zip(runs)
        .map(|(point, (r, _))| {
            let values = point
                .iter()
                .map(|set| Override::parse(set).map_or(Value::Null, |o| o.value))
                .collect();
            (values, r)
        })
        .collect();
    let summary = SweepSummary::of(&first.name, first.seed, &paths, &table_points);
    let json = summary.to_json();
    let stdout = sim.stdout_text(&json, || summary.render_table());
    let [json_file, csv_file] = OUTPUT_FILES;
    let mut files = vec![
        (json_file.to_string(), json.into_bytes()),
        (csv_file.to_string(), summary.to_csv().into_bytes()),
    ];
    if out_dir.is_some() && !sim.no_charts {
        files.extend(knee_chart_files(&summary, 0)?);
    }
    output::deliver(stdout, out_dir.as_ref(), &files, sim.announce_files())?;
    if !sim.quiet {
        eprintln!(
            "ran {} points on {threads} threads in {:.2} s",
            points.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(exit::OK)
}

/// The knee charts of a sweep or comparison, against parameter `x_param`, as SVG and PNG.
pub(super) fn knee_chart_files(
    summary: &SweepSummary,
    x_param: usize,
) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let charts = crate::report::charts::knee_charts(summary, x_param);
    crate::report::charts::render_files(&charts, "")
        .map_err(|e| Failure::Internal(anyhow::anyhow!(e)))
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
