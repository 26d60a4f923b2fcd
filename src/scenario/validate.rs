//! Validation: raw serde types → the model's typed `Scenario`, resolving names to ids and
//! converting units, while collecting *every* problem with its JSON path so a user fixes a
//! file in one pass instead of one error per run.

use crate::engine::time::SimTime;
use crate::model::database::{Query, query_program};
use crate::model::distribution::Dist;
use crate::model::load_balancer::{BalancerSpec, HealthCheck};
use crate::model::machine::Machine;
use crate::model::network::{Network, preset_dist};
use crate::model::server::{CachePolicy, Role, ServerSpec, Step};
use crate::model::workload::{Class, Keys, LoadModel, Profile, Retry, Workload};
use crate::model::{ComponentKind, ComponentSpec, Fault, Scenario};
use crate::scenario::raw::*;
use crate::scenario::suggest::hint;
use rand_distr::Zipf;
use std::collections::BTreeMap;

/// One thing wrong with a scenario, at a JSON path such as `components.api.machine.cores`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// The id given to a reference that does not resolve (validation fails, so it is never run).
const UNKNOWN: u32 = u32::MAX;

/// The largest LRU key space: its arrays take about 9 bytes per key.
const MAX_LRU_KEYS: u64 = 50_000_000;
/// Closed-model users are indices in events (u32); keep well inside.
const MAX_USERS: u64 = 100_000_000;

struct Checker<'a> {
    raw: &'a RawScenario,
    problems: Vec<Problem>,
    names: Vec<&'a str>,
    class_names: Vec<String>,
}

impl<'a> Checker<'a> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn positive(&mut self, path: &str, v: f64) -> f64 {
        if !(v.is_finite() && v > 0.0) {
            self.problem(path, format!("must be a finite number > 0, got {v}"));
        }
        v
    }

    fn non_negative(&mut self, path: &str, v: f64) -> f64 {
        if !(v.is_finite() && v >= 0.0) {
            self.problem(path, format!("must be a finite number ≥ 0, got {v}"));
        }
        v
    }

    fn at_least(&mut self, path: &str, v: u64, min: u64) -> u64 {
        if v < min {
            self.problem(path, format!("must be ≥ {min}, got {v}"));
        }
        v
    }

    fn dist(&mut self, path: &str, raw: &RawDist) -> Dist {
        match Dist::from_raw(raw) {
            Ok(d) => d,
            Err((field, msg)) => {
                let family = serde_json::to_value(raw)
                    .ok()
                    .and_then(|v| v.as_object().and_then(|o| o.keys().next().cloned()))
                    .unwrap_or_default();
                self.problem(format!("{path}.{family}.{field}"), msg);
                Dist::Constant(SimTime::ZERO)
            }
        }
    }

    /// The id of component `name`, or `UNKNOWN` and a problem with a suggestion.
    fn component(&mut self, path: &str, name: &str) -> u32 {
        match self.names.binary_search(&name) {
            Ok(i) => i as u32,
            Err(_) => {
                let h = hint(name, self.names.iter().copied());
                self.problem(path, format!("no component named `{name}`{h}"));
                UNKNOWN
            }
        }
    }

    fn kind_of(&self, id: u32) -> Option<&'a RawComponent> {
        self.raw.components.values().nth(id as usize)
    }

    fn link(&mut self, path: &str, link: &RawLink) -> Dist {
        match (&link.preset, &link.latency_ms) {
            (Some(p), None) => {
                Dist::from_raw(&preset_dist(*p)).unwrap_or(Dist::Constant(SimTime::ZERO))
            }
            (None, Some(d)) => self.dist(&format!("{path}.latency_ms"), d),
            _ => {
                self.problem(
                    path,
                    "give exactly one of `preset` (ipc, lan, region, internet) or `latency_ms`",
                );
                Dist::Constant(SimTime::ZERO)
            }
        }
    }
}

