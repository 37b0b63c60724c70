//! Durable file writes and inter-process locks: the only place the crate writes files.
//!
//! Writes go to a unique temp file beside the target, are fsynced, renamed over the
//! target and the directory is fsynced, so a crash leaves either the old or the new
//! content, never a torn mix. Locks are Linux open-file-description locks, which
//! conflict both with Google LevelDB's classic `fcntl` lock and with each other.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{Error, ErrorCode, Result};

mod prealloc;
mod tree;
pub use prealloc::PreallocatedFile;
pub use tree::{
    copy_file_new, create_dir_new, exchange, hard_link_new, link_durable, remove_trash,
    remove_tree, rename_durable, FileStamp, ScratchDir, DIR_MODE,
};

/// Mode of files that did not exist before.
const NEW_FILE_MODE: u32 = 0o644;

/// Longest prefix of the target's name kept in a temp name, so that the name plus
/// the `.tmp-<pid>-<counter>-<nanos>` suffix stays under NAME_MAX (255 bytes).
const TEMP_STEM_MAX: usize = 180;

/// Distinguishes temp files of one process; pid and time alone collided in the old system.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` durably: unique temp file in the same directory, write, fsync, rename over, fsync the directory. Never falls back to an in-place write. On any failure the temp file is removed and the old content is untouched. Errors: ErrorCode::WriteFailed naming the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(path, bytes, target_mode(path)?)
}

/// Same, with explicit permission bits for the new file (e.g. 0o644); write_atomic uses 0o644 when the target does not exist and keeps the existing file's mode when it does.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let (dir, name) = split_target(path)?;
    let tmp = dir.join(temp_name(name.as_bytes()));
    // O_EXCL: never reuse or clobber another writer's temp file.
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| Error::write_io(path, &e))?;
    if let Err(e) = fill_and_sync(file, bytes, mode).and_then(|()| fs::rename(&tmp, path)) {
        // Best effort: the write error is what the caller needs; a leftover temp file
        // is harmless because the target was never touched.
        let _ = fs::remove_file(&tmp);
        return Err(Error::write_io(path, &e));
    }
    fsync_dir(dir).map_err(|e| renamed_but_unsynced(path, dir, &e))
}

/// Appends `line` plus a newline to `path` (created 0644 if missing) with one write, then fsyncs it; a new file's directory entry is fsynced too. A crash may leave a torn last line, which readers skip.
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(NEW_FILE_MODE)
        .open(path)
        .map_err(|e| Error::write_io(path, &e))?;
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    file.write_all(&bytes)
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::write_io(path, &e))?;
    if existed {
        return Ok(());
    }
    let (dir, _) = split_target(path)?;
    sync_dir(dir)
}

/// Removes a file if present and fsyncs its directory; `Ok(false)` when it was not there.
pub fn remove_file(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            let (dir, _) = split_target(path)?;
            sync_dir(dir)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::write_io(path, &e)),
    }
}

/// fsyncs a directory so a rename or create inside it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fsync_dir(dir).map_err(|e| {
        Error::new(
            ErrorCode::WriteFailed,
            format!(
                "cannot fsync directory {}: {e}; recent creates or renames in it may not survive a crash",
                dir.display()
            ),
        )
        .with_path(dir)
    })
}

/// Creates a directory and its parents, fsyncing each parent whose entry list changed.
pub fn create_dir_all_durable(dir: &Path) -> Result<()> {
    for missing in missing_dirs(dir)?.iter().rev() {
        create_one_dir(missing)?;
    }
    Ok(())
}

