//! LevelDB backend: rusty-leveldb on `<root>/leveldb`, readable by Node's `level` and back.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, TryLockError, Weak};

use bytes::Bytes;
use once_cell::sync::Lazy;
use rusty_leveldb::infolog::Logger;
use rusty_leveldb::{LdbIterator, Options, Status, StatusCode, WriteBatch, DB};

use super::leveldb_env::SyncedEnv;
use super::{closed_error, record_text, Backend, BackendKind, RawEntry, Visitor};
use crate::durable::{FileLock, FileStamp, ScratchDir};
use crate::leveldb_check;
use crate::record::{chain_key_range, contract_key, parse_key, ContractRecord};
use crate::{Error, ErrorCode, Result};

/// rusty-leveldb's id of its Snappy compressor, the one Google LevelDB uses by default.
const SNAPPY: u8 = 1;

/// Most records the read cache holds before it starts afresh.
const READ_CACHE_ENTRIES: usize = 4096;
/// Most bytes of record text the read cache holds before it starts afresh.
const READ_CACHE_BYTES: usize = 8 << 20;

/// An open database, shared by every store of this process that opens the same directory:
/// a second open would be refused by the database's own lock.
struct SharedDb {
    db: Mutex<OpenDb>,
    // Held for as long as the database is open: makes Google LevelDB (fcntl) see us.
    _ofd_lock: FileLock,
}

/// The database and what has been read from it, behind one lock so a read that fills the
/// cache and a write that clears it can never interleave.
struct OpenDb {
    db: DB,
    reads: ReadCache,
}

/// Answers of `get_json` by key: the record's compact JSON text, or `None` for a missing key.
///
/// Only this process can change the database while it is open (its `LOCK` and our OFD lock
/// keep `level` and other processes out), and every write here goes through `put_batch` or
/// `delete`, which forget the keys they touch: so a cached answer is what a read would say.
/// Decoding failures are never cached: each read reports them again.
#[derive(Default)]
struct ReadCache {
    entries: HashMap<String, Option<Arc<str>>>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

impl ReadCache {
    /// The cached answer for `key`; `count_miss` is false for a probe that will be followed by a read.
    fn get(&mut self, key: &str, count_miss: bool) -> Option<Option<Arc<str>>> {
        let found = self.entries.get(key).cloned();
        match found {
            Some(_) => self.hits += 1,
            None if count_miss => self.misses += 1,
            None => {}
        }
        found
    }

    fn insert(&mut self, key: String, text: Option<Arc<str>>) {
        self.forget(&key);
        let size = entry_size(&key, &text);
        // Starting afresh keeps the bound without the bookkeeping of an LRU: records are read
        // in bursts per deployment, and a miss costs one LevelDB read.
        if self.entries.len() >= READ_CACHE_ENTRIES || self.bytes + size > READ_CACHE_BYTES {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += size;
        self.entries.insert(key, text);
    }

    fn forget(&mut self, key: &str) {
        if let Some((key, text)) = self.entries.remove_entry(key) {
            self.bytes -= entry_size(&key, &text);
        }
    }
}

fn entry_size(key: &str, text: &Option<Arc<str>>) -> usize {
    key.len() + text.as_ref().map_or(0, |t| t.len())
}

static OPEN_DBS: Lazy<Mutex<HashMap<PathBuf, Weak<SharedDb>>>> = Lazy::new(Default::default);

/// The LevelDB backend.
pub struct LevelDbBackend {
    dir: PathBuf,
    shared: Mutex<Option<Arc<SharedDb>>>,
}

/// How to open a LevelDB directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the database when it does not exist (the live store).
    CreateIfMissing,
    /// Fail when there is no database (backups, copies).
    MustExist,
}

impl LevelDbBackend {
    /// Opens (or joins this process's open handle on) the database in `dir`.
    pub fn open(dir: &Path, mode: OpenMode) -> Result<Self> {
        let dir = prepare_dir(dir, mode)?;
        let mut registry = OPEN_DBS.lock().unwrap_or_else(|p| p.into_inner());
        let shared = match registry.get(&dir).and_then(Weak::upgrade) {
            Some(shared) => shared,
            None => {
                let shared = Arc::new(open_shared(&dir, mode)?);
                registry.insert(dir.clone(), Arc::downgrade(&shared));
                shared
            }
        };
        Ok(LevelDbBackend {
            dir,
            shared: Mutex::new(Some(shared)),
        })
    }

