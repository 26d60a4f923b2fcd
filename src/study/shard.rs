//! Sweep slices: `dsim sweep --shard I/N` runs the grid points whose index is I−1 modulo N
//! and writes them as a `SweepShard`; `dsim merge` checks that a set of slices is one whole
//! sweep and puts the points back in grid order, giving the `SweepSummary` — hence the same
//! sweep.json, sweep.csv and charts, byte for byte — that one unsharded run writes. Pure.

use crate::study::sweep::{SWEEP_SCHEMA_VERSION, SweepPoint, SweepSummary};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Version of the shard file layout: 2 with sweep points of layout 2.
pub(crate) const SHARD_SCHEMA_VERSION: u32 = 2;
/// Most points a sweep may have (checked before a grid is built, and before a merge
/// allocates anything from a slice file's counts); also the most slices.
pub(crate) const MAX_POINTS: usize = 10_000;

/// `--shard I/N`: slice `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

impl ShardSpec {
    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub(crate) fn parse(text: &str) -> Result<ShardSpec, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard takes I/N, e.g. 2/8 (slice 2 of 8), got `{text}`"))?;
        let number = |s: &str| s.trim().parse::<u32>().ok();
        match (number(i), number(n)) {
            (Some(_), Some(count)) if count as usize > MAX_POINTS => Err(format!(
                "--shard I/N: at most {MAX_POINTS} slices (a sweep has at most as many \
                 points), got `{text}`"
            )),
            (Some(index), Some(count)) if index >= 1 && index <= count => {
                Ok(ShardSpec { index, count })
            }
            _ => Err(format!(
                "--shard I/N needs whole numbers with 1 ≤ I ≤ N (slices count from 1; a \
                 0-based array index k is slice k+1), got `{text}`"
            )),
        }
    }

    /// Whether grid point `point` (0-based, grid order) belongs to this slice. Slices take
    /// every N-th point, so each gets small and large loads alike.
    pub(crate) fn owns(self, point: usize) -> bool {
        point % self.count as usize == (self.index - 1) as usize
    }

    /// The slice's file name: `sweep-shard-2-of-8.json`.
    pub(crate) fn file_name(self) -> String {
        format!("sweep-shard-{}-of-{}.json", self.index, self.count)
    }
}

/// One grid point of a slice, with its place in the whole grid.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct IndexedPoint {
    pub index: usize,
    pub point: SweepPoint,
}

/// A slice file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct SweepShard {
    pub schema_version: u32,
    pub dsim_version: String,
    /// Fingerprint of the whole sweep (scenario text, `--set`s, swept values, seed, dsim
    /// version): slices merge only when it is the same.
    pub sweep_id: String,
    pub shard: u32,
    pub shards: u32,
    pub total_points: usize,
    pub scenario: String,
    pub seed: u64,
    pub params: Vec<String>,
    pub points: Vec<IndexedPoint>,
}

impl SweepShard {
    pub(crate) fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// FNV-1a (64 bit) of `parts`, each followed by a separator, as 16 hex digits: stable
/// across machines and versions of Rust, unlike `std`'s hasher.
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Why slices do not make one sweep.
#[derive(Debug, Error, PartialEq)]
pub(crate) enum MergeError {
    #[error("no slices given: pass the folders or sweep-shard-*.json files of a sharded sweep")]
    Empty,
    #[error(
        "{b} comes from another sweep than {a} (scenario, --set, --param, seed, \
         --replications or dsim version differ): merge the slices of one sweep at a time"
    )]
    Mixed { a: String, b: String },
    #[error(
        "{a} is one of {n_a} slices but {b} one of {n_b}: the same sweep cut two ways (an \
         old run's slices left in the folder?); merge the slices of one cut"
    )]
    TwoCuts {
        a: String,
        n_a: u32,
        b: String,
        n_b: u32,
    },
    #[error("{file} is not a slice dsim writes: {why}")]
    Malformed { file: String, why: String },
    #[error("{file} is slice {shard} of {shards}, given twice (also as {other})")]
    Duplicate {
        file: String,
        other: String,
        shard: u32,
        shards: u32,
    },
    #[error("slice{} {} of {count} missing: run `dsim sweep … --shard I/{count}` for {}", if .missing.len() > 1 { "s" } else { "" }, list(.missing), if .missing.len() > 1 { "them" } else { "it" })]
    Missing { missing: Vec<u32>, count: u32 },
    #[error("{file} does not hold the grid points of slice {shard} of {shards}")]
    WrongPoints {
        file: String,
        shard: u32,
        shards: u32,
    },
    #[error(
        "{file} has shard layout version {found}; this dsim reads version {SHARD_SCHEMA_VERSION}"
    )]
    Version { file: String, found: u32 },
}

