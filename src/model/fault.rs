//! Scheduled faults on the simulated clock. This first slice has machine crashes with an
//! optional recovery; what a crash does to a replica is in `steps.rs`.

use crate::engine::event::EventKind;
use crate::engine::sim::{Component, Simulation};
use crate::engine::time::SimTime;

/// A validated fault.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Replica `replica` of server component `component` stops at `at`, and comes back at
    /// `recover_at` if given.
    Crash {
        component: u32,
        replica: u32,
        at: SimTime,
        recover_at: Option<SimTime>,
    },
}

impl Simulation {
    /// Fault `index` starts (`phase` 0) or ends (`phase` 1).
    pub(crate) fn fault(&mut self, index: u32, phase: u32) {
        let Fault::Crash {
            component,
            replica,
            recover_at,
            ..
        } = self.scenario.faults[index as usize].clone();
        if !matches!(self.components[component as usize], Component::Server(_)) {
            return;
        }
        if phase == 0 {
            self.crash_replica(component, replica);
            if let Some(at) = recover_at {
                self.schedule(at, EventKind::Fault, index, 1);
            }
        } else {
            self.recover_replica(component, replica);
        }
    }
}
