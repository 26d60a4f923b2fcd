//! Experiments over many runs: plan the runs, run them in parallel, combine the results.
//! Replications (one scenario, several seeds), sweeps and comparisons (a grid of overrides,
//! or of scenarios), sweep slices and their merge, and capacity searches. Pure apart from
//! the threads of `runner` (results collected by index, so they do not depend on the
//! threads): the command line parses and prints (`cli/`), the renderers turn the combined
//! results into text (`report/replications.rs`, `sweep.rs`, `compare.rs`, `capacity.rs`).

pub(crate) mod capacity;
pub(crate) mod replications;
pub(crate) mod runner;
pub(crate) mod shard;
pub(crate) mod sweep;
