//! The context every handler works in: the clock, the event queue, the requests and call
//! frames, the network's live state, the liveness table, and the run's measurements.
//!
//! A component's handlers touch only their own state and this context; another component is
//! reached through its door (`component::Others`) or by an event. How messages cross the
//! network is in `net/network.rs` and `net/region.rs` (`impl Context` blocks there).

use crate::engine::queue::EventQueue;
use crate::engine::rng::Stream;
use crate::engine::slab::Slab;
use crate::engine::time::SimTime;
use crate::metrics::histogram::Latency;
use crate::metrics::outcome::OutcomeCounts;
use crate::metrics::time_weighted::TimeWeighted;
use crate::metrics::timeseries::TimeSeries;
use crate::model::Scenario;
use crate::model::client::workload::Class;
use crate::model::compute::host::Host;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId, RequestId};
use crate::model::messaging::{CARRIER, Op, queue_of};
use crate::model::request::{Frame, Request};

/// Run-wide measurements.
#[derive(Debug, Default)]
pub struct RunMetrics {
    pub latency: Latency,
    pub class_latency: Vec<Latency>,
    pub outcomes: OutcomeCounts,
    pub class_outcomes: Vec<OutcomeCounts>,
    /// Per user region (empty without regions).
    pub region_outcomes: Vec<OutcomeCounts>,
    /// Logical requests completed during the window, whenever they started (throughput).
    pub completed_in_window: u64,
    /// Of those, the ones that took at most `Scenario::goodput_within` (goodput).
    pub good_in_window: u64,
    /// `Scenario::goodput_within`, read once.
    pub good_within: SimTime,
    pub class_completed_in_window: Vec<u64>,
    /// Attempts after the first, of counted requests.
    pub retries: u64,
    /// Logical requests in the system (for Little's law).
    pub in_system: TimeWeighted,
    pub in_system_area_at_start: u128,
    pub in_system_area_at_end: u128,
    /// Σ (end − first start) over counted requests, any outcome.
    pub sojourn_sum_ns: u128,
    /// Latency of counted requests completed while a scheduled job ran (empty without jobs).
    pub latency_during_jobs: Latency,
    pub timeseries: TimeSeries,
}

/// Start and end of the measurement window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: SimTime,
    pub end: SimTime,
}

impl Window {
    #[inline]
    pub fn contains(&self, t: SimTime) -> bool {
        t >= self.start && t < self.end
    }

    pub fn span(&self) -> SimTime {
        self.end - self.start
    }
}

/// What the network is doing now: its random stream, and the faults in force on it.
#[derive(Debug)]
pub struct NetState {
    pub rng: Stream,
    /// Extra one-way latency per link from latency-spike faults: `from * n + to`, and the
    /// users' link last. Empty until the first spike.
    pub extra_latency: Vec<SimTime>,
    /// Region pairs whose link is cut (a partition fault), with the time it heals.
    pub cut_links: Vec<(u16, u16, SimTime)>,
    /// No regions and no latency spike: messages take their link's latency only.
    pub plain: bool,
}

/// Which machines are up, as others may see it (a balancer's or DNS's health checks). Each
/// component writes only its own entries, when its machines crash or come back; a balancer
/// or a DNS has one entry for itself.
#[derive(Debug, Default)]
pub struct Liveness {
    up: Vec<Vec<bool>>,
}

impl Liveness {
    /// Everything up: `slots[c]` entries for component `c`.
    pub fn new(slots: impl Iterator<Item = usize>) -> Liveness {
        Liveness {
            up: slots.map(|n| vec![true; n]).collect(),
        }
    }

    #[inline]
    pub fn machine_up(&self, c: ComponentId, machine: u32) -> bool {
        self.up[c.index()][machine as usize]
    }

    /// Whether any machine of `c` is up.
    pub fn any_up(&self, c: ComponentId) -> bool {
        self.up[c.index()].iter().any(|&u| u)
    }

    pub fn set(&mut self, c: ComponentId, machine: u32, up: bool) {
        self.up[c.index()][machine as usize] = up;
    }
}