/// Checks `raw` and builds the typed scenario, or returns every problem found.
pub fn validate(raw: &RawScenario) -> Result<Scenario, Vec<Problem>> {
    let mut names: Vec<&str> = raw.components.keys().map(String::as_str).collect();
    names.sort_unstable();
    let class_names: Vec<String> = if raw.workload.classes.is_empty() {
        vec!["default".to_string()]
    } else {
        raw.workload.classes.keys().cloned().collect()
    };
    let mut c = Checker {
        raw,
        problems: Vec::new(),
        names,
        class_names,
    };
    if raw.name.trim().is_empty() {
        c.problem("name", "must not be empty");
    }
    if raw.name.contains(['/', '\\']) || raw.name.starts_with('.') {
        c.problem(
            "name",
            "is used as a folder name: no slashes and no leading dot",
        );
    }
    let duration = c.positive("duration_s", raw.duration_s);
    let warmup = c.non_negative("warmup_s", raw.warmup_s);
    if duration > 0.0 && warmup >= duration {
        c.problem(
            "warmup_s",
            format!("must be shorter than duration_s ({duration}), got {warmup}"),
        );
    }
    c.positive("interval_s", raw.interval_s);
    c.at_least("max_events", raw.max_events, 1);
    if raw.components.is_empty() {
        c.problem("components", "needs at least one component");
    }
    for name in raw.components.keys() {
        if name.is_empty()
            || !name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            c.problem(
                format!("components.{name}"),
                "names use letters, digits, `_` and `-` only",
            );
        }
    }
    let workload = workload(&mut c);
    let key_space = workload
        .classes
        .iter()
        .map(|k| k.keys.count())
        .max()
        .unwrap_or(1);
    let components: Vec<ComponentSpec> = raw
        .components
        .iter()
        .map(|(name, comp)| ComponentSpec {
            name: name.clone(),
            kind: component(&mut c, name, comp, key_space),
        })
        .collect();
    check_call_cycles(&mut c, &components);
    let network = network(&mut c);
    let faults = faults(&mut c, &components);
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(Scenario {
        name: raw.name.clone(),
        description: raw.description.clone(),
        seed: raw.seed,
        duration: SimTime::from_secs(duration),
        warmup: SimTime::from_secs(warmup),
        max_events: raw.max_events,
        interval: SimTime::from_secs(raw.interval_s),
        network,
        workload,
        components,
        faults,
    })
}

