//! Compute: machines and the servers that run on them. A machine's hardware and its process
//! (connections, workers, queue) are in `machine.rs`; the physical machine under one or more
//! processes — cores, RAM, NIC, disk — is a host (`host.rs`), its cores shared by time slices
//! or run to completion (`cores.rs`, `steps.rs`); a server runs request programs on its machines
//! with workers and a queue (`server.rs`, `steps.rs`); a machine's own work (a replica
//! applying copies) shares its cores and disk (`background.rs`); connection pools are kept per machine
//! (`pool.rs`); a service is a server with nothing of its own (`service.rs`). Caches and
//! databases are servers too, with steps of their own (`model::data`). `memory.rs` estimates
//! the simulator's own memory for a scenario.

pub mod background;
pub mod calls;
pub mod cores;
pub mod host;
pub mod machine;
pub mod memory;
pub mod pool;
pub mod server;
pub mod service;
pub mod steps;