/// An exclusive open-file-description lock (`F_OFD_SETLK`) on a file, released on drop.
///
/// OFD locks conflict with Google LevelDB's `fcntl` lock and with other OFD locks, even
/// between threads of one process (each acquire opens its own description).
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock now or fails with ErrorCode::Locked naming the path ("… is held by another process (pid N); stop it or wait", the pid when F_OFD_GETLK reports one).
    pub fn try_acquire(path: &Path) -> Result<FileLock> {
        let file = open_lock_file(path)?;
        if set_lock(&file, path)? {
            Ok(FileLock::new(file, path))
        } else {
            Err(held_error(ErrorCode::Locked, path, &file, String::new()))
        }
    }

    /// Waits up to `timeout` (polling with a short backoff, 1ms growing to 20ms), then fails with ErrorCode::LockTimeout naming the path.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<FileLock> {
        let file = open_lock_file(path)?;
        let start = Instant::now();
        let mut backoff = Duration::from_millis(1);
        loop {
            if set_lock(&file, path)? {
                return Ok(FileLock::new(file, path));
            }
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                let waited = format!("timed out after {} ms: ", elapsed.as_millis());
                return Err(held_error(ErrorCode::LockTimeout, path, &file, waited));
            }
            std::thread::sleep(backoff.min(timeout - elapsed));
            backoff = (backoff * 2).min(Duration::from_millis(20));
        }
    }

    /// The locked path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn new(file: File, path: &Path) -> FileLock {
        FileLock {
            file,
            path: path.to_path_buf(),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the descriptor would release the lock too, but only once every copy
        // of the description is closed; unlocking explicitly also covers a forked child
        // that still shares it. Errors are ignored: the close below releases it anyway.
        let mut fl = whole_file(libc::F_UNLCK);
        let _ = ofd_fcntl(&self.file, libc::F_OFD_SETLK, &mut fl);
    }
}

/// Exclusive right to read-modify-replace one file, leaving no lock file behind.
///
/// An existing file is locked itself (OFD lock); since the replace swaps its inode, the
/// lock counts only when the locked inode is still the one at the path. A file that does
/// not exist yet is guarded by a `flock` on its directory until it has been created.
#[derive(Debug)]
pub struct ReplaceLock {
    _held: File,
}

/// Takes a [`ReplaceLock`] on `path`, waiting up to `timeout` (then `LOCK_TIMEOUT`).
pub fn lock_for_replace(path: &Path, timeout: Duration) -> Result<ReplaceLock> {
    poll_lock(path, timeout, || try_lock_for_replace(path)).map(|held| ReplaceLock { _held: held })
}

/// Retries `attempt` (polling with a short backoff, 1ms growing to 20ms) until it returns the lock, or fails with `LOCK_TIMEOUT` naming `path` after `timeout`.
fn poll_lock(
    path: &Path,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<Option<File>>,
) -> Result<File> {
    let start = Instant::now();
    let mut backoff = Duration::from_millis(1);
    loop {
        if let Some(held) = attempt()? {
            return Ok(held);
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(Error::new(
                ErrorCode::LockTimeout,
                format!(
                    "timed out after {} ms waiting for another writer of {}; retry, or find the process that holds it",
                    elapsed.as_millis(),
                    path.display()
                ),
            )
            .with_path(path));
        }
        std::thread::sleep(backoff.min(timeout - elapsed));
        backoff = (backoff * 2).min(Duration::from_millis(20));
    }
}

/// One attempt: the locked descriptor, or `None` when someone else holds it.
fn try_lock_for_replace(path: &Path) -> Result<Option<File>> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
    {
        Ok(file) => {
            if !set_lock(&file, path)? {
                return Ok(None);
            }
            let locked = file.metadata().map_err(|e| lock_io(path, "stat", &e))?;
            let current = fs::metadata(path).ok();
            Ok(current.filter(|m| same_inode(m, &locked)).map(|_| file))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => lock_dir_for_create(path),
        Err(e) => Err(lock_io(path, "open", &e)),
    }
}

/// Waits until every writer that holds a [`ReplaceLock`] on a file of `dir` (files whose names pass `keep`, and creators of new ones) has finished, taking and releasing each lock in turn. A writer that checks a flag under its lock therefore sees a flag raised before this call, and no write that missed it is still on its way. `LOCK_TIMEOUT` when a lock stays held past `timeout`.
pub fn wait_for_replacers(
    dir: &Path,
    keep: &dyn Fn(&str) -> bool,
    timeout: Duration,
) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::read_io(dir, &e)),
    };
    let start = Instant::now();
    for entry in entries.flatten() {
        if keep(&entry.file_name().to_string_lossy()) {
            drop(lock_for_replace(
                &entry.path(),
                timeout.saturating_sub(start.elapsed()),
            )?);
        }
    }
    // Creators of new files hold the folder's lock until their file is in place.
    let remaining = timeout.saturating_sub(start.elapsed());
    drop(poll_lock(dir, remaining, || try_flock_dir(dir))?);
    Ok(())
}