fn workload(c: &mut Checker) -> Workload {
    let w = &c.raw.workload;
    let model = match &w.model {
        RawLoadModel::Closed {
            users,
            think_time_ms,
        } => {
            let users = c.at_least("workload.model.closed.users", *users, 1);
            if users > MAX_USERS {
                c.problem(
                    "workload.model.closed.users",
                    format!("at most {MAX_USERS}, got {users}"),
                );
            }
            let think = c.dist("workload.model.closed.think_time_ms", think_time_ms);
            LoadModel::Closed { users, think }
        }
        RawLoadModel::Open { rate_per_s } => LoadModel::Open {
            rate_per_s: c.positive("workload.model.open.rate_per_s", *rate_per_s),
        },
    };
    let closed = matches!(model, LoadModel::Closed { .. });
    let profile = profile(c, &w.profile, closed);
    let default_class = RawClass {
        weight: 1.0,
        entry: None,
        request_bytes: 1_000,
        response_bytes: 10_000,
        keys: RawKeys::default(),
    };
    let raw_classes: Vec<(String, RawClass)> = if w.classes.is_empty() {
        vec![("default".into(), default_class)]
    } else {
        w.classes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut classes = Vec::new();
    let mut cumulative_weights = Vec::new();
    let mut total = 0.0;
    for (name, class) in raw_classes {
        let path = format!("workload.classes.{name}");
        let weight = c.positive(&format!("{path}.weight"), class.weight);
        total += weight;
        cumulative_weights.push(total);
        let entry = match &class.entry {
            Some(e) => c.component(&format!("{path}.entry"), e),
            None => c.component("workload.entry", &w.entry),
        };
        let keys = match class.keys {
            RawKeys::Uniform { count } => Keys::Uniform {
                count: c
                    .at_least(&format!("{path}.keys.uniform.count"), count, 1)
                    .max(1),
            },
            RawKeys::Zipf { count, exponent } => {
                let count = c
                    .at_least(&format!("{path}.keys.zipf.count"), count, 1)
                    .max(1);
                let exponent = c.non_negative(&format!("{path}.keys.zipf.exponent"), exponent);
                let dist = Zipf::new(count as f64, exponent.max(0.0))
                    .unwrap_or(Zipf::new(1.0, 1.0).expect("valid"));
                Keys::Zipf { count, dist }
            }
        };
        classes.push(Class {
            name,
            weight,
            entry,
            request_bytes: class.request_bytes,
            response_bytes: class.response_bytes,
            keys,
        });
    }
    let timeout = SimTime::from_ms(c.positive("workload.timeout_ms", w.timeout_ms));
    let r = &w.retry;
    let max_attempts =
        c.at_least("workload.retry.max_attempts", u64::from(r.max_attempts), 1) as u32;
    if max_attempts > 100 {
        c.problem(
            "workload.retry.max_attempts",
            format!("at most 100, got {max_attempts}"),
        );
    }
    let initial =
        SimTime::from_ms(c.non_negative("workload.retry.initial_backoff_ms", r.initial_backoff_ms));
    if !(r.multiplier.is_finite() && r.multiplier >= 1.0) {
        c.problem(
            "workload.retry.multiplier",
            format!("must be ≥ 1, got {}", r.multiplier),
        );
    }
    let max = SimTime::from_ms(c.non_negative("workload.retry.max_backoff_ms", r.max_backoff_ms));
    Workload {
        model,
        profile,
        classes,
        cumulative_weights,
        timeout,
        retry: Retry {
            max_attempts,
            initial,
            multiplier: r.multiplier,
            max,
            jitter: r.jitter,
        },
    }
}

fn profile(c: &mut Checker, raw: &RawProfile, closed: bool) -> Profile {
    let path = "workload.profile";
    let level = |c: &mut Checker, p: String, v: f64| {
        let v = c.non_negative(&p, v);
        if closed && v > 1.0 {
            c.problem(p, format!("a closed model's level is the share of users active, at most 1, got {v}; raise `users` instead"));
        }
        v
    };
    let profile = match raw {
        RawProfile::Constant => Profile::Constant,
        RawProfile::Steps(steps) => {
            if steps.is_empty() {
                c.problem(format!("{path}.steps"), "needs at least one step");
            }
            let mut out = Vec::new();
            for (i, s) in steps.iter().enumerate() {
                let at = c.non_negative(&format!("{path}.steps[{i}].at_s"), s.at_s);
                if i == 0 && at != 0.0 {
                    c.problem(
                        format!("{path}.steps[0].at_s"),
                        format!("the first step must start at 0, got {at}"),
                    );
                }
                if let Some((prev, _)) = out.last()
                    && SimTime::from_secs(at) <= *prev
                {
                    c.problem(
                        format!("{path}.steps[{i}].at_s"),
                        "steps must be in increasing time order",
                    );
                }
                let l = level(c, format!("{path}.steps[{i}].level"), s.level);
                out.push((SimTime::from_secs(at), l));
            }
            Profile::Steps(out)
        }
        RawProfile::Ramp {
            from,
            to,
            start_s,
            end_s,
        } => {
            let from = level(c, format!("{path}.ramp.from"), *from);
            let to = level(c, format!("{path}.ramp.to"), *to);
            let start = c.non_negative(&format!("{path}.ramp.start_s"), *start_s);
            let end = c.non_negative(&format!("{path}.ramp.end_s"), *end_s);
            if end <= start {
                c.problem(
                    format!("{path}.ramp.end_s"),
                    format!("must be after start_s ({start}), got {end}"),
                );
            }
            Profile::Ramp {
                from,
                to,
                start: SimTime::from_secs(start),
                end: SimTime::from_secs(end),
            }
        }
        RawProfile::Spike {
            base,
            peak,
            start_s,
            duration_s,
        } => {
            let base = level(c, format!("{path}.spike.base"), *base);
            let peak = level(c, format!("{path}.spike.peak"), *peak);
            let start = c.non_negative(&format!("{path}.spike.start_s"), *start_s);
            let span = c.positive(&format!("{path}.spike.duration_s"), *duration_s);
            Profile::Spike {
                base,
                peak,
                start: SimTime::from_secs(start),
                end: SimTime::from_secs(start + span),
            }
        }
    };
    if profile.max_level() <= 0.0 {
        c.problem(path, "the load is zero all the time; give some level > 0");
    }
    profile
}

fn machine(c: &mut Checker, path: &str, m: &RawMachine) -> Machine {
    let cores = c.at_least(&format!("{path}.cores"), u64::from(m.cores), 1) as u32;
    let speed = c.positive(&format!("{path}.cpu_speed"), m.cpu_speed);
    let ram = c.positive(&format!("{path}.ram_gb"), m.ram_gb);
    let base = c.non_negative(&format!("{path}.base_memory_gb"), m.base_memory_gb);
    if base >= ram {
        c.problem(
            format!("{path}.base_memory_gb"),
            format!("must be less than ram_gb ({ram}), got {base}"),
        );
    }
    let per_conn = c.non_negative(
        &format!("{path}.memory_per_connection_kb"),
        m.memory_per_connection_kb,
    );
    let per_req = c.non_negative(
        &format!("{path}.memory_per_request_kb"),
        m.memory_per_request_kb,
    );
    let nic = c.positive(&format!("{path}.nic_gbps"), m.nic_gbps);
    let conns = c.at_least(
        &format!("{path}.max_connections"),
        u64::from(m.max_connections),
        1,
    ) as u32;
    let iops = c.positive(&format!("{path}.disk_iops"), m.disk_iops);
    let cost = c.non_negative(&format!("{path}.cost_per_hour"), m.cost_per_hour);
    Machine::new(
        cores,
        speed.max(1e-9),
        ram,
        base,
        per_conn,
        per_req,
        nic.max(1e-9),
        conns,
        iops.max(1e-9),
        cost,
    )
}

/// For each class, the item of `map` named after it, else `default`, else a problem.
fn per_class<'m, T>(
    c: &mut Checker,
    path: &str,
    map: &'m BTreeMap<String, T>,
    what: &str,
) -> Vec<Option<&'m T>> {
    for key in map.keys() {
        if key != "default" && !c.class_names.contains(key) {
            let h = hint(key, c.class_names.iter().map(String::as_str));
            c.problem(
                format!("{path}.{key}"),
                format!(
                    "no request class named `{key}`{h} (classes are declared in workload.classes)"
                ),
            );
        }
    }
    let class_names = c.class_names.clone();
    class_names
        .iter()
        .map(|class| {
            let found = map.get(class).or_else(|| map.get("default"));
            if found.is_none() {
                c.problem(
                    path,
                    format!("no {what} for request class `{class}`; add `{class}` or `default`"),
                );
            }
            found
        })
        .collect()
}

