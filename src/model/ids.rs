//! Typed ids: a component's place in the scenario, and the slab ids of requests and call
//! frames. Each names one kind of thing, so one cannot be passed where another is meant.

use crate::engine::slab::Id;
use crate::model::request::{Frame, Request};

/// A component: its index in `Scenario::components` (sorted by name) and in the simulation's
/// component table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct ComponentId(u32);

impl ComponentId {
    #[inline]
    pub const fn from_index(i: usize) -> ComponentId {
        ComponentId(i as u32)
    }

    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// One call being served by one component.
pub type FrameId = Id<Frame>;

/// One attempt of a logical request.
pub type RequestId = Id<Request>;
