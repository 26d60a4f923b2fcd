//! timeseries.csv against summary.json: the rows account for every request, their error
//! columns add up by reason, and the window's rows reproduce the summary's throughput and
//! utilisation. A scenario with a crash, so that failures appear in the rows.

use crate::common::{dsim, num, run_ok, temp_dir};
use serde_json::Value;

#[test]
fn rows_account_for_every_request_and_match_the_summary() {
    let dir = temp_dir("timeseries");
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/11-health-check-crash.json"
    );
    run_ok(dsim().args(["run", "--quiet", scenario, "--out"]).arg(&dir));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    // A balancer does not queue: its queue cells are empty, not 0. Every other cell here is
    // a number.
    let lb_queue = col("lb_mean_queue");
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .enumerate()
                .map(|(i, x)| {
                    if i == lb_queue {
                        assert_eq!(x, "", "a balancer's queue is absent");
                        return f64::NAN;
                    }
                    x.parse().unwrap()
                })
                .collect()
        })
        .collect();
    let (warmup, duration) = (num(&summary, "/warmup_s"), num(&summary, "/sim_time_s"));

    let (mut started, mut ended, mut backend_down, mut completed_in_window) = (0.0, 0.0, 0.0, 0.0);
    let mut cpu_in_window = Vec::new();
    for r in &rows {
        let rejected: f64 = header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.starts_with("rejected_"))
            .map(|(i, _)| r[i])
            .sum();
        assert_eq!(rejected, r[col("rejected")], "rejections by reason add up");
        let failed = r[col("failed_backend_down")] + r[col("failed_simulation_ended")];
        assert_eq!(failed, r[col("failed")], "failures by reason add up");
        started += r[col("started")];
        ended += r[col("completed")] + r[col("rejected")] + r[col("timed_out")] + r[col("failed")];
        backend_down += r[col("failed_backend_down")];
        if r[col("t_start_s")] >= warmup && r[col("t_end_s")] <= duration {
            completed_in_window += r[col("completed")];
            cpu_in_window.push(r[col("app_utilisation")]);
        }
    }
    // The last row is the drain after the run's end, so every started request ends in a row.
    assert!(rows.last().unwrap()[col("t_start_s")] == duration);
    assert_eq!(started, ended, "every started request ends in some row");
    assert!(backend_down >= num(&summary, "/requests/failed_by/backend_down"));
    assert!(backend_down > 0.0, "the crash shows in the rows");

    let measured = num(&summary, "/measured_s");
    let throughput = completed_in_window / measured;
    assert!(
        (throughput - num(&summary, "/throughput_rps")).abs() < 0.01,
        "rows give {throughput}/s"
    );
    // Equal-width rows: their mean utilisation is the window's (4-decimal rounding in the CSV).
    let cpu = cpu_in_window.iter().sum::<f64>() / cpu_in_window.len() as f64;
    assert!(
        (cpu - num(&summary, "/components/app/cpu_utilisation")).abs() < 1e-3,
        "rows give {cpu}"
    );
}
