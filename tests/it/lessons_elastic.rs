//! The lessons of the elastic scenarios (issue 15: gateways, and later autoscalers,
//! functions, deploys and edges), asserted on the figures docs/concepts.md points at.

use crate::common::num;
use serde_json::Value;

/// Runs scenario `stem` with `--set` overrides; its summary.
fn run(stem: &str, sets: &[&str]) -> Value {
    crate::lessons_messaging::run_with_series(stem, sets).0
}

/// Scenario 33: the partner sends 1,600/s for 20 s against a limit of 200/s with a burst of
/// 200, so about 1,600·20 − 200·20 − 200 = 27,800 of its requests get 429s (Poisson: ±4.5σ
/// with σ = √32,000 ≈ 179), none retried; the shoppers lose nothing and their p99 stays near
/// the network's round trips (about 0.3 s). Without the limit the two servers saturate: the
/// shoppers' p99 grows past a second and some of their requests are refused.
#[test]
fn a_gateway_rate_limit_keeps_one_client_from_hurting_the_others() {
    let limited = run("33-gateway-rate-limit", &[]);
    let refused = num(
        &limited,
        "/classes/partner/requests/rejected_by/rate_limited",
    );
    assert!((refused - 27_800.0).abs() < 4.5 * 179.0, "429s: {refused}");
    assert_eq!(num(&limited, "/retries"), 0.0, "429s are not retried");
    assert_eq!(
        num(&limited, "/components/gateway/rate_limits/0/rate_limited"),
        refused
    );
    let errors = |s: &Value, class: &str| {
        num(s, &format!("/classes/{class}/requests/total"))
            - num(s, &format!("/classes/{class}/requests/completed"))
    };
    assert_eq!(errors(&limited, "shoppers"), 0.0);
    let p99_limited = num(&limited, "/classes/shoppers/latency_ms/p99");
    assert!(
        p99_limited < 400.0,
        "shoppers' p99 with the limit: {p99_limited}"
    );
    let cpu = num(&limited, "/components/api/cpu_utilisation");
    assert!(cpu < 0.4, "servers' CPU with the limit: {cpu}");

    let open = run(
        "33-gateway-rate-limit",
        &["components.gateway.rate_limits[0].rate_per_s=1000000"],
    );
    assert!(
        open.pointer("/requests/rejected_by/rate_limited").is_none(),
        "no 429s without a limit"
    );
    let p99_open = num(&open, "/classes/shoppers/latency_ms/p99");
    assert!(
        p99_open > 3.0 * p99_limited,
        "shoppers' p99 without the limit {p99_open} against {p99_limited}"
    );
    assert!(errors(&open, "shoppers") > 0.0);
}

/// Scenario 34: a 3× spike at 120 s. Reactive, the autoscaler sees it within one 15 s
/// evaluation but CPU reads at most 100 %, so it asks for 9 replicas and then, 75 s later,
/// 15; with a 60 s boot, about two minutes of requests queue past the 3 s timeout: well over
/// a fifth of the run's requests are lost. Scheduled ahead of the spike (the Hotstar case),
/// 15 replicas serve from 110 s and nothing is lost, at a higher machine bill.
#[test]
fn a_spike_scheduled_for_costs_more_and_loses_nothing_where_reacting_loses_minutes() {
    let (reactive, rows) = crate::lessons_messaging::run_with_series("34-autoscale-spike", &[]);
    // The time series tells the same story as the summary: replicas billed over the window
    // (60 s to 480 s, rows of 5 s), and their price.
    let window: Vec<_> = rows
        .iter()
        .filter(|r| {
            r["t_start_s"].parse::<f64>().unwrap() >= 60.0
                && r["t_end_s"].parse::<f64>().unwrap() <= 480.0
        })
        .collect();
    let mean = |col: &str| {
        window
            .iter()
            .map(|r| r[col].parse::<f64>().unwrap())
            .sum::<f64>()
            / window.len() as f64
    };
    let summary_mean = num(&reactive, "/components/api/scaling/mean_replicas");
    assert!(
        (mean("api_replicas") - summary_mean).abs() < 0.01,
        "{} against {summary_mean}",
        mean("api_replicas")
    );
    assert!((mean("api_cost_per_hour") - 0.2 * summary_mean).abs() < 0.01);
    assert!((num(&reactive, "/components/api/cost_per_hour") - 0.2 * summary_mean).abs() < 1e-3);
    let actions = |s: &Value| s["components"]["api"]["scaling"]["actions"].clone();
    let first = &actions(&reactive)[0];
    assert_eq!(first["by"], "autoscaler");
    assert!(num(first, "/at_s") <= 135.0, "first reaction {first}");
    assert_eq!(
        num(first, "/to"),
        9.0,
        "CPU saturates at 100 %: 5 × 1.0 / 0.6 → 9"
    );
    let lost = |s: &Value| 1.0 - num(s, "/failures/availability");
    assert!(lost(&reactive) > 0.2, "reactive lost {}", lost(&reactive));
    // Back to normal once enough replicas serve: the last minute loses nothing.
    let predicted = run(
        "34-autoscale-spike",
        &[
            r#"components.api.scaling.schedule=[{"at_s": 50, "replicas": 15}, {"at_s": 320, "replicas": 2}]"#,
        ],
    );
    assert_eq!(lost(&predicted), 0.0);
    assert!(num(&predicted, "/latency_ms/p99") < 500.0);
    assert_eq!(actions(&predicted)[0]["by"], "schedule");
    let cost = |s: &Value| num(s, "/components/api/scaling/cost_of_run");
    assert!(
        cost(&predicted) > cost(&reactive),
        "booting ahead costs more: {} against {}",
        cost(&predicted),
        cost(&reactive)
    );
    // Predictive: the profile read 75 s ahead (a boot and an evaluation) scales out before
    // the spike, by forecast, and nothing is lost either.
    let forecast = run(
        "34-autoscale-spike",
        &["components.api.scaling.autoscale.predictive_lead_s=75"],
    );
    assert_eq!(lost(&forecast), 0.0);
    let first = &actions(&forecast)[0];
    assert_eq!(first["by"], "forecast", "{first}");
    assert!(num(first, "/at_s") <= 60.0, "{first}");
    // All shrink after the spike, once the scale-in window has passed.
    for s in [&reactive, &predicted, &forecast] {
        assert!(num(s, "/components/api/scaling/final_replicas") < 10.0);
    }
}

