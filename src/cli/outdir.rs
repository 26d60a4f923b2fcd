//! Output folders, replaced as one set or not at all, whatever runs beside them or stops them.
//!
//! A command assembles its files in a hidden staging folder beside the output folder, created
//! before the run (so a folder that cannot be written is refused before any time is spent).
//! At the end it takes an advisory lock on the parent folder, adds to the staging folder
//! what it must keep from the old one — files it did not write itself (hard links, so
//! nothing is copied) except the previous command's results listed in `.dsim-files` — and
//! swaps the two folders in one `renameat2(RENAME_EXCHANGE)` (elsewhere, two renames under
//! the lock, with interrupts held off). Readers see the old set or the new one; two commands
//! writing one folder at once leave one of them whole; an interrupt (`cli::interrupt`)
//! removes the staging folder and any folder the command created.
//!
//! Slices of a sharded sweep add their file to the folder instead of replacing the set, so
//! slices can gather in one folder.

use crate::cli::Failure;
use crate::cli::interrupt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The file in an output folder naming the files the last command wrote there as a set.
const MANIFEST: &str = ".dsim-files";
/// The name an earlier dsim used for the same, for its charts only.
const OLD_MANIFEST: &str = ".dsim-charts";

/// How a command's files join the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// The files are the folder's new results: the previous command's results go (those
    /// listed in `.dsim-files`), files dsim did not write stay.
    ReplaceSet,
    /// The files are added (a sweep slice): everything else stays.
    Add,
}

/// A command's output folder, prepared before its run.
pub(super) struct OutDir {
    /// Where the results go, as the user named it.
    pub path: PathBuf,
    /// `path` with a symbolic link at its end followed: the folder that is swapped.
    target: PathBuf,
    parent: PathBuf,
    staging: PathBuf,
    /// The staging folder, open and locked while this process lives: a staging folder whose
    /// lock can be taken belongs to a process that is gone (`remove_abandoned`).
    _alive: Option<std::fs::File>,
    /// Folders created for it (missing parents), outermost first.
    created: Vec<PathBuf>,
    done: bool,
}

fn bad(what: String) -> Failure {
    Failure::bad(format!(
        "{what}\n  choose another folder with --out DIR, or --no-write"
    ))
}