fn lock_dir_for_create(path: &Path) -> Result<Option<File>> {
    let (dir, _) = split_target(path)?;
    let Some(handle) = try_flock_dir(dir)? else {
        return Ok(None);
    };
    // Someone may have created the file while we waited: then lock the file instead.
    Ok((!path.exists()).then_some(handle))
}

/// One non-blocking `flock(LOCK_EX)` on a directory: the open handle, or `None` when held.
fn try_flock_dir(dir: &Path) -> Result<Option<File>> {
    let handle = File::open(dir).map_err(|e| lock_io(dir, "open", &e))?;
    // SAFETY: flock on a descriptor we own; no memory is passed.
    if unsafe { libc::flock(handle.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let err = io::Error::last_os_error();
        return if err.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(lock_io(dir, "lock", &err))
        };
    }
    Ok(Some(handle))
}

/// An exclusive `flock` on a directory, released on drop; creates no file.
#[derive(Debug)]
pub struct DirLock {
    _held: File,
}

impl DirLock {
    /// Takes the lock now or fails with `STATE_LOCKED` naming the folder and `what` holds it.
    pub fn try_acquire(dir: &Path, what: &str) -> Result<DirLock> {
        match try_flock_dir(dir)? {
            Some(held) => Ok(DirLock { _held: held }),
            None => Err(Error::new(
                ErrorCode::Locked,
                format!(
                    "{} is locked: {what} is already running in another process; wait for it to finish",
                    dir.display()
                ),
            )
            .with_path(dir)),
        }
    }
}

fn same_inode(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.ino() == b.ino() && a.dev() == b.dev()
}

/// Reads a regular file. A FIFO, socket, device or folder in its place is refused without a
/// read (opened non-blocking, so a FIFO with no writer cannot hang the caller), with kind
/// `InvalidInput`.
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket, device or folder); it was not read",
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text; other bytes give `InvalidData`, as `fs::read_to_string` does.
pub fn read_regular_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read_regular(path)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Whether some other open file description holds a lock on `path` (probe with F_OFD_GETLK; a missing file is not held). Does not create the file.
pub fn is_locked_elsewhere(path: &Path) -> Result<bool> {
    // Read-only and without O_CREAT: probing must not create or need write access; non-blocking
    // so that a FIFO in the file's place cannot hang the probe.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(lock_io(path, "open", &e)),
    };
    // A fresh description holds nothing, so any conflict it sees is someone else's.
    probe(&file)
        .map(|fl| fl.is_some())
        .map_err(|e| lock_io(path, "probe", &e))
}

/// The mode a replacement keeps: the existing file's, or 0o644 for a new file.
fn target_mode(path: &Path) -> Result<u32> {
    match fs::metadata(path) {
        Ok(meta) => Ok(meta.permissions().mode() & 0o7777),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(NEW_FILE_MODE),
        Err(e) => Err(Error::write_io(path, &e)),
    }
}

