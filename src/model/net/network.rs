//! Links: the one-way latency between the users and the entry component and between any two
//! components, from presets (same machine, LAN, region, internet) or explicit distributions.
//!
//! Lookups are by dense component index into a square table built once, so sending a message
//! costs one array read and one draw. `Context::link_latency` and `user_latency` add what
//! latency spikes, regions and cut links add, only when the scenario has any.

use crate::engine::rng::Stream;
use crate::engine::time::SimTime;
use crate::model::context::Context;
use crate::model::distribution::Dist;
use crate::model::ids::{ComponentId, RequestId};
use crate::model::net::region::Regions;
use crate::scenario::raw::{LinkPreset, RawDist};

/// The distribution behind a preset; the figures are documented in docs/scenario-format.md.
pub fn preset_dist(preset: LinkPreset) -> RawDist {
    match preset {
        LinkPreset::Ipc => RawDist::Constant { ms: 0.01 },
        LinkPreset::Lan => RawDist::Lognormal {
            mean_ms: 0.25,
            std_ms: 0.1,
        },
        LinkPreset::Region => RawDist::Lognormal {
            mean_ms: 2.0,
            std_ms: 0.5,
        },
        LinkPreset::Internet => RawDist::Lognormal {
            mean_ms: 40.0,
            std_ms: 15.0,
        },
    }
}

/// All links of a scenario.
#[derive(Debug, Clone)]
pub struct Network {
    /// Users ↔ entry component.
    pub client: Dist,
    /// Distinct link distributions; `table` points into it.
    pub links: Vec<Dist>,
    /// `table[from * n + to]`: index into `links`.
    pub table: Vec<u16>,
    pub n: usize,
    /// Regions, if the scenario declares more than one.
    pub regions: Option<Regions>,
}

impl Network {
    /// One-way latency from component `from` to component `to`.
    #[inline]
    pub fn latency(&self, from: ComponentId, to: ComponentId, rng: &mut Stream) -> SimTime {
        let link = self.table[from.index() * self.n + to.index()];
        self.links[link as usize].sample(rng)
    }

    /// One-way latency between a user and the entry component.
    #[inline]
    pub fn client_latency(&self, rng: &mut Stream) -> SimTime {
        self.client.sample(rng)
    }
}

impl Context {
    /// One-way latency of a message from machine `from_machine` of component `from` to
    /// machine `to_machine` of component `to`.
    #[inline]
    pub fn link_latency(
        &mut self,
        from: ComponentId,
        from_machine: u32,
        to: ComponentId,
        to_machine: u32,
    ) -> SimTime {
        let t = self.scenario.network.latency(from, to, &mut self.net.rng);
        if self.net.plain {
            return t;
        }
        t + self.link_extra(from, from_machine, to, to_machine)
    }

    /// What latency spikes, regions and cut links add to a message between two machines.
    #[inline(never)]
    fn link_extra(
        &mut self,
        from: ComponentId,
        from_machine: u32,
        to: ComponentId,
        to_machine: u32,
    ) -> SimTime {
        let mut t = SimTime::ZERO;
        if !self.net.extra_latency.is_empty() {
            t += self.net.extra_latency[from.index() * self.scenario.network.n + to.index()];
        }
        if self.scenario.network.regions.is_some() {
            let a = self.machine_region(from, from_machine);
            let b = self.machine_region(to, to_machine);
            t += self.region_hop(a, b);
        }
        t
    }

    /// One-way latency between the user of request `r` and machine `machine` of component
    /// `c`.
    #[inline]
    pub fn user_latency(&mut self, r: RequestId, c: ComponentId, machine: u32) -> SimTime {
        let t = self.scenario.network.client_latency(&mut self.net.rng);
        if self.net.plain {
            return t;
        }
        t + self.user_extra(r, c, machine)
    }

    /// What latency spikes, regions and cut links add between a user and a machine.
    #[inline(never)]
    fn user_extra(&mut self, r: RequestId, c: ComponentId, machine: u32) -> SimTime {
        let user = self.requests.get(r).user;
        let mut t = SimTime::ZERO;
        if let Some(extra) = self.net.extra_latency.last() {
            t += *extra;
        }
        if self.scenario.network.regions.is_some() {
            let (a, b) = (self.user_region(user), self.machine_region(c, machine));
            t += self.region_hop(a, b);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream_for;

    #[test]
    fn presets_are_ordered_by_distance() {
        let mean = |p| Dist::from_raw(&preset_dist(p)).unwrap().mean_ns();
        assert!(mean(LinkPreset::Ipc) < mean(LinkPreset::Lan));
        assert!(mean(LinkPreset::Lan) < mean(LinkPreset::Region));
        assert!(mean(LinkPreset::Region) < mean(LinkPreset::Internet));
    }

    #[test]
    fn table_lookup_uses_the_pair_link() {
        let c = |ms| Dist::Constant(SimTime::from_ms(ms));
        let net = Network {
            client: c(40.0),
            links: vec![c(0.25), c(0.01)],
            table: vec![0, 1, 1, 0],
            n: 2,
            regions: None,
        };
        let mut rng = stream_for(0, "net");
        let (a, b) = (ComponentId::from_index(0), ComponentId::from_index(1));
        assert_eq!(net.latency(a, b, &mut rng), SimTime::from_ms(0.01));
        assert_eq!(net.latency(b, b, &mut rng), SimTime::from_ms(0.25));
        assert_eq!(net.client_latency(&mut rng), SimTime::from_ms(40.0));
    }
}