    /// Runs `f` on the database while holding its lock.
    fn with_db<T>(&self, f: impl FnOnce(&mut DB) -> Result<T>) -> Result<T> {
        self.with_open(|open| f(&mut open.db))
    }

    /// Runs `f` on the database and its read cache while holding their lock.
    fn with_open<T>(&self, f: impl FnOnce(&mut OpenDb) -> Result<T>) -> Result<T> {
        let shared = self.shared_db()?;
        let mut open = lock_db(&shared);
        f(&mut open)
    }

    fn shared_db(&self) -> Result<Arc<SharedDb>> {
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| closed_error(BackendKind::LevelDb))
    }

    /// The value under `key`, straight from LevelDB (no cache).
    fn read(&self, db: &mut DB, key: &str) -> Result<Option<ContractRecord>> {
        // `get` would turn read errors into "missing"; `get_at` reports them.
        let snapshot = db.get_snapshot();
        let bytes = db
            .get_at(&snapshot, key.as_bytes())
            .map_err(|s| self.status_error(s, "read").with_key(key))?;
        bytes
            .map(|b| {
                ContractRecord::from_leveldb_value(key, &b).map_err(|e| e.with_path(&self.dir))
            })
            .transpose()
    }

    /// The records of a key range (or of the whole database), decoded as they are read.
    fn decode_range(&self, range: Option<(String, String)>) -> Result<Vec<ContractRecord>> {
        let mut records = Vec::new();
        let mut first_failure = None;
        self.with_db(|db| {
            check_tables(&self.dir)?;
            // The scan goes on after a bad value, so a bad key further on is still reported
            // first, as when every pair was read before any was decoded.
            each_entry(db, &self.dir, range.as_ref(), &mut |key, value| {
                if first_failure.is_none() {
                    match ContractRecord::from_leveldb_value(&key, &value) {
                        Ok(record) => records.push(record),
                        Err(e) => first_failure = Some(e.with_path(&self.dir)),
                    }
                }
            })
        })?;
        first_failure.map_or(Ok(records), Err)
    }

    fn status_error(&self, status: Status, action: &str) -> Error {
        status_to_error(&self.dir, status, action)
    }
}