/// Everything a handler may touch besides its own component.
pub struct Context {
    /// The validated scenario, read-only.
    pub scenario: Scenario,
    pub now: SimTime,
    pub queue: EventQueue<Event>,
    pub requests: Slab<Request>,
    pub frames: Slab<Frame>,
    pub net: NetState,
    /// The physical machines: cores, memory, NIC and disk, shared by the processes on each.
    pub hosts: Vec<Host>,
    /// Per component, the host of its machine 0 (its machines' hosts follow in order);
    /// `u32::MAX` for a balancer or a DNS.
    pub first_host: Vec<u32>,
    /// Whether any host runs more than one process (else no call is a loopback).
    pub shared_hosts: bool,
    /// Where each carrier's answer goes, by global home id: a queue poller's consumer
    /// machine, or a topic (its machine 0) for a subscription's copies.
    pub carrier_homes: Vec<(ComponentId, u32)>,
    /// By global home id, the messages its carrier's call processes at once: a poller's
    /// whole batch while it is one call (`process: batch`), 1 otherwise. (Kept here, not
    /// in `Frame`, which stays within a cache line.)
    pub carrier_messages: Vec<u16>,
    pub live: Liveness,
    pub metrics: RunMetrics,
    pub window: Window,
    /// False once the run's duration is over: no new requests start.
    pub accepting: bool,
    /// Logical requests not yet concluded.
    pub outstanding: u64,
    /// Scheduled jobs running now.
    pub jobs_running: u32,
    /// Users' kept-alive connections (empty unless `workload.connections` is `keep_alive`):
    /// per closed-loop user, one per entry its classes use (`kept_slots` of them, at
    /// `user × kept_slots + kept_slot[class]`). The entry writes one when it accepts or
    /// refuses a new connection; the user reads it to send its next request on it.
    pub kept: Vec<KeptConnection>,
    pub kept_slots: u32,
    /// Per request class, which of a user's entries it goes to.
    pub kept_slot: Vec<u16>,
}

/// A user's connection kept open at an entry machine.
#[derive(Debug, Clone, Copy)]
pub struct KeptConnection {
    pub component: ComponentId,
    pub machine: u32,
    /// The machine's epoch when it accepted the connection (a crash since killed it).
    pub epoch: u16,
    pub open: bool,
}

impl Default for KeptConnection {
    fn default() -> Self {
        KeptConnection {
            component: ComponentId::from_index(0),
            machine: 0,
            epoch: 0,
            open: false,
        }
    }
}

impl Context {
    /// Whether machine `machine` of `c` runs on host `h` (beside the caller).
    #[inline]
    pub fn on_host(&self, h: u32, c: ComponentId, machine: u32) -> bool {
        self.shared_hosts && self.host_of(c, machine) == Some(h)
    }

    /// The host of machine `machine` of `c`, if it is a server's.
    #[inline]
    pub fn host_of(&self, c: ComponentId, machine: u32) -> Option<u32> {
        let first = self.first_host[c.index()];
        (first != u32::MAX).then(|| first + machine)
    }

    /// Schedules `event` at absolute time `at`.
    #[inline]
    pub fn schedule(&mut self, at: SimTime, event: Event) {
        self.queue.push(at, event);
    }

    /// Whether frame `fr`'s connection closes once it has been answered: a new one does,
    /// except a user's kept alive (it stays open until its idle timeout).
    #[inline]
    pub fn closes_after(&self, fr: &Frame) -> bool {
        fr.fresh_connection && (fr.parent.is_some() || self.kept.is_empty())
    }

    /// Where user `user`'s kept-alive connection for request class `class` is in `kept`.
    #[inline]
    pub fn kept_index(&self, user: u32, class: u16) -> usize {
        user as usize * self.kept_slots as usize + usize::from(self.kept_slot[usize::from(class)])
    }

