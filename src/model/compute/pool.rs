//! Connection pools: the connections one machine of a caller keeps open towards one database.
//!
//! Pooled connections are opened lazily, stay open (and count against the database's cap) for
//! the rest of the run, and pay the database's `connect_ms` once; unpooled calls pay it every
//! time, which is the seeds' case for pooling.

use crate::engine::time::SimTime;
use crate::model::ids::FrameId;
use std::collections::VecDeque;

/// A pool of connections from one machine of a caller to one database.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    pub size: u32,
    /// Connections opened so far (they stay open).
    pub opened: u32,
    pub in_use: u32,
    /// Frames waiting for a connection, with the time they started waiting.
    pub waiters: VecDeque<(FrameId, SimTime)>,
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

    /// Forgets everything (the owning machine crashed); returns how many were open.
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
