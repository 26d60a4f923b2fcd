//! The users: the workload they send (`workload.rs`: load model, profile, classes, keys,
//! retries), what they do with each request (`users.rs`: attempts, retries, the one place a
//! request concludes), their timeouts (`timeouts.rs`) and circuit breakers (`breaker.rs`).

pub mod breaker;
pub mod timeouts;
pub mod users;
pub mod workload;