fn component(c: &mut Checker, name: &str, comp: &RawComponent, key_space: u64) -> ComponentKind {
    let path = format!("components.{name}");
    match comp {
        RawComponent::Service(s) => ComponentKind::Server(service(c, &path, name, s)),
        RawComponent::Cache(k) => ComponentKind::Server(cache(c, &path, k, key_space)),
        RawComponent::Database(d) => ComponentKind::Server(database(c, &path, d)),
        RawComponent::LoadBalancer(b) => ComponentKind::Balancer(balancer(c, &path, b)),
    }
}

fn service(c: &mut Checker, path: &str, name: &str, s: &RawService) -> ServerSpec {
    let machine = machine(c, &format!("{path}.machine"), &s.machine);
    let replicas = c.at_least(&format!("{path}.replicas"), u64::from(s.replicas), 1) as u32;
    if replicas > 10_000 {
        c.problem(
            format!("{path}.replicas"),
            format!("at most 10000, got {replicas}"),
        );
    }
    let workers = c.at_least(&format!("{path}.workers"), u64::from(s.workers), 1) as u32;
    let mut pools = Vec::new();
    for (target, pool) in &s.connection_pools {
        let p = format!("{path}.connection_pools.{target}");
        let id = c.component(&p, target);
        if c.kind_of(id)
            .is_some_and(|k| !matches!(k, RawComponent::Database(_)))
            && c.names.contains(&target.as_str())
        {
            c.problem(
                &p,
                format!("`{target}` is not a database; pools hold database connections"),
            );
        }
        let size = c.at_least(&format!("{p}.size"), u64::from(pool.size), 1) as u32;
        pools.push((id, size));
    }
    let handlers = per_class(c, &format!("{path}.handlers"), &s.handlers, "handler");
    let mut programs = Vec::new();
    for (class_name, handler) in c.class_names.clone().iter().zip(handlers) {
        let Some(steps) = handler else {
            programs.push(Vec::new());
            continue;
        };
        let key = if s.handlers.contains_key(class_name) {
            class_name.as_str()
        } else {
            "default"
        };
        let hpath = format!("{path}.handlers.{key}");
        if steps.is_empty() {
            c.problem(&hpath, "needs at least one step (cpu_ms, disk_ios or call)");
        }
        let program = steps
            .iter()
            .enumerate()
            .map(|(i, step)| match step {
                RawStep::CpuMs(d) => Step::Cpu(
                    c.dist(&format!("{hpath}[{i}].cpu_ms"), d)
                        .scaled(1.0 / machine.cpu_speed),
                ),
                RawStep::DiskIos(n) => Step::Disk(*n),
                RawStep::Call(target) => {
                    let id = c.component(&format!("{hpath}[{i}].call"), target);
                    if target == name {
                        c.problem(format!("{hpath}[{i}].call"), "a service cannot call itself");
                    }
                    let pool = pools.iter().position(|&(t, _)| t == id).map(|p| p as u16);
                    Step::Call { target: id, pool }
                }
            })
            .collect();
        programs.push(program);
    }
    ServerSpec {
        role: Role::Service,
        machine,
        replicas,
        workers,
        queue_capacity: s.queue_capacity,
        programs,
        pools,
        connect: None,
        cache: None,
    }
}

