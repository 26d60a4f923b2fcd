//! Bad input as data: each case is a few edits to one small valid scenario and the problems
//! dsim must report for it. The runner writes the edited scenario, runs `dsim run` on it and
//! checks, for every case, the whole contract: exit code 2, nothing on stdout, no output
//! folder, exactly the expected problems — each as `error: FILE:LINE:COL: PATH: MESSAGE`
//! with LINE on the text it is about — and the count line when there are several.
//!
//! A new case is a row in `cases()`. Mistakes that need the file's exact bytes (syntax errors,
//! a key given twice, numbers JSON values cannot hold) are in `bad_input.rs` and
//! `hostile_input.rs`.

use crate::common::{dsim, temp_dir};
use serde_json::{Value, json};

/// A minimal scenario that validates: a service calling a database.
fn base() -> Value {
    json!({
        "name": "x",
        "duration_s": 10,
        "workload": {"model": {"open": {"rate_per_s": 10}}, "entry": "api"},
        "components": {
            "api": {"kind": "service", "machine": {"cores": 1},
                    "handlers": {"default": [{"call": "db"}]}},
            "db": {"kind": "database", "machine": {"cores": 1},
                   "queries": {"default": {"cpu_ms": {"constant": {"ms": 1}}}}}
        }
    })
}

/// One problem dsim must report: at `path`, a message starting with `message`, on the line
/// of the file that holds `on` (by default the path's last key, quoted).
pub(crate) struct Problem {
    path: &'static str,
    message: &'static str,
    on: Option<&'static str>,
}

pub(crate) fn problem(path: &'static str, message: &'static str) -> Problem {
    Problem {
        path,
        message,
        on: None,
    }
}

pub(crate) fn problem_on(path: &'static str, message: &'static str, on: &'static str) -> Problem {
    Problem {
        path,
        message,
        on: Some(on),
    }
}

