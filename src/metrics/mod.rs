//! Measurement: latency histograms, outcome counters, time-weighted levels and the
//! per-interval time series. Nothing here decides behaviour; the model records, reports read.

pub mod confidence;
pub mod histogram;
pub mod outcome;
pub mod time_weighted;
pub mod timeseries;
pub mod warmup;
