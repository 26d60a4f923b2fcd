//! `dsim capacity FILE`: the largest load meeting every objective, searched once per seed in
//! parallel (bracketing, then bisection), reported as a mean with a 95 % interval over the
//! seeds, with the bottleneck and cost at that load.

use crate::cli::message;
use crate::cli::output::{Mode, OutDir};
use crate::cli::run::OUTPUT_FILES;
use crate::cli::{Failure, Format, FormatArg, SimArgs, exit, memory, output, parse_share};
use crate::model::slo::{Slo, SloMetric};
use crate::report::capacity::{load_text, objective_text};
use crate::report::{self, round};
use crate::study::capacity::{self, Axis, CAPACITY_SCHEMA_VERSION, Estimate, objective_json};
use crate::study::runner;
use serde_json::json;
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
    /// Independent searches, one per seed (seed, seed + 1, …), behind the interval.
    #[arg(long, visible_alias = "seeds", value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(2..=100))]
    pub replications: u32,
    #[command(flatten)]
    pub format: FormatArg,
    /// Stop bisecting once the bracket is this close, as a share of the load.
    #[arg(long, default_value = "2%")]
    pub precision: String,
}

const METRICS: [SloMetric; 13] = [
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
    SloMetric::MaxQueueAgeS,
    SloMetric::MaxQueueDepth,
    SloMetric::CostPerHour,
];