/// `2, 3, 7`, or for a long list its first ten and a count.
fn list(numbers: &[u32]) -> String {
    let shown: Vec<String> = numbers.iter().take(10).map(u32::to_string).collect();
    if numbers.len() > shown.len() {
        format!("{}, … ({} in all)", shown.join(", "), numbers.len())
    } else {
        shown.join(", ")
    }
}

/// Checks that `slices` (each with the file it came from) are every slice of one sweep, once,
/// each with exactly its points, and returns the sweep in grid order.
pub(crate) fn merge(slices: &[(String, SweepShard)]) -> Result<SweepSummary, MergeError> {
    let (first_file, first) = slices.first().ok_or(MergeError::Empty)?;
    // Counts come from files: check them before allocating by them.
    for (file, s) in slices {
        let malformed = |why: String| MergeError::Malformed {
            file: file.clone(),
            why,
        };
        if s.schema_version != SHARD_SCHEMA_VERSION {
            return Err(MergeError::Version {
                file: file.clone(),
                found: s.schema_version,
            });
        }
        if s.shards == 0 || s.shards as usize > MAX_POINTS || s.total_points > MAX_POINTS {
            return Err(malformed(format!(
                "{} slices of {} points (at most {MAX_POINTS} of each)",
                s.shards, s.total_points
            )));
        }
        if let Some(p) = s
            .points
            .iter()
            .find(|p| p.point.values.len() != s.params.len())
        {
            return Err(malformed(format!(
                "point {} has {} values for {} parameters",
                p.index,
                p.point.values.len(),
                s.params.len()
            )));
        }
    }
    let mut by_index: Vec<Option<&str>> = vec![None; first.shards as usize];
    let mut points: Vec<Option<&SweepPoint>> = vec![None; first.total_points];
    for (file, s) in slices {
        if s.sweep_id != first.sweep_id || s.total_points != first.total_points {
            return Err(MergeError::Mixed {
                a: first_file.clone(),
                b: file.clone(),
            });
        }
        if s.shards != first.shards {
            return Err(MergeError::TwoCuts {
                a: first_file.clone(),
                n_a: first.shards,
                b: file.clone(),
                n_b: s.shards,
            });
        }
        let spec = ShardSpec {
            index: s.shard,
            count: s.shards,
        };
        let wrong = || MergeError::WrongPoints {
            file: file.clone(),
            shard: s.shard,
            shards: s.shards,
        };
        let slot = by_index
            .get_mut(s.shard.wrapping_sub(1) as usize)
            .ok_or_else(wrong)?;
        if let Some(other) = slot {
            return Err(MergeError::Duplicate {
                file: file.clone(),
                other: other.to_string(),
                shard: s.shard,
                shards: s.shards,
            });
        }
        *slot = Some(file);
        let expected = (0..s.total_points).filter(|&k| spec.owns(k)).count();
        if s.points.len() != expected {
            return Err(wrong());
        }
        for p in &s.points {
            if !spec.owns(p.index) || p.index >= points.len() || points[p.index].is_some() {
                return Err(wrong());
            }
            points[p.index] = Some(&p.point);
        }
    }
    let missing: Vec<u32> = (1..=first.shards)
        .filter(|&i| by_index[(i - 1) as usize].is_none())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            count: first.shards,
        });
    }
    Ok(SweepSummary {
        schema_version: SWEEP_SCHEMA_VERSION,
        dsim_version: first.dsim_version.clone(),
        scenario: first.scenario.clone(),
        seed: first.seed,
        params: first.params.clone(),
        // Every slice had exactly its points, and every slice is here: no gaps.
        points: points.into_iter().flatten().cloned().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: u64) -> SweepPoint {
        SweepPoint {
            values: vec![serde_json::Value::from(x)],
            throughput_rps: x as f64,
            goodput_rps: x as f64,
            goodput_within_ms: 1000.0,
            error_rate: 0.0,
            p50_ms: Some(1.0),
            p99_ms: Some(2.0),
            cost_per_hour: 1.0,
            cost_per_1000_rps: None,
            bottleneck: "none".into(),
            bottleneck_utilisation: 0.0,
            stop_reason: crate::StopReason::Completed,
            availability: 1.0,
            writes_lost: 0,
            longest_recovery_s: None,
            unrecovered_faults: None,
            messages: None,
            ci95: None,
        }
    }

    /// Five points in three slices: 1/3 holds points 0 and 3, 2/3 holds 1 and 4, 3/3 holds 2.
    fn slices() -> Vec<(String, SweepShard)> {
        (1..=3)
            .map(|i| {
                let spec = ShardSpec { index: i, count: 3 };
                let shard = SweepShard {
                    schema_version: SHARD_SCHEMA_VERSION,
                    dsim_version: "0".into(),
                    sweep_id: "abc".into(),
                    shard: i,
                    shards: 3,
                    total_points: 5,
                    scenario: "s".into(),
                    seed: 1,
                    params: vec!["users".into()],
                    points: (0..5)
                        .filter(|&k| spec.owns(k))
                        .map(|k| IndexedPoint {
                            index: k,
                            point: point(k as u64),
                        })
                        .collect(),
                };
                (spec.file_name(), shard)
            })
            .collect()
    }

    #[test]
    fn slices_merge_back_in_grid_order_whatever_order_they_come_in() {
        let mut s = slices();
        s.reverse();
        let merged = merge(&s).expect("one whole sweep");
        let xs: Vec<f64> = merged.points.iter().map(|p| p.throughput_rps).collect();
        assert_eq!(xs, [0.0, 1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn missing_duplicate_mixed_and_tampered_slices_are_refused() {
        let s = slices();
        assert_eq!(
            merge(&s[..1]),
            Err(MergeError::Missing {
                missing: vec![2, 3],
                count: 3
            })
        );
        let twice = vec![s[0].clone(), s[1].clone(), s[1].clone(), s[2].clone()];
        assert!(matches!(
            merge(&twice),
            Err(MergeError::Duplicate { shard: 2, .. })
        ));
        let mut other = s.clone();
        other[2].1.sweep_id = "def".into();
        assert!(matches!(merge(&other), Err(MergeError::Mixed { .. })));
        let mut tampered = s.clone();
        tampered[1].1.points[0].index = 0;
        assert!(matches!(
            merge(&tampered),
            Err(MergeError::WrongPoints { shard: 2, .. })
        ));
        assert_eq!(merge(&[]), Err(MergeError::Empty));
        let mut recut = s.clone();
        recut[1].1.shards = 4;
        assert!(matches!(
            merge(&recut),
            Err(MergeError::TwoCuts { n_b: 4, .. })
        ));
        let mut huge = s.clone();
        huge[0].1.total_points = usize::MAX;
        assert!(matches!(merge(&huge), Err(MergeError::Malformed { .. })));
        let mut short = s.clone();
        short[2].1.points[0].point.values.clear();
        assert!(matches!(merge(&short), Err(MergeError::Malformed { .. })));
        let many: Vec<u32> = (2..=40).collect();
        assert_eq!(list(&many), "2, 3, 4, 5, 6, 7, 8, 9, 10, 11, … (39 in all)");
        let text = MergeError::Missing {
            missing: vec![2],
            count: 3,
        }
        .to_string();
        assert_eq!(
            text,
            "slice 2 of 3 missing: run `dsim sweep … --shard I/3` for it"
        );
    }

    #[test]
    fn shard_specs_parse_and_own_every_nth_point() {
        assert_eq!(
            ShardSpec::parse("2/8"),
            Ok(ShardSpec { index: 2, count: 8 })
        );
        for bad in ["0/8", "9/8", "2", "a/b", "2/0", "1/4000000000"] {
            assert!(ShardSpec::parse(bad).is_err(), "{bad}");
        }
        let spec = ShardSpec { index: 2, count: 3 };
        let owned: Vec<usize> = (0..8).filter(|&k| spec.owns(k)).collect();
        assert_eq!(owned, [1, 4, 7]);
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]));
    }
}
