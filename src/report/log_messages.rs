//! A partitioned log in summary.json: records appended per partition, and each consumer
//! group's lag (records appended and not committed) per partition, at its peak in the
//! window and at the run's end: where a hot key shows. Pure.

use crate::model::ComponentSpec;
use crate::model::messaging::log::Log;
use crate::model::messaging::queue::Broker;
use crate::report::messages::MessageFates;
use crate::report::round;
use serde::Serialize;
use std::collections::BTreeMap;

/// A log's partitions and groups.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct LogSummary {
    pub partitions: u32,
    /// Records appended per second over the window, per partition.
    pub appended_per_s: Vec<f64>,
    /// Per consumer group, by the consuming service's name.
    pub groups: BTreeMap<String, GroupLag>,
}

/// One consumer group's lag.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct GroupLag {
    /// Records appended and not committed at the run's end, all partitions.
    pub lag: u64,
    /// Per partition: the lag at the run's end, and the most during the window.
    pub partition_lag: Vec<u64>,
    pub partition_peak_lag: Vec<u64>,
}

pub(crate) fn summary(
    q: &Broker,
    log: &Log,
    all: &[ComponentSpec],
    per_s: &impl Fn(u64) -> f64,
) -> LogSummary {
    let groups = log
        .groups
        .iter()
        .filter_map(|g| {
            let service = q.pollers[*g.members.first()? as usize].consumer;
            let partition_lag: Vec<u64> = g
                .cursors
                .iter()
                .zip(&log.partitions)
                .map(|(c, p)| p.end() - c.committed)
                .collect();
            let lag = GroupLag {
                lag: partition_lag.iter().sum(),
                partition_peak_lag: g.cursors.iter().map(|c| c.peak_lag).collect(),
                partition_lag,
            };
            Some((all[service.index()].name.clone(), lag))
        })
        .collect();
    LogSummary {
        partitions: log.partitions.len() as u32,
        appended_per_s: log
            .partitions
            .iter()
            .map(|p| round(per_s(p.appended), 3))
            .collect(),
        groups,
    }
}

/// What became of the records over the run, once per group.
pub(crate) fn fates(log: &Log) -> MessageFates {
    let (processed, left) = log.processed_total();
    MessageFates {
        accepted: log.appended_total() * log.groups.len() as u64,
        processed,
        dead_lettered: 0,
        expired: log.skipped,
        lost: 0,
        still_queued: left,
    }
}