/// A mistake: edits to the base scenario (a dotted path, `[i]` for list items, and the value
/// to put there), and every problem it must give.
pub(crate) struct Case {
    pub name: &'static str,
    pub edits: Vec<(&'static str, Value)>,
    pub problems: Vec<Problem>,
}

fn cases() -> Vec<Case> {
    let mut all = vec![
        Case {
            name: "an unknown field names the fields there are and the likely one",
            edits: vec![("components.api.machine.corez", json!(2))],
            problems: vec![problem(
                "components.api.machine.corez",
                "unknown field `corez`, expected one of `cores`, `cpu_speed`, `ram_gb`, \
                 `base_memory_gb`, `memory_per_connection_kb`, `memory_per_request_kb`, \
                 `nic_gbps`, `max_connections`, `rx_buffer_kb`, `ephemeral_ports`, \
                 `time_wait_s`, `disk_iops`, `cost_per_hour`, `cpu_scheduling`, `swap_gb`, \
                 `out_of_memory`, `restart_s`; did you mean `cores`?",
            )],
        },
        Case {
            name: "an unknown way of sharing cores names the two there are",
            edits: vec![("components.api.machine.cpu_scheduling", json!("fair"))],
            problems: vec![problem(
                "components.api.machine.cpu_scheduling",
                "unknown variant `fair`, expected `time_sliced` or `run_to_completion`",
            )],
        },
        Case {
            name: "ports beyond 65,535 and a failover multi-primary cannot use",
            edits: vec![
                ("components.api.machine.ephemeral_ports", json!(70_000)),
                (
                    "components.db.replication",
                    json!({"replicas": 1, "mode": "multi_primary",
                           "failover": {"detection_ms": 100, "promotion_ms": 100}}),
                ),
            ],
            problems: vec![
                problem(
                    "components.api.machine.ephemeral_ports",
                    "must be from 1 to 65535, got 70000",
                ),
                problem_on(
                    "components.db.replication.failover",
                    "multi_primary promotes nobody",
                    "\"failover\"",
                ),
            ],
        },
        Case {
            name: "an unknown kind suggests the closest",
            edits: vec![("components.db.kind", json!("databse"))],
            problems: vec![problem_on(
                "components.db",
                "unknown component kind `databse`; did you mean `database`? (kinds: service, \
                 load_balancer, gateway, cache, database, dns, queue, topic, log)",
                "databse",
            )],
        },
        Case {
            name: "a kind after the fields still gives the inner path, and how to get a line",
            edits: vec![(
                "components.api",
                json!({"machine": {"cores": 1, "ram": 2}, "kind": "service"}),
            )],
            // Without the kind first, the place is the end of the component.
            problems: vec![problem_on(
                "components.api",
                "machine.ram: unknown field `ram`",
                "}",
            )],
        },
        Case {
            name: "a call cycle, and a pool to a component that is not a database",
            edits: vec![
                (
                    "components.db",
                    json!({"kind": "service", "machine": {"cores": 1},
                    "handlers": {"default": [{"call": "api"}]}}),
                ),
                (
                    "components.api.connection_pools",
                    json!({"db": {"size": 2}}),
                ),
            ],
            problems: vec![
                problem(
                    "components.api.connection_pools.db",
                    "`db` is not a database; pools hold database connections",
                ),
                problem_on(
                    "components.api",
                    "calls go round in a cycle: api → db → api",
                    "\"api\"",
                ),
            ],
        },
        Case {
            name: "values that pass > 0 but overflow or vanish once converted give their range",
            edits: vec![
                ("interval_s", json!(1e-9)),
                ("workload.model.open.rate_per_s", json!(1e300)),
                ("workload.timeout_ms", json!(1e-9)),
                ("components.api.machine.cpu_speed", json!(1e-12)),
                (
                    "components.api.handlers.default[0]",
                    json!({"cpu_ms": {"uniform": {"min_ms": 0, "max_ms": 1e305}}}),
                ),
            ],
            problems: vec![
                problem("interval_s", "must be between 0.001 and 10000000, got 1e-9"),
                problem(
                    "workload.model.open.rate_per_s",
                    "must be between 1e-9 and 100000000, got 1e300",
                ),
                problem(
                    "workload.timeout_ms",
                    "must be between 0.001 and 1000000000, got 1e-9",
                ),
                problem(
                    "components.api.machine.cpu_speed",
                    "must be between 0.001 and 1000, got 1e-12",
                ),
                problem(
                    "components.api.handlers.default[0].cpu_ms.uniform.max_ms",
                    "must be a number from 0 to 1000000000, got 1e305",
                ),
            ],
        },
        Case {
            name: "values that wrapped or turned infinite once converted give their range",
            edits: vec![
                (
                    "workload.classes",
                    json!({"big": {"request_bytes": 10_000_000_000_000u64}}),
                ),
                (
                    "workload.profile",
                    json!({"steps": [{"at_s": 0, "level": 1}, {"at_s": 1e300, "level": 1}]}),
                ),
                ("components.api.machine.memory_per_request_kb", json!(2e16)),
                ("components.api.machine.cost_per_hour", json!(1e308)),
                (
                    "components.api.handlers.default[1]",
                    json!({"disk_ios": 4_000_000_000u64}),
                ),
                (
                    "components.api.handlers.default[2]",
                    json!({"cpu_ms": {"lognormal": {"mean_ms": 1e-160, "std_ms": 1}}}),
                ),
                ("components.db.unindexed_factor", json!(1e300)),
            ],
            problems: vec![
                problem(
                    "workload.classes.big.request_bytes",
                    "must be from 0 to 1000000000000, got 10000000000000",
                ),
                problem(
                    "workload.profile.steps[1].at_s",
                    "must be a number from 0 to 10000000, got 1e300",
                ),
                problem(
                    "components.api.machine.memory_per_request_kb",
                    "must be a number from 0 to 1000000000, got 2e16",
                ),
                problem(
                    "components.api.machine.cost_per_hour",
                    "must be a number from 0 to 1000000, got 1e308",
                ),
                problem(
                    "components.api.handlers.default[1].disk_ios",
                    "must be from 0 to 100000, got 4000000000",
                ),
                problem(
                    "components.api.handlers.default[2].cpu_ms.lognormal.std_ms",
                    "must be at most 1000 × mean_ms",
                ),
                problem(
                    "components.db.unindexed_factor",
                    "must be a number from 1 to 10000, got 1e300",
                ),
            ],
        },
        Case {
            name: "a reference with no close match lists what exists, once for all classes",
            edits: vec![
                ("workload.classes", json!({"read": {}, "write": {}})),
                ("components.api.handlers.default[0].call", json!("postgres")),
            ],
            problems: vec![problem(
                "components.api.handlers.default[0].call",
                "no component named `postgres`; the components are `api` and `db`",
            )],
        },
        Case {
            name: "kept-alive connections need users who come back",
            edits: vec![(
                "workload.connections",
                json!({"keep_alive": {"idle_timeout_s": 0}}),
            )],
            problems: vec![
                problem(
                    "workload.connections.keep_alive.idle_timeout_s",
                    "must be a finite number > 0, got 0",
                ),
                problem(
                    "workload.connections",
                    "keep_alive needs a closed workload: each open-loop arrival is a new user \
                     with one request; use per_request, or model the users as closed",
                ),
            ],
        },
        Case {
            name: "a batch goes to a database, of 1 to 1,000 queries",
            edits: vec![
                (
                    "components.api.handlers.default",
                    json!([{"batch": {"call": "db", "queries": 0}},
                           {"cpu_ms": {"constant": {"ms": 1}}}]),
                ),
                (
                    "components.web",
                    json!({"kind": "service", "machine": {"cores": 1},
                    "handlers": {"default": [{"batch": {"call": "api", "queries": 2}}]}}),
                ),
            ],
            problems: vec![
                problem(
                    "components.api.handlers.default[0].batch.queries",
                    "must be from 1 to 1000, got 0",
                ),
                problem(
                    "components.web.handlers.default[0].batch.call",
                    "`api` is not a database: a batch sends several queries to one database \
                     in one round trip; use `call` for anything else",
                ),
            ],
        },
        Case {
            name: "a balancer's weights and price beyond their range",
            edits: vec![
                ("workload.entry", json!("lb")),
                (
                    "components.lb",
                    json!({"kind": "load_balancer", "backends": ["api"], "weights": [1e300],
                           "cost_per_hour": 1e308}),
                ),
            ],
            problems: vec![
                // A list item is on a line of its own.
                problem_on(
                    "components.lb.weights[0]",
                    "must be between 1e-9 and 1000000000, got 1e300",
                    "1e+300",
                ),
                problem(
                    "components.lb.cost_per_hour",
                    "must be a number from 0 to 1000000, got 1e308",
                ),
            ],
        },
        Case {
            name: "a scenario name too long for a folder name",
            edits: vec![("name", json!("n".repeat(300)))],
            problems: vec![problem(
                "name",
                "is used as a folder name: at most 100 bytes, got 300",
            )],
        },
        Case {
            name: "a scenario name that cannot be a folder name",
            edits: vec![("name", json!("a\u{0}b"))],
            problems: vec![problem(
                "name",
                "is used as a folder name: no control characters",
            )],
        },
        Case {
            name: "a host the scenario does not declare says how to declare it",
            edits: vec![
                ("components.api.machine", Value::Null),
                ("components.api.host", json!("laptop")),
            ],
            problems: vec![problem(
                "components.api.host",
                "no host named `laptop`; the scenario declares none: add \"hosts\": \
                 {\"laptop\": {\"cores\": 4}}",
            )],
        },
        Case {
            name: "a machine and a host at once, a misspelt host, and neither",
            edits: vec![
                ("hosts.laptop", json!({"cores": 2})),
                ("components.api.host", json!("laptop")),
                ("components.db.machine", Value::Null),
                ("components.db.host", json!("laptp")),
            ],
            problems: vec![
                problem_on(
                    "components.api",
                    "give `machine` (hardware of its own) or `host` (a machine from `hosts` \
                     it shares), not both",
                    "\"api\"",
                ),
                problem(
                    "components.db.host",
                    "no host named `laptp`; did you mean `laptop`?",
                ),
            ],
        },
        Case {
            name: "a component with no machine at all",
            edits: vec![("components.db.machine", Value::Null)],
            problems: vec![problem(
                "components.db.machine",
                "missing: give its hardware, e.g. \"machine\": {\"cores\": 4}, or a \
                 `host` named in the scenario's `hosts`",
            )],
        },
        Case {
            name: "the components of one host are in one region, and its caches fit it together",
            edits: vec![
                ("regions.us", json!({"users": 1})),
                ("regions.eu", json!({"users": 1})),
                (
                    "network.region_links",
                    json!([{"between": ["eu", "us"], "latency_ms": {"constant": {"ms": 50}}}]),
                ),
                (
                    "hosts.box",
                    json!({"cores": 2, "ram_gb": 1, "base_memory_gb": 0.5}),
                ),
                ("components.api.machine", Value::Null),
                ("components.api.host", json!("box")),
                ("components.api.region", json!("us")),
                ("components.db.machine", Value::Null),
                ("components.db.host", json!("box")),
                ("components.db.region", json!("eu")),
                (
                    "components.c1",
                    json!({"kind": "cache", "host": "box", "region": "us", "backing": "db",
                           "policy": {"lru": {"capacity_mb": 300, "entry_kb": 1}}}),
                ),
                (
                    "components.c2",
                    json!({"kind": "cache", "host": "box", "region": "us", "backing": "db",
                           "policy": {"lru": {"capacity_mb": 300, "entry_kb": 1}}}),
                ),
            ],
            problems: vec![
                problem(
                    "components.db.region",
                    "on host `box` with `api` (region `us`), it cannot be in region `eu`",
                ),
                problem(
                    "hosts.box",
                    "its LRU caches need 0.586 GiB together, more than the 0.500 GiB it has",
                ),
            ],
        },
        Case {
            name: "a shared host runs one machine per component, refuses kill, and is used",
            edits: vec![
                ("hosts.box", json!({"cores": 2, "out_of_memory": "kill"})),
                ("hosts.spare", json!({"cores": 1})),
                ("components.api.machine", Value::Null),
                ("components.api.host", json!("box")),
                ("components.api.replicas", json!(2)),
                ("components.db.machine", Value::Null),
                ("components.db.host", json!("box")),
            ],
            problems: vec![
                problem(
                    "components.api.host",
                    "a component on a shared host runs one machine, and this one has 2",
                ),
                problem(
                    "hosts.box.out_of_memory",
                    "\"kill\" needs a machine of its own",
                ),
                problem(
                    "hosts.spare",
                    "no component runs on it: name it as a component's \"host\", or remove it",
                ),
            ],
        },
        Case {
            name: "gateway fields on a load balancer, and a gateway's mistakes",
            edits: vec![
                ("workload.entry", json!("lb")),
                (
                    "components.lb",
                    json!({"kind": "load_balancer", "backends": ["api"],
                           "rate_limits": [{"rate_per_s": 10}], "max_request_bytes": 100}),
                ),
                ("workload.classes", json!({"web": {}})),
                (
                    "components.gw",
                    json!({"kind": "gateway", "backends": ["api"], "rate_limits": [
                        {"per": "user", "rate_per_s": 0, "classes": ["wbe"]},
                        {"rate_per_s": 5, "burst": 0, "classes": []}
                    ]}),
                ),
            ],
            problems: vec![
                problem(
                    "components.lb.rate_limits",
                    "`rate_limits` is what an API gateway does: make this component \
                     `\"kind\": \"gateway\"`",
                ),
                problem(
                    "components.lb.max_request_bytes",
                    "`max_request_bytes` is what an API gateway does",
                ),
                problem_on(
                    "components.gw.rate_limits[0].per",
                    "`user` needs a closed workload",
                    "\"per\"",
                ),
                problem("components.gw.rate_limits[0].rate_per_s", "must be"),
                problem_on(
                    "components.gw.rate_limits[0].classes[0]",
                    "no request class named `wbe`; did you mean `web`?",
                    "wbe",
                ),
                problem("components.gw.rate_limits[1].burst", "must be ≥ 1"),
                problem("components.gw.rate_limits[1].classes", "lists no class"),
            ],
        },
        Case {
            name: "a service that scales: its bounds, schedule and callers",
            edits: vec![
                ("components.api.replicas", json!(3)),
                (
                    "components.api.scaling",
                    json!({"max_replicas": 2, "min_replicas": 4,
                           "schedule": [{"at_s": 5, "replicas": 9}, {"at_s": 2, "replicas": 1}],
                           "autoscale": {"target": 0}}),
                ),
            ],
            problems: vec![
                problem("components.api.replicas", "starts with 3 replicas"),
                problem(
                    "components.api.scaling.min_replicas",
                    "4 is more than max_replicas",
                ),
                problem(
                    "components.api.scaling",
                    "a service that scales or deploys is reached through load balancers only",
                ),
                problem(
                    "components.api.scaling.schedule[0].replicas",
                    "9 is more than max_replicas",
                ),
                problem(
                    "components.api.scaling.schedule[1].at_s",
                    "entries must be in time order",
                ),
                problem("components.api.scaling.autoscale.target", "must be above 0"),
                problem(
                    "components.api.scaling.schedule[1].replicas",
                    "with `autoscale` a scheduled count is the autoscaler's minimum",
                ),
            ],
        },
        Case {
            name: "deploys that cannot progress or are out of order",
            edits: vec![
                ("workload.entry", json!("lb")),
                (
                    "components.lb",
                    json!({"kind": "load_balancer", "backends": ["api"]}),
                ),
                (
                    "components.api.deploys",
                    json!([{"at_s": 5, "max_surge": 0, "max_unavailable": 0},
                           {"at_s": 4, "strategy": "recreate"},
                           {"at_s": 50, "strategy": "blue_green"}]),
                ),
            ],
            problems: vec![
                problem(
                    "components.api.deploys[0].max_surge",
                    "a rolling deploy needs",
                ),
                problem(
                    "components.api.deploys[1].at_s",
                    "deploys must be in time order",
                ),
                problem("components.api.deploys[2].at_s", "must be"),
            ],
        },
    ];
    all.extend(crate::bad_input_queue_cases::cases());
    all
}

/// Puts `value` at `path` in `v` (dotted keys, `[i]` for list items; objects are created,
/// a list grows by one at its end).
fn set(v: &mut Value, path: &str, value: Value) {
    let mut at = v;
    let parts: Vec<&str> = path.split('.').collect();
    for (k, part) in parts.iter().enumerate() {
        let (key, index) = match part.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (*part, None),
        };
        let last = k + 1 == parts.len();
        let object = at.as_object_mut().expect("edits go into objects");
        if last && index.is_none() {
            object.insert(key.to_string(), value);
            return;
        }
        at = object.entry(key).or_insert(json!({}));
        if let Some(i) = index {
            let list = at.as_array_mut().expect("an index goes into a list");
            if i == list.len() {
                list.push(json!({}));
            }
            if last {
                list[i] = value;
                return;
            }
            at = &mut list[i];
        }
    }
}