fn cache(c: &mut Checker, path: &str, k: &RawCache, key_space: u64) -> ServerSpec {
    let machine = machine(c, &format!("{path}.machine"), &k.machine);
    let lookup = c
        .dist(&format!("{path}.lookup_ms"), &k.lookup_ms)
        .scaled(1.0 / machine.cpu_speed);
    let backing = c.component(&format!("{path}.backing"), &k.backing);
    let policy = match k.policy {
        RawCachePolicy::HitRatio(r) => {
            if !(0.0..=1.0).contains(&r) {
                c.problem(
                    format!("{path}.policy.hit_ratio"),
                    format!("must be between 0 and 1, got {r}"),
                );
            }
            CachePolicy::HitRatio(r)
        }
        RawCachePolicy::Lru { capacity_keys } => {
            c.at_least(
                &format!("{path}.policy.lru.capacity_keys"),
                capacity_keys,
                1,
            );
            if key_space > MAX_LRU_KEYS {
                c.problem(
                    format!("{path}.policy.lru"),
                    format!("an LRU tracks every key: the workload has {key_space} keys, at most {MAX_LRU_KEYS}; use hit_ratio or fewer keys"),
                );
            }
            CachePolicy::Lru {
                capacity: capacity_keys,
                key_count: key_space.min(MAX_LRU_KEYS),
            }
        }
    };
    let program = vec![
        Step::Cpu(lookup),
        Step::CacheLookup,
        Step::Call {
            target: backing,
            pool: None,
        },
        Step::CacheFill,
    ];
    ServerSpec {
        role: Role::Cache,
        machine,
        replicas: 1,
        workers: c.at_least(&format!("{path}.workers"), u64::from(k.workers), 1) as u32,
        queue_capacity: k.queue_capacity,
        programs: vec![program; c.class_names.len()],
        pools: Vec::new(),
        connect: None,
        cache: Some(policy),
    }
}