/// A name no other process or call uses at once: `.NAME.dsim-PID-N`.
fn scratch_name(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        ".{name}.dsim-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl OutDir {
    /// `--out`, else `default`; `None` with `--no-write`. See `prepare_at`.
    pub(super) fn prepare(
        output: &crate::cli::OutputArgs,
        default: PathBuf,
        files: &[&str],
    ) -> Result<Option<OutDir>, Failure> {
        if output.no_write {
            return Ok(None);
        }
        OutDir::prepare_at(output.out.clone().unwrap_or(default), files).map(Some)
    }

    /// Checks `path` and creates its staging folder (and missing parents). `files` are the
    /// names the command will write, refused where a folder stands.
    pub(super) fn prepare_at(path: PathBuf, files: &[&str]) -> Result<OutDir, Failure> {
        let target = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&path).map_err(|e| {
                bad(format!(
                    "{} is a link that leads nowhere: {e}",
                    path.display()
                ))
            })?,
            _ => path.clone(),
        };
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                bad(format!(
                    "{} is not a folder dsim can replace (the current folder, `..` or a name \
                     that is not UTF-8): name a folder of its own, e.g. --out results",
                    path.display()
                ))
            })?
            .to_string();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if target.exists() {
            check_existing(&target, &parent, files)?;
        }
        // Registered as they are made, so an interrupt in between removes them.
        let mut pending = interrupt::lock();
        let created = create_parents(&parent)
            .map_err(|e| bad(format!("cannot create folder {}: {e}", parent.display())))?;
        pending.add_created(&created);
        remove_abandoned(&parent, &name, &target);
        let staging = parent.join(scratch_name(&name));
        if let Err(e) = std::fs::create_dir(&staging) {
            for dir in created.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
            pending.remove_created(&created);
            return Err(bad(format!("cannot write in {}: {e}", parent.display())));
        }
        pending.add_scratch(&staging);
        let alive = std::fs::File::open(&staging)
            .ok()
            .filter(|f| f.try_lock().is_ok());
        Ok(OutDir {
            path,
            target,
            parent,
            staging,
            _alive: alive,
            created,
            done: false,
        })
    }

    /// Whether `file` (an existing file) lies in this output folder, where a command's
    /// results would replace it.
    pub(super) fn holds(&self, file: &Path) -> bool {
        let (Ok(file), Ok(dir)) = (
            std::fs::canonicalize(file),
            std::fs::canonicalize(&self.target),
        ) else {
            return false;
        };
        file.starts_with(dir)
    }

    /// Writes `files` and puts them in place (see the module's documentation). The error
    /// says what the folder holds afterwards.
    pub(super) fn commit<N: AsRef<str>, C: AsRef<[u8]>>(
        mut self,
        files: &[(N, C)],
        mode: Mode,
    ) -> Result<(), Failure> {
        let shown = self.path.display().to_string();
        let kept = |what: String| {
            Failure::bad(format!(
                "{what}\n  nothing was replaced: {shown} holds what it held before"
            ))
        };
        // Under the interrupt lock: an interrupt removes the staging folder only when no file
        // is being written into it.
        let pending = interrupt::lock();
        for (name, contents) in files {
            let file = self.staging.join(name.as_ref());
            std::fs::write(&file, contents)
                .map_err(|e| kept(format!("cannot write {}: {e}", file.display())))?;
        }
        drop(pending);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_ref()).collect();
        // An advisory lock on the parent: two commands finishing at once take turns.
        let lock = std::fs::File::open(&self.parent).and_then(|l| l.lock().map(|()| l));
        if let Err(e) = &lock {
            crate::cli::message::warn(format_args!(
                "cannot lock {} ({e}): a second dsim finishing in the same folder at the same \
                 instant could race this one",
                self.parent.display()
            ));
        }
        let mut pending = interrupt::lock();
        let swapped = if self.target.is_dir() {
            self.carry_over(&names, mode).map_err(kept)?;
            swap(&self.staging, &self.target)
                .map_err(|e| kept(format!("cannot replace {shown}: {e}")))?
        } else {
            if mode == Mode::ReplaceSet {
                write_manifest(&self.staging, &names).map_err(kept)?;
            }
            std::fs::rename(&self.staging, &self.target)
                .map_err(|e| kept(format!("cannot create {shown}: {e}")))?;
            pending.remove_scratch(&self.staging);
            false
        };
        pending.remove_created(&self.created);
        pending.add_delivered(&self.path);
        self.done = true;
        drop(pending);
        if swapped {
            // The staging folder now holds the previous set: whatever the new set did not
            // take over and was not the previous command's results (a file that appeared
            // meanwhile) moves across — under the folder's lock, before another command can
            // swap in its own set — then the rest goes.
            rescue(&self.staging, &self.target, mode);
            drop(lock);
            let _ = std::fs::remove_dir_all(&self.staging);
            interrupt::lock().remove_scratch(&self.staging);
        }
        Ok(())
    }

    /// Adds to the staging folder what the folder keeps: every file this command does not
    /// write, except (when replacing the set) the previous set; then the new manifest.
    fn carry_over(&self, names: &[&str], mode: Mode) -> Result<(), String> {
        let dropped = dropped_names(&self.target, mode);
        let entries = std::fs::read_dir(&self.target)
            .map_err(|e| format!("cannot read {}: {e}", self.target.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", self.target.display()))?;
            let name = entry.file_name();
            // By the name's bytes: a file of any name is kept.
            if names.iter().any(|n| name == **n) || dropped.iter().any(|d| name == **d) {
                continue;
            }
            keep(&entry.path(), &self.staging.join(&name))
                .map_err(|e| format!("cannot keep {}: {e}", entry.path().display()))?;
        }
        if mode == Mode::ReplaceSet {
            write_manifest(&self.staging, names)?;
        }
        if let Ok(m) = std::fs::metadata(&self.target) {
            let _ = std::fs::set_permissions(&self.staging, m.permissions());
        }
        Ok(())
    }
}

impl Drop for OutDir {
    /// A command that ends without committing (an error, a refused run) leaves nothing:
    /// its staging folder goes, and so do the folders it created if they are empty.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut pending = interrupt::lock();
        let _ = std::fs::remove_dir_all(&self.staging);
        pending.remove_scratch(&self.staging);
        for dir in self.created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        pending.remove_created(&self.created);
    }
}

