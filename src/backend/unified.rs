//! Unified JSON backend: `<root>/deployments/unified/<network>.unified.json`.
//!
//! Writes are locked (in-process mutex + cross-process lock on the file itself, no lock files),
//! compare-and-swap on the file's bytes and `fileVersion`, and durable atomic replaces.
//! Reads are cached per file and revalidated by size, mtime and inode, on every call unless
//! the folder's inotify watch shows nothing changed since the last check; the record texts
//! `get_json` hands out are kept with the file version they were built from.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use once_cell::sync::Lazy;

use super::{record_text, Backend, BackendKind, RawEntry};
use crate::chains::ChainMap;
use crate::dir_watch::DirWatch;
use crate::durable;
use crate::record::ContractRecord;
use crate::store::StopFile;
use crate::time::now_ms;
use crate::unified::UnifiedFile;
use crate::{Error, ErrorCode, Result};

/// File name suffix of live unified files; backups and sprawl never end with it.
pub const UNIFIED_SUFFIX: &str = ".unified.json";

/// Whether a file name is a live unified file (`<network>.unified.json`), not a backup, temp or hidden file.
pub fn is_live_file_name(name: &str) -> bool {
    name.strip_suffix(UNIFIED_SUFFIX)
        .is_some_and(|network| !network.is_empty() && !network.starts_with('.'))
}

/// What identifies one version of a file on disk without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    mtime_ns: i128,
    ino: u64,
}

struct Cached {
    fingerprint: Fingerprint,
    /// The folder watch's change count when `fingerprint` was last found current: while the
    /// count is the same, the file is too, with no need to `stat` it.
    vouched_at: Option<u64>,
    file: Arc<UnifiedFile>,
    /// `get_json` answers built from `file`, by the name asked for. Only names the file holds
    /// (a missing name is a cheap lookup), so this never outgrows the file, and it is dropped
    /// with `file` when the file changes.
    texts: HashMap<String, Arc<str>>,
}

/// What [`UnifiedBackend::freshness`] found.
enum Freshness {
    /// The cached copy is the file on disk.
    Current(Arc<UnifiedFile>),
    /// No such file.
    Absent,
    /// The file must be read: the change count before looking, and the fingerprint seen.
    Stale(Option<u64>, Fingerprint),
}

/// One mutex per file path for the whole process, so threads queue instead of polling the OFD lock.
static WRITE_MUTEXES: Lazy<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = Lazy::new(Default::default);

/// The unified JSON backend.
pub struct UnifiedBackend {
    dir: PathBuf,
    chains: ChainMap,
    lock_timeout: Duration,
    /// Writes are refused while this emergency stop exists, checked under the file's lock.
    stop_file: Option<Arc<StopFile>>,
    cache: Mutex<HashMap<PathBuf, Cached>>,
    /// Changes in the folder, where the filesystem reports them.
    watch: Option<DirWatch>,
    /// Reads answered from the cache, and reads that had to read the file.
    hits: AtomicU64,
    misses: AtomicU64,
}

