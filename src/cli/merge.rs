//! `dsim merge PATH…`: combines the slices of a sharded sweep (`dsim sweep --shard I/N`, run
//! anywhere) into the sweep.json, sweep.csv, table and charts that one unsharded run writes,
//! byte for byte. PATH is a slice file or a folder holding `sweep-shard-*.json` files.

use crate::cli::output::OutDir;
use crate::cli::{ChartArgs, Failure, FormatArg, OutputArgs, exit, output, sweep};
use crate::study::shard::{SHARD_SCHEMA_VERSION, SweepShard, merge};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Slice files, or folders holding sweep-shard-*.json files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub format: FormatArg,
    #[command(flatten)]
    pub charts: ChartArgs,
}

/// The slice files a path names: itself, or a folder's `sweep-shard-*.json` in name order.
fn slice_files(path: &Path) -> Result<Vec<PathBuf>, Failure> {
    if !path.exists() {
        return Err(Failure::bad(format!(
            "{} does not exist: pass the folders (or files) where dsim sweep … \
             --shard I/N wrote its sweep-shard-*.json slices",
            path.display()
        )));
    }
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| Failure::bad(format!("cannot read folder {}: {e}", path.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sweep-shard-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Failure::bad(format!(
            "{} holds no sweep-shard-*.json files (written by dsim sweep … --shard I/N)",
            path.display()
        )));
    }
    Ok(files)
}

fn read_slice(file: &Path) -> Result<SweepShard, Failure> {
    let text = output::read_text(file)?;
    // The layout version first, so a newer layout is named as such, not as a bad file.
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: u32,
    }
    if let Ok(v) = serde_json::from_str::<Version>(&text)
        && v.schema_version != SHARD_SCHEMA_VERSION
    {
        return Err(Failure::bad(format!(
            "{} has slice layout version {}; this dsim reads version \
             {SHARD_SCHEMA_VERSION}: merge with the dsim that wrote it",
            file.display(),
            v.schema_version
        )));
    }
    serde_json::from_str(&text).map_err(|e| {
        Failure::bad(format!(
            "{}:{}:{}: not a sweep slice: {e}\n  slices are the \
             sweep-shard-I-of-N.json files that dsim sweep --shard writes",
            file.display(),
            e.line(),
            e.column()
        ))
    })
}

pub(super) fn run(args: &MergeArgs) -> Result<u8, Failure> {
    let mut slices = Vec::new();
    for path in &args.paths {
        for file in slice_files(path)? {
            let slice = read_slice(&file)?;
            slices.push((file.display().to_string(), slice));
        }
    }
    let summary = merge(&slices).map_err(Failure::bad)?;
    let default_dir = PathBuf::from("output").join(format!("{}-sweep", summary.scenario));
    let out_dir = OutDir::prepare(&args.output, default_dir, &sweep::WHOLE_SWEEP_FILES)?;
    sweep::deliver(
        &summary,
        out_dir,
        &args.output,
        args.format.format,
        args.charts.no_charts,
    )?;
    Ok(exit::OK)
}
