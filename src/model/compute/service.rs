//! Services: servers that run the handlers a scenario writes (CPU, disk, calls to other
//! components). A service has no steps of its own: everything it does is the shared
//! machinery of `server.rs` and `steps.rs`.

use crate::model::compute::server::{Flow, Server, ServerKind, ServerSpec};
use crate::model::context::Context;
use crate::model::ids::FrameId;
use crate::model::request::{Frame, Request};

/// A service has no steps of its own (an enum with no values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoOwnStep {}

/// A service as the scenario describes it.
pub type ServiceSpec = ServerSpec<NoOwnStep>;

/// A service's live state.
#[derive(Debug)]
pub struct Service {
    pub server: Server<NoOwnStep>,
}

impl ServerKind for Service {
    type Own = NoOwnStep;

    #[inline]
    fn server(&mut self) -> &mut Server<NoOwnStep> {
        &mut self.server
    }

    fn own_step(
        &mut self,
        _: &mut Context,
        _: FrameId,
        _: &Frame,
        _: &Request,
        step: NoOwnStep,
        _: u16,
    ) -> Flow {
        match step {}
    }
}