/// Refuses an existing output folder that cannot be replaced as a set.
fn check_existing(target: &Path, parent: &Path, files: &[&str]) -> Result<(), Failure> {
    if !target.is_dir() {
        return Err(bad(format!("{} is a file, not a folder", target.display())));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let device = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).ok();
        if device(target) != device(parent) {
            return Err(bad(format!(
                "{} is a mount point: dsim swaps its output folder with a new one beside \
                 it, which cannot cross file systems; write into a folder inside it",
                target.display()
            )));
        }
    }
    for name in files {
        if target.join(name).is_dir() {
            return Err(bad(format!(
                "{} is a folder; dsim writes a file there",
                target.join(name).display()
            )));
        }
    }
    let entries = std::fs::read_dir(target)
        .map_err(|e| bad(format!("cannot read {}: {e}", target.display())))?;
    for entry in entries.filter_map(Result::ok) {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            return Err(bad(format!(
                "{} holds a folder ({}): dsim replaces its output folder as one set and keeps \
                 the files it did not write, but not folders",
                target.display(),
                entry.file_name().to_string_lossy()
            )));
        }
    }
    Ok(())
}

/// Creates `dir` and its missing parents; returns those it created, outermost first.
fn create_parents(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    std::fs::create_dir_all(dir)?;
    Ok(missing)
}

/// Removes the staging folders of `name` that a killed dsim left: those whose lock nobody
/// holds (a live dsim, in any process namespace or on any host sharing the folder, holds its
/// own). Only when the output folder exists: a dsim killed between the two renames of the
/// fallback swap leaves the only copy of the previous set in one of them.
fn remove_abandoned(parent: &Path, name: &str, target: &Path) {
    if !target.is_dir() {
        return;
    }
    let prefix = format!(".{name}.dsim-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        if !file_name.to_str().is_some_and(|n| n.starts_with(&prefix)) {
            continue;
        }
        let abandoned = std::fs::File::open(entry.path()).is_ok_and(|f| f.try_lock().is_ok());
        if abandoned {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The names a new set does not keep from the folder: with `ReplaceSet`, the previous
/// command's results (listed in its manifest) and the manifests themselves.
fn dropped_names(dir: &Path, mode: Mode) -> Vec<String> {
    if mode == Mode::Add {
        return Vec::new();
    }
    let mut names: Vec<String> = vec![MANIFEST.into(), OLD_MANIFEST.into()];
    for manifest in [MANIFEST, OLD_MANIFEST] {
        let text = std::fs::read_to_string(dir.join(manifest)).unwrap_or_default();
        // Plain names only: a damaged manifest cannot reach outside the folder.
        names.extend(
            text.lines()
                .filter(|n| !n.is_empty() && !n.contains(['/', '\\']) && !n.starts_with('.'))
                .map(String::from),
        );
    }
    names
}

/// After a swap, moves from the previous folder (`old`) into the new one what the new one
/// lacks and the set did not drop: a file that appeared between the carry-over and the swap.
fn rescue(old: &Path, new: &Path, mode: Mode) {
    let dropped = dropped_names(old, mode);
    let Ok(entries) = std::fs::read_dir(old) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let there = new.join(&name);
        if !dropped.iter().any(|d| name == **d) && std::fs::symlink_metadata(&there).is_err() {
            let _ = std::fs::rename(entry.path(), there);
        }
    }
}

fn write_manifest(dir: &Path, names: &[&str]) -> Result<(), String> {
    let mut text = names.join("\n");
    text.push('\n');
    std::fs::write(dir.join(MANIFEST), text).map_err(|e| format!("cannot write {MANIFEST}: {e}"))
}

/// Puts `from` (a file or a link) at `to` without copying its bytes where the filesystem
/// allows (a hard link), else as a copy.
fn keep(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    #[cfg(unix)]
    if meta.file_type().is_symlink() {
        return std::os::unix::fs::symlink(std::fs::read_link(from)?, to);
    }
    if meta.is_dir() {
        return Err(std::io::Error::other(
            "a folder appeared in the output folder during the run",
        ));
    }
    std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(|_| ()))
}