impl UnifiedBackend {
    /// A backend on `dir` (created when missing).
    pub fn open(dir: &Path, chains: ChainMap, lock_timeout: Duration) -> Result<Self> {
        durable::create_dir_all_durable(dir)?;
        Ok(UnifiedBackend {
            dir: dir.to_path_buf(),
            chains,
            lock_timeout,
            stop_file: None,
            cache: Mutex::new(HashMap::new()),
            watch: DirWatch::new(dir),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// Refuses every write with `STATE_LOCKED` while `stop_file` (the emergency stop) exists.
    /// The check runs under the file's write lock, so a rollback that raises the stop and then
    /// waits for the locks ([`durable::wait_for_replacers`]) knows no write can follow its backup.
    pub fn refusing_writes_while(mut self, stop_file: Arc<StopFile>) -> Self {
        self.stop_file = Some(stop_file);
        self
    }

    /// The file that holds a chain.
    pub fn file_path(&self, chain_id: u64) -> PathBuf {
        self.dir.join(format!(
            "{}{UNIFIED_SUFFIX}",
            self.chains.network_name(chain_id)
        ))
    }

    /// Live unified files with the chain their name maps to (`None`: name not in the chain map).
    pub fn live_files(&self) -> Result<Vec<(PathBuf, Option<u64>)>> {
        let entries = fs::read_dir(&self.dir).map_err(|e| Error::read_io(&self.dir, &e))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::read_io(&self.dir, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_live_file_name(&name) {
                let network = &name[..name.len() - UNIFIED_SUFFIX.len()];
                files.push((entry.path(), self.chains.chain_id(network)));
            }
        }
        files.sort();
        Ok(files)
    }

    /// The parsed file at `path`, from cache when unchanged on disk; `None` when absent.
    fn load(&self, path: &Path) -> Result<Option<Arc<UnifiedFile>>> {
        let freshness = self.freshness(&mut self.cache_lock(), path)?;
        let (changes, fingerprint) = match freshness {
            Freshness::Current(file) => return Ok(Some(file)),
            Freshness::Absent => return Ok(None),
            Freshness::Stale(changes, fingerprint) => (changes, fingerprint),
        };
        self.misses.fetch_add(1, Ordering::Relaxed);
        let text = durable::read_regular_to_string(path).map_err(|e| read_error(path, &e))?;
        let file = Arc::new(UnifiedFile::parse(path, &text)?);
        // Only cache what we read under the fingerprint we saw, so a racing write is re-read.
        if fingerprint_of_len(path, text.len() as u64)? == Some(fingerprint) {
            self.remember(path, fingerprint, changes, file.clone());
        }
        Ok(Some(file))
    }

    /// Whether the cached copy of `path` in `cache` (whose lock the caller holds) is current:
    /// vouched for by the folder watch, else by a `stat` (counted as a hit either way).
    fn freshness(&self, cache: &mut HashMap<PathBuf, Cached>, path: &Path) -> Result<Freshness> {
        // The count is taken before the `stat`: a change after it shows at the next count.
        let changes = self.watch.as_ref().and_then(DirWatch::changes);
        if let Some(hit) = cache
            .get(path)
            .filter(|c| changes.is_some() && c.vouched_at == changes)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Freshness::Current(hit.file.clone()));
        }
        let Some(fingerprint) = fingerprint(path)? else {
            return Ok(Freshness::Absent);
        };
        match cache.get_mut(path).filter(|c| c.fingerprint == fingerprint) {
            Some(hit) => {
                hit.vouched_at = changes;
                self.hits.fetch_add(1, Ordering::Relaxed);
                Ok(Freshness::Current(hit.file.clone()))
            }
            None => Ok(Freshness::Stale(changes, fingerprint)),
        }
    }

    /// `get_json` when it needs no read: `Some(None)` when the file or the name does not exist,
    /// `Some(Some(text))` from the cached copy when that is current, `None` when the file must be read.
    fn cached_json(&self, chain_id: u64, name: &str) -> Result<Option<Option<Arc<str>>>> {
        let path = self.file_path(chain_id);
        let mut cache = self.cache_lock();
        match self.freshness(&mut cache, &path)? {
            Freshness::Absent => return Ok(Some(None)),
            Freshness::Stale(..) => return Ok(None),
            Freshness::Current(_) => {}
        }
        let Some(hit) = cache.get_mut(&path) else {
            return Ok(None);
        };
        check_claim(&path, &hit.file, chain_id)?;
        if let Some(text) = hit.texts.get(name) {
            return Ok(Some(Some(text.clone())));
        }
        let text = hit.file.record(name).map(|r| record_text(&r));
        if let Some(text) = &text {
            hit.texts.insert(name.to_owned(), text.clone());
        }
        Ok(Some(text))
    }

    /// The file of a chain, refusing one that claims another chain id.
    fn load_chain(&self, chain_id: u64) -> Result<Option<Arc<UnifiedFile>>> {
        let path = self.file_path(chain_id);
        let file = self.load(&path)?;
        if let Some(file) = &file {
            check_claim(&path, file, chain_id)?;
        }
        Ok(file)
    }

    fn cache_lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remember(
        &self,
        path: &Path,
        fingerprint: Fingerprint,
        vouched_at: Option<u64>,
        file: Arc<UnifiedFile>,
    ) {
        self.cache_lock().insert(
            path.to_path_buf(),
            Cached {
                fingerprint,
                vouched_at,
                file,
                texts: HashMap::new(),
            },
        );
    }

    /// Read-modify-write of one chain's file under both locks. `change` returns whether it changed anything.
    fn update<T>(
        &self,
        chain_id: u64,
        change: impl FnOnce(&mut UnifiedFile) -> T,
        changed: impl Fn(&T) -> bool,
    ) -> Result<T> {
        let path = self.file_path(chain_id);
        let mutex = write_mutex(&path);
        let _in_process = mutex.lock().unwrap_or_else(|p| p.into_inner());
        let _cross_process = durable::lock_for_replace(&path, self.lock_timeout)?;
        // A writer killed mid-write leaves its temp file; nobody else would ever remove it.
        // Best effort: a leftover costs disk space only, and must not fail this write.
        let _ = durable::remove_stale_temps(&self.dir);
        if let Some(stop) = &self.stop_file {
            stop.refuse_writes()?;
        }
        let before = read_optional(&path)?;
        let mut file = match &before {
            Some(text) => {
                let file = UnifiedFile::parse(&path, text)?;
                check_claim(&path, &file, chain_id)?;
                file
            }
            None => {
                let network = self.chains.network_name(chain_id);
                UnifiedFile::skeleton(chain_id, &network, self.chains.tier(chain_id), now_ms())
            }
        };
        let outcome = change(&mut file);
        if !changed(&outcome) {
            return Ok(outcome);
        }
        file.check_version_can_advance(&path)?;
        file.stamp_write(now_ms());
        let text = file.to_text();
        // Compare-and-swap: a writer that ignores our lock (an old script) must not be overwritten.
        if read_optional(&path)? != before {
            return Err(conflict(&path, before.is_some()));
        }
        durable::write_atomic(&path, text.as_bytes())?;
        // Not vouched for: this write's own events come after any count taken so far.
        if let Some(fp) = fingerprint(&path)? {
            self.remember(&path, fp, None, Arc::new(file));
        }
        Ok(outcome)
    }
}

impl Backend for UnifiedBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::UnifiedJson
    }

    fn location(&self) -> PathBuf {
        self.dir.clone()
    }

    fn get(&self, chain_id: u64, name: &str) -> Result<Option<ContractRecord>> {
        Ok(self.load_chain(chain_id)?.and_then(|f| f.record(name)))
    }

    fn cache_stats(&self) -> Option<(u64, u64)> {
        Some((
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        ))
    }

    fn get_json(&self, chain_id: u64, name: &str) -> Result<Option<Arc<str>>> {
        if let Some(answer) = self.cached_json(chain_id, name)? {
            return Ok(answer);
        }
        // Reading caches the file; its text is kept from the next call on.
        Ok(self.get(chain_id, name)?.map(|r| record_text(&r)))
    }

    fn get_json_if_cached(&self, chain_id: u64, name: &str) -> Option<Option<Arc<str>>> {
        // An error (a failed `stat`, another chain's file) is left for `get_json` to report.
        self.cached_json(chain_id, name).ok()?
    }

    fn put_batch(&self, chain_id: u64, records: &[ContractRecord]) -> Result<()> {
        self.update(
            chain_id,
            |file| {
                let footprint = |file: &UnifiedFile| -> Vec<_> {
                    records
                        .iter()
                        .map(|r| file.put_footprint(&r.contract_name))
                        .collect()
                };
                let before = footprint(file);
                records.iter().for_each(|r| file.put(r));
                footprint(file) != before
            },
            |changed| *changed,
        )
        .map(|_| ())
    }

    fn list_chain(&self, chain_id: u64) -> Result<Vec<ContractRecord>> {
        Ok(self
            .load_chain(chain_id)?
            .map(|f| f.records())
            .unwrap_or_default())
    }

    fn list_all(&self) -> Result<Vec<ContractRecord>> {
        let mut out = Vec::new();
        for (_, chain) in self.live_files()? {
            // Files outside the chain map have no chain to answer for; validateIntegrity names them.
            if let Some(chain_id) = chain {
                out.extend(self.list_chain(chain_id)?);
            }
        }
        Ok(out)
    }

    fn delete(&self, chain_id: u64, name: &str) -> Result<bool> {
        if !self.file_path(chain_id).exists() {
            return Ok(false);
        }
        self.update(chain_id, |file| file.remove(name), |removed| *removed)
    }

    fn scan_raw(&self) -> Result<Vec<RawEntry>> {
        let mut out = Vec::new();
        for (path, chain) in self.live_files()? {
            let shown = path.display().to_string();
            match self.load(&path) {
                Ok(Some(file)) => {
                    out.extend(file.entries().into_iter().map(|(ptr, record)| RawEntry {
                        location: format!("{shown}#{ptr}"),
                        expected_chain: chain,
                        record: Ok(record),
                    }))
                }
                Ok(None) => {}
                Err(err) => out.push(RawEntry {
                    location: shown,
                    expected_chain: chain,
                    record: Err(err),
                }),
            }
        }
        Ok(out)
    }

    fn probe(&self) -> Result<()> {
        for (path, _) in self.live_files()? {
            self.load(&path)?;
        }
        Ok(())
    }

    fn close(&self) -> Result<()> {
        self.cache_lock().clear();
        Ok(())
    }
}