fn database(c: &mut Checker, path: &str, d: &RawDatabase) -> ServerSpec {
    let machine = machine(c, &format!("{path}.machine"), &d.machine);
    if !(d.unindexed_factor.is_finite() && d.unindexed_factor >= 1.0) {
        c.problem(
            format!("{path}.unindexed_factor"),
            format!("must be ≥ 1, got {}", d.unindexed_factor),
        );
    }
    let connect = c.dist(&format!("{path}.connect_ms"), &d.connect_ms);
    let queries = per_class(c, &format!("{path}.queries"), &d.queries, "query");
    let names = c.class_names.clone();
    let programs = names
        .iter()
        .zip(queries)
        .map(|(class, q)| match q {
            Some(q) => {
                let key = if d.queries.contains_key(class) {
                    class.as_str()
                } else {
                    "default"
                };
                let cpu = c.dist(&format!("{path}.queries.{key}.cpu_ms"), &q.cpu_ms);
                let query = Query {
                    op: q.op,
                    cpu,
                    disk_ios: q.disk_ios,
                };
                query_program(
                    &query,
                    d.indexed,
                    d.unindexed_factor.max(1.0),
                    machine.cpu_speed,
                )
            }
            None => Vec::new(),
        })
        .collect();
    ServerSpec {
        role: Role::Database,
        workers: machine.max_connections,
        machine,
        replicas: 1,
        queue_capacity: 0,
        programs,
        pools: Vec::new(),
        connect: Some(connect),
        cache: None,
    }
}

fn balancer(c: &mut Checker, path: &str, b: &RawLoadBalancer) -> BalancerSpec {
    if b.backends.is_empty() {
        c.problem(
            format!("{path}.backends"),
            "needs at least one backend service",
        );
    }
    if let Some(w) = &b.weights {
        if w.len() != b.backends.len() {
            c.problem(
                format!("{path}.weights"),
                format!(
                    "needs one weight per backend ({}), got {}",
                    b.backends.len(),
                    w.len()
                ),
            );
        }
        for (i, x) in w.iter().enumerate() {
            c.positive(&format!("{path}.weights[{i}]"), *x);
        }
    } else if b.policy == LbPolicy::Weighted {
        c.problem(
            format!("{path}.weights"),
            "policy `weighted` needs `weights`, one per backend",
        );
    }
    let mut backends = Vec::new();
    for (i, name) in b.backends.iter().enumerate() {
        let id = c.component(&format!("{path}.backends[{i}]"), name);
        let weight = b
            .weights
            .as_ref()
            .and_then(|w| w.get(i))
            .copied()
            .unwrap_or(1.0);
        match c.raw.components.get(name) {
            Some(RawComponent::Service(s)) => {
                backends.extend((0..s.replicas.max(1)).map(|r| (id, r, weight)))
            }
            Some(RawComponent::Cache(_) | RawComponent::Database(_)) => {
                backends.push((id, 0, weight))
            }
            Some(RawComponent::LoadBalancer(_)) => {
                c.problem(
                    format!("{path}.backends[{i}]"),
                    format!("`{name}` is a load balancer; backends are services"),
                );
            }
            None => {}
        }
    }
    let health_check = b.health_check.as_ref().map(|h| HealthCheck {
        interval: SimTime::from_ms(
            c.positive(&format!("{path}.health_check.interval_ms"), h.interval_ms),
        ),
        unhealthy_threshold: c.at_least(
            &format!("{path}.health_check.unhealthy_threshold"),
            u64::from(h.unhealthy_threshold),
            1,
        ) as u32,
        healthy_threshold: c.at_least(
            &format!("{path}.health_check.healthy_threshold"),
            u64::from(h.healthy_threshold),
            1,
        ) as u32,
    });
    BalancerSpec {
        backends,
        policy: b.policy,
        forward: c.dist(&format!("{path}.forward_ms"), &b.forward_ms),
        max_connections: c.at_least(
            &format!("{path}.max_connections"),
            u64::from(b.max_connections),
            1,
        ) as u32,
        health_check,
        cost_per_hour: c.non_negative(&format!("{path}.cost_per_hour"), b.cost_per_hour),
    }
}

