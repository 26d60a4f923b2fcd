//! `dsim compare A.json B.json …`: scenarios side by side under one seed (common random
//! numbers: every component draws from the stream of its own name, so components the designs
//! share see the same draws), run in parallel, with each one's change against the first.
//! With `--param PATH=V1,V2,…` every scenario runs at every value, and the knee charts put
//! one line per scenario against the first parameter.

use crate::cli::output::{Mode, OutDir};
use crate::cli::{ChartArgs, Failure, FormatArg, SimArgs, exit, memory, output, sweep};
use crate::scenario::overrides::Override;
use crate::study::sweep::SweepSummary;
use serde_json::Value;
use std::path::PathBuf;

const OUTPUT_FILE: &str = "compare.json";
const CSV_FILE: &str = "compare.csv";

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Scenario files (JSON), two or more; the first is the baseline.
    #[arg(required = true, num_args = 2..)]
    pub files: Vec<PathBuf>,
    /// Run every scenario at each value, e.g. `--param workload.model.closed.users=20,2000`;
    /// repeat for a grid. The first is the charts' x axis.
    #[arg(long = "param", value_name = "PATH=V1,V2,…")]
    pub params: Vec<String>,
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

pub(super) fn run(args: &CompareArgs) -> Result<u8, Failure> {
    let sim = &args.sim;
    let params = args
        .params
        .iter()
        .map(|p| sweep::parse_param(p))
        .collect::<Result<Vec<_>, _>>()?;
    sweep::check_params(&params, sim)?;
    if params.iter().any(|(path, _)| path == "seed") {
        return Err(Failure::bad(
            "dsim compare runs every design on the same seeds (common random numbers), so it \
             cannot sweep seed: use --replications N for N seeds",
        ));
    }
    let grid = crate::study::sweep::grid(&params);
    if grid.len() * args.files.len() > sweep::MAX_POINTS {
        return Err(Failure::bad(format!(
            "{} scenarios × {} values is more than {} runs: compare fewer",
            args.files.len(),
            grid.len(),
            sweep::MAX_POINTS
        )));
    }
    sweep::check_runs(grid.len() * args.files.len(), args.replications)?;
    // Scenario by scenario, each at every grid point (one empty point without --param).
    let mut scenarios = Vec::with_capacity(args.files.len() * grid.len());
    let mut labels: Vec<(usize, &Vec<String>)> = Vec::new();
    for (f, file) in args.files.iter().enumerate() {
        for point in &grid {
            let sets: Vec<String> = sim.set.iter().chain(point).cloned().collect();
            scenarios.push(output::load_scenario_with(file, &sets)?);
            labels.push((f, point));
        }
    }
    // One seed for all: `--seed`, else the first scenario's; one goodput yardstick for all:
    // the first's (its p99 objective, else its timeout).
    let seed = sim.seed.unwrap_or(scenarios[0].seed);
    let good_within = scenarios[0].goodput_within();
    for s in &mut scenarios {
        s.seed = seed;
        s.goodput_limit = Some(good_within);
    }
    let firsts: Vec<&crate::model::Scenario> = scenarios.iter().step_by(grid.len()).collect();
    let file_names: Vec<String> = firsts
        .iter()
        .zip(&args.files)
        .map(|(s, file)| {
            let twins = firsts.iter().filter(|o| o.name == s.name).count();
            if twins > 1 {
                file.display().to_string()
            } else {
                s.name.clone()
            }
        })
        .collect();
    let names: Vec<String> = labels
        .iter()
        .map(|(f, point)| {
            std::iter::once(file_names[*f].clone())
                .chain(point.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let threads = sim.threads_for(scenarios.len() * args.replications as usize);
    let memory_limit = memory::limit_bytes(sim.max_memory_gb)?;
    let per_run_limit = memory_limit.map(|l| l / threads as u64);
    for s in &scenarios {
        memory::check_estimate(s, per_run_limit, true)?;
    }
    let folder = format!("{}-vs-{}", firsts[0].name, firsts[1].name);
    let out_dir = OutDir::prepare(
        &sim.output,
        PathBuf::from("output").join(folder),
        &[OUTPUT_FILE, CSV_FILE, crate::cli::run::REPORT_FILE],
    )?;
    let runs = sweep::run_replicated(
        &scenarios,
        &names,
        args.replications,
        threads,
        per_run_limit,
        sim.output.quiet,
    )?;
    let points: Vec<(Vec<Value>, Vec<crate::report::Results>)> = labels
        .iter()
        .zip(runs)
        .map(|((f, point), r)| {
            let values = std::iter::once(Value::String(file_names[*f].clone()))
                .chain(
                    point
                        .iter()
                        .map(|set| Override::parse(set).map_or(Value::Null, |o| o.value)),
                )
                .collect();
            (values, r)
        })
        .collect();
    let paths: Vec<String> = std::iter::once("scenario".to_string())
        .chain(params.iter().map(|(p, _)| p.clone()))
        .collect();
    let title = if file_names.len() > 3 {
        format!("{} designs", file_names.len())
    } else {
        file_names.join(" vs ")
    };
    let summary = SweepSummary::of(&title, seed, &paths, points);
    let json = summary.to_json();
    let format = args.format.format;
    let stdout = sim.output.stdout_text(format, &json, || {
        if params.is_empty() {
            crate::report::compare::render_table(&summary)
        } else {
            crate::report::compare::render_grid_table(&summary)
        }
    });
    let mut files = vec![
        (OUTPUT_FILE.to_string(), json.into_bytes()),
        (CSV_FILE.to_string(), summary.to_csv().into_bytes()),
    ];
    if out_dir.is_some() {
        let x_param = (!params.is_empty()).then_some(1);
        files.extend(sweep::page_and_chart_files(
            &summary,
            x_param,
            args.charts.no_charts,
        )?);
    }
    output::deliver(
        stdout,
        out_dir,
        &files,
        Mode::ReplaceSet,
        sim.output.announce_files(format),
    )?;
    Ok(exit::OK)
}