impl Backend for LevelDbBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::LevelDb
    }

    fn location(&self) -> PathBuf {
        self.dir.clone()
    }

    fn get(&self, chain_id: u64, name: &str) -> Result<Option<ContractRecord>> {
        let key = contract_key(chain_id, name);
        self.with_db(|db| self.read(db, &key))
    }

    fn get_json(&self, chain_id: u64, name: &str) -> Result<Option<Arc<str>>> {
        let key = contract_key(chain_id, name);
        self.with_open(|open| {
            if let Some(answer) = open.reads.get(&key, true) {
                return Ok(answer);
            }
            let text = self.read(&mut open.db, &key)?.map(|r| record_text(&r));
            open.reads.insert(key, text.clone());
            Ok(text)
        })
    }

    fn get_json_if_cached(&self, chain_id: u64, name: &str) -> Option<Option<Arc<str>>> {
        let shared = self.shared_db().ok()?;
        // Never wait here: the caller is a JS thread, and a long scan may hold the lock.
        let mut open = match shared.db.try_lock() {
            Ok(open) => open,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        open.reads.get(&contract_key(chain_id, name), false)
    }

    fn cache_stats(&self) -> Option<(u64, u64)> {
        let shared = self.shared_db().ok()?;
        let open = lock_db(&shared);
        Some((open.reads.hits, open.reads.misses))
    }

    fn put_batch(&self, _chain_id: u64, records: &[ContractRecord]) -> Result<()> {
        let mut batch = WriteBatch::default();
        let keys: Vec<String> = records.iter().map(ContractRecord::key).collect();
        for (key, record) in keys.iter().zip(records) {
            batch.put(key.as_bytes(), &record.to_leveldb_value());
        }
        self.with_open(|open| {
            // Forgotten whatever the outcome: a failed write may still have reached the log.
            keys.iter().for_each(|key| open.reads.forget(key));
            open.db
                .write(batch, true)
                .map_err(|s| self.status_error(s, "write"))
        })
    }

    fn list_chain(&self, chain_id: u64) -> Result<Vec<ContractRecord>> {
        self.decode_range(Some(chain_key_range(chain_id)))
    }

    fn list_all(&self) -> Result<Vec<ContractRecord>> {
        self.decode_range(None)
    }

    fn delete(&self, chain_id: u64, name: &str) -> Result<bool> {
        let key = contract_key(chain_id, name);
        self.with_open(|open| {
            let db = &mut open.db;
            let snapshot = db.get_snapshot();
            let existed = db
                .get_at(&snapshot, key.as_bytes())
                .map_err(|s| self.status_error(s, "read"))?
                .is_some();
            if existed {
                open.reads.forget(&key);
                let mut batch = WriteBatch::default();
                batch.delete(key.as_bytes());
                db.write(batch, true)
                    .map_err(|s| self.status_error(s, "delete"))?;
            }
            Ok(existed)
        })
    }

    fn scan_raw(&self) -> Result<Vec<RawEntry>> {
        let mut entries = Vec::new();
        self.visit_raw(&mut |entry| entries.push(entry))?;
        Ok(entries)
    }

    fn visit_raw(&self, visit: &mut Visitor<'_>) -> Result<()> {
        self.with_db(|db| {
            check_tables(&self.dir)?;
            each_decoded(db, &self.dir, visit)
        })
    }

    fn probe(&self) -> Result<()> {
        self.with_db(|db| {
            let mut iter = db.new_iter().map_err(|s| self.status_error(s, "iterate"))?;
            iter.seek_to_first();
            Ok(())
        })?;
        std::fs::metadata(self.dir.join("CURRENT"))
            .map(|_| ())
            .map_err(|e| Error::read_io(self.dir.join("CURRENT"), &e))
    }

    fn close(&self) -> Result<()> {
        let taken = self.shared.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(shared) = taken else { return Ok(()) };
        let mut registry = OPEN_DBS.lock().unwrap_or_else(|p| p.into_inner());
        // Only the last user really closes; others keep the shared handle open.
        match Arc::try_unwrap(shared) {
            Ok(shared) => {
                registry.remove(&self.dir);
                let mut open = shared.db.into_inner().unwrap_or_else(|p| p.into_inner());
                open.db.close().map_err(|s| self.status_error(s, "close"))
            }
            Err(_) => Ok(()),
        }
    }
}

impl Drop for LevelDbBackend {
    fn drop(&mut self) {
        // A close error has nowhere to go from a destructor; `close()` reports it.
        let _ = self.close();
    }
}

/// Reads every entry of the LevelDB in `dir` without changing a byte of it.
///
/// Opening a database rewrites files (LOG, MANIFEST, the write-ahead log), so a scratch
/// copy is opened instead: tables, which LevelDB never modifies, are hard-linked, the
/// rest copied. Meant for backups; a live database is read through [`LevelDbBackend`].
pub fn read_copy(dir: &Path) -> Result<Vec<RawEntry>> {
    let mut entries = Vec::new();
    visit_copy(dir, &mut |entry| entries.push(entry))?;
    Ok(entries)
}

