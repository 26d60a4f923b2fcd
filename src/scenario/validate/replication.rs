//! Validation of a database's `replication` and `partitions`: machine counts, the sync ack
//! count, lag, failover timings, and the read route of each request class.

use super::Checker;
use crate::engine::time::SimTime;
use crate::model::data::replication::{
    Failover, MAX_MEMBERS, Mode, ReplicationSpec, Reshard, Route,
};
use crate::model::distribution::{Dist, MAX_MS};
use crate::scenario::raw::*;

/// The replication spec of database `d` at `path`, or None for a single machine.
/// `queries` holds each class's query (None where validation already reported it missing).
pub(super) fn replication(
    c: &mut Checker,
    path: &str,
    d: &RawDatabase,
    queries: &[Option<&RawQuery>],
    key_space: u64,
) -> Option<ReplicationSpec> {
    if d.replication.is_none() && d.partitions.is_none() {
        return None;
    }
    let shards = match &d.partitions {
        Some(p) => {
            let count = c.at_least(&format!("{path}.partitions.count"), u64::from(p.count), 1);
            if count > 1024 {
                c.problem(
                    format!("{path}.partitions.count"),
                    format!("at most 1024, got {count}"),
                );
            }
            count.clamp(1, 1024) as u32
        }
        None => 1,
    };
    let reshards = reshards(c, path, d);
    // Summed in u64: at most 1,024 adds of at most 1,024 shards each.
    let added: u64 = reshards.iter().map(|r| u64::from(r.added)).sum();
    let shards_u64 = u64::from(shards);
    if shards_u64 + added > 1024 {
        c.problem(
            format!("{path}.partitions.add"),
            format!("at most 1024 shards in all, got {}", shards_u64 + added),
        );
    }
    let (members, mode, lag, reads_from, failover) = match &d.replication {
        Some(r) => {
            let rpath = format!("{path}.replication");
            let replicas = c.at_least(&format!("{rpath}.replicas"), u64::from(r.replicas), 1);
            let max = MAX_MEMBERS as u64 - 1;
            if replicas > max {
                c.problem(
                    format!("{rpath}.replicas"),
                    format!("at most {max} per shard, got {replicas}; add shards instead"),
                );
            }
            let replicas = replicas.clamp(1, max) as u32;
            let mode = match r.mode {
                ReplicationMode::Async => Mode::Async,
                ReplicationMode::MultiPrimary => Mode::MultiPrimary,
                ReplicationMode::Sync => {
                    if r.acks < 1 || r.acks > replicas {
                        c.problem(
                            format!("{rpath}.acks"),
                            format!(
                                "must be between 1 and replicas ({replicas}), got {}",
                                r.acks
                            ),
                        );
                    }
                    Mode::Sync {
                        acks: r.acks.clamp(1, replicas),
                    }
                }
            };
            if r.acks != 1 && r.mode != ReplicationMode::Sync {
                c.problem(
                    format!("{rpath}.acks"),
                    "only `sync` replication waits for acks: set mode to `sync` or drop `acks`",
                );
            }
            let lag = c.dist(&format!("{rpath}.lag_ms"), &r.lag_ms);
            let failover = r.failover.as_ref().map(|f| {
                let fpath = format!("{rpath}.failover");
                if r.mode == ReplicationMode::MultiPrimary
                    && (f.promotion_ms.is_some() || f.during.is_some())
                {
                    c.problem(
                        &fpath,
                        "multi_primary promotes nobody (every machine already takes writes): give only `detection_ms`, drop `promotion_ms` and `during`",
                    );
                }
                let mut ms = |field: &str, v: f64| {
                    let p = format!("{fpath}.{field}");
                    let v = c.non_negative(&p, v);
                    SimTime::from_ms(c.within(&p, v, 0.0, MAX_MS))
                };
                Failover {
                    detection: ms("detection_ms", f.detection_ms),
                    promotion: ms("promotion_ms", f.promotion_ms.unwrap_or(5_000.0)),
                    during: f.during.unwrap_or_default(),
                }
            });
            // Multi-primary notices a dead machine as master-slave does (after
            // `detection_ms`, 10 s by default), and sends it writes until then.
            let failover = failover.or_else(|| {
                (mode == Mode::MultiPrimary).then_some(Failover {
                    detection: SimTime::from_ms(10_000.0),
                    promotion: SimTime::ZERO,
                    during: DuringFailover::Fail,
                })
            });
            (replicas + 1, mode, lag, r.reads_from, failover)
        }
        None => (
            1,
            Mode::Async,
            Dist::Constant(SimTime::ZERO),
            ReadFrom::Primary,
            None,
        ),
    };
    let routes = queries
        .iter()
        .map(|q| match q {
            Some(q) if q.op == QueryOp::Write => Route::Write,
            Some(q) => Route::Read(q.read_from.unwrap_or(reads_from)),
            None => Route::Read(reads_from),
        })
        .collect();
    let member_regions = match d.replication.as_ref().and_then(|r| r.regions.as_ref()) {
        Some(names) => member_regions(c, path, d, names, members),
        None => Vec::new(),
    };
    let pinned = pinned_keys(c, path, d, shards);
    Some(ReplicationSpec {
        shards: (shards_u64 + added).min(1024) as u32,
        initial_shards: shards,
        pinned,
        reshards,
        members,
        partitioning: d.partitions.as_ref().map(|p| p.by).unwrap_or_default(),
        key_count: key_space,
        mode,
        lag,
        failover,
        routes,
        fan_out: queries
            .iter()
            .map(|q| q.is_some_and(|q| q.fan_out))
            .collect(),
        member_regions,
        // Filled once the network and the regions are known.
        member_latency: Vec::new(),
        local_link: crate::model::distribution::Dist::Constant(crate::engine::time::SimTime::ZERO),
    })
}

