//! Each curated scenario teaches one thing; these tests assert that it still does (not just
//! that it runs), on the figures a reader of docs/concepts.md would look at.

use crate::common::{num, run_file_json, run_summary};
use serde_json::Value;

fn run(stem: &str) -> Value {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.json"));
    serde_json::from_str(&run_file_json(&path)).unwrap()
}

fn bottleneck(r: &Value) -> (String, String) {
    let b = &r["bottleneck"];
    (
        b["component"].as_str().unwrap_or("").into(),
        b["resource"].as_str().unwrap_or("").into(),
    )
}

#[test]
fn a_small_load_on_the_internet_costs_latency_not_capacity() {
    let local = run("01-local-dev");
    let twenty = run("02-internet-20-users");
    assert_eq!(num(&local, "/error_rate"), 0.0);
    assert_eq!(num(&twenty, "/error_rate"), 0.0);
    assert!(num(&local, "/components/server/cpu_utilisation") < 0.05);
    assert!(num(&twenty, "/components/app/cpu_utilisation") < 0.05);
    // Same code: the internet round trip (~80 ms) is what the user waits for.
    assert!(num(&local, "/latency_ms/p50") < 20.0);
    assert!(num(&twenty, "/latency_ms/p50") > 60.0);
}

/// Scenario 02's description: a new connection per request pays the handshake's ~80 ms
/// round trip before the request's own (about 160 ms), and users who keep their connection
/// pay one round trip (about 85 ms).
#[test]
fn a_new_connection_per_request_doubles_the_internet_round_trip() {
    let per_request = run("02-internet-20-users");
    let p50 = num(&per_request, "/latency_ms/p50");
    assert!((140.0..180.0).contains(&p50), "per request: p50 {p50}");
    let mut cmd = crate::common::dsim();
    cmd.args(["run", "--format", "json", "--no-write"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/02-internet-20-users.json"
        ))
        .args(["--set", r#"workload.connections={"keep_alive":{}}"#]);
    let out = crate::common::run_ok(&mut cmd);
    let kept: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p50 = num(&kept, "/latency_ms/p50");
    assert!((70.0..100.0).contains(&p50), "kept alive: p50 {p50}");
}

#[test]
fn one_server_breaks_somewhere_between_two_thousand_and_two_hundred_thousand_users() {
    let two_k = run("03-internet-2k-users");
    let two_hundred_k = run("04-internet-200k-users");
    assert_eq!(num(&two_k, "/error_rate"), 0.0);
    assert!(num(&two_k, "/components/app/cpu_utilisation") < 0.5);
    assert!(
        num(&two_hundred_k, "/error_rate") > 0.5,
        "most of 200k users' requests fail"
    );
    assert!(num(&two_hundred_k, "/components/app/cpu_utilisation") > 0.95);
    assert_eq!(bottleneck(&two_hundred_k).0, "app");
}

#[test]
fn an_index_beats_hardware() {
    let untuned = run("06-db-untuned");
    let indexed = run("07-db-indexed");
    assert_eq!(bottleneck(&untuned), ("db".into(), "cpu".into()));
    assert!(num(&untuned, "/latency_ms/p50") > 10.0 * num(&indexed, "/latency_ms/p50"));
    assert!(num(&indexed, "/throughput_rps") > 1.2 * num(&untuned, "/throughput_rps"));
    assert!(num(&indexed, "/components/db/cpu_utilisation") < 0.2);
}

#[test]
fn scaling_out_serves_more_than_scaling_up_for_comparable_money() {
    let up = run("08-vertical-scaling");
    let out = run("09-horizontal-scaling");
    assert!(
        num(&up, "/error_rate") > 0.1,
        "the big machine still refuses a share"
    );
    assert_eq!(num(&out, "/error_rate"), 0.0);
    assert!(num(&out, "/throughput_rps") > 1.5 * num(&up, "/throughput_rps"));
    let per_rps = |r: &Value| num(r, "/cost_per_hour") / num(r, "/throughput_rps");
    assert!(
        per_rps(&out) < per_rps(&up),
        "the fleet is cheaper per request served"
    );
}

#[test]
fn a_cache_takes_reads_off_the_database() {
    let without = run("09-horizontal-scaling");
    let with = run("10-cache");
    assert!(num(&with, "/components/cache/cache_hit_ratio") > 0.5);
    assert!(
        num(&with, "/components/db/cpu_utilisation")
            < 0.6 * num(&without, "/components/db/cpu_utilisation")
    );
}

/// The crash at 21 s is only detected after three failed checks 2 s apart: requests sent to
/// the dead replica fail until then, and none after it is taken out.
#[test]
fn a_dead_backend_gets_traffic_until_health_checks_notice() {
    let r = run("11-health-check-crash");
    assert!(num(&r, "/requests/failed_by/backend_down") > 100.0);
    let changes = r["components"]["lb"]["health_changes"]
        .as_array()
        .expect("health changes reported");
    let down = changes
        .iter()
        .find(|c| c["healthy"] == false)
        .expect("marked down");
    let up = changes
        .iter()
        .find(|c| c["healthy"] == true)
        .expect("marked up again");
    let (down_at, up_at) = (num(down, "/at_s"), num(up, "/at_s"));
    assert!(
        (21.0..=27.0).contains(&down_at),
        "detected within threshold × interval: {down_at}"
    );
    assert!(
        (41.0..=45.0).contains(&up_at),
        "back after two passed checks: {up_at}"
    );
    assert_eq!(down["backend"], "app[1]");
}

/// Scenario 20's description: without pools every query opens a connection of its own, and
/// once server-2 is alone (after 30 s) it needs about 920 a second to the database while its
/// ports, each held 60 s in TIME_WAIT, allow 470 a second: requests are refused
/// `ports_exhausted` (none are with the pools).
#[test]
fn without_pools_a_lone_server_runs_out_of_ports_to_the_database() {
    let pooled = run("20-state-in-shared-db");
    assert_eq!(
        pooled["requests"]["rejected_by"].get("ports_exhausted"),
        None
    );
    let mut cmd = crate::common::dsim();
    cmd.args(["run", "--format", "json", "--no-write"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/20-state-in-shared-db.json"
        ))
        .args(["--set", "components.server-1.connection_pools={}"])
        .args(["--set", "components.server-2.connection_pools={}"]);
    let s: Value = serde_json::from_slice(&crate::common::run_ok(&mut cmd).stdout).unwrap();
    let refused = num(&s, "/requests/rejected_by/ports_exhausted");
    let share = refused / num(&s, "/requests/total");
    assert!((0.12..0.25).contains(&share), "{refused} refused: {share}");
    assert!(num(&s, "/components/server-2/throughput_rps") < 480.0);
}

/// Scenario 01's laptop, loaded with 2,000 users: server and database on one host of 4 cores
/// pool them, so the box serves 4 cores ÷ 5.5 ms of CPU per request (4 + 1 ms at the server,
/// 0.5 ms at the database) = 727/s. The same four cores split into two machines of two serve
/// only what the server's half can: 2 ÷ 5 ms = 400/s, while the database's cores idle. Both
/// are saturated (22 % and 57 % of requests refused), so throughput is their capacity: the
/// mean CPU per request (standard deviation 2.3 ms) has a standard error of 0.2 % over the
/// ~40,000 requests, and 2 % leaves room for the window's edges.
#[test]
fn one_box_pools_its_cores_where_two_machines_split_them() {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/01-local-dev.json");
    let mut one: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    one["workload"]["model"]["closed"]["users"] = 2_000.into();
    one["hosts"]["laptop"]["cores"] = 4.into();
    let mut two = one.clone();
    two.as_object_mut().unwrap().remove("hosts");
    for c in ["server", "db"] {
        let comp = two["components"][c].as_object_mut().unwrap();
        comp.remove("host");
        comp.insert(
            "machine".into(),
            serde_json::json!({"cores": 2, "ram_gb": 8}),
        );
    }
    let (one, two) = (run_summary(&one, 1), run_summary(&two, 1));
    let rps = |r: &Value| num(r, "/throughput_rps");
    assert!(
        (rps(&one) / (4.0 / 0.0055) - 1.0).abs() < 0.02,
        "{}",
        rps(&one)
    );
    assert!(
        (rps(&two) / (2.0 / 0.005) - 1.0).abs() < 0.02,
        "{}",
        rps(&two)
    );
    assert_eq!(bottleneck(&one), ("db".into(), "cpu".into()));
    assert_eq!(one["bottleneck"]["host"], "laptop");
    assert_eq!(bottleneck(&two), ("server".into(), "cpu".into()));
}
