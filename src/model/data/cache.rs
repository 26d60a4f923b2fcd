//! Caches: a server whose program per class is "look the key up; on a miss, call the
//! backing component and store the key". Whether a lookup hits is decided by a fixed ratio or
//! by a real LRU over request keys.
//!
//! The LRU is a doubly linked list threaded through two arrays indexed by key, so a lookup
//! is two array reads and a few writes: no hashing and no allocation per request. Its memory
//! is proportional to the key space (validated to at most 50 million keys).

use crate::engine::rng::Stream;
use crate::model::compute::server::{Flow, Server, ServerKind, ServerSpec};
use crate::model::context::Context;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::request::{Frame, Request};
use rand::RngExt;

/// A cache's own steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStep {
    /// A hit skips to the end of the program.
    Lookup,
    /// Store the key fetched by the preceding call.
    Fill,
}

/// How a cache decides hits.
#[derive(Debug, Clone)]
pub enum CachePolicy {
    HitRatio(f64),
    Lru {
        capacity: u64,
        key_count: u64,
        /// Memory one entry takes on the cache's machine.
        entry_bytes: u64,
    },
}

/// A cache as the scenario describes it.
#[derive(Debug, Clone)]
pub struct CacheSpec {
    pub server: ServerSpec<CacheStep>,
    pub policy: CachePolicy,
}

/// A cache's live state.
#[derive(Debug)]
pub struct Cache {
    pub server: Server<CacheStep>,
    pub state: CacheState,
    /// Memory one LRU entry takes on its machine.
    pub entry_bytes: u64,
    /// Lookups of counted requests that hit and missed.
    pub hits: u64,
    pub misses: u64,
}

impl Cache {
    pub fn new(spec: CacheSpec, rng: Stream) -> Cache {
        let mut entry = 0;
        let state = match spec.policy {
            CachePolicy::HitRatio(r) => CacheState::HitRatio(r),
            CachePolicy::Lru {
                capacity,
                key_count,
                entry_bytes,
            } => {
                entry = entry_bytes;
                CacheState::Lru(Lru::new(capacity, key_count))
            }
        };
        Cache {
            server: Server::new(spec.server, rng),
            state,
            entry_bytes: entry,
            hits: 0,
            misses: 0,
        }
    }
}

impl ServerKind for Cache {
    type Own = CacheStep;

    #[inline]
    fn server(&mut self) -> &mut Server<CacheStep> {
        &mut self.server
    }

    fn own_step(
        &mut self,
        ctx: &mut Context,
        _: FrameId,
        fr: &Frame,
        req: &Request,
        step: CacheStep,
        end: u16,
    ) -> Flow {
        match step {
            CacheStep::Lookup => {
                let hit = self.state.lookup(req.key, &mut self.server.rng);
                if req.counted {
                    if hit {
                        self.hits += 1;
                    } else {
                        self.misses += 1;
                    }
                }
                Flow::Next(if hit { end } else { fr.step + 1 })
            }
            CacheStep::Fill => {
                let before = self.state.entries();
                self.state.fill(req.key);
                if self.state.entries() > before {
                    // A new entry (not one replacing an evicted one) takes memory.
                    let srv = &mut self.server;
                    let m = &mut srv.machines[fr.machine as usize];
                    let host = &mut ctx.hosts[m.host as usize];
                    m.hold_memory(&srv.spec.machine, host, self.entry_bytes, ctx.now);
                }
                Flow::Next(fr.step + 1)
            }
        }
    }

    /// Its keys lived in the crashed machine's memory: it comes back empty and warms up
    /// again, its misses going to the backing component meanwhile. (A fixed hit ratio has no
    /// keys to lose.)
    fn machine_crashed(&mut self, _: &mut Context, _: ComponentId, _: u32) {
        // (The crash has reset the machine's memory to its base.)
        if let CacheState::Lru(lru) = &mut self.state {
            lru.clear();
        }
    }
}

const NONE: u32 = u32::MAX;

/// Hit decision state of one cache component (shared by its replicas).
#[derive(Debug)]
pub enum CacheState {
    HitRatio(f64),
    Lru(Lru),
}

impl CacheState {
    /// Looks `key` up; an LRU hit also moves the key to the front.
    #[inline]
    pub fn lookup(&mut self, key: u64, rng: &mut Stream) -> bool {
        match self {
            CacheState::HitRatio(p) => rng.random::<f64>() < *p,
            CacheState::Lru(lru) => lru.touch(key),
        }
    }

