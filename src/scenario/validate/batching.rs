//! Validation of batch work: a `batch` step's query count (`queries`, or
//! `queries_per_message` in the handler of a consumer that processes whole batches), and a
//! consumer's `every_s` and `process`.

use super::Checker;
use crate::scenario::raw::*;

/// Most queries one call carries (`Frame::queries`).
const MAX_QUERIES_PER_CALL: u64 = u16::MAX as u64;
/// Most queries a `batch` step names, in all or per message.
const MAX_BATCH: u64 = 1_000;
/// Longest pause between a batch job's runs (a year).
const MAX_EVERY_S: f64 = 31_536_000.0;

/// A `batch` step's (at `path`) queries: how many, and whether per message.
pub(super) fn batch_queries(c: &mut Checker, path: &str, b: &RawBatch) -> (u16, bool) {
    match (b.queries, b.queries_per_message) {
        (Some(n), None) => (
            c.count(&format!("{path}.queries"), u64::from(n), 1, MAX_BATCH) as u16,
            false,
        ),
        (None, Some(n)) => (
            c.count(
                &format!("{path}.queries_per_message"),
                u64::from(n),
                1,
                MAX_BATCH,
            ) as u16,
            true,
        ),
        (Some(_), Some(_)) => {
            c.problem(
                format!("{path}.queries_per_message"),
                "give `queries` (a fixed count) or `queries_per_message` (per message of a \
                 consumer's batch), not both",
            );
            (1, false)
        }
        (None, None) => {
            c.problem(
                path,
                "a batch needs `queries` (how many in one round trip), or \
                 `queries_per_message` in the handler of a consumer with `process: batch`",
            );
            (1, false)
        }
    }
}

/// A service's `consumes` (at `p`): `every_s` and `process`, and what they rule out.
pub(super) fn consumer_batching(
    c: &mut Checker,
    p: &str,
    k: &RawConsumes,
    handlers: &std::collections::BTreeMap<String, Vec<RawStep>>,
) {
    if let Some(every) = k.every_s {
        let field = format!("{p}.every_s");
        let every = c.positive(&field, every);
        c.within(&field, every, 0.001, MAX_EVERY_S);
        if k.polling != RawPolling::Long {
            c.problem(
                format!("{p}.polling"),
                "a consumer with `every_s` runs as a batch job (its receives answer at once): \
                 remove `polling`",
            );
        }
    }
    if k.process == RawProcess::Batch {
        if k.polling == RawPolling::Push {
            c.problem(
                format!("{p}.process"),
                "a pushed message arrives alone: `process: batch` is for pulling consumers",
            );
        }
        if matches!(c.raw.components.get(&k.queue), Some(RawComponent::Log(_))) {
            c.problem(
                format!("{p}.process"),
                format!(
                    "`{}` is a log: its members process records one at a time (`process: \
                     batch` is for queues)",
                    k.queue
                ),
            );
        }
        // A batch's queries must fit in one call.
        for (class, steps) in handlers {
            for (i, step) in steps.iter().enumerate() {
                if let RawStep::Batch(b) = step
                    && let Some(n) = b.queries_per_message
                    && u64::from(n) * u64::from(k.batch_size) > MAX_QUERIES_PER_CALL
                {
                    c.problem(
                        format!("{p}.batch_size"),
                        format!(
                            "handlers.{class}[{i}] sends {n} queries per message: a batch of \
                             {} would be {} queries in one call, above {MAX_QUERIES_PER_CALL}; \
                             lower batch_size",
                            k.batch_size,
                            u64::from(n) * u64::from(k.batch_size)
                        ),
                    );
                }
            }
        }
    }
}
