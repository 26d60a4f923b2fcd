//! The renderers against hand-built results (`fixtures.rs`), output by output, compared with
//! the snapshots in `snapshots/`: a change to a table, a CSV, the summary's JSON or the page
//! shows up as a diff here before a user sees it. `UPDATE_SNAPSHOTS=1 cargo test --lib
//! snapshot` rewrites them; review the diff before committing it.

use crate::report::{compare, csv, fixtures, html, table};
use std::path::PathBuf;

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/report/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {name}: UPDATE_SNAPSHOTS=1 cargo test --lib snapshot writes it")
    });
    if actual != expected {
        let (n, (a, e)) = actual
            .lines()
            .zip(expected.lines())
            .enumerate()
            .find(|(_, (a, e))| a != e)
            .map_or(
                (
                    actual.lines().count().min(expected.lines().count()),
                    ("", ""),
                ),
                |x| x,
            );
        panic!(
            "{name} differs from its snapshot at line {}:\n  now:      {a}\n  snapshot: {e}\n\
             (UPDATE_SNAPSHOTS=1 rewrites it)\n--- now ---\n{actual}",
            n + 1
        );
    }
}

#[test]
fn snapshot_run_table() {
    let text = table::render(&fixtures::results());
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    snapshot("run-table.txt", &text);
}

#[test]
fn snapshot_summary_json() {
    snapshot("summary.json", &fixtures::results().to_json());
}

#[test]
fn snapshot_timeseries_csv() {
    snapshot("timeseries.csv", &csv::render(&fixtures::results()));
}

#[test]
fn snapshot_report_page_without_charts() {
    let page = html::render(&fixtures::results(), &[], "{\"name\": \"shop\"}");
    snapshot("report.html", &page);
}

#[test]
fn snapshot_sweep_table_csv_and_json() {
    let s = fixtures::sweep();
    let table = s.render_table();
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
    snapshot("sweep-table.txt", &table);
    snapshot("sweep.csv", &s.to_csv());
    snapshot("sweep.json", &s.to_json());
}

#[test]
fn snapshot_compare_table() {
    let mut s = fixtures::sweep();
    s.params = vec!["scenario".into()];
    for (p, name) in s.points.iter_mut().zip(["one-box", "fleet", "fleet-cache"]) {
        p.values = vec![serde_json::json!(name)];
    }
    snapshot("compare-table.txt", &compare::render_table(&s));
}