fn write_mutex(path: &Path) -> Arc<Mutex<()>> {
    WRITE_MUTEXES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(path.to_path_buf())
        .or_default()
        .clone()
}

fn check_claim(path: &Path, file: &UnifiedFile, chain_id: u64) -> Result<()> {
    if file.chain_id() == chain_id {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::Corrupt,
        format!(
            "{} claims chainId {} but the chain map gives this file to chain {chain_id}; \
             reading it would return another chain's addresses. Fix the file's chainId or the chainMap option",
            path.display(),
            file.chain_id()
        ),
    )
    .with_path(path))
}

fn conflict(path: &Path, existed: bool) -> Error {
    let what = if existed { "changed" } else { "was created" };
    Error::new(
        ErrorCode::Conflict,
        format!(
            "{} {what} while this write was in progress (a writer that does not take the lock?); \
             nothing was written: re-read and retry",
            path.display()
        ),
    )
    .with_path(path)
}

fn read_error(path: &Path, err: &std::io::Error) -> Error {
    if err.kind() == std::io::ErrorKind::InvalidData {
        Error::new(
            ErrorCode::Corrupt,
            format!(
                "{} is not UTF-8 text; restore it from a backup",
                path.display()
            ),
        )
        .with_path(path)
    } else {
        Error::read_io(path, err)
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match durable::read_regular_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(read_error(path, &e)),
    }
}