/// Exchanges two folders. Returns true (the old folder is now at `staging`).
fn swap(staging: &Path, target: &Path) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let a = CString::new(staging.as_os_str().as_bytes())?;
        let b = CString::new(target.as_os_str().as_bytes())?;
        // SAFETY: both are NUL-terminated paths that live across the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        // Filesystems without the exchange fall through to two renames.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    // Two renames; the caller holds the interrupt lock, so no signal lands between them.
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let old = target.with_file_name(scratch_name(name));
    std::fs::rename(target, &old)?;
    if let Err(e) = std::fs::rename(staging, target) {
        let _ = std::fs::rename(&old, target);
        return Err(e);
    }
    // The new set is in place; the previous one is cleaned up from wherever it is.
    if std::fs::rename(&old, staging).is_err() {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(true)
}

/// Writes one file whole or not at all: a temporary file beside it (removed on an
/// interrupt), renamed over it.
pub(super) fn write_file(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Failure::bad(format!("{}: not a file name", path.display())))?;
    let temp = path.with_file_name(scratch_name(name));
    // Under the interrupt lock from registering the temporary file to renaming it: an
    // interrupt waits, then finds either no file or the whole one.
    let mut pending = interrupt::lock();
    pending.add_scratch(&temp);
    let result = std::fs::write(&temp, contents).and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    } else {
        pending.add_delivered(path);
    }
    pending.remove_scratch(&temp);
    result.map_err(|e| {
        Failure::bad(format!(
            "cannot write {}: {e}\n  it holds what it held before",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dsim-outdir-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A second set replaces the first: the first's files it does not write go, a file the
    /// user put there stays, a slice is added beside them, and no staging folder is left.
    #[test]
    fn a_set_replaces_the_previous_set_and_keeps_other_files() {
        let root = temp("sets");
        let out = root.join("nested").join("out");
        let dir = OutDir::prepare_at(out.clone(), &["a.json"]).unwrap();
        dir.commit(
            &[("a.json", "1"), ("chart.svg", "<svg/>")],
            Mode::ReplaceSet,
        )
        .unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        let dir = OutDir::prepare_at(out.clone(), &["a.json"]).unwrap();
        dir.commit(&[("a.json", "2")], Mode::ReplaceSet).unwrap();
        let dir = OutDir::prepare_at(out.clone(), &[]).unwrap();
        dir.commit(&[("slice.json", "s")], Mode::Add).unwrap();
        assert_eq!(
            listing(&out),
            [".dsim-files", "a.json", "notes.txt", "slice.json"]
        );
        assert_eq!(std::fs::read_to_string(out.join("a.json")).unwrap(), "2");
        assert_eq!(
            std::fs::read_to_string(out.join("notes.txt")).unwrap(),
            "mine"
        );
        assert_eq!(listing(&root.join("nested")), ["out"]);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A command that stops before committing leaves no folder it made and no staging.
    #[test]
    fn an_abandoned_folder_leaves_nothing() {
        let root = temp("abandon");
        let out = root.join("a").join("b").join("out");
        drop(OutDir::prepare_at(out, &[]).unwrap());
        assert!(listing(&root).is_empty(), "{:?}", listing(&root));
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A file whose name is not UTF-8 is the user's too: it stays.
    #[cfg(unix)]
    #[test]
    fn a_file_of_any_name_is_kept() {
        use std::os::unix::ffi::OsStrExt;
        let root = temp("bytes");
        let out = root.join("out");
        OutDir::prepare_at(out.clone(), &[])
            .unwrap()
            .commit(&[("a.json", "1")], Mode::ReplaceSet)
            .unwrap();
        let odd = out.join(std::ffi::OsStr::from_bytes(b"notes-\xff.txt"));
        std::fs::write(&odd, "mine").unwrap();
        OutDir::prepare_at(out.clone(), &[])
            .unwrap()
            .commit(&[("a.json", "2")], Mode::ReplaceSet)
            .unwrap();
        assert_eq!(std::fs::read_to_string(&odd).unwrap(), "mine");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_folder_holding_folders_is_refused() {
        let root = temp("nested");
        std::fs::create_dir_all(root.join("out").join("keep")).unwrap();
        assert!(OutDir::prepare_at(root.join("out"), &[]).is_err());
        let _ = std::fs::remove_dir_all(&root);
    }
}
