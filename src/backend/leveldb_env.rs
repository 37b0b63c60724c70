//! A rusty-leveldb `Env` that makes "sync" mean fsync.
//!
//! rusty-leveldb's `write(batch, sync = true)` only calls `Write::flush` on its log file,
//! which for a `File` does nothing: an acknowledged write could vanish in a power cut.
//! Here every writable file fsyncs on flush, and a directory is fsynced after a file
//! is created or renamed in it, so the new log, table or CURRENT survives a crash.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rusty_leveldb::env::{Env, FileLock, Logger, RandomAccess};
use rusty_leveldb::{PosixDiskEnv, Result, Status, StatusCode};

use crate::durable;

/// `PosixDiskEnv` with durable writes.
pub struct SyncedEnv {
    inner: PosixDiskEnv,
}

impl SyncedEnv {
    /// A new environment for one database.
    pub fn new() -> Self {
        SyncedEnv {
            inner: PosixDiskEnv::new(),
        }
    }
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
        open_synced(
            p,
            OpenOptions::new().create(true).truncate(true).write(true),
        )
    }
    fn open_appendable_file(&self, p: &Path) -> Result<Box<dyn Write>> {
        open_synced(p, OpenOptions::new().create(true).append(true))
    }
    fn exists(&self, p: &Path) -> Result<bool> {
        self.inner.exists(p)
    }
    fn children(&self, p: &Path) -> Result<Vec<PathBuf>> {
        self.inner.children(p)
    }
    fn size_of(&self, p: &Path) -> Result<usize> {
        self.inner.size_of(p)
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