    /// Entry machine `machine` of `component` (epoch `epoch`) accepted (`open`) or refused a
    /// new connection from the user of root frame `fr`, when users keep theirs alive. A
    /// connection it held there already (a retry that opened another while the first was
    /// still being set up) is left to idle out.
    #[inline]
    pub fn note_user_connection(
        &mut self,
        fr: &Frame,
        component: ComponentId,
        epoch: u16,
        open: bool,
    ) {
        if fr.parent.is_some() || self.kept.is_empty() {
            return;
        }
        let req = self.requests.get(fr.request);
        if req.user == CARRIER {
            return;
        }
        let i = self.kept_index(req.user, req.class);
        self.idle_out_slot(i);
        self.kept[i] = KeptConnection {
            component,
            machine: fr.machine,
            epoch,
            open,
        };
    }

    /// User `user`'s kept-alive connections have nothing to do for longer than the server
    /// allows: the servers close them when the idle timeout has passed, from now.
    pub fn idle_out(&mut self, user: u32) {
        if self.kept.is_empty() {
            return;
        }
        let first = user as usize * self.kept_slots as usize;
        for i in first..first + self.kept_slots as usize {
            self.idle_out_slot(i);
        }
    }

    /// The connection in slot `i` of `kept`, if open, idles out from now.
    pub fn idle_out_slot(&mut self, i: usize) {
        let (Some(k), Some(idle)) = (self.kept.get_mut(i), self.scenario.workload.keep_alive)
        else {
            return;
        };
        if !k.open {
            return;
        }
        k.open = false;
        let ev = Event::IdleClose {
            component: k.component,
            machine: k.machine,
            epoch: k.epoch,
        };
        self.schedule(self.now + idle, ev);
    }

    /// The class of request `r`.
    #[inline]
    pub fn class_of(&self, r: RequestId) -> &Class {
        &self.scenario.workload.classes[usize::from(self.requests.get(r).class)]
    }

    /// Whether periodic work (health checks) should go on: the run is still accepting
    /// requests or draining them.
    #[inline]
    pub fn still_running(&self) -> bool {
        self.accepting || self.outstanding > 0
    }

    /// How long the answer of a queue poller's call at `component`'s machine `machine` takes
    /// back to the poller: none from its own service (a message it processed), the link's
    /// from the broker.
    fn carrier_latency(&mut self, r: RequestId, component: ComponentId, machine: u32) -> SimTime {
        let (_, poller) = queue_of(self.requests.get(r));
        let (home, home_machine) = self.carrier_homes[poller as usize];
        if home == component {
            SimTime::ZERO
        } else {
            self.link_latency(component, machine, home, home_machine)
        }
    }

    /// Messages call frame `fr` processes at once (`carrier_messages`): a consumer's whole
    /// batch at the consumer (not the calls its handler makes, which name the same
    /// carrier); 1 for any other frame.
    #[inline]
    pub fn messages_at(&self, fr: &Frame) -> u16 {
        self.messages_of(fr, self.requests.get(fr.request))
    }

    /// `messages_at` for frame `fr` of request `req`, already at hand.
    #[inline]
    pub fn messages_of(&self, fr: &Frame, req: &Request) -> u16 {
        if fr.parent.is_some() {
            return 1;
        }
        // Only a delivery names a home by its key (a producer's send names its key's hash).
        if Op::of(req) == Some(Op::Deliver) {
            self.carrier_messages
                .get((req.key as u32) as usize)
                .copied()
                .unwrap_or(1)
        } else {
            1
        }
    }

    /// Schedules frame `f`'s answer to arrive at its caller, leaving its component at `at`.
    /// The caller's NIC receives it when it arrives (the caller's `answer_returned`).
    #[inline]
    pub fn send_back(&mut self, f: FrameId, at: SimTime) {
        let fr = self.frames.get(f);
        let (request, component, machine) = (fr.request, fr.component, fr.machine);
        let latency = match fr.parent {
            None if fr.answer_received && self.requests.get(request).user == CARRIER => {
                self.carrier_latency(request, component, machine)
            }
            None => self.user_latency(request, component, machine),
            Some(p) => {
                let parent = self.frames.get(p);
                let (to, to_machine) = (parent.component, parent.machine);
                self.link_latency(component, machine, to, to_machine)
            }
        };
        self.schedule(at + latency, Event::FrameReturn { frame: f });
    }
}
