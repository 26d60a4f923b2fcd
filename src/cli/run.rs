//! `dsim run FILE`: simulate, print the summary, write summary.json and timeseries.csv.

use crate::cli::{Failure, Format, RunArgs, exit, output};
use crate::report;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

pub fn run(args: &RunArgs) -> Result<u8, Failure> {
    let mut scenario = output::load_scenario(&args.file)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let out_dir = if args.no_write {
        None
    } else {
        let dir = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("output").join(&scenario.name));
        std::fs::create_dir_all(&dir).map_err(|e| {
            Failure::BadInput(format!(
                "error: cannot create output folder {}: {e}\n",
                dir.display()
            ))
        })?;
        Some(dir)
    };
    let bar = progress_bar(args.quiet, scenario.duration.as_ms());
    let started = Instant::now();
    let results = crate::run(scenario, &mut |p| {
        if let Some(bar) = &bar {
            bar.set_position(p.now.as_ms().min(p.end.as_ms()) as u64);
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{:.1} M events/s", p.events as f64 / secs / 1e6));
        }
    });
    let wall = started.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(dir) = &out_dir {
        output::write_atomic(dir, "summary.json", &results.to_json())?;
        output::write_atomic(dir, "timeseries.csv", &report::csv::render(&results))?;
    }
    if !args.quiet {
        match args.format {
            Format::Json => print!("{}", results.to_json()),
            Format::Table => {
                print!("{}", report::table::render(&results));
                if let Some(dir) = &out_dir {
                    println!("wrote {}/summary.json and timeseries.csv", dir.display());
                }
            }
        }
        eprintln!(
            "simulated {} events in {:.2} s ({:.1} M events/s)",
            results.engine.events,
            wall.as_secs_f64(),
            results.engine.events as f64 / wall.as_secs_f64().max(1e-9) / 1e6
        );
    }
    Ok(exit::OK)
}

/// A bar over simulated milliseconds, on stderr, only when stderr is a terminal.
fn progress_bar(quiet: bool, total_ms: f64) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total_ms as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} sim ms · {msg} · eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}
