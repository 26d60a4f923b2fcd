//! The scenario format of what an API gateway adds to a load balancer: an auth step, a
//! request size limit and token-bucket rate limits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A token bucket: requests it applies to take a token each; with none left they are
/// refused `rate_limited` (HTTP 429).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// Whose requests one bucket counts: all of them (`gateway`), each class's own
    /// (`class`: an API key per kind of client) or each user's (`user`, closed workloads).
    #[serde(default)]
    pub per: RawLimitScope,
    /// Request classes it applies to; default every class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// Tokens added per second: the rate it lets through over time.
    #[schemars(range(min = 0.000001, max = 1000000000))]
    pub rate_per_s: f64,
    /// Tokens the bucket holds: the burst it lets through at once. Default: one second's
    /// worth (`rate_per_s` rounded up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000000000))]
    pub burst: Option<u32>,
}

/// Whose requests one bucket counts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawLimitScope {
    #[default]
    Gateway,
    Class,
    User,
}

/// The gateway's own fields given on `b`, by name (all absent on a `load_balancer`).
pub fn gateway_fields_given(b: &super::raw::RawLoadBalancer) -> Vec<&'static str> {
    let mut out = Vec::new();
    if b.auth_cpu_ms.is_some() {
        out.push("auth_cpu_ms");
    }
    if b.max_request_bytes.is_some() {
        out.push("max_request_bytes");
    }
    if !b.rate_limits.is_empty() {
        out.push("rate_limits");
    }
    out
}