/// Calls must form a DAG: a cycle would nest frames without end.
fn check_call_cycles(c: &mut Checker, components: &[ComponentSpec]) {
    let edges: Vec<Vec<u32>> = components
        .iter()
        .map(|comp| match &comp.kind {
            ComponentKind::Server(s) => {
                let mut out: Vec<u32> = s
                    .programs
                    .iter()
                    .flatten()
                    .filter_map(|st| match st {
                        Step::Call { target, .. } => Some(*target),
                        _ => None,
                    })
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            }
            ComponentKind::Balancer(b) => {
                let mut out: Vec<u32> = b.backends.iter().map(|&(t, _, _)| t).collect();
                out.dedup();
                out
            }
        })
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; components.len()];
    let mut stack: Vec<usize> = Vec::new();
    fn visit(
        v: usize,
        edges: &[Vec<u32>],
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[v] = 1;
        stack.push(v);
        for &w in &edges[v] {
            let w = w as usize;
            if w >= state.len() {
                continue;
            }
            if state[w] == 1 {
                let from = stack.iter().position(|&x| x == w).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(w);
                return Some(cycle);
            }
            if state[w] == 0
                && let Some(cycle) = visit(w, edges, state, stack)
            {
                return Some(cycle);
            }
        }
        stack.pop();
        state[v] = 2;
        None
    }
    for v in 0..components.len() {
        if state[v] == 0
            && let Some(cycle) = visit(v, &edges, &mut state, &mut stack)
        {
            let names: Vec<&str> = cycle.iter().map(|&i| components[i].name.as_str()).collect();
            c.problem(
                format!("components.{}", names[0]),
                format!("calls go round in a cycle: {}", names.join(" → ")),
            );
            return;
        }
    }
}

fn network(c: &mut Checker) -> Network {
    let n = c.names.len();
    let raw = &c.raw.network;
    let client = c.link("network.client_link", &raw.client_link);
    let default = c.link("network.default_link", &raw.default_link);
    let mut links = vec![default];
    let mut table = vec![0u16; n * n];
    for (i, l) in raw.links.iter().enumerate() {
        let path = format!("network.links[{i}]");
        let a = c.component(&format!("{path}.between[0]"), &l.between[0]) as usize;
        let b = c.component(&format!("{path}.between[1]"), &l.between[1]) as usize;
        links.push(c.link(&path, &l.link));
        let id = (links.len() - 1) as u16;
        if a < n && b < n {
            table[a * n + b] = id;
            table[b * n + a] = id;
        }
    }
    Network {
        client,
        links,
        table,
        n,
    }
}

fn faults(c: &mut Checker, components: &[ComponentSpec]) -> Vec<Fault> {
    let mut out = Vec::new();
    for (i, f) in c.raw.faults.iter().enumerate() {
        let RawFault::Crash {
            component,
            replica,
            at_s,
            recover_after_s,
        } = f;
        let path = format!("faults[{i}].crash");
        let id = c.component(&format!("{path}.component"), component);
        match components.get(id as usize).map(|s| &s.kind) {
            Some(ComponentKind::Server(s)) if *replica >= s.replicas => {
                c.problem(
                    format!("{path}.replica"),
                    format!(
                        "`{component}` has replicas 0..{}, got {replica}",
                        s.replicas - 1
                    ),
                );
            }
            Some(ComponentKind::Balancer(_)) if c.names.contains(&component.as_str()) => {
                c.problem(
                    format!("{path}.component"),
                    "load balancers cannot crash yet; crash a backend replica",
                );
            }
            _ => {}
        }
        let at = SimTime::from_secs(c.non_negative(&format!("{path}.at_s"), *at_s));
        let recover_at = recover_after_s
            .map(|r| at + SimTime::from_secs(c.positive(&format!("{path}.recover_after_s"), r)));
        out.push(Fault::Crash {
            component: id,
            replica: *replica,
            at,
            recover_at,
        });
    }
    out
}