/// Like [`read_copy`], but hands each entry to `visit` and keeps none: memory stays flat however large the database (counting, verifying).
pub fn visit_copy(dir: &Path, visit: &mut Visitor<'_>) -> Result<()> {
    if !dir.join("CURRENT").is_file() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!(
                "{} is not a LevelDB directory (no CURRENT file)",
                dir.display()
            ),
        )
        .with_path(dir));
    }
    let scratch = ScratchDir::new("leveldb-read")?;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::read_io(dir, &e))? {
        let entry = entry.map_err(|e| Error::read_io(dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && !NOT_DATA.contains(&name.as_str()) {
            scratch.add(&entry.path(), leveldb_check::is_table_name(&name))?;
        }
    }
    check_tables(dir)?;
    let options = Options {
        create_if_missing: false,
        // Never append to the copied log or manifest: they may be links in later versions.
        reuse_logs: false,
        reuse_manifest: false,
        ..Options::default()
    };
    let mut db = DB::open(scratch.path(), options).map_err(|s| status_to_error(dir, s, "open"))?;
    each_decoded(&mut db, dir, visit)?;
    db.close().map_err(|s| status_to_error(dir, s, "close"))
}

/// The identity of every data file of a LevelDB folder. Any write changes it (the log grows,
/// tables come and go), so counts read under one stamp still hold while the stamp is equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelDbStamp(Vec<(String, FileStamp)>);

impl LevelDbStamp {
    /// Stamps the data files in `dir` (lock and info logs aside), sorted by name.
    pub fn of(dir: &Path) -> Result<LevelDbStamp> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::read_io(dir, &e))? {
            let entry = entry.map_err(|e| Error::read_io(dir, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !NOT_DATA.contains(&name.as_str()) {
                files.push((name, FileStamp::read(&entry.path())?));
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(LevelDbStamp(files))
    }

    /// (file name, stamp) of each data file, sorted by name.
    pub fn files(&self) -> &[(String, FileStamp)] {
        &self.0
    }
}

/// Whether this process has the LevelDB in `dir` open (through some store).
pub fn is_open_here(dir: &Path) -> Result<bool> {
    let canonical = dir.canonicalize().map_err(|e| Error::read_io(dir, &e))?;
    let registry = OPEN_DBS.lock().unwrap_or_else(|p| p.into_inner());
    Ok(registry.get(&canonical).and_then(Weak::upgrade).is_some())
}

/// Runs `f` while nobody can change the LevelDB in `dir`: under this process's own open handle when it has one (its writers wait), else under the database's `LOCK` (another process holding it gives `STATE_LOCKED` naming the file).
pub fn with_quiesced<T>(dir: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let canonical = dir.canonicalize().map_err(|e| Error::read_io(dir, &e))?;
    let open_here = OPEN_DBS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&canonical)
        .and_then(Weak::upgrade);
    match open_here {
        Some(shared) => {
            let _writers_wait = lock_db(&shared);
            f()
        }
        None => {
            let _lock = FileLock::try_acquire(&canonical.join("LOCK"))?;
            f()
        }
    }
}

/// Checks every block checksum of each table in `dir` this process has not yet found sound.
/// rusty-leveldb's iterator skips a block whose checksum fails, so a scan would silently
/// return fewer records (and a deploy script would redeploy what they held).
fn check_tables(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::read_io(dir, &e))? {
        let entry = entry.map_err(|e| Error::read_io(dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !leveldb_check::is_table_name(&name) {
            continue;
        }
        if let Some(bad) = leveldb_check::check_table_once(&entry.path())?
            .into_iter()
            .next()
        {
            return Err(Error::new(
                ErrorCode::Corrupt,
                format!(
                    "LevelDB table {bad}; its records cannot be read, so nothing is listed; \
                     restore it from a verified backup (lookcoin-state rollback --dry-run shows how)"
                ),
            )
            .with_path(&bad.file)
            .with_offset(bad.offset));
        }
    }
    Ok(())
}

/// Refuses a damaged database before rusty-leveldb opens it (which would rotate its info log
/// first): a CURRENT that names no existing manifest, or database files with no CURRENT at
/// all, over which `create_if_missing` would start an empty database and delete the tables.
fn refuse_damaged(dir: &Path) -> Result<()> {
    let current = dir.join("CURRENT");
    let why = if fs::symlink_metadata(&current).is_ok() {
        leveldb_check::check_current(dir)?
            .into_iter()
            .next()
            .map(|p| p.reason)
    } else if holds_database_files(dir)? {
        Some("CURRENT is missing, but the folder holds LevelDB tables, logs or manifests".into())
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::new(
            ErrorCode::Corrupt,
            format!(
                "the LevelDB in {} is damaged: {why}; nothing was changed; restore it from a \
                 verified backup (lookcoin-state rollback --dry-run shows how)",
                dir.display()
            ),
        )
        .with_path(dir)),
    }
}

/// Where each write-ahead log in `dir` (by file name) may be continued; `STATE_CORRUPT` for
/// one that could only be continued over records Google LevelDB would still read.
fn log_recovery_ends(dir: &Path) -> Result<HashMap<OsString, u64>> {
    dir_entries(dir)?
        .into_iter()
        .filter(|e| leveldb_check::is_log_name(&e.file_name().to_string_lossy()))
        .map(|e| Ok((e.file_name(), leveldb_check::log_recovery_end(&e.path())?)))
        .collect()
}

/// Whether `dir` holds a table, log or manifest.
fn holds_database_files(dir: &Path) -> Result<bool> {
    Ok(dir_entries(dir)?.iter().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        [".ldb", ".sst", ".log"]
            .iter()
            .any(|ext| name.ends_with(ext))
            || name.starts_with("MANIFEST-")
    }))
}

