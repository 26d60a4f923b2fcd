//! Output folders under concurrency and interrupts (issue 11): two runs writing one folder at
//! once leave one whole run, never a mix; SIGINT or SIGTERM at any moment leaves the previous
//! complete set or the new one, no temporary file and no new empty folder.

// Timing a command (a bench, a test's deadline) is what the wall clock is for here.
#![allow(clippy::disallowed_methods)]

use crate::common::{dsim, run_ok, temp_dir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Every file in `dir` by name, with its bytes (`None` when `dir` does not exist).
fn contents(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(
        entries
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect(),
    )
}

/// Names in `dir` that a dsim left behind mid-write.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".dsim-files" && (n.contains(".dsim-") || n.ends_with(".tmp")))
                .collect()
        })
        .unwrap_or_default()
}

fn scenario(stem: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{stem}.json"))
}

/// The folder a run with `seed` writes on its own.
fn reference(file: &Path, args: &[&str], seed: u64) -> BTreeMap<String, Vec<u8>> {
    let out = temp_dir("reference").join("out");
    run_ok(
        dsim()
            .args(["run", "-q", "--seed", &seed.to_string(), "--out"])
            .arg(&out)
            .args(args)
            .arg(file),
    );
    contents(&out).unwrap()
}

/// Issue 11: fixed temporary names and no lock gave, in 3 of 120 trials, a summary.json that
/// was not JSON or a folder mixing two runs.
#[test]
fn two_runs_writing_one_folder_at_once_leave_one_whole_run() {
    let file = scenario("01-local-dev");
    let args = ["--set", "duration_s=20"];
    let (one, two) = (reference(&file, &args, 1), reference(&file, &args, 2));
    assert_ne!(one, two);
    let root = temp_dir("race");
    for trial in 0..30 {
        let out = root.join(format!("out-{trial}"));
        let start = |seed: u64| {
            dsim()
                .args(["run", "-q", "--seed", &seed.to_string(), "--out"])
                .arg(&out)
                .args(args)
                .arg(&file)
                .spawn()
                .unwrap()
        };
        let (mut a, mut b) = (start(1), start(2));
        assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
        let got = contents(&out).unwrap();
        assert!(
            got == one || got == two,
            "trial {trial}: a mix of two runs in {}",
            out.display()
        );
        assert!(leftovers(&root).is_empty(), "{:?}", leftovers(&root));
    }
}

/// Sends `signal` to a run of scenario 09 after `delay`, into a folder that holds seed 1's
/// set (or nothing), and returns its exit code, or the signal that ended it.
fn interrupted(out: &Path, signal: &str, delay: Duration, args: &[&str]) -> Result<i32, i32> {
    let mut child = dsim()
        .args(["run", "-q", "--seed", "2", "--out"])
        .arg(out)
        .args(args)
        .arg(scenario("09-horizontal-scaling"))
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // The run may have ended already; kill then says so, which is fine.
    let _ = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .stderr(std::process::Stdio::null())
        .status();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    status.code().ok_or(status.signal().unwrap_or(0))
}

/// Issue 11: an interrupt left `.tmp` files, half a set, or an empty new folder.
#[test]
fn an_interrupt_at_any_moment_leaves_the_old_set_or_the_new_one() {
    let args = ["--set", "duration_s=14", "--set", "warmup_s=4"];
    let file = scenario("09-horizontal-scaling");
    let (old, new) = (reference(&file, &args, 1), reference(&file, &args, 2));
    let root = temp_dir("interrupt");
    let mut outcomes = BTreeMap::new();
    // The last delay outlasts any run (on a loaded machine too): at least one finishes.
    for (trial, delay_ms) in [0u64, 15, 40, 80, 150, 250, 350, 450, 600, 60_000]
        .into_iter()
        .enumerate()
    {
        for (signal, fresh) in [("-INT", false), ("-TERM", true)] {
            let parent = root.join(format!("{trial}{signal}"));
            let out = parent.join("deep").join("out");
            if !fresh {
                std::fs::create_dir_all(&out).unwrap();
                for (name, bytes) in &old {
                    std::fs::write(out.join(name), bytes).unwrap();
                }
            }
            let code = interrupted(&out, signal, Duration::from_millis(delay_ms), &args);
            let got = contents(&out);
            // dsim ends by the signal (exit None) once it has cleaned up, or before it set up
            // its handler (when it had done nothing), or finishes first (exit 0).
            let sent = if signal == "-INT" { 2 } else { 15 };
            let what = match (&got, code) {
                (Some(g), Ok(0)) if *g == new => "new set",
                (Some(g), Err(s)) if *g == new && s == sent => "new set",
                (Some(g), Err(s)) if *g == old && !fresh && s == sent => "old set kept",
                (None, Err(s)) if fresh && s == sent => "nothing written",
                _ => panic!(
                    "trial {trial} {signal} at {delay_ms} ms: exit {code:?}, folder {:?}",
                    got.map(|g| g.keys().cloned().collect::<Vec<_>>())
                ),
            };
            *outcomes.entry(what).or_insert(0) += 1;
            let left = [leftovers(&parent), leftovers(&out)].concat();
            assert!(left.is_empty(), "trial {trial} {signal}: left {left:?}");
            if fresh && got.is_none() {
                // No new empty folder: the folders the run created went with it.
                assert!(
                    !parent.join("deep").exists(),
                    "trial {trial}: deep/ left behind"
                );
            }
        }
    }
    // The delays span the run: some runs were stopped, some finished.
    assert!(outcomes.contains_key("new set"), "{outcomes:?}");
    assert!(outcomes.len() >= 2, "{outcomes:?}");
}
