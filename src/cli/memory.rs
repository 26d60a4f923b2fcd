//! The memory guard at the edge: how much memory a run may take on this machine, the estimate
//! printed before a big run, and the message when a run outgrows its limit. Reading
//! `/proc/meminfo` is why this lives in `cli/`; the engine only receives a number.

use crate::cli::Failure;
use crate::model::Scenario;
use crate::report::Results;

const MIB: f64 = 1024.0 * 1024.0;
/// Runs that may need more than this get their estimate printed first.
const SHOW_ESTIMATE_ABOVE: u64 = 256 * 1024 * 1024;

/// The limit in bytes: `--max-memory-gb`, else 90% of the memory available now (Linux), else
/// none.
pub(super) fn limit_bytes(max_memory_gb: Option<f64>) -> Result<Option<u64>, Failure> {
    match max_memory_gb {
        Some(gb) if gb.is_finite() && gb > 0.0 => Ok(Some((gb * 1024.0 * MIB) as u64)),
        Some(gb) => Err(Failure::bad(format!(
            "--max-memory-gb must be a number > 0, got {gb}"
        ))),
        None => Ok(available_bytes().map(|b| b / 10 * 9)),
    }
}

/// `MemAvailable` from /proc/meminfo, if this is Linux.
fn available_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a scenario whose unavoidable memory is over the limit; prints the estimate on
/// stderr before a run that may be big.
pub(super) fn check_estimate(
    scenario: &Scenario,
    limit: Option<u64>,
    quiet: bool,
) -> Result<(), Failure> {
    let e = scenario.memory_estimate();
    let mib = |b: u64| b as f64 / MIB;
    if let Some(limit) = limit
        && e.base_bytes > limit
    {
        return Err(Failure::bad(format!(
            "this scenario needs at least {:.0} MiB of memory to simulate, more than the \
             {:.0} MiB allowed\n  fewer users or smaller caches, or --max-memory-gb if the \
             machine has more to give",
            mib(e.base_bytes),
            mib(limit)
        )));
    }
    if !quiet && e.worst_case_bytes().max(e.base_bytes) > SHOW_ESTIMATE_ABOVE {
        let limit_text = limit.map_or(String::new(), |l| format!("; limit {:.0} MiB", mib(l)));
        eprintln!(
            "memory: about {:.0} MiB to start, {} bytes per request in flight \
             (up to {:.0} MiB if every user waits at once){limit_text}",
            mib(e.base_bytes),
            e.per_request_bytes,
            mib(e.worst_case_bytes())
        );
    }
    Ok(())
}

/// The error for a run stopped by its memory limit.
pub(super) fn exceeded(r: &Results, limit: Option<u64>) -> Failure {
    Failure::bad(format!(
        "the simulation outgrew its memory limit ({:.0} MiB) at {:.3} s of simulated \
         time, with {} requests in flight at the peak; nothing was written\n  the system is \
         probably overloaded and its queues grow without bound: add a client timeout \
         (workload.timeout_ms) or bounded queues (queue_capacity), shorten duration_s, or \
         raise --max-memory-gb",
        limit.unwrap_or(0) as f64 / MIB,
        r.sim_time_s,
        r.engine.peak_requests
    ))
}

/// Refuses results cut short by the memory limit with the error that explains the stop (the
/// caller's output folder, dropped uncommitted, leaves nothing behind).
pub(super) fn refuse_if_stopped<'a>(
    runs: impl IntoIterator<Item = &'a Results>,
    limit: Option<u64>,
) -> Result<(), Failure> {
    let stopped = runs
        .into_iter()
        .find(|r| r.stop_reason == crate::StopReason::MemoryLimit);
    match stopped {
        Some(r) => Err(exceeded(r, limit)),
        None => Ok(()),
    }
}