fn fingerprint(path: &Path) -> Result<Option<Fingerprint>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(Fingerprint {
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ino: meta.ino(),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::read_io(path, &e)),
    }
}

/// The fingerprint now, provided the file still has the length we read.
fn fingerprint_of_len(path: &Path, len: u64) -> Result<Option<Fingerprint>> {
    Ok(fingerprint(path)?.filter(|fp| fp.len == len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn record(name: &str, seed: u8) -> ContractRecord {
        let hash = format!("0x{}", format!("{seed:02x}").repeat(32));
        ContractRecord {
            contract_name: name.into(),
            chain_id: 97,
            network_name: "bsctestnet".into(),
            address: format!("0x{}", format!("{seed:02x}").repeat(20)),
            factory_byte_code_hash: hash.clone(),
            implementation_hash: Some(hash),
            proxy_address: None,
            deployment_args: None,
            timestamp: 1_755_000_000_000 + u64::from(seed),
        }
    }

    fn fresh_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "lcs-unified-{tag}-{}-{}",
            std::process::id(),
            now_ms()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// What the old TypeScript manager did (FORMATS §2.3, §2.7): read, parse, add an entry,
    /// `JSON.stringify(doc, null, 2)`, write `<file>.tmp-<ms>`, rename; no lock, no fsync.
    /// `bump` decides whether it also raises `fileVersion` (the superseded variants did).
    fn old_manager_write(path: &Path, bump: bool) -> Vec<u8> {
        let mut doc: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        doc["contracts"]["core"]["WrittenByOldScript"] = json!({"proxy": "0x2222222222222222222222222222222222222222",
                   "implementation": "0x2222222222222222222222222222222222222222"});
        doc["metadata"]["lastUpdated"] = json!("2025-08-13T11:26:18.516Z");
        if bump {
            let version = doc["fileVersion"].as_u64().unwrap();
            doc["fileVersion"] = json!(version + 1);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap().into_bytes();
        let tmp = path.with_extension(format!("json.tmp-{}", now_ms()));
        fs::write(&tmp, &text).unwrap();
        fs::rename(&tmp, path).unwrap();
        text
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The old writer lands between our read and our write: the write must be refused with
    /// `STATE_CONFLICT` and leave the old writer's file exactly as it wrote it. `update` is the
    /// read-modify-CAS-write of `put_batch`; its `change` step runs between the two, which
    /// makes the interleaving deterministic.
    #[test]
    fn a_writer_that_skips_our_lock_between_read_and_write_makes_the_put_conflict() {
        for bump in [true, false] {
            let dir = fresh_dir(if bump { "cas-bumped" } else { "cas-same" });
            let backend =
                UnifiedBackend::open(&dir, ChainMap::default(), Duration::from_secs(5)).unwrap();
            backend.put_batch(97, &[record("LookCoin", 1)]).unwrap();
            let path = backend.file_path(97);
            let ours_before = UnifiedFile::parse(&path, &fs::read_to_string(&path).unwrap())
                .unwrap()
                .file_version()
                .unwrap();

            let mut theirs = Vec::new();
            let err = backend
                .update(
                    97,
                    |file| {
                        theirs = old_manager_write(&path, bump);
                        file.put(&record("SupplyOracle", 2));
                        true
                    },
                    |changed| *changed,
                )
                .unwrap_err();

            assert_eq!(
                err.code,
                ErrorCode::Conflict,
                "bump {bump}: {}",
                err.message
            );
            assert_eq!(
                fs::read(&path).unwrap(),
                theirs,
                "bump {bump}: their file kept"
            );
            assert_eq!(
                names_in(&dir),
                vec!["bsctestnet.unified.json"],
                "bump {bump}: nothing of ours left behind"
            );
            // Reads see their version (the cache notices the replaced file), without our record.
            assert!(backend.get(97, "WrittenByOldScript").unwrap().is_some());
            assert!(backend.get(97, "SupplyOracle").unwrap().is_none());

            // The retry the error asks for keeps both writes, one version above theirs.
            backend.put_batch(97, &[record("SupplyOracle", 2)]).unwrap();
            let after = UnifiedFile::parse(&path, &fs::read_to_string(&path).unwrap()).unwrap();
            let their_version = ours_before + u64::from(bump);
            assert_eq!(after.file_version(), Some(their_version + 1), "bump {bump}");
            assert!(after.record("WrittenByOldScript").is_some());
            assert!(after.record("SupplyOracle").is_some());
            assert!(after.record("LookCoin").is_some());
            fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// `get_json` keeps each record's text with the file version it came from: the text is the
    /// uncached record's JSON, is built once per version, and a file another writer replaced
    /// (same size, new address) is read again rather than answered from the kept text.
    #[test]
    fn get_json_keeps_record_texts_until_the_file_is_replaced() {
        let dir = fresh_dir("texts");
        let backend =
            UnifiedBackend::open(&dir, ChainMap::default(), Duration::from_secs(5)).unwrap();
        backend
            .put_batch(97, &[record("LookCoin", 1), record("SupplyOracle", 2)])
            .unwrap();
        for name in ["LookCoin", "SupplyOracle"] {
            let uncached = record_text(&backend.get(97, name).unwrap().unwrap());
            let first = backend.get_json(97, name).unwrap().unwrap();
            assert_eq!(first, uncached, "{name}");
            let again = backend.get_json_if_cached(97, name).unwrap().unwrap();
            assert!(Arc::ptr_eq(&first, &again), "{name}: built once");
        }
        assert_eq!(backend.get_json(97, "Missing").unwrap(), None);
        assert_eq!(backend.get_json_if_cached(97, "Missing"), Some(None));
        assert_eq!(backend.get_json_if_cached(98, "LookCoin"), Some(None));

        let path = backend.file_path(97);
        let old = record("LookCoin", 1).address;
        let new = record("LookCoin", 3).address;
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(&old));
        let tmp = path.with_extension("json.tmp-other-writer");
        fs::write(&tmp, text.replace(&old, &new)).unwrap();
        fs::rename(&tmp, &path).unwrap();

        assert_eq!(
            backend.get_json_if_cached(97, "LookCoin"),
            None,
            "replaced: a read is needed"
        );
        let (_, misses) = backend.cache_stats().unwrap();
        let reread = backend.get_json(97, "LookCoin").unwrap().unwrap();
        assert_eq!(
            backend.cache_stats().unwrap().1,
            misses + 1,
            "the file was read again"
        );
        assert!(reread.contains(&new) && !reread.contains(&old), "{reread}");
        assert_eq!(
            reread,
            record_text(&backend.get(97, "LookCoin").unwrap().unwrap())
        );
        assert_eq!(
            backend.get_json_if_cached(97, "LookCoin"),
            Some(Some(reread))
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The same when the file did not exist at our read and the old writer creates it.
    #[test]
    fn a_file_created_by_another_writer_during_our_first_write_makes_it_conflict() {
        let dir = fresh_dir("cas-created");
        let backend =
            UnifiedBackend::open(&dir, ChainMap::default(), Duration::from_secs(5)).unwrap();
        let path = backend.file_path(97);
        let theirs = br#"{"chainId": 97, "network": "bsctestnet", "fileVersion": 1}"#;
        let err = backend
            .update(
                97,
                |file| {
                    fs::write(&path, theirs).unwrap();
                    file.put(&record("LookCoin", 1));
                    true
                },
                |changed| *changed,
            )
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Conflict, "{}", err.message);
        assert!(err.message.contains("was created"), "{}", err.message);
        assert_eq!(fs::read(&path).unwrap(), theirs);
        fs::remove_dir_all(&dir).unwrap();
    }
}