/// The entries of `dir`; a missing folder has none.
fn dir_entries(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(entries) => Ok(entries.flatten().collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::read_io(dir, &e)),
    }
}

/// Batches read ahead of the decoder in a full read.
const DECODE_QUEUE: usize = 8;
/// Pairs per batch handed to the decoder.
const DECODE_BATCH: usize = 64;

/// Files of a LevelDB directory that hold no data: the lock and the info logs.
pub const NOT_DATA: [&str; 3] = ["LOCK", "LOG", "LOG.old"];

/// Hands every (key, value) pair in `[from, to)` (or the whole database) to `visit`, in key order.
fn each_entry(
    db: &mut DB,
    dir: &Path,
    range: Option<&(String, String)>,
    visit: &mut dyn FnMut(String, Bytes),
) -> Result<()> {
    let mut iter = db
        .new_iter()
        .map_err(|s| status_to_error(dir, s, "iterate"))?;
    match range {
        Some((from, _)) => iter.seek(from.as_bytes()),
        None => iter.seek_to_first(),
    }
    while let Some((key, value)) = iter.current() {
        if matches!(range, Some((_, to)) if key.as_ref() >= to.as_bytes()) {
            break;
        }
        let key = String::from_utf8(key.to_vec()).map_err(|_| {
            Error::new(ErrorCode::Corrupt, "a LevelDB key is not UTF-8").with_path(dir)
        })?;
        visit(key, value);
        if !iter.advance() {
            break;
        }
    }
    Ok(())
}

/// Hands every entry of the database to `visit`, decoded, in key order. Reading (copies and
/// checksums) and decoding (JSON) each take about half the time of a full read, so a second
/// thread decodes and visits while this one reads.
fn each_decoded(db: &mut DB, dir: &Path, visit: &mut Visitor<'_>) -> Result<()> {
    // Pairs go over in batches: a hand-over per pair cost more than the decoding it shares.
    // Bounded, so memory stays flat. Values travel as slices of LevelDB's blocks: no copy of
    // the data on the reading thread, and each record is freed by the thread that built it.
    let (to_decode, batches) = mpsc::sync_channel::<Vec<(String, Bytes)>>(DECODE_QUEUE);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for (key, value) in batches.into_iter().flatten() {
                visit(raw_entry(key, &value));
            }
        });
        let mut batch = Vec::with_capacity(DECODE_BATCH);
        let read = each_entry(db, dir, None, &mut |key, value| {
            batch.push((key, value));
            if batch.len() == DECODE_BATCH {
                // A send fails only when the decoder panicked; the scope re-raises that panic
                // as it ends, so no entry is dropped silently.
                let _ = to_decode.send(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(DECODE_BATCH),
                ));
            }
        });
        let _ = to_decode.send(batch);
        drop(to_decode);
        read
    })
}