/// `p99_ms<200` (ceilings take `<`, floors `>`; `<=`/`>=` are accepted too).
fn parse_slo(text: &str) -> Result<Slo, Failure> {
    let bad = |why: String| {
        let names: Vec<&str> = METRICS.iter().map(|m| m.name()).collect();
        Failure::bad(format!(
            "--slo `{text}`: {why} (write e.g. p99_ms<200 or availability>0.999; figures: {})",
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

pub(super) fn run(args: &CapacityArgs) -> Result<u8, Failure> {
    let sim = &args.sim;
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
        return Err(Failure::bad(format!(
            "{}: no objective to search for: give --slo p99_ms<200 (repeatable) or add \
             \"slos\" to the scenario",
            args.file.display()
        )));
    }
    let has_queue = scenario
        .components
        .iter()
        .any(|c| matches!(c.kind, crate::model::ComponentKind::Queue(_)));
    let queue_objective = slos.iter().find(|s| s.metric.about_queues());
    if let Some(o) = queue_objective
        && !has_queue
    {
        return Err(Failure::bad(format!(
            "{}: --slo {}: the scenario has no queue (drop that objective)",
            args.file.display(),
            o.metric.name()
        )));
    }
    let age_objective = queue_objective.is_some();
    if has_queue && !age_objective && !sim.output.quiet {
        eprintln!(
            "note: the objectives are about the users' requests; a queue's backlog can grow \
             without them failing: add --slo max_queue_age_s<30 to hold the consumers to \
             keeping up"
        );
    }
    let precision = parse_precision(&args.precision)?;
    let n = args.replications as usize;
    let threads = sim.threads_for(n);
    let per_run_limit = memory::limit_bytes(sim.max_memory_gb)?.map(|l| l / threads as u64);
    let out_dir = OutDir::prepare(
        &sim.output,
        PathBuf::from("output").join(format!("{}-capacity", scenario.name)),
        &[OUTPUT_FILE, OUTPUT_FILES[0], OUTPUT_FILES[1]],
    )?;
    let axis = Axis::of(&scenario);
    let (_, copies) = runner::seeded_copies(&scenario, n);
    if !sim.output.quiet {
        eprintln!(
            "searching {} for the largest load meeting {} objective(s), {n} seeds on {threads} threads…",
            axis.name(),
            slos.len()
        );
    }
    // About this many runs per seed: doubling a few times, then bisecting to the precision.
    let per_seed = 4 + (1.0 / precision).log2().ceil() as u64;
    let bar = output::progress_bar(
        sim.output.quiet,
        per_seed * n as u64,
        "{bar:30} {pos}/{len} runs · {msg} · eta {eta}",
    );
    let on_probe = |p: capacity::Probe| {
        if let Some(bar) = &bar {
            if bar.position() + 1 >= bar.length().unwrap_or(0) {
                bar.inc_length(1);
            }
            bar.inc(1);
            let verdict = if p.holds { "held" } else { "failed" };
            bar.set_message(format!("{} {verdict}", load_text(axis, p.load)));
        }
    };
    let found = runner::parallel_map(&copies, threads, |s| {
        capacity::search(s, &slos, precision, per_run_limit, &on_probe)
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let runs: usize = found.iter().map(|f| f.probes.len()).sum();
    let mut doc = json!({
        "schema_version": CAPACITY_SCHEMA_VERSION,
        "dsim_version": env!("CARGO_PKG_VERSION"),
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": n,
        "axis": axis.name(),
        "objectives": slos.iter().map(objective_json).collect::<Vec<_>>(),
        "precision": precision,
        "runs": runs,
    });
    if found.iter().all(|f| !f.any_held()) {
        let first = &copies[0];
        let smallest = found[0].smallest_tried().unwrap_or(1.0);
        return no_load_meets(args, doc, out_dir, first, &slos, smallest, per_run_limit);
    }
    let missed = found.iter().filter(|f| !f.any_held()).count();
    if missed > 0 && !sim.output.quiet {
        message::warn(format_args!(
            "{missed} of {n} seeds found no load meeting the objectives (down to the smallest \
             tried); they count as 0 in the interval"
        ));
    }
    let estimate = Estimate::of(&found);
    let i = &estimate.interval;
    let half = estimate.half_width();
    // The design at its capacity (first seed): what runs out there, and what it costs.
    let at = crate::run_with_limit(
        axis.with_load(&scenario, i.mean),
        per_run_limit,
        &mut |_| {},
    );
    doc["capacity"] = json!({
        "mean": round(i.mean, 3),
        "ci95": round(half, 3),
        "low": round((i.mean - half).max(0.0), 3),
        "high": round(i.mean + half, 3),
        "seeds_ci95": round(i.half_width_95, 3),
        "search_resolution": round(estimate.resolution, 3),
        "per_seed": found.iter().map(|f| round(f.load, 3)).collect::<Vec<_>>(),
        "fails_at_per_seed": found.iter().map(|f| f.fails_at().map(|x| round(x, 3))).collect::<Vec<_>>(),
        "at_least": found.iter().any(|f| f.unbounded),
    });
    doc["at_capacity"] = json!({
        "throughput_rps": at.throughput_rps,
        "goodput_rps": at.goodput_rps,
        "latency_ms": at.latency_ms,
        "error_rate": at.error_rate,
        "bottleneck": at.bottleneck,
        "cost_per_hour": at.cost_per_hour,
    });
    let table = report::capacity::render_table(&scenario.name, axis, &slos, &estimate, &found, &at);
    deliver(args, out_dir, &doc, table, &at)?;
    Ok(exit::OK)
}

/// Prints the table (or the JSON) and writes capacity.json with the summary and time series
/// of `at`, the run it describes.
fn deliver(
    args: &CapacityArgs,
    out_dir: Option<OutDir>,
    doc: &serde_json::Value,
    table: String,
    at: &report::Results,
) -> Result<(), Failure> {
    let json_text = pretty(doc);
    let quiet = args.sim.output.quiet;
    let stdout = match args.format.format {
        Format::Json => json_text.clone(),
        _ if quiet => String::new(),
        _ => table,
    };
    output::deliver(
        stdout,
        out_dir,
        &[
            (OUTPUT_FILE, json_text),
            (OUTPUT_FILES[0], at.to_json()),
            (OUTPUT_FILES[1], report::csv::render(at)),
        ],
        Mode::ReplaceSet,
        args.sim.output.announce_files(args.format.format),
    )
}

/// No seed found a load meeting the objectives: says which failed at the smallest load
/// tried (the first seed's run there, also written as its summary) and exits 1.
fn no_load_meets(
    args: &CapacityArgs,
    mut doc: serde_json::Value,
    out_dir: Option<OutDir>,
    scenario: &crate::model::Scenario,
    slos: &[Slo],
    smallest: f64,
    limit: Option<u64>,
) -> Result<u8, Failure> {
    let axis = Axis::of(scenario);
    let at_smallest = axis.with_load(scenario, smallest);
    // As the search judged it: a load whose idle users do not fit was not run at all.
    let fits = limit.is_none_or(|l| at_smallest.memory_estimate().base_bytes <= l);
    let at = crate::run_with_limit(at_smallest, limit, &mut |_| {});
    let mut verdicts = vec![crate::report::check::run_verdict(&at)];
    verdicts.extend(crate::report::check::slo_verdicts(&at, slos));
    let broken: Vec<String> = verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.message())
        .collect();
    let unit = match axis {
        Axis::Users => "users",
        Axis::RatePerS => "requests/s",
    };
    let why = if !fits {
        "its idle users alone need more memory than a run may take".to_string()
    } else if broken.is_empty() {
        "it met them with this seed, but the search's run did not".to_string()
    } else {
        broken.join("; ")
    };
    doc["capacity"] = serde_json::Value::Null;
    doc["no_load_meets"] = json!({
        "smallest_load_tried": round(smallest, 3),
        "seed": scenario.seed,
        "broken": broken,
        "fits_in_memory": fits,
    });
    let message = format!(
        "no load meets {} — at the smallest load tried, {} {unit} (seed {}): {why}\n",
        slos.iter()
            .map(objective_text)
            .collect::<Vec<_>>()
            .join(", "),
        load_text(axis, smallest),
        scenario.seed
    );
    deliver(args, out_dir, &doc, message.clone(), &at)?;
    if args.format.format == Format::Json && !args.sim.output.quiet {
        eprint!("{message}");
    }
    Ok(exit::CHECK_FAILED)
}

fn pretty(doc: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
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
