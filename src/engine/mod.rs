//! The deterministic discrete-event engine: simulated time, the event queue, random streams,
//! slabs, and the loop that pops events and hands them to the model.
//!
//! Nothing here touches files, the terminal, the environment or the wall clock: a run is a
//! pure function of (scenario, seed).

pub mod event;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod slab;
pub mod time;

#[cfg(test)]
mod conservation_tests;
