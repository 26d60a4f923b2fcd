//! Interrupts: what SIGINT (Ctrl-C) and SIGTERM leave behind. Commands register the paths a
//! half-done command would leave (a hidden staging folder, an output folder's new parents, a
//! temporary file); on a signal, a thread of ours removes them, says what was written, and
//! ends the process by the same signal (a shell sees 130 or 143, and a script's loop stops as
//! it would for any program). Writing a set and swapping it into place hold the same lock,
//! so a signal that arrives meanwhile waits the milliseconds they take: either the previous
//! set or the new one is in place, never a mix; and once the clean-up has started the lock is
//! never given back, so nothing is created after it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// What an interrupt must clean up, and what this command has already put in place.
#[derive(Default)]
pub(super) struct Pending {
    /// Removed whole on an interrupt (staging folders, temporary files).
    scratch: Vec<PathBuf>,
    /// Folders this command created; removed on an interrupt if still empty (innermost
    /// first).
    created: Vec<PathBuf>,
    /// Output folders already replaced by this command's results.
    delivered: Vec<PathBuf>,
    /// Whether the command has started to write anything (`validate` never does).
    writes: bool,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    scratch: Vec::new(),
    created: Vec::new(),
    delivered: Vec::new(),
    writes: false,
});

/// The registry, locked. Holding it keeps an interrupt from cleaning up until it is dropped:
/// hold it while swapping a set into place.
pub(super) fn lock() -> MutexGuard<'static, Pending> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pending {
    pub(super) fn add_scratch(&mut self, path: &Path) {
        self.writes = true;
        self.scratch.push(path.to_path_buf());
    }

    pub(super) fn remove_scratch(&mut self, path: &Path) {
        self.scratch.retain(|p| p != path);
    }

    pub(super) fn add_created(&mut self, dirs: &[PathBuf]) {
        self.created.extend(dirs.iter().cloned());
    }

    pub(super) fn remove_created(&mut self, dirs: &[PathBuf]) {
        self.created.retain(|p| !dirs.contains(p));
    }

    pub(super) fn add_delivered(&mut self, dir: &Path) {
        self.delivered.push(dir.to_path_buf());
    }

    /// Removes the scratch paths and the created folders that are empty.
    pub(super) fn clean_up(&mut self) {
        for path in self.scratch.drain(..) {
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
        for dir in self.created.drain(..).rev() {
            let _ = std::fs::remove_dir(&dir);
        }
    }

    /// What the user is told after an interrupt.
    fn report(&self) -> String {
        if !self.writes {
            "interrupted".into()
        } else if self.delivered.is_empty() {
            "interrupted: no results were written; output folders keep what they held".into()
        } else {
            let dirs: Vec<String> = self
                .delivered
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            format!(
                "interrupted after writing {}; nothing else was written",
                dirs.join(", ")
            )
        }
    }
}

/// Prints `report` (a progress bar may hold the line: on a fresh one) and ends the process
/// by `signal`. A stderr that blocks (a paused pager) cannot keep it alive: the message gets
/// a tenth of a second.
#[cfg(unix)]
fn say_and_end(signal: i32, report: String) {
    let (done, wait) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new().spawn(move || {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "\n{report}");
        let _ = done.send(());
    });
    let _ = wait.recv_timeout(std::time::Duration::from_millis(100));
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    std::process::exit(128 + signal);
}

/// Starts the thread that handles SIGINT and SIGTERM (once per process; later calls do
/// nothing). Without it a signal kills the process where it stands.
pub(super) fn install() {
    #[cfg(unix)]
    {
        use std::sync::Once;
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            use signal_hook::consts::{SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
                return;
            };
            let _ = std::thread::Builder::new()
                .name("dsim-signals".into())
                .spawn(move || {
                    if let Some(signal) = signals.forever().next() {
                        // The registry stays locked until the process ends: the command,
                        // still running meanwhile, cannot register (and so create) another
                        // folder or file after this clean-up.
                        let mut pending = lock();
                        pending.clean_up();
                        let report = pending.report();
                        say_and_end(signal, report);
                        drop(pending);
                    }
                });
        });
    }
}
