//! A queue's (or log's) measurements: the measurement window's start and end, the load of
//! each time-series interval with its depth and oldest message, and that age.

use crate::engine::time::SimTime;
use crate::metrics::timeseries::{IntervalLoad, MessageLoad};
use crate::model::compute::host::Host;
use crate::model::messaging::queue::Broker;

impl Broker {
    pub fn snapshot_window_start(&mut self, now: SimTime) {
        self.in_window = true;
        if let Some(log) = &mut self.log {
            log.start_window();
        }
        self.peak_depth = self.held();
        self.note_depth(now);
        self.depth_area_at_start = self.depth.area_at(now);
        self.window_start = now;
    }

    pub fn snapshot_window_end(&mut self, now: SimTime) {
        if let Some(age) = self.oldest_age(now) {
            self.note_age(age);
        }
        self.in_window = false;
        let area = self.depth.area_at(now) - self.depth_area_at_start;
        let span = (now - self.window_start).0;
        self.mean_depth = if span > 0 {
            area as f64 / span as f64
        } else {
            0.0
        };
    }

    /// The broker's load since the previous call, with its messages' depth and age.
    pub fn interval_load(&mut self, hosts: &mut [Host], now: SimTime) -> IntervalLoad {
        self.expire(hosts, now);
        self.expire_records(now);
        let mut load = self.server.interval_load(hosts, now);
        let area = self.depth.area_at(now);
        let span = (now - self.tick).0;
        let mean_depth = if span > 0 {
            (area - self.tick_area) as f64 / span as f64
        } else {
            self.held() as f64
        };
        (self.tick, self.tick_area) = (now, area);
        let oldest = match (self.tick_oldest.take(), self.oldest_age(now)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        load.messages = Some(MessageLoad {
            mean_depth,
            oldest_age_s: oldest.map(SimTime::as_secs),
        });
        load
    }

    /// Age of the oldest visible message at `now`, if any is visible.
    pub fn oldest_age(&self, now: SimTime) -> Option<SimTime> {
        let oldest = match &self.log {
            Some(log) => log.oldest_unprocessed(),
            None => self.store.oldest_visible(),
        };
        oldest.map(|t| now - t.min(now))
    }
}
