//! Capacity that changes while a run goes on: fleets whose replica count follows a schedule
//! or an autoscaler (`fleet.rs`: machines starting, serving, draining, and what they cost),
//! the autoscaler's rule (`autoscaler.rs`), and deploys of a new version (`deploy.rs`). Replica changes are events on the simulated
//! clock like faults, so a run stays reproducible and every chart shares its time axis.

pub mod autoscaler;
pub mod deploy;
pub mod fleet;
