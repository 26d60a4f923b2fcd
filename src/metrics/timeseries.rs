//! The per-interval time series behind `timeseries.csv`: what started, finished and failed in
//! each interval, its latency percentiles, and each component's utilisation.

use crate::engine::time::SimTime;
use crate::metrics::histogram::{Latency, Recorded};
use crate::metrics::outcome::{Outcome, OutcomeCounts};

/// One closed interval.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalRow {
    pub start: SimTime,
    pub end: SimTime,
    /// Logical requests started.
    pub started: u64,
    /// Outcomes of logical requests that ended in this interval.
    pub ended: OutcomeCounts,
    /// Of the completed ones, those within the goodput latency.
    pub good: u64,
    /// Latency of the requests completed in this interval (`None` when none did).
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Per component, in component order.
    pub load: Vec<IntervalLoad>,
}

/// One component over one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IntervalLoad {
    /// CPU utilisation for servers (the mean over machines), share of the connection cap
    /// in use for load balancers (0..1).
    pub utilisation: f64,
    /// The same on the busiest machine of the interval (the mean for one machine).
    pub hottest_utilisation: f64,
    /// Calls waiting for a worker, time-averaged, per machine (as `mean_queue` in the
    /// summary).
    pub mean_queue: f64,
    /// A queue's messages; None for every other kind.
    pub messages: Option<MessageLoad>,
    /// A fleet's replicas billed (starting, ready, draining), time-averaged; None for a
    /// component of fixed size.
    pub replicas: Option<f64>,
}

/// A queue over one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MessageLoad {
    /// Messages held (waiting and being processed), time-averaged.
    pub mean_depth: f64,
    /// The oldest a message was in the interval: the longest any received had waited, or the
    /// age of the oldest still waiting at its end; None when no message was there.
    pub oldest_age_s: Option<f64>,
}

/// Accumulates the open interval and keeps the closed ones.
#[derive(Debug, Default)]
pub struct TimeSeries {
    pub rows: Vec<IntervalRow>,
    started: u64,
    ended: OutcomeCounts,
    good: u64,
    latency: Latency,
    open_since: SimTime,
}

impl TimeSeries {
    #[inline]
    pub fn on_start(&mut self) {
        self.started += 1;
    }

    /// A request ended; `good` says whether it took at most the goodput latency.
    #[inline]
    pub fn on_end(&mut self, outcome: Outcome, latency: SimTime, good: bool) {
        self.ended.add(outcome);
        if outcome == Outcome::Completed {
            self.latency.record(latency);
            self.good += u64::from(good);
        }
    }

    /// Whether the open interval has counted anything yet.
    pub fn has_pending(&self) -> bool {
        self.started > 0 || self.ended.total > 0
    }

    /// Closes the open interval at `now` with the components' loads and opens the next.
    pub fn close(&mut self, now: SimTime, load: Vec<IntervalLoad>) {
        let r = self.latency.read();
        let some = |f: &dyn Fn(&Recorded) -> f64| r.as_ref().map(f);
        self.rows.push(IntervalRow {
            start: self.open_since,
            end: now,
            started: self.started,
            ended: std::mem::take(&mut self.ended),
            good: std::mem::take(&mut self.good),
            mean_ms: some(&|r| r.mean_ms()),
            p50_ms: some(&|r| r.quantile_ms(0.5)),
            p90_ms: some(&|r| r.quantile_ms(0.9)),
            p99_ms: some(&|r| r.quantile_ms(0.99)),
            load,
        });
        self.started = 0;
        self.latency.reset();
        self.open_since = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_reset_between_rows() {
        let mut ts = TimeSeries::default();
        ts.on_start();
        ts.on_end(Outcome::Completed, SimTime::from_ms(10.0), true);
        let load = |u| {
            vec![IntervalLoad {
                utilisation: u,
                hottest_utilisation: u,
                mean_queue: 0.0,
                messages: None,
                replicas: None,
            }]
        };
        ts.close(SimTime::from_secs(1.0), load(0.5));
        ts.on_end(Outcome::TimedOut, SimTime::from_ms(10.0), false);
        ts.close(SimTime::from_secs(2.0), load(0.25));
        assert_eq!(ts.rows.len(), 2);
        assert_eq!((ts.rows[0].started, ts.rows[0].ended.completed), (1, 1));
        assert!((ts.rows[0].p50_ms.unwrap_or(0.0) - 10.0).abs() < 0.01);
        assert_eq!(
            (
                ts.rows[1].started,
                ts.rows[1].ended.timed_out,
                ts.rows[1].p50_ms
            ),
            (0, 1, None)
        );
        assert_eq!(ts.rows[1].start, SimTime::from_secs(1.0));
    }
}