/// The region id of each machine of a shard, from `replication.regions`.
fn member_regions(
    c: &mut Checker,
    path: &str,
    d: &RawDatabase,
    names: &[String],
    members: u32,
) -> Vec<u16> {
    let p = format!("{path}.replication.regions");
    let declared: Vec<&String> = c.raw.regions.keys().collect();
    if declared.len() < 2 {
        c.problem(
            &p,
            "the scenario has fewer than two regions: declare them in \"regions\"",
        );
        return Vec::new();
    }
    if names.len() != members as usize {
        c.problem(
            &p,
            format!(
                "needs one region per machine of a shard, primary first ({members}), got {}",
                names.len()
            ),
        );
        return Vec::new();
    }
    if let (Some(own), Some(first)) = (&d.region, names.first())
        && own != first
    {
        c.problem(
            format!("{path}.region"),
            format!("the primary is in `{first}` (replication.regions[0]); say `{first}` here or leave it out"),
        );
    }
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match declared.iter().position(|n| *n == name) {
            Some(id) => out.push(id as u16),
            None => {
                let h = crate::scenario::suggest::hint(name, declared.iter().map(|n| n.as_str()));
                c.problem(format!("{p}[{i}]"), format!("no region named `{name}`{h}"));
                out.push(0);
            }
        }
    }
    out
}

/// The latency between the machines of each replicated database's shards, and the region
/// of each of their machines, now that the network and the regions are known.
pub(super) fn member_latencies(
    components: &mut [crate::model::ComponentSpec],
    network: &mut crate::model::net::network::Network,
) {
    for (i, spec) in components.iter_mut().enumerate() {
        if let crate::model::ComponentKind::Database(d) = &mut spec.kind
            && let Some(r) = d.replication.as_mut()
        {
            let link = network.table[i * network.n + i];
            r.local_link = network.links[usize::from(link)];
        }
    }
    let Some(regions) = network.regions.as_mut() else {
        return;
    };
    regions.of_members = vec![Vec::new(); components.len()];
    for (i, spec) in components.iter_mut().enumerate() {
        let crate::model::ComponentKind::Database(d) = &mut spec.kind else {
            continue;
        };
        let Some(r) = d.replication.as_mut() else {
            continue;
        };
        if r.member_regions.is_empty() {
            continue;
        }
        regions.of_members[i] = r.member_regions.clone();
        let n = r.members as usize;
        r.member_latency = (0..n * n)
            .map(|i| {
                let (a, b) = (r.member_regions[i / n], r.member_regions[i % n]);
                let count = regions.count();
                (a != b)
                    .then(|| regions.latency[usize::from(a) * count + usize::from(b)])
                    .flatten()
            })
            .collect();
    }
}

/// The shards added during the run, in time order.
fn reshards(c: &mut Checker, path: &str, d: &RawDatabase) -> Vec<Reshard> {
    let Some(p) = &d.partitions else {
        return Vec::new();
    };
    let mut out: Vec<Reshard> = Vec::new();
    // Each adds at least one shard, and there are at most 1,024 in all.
    c.at_most_items(
        &format!("{path}.partitions.add"),
        p.add.len(),
        1024,
        "additions",
    );
    for (i, r) in p.add.iter().enumerate().take(1024) {
        let rp = format!("{path}.partitions.add[{i}]");
        let at = c.non_negative(&format!("{rp}.at_s"), r.at_s);
        if at >= c.raw.duration_s {
            c.problem(
                format!("{rp}.at_s"),
                format!(
                    "the run ends at duration_s = {}, got {at}",
                    c.raw.duration_s
                ),
            );
        }
        let added = c
            .at_least(&format!("{rp}.shards"), u64::from(r.shards), 1)
            .min(1024) as u32;
        let move_s = c.positive(&format!("{rp}.move_s"), r.move_s);
        c.within(&format!("{rp}.move_s"), move_s, 1e-6, MAX_MS / 1e3);
        let overhead = c.non_negative(&format!("{rp}.move_overhead"), r.move_overhead);
        c.within(&format!("{rp}.move_overhead"), overhead, 0.0, 1e3);
        if at + move_s > c.raw.duration_s {
            c.problem(
                format!("{rp}.move_s"),
                format!(
                    "the move would end at {} s, after the run (duration_s = {}): the shards would never be added",
                    at + move_s,
                    c.raw.duration_s
                ),
            );
        }
        let at = SimTime::from_secs(at);
        if let Some(last) = out.last()
            && at < last.at + last.move_for
        {
            c.problem(
                format!("{rp}.at_s"),
                "starts before the previous move has finished; moves happen one after another",
            );
        }
        out.push(Reshard {
            at,
            added,
            move_for: SimTime::from_secs(move_s),
            overhead,
        });
    }
    out
}

/// Keys placed on a shard by hand, sorted by key.
fn pinned_keys(c: &mut Checker, path: &str, d: &RawDatabase, shards: u32) -> Vec<(u64, u32)> {
    let Some(p) = &d.partitions else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, &shard) in &p.pinned {
        let kp = format!("{path}.partitions.pinned.{key}");
        let Ok(k) = key.parse::<u64>() else {
            c.problem(&kp, format!("keys are numbers (0, 1, …), got `{key}`"));
            continue;
        };
        if shard >= shards {
            c.problem(
                &kp,
                format!("shards are 0..{} at the start, got {shard}", shards - 1),
            );
        }
        out.push((k, shard.min(shards - 1)));
    }
    out.sort_unstable();
    out
}
