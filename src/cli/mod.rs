//! The command line: argument parsing, files, the terminal and exit codes. The only layer
//! that touches the outside world (and the only one allowed `anyhow` and the wall clock).

// Progress bars, the interrupt's timeout and the timings on stderr read the wall clock;
// nothing they read reaches a result (`clippy.toml` forbids it everywhere else).
#![allow(clippy::disallowed_methods)]

mod capacity;
mod check;
mod compare;
mod interrupt;
mod memory;
mod merge;
pub mod message;
mod outdir;
mod output;
mod replicate;
mod run;
mod schema;
mod sweep;
mod validate;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, as documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const CHECK_FAILED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const INTERNAL: u8 = 3;
}

/// dsim: simulate a distributed system before you build it.
#[derive(Debug, Parser)]
#[command(name = "dsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a scenario and report latency, throughput, utilisation and failures.
    Run(RunArgs),
    /// Check a scenario file without running it (exit 0 valid, 2 invalid).
    Validate {
        /// Scenario file (JSON).
        file: PathBuf,
    },
    /// Print the JSON Schema of scenario files (for editor autocompletion).
    Schema,
    /// Run a scenario over a grid of parameter values, in parallel, side by side.
    Sweep(sweep::SweepArgs),
    /// Combine the slices of a sharded sweep (`sweep --shard I/N`) into the sweep's outputs.
    Merge(merge::MergeArgs),
    /// Run several scenarios under one seed and show each one's change against the first.
    Compare(compare::CompareArgs),
    /// Run a scenario and hold it to its SLOs (and a baseline): exit 0 pass, 1 fail, 2 bad input.
    Check(check::CheckArgs),
    /// Search the largest load (users or arrival rate) that meets every SLO, with an interval.
    Capacity(capacity::CapacityArgs),
}

/// What a command prints on stdout.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// A table for people.
    Table,
    /// The JSON the command writes (summary.json, sweep.json, …).
    Json,
}

/// `--format` of the commands that print a table or their JSON.
#[derive(Debug, clap::Args)]
pub struct FormatArg {
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `--no-charts` of the commands that draw charts.
#[derive(Debug, clap::Args)]
pub struct ChartArgs {
    /// Draw no charts (no SVG or PNG files; report.html keeps its tables): for scripts that
    /// only read the JSON.
    #[arg(long)]
    pub no_charts: bool,
}

/// Options shared by the commands that simulate (`run`, `sweep`).
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Change a scenario field before running, e.g. `--set workload.model.closed.users=2000`
    /// (dotted path, `[i]` for list items; VALUE is JSON, or a string). Repeatable; checked
    /// like the file.
    #[arg(long, value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Seed for every random stream (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Stop with a clear error (exit 2) if the simulator itself needs more than this much
    /// memory, all parallel runs together [default: 90% of the memory available at the start].
    #[arg(long, value_name = "GB")]
    pub max_memory_gb: Option<f64>,
    /// Threads for replications, sweeps and comparisons [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// Where results go, and whether to print: every command that writes results.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Output folder [default: output/<scenario name>/; NAME-sweep, NAME-check,
    /// NAME-capacity and A-vs-B for the other commands]. dsim replaces its results there
    /// as one set and keeps files it did not write.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write no files.
    #[arg(long, conflicts_with = "out")]
    pub no_write: bool,
    /// Print nothing but errors (with `--format json`, the JSON and errors).
    #[arg(long, short)]
    pub quiet: bool,
}

impl SimArgs {
    /// Threads for `runs` parallel runs: `--threads`, else one per core, never more than runs.
    pub fn threads_for(&self, runs: usize) -> usize {
        match self.threads {
            Some(t) => usize::from(t),
            None => std::thread::available_parallelism().map_or(1, |p| p.get()),
        }
        .min(runs)
        .max(1)
    }
}

impl OutputArgs {
    /// What goes to stdout: the JSON when asked for (even with --quiet), else the table
    /// unless quiet.
    pub fn stdout_text(
        &self,
        format: Format,
        json: &str,
        table: impl FnOnce() -> String,
    ) -> String {
        match format {
            Format::Json => json.to_string(),
            Format::Table if !self.quiet => table(),
            Format::Table => String::new(),
        }
    }

    /// Whether to add a "wrote …" line under the table.
    pub fn announce_files(&self, format: Format) -> bool {
        format == Format::Table && !self.quiet
    }
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (JSON).
    pub file: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub format: FormatArg,
    #[command(flatten)]
    pub charts: ChartArgs,
    /// Run N independent replications (seeds seed, seed+1, …) in parallel and report every
    /// headline figure as mean ± 95% confidence interval (writes replications.json too).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub replications: u32,
    /// Run the scenario a second time and compare summary.json and timeseries.csv byte for
    /// byte; exit 1 if they differ (a dsim bug worth reporting).
    #[arg(long)]
    pub check_determinism: bool,
}

/// A share written `5%` or `0.05`, between `min` and `max` (fractions), for option `option`.
pub(crate) fn parse_share(text: &str, option: &str, min: f64, max: f64) -> Result<f64, Failure> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    };
    match value {
        Ok(v) if v.is_finite() && (min..=max).contains(&v) => Ok(v),
        _ => Err(Failure::bad(format!(
            "{option} takes a share such as 5% or 0.05 ({}% to {}%), got `{text}`",
            min * 100.0,
            max * 100.0
        ))),
    }
}

/// An error on its way to an exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad input or usage: exit 2. The text is complete and printed as is.
    BadInput(String),
    /// Our fault: exit 3.
    Internal(anyhow::Error),
}

impl Failure {
    /// Bad input: `what` went wrong (and its hint lines); exit 2.
    pub(crate) fn bad(what: impl std::fmt::Display) -> Failure {
        Failure::BadInput(message::error(what))
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Internal(e)
    }
}

/// Parses `args` and runs the command; returns the process exit code.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    interrupt::install();
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            if e.use_stderr() {
                check::junit_for_usage_error(&args, &e.render().to_string());
            }
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            });
        }
    };
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Validate { file } => validate::validate(&file),
        Command::Schema => schema::schema(),
        Command::Sweep(args) => sweep::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Capacity(args) => capacity::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure::BadInput(text)) => {
            eprint!("{text}");
            ExitCode::from(exit::BAD_INPUT)
        }
        Err(Failure::Internal(e)) => {
            eprint!("{}", message::internal(format_args!(": {e:#}")));
            ExitCode::from(exit::INTERNAL)
        }
    }
}