/// The directory a target lives in (`.` for a bare name) and its file name.
fn split_target(path: &Path) -> Result<(&Path, &std::ffi::OsStr)> {
    let name = path.file_name().ok_or_else(|| {
        Error::new(
            ErrorCode::WriteFailed,
            format!(
                "cannot write {}: it does not name a file; nothing was written",
                path.display()
            ),
        )
        .with_path(path)
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((dir, name))
}

/// `.<filename>.tmp-<pid>-<counter>-<nanos>`: hidden, and unique across writers.
fn temp_name(name: &[u8]) -> std::ffi::OsString {
    let stem = &name[..name.len().min(TEMP_STEM_MAX)];
    let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let suffix = format!(".tmp-{}-{counter}-{nanos}", std::process::id());
    let mut out = Vec::with_capacity(1 + stem.len() + suffix.len());
    out.push(b'.');
    out.extend_from_slice(stem);
    out.extend_from_slice(suffix.as_bytes());
    std::os::unix::ffi::OsStringExt::from_vec(out)
}

/// Removes the temp files that writers killed mid-write left in `dir` (hidden `.tmp-<pid>-…` names of [`write_atomic`]) when their process is gone; a live writer's are left alone. Returns how many.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::read_io(dir, &e)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if temp_owner(&name).is_some_and(|pid| !process_alive(pid)) {
            fs::remove_file(entry.path()).map_err(|e| Error::write_io(entry.path(), &e))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// The pid in a [`temp_name`], if `name` is one.
fn temp_owner(name: &str) -> Option<i32> {
    let (_, suffix) = name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    let mut parts = suffix.split('-');
    let pid = parts.next()?.parse().ok()?;
    let rest_numeric = parts.clone().count() == 2 && parts.all(|p| p.parse::<u128>().is_ok());
    rest_numeric.then_some(pid)
}

/// Whether a process with this pid exists (signal 0 probes without sending).
pub(crate) fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    unsafe {
        libc::kill(pid, 0) == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// Sets the exact mode, writes and fsyncs the temp file, then closes it.
fn fill_and_sync(mut file: File, bytes: &[u8], mode: u32) -> io::Result<()> {
    // The mode given to open() is reduced by the umask; fchmod makes it exact.
    file.set_permissions(Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The rename happened, so "old content unchanged" would be a lie; say what is true.
fn renamed_but_unsynced(path: &Path, dir: &Path, err: &io::Error) -> Error {
    Error::new(
        ErrorCode::WriteFailed,
        format!(
            "{} was replaced but its directory {} could not be fsynced: {err}; the new content may not survive a crash",
            path.display(),
            dir.display()
        ),
    )
    .with_path(path)
}

/// `dir` and its ancestors that do not exist yet, deepest first.
fn missing_dirs(dir: &Path) -> Result<Vec<&Path>> {
    let mut missing = Vec::new();
    let mut cur = dir;
    loop {
        match fs::metadata(cur) {
            Ok(meta) if meta.is_dir() => return Ok(missing),
            Ok(_) => {
                let err = io::Error::from_raw_os_error(libc::ENOTDIR);
                return Err(mkdir_error(cur, &err));
            }
            // ENOTDIR: some ancestor is a file; keep climbing so the error names it.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                missing.push(cur)
            }
            Err(e) => return Err(mkdir_error(cur, &e)),
        }
        match cur.parent() {
            Some(p) if !p.as_os_str().is_empty() => cur = p,
            _ => return Ok(missing),
        }
    }
}

/// Creates one directory whose parent exists and makes its new entry durable.
fn create_one_dir(dir: &Path) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        // A concurrent creator won the race; its parent entry still needs the fsync below.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => return Err(mkdir_error(dir, &e)),
    }
    let (parent, _) = split_target(dir)?;
    sync_dir(parent)
}

fn mkdir_error(dir: &Path, err: &io::Error) -> Error {
    Error::new(
        ErrorCode::WriteFailed,
        format!("cannot create directory {}: {err}", dir.display()),
    )
    .with_path(dir)
}

/// Opens the file to lock, creating it with 0o644 if missing.
fn open_lock_file(path: &Path) -> Result<File> {
    // Write access is required: F_WRLCK on a read-only descriptor fails with EBADF.
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(NEW_FILE_MODE)
        // std sets O_CLOEXEC already; spelled out because a descriptor leaked into a
        // spawned child would keep the lock alive after we drop it.
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| lock_io(path, "open", &e))
}

/// Tries to take the write lock: Ok(true) taken, Ok(false) held elsewhere.
fn set_lock(file: &File, path: &Path) -> Result<bool> {
    let mut fl = whole_file(libc::F_WRLCK);
    match ofd_fcntl(file, libc::F_OFD_SETLK, &mut fl) {
        Ok(()) => Ok(true),
        Err(e) if is_held(&e) => Ok(false),
        Err(e) => Err(lock_io(path, "lock", &e)),
    }
}

/// The conflicting lock F_OFD_GETLK reports for a whole-file write lock, if any.
fn probe(file: &File) -> io::Result<Option<libc::flock>> {
    let mut fl = whole_file(libc::F_WRLCK);
    ofd_fcntl(file, libc::F_OFD_GETLK, &mut fl)?;
    Ok((fl.l_type != libc::F_UNLCK as libc::c_short).then_some(fl))
}

/// The Locked / LockTimeout error, with the holder's pid when the kernel knows it
/// (classic `fcntl` holders report one; OFD holders report -1).
fn held_error(code: ErrorCode, path: &Path, file: &File, prefix: String) -> Error {
    let pid = match probe(file) {
        Ok(Some(fl)) if fl.l_pid > 0 => format!(" (pid {})", fl.l_pid),
        _ => String::new(),
    };
    Error::new(
        code,
        format!(
            "{prefix}{} is held by another process{pid}; stop it or wait",
            path.display()
        ),
    )
    .with_path(path)
}

/// EAGAIN / EACCES are how F_OFD_SETLK says "someone else holds it".
fn is_held(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES))
}