    /// Entries held (none for a fixed ratio).
    pub fn entries(&self) -> u32 {
        match self {
            CacheState::HitRatio(_) => 0,
            CacheState::Lru(lru) => lru.len(),
        }
    }

    /// Stores `key` after a miss was served by the backing component.
    #[inline]
    pub fn fill(&mut self, key: u64) {
        if let CacheState::Lru(lru) = self {
            lru.insert(key);
        }
    }
}

/// Least-recently-used set of keys in 0..key_count with a capacity.
#[derive(Debug)]
pub struct Lru {
    capacity: u32,
    len: u32,
    head: u32,
    tail: u32,
    /// prev/next pointers by key; `present` marks membership.
    prev: Vec<u32>,
    next: Vec<u32>,
    present: Vec<bool>,
}

impl Lru {
    pub fn new(capacity: u64, key_count: u64) -> Lru {
        let n = key_count as usize;
        Lru {
            capacity: capacity.min(u64::from(u32::MAX - 1)) as u32,
            len: 0,
            head: NONE,
            tail: NONE,
            prev: vec![NONE; n],
            next: vec![NONE; n],
            present: vec![false; n],
        }
    }

    fn unlink(&mut self, k: u32) {
        let (p, n) = (self.prev[k as usize], self.next[k as usize]);
        if p == NONE {
            self.head = n
        } else {
            self.next[p as usize] = n
        }
        if n == NONE {
            self.tail = p
        } else {
            self.prev[n as usize] = p
        }
    }

    fn push_front(&mut self, k: u32) {
        self.prev[k as usize] = NONE;
        self.next[k as usize] = self.head;
        if self.head != NONE {
            self.prev[self.head as usize] = k;
        }
        self.head = k;
        if self.tail == NONE {
            self.tail = k;
        }
    }

    /// True (and most recent now) if present.
    pub fn touch(&mut self, key: u64) -> bool {
        let k = key as u32;
        if (key as usize) < self.present.len() && self.present[k as usize] {
            self.unlink(k);
            self.push_front(k);
            true
        } else {
            false
        }
    }

    /// Adds `key` as most recent, evicting the least recent if full.
    pub fn insert(&mut self, key: u64) {
        if key as usize >= self.present.len() || self.capacity == 0 || self.touch(key) {
            return;
        }
        if self.len == self.capacity {
            let victim = self.tail;
            self.unlink(victim);
            self.present[victim as usize] = false;
            self.len -= 1;
        }
        let k = key as u32;
        self.present[k as usize] = true;
        self.push_front(k);
        self.len += 1;
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    /// Forgets every key (the memory holding them is gone).
    pub fn clear(&mut self) {
        self.prev.fill(NONE);
        self.next.fill(NONE);
        self.present.fill(false);
        self.head = NONE;
        self.tail = NONE;
        self.len = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleared_lru_has_no_key_and_fills_again() {
        let mut lru = Lru::new(2, 10);
        lru.insert(1);
        lru.insert(2);
        lru.clear();
        assert!(lru.is_empty());
        assert!(!lru.touch(1) && !lru.touch(2));
        lru.insert(3);
        lru.insert(4);
        lru.insert(5);
        assert_eq!(lru.len(), 2);
        assert!(!lru.touch(3) && lru.touch(4) && lru.touch(5));
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut lru = Lru::new(2, 10);
        lru.insert(1);
        lru.insert(2);
        assert!(lru.touch(1)); // 1 is now most recent
        lru.insert(3); // evicts 2
        assert!(lru.touch(1));
        assert!(!lru.touch(2));
        assert!(lru.touch(3));
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn lru_hit_ratio_matches_the_independent_reference_model_bound() {
        // Uniform keys over 100 with capacity 25: the steady-state hit ratio of LRU under
        // independent uniform references is exactly capacity / keys = 0.25.
        let mut lru = Lru::new(25, 100);
        let mut rng = crate::engine::rng::stream_for(4, "lru");
        let (mut hits, n) = (0u32, 200_000u32);
        for _ in 0..n {
            let k = rng.random_range(0..100u64);
            if lru.touch(k) {
                hits += 1;
            } else {
                lru.insert(k);
            }
        }
        // Binomial standard error sqrt(0.25·0.75/n) ≈ 0.001; 5 of them.
        let ratio = f64::from(hits) / f64::from(n);
        assert!((ratio - 0.25).abs() < 0.005, "{ratio}");
    }
}
