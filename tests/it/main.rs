//! Integration tests: they drive the real `dsim` binary, as users and CI do.

mod bad_input;
mod bad_input_cases;
mod check;
mod common;
mod determinism;
mod docs_schema;
mod failures;
mod figures;
mod golden;
mod hostile_input;
mod lessons;
mod outputs;
mod physics;
mod physics_connections;
mod physics_memory;
mod replications;
mod report;
mod scenarios;
mod schema_check;
mod sweep;
mod theory;
mod theory_cores;
mod theory_distributed;
mod timeseries;
mod usability;
mod warmup;
