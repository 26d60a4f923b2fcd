//! The network and what routes over it: links and their latencies (`network.rs`), regions
//! (`region.rs`), load balancers (`load_balancer.rs`, their policies in `balance.rs`), DNS
//! (`dns.rs`), API gateways (`gateway.rs`: a balancer with auth, size and rate limits), and the health checks balancers and DNS share (`health.rs`).

pub mod balance;
pub mod dns;
pub mod gateway;
pub mod health;
pub mod load_balancer;
pub mod network;
pub mod region;
