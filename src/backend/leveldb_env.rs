//! A rusty-leveldb `Env` that makes "sync" mean fsync.
//!
//! rusty-leveldb's `write(batch, sync = true)` only calls `Write::flush` on its log file,
//! which for a `File` does nothing: an acknowledged write could vanish in a power cut.
//! Here every writable file fsyncs on flush, and a directory is fsynced after a file
//! is created or renamed in it, so the new log, table or CURRENT survives a crash.
//!
//! Write-ahead logs are written over zeros written ahead ([`PreallocatedFile`]), so a
//! synced write needs no journal commit for the file's size. Both LevelDB readers take
//! the zeros as the end of the log: rusty-leveldb stops at the first record that fails
//! its checksum, Google LevelDB skips zero-type records (its own preallocation). A log
//! continued after reopening is written from where recovery stopped
//! ([`leveldb_check::log_recovery_end`]), never after zeros or a torn record.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rusty_leveldb::env::{Env, FileLock, Logger, RandomAccess};
use rusty_leveldb::{PosixDiskEnv, Result, Status, StatusCode};

use crate::durable::{self, PreallocatedFile};
use crate::leveldb_check;
use crate::ErrorCode;

/// `PosixDiskEnv` with durable writes.
pub struct SyncedEnv {
    inner: PosixDiskEnv,
    /// Where each log (by file name) may be continued, found by the open before recovery
    /// (which reads the logs again itself); a log's entry goes when it is opened to write.
    log_ends: RefCell<HashMap<OsString, u64>>,
}

impl SyncedEnv {
    /// A new environment for one database, given [`leveldb_check::log_recovery_end`] of its logs.
    pub fn new(log_ends: HashMap<OsString, u64>) -> Self {
        SyncedEnv {
            inner: PosixDiskEnv::new(),
            log_ends: RefCell::new(log_ends),
        }
    }

    /// Where the log at `path` may be continued; `forget` when it is opened to write.
    fn log_recovery_end(&self, path: &Path, forget: bool) -> Result<u64> {
        let name = path.file_name().unwrap_or_default();
        let mut ends = self.log_ends.borrow_mut();
        let known = if forget {
            ends.remove(name)
        } else {
            ends.get(name).copied()
        };
        if let Some(end) = known {
            return Ok(end);
        }
        leveldb_check::log_recovery_end(path).map_err(|e| {
            let code = match e.code {
                ErrorCode::Corrupt => StatusCode::Corruption,
                _ => StatusCode::IOError,
            };
            Status::new(code, &e.message)
        })
    }
}

/// A write-ahead log, as opposed to tables, MANIFEST, CURRENT and the info log `LOG`.
fn is_write_ahead_log(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(leveldb_check::is_log_name)
}

/// A file whose `flush` reaches the disk.
struct SyncOnFlush(File);

impl Write for SyncOnFlush {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

fn open_synced(path: &Path, options: &mut OpenOptions) -> Result<Box<dyn Write>> {
    let existed = path.exists();
    let file = options
        .open(path)
        .map_err(|e| io_status(path, "open", &e))?;
    if !existed {
        sync_parent(path)?;
    }
    Ok(Box::new(SyncOnFlush(file)))
}

/// Opens a write-ahead log to write from `start`; `create` starts a new, empty one.
fn open_log(path: &Path, start: u64, create: bool) -> Result<Box<dyn Write>> {
    let existed = path.exists();
    let file =
        PreallocatedFile::open(path, start, create).map_err(|e| io_status(path, "open", &e))?;
    if !existed {
        sync_parent(path)?;
    }
    Ok(Box::new(file))
}

fn sync_parent(path: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    durable::sync_dir(dir).map_err(|e| Status::new(StatusCode::IOError, &e.message))
}

fn io_status(path: &Path, what: &str, err: &io::Error) -> Status {
    Status::new(
        StatusCode::IOError,
        &format!("{what} {}: {err}", path.display()),
    )
}

impl Env for SyncedEnv {
    fn open_sequential_file(&self, p: &Path) -> Result<Box<dyn Read>> {
        self.inner.open_sequential_file(p)
    }
    fn open_random_access_file(&self, p: &Path) -> Result<Box<dyn RandomAccess>> {
        self.inner.open_random_access_file(p)
    }
    fn open_writable_file(&self, p: &Path) -> Result<Box<dyn Write>> {
        if is_write_ahead_log(p) {
            return open_log(p, 0, true);
        }
        open_synced(
            p,
            OpenOptions::new().create(true).truncate(true).write(true),
        )
    }
    fn open_appendable_file(&self, p: &Path) -> Result<Box<dyn Write>> {
        if is_write_ahead_log(p) {
            return open_log(p, self.log_recovery_end(p, true)?, false);
        }
        open_synced(p, OpenOptions::new().create(true).append(true))
    }
    fn exists(&self, p: &Path) -> Result<bool> {
        self.inner.exists(p)
    }
    fn children(&self, p: &Path) -> Result<Vec<PathBuf>> {
        self.inner.children(p)
    }
    /// For a write-ahead log, the size recovery read: rusty-leveldb continues a reused log
    /// at the offset this returns, and must continue where `open_appendable_file` writes.
    fn size_of(&self, p: &Path) -> Result<usize> {
        if !is_write_ahead_log(p) {
            return self.inner.size_of(p);
        }
        let end = self.log_recovery_end(p, false)?;
        usize::try_from(end).map_err(|_| Status::new(StatusCode::IOError, "log too large"))
    }
    fn delete(&self, p: &Path) -> Result<()> {
        self.inner.delete(p)
    }
    fn mkdir(&self, p: &Path) -> Result<()> {
        self.inner.mkdir(p)?;
        sync_parent(p)
    }
    fn rmdir(&self, p: &Path) -> Result<()> {
        self.inner.rmdir(p)
    }
    fn rename(&self, old: &Path, new: &Path) -> Result<()> {
        self.inner.rename(old, new)?;
        sync_parent(new)
    }
    fn lock(&self, p: &Path) -> Result<FileLock> {
        self.inner.lock(p)
    }
    fn unlock(&self, l: FileLock) -> Result<()> {
        self.inner.unlock(l)
    }
    fn new_logger(&self, p: &Path) -> Result<Logger> {
        self.inner.new_logger(p)
    }
    fn micros(&self) -> u64 {
        self.inner.micros()
    }
    fn sleep_for(&self, micros: u32) {
        self.inner.sleep_for(micros)
    }
}
