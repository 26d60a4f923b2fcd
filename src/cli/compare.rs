//! `dsim compare A.json B.json …`: scenarios side by side under one seed (common random
//! numbers: every component draws from the stream of its own name, so components the designs
//! share see the same draws), run in parallel, with each one's change against the first.

use crate::cli::output::OutDir;
use crate::cli::{Failure, SimArgs, exit, memory, output, replicate};
use crate::report::sweep::SweepSummary;
use serde_json::Value;
use std::path::PathBuf;

const OUTPUT_FILE: &str = "compare.json";

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Scenario files (JSON), two or more; the first is the baseline.
    #[arg(required = true, num_args = 2..)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub sim: SimArgs,
}

pub fn run(args: &CompareArgs) -> Result<u8, Failure> {
    let sim = &args.sim;
    sim.no_markdown("compare")?;
    let mut scenarios = Vec::with_capacity(args.files.len());
    for file in &args.files {
        scenarios.push(output::load_scenario_with(file, &sim.set)?);
    }
    // One seed for all: `--seed`, else the first scenario's.
    let seed = sim.seed.unwrap_or(scenarios[0].seed);
    for s in &mut scenarios {
        s.seed = seed;
    }
    let names: Vec<String> = scenarios
        .iter()
        .zip(&args.files)
        .map(|(s, file)| {
            let twins = scenarios.iter().filter(|o| o.name == s.name).count();
            if twins > 1 {
                file.display().to_string()
            } else {
                s.name.clone()
            }
        })
        .collect();
    let threads = sim.threads_for(scenarios.len());
    let memory_limit = memory::limit_bytes(sim.max_memory_gb)?;
    let per_run_limit = memory_limit.map(|l| l / threads as u64);
    for s in &scenarios {
        memory::check_estimate(s, per_run_limit, true)?;
    }
    let folder = format!("{}-vs-{}", scenarios[0].name, scenarios[1].name);
    let out_dir = OutDir::prepare(sim, PathBuf::from("output").join(folder), &[OUTPUT_FILE])?;
    let runs = replicate::run_parallel(&scenarios, threads, per_run_limit, None);
    memory::refuse_if_stopped(runs.iter().map(|(r, _)| r), out_dir.as_ref(), per_run_limit)?;
    output::warn_unfinished(
        sim.quiet,
        names.iter().zip(&runs).map(|(n, (r, _))| (n.clone(), r)),
    );
    let points: Vec<(Vec<Value>, crate::report::Results)> = names
        .iter()
        .zip(runs)
        .map(|(name, (r, _))| (vec![Value::String(name.clone())], r))
        .collect();
    let summary = SweepSummary::of("comparison", seed, &["scenario".to_string()], &points);
    let json = summary.to_json();
    let stdout = sim.stdout_text(&json, || crate::report::compare::render_table(&summary));
    output::deliver(
        stdout,
        out_dir.as_ref(),
        &[(OUTPUT_FILE, json)],
        sim.announce_files(),
    )?;
    Ok(exit::OK)
}
