//! Databases: query costs per class (with the index switch) and the client-side connection
//! pools callers keep towards them.
//!
//! A database is a server whose program per class is "CPU, then disk I/O"; its machine's
//! `max_connections` is the database's connection cap. Pooled connections are opened lazily,
//! stay open (and count against the cap) for the rest of the run, and pay `connect_ms` once;
//! unpooled calls pay it every time, which is the seeds' case for pooling.

use crate::engine::time::SimTime;
use crate::model::distribution::Dist;
use crate::model::server::Step;
use crate::scenario::raw::QueryOp;
use std::collections::VecDeque;

/// A query's cost as the scenario gives it, before the index switch and machine speed.
#[derive(Debug, Clone)]
pub struct Query {
    pub op: QueryOp,
    pub cpu: Dist,
    pub disk_ios: u32,
}

/// The program a database runs for one query: CPU, then (if any) disk I/O.
/// Without an index, reads scan: their CPU and I/O grow by `unindexed_factor`.
pub fn query_program(q: &Query, indexed: bool, unindexed_factor: f64, cpu_speed: f64) -> Vec<Step> {
    let scan = if !indexed && q.op == QueryOp::Read {
        unindexed_factor
    } else {
        1.0
    };
    let mut program = vec![Step::Cpu(q.cpu.scaled(scan / cpu_speed))];
    let ios = (f64::from(q.disk_ios) * scan).round() as u32;
    if ios > 0 {
        program.push(Step::Disk(ios));
    }
    program
}

/// A pool of connections from one replica of a caller to one database.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    pub size: u32,
    /// Connections opened so far (they stay open).
    pub opened: u32,
    pub in_use: u32,
    /// Frames waiting for a connection, with the time they started waiting.
    pub waiters: VecDeque<(u32, SimTime)>,
}

impl Pool {
    pub fn new(size: u32) -> Pool {
        Pool {
            size,
            ..Pool::default()
        }
    }

    /// An idle open connection, if any (taken).
    pub fn take_idle(&mut self) -> bool {
        if self.in_use < self.opened {
            self.in_use += 1;
            true
        } else {
            false
        }
    }

    /// Whether the pool may open another connection.
    pub fn can_grow(&self) -> bool {
        self.opened < self.size
    }

    /// Records a newly opened connection, in use.
    pub fn grow(&mut self) {
        self.opened += 1;
        self.in_use += 1;
    }

    /// Forgets everything (the owning replica crashed); returns how many were open.
    pub fn reset(&mut self) -> u32 {
        let opened = self.opened;
        *self = Pool::new(self.size);
        opened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unindexed_reads_scan_but_writes_do_not() {
        let q = |op| Query {
            op,
            cpu: Dist::Constant(SimTime::from_ms(1.0)),
            disk_ios: 2,
        };
        let cost = |program: &[Step]| match program {
            [Step::Cpu(d), Step::Disk(n)] => (d.mean_ns() / 1e6, *n),
            _ => panic!("unexpected program {program:?}"),
        };
        assert_eq!(
            cost(&query_program(&q(QueryOp::Read), true, 20.0, 1.0)),
            (1.0, 2)
        );
        assert_eq!(
            cost(&query_program(&q(QueryOp::Read), false, 20.0, 1.0)),
            (20.0, 40)
        );
        assert_eq!(
            cost(&query_program(&q(QueryOp::Write), false, 20.0, 1.0)),
            (1.0, 2)
        );
        assert_eq!(
            cost(&query_program(&q(QueryOp::Read), true, 20.0, 2.0)),
            (0.5, 2),
            "faster CPU"
        );
    }

    #[test]
    fn pool_lends_idle_connections_before_growing() {
        let mut p = Pool::new(2);
        assert!(!p.take_idle());
        assert!(p.can_grow());
        p.grow();
        p.in_use -= 1; // returned
        assert!(p.take_idle());
        p.grow();
        assert!(!p.can_grow());
        assert_eq!(p.reset(), 2);
        assert_eq!((p.opened, p.in_use, p.size), (0, 0, 2));
    }
}
