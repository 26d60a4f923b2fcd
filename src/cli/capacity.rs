//! `dsim capacity FILE`: the largest load meeting every objective, searched once per seed in
//! parallel (bracketing, then bisection), reported as a mean with a 95 % interval over the
//! seeds, with the bottleneck and cost at that load.

use crate::capacity::{self, Axis, Found};
use crate::cli::output::{Mode, OutDir};
use crate::cli::run::OUTPUT_FILES;
use crate::cli::{Failure, Format, SimArgs, exit, memory, output, parse_share, replicate};
use crate::metrics::confidence::Interval;
use crate::model::slo::{Slo, SloMetric};
use crate::report::{self, round};
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;

const OUTPUT_FILE: &str = "capacity.json";

#[derive(Debug, clap::Args)]
pub struct CapacityArgs {
    /// Scenario file (JSON); its load (closed users or open rate) is the starting point.
    pub file: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// An objective, e.g. `p99_ms<200`, `error_rate<0.001`, `availability>0.999`,
    /// `throughput_rps_min>1000`. Repeatable. Default: the scenario's `slos`.
    #[arg(long, value_name = "OBJECTIVE")]
    pub slo: Vec<String>,
    /// Independent searches (seeds seed, seed + 1, …) behind the interval.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=100))]
    pub seeds: u32,
    /// Stop bisecting once the bracket is this close, as a share of the load.
    #[arg(long, default_value = "2%")]
    pub precision: String,
}

const METRICS: [SloMetric; 10] = [
    SloMetric::MeanMs,
    SloMetric::P50Ms,
    SloMetric::P90Ms,
    SloMetric::P99Ms,
    SloMetric::P999Ms,
    SloMetric::ErrorRate,
    SloMetric::Availability,
    SloMetric::ThroughputRps,
    SloMetric::TimeToRecoverS,
    SloMetric::WritesLost,
];

/// `p99_ms<200` (ceilings take `<`, floors `>`; `<=`/`>=` are accepted too).
fn parse_slo(text: &str) -> Result<Slo, Failure> {
    let bad = |why: String| {
        let names: Vec<&str> = METRICS.iter().map(|m| m.name()).collect();
        Failure::BadInput(format!(
            "error: --slo `{text}`: {why} (write e.g. p99_ms<200 or availability>0.999; figures: {})\n",
            names.join(", ")
        ))
    };
    let (name, rest, floor) = match (text.find('<'), text.find('>')) {
        (Some(i), None) => (&text[..i], &text[i + 1..], false),
        (None, Some(i)) => (&text[..i], &text[i + 1..], true),
        _ => return Err(bad("needs one `<` or `>`".into())),
    };
    let value = rest.trim_start_matches('=').trim();
    let metric = METRICS
        .iter()
        .copied()
        .find(|m| m.name() == name.trim())
        .ok_or_else(|| bad(format!("no figure named `{}`", name.trim())))?;
    if metric.is_floor() != floor {
        let sign = if metric.is_floor() { '>' } else { '<' };
        return Err(bad(format!("`{}` takes `{sign}`", metric.name())));
    }
    let limit: f64 = value
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| bad(format!("`{value}` is not a number ≥ 0")))?;
    Ok(Slo {
        class: None,
        metric,
        limit,
    })
}

fn parse_precision(text: &str) -> Result<f64, Failure> {
    parse_share(text, "--precision", 0.001, 0.5)
}