/// One pair decoded, with its own failure kept.
fn raw_entry(key: String, value: &[u8]) -> RawEntry {
    RawEntry {
        expected_chain: parse_key(&key).ok().map(|(id, _)| id),
        record: parse_key(&key).and_then(|_| ContractRecord::from_leveldb_value(&key, value)),
        location: key,
    }
}

fn lock_db(shared: &SharedDb) -> MutexGuard<'_, OpenDb> {
    shared.db.lock().unwrap_or_else(|p| p.into_inner())
}

/// Checks the directory exists (or creates it) and returns its canonical path.
fn prepare_dir(dir: &Path, mode: OpenMode) -> Result<PathBuf> {
    match mode {
        OpenMode::CreateIfMissing => crate::durable::create_dir_all_durable(dir)?,
        OpenMode::MustExist => {
            if !dir.join("CURRENT").is_file() {
                refuse_damaged(dir)?;
                return Err(Error::new(
                    ErrorCode::BackendUnavailable,
                    format!(
                        "{} is not a LevelDB directory (no CURRENT file)",
                        dir.display()
                    ),
                )
                .with_path(dir));
            }
        }
    }
    dir.canonicalize().map_err(|e| Error::read_io(dir, &e))
}

fn open_shared(dir: &Path, mode: OpenMode) -> Result<SharedDb> {
    let lock = FileLock::try_acquire(&dir.join("LOCK"))?;
    // Only under the lock: a process creating the database writes its files before CURRENT.
    refuse_damaged(dir)?;
    // Before rusty-leveldb touches the folder, so a refusal changes nothing.
    let log_ends = log_recovery_ends(dir)?;
    let options = Options {
        create_if_missing: mode == OpenMode::CreateIfMissing,
        compressor: SNAPPY,
        env: std::rc::Rc::new(Box::new(SyncedEnv::new(log_ends))),
        // No info log: rusty-leveldb would rotate LOG over LOG.old on every open, even a
        // failing one, destroying the diagnostics Google LevelDB left in a damaged database.
        log: Some(std::rc::Rc::new(std::cell::RefCell::new(Logger(Box::new(
            std::io::sink(),
        ))))),
        ..Options::default()
    };
    let db = DB::open(dir, options).map_err(|s| status_to_error(dir, s, "open"))?;
    Ok(SharedDb {
        db: Mutex::new(OpenDb {
            db,
            reads: ReadCache::default(),
        }),
        _ofd_lock: lock,
    })
}

fn status_to_error(dir: &Path, status: Status, action: &str) -> Error {
    let code = match status.code {
        StatusCode::LockError => ErrorCode::Locked,
        StatusCode::Corruption | StatusCode::CompressionError | StatusCode::InvalidData => {
            ErrorCode::Corrupt
        }
        // Closing flushes the memtable into a table file: its failure is a write's.
        _ if matches!(action, "write" | "delete" | "close") => ErrorCode::WriteFailed,
        _ => ErrorCode::BackendUnavailable,
    };
    let next = match code {
        ErrorCode::Locked => "stop the other process that has it open, then retry",
        ErrorCode::Corrupt => {
            "restore it from a verified backup (lookcoin-state rollback --dry-run shows how)"
        }
        _ => "check the directory exists, is readable and the disk is not full",
    };
    Error::new(
        code,
        format!(
            "LevelDB {action} failed in {}: {} ({:?}); {next}",
            dir.display(),
            status.err,
            status.code
        ),
    )
    .with_path(dir)
}