/// The text a problem's line must hold: its `on`, else the path's last key, quoted.
fn anchor(p: &Problem) -> String {
    if let Some(on) = p.on {
        return on.to_string();
    }
    let key = p
        .path
        .rsplit('.')
        .next()
        .unwrap_or(p.path)
        .split('[')
        .next()
        .unwrap_or(p.path);
    format!("\"{key}\"")
}

#[test]
fn every_bad_input_case_is_refused_with_its_problems_and_places() {
    let all = cases();
    let root = temp_dir("cases");
    for (n, case) in all.iter().enumerate() {
        let mut scenario = base();
        for (path, value) in &case.edits {
            set(&mut scenario, path, value.clone());
        }
        let text = serde_json::to_string_pretty(&scenario).unwrap();
        let dir = root.join(n.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s.json"), &text).unwrap();
        let out = dsim()
            .current_dir(&dir)
            .args(["run", "s.json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let context = format!("case `{}`:\n{text}\n{stderr}", case.name);
        assert_eq!(out.status.code(), Some(2), "{context}");
        assert!(out.stdout.is_empty(), "{context}");
        assert!(!dir.join("output").exists(), "{context}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), case.problems.len(), "{context}");
        let lines: Vec<&str> = text.lines().collect();
        for p in &case.problems {
            let wanted = format!(": {}: {}", p.path, p.message);
            let found = errors
                .iter()
                .find(|l| l.contains(&wanted))
                .unwrap_or_else(|| panic!("no `{wanted}` in {context}"));
            // error: s.json:LINE:COL: …
            let place: Vec<&str> = found["error: s.json:".len()..]
                .splitn(3, ':')
                .take(2)
                .collect();
            let line: usize = place[0].parse().unwrap();
            let column: usize = place[1].parse().unwrap();
            let held = lines[line - 1];
            assert!(
                held.contains(&anchor(p)) && column >= 1 && column <= held.chars().count() + 1,
                "{found}\npoints at line {line}: `{held}`, which does not hold {} ({context})",
                anchor(p)
            );
        }
        if case.problems.len() > 1 {
            let count = format!("{} problems in s.json", case.problems.len());
            assert!(stderr.lines().any(|l| l == count), "{context}");
        }
    }
}
