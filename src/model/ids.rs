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

/// One of a server machine's connection pools, by its place in `ServerSpec::pools`. Two
/// bytes even as an `Option` (a frame carries one); a server has far fewer than 2¹⁶ − 1
/// pools (one per database it calls, of at most 1,000 components).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolId(std::num::NonZeroU16);

impl PoolId {
    #[inline]
    pub fn from_index(i: usize) -> PoolId {
        let stored = u16::try_from(i + 1).unwrap_or(u16::MAX);
        PoolId(std::num::NonZeroU16::new(stored).unwrap_or(std::num::NonZeroU16::MAX))
    }

    #[inline]
    pub fn index(self) -> usize {
        usize::from(self.0.get() - 1)
    }
}
