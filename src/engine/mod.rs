//! The deterministic discrete-event engine: simulated time, the event queue, random streams
//! and slabs. It knows nothing of the model: the queue holds any `Copy` event type and the
//! slab any record; the model (`model::sim`) owns the loop that pops events and dispatches
//! them.
//!
//! Nothing here touches files, the terminal, the environment or the wall clock: a run is a
//! pure function of (scenario, seed).

pub mod queue;
pub mod rng;
pub mod slab;
pub mod time;
