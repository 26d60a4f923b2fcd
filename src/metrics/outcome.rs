//! How requests end. Every logical request ends in exactly one outcome, and the counters
//! below are the only place outcomes are added up, so `total = completed + rejected +
//! timed_out + failed` holds by construction and is checked by tests.

/// The answer a component gives to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Status {
    #[default]
    Ok,
    QueueFull,
    ConnectionLimit,
    OutOfMemory,
    NoHealthyBackend,
    BackendDown,
    /// A replicated database had no primary (failing over) for a write or a primary read.
    NoPrimary,
    /// The class's circuit breaker was open: the client did not send the attempt.
    CircuitOpen,
    /// A caller had no local port left towards the callee (all open or in TIME_WAIT).
    PortsExhausted,
    /// An API gateway's rate limit refused it (HTTP 429).
    RateLimited,
    /// An API gateway refused it for its size before reading it (HTTP 413).
    TooLarge,
}

/// How many statuses there are: the length of every per-status counter array.
pub const STATUS_COUNT: usize = 11;

/// Reasons a request is refused at the door (it never got served).
pub const REJECT_REASONS: [Status; 9] = [
    Status::QueueFull,
    Status::ConnectionLimit,
    Status::OutOfMemory,
    Status::NoHealthyBackend,
    Status::NoPrimary,
    Status::CircuitOpen,
    Status::PortsExhausted,
    Status::RateLimited,
    Status::TooLarge,
];

impl Status {
    /// The name used in summaries and CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::QueueFull => "queue_full",
            Status::ConnectionLimit => "connection_limit",
            Status::OutOfMemory => "out_of_memory",
            Status::NoHealthyBackend => "no_healthy_backend",
            Status::BackendDown => "backend_down",
            Status::NoPrimary => "no_primary",
            Status::CircuitOpen => "circuit_open",
            Status::PortsExhausted => "ports_exhausted",
            Status::RateLimited => "rate_limited",
            Status::TooLarge => "too_large",
        }
    }

    /// Refusals are rejections; anything else that is not `Ok` is a failure.
    pub fn is_rejection(self) -> bool {
        REJECT_REASONS.contains(&self)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why a request failed (it was accepted, then lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The component serving it was down (crashed, or not yet taken out by health checks).
    BackendDown,
    /// Still unfinished when the drain after the run's end ran out.
    SimulationEnded,
}

/// The final outcome of a logical request (after retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Rejected(Status),
    TimedOut,
    Failed(FailReason),
}

/// Outcome counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub total: u64,
    pub completed: u64,
    pub timed_out: u64,
    /// Indexed by `Status::index()`; only rejection reasons are used.
    pub rejected_by: [u64; STATUS_COUNT],
    pub failed_backend_down: u64,
    pub failed_simulation_ended: u64,
}

impl OutcomeCounts {
    pub fn add(&mut self, outcome: Outcome) {
        self.total += 1;
        match outcome {
            Outcome::Completed => self.completed += 1,
            Outcome::Rejected(s) => self.rejected_by[s.index()] += 1,
            Outcome::TimedOut => self.timed_out += 1,
            Outcome::Failed(FailReason::BackendDown) => self.failed_backend_down += 1,
            Outcome::Failed(FailReason::SimulationEnded) => self.failed_simulation_ended += 1,
        }
    }

    pub fn rejected(&self) -> u64 {
        self.rejected_by.iter().sum()
    }

    pub fn failed(&self) -> u64 {
        self.failed_backend_down + self.failed_simulation_ended
    }

    /// Not completed: rejected, timed out or failed.
    pub fn errors(&self) -> u64 {
        self.total - self.completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_add_up() {
        let mut c = OutcomeCounts::default();
        c.add(Outcome::Completed);
        c.add(Outcome::Rejected(Status::QueueFull));
        c.add(Outcome::Rejected(Status::OutOfMemory));
        c.add(Outcome::TimedOut);
        c.add(Outcome::Failed(FailReason::BackendDown));
        assert_eq!(c.total, 5);
        assert_eq!(
            c.completed + c.rejected() + c.timed_out + c.failed(),
            c.total
        );
        assert_eq!(c.errors(), 4);
    }

    #[test]
    fn only_refusals_are_rejections() {
        assert!(Status::QueueFull.is_rejection());
        assert!(!Status::BackendDown.is_rejection());
        assert!(!Status::Ok.is_rejection());
    }
}