fn lock_io(path: &Path, what: &str, err: &io::Error) -> Error {
    Error::new(
        ErrorCode::BackendUnavailable,
        format!("cannot {what} lock file {}: {err}", path.display()),
    )
    .with_path(path)
}

/// A whole-file lock request (l_start 0, l_len 0); l_pid stays 0 as OFD commands require.
fn whole_file(kind: libc::c_int) -> libc::flock {
    // SAFETY: flock is plain integers; all-zero is a valid value on every libc layout.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl
}

/// One OFD fcntl lock command, retried on EINTR.
fn ofd_fcntl(file: &File, cmd: libc::c_int, fl: &mut libc::flock) -> io::Result<()> {
    loop {
        // SAFETY: the descriptor is open for the life of `file`, and `fl` is a valid,
        // exclusively borrowed flock the kernel may write to (F_OFD_GETLK).
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), cmd, fl as *mut libc::flock) };
        if rc != -1 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// A fresh, empty folder for one test of this module or its submodules.
#[cfg(test)]
fn test_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lcs-durable-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temp_files_of_dead_writers_are_removed_and_live_ones_kept() {
        let dir = test_dir("stale");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mine = std::process::id();
        for name in [
            format!(".a.json.tmp-{dead}-0-17"),
            format!(".a.json.tmp-{mine}-0-17"),
            "a.json".to_string(),
            ".a.json.tmp-notapid".to_string(),
        ] {
            fs::write(dir.join(name), "x").unwrap();
        }
        assert_eq!(remove_stale_temps(&dir).unwrap(), 1);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let own = format!(".a.json.tmp-{mine}-0-17");
        assert_eq!(left, vec![own.as_str(), ".a.json.tmp-notapid", "a.json"]);
        fs::remove_dir_all(&dir).unwrap();
    }
    use std::collections::BTreeSet;
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;

    /// A unique directory under the system temp dir, removed on drop.
    struct TestDir(PathBuf);

    impl TestDir {
        fn new(tag: &str) -> TestDir {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let dir = std::env::temp_dir().join(format!(
                "lookcoin-durable-{tag}-{}-{n}-{nanos}",
                std::process::id()
            ));
            fs::create_dir_all(&dir).unwrap();
            TestDir(dir)
        }

        fn names(&self) -> BTreeSet<String> {
            fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn write_atomic_creates_replaces_and_keeps_mode() {
        let t = TestDir::new("write");
        let p = t.0.join("state.json");

        write_atomic(&p, b"first").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"first");
        assert_eq!(mode_of(&p), 0o644);

        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second, longer");

        fs::set_permissions(&p, Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"third").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"third");
        assert_eq!(mode_of(&p), 0o600, "replacing keeps the existing mode");

        let q = t.0.join("explicit.json");
        write_atomic_mode(&q, b"x", 0o640).unwrap();
        assert_eq!(mode_of(&q), 0o640);

        assert_eq!(t.names(), set(&["state.json", "explicit.json"]));
    }

    #[test]
    fn write_atomic_long_name_fits_name_max() {
        let t = TestDir::new("longname");
        let name = "n".repeat(250);
        let p = t.0.join(&name);
        write_atomic(&p, b"ok").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"ok");
        assert_eq!(t.names(), set(&[name.as_str()]));
    }

    #[test]
    fn write_atomic_into_missing_directory_fails() {
        let t = TestDir::new("missing");
        let p = t.0.join("no-such-dir").join("state.json");
        let err = write_atomic(&p, b"data").unwrap_err();
        assert_eq!(err.code, ErrorCode::WriteFailed);
        assert_eq!(
            err.details.path.as_deref(),
            Some(p.display().to_string().as_str())
        );
        assert!(err.message.contains("unchanged"), "{}", err.message);
        assert!(t.names().is_empty());
    }

    #[test]
    fn write_atomic_over_directory_fails_and_changes_nothing() {
        let t = TestDir::new("overdir");
        let target = t.0.join("target");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inner"), b"keep").unwrap();
        let before = t.names();

        let err = write_atomic(&target, b"data").unwrap_err();
        assert_eq!(err.code, ErrorCode::WriteFailed);
        assert_eq!(
            err.details.path.as_deref(),
            Some(target.display().to_string().as_str())
        );
        assert!(target.is_dir());
        assert_eq!(fs::read(target.join("inner")).unwrap(), b"keep");
        assert_eq!(t.names(), before, "the temp file was removed");
    }

    #[test]
    fn write_atomic_under_a_file_fails_and_changes_nothing() {
        let t = TestDir::new("underfile");
        let parent = t.0.join("plain");
        fs::write(&parent, b"x").unwrap();
        let p = parent.join("state.json");

        let err = write_atomic(&p, b"data").unwrap_err();
        assert_eq!(err.code, ErrorCode::WriteFailed);
        assert_eq!(
            err.details.path.as_deref(),
            Some(p.display().to_string().as_str())
        );
        assert_eq!(fs::read(&parent).unwrap(), b"x");
        assert_eq!(t.names(), set(&["plain"]));
    }

    #[test]
    fn concurrent_writers_never_tear_or_leak_temp_files() {
        let t = TestDir::new("concurrent");
        let p = Arc::new(t.0.join("state.json"));
        let content =
            |th: usize, i: usize| format!("thread {th} write {i} ").repeat(1 + (th * 50 + i) % 37);

        let handles: Vec<_> = (0..8)
            .map(|th| {
                let p = Arc::clone(&p);
                std::thread::spawn(move || {
                    for i in 0..50 {
                        write_atomic(&p, content(th, i).as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }

        let last = fs::read_to_string(&*p).unwrap();
        let all: BTreeSet<String> = (0..8)
            .flat_map(|th| (0..50).map(move |i| content(th, i)))
            .collect();
        assert!(
            all.contains(&last),
            "final content is not one written: {last:?}"
        );
        assert_eq!(t.names(), set(&["state.json"]));
    }

    #[test]
    fn create_dir_all_durable_creates_nested_and_is_idempotent() {
        let t = TestDir::new("mkdir");
        let deep = t.0.join("a").join("b").join("c");
        create_dir_all_durable(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_all_durable(&deep).unwrap();
        sync_dir(&deep).unwrap();

        fs::write(t.0.join("file"), b"x").unwrap();
        let err = create_dir_all_durable(&t.0.join("file").join("sub")).unwrap_err();
        assert_eq!(err.code, ErrorCode::WriteFailed);
        assert_eq!(
            err.details.path.as_deref(),
            Some(t.0.join("file").display().to_string().as_str())
        );

        let err = sync_dir(&t.0.join("nope")).unwrap_err();
        assert_eq!(err.code, ErrorCode::WriteFailed);
    }

    #[test]
    fn file_lock_excludes_other_descriptions_until_dropped() {
        let t = TestDir::new("lock");
        let p = t.0.join("LOCK");
        assert!(
            !is_locked_elsewhere(&p).unwrap(),
            "a missing file is not held"
        );
        assert!(!p.exists(), "probing does not create the file");

        let lock = FileLock::try_acquire(&p).unwrap();
        assert_eq!(lock.path(), p.as_path());
        assert_eq!(mode_of(&p), 0o644);
        assert!(is_locked_elsewhere(&p).unwrap());

        let p2 = p.clone();
        let err = std::thread::spawn(move || FileLock::try_acquire(&p2).unwrap_err())
            .join()
            .unwrap();
        assert_eq!(err.code, ErrorCode::Locked);
        assert_eq!(
            err.details.path.as_deref(),
            Some(p.display().to_string().as_str())
        );
        assert!(
            err.message.contains("held by another process"),
            "{}",
            err.message
        );

        let start = Instant::now();
        let err = FileLock::acquire(&p, Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.code, ErrorCode::LockTimeout);
        assert_eq!(
            err.details.path.as_deref(),
            Some(p.display().to_string().as_str())
        );
        assert!(start.elapsed() >= Duration::from_millis(50));

        drop(lock);
        assert!(!is_locked_elsewhere(&p).unwrap());
        let again = FileLock::try_acquire(&p).unwrap();
        drop(again);
        FileLock::acquire(&p, Duration::from_millis(50)).unwrap();
    }

    #[test]
    fn acquire_waits_for_release() {
        let t = TestDir::new("wait");
        let p = t.0.join("LOCK");
        let lock = FileLock::try_acquire(&p).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            drop(lock);
        });
        FileLock::acquire(&p, Duration::from_secs(5)).unwrap();
        releaser.join().unwrap();
    }

    #[test]
    fn replace_lock_follows_the_file_across_a_replace() {
        let t = TestDir::new("replace");
        let p = t.0.join("state.json");
        write_atomic(&p, b"v1").unwrap();
        let first = lock_for_replace(&p, Duration::from_secs(5)).unwrap();
        let waiter_path = p.clone();
        let waiter = std::thread::spawn(move || {
            let _lock = lock_for_replace(&waiter_path, Duration::from_secs(5)).unwrap();
            // Held only after the first writer's replace: it must see v2, not the old inode.
            fs::read(&waiter_path).unwrap()
        });
        std::thread::sleep(Duration::from_millis(30));
        write_atomic(&p, b"v2").unwrap();
        drop(first);
        assert_eq!(waiter.join().unwrap(), b"v2");
        let held = lock_for_replace(&p, Duration::from_secs(1)).unwrap();
        let err = lock_for_replace(&p, Duration::from_millis(30)).unwrap_err();
        assert_eq!(err.code, ErrorCode::LockTimeout);
        drop(held);
    }

    #[test]
    fn replace_lock_on_a_missing_file_creates_nothing() {
        let t = TestDir::new("create");
        let p = t.0.join("new.json");
        let lock = lock_for_replace(&p, Duration::from_secs(1)).unwrap();
        assert!(t.names().is_empty());
        let err = lock_for_replace(&p, Duration::from_millis(30)).unwrap_err();
        assert_eq!(err.code, ErrorCode::LockTimeout);
        drop(lock);
        lock_for_replace(&p, Duration::from_secs(1)).unwrap();
    }

    /// Kills the child on drop so a failing assertion does not leave it running.
    struct KillOnDrop(Child);

    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn conflicts_with_classic_fcntl_lock_of_another_process() {
        let t = TestDir::new("leveldb");
        let p = t.0.join("LOCK");
        fs::write(&p, b"").unwrap();
        let script = "import fcntl,sys,time; f=open(sys.argv[1],'a'); \
                      fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB); \
                      print('locked', flush=True); time.sleep(30)";
        let spawned = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&p)
            .stdout(Stdio::piped())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                eprintln!("!!!!! SKIPPED conflicts_with_classic_fcntl_lock_of_another_process: python3 not found !!!!!");
                return;
            }
            Err(e) => panic!("cannot spawn python3: {e}"),
        };
        let mut child = KillOnDrop(child);
        let mut line = String::new();
        BufReader::new(child.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked", "child did not take the lock");

        let err = FileLock::try_acquire(&p).unwrap_err();
        assert_eq!(err.code, ErrorCode::Locked);
        assert_eq!(
            err.details.path.as_deref(),
            Some(p.display().to_string().as_str())
        );
        assert!(
            err.message.contains(&format!("(pid {})", child.0.id())),
            "{}",
            err.message
        );
        assert!(is_locked_elsewhere(&p).unwrap());

        drop(child);
        assert!(!is_locked_elsewhere(&p).unwrap());
        FileLock::try_acquire(&p).unwrap();
    }
}
