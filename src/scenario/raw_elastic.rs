//! The scenario format of capacity that changes during a run: a service's `scaling` (its
//! replica count by schedule or by an autoscaler).

use super::raw::RawDist;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How a service's replica count changes during the run; `replicas` is the count at the
/// start.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScaling {
    /// The most replicas it can have (its machines are set up for this many).
    #[schemars(range(min = 1, max = 10000))]
    pub max_replicas: u32,
    /// The fewest the autoscaler keeps. Default 1.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 10000))]
    pub min_replicas: u32,
    /// Time from asking for a new replica to its serving (a VM boots in a minute or so, a
    /// container in seconds). Default 30 s.
    #[serde(default = "default_start_delay")]
    pub start_delay_ms: RawDist,
    /// A replica taken out finishes the requests it holds for at most this long, then
    /// stops with the rest (they fail `backend_down`). Default 30 s.
    #[serde(default = "default_drain_ms")]
    pub drain_timeout_ms: f64,
    /// Replica counts set at known times (scheduled scaling, ahead of a known event); with
    /// `autoscale`, each sets the autoscaler's minimum from then on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<RawScaleStep>,
    /// A reactive autoscaler (target tracking, as Kubernetes' HPA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<RawAutoscale>,
}

/// One scheduled replica count.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScaleStep {
    pub at_s: f64,
    #[schemars(range(min = 0, max = 10000))]
    pub replicas: u32,
}

/// Target tracking: keep the metric per replica near the target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscale {
    /// What it tracks. Only `cpu` (mean CPU utilisation of the ready replicas) for now.
    #[serde(default)]
    pub metric: RawScaleMetric,
    /// The metric's target: a utilisation in (0, 1].
    pub target: f64,
    /// Time between evaluations. Default 15 s (HPA's sync period).
    #[serde(default = "default_interval_s")]
    pub interval_s: f64,
    /// Scale-in follows the highest recommendation of this long a window. Default 300 s.
    #[serde(default = "default_stabilisation_s")]
    pub scale_in_stabilisation_s: f64,
    /// No change while the metric is within this share of the target. Default 0.1.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Predictive scaling: scale for the load the workload's profile expects this many
    /// seconds ahead (set it to the start delay plus an interval). Absent: reactive only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictive_lead_s: Option<f64>,
}

/// What an autoscaler tracks.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawScaleMetric {
    #[default]
    Cpu,
}

fn one() -> u32 {
    1
}
fn default_start_delay() -> RawDist {
    RawDist::Constant { ms: 30_000.0 }
}
fn default_drain_ms() -> f64 {
    30_000.0
}
fn default_interval_s() -> f64 {
    15.0
}
fn default_stabilisation_s() -> f64 {
    300.0
}
fn default_tolerance() -> f64 {
    0.1
}

/// A new version rolled out to a service at a moment of the run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDeploy {
    pub at_s: f64,
    /// `rolling` (replace a few at a time), `recreate` (stop all, then start the new
    /// version) or `blue_green` (start a whole new fleet, then switch to it).
    #[serde(default)]
    pub strategy: RawDeployStrategy,
    /// Rolling: replicas of the new version started beyond the count asked for. Default 1.
    #[serde(default = "one")]
    pub max_surge: u32,
    /// Rolling: replicas that may be out of service below the count asked for. Default 0.
    #[serde(default)]
    pub max_unavailable: u32,
    /// Time a replica of the new version takes to start and pass its readiness check.
    /// Default: the service's `scaling.start_delay_ms`, or 30 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay_ms: Option<RawDist>,
}

/// How a deploy replaces the replicas.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawDeployStrategy {
    #[default]
    Rolling,
    Recreate,
    BlueGreen,
}

impl super::raw::RawService {
    /// Machines the service is set up with: its most replicas, plus room for the new
    /// version's while a deploy runs (its surge; a whole second fleet for blue/green).
    pub fn machines(&self) -> u32 {
        let most = self
            .scaling
            .as_ref()
            .map_or(self.replicas, |k| k.max_replicas.max(self.replicas))
            .clamp(1, 10_000);
        let room = self
            .deploys
            .iter()
            .map(|d| match d.strategy {
                RawDeployStrategy::Rolling => d.max_surge.min(most),
                RawDeployStrategy::Recreate => 0,
                RawDeployStrategy::BlueGreen => most,
            })
            .max()
            .unwrap_or(0);
        most + room
    }
}
