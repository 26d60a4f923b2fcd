//! Data: the components that hold data. Caches (`cache.rs`: hit ratio or LRU, a lookup and
//! a fill around a call to their backing component) and databases (`database.rs`: queries,
//! connection set-up, and for replicated or sharded ones their layout in `replication.rs`,
//! their write log in `replica_log.rs` and their routing and failover in `failover.rs`).

pub mod cache;
pub mod database;
pub mod failover;
pub mod replica_log;
pub mod replication;