pub fn run(args: &CapacityArgs) -> Result<u8, Failure> {
    let sim = &args.sim;
    sim.output.no_markdown("capacity")?;
    let mut scenario = output::load_scenario_with(&args.file, &sim.set)?;
    if let Some(seed) = sim.seed {
        scenario.seed = seed;
    }
    let slos: Vec<Slo> = if args.slo.is_empty() {
        scenario.slos.clone()
    } else {
        args.slo
            .iter()
            .map(|s| parse_slo(s))
            .collect::<Result<_, _>>()?
    };
    if slos.is_empty() {
        return Err(Failure::BadInput(format!(
            "error: {}: no objective to search for: give --slo p99_ms<200 (repeatable) or add \
             \"slos\" to the scenario\n",
            args.file.display()
        )));
    }
    let precision = parse_precision(&args.precision)?;
    let n = args.seeds as usize;
    let threads = sim.threads_for(n);
    let per_run_limit = memory::limit_bytes(sim.max_memory_gb)?.map(|l| l / threads as u64);
    let out_dir = OutDir::prepare(
        &sim.output,
        PathBuf::from("output").join(format!("{}-capacity", scenario.name)),
        &[OUTPUT_FILE, OUTPUT_FILES[0], OUTPUT_FILES[1]],
    )?;
    let axis = Axis::of(&scenario);
    let (_, copies) = replicate::seeded_copies(&scenario, n);
    if !sim.output.quiet {
        eprintln!(
            "searching {} for the largest load meeting {} objective(s), {n} seeds on {threads} threads…",
            axis.name(),
            slos.len()
        );
    }
    let found = replicate::parallel_map(&copies, threads, |s| {
        capacity::search(s, &slos, precision, per_run_limit)
    });
    let loads: Vec<f64> = found.iter().map(|f| f.load).collect();
    let interval = Interval::of(&loads);
    // The design at its capacity (first seed): what runs out there, and what it costs.
    let at = crate::run_with_limit(
        axis.with_load(&scenario, interval.mean),
        per_run_limit,
        &mut |_| {},
    );
    let doc = json!({
        "scenario": scenario.name,
        "seed": scenario.seed,
        "axis": axis.name(),
        "objectives": slos.iter().map(|s| format!("{} {} {}", s.metric.name(),
            if s.metric.is_floor() { "≥" } else { "≤" }, s.limit)).collect::<Vec<_>>(),
        "precision": precision,
        "capacity": {
            "mean": round(interval.mean, 3),
            "ci95": round(interval.half_width_95, 3),
            "min": round(interval.min, 3),
            "max": round(interval.max, 3),
            "per_seed": loads.iter().map(|l| round(*l, 3)).collect::<Vec<_>>(),
            "fails_at_per_seed": found.iter().map(|f| f.fails_at().map(|x| round(x, 3))).collect::<Vec<_>>(),
            "at_least": found.iter().any(|f| f.unbounded),
        },
        "runs": found.iter().map(|f| f.probes.len()).sum::<usize>(),
        "at_capacity": {
            "throughput_rps": at.throughput_rps,
            "latency_ms": at.latency_ms,
            "error_rate": at.error_rate,
            "bottleneck": at.bottleneck,
            "cost_per_hour": at.cost_per_hour,
        },
    });
    let mut json_text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    json_text.push('\n');
    let stdout = match sim.output.format {
        Format::Json => json_text.clone(),
        _ if sim.output.quiet => String::new(),
        _ => render(&scenario.name, axis, &slos, &interval, &found, &at),
    };
    output::deliver(
        stdout,
        out_dir,
        &[
            (OUTPUT_FILE, json_text),
            (OUTPUT_FILES[0], at.to_json()),
            (OUTPUT_FILES[1], report::csv::render(&at)),
        ],
        Mode::ReplaceSet,
        sim.output.announce_files(),
    )?;
    Ok(exit::OK)
}

fn render(
    name: &str,
    axis: Axis,
    slos: &[Slo],
    i: &Interval,
    found: &[Found],
    at: &report::Results,
) -> String {
    let mut out = String::new();
    let objectives: Vec<String> = slos
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s.metric.name(),
                if s.metric.is_floor() { "≥" } else { "≤" },
                s.limit
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "capacity of {} · {} · {} seeds",
        report::table::fit(name, 40),
        axis.name(),
        found.len()
    );
    let _ = writeln!(out, "objectives: {}", objectives.join(", "));
    let unit = match axis {
        Axis::Users => "users",
        Axis::RatePerS => "requests/s",
    };
    let at_least = if found.iter().any(|f| f.unbounded) {
        "at least "
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "capacity: {at_least}{:.0} {unit} ± {:.0} (95% CI over seeds: {:.0} to {:.0})",
        i.mean, i.half_width_95, i.min, i.max
    );
    // The seeds' spread says nothing finer than the search's own steps.
    let step = found
        .iter()
        .filter_map(|f| f.fails_at().map(|x| x - f.load))
        .max_by(f64::total_cmp);
    if let Some(step) = step {
        let _ = writeln!(
            out,
            "each seed: the largest load that held; the next tried (≤ {step:.0} more) failed"
        );
    }
    let _ = writeln!(
        out,
        "one run at {:.0} (seed {}): {:.1} req/s · p99 {:.1} ms · errors {:.3}% · {:.2}/h",
        i.mean,
        at.seed,
        at.throughput_rps,
        at.latency_ms.p99,
        at.error_rate * 100.0,
        at.cost_per_hour
    );
    match &at.bottleneck {
        Some(b) => {
            let _ = writeln!(
                out,
                "bottleneck at capacity: {} ({} {:.0}%)",
                b.component,
                b.resource,
                b.utilisation * 100.0
            );
        }
        None => {
            let _ = writeln!(out, "bottleneck at capacity: none measured");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_with_their_direction() {
        let s = parse_slo("p99_ms<200").ok().unwrap();
        assert_eq!((s.metric, s.limit), (SloMetric::P99Ms, 200.0));
        assert!(parse_slo("availability>=0.999").is_ok());
        assert!(parse_slo("p99_ms>200").is_err(), "a ceiling takes <");
        assert!(parse_slo("p98_ms<200").is_err());
        assert!(parse_slo("p99_ms<fast").is_err());
    }
}