/// Scenario 35: a new version at peak (1,000 requests/s on eight servers; a new server takes
/// 20 s to start and two health checks 2 s apart to be trusted). Rolling loses nothing and
/// takes about eight start-and-check times in a row; recreate stops everything and refuses
/// about 24 s × 1,000/s (Poisson: σ ≈ 155, so ±1,500 is generous, and the window is 2 s of
/// checks wide); blue/green loses nothing and pays for sixteen servers for one start.
#[test]
fn a_rolling_deploy_loses_nothing_where_recreate_is_down_for_a_start() {
    let deploy = |s: &Value| s["components"]["api"]["scaling"]["deploys"][0].clone();
    let rolling = run("35-rolling-deploy", &[]);
    let d = deploy(&rolling);
    assert_eq!(d["errors"], 0, "{d}");
    assert_eq!(
        num(&rolling, "/requests/total"),
        num(&rolling, "/requests/completed")
    );
    let took = num(&d, "/took_s");
    assert!(
        (8.0 * 22.0..=8.0 * 26.0).contains(&took),
        "rolling took {took} s"
    );
    assert_eq!(num(&rolling, "/components/api/scaling/peak_replicas"), 9.0);

    let recreate = run(
        "35-rolling-deploy",
        &[r#"components.api.deploys[0].strategy="recreate""#],
    );
    let d = deploy(&recreate);
    let down = num(&d, "/took_s");
    assert!((22.0..=24.5).contains(&down), "recreate down for {down} s");
    let refused = num(&recreate, "/requests/rejected_by/no_healthy_backend");
    assert!(
        (refused - 1000.0 * down).abs() < 1_500.0,
        "{refused} refused in {down} s"
    );
    assert_eq!(num(&d, "/errors"), refused);

    let blue_green = run(
        "35-rolling-deploy",
        &[r#"components.api.deploys[0].strategy="blue_green""#],
    );
    let d = deploy(&blue_green);
    assert_eq!(d["errors"], 0, "{d}");
    assert!(num(&d, "/took_s") < 25.0);
    assert_eq!(
        num(&blue_green, "/components/api/scaling/peak_replicas"),
        16.0
    );
}

/// `dsim check` holds a run to a cost: scenario 34's fleet averages 12.25 replicas at 0.2 an
/// hour over the window, plus its balancer's 0.05: 2.50 an hour, over a limit of 2 and
/// under one of 3.
#[test]
fn check_holds_a_fleet_to_its_cost_per_hour() {
    let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/34-autoscale-spike.json");
    for (limit, code) in [(2.0, 1), (3.0, 0)] {
        let out = crate::common::dsim()
            .arg("check")
            .arg(&file)
            .args(["--no-write", "-q", "--set"])
            .arg(format!(r#"slos={{"cost_per_hour": {limit}}}"#))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "limit {limit}: {out:?}");
    }
}

/// Scenarios 36 and 37: the same shop as microservices behind a gateway and as a monolith,
/// the same 32 cores, and the bank's API slowing 400 times for a minute. Split, only checkout
/// suffers: browsing (a fleet of its own) loses nothing and its p99 stays at the network's
/// round trips. Whole, checkouts waiting 2 s on the bank take every worker: browsing times
/// out too, for a large share of its requests.
#[test]
fn a_slow_dependency_stays_in_its_service_but_takes_a_monolith_down() {
    let split = run("36-microservices", &[]);
    let whole = run("37-monolith", &[]);
    let errors = |s: &Value, class: &str| {
        let total = num(s, &format!("/classes/{class}/requests/total"));
        (total - num(s, &format!("/classes/{class}/requests/completed"))) / total
    };
    assert_eq!(errors(&split, "browse"), 0.0);
    assert!(num(&split, "/classes/browse/latency_ms/p99") < 500.0);
    assert!(
        errors(&split, "checkout") > 0.05,
        "checkout is what the bank slows"
    );
    assert!(
        errors(&whole, "browse") > 0.1,
        "browse {}",
        errors(&whole, "browse")
    );
    assert!(num(&whole, "/classes/browse/latency_ms/p99") > 2_000.0);
    assert_eq!(num(&split, "/cost_per_hour"), num(&whole, "/cost_per_hour"));
}
