//! `StateStore`: the IStateManager operations (FORMATS §4.2) over any backend, done right.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::backend::legacy_json::LegacyJsonBackend;
use crate::backend::leveldb::{LevelDbBackend, OpenMode};
use crate::backend::unified::UnifiedBackend;
use crate::backend::{Backend, BackendKind, RawEntry, Visitor};
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::dir_watch::DirWatch;
use crate::js_json;
use crate::metrics::{Metrics, MetricsSnapshot, OpKind};
use crate::record::{parse_key, ContractRecord, WriteCheck};
use crate::selection::{select_backend, BackendSelection};
use crate::time::{iso_from_ms, now_ms};
use crate::validate::Severity;
use crate::{Error, ErrorCode, Result};

/// The file whose presence makes the store refuse writes during an emergency rollback.
pub const EMERGENCY_STOP_FILE: &str = ".emergency-stop";

/// How a store is set up.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The project root (holds `leveldb/`, `deployments/`, `.env.emergency`).
    pub root: PathBuf,
    /// The backend asked for; `None` lets the selection rules decide.
    pub backend: Option<BackendKind>,
    /// LevelDB directory (default `<root>/leveldb`).
    pub db_path: Option<PathBuf>,
    /// Unified JSON directory (default `<root>/deployments/unified`).
    pub unified_path: Option<PathBuf>,
    /// Legacy JSON directory (default `<root>/deployments`).
    pub legacy_path: Option<PathBuf>,
    /// Chain id ↔ network names.
    pub chains: ChainMap,
    /// How long a write waits for a file lock before `LOCK_TIMEOUT`.
    pub lock_timeout: Duration,
}

impl StoreConfig {
    /// Defaults for a project root.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StoreConfig {
            root: root.into(),
            backend: None,
            db_path: None,
            unified_path: None,
            legacy_path: None,
            chains: ChainMap::default(),
            lock_timeout: Duration::from_secs(10),
        }
    }
}

/// Filters and order of `queryContracts`.
#[derive(Debug, Clone, Default)]
pub struct QueryOptions {
    /// One chain, or all chains when `None` or 0.
    pub chain_id: Option<u64>,
    /// Exact contract name.
    pub contract_name: Option<String>,
    /// Exact network name as stored.
    pub network_name: Option<String>,
    /// `timestamp`, `contractName` or `chainId`.
    pub sort_by: Option<String>,
    /// `asc` (default) or `desc`.
    pub sort_order: Option<String>,
}

impl QueryOptions {
    /// Refuses sort keys and orders that do not exist, and empty name filters (they would match nothing).
    pub fn check(&self) -> Result<()> {
        if let Some(order) = self.sort_order.as_deref() {
            if !["asc", "desc"].contains(&order) {
                return Err(bad_option("sortOrder", order, "asc or desc"));
            }
        }
        if let Some(by) = self.sort_by.as_deref() {
            if !["timestamp", "contractName", "chainId"].contains(&by) {
                return Err(bad_option(
                    "sortBy",
                    by,
                    "timestamp, contractName or chainId",
                ));
            }
        }
        for (name, filter) in [
            ("contractName", &self.contract_name),
            ("networkName", &self.network_name),
        ] {
            if filter.as_deref() == Some("") {
                return Err(bad_option(name, "", "a non-empty name"));
            }
        }
        Ok(())
    }
}

/// Options of `exportAll`.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Only these chains.
    pub chain_ids: Option<Vec<u64>>,
    /// Drop the dev chain (31337).
    pub clean: bool,
    /// Add the `metadata` block.
    pub include_metadata: bool,
    /// 2-space pretty output instead of compact.
    pub pretty: bool,
}

/// What `importAll` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records written.
    pub imported: usize,
    /// Records left alone because they existed (no `overwrite`).
    pub skipped: usize,
}

pub use crate::validate::Finding;

/// The result of `validateIntegrity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityReport {
    /// No errors (warnings allowed).
    pub is_valid: bool,
    /// Problems that make data unusable or wrong.
    pub errors: Vec<Finding>,
    /// Problems worth a look (bad formats in old rows, dev rows).
    pub warnings: Vec<Finding>,
    /// Entries that decoded into records.
    pub contract_count: usize,
    /// When the check ran (ISO-8601).
    pub last_validated: String,
}

/// A state store: one backend, chosen by the selection rules, with metrics.
pub struct StateStore {
    config: StoreConfig,
    selection: BackendSelection,
    backend: RwLock<Option<Arc<dyn Backend>>>,
    metrics: Metrics,
    stop: Arc<StopFile>,
}

impl StateStore {
    /// Chooses the backend (from the process environment) without opening it.
    pub fn new(config: StoreConfig) -> Result<Self> {
        let env = |name: &str| std::env::var(name).ok();
        Self::with_env(config, &env)
    }

    /// Like [`StateStore::new`] with an explicit environment lookup (tests, embedding).
    pub fn with_env(config: StoreConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let selection = select_backend(config.backend, &config.root, env)?;
        Ok(StateStore {
            stop: Arc::new(StopFile::of(&config.root)),
            config,
            selection,
            backend: RwLock::new(None),
            metrics: Metrics::default(),
        })
    }

    /// Which backend was chosen and why.
    pub fn selection(&self) -> &BackendSelection {
        &self.selection
    }

    /// The backend's name (`leveldb`, `unified-json`, `json`).
    pub fn backend_type(&self) -> &'static str {
        self.selection.kind.as_str()
    }

    /// Opens the backend; calling it again is harmless.
    pub fn initialize(&self) -> Result<()> {
        let mut slot = self.backend.write().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(self.open_backend()?);
        }
        Ok(())
    }

    /// Closes the backend and releases its locks.
    pub fn close(&self) -> Result<()> {
        let taken = self
            .backend
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        taken.map_or(Ok(()), |b| b.close())
    }

    fn open_backend(&self) -> Result<Arc<dyn Backend>> {
        let c = &self.config;
        let backend: Arc<dyn Backend> = match self.selection.kind {
            BackendKind::LevelDb => Arc::new(LevelDbBackend::open(
                &c.db_path.clone().unwrap_or_else(|| c.root.join("leveldb")),
                OpenMode::CreateIfMissing,
            )?),
            BackendKind::UnifiedJson => Arc::new(
                UnifiedBackend::open(
                    &c.unified_path
                        .clone()
                        .unwrap_or_else(|| c.root.join("deployments/unified")),
                    c.chains.clone(),
                    c.lock_timeout,
                )?
                .refusing_writes_while(self.stop.clone()),
            ),
            BackendKind::Json => Arc::new(LegacyJsonBackend::open(
                &c.legacy_path
                    .clone()
                    .unwrap_or_else(|| c.root.join("deployments")),
                c.chains.clone(),
            )?),
        };
        Ok(backend)
    }

    fn backend(&self) -> Result<Arc<dyn Backend>> {
        self.backend
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::BackendUnavailable,
                    format!(
                        "the {} store at {} is not open; call initialize() first",
                        self.selection.kind,
                        self.config.root.display()
                    ),
                )
            })
    }

    /// Runs one timed operation on the backend.
    fn timed<T>(&self, kind: OpKind, op: impl FnOnce(&dyn Backend) -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let result = self.backend().and_then(|b| op(b.as_ref()));
        self.metrics.record(kind, started.elapsed(), result.is_ok());
        result
    }

    /// One record; `None` only when it does not exist.
    pub fn get_contract(&self, chain_id: u64, name: &str) -> Result<Option<ContractRecord>> {
        self.timed(OpKind::Read, |b| b.get(chain_id, name))
    }

    /// `get_contract` as the record's compact JSON text, the form the bindings return; LevelDB serves repeated reads from its read cache.
    pub fn get_contract_json(&self, chain_id: u64, name: &str) -> Result<Option<Arc<str>>> {
        self.timed(OpKind::Read, |b| b.get_json(chain_id, name))
    }

    /// `get_contract_json` when it can be answered from memory (a cached unified file that is still current, a cached LevelDB record), else `None` (then `get_contract_json` reads, or says what is wrong): lets a binding skip its thread hop.
    pub fn get_contract_json_if_cached(
        &self,
        chain_id: u64,
        name: &str,
    ) -> Option<Option<Arc<str>>> {
        let started = Instant::now();
        let answer = self.backend().ok()?.get_json_if_cached(chain_id, name)?;
        self.metrics.record(OpKind::Read, started.elapsed(), true);
        Some(answer)
    }

    /// Whether a record exists.
    pub fn has_contract(&self, chain_id: u64, name: &str) -> Result<bool> {
        Ok(self.get_contract(chain_id, name)?.is_some())
    }

    /// Validates and durably writes one record.
    pub fn put_contract(&self, chain_id: u64, record: ContractRecord) -> Result<()> {
        self.put_contracts(chain_id, vec![record])
    }

    /// Validates and writes records of one chain as one atomic unit.
    pub fn put_contracts(&self, chain_id: u64, records: Vec<ContractRecord>) -> Result<()> {
        let records = prepare_writes(chain_id, records)?;
        self.check_not_stopped()?;
        self.timed(OpKind::Write, |b| b.put_batch(chain_id, &records))
    }

    /// Removes a record; `true` only when it existed.
    pub fn delete_contract(&self, chain_id: u64, name: &str) -> Result<bool> {
        self.check_not_stopped()?;
        self.timed(OpKind::Write, |b| b.delete(chain_id, name))
    }

    /// Every record of one chain.
    pub fn get_all_contracts(&self, chain_id: u64) -> Result<Vec<ContractRecord>> {
        self.timed(OpKind::Query, |b| b.list_chain(chain_id))
    }

    /// Records matching the filters, sorted as asked.
    pub fn query_contracts(&self, options: &QueryOptions) -> Result<Vec<ContractRecord>> {
        // Before the load: a bad option must not cost a full scan, nor hide behind a read error.
        options.check()?;
        let chain = options.chain_id.filter(|id| *id != 0);
        let mut records = self.timed(OpKind::Query, |b| match chain {
            Some(id) => b.list_chain(id),
            None => b.list_all(),
        })?;
        records.retain(|r| {
            options
                .contract_name
                .as_ref()
                .is_none_or(|n| &r.contract_name == n)
                && options
                    .network_name
                    .as_ref()
                    .is_none_or(|n| &r.network_name == n)
        });
        sort_records(&mut records, options);
        Ok(records)
    }

    /// The export document (FORMATS §3), as text.
    pub fn export_all(&self, options: &ExportOptions) -> Result<String> {
        let records = self.timed(OpKind::Query, |b| b.list_all())?;
        let mut contracts = Map::new();
        for record in records.iter().filter(|r| {
            !(options.clean && r.chain_id == DEV_CHAIN_ID)
                && options
                    .chain_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&r.chain_id))
        }) {
            contracts.insert(record.key(), record.to_json());
        }
        let mut doc = Map::new();
        doc.insert("format".into(), "json".into());
        doc.insert("exportTime".into(), iso_from_ms(now_ms()).into());
        doc.insert("totalContracts".into(), contracts.len().into());
        if options.include_metadata {
            doc.insert("metadata".into(), self.export_metadata()?);
        }
        doc.insert("contracts".into(), Value::Object(contracts));
        let doc = Value::Object(doc);
        Ok(if options.pretty {
            js_json::to_pretty(&doc)
        } else {
            js_json::to_compact(&doc)
        })
    }

    fn export_metadata(&self) -> Result<Value> {
        let location = self.backend()?.location().display().to_string();
        let path_key = if self.selection.kind == BackendKind::LevelDb {
            "dbPath"
        } else {
            "basePath"
        };
        let m = self.metrics.snapshot();
        Ok(serde_json::json!({
            "backendType": self.backend_type(),
            path_key: location,
            "metrics": {"readLatency": m.read.mean_ms, "writeLatency": m.write.mean_ms,
                        "queryLatency": m.query.mean_ms, "errorRate": m.error_rate}
        }))
    }

    /// Imports an export document: every record is checked first, then all are written, or none.
    pub fn import_all(&self, document: &str, overwrite: bool) -> Result<ImportSummary> {
        let records = parse_export(document)?;
        self.check_not_stopped()?;
        let mut fresh = Vec::new();
        let mut skipped = 0;
        for record in records {
            if !overwrite && self.has_contract(record.chain_id, &record.contract_name)? {
                skipped += 1;
            } else {
                fresh.push(record);
            }
        }
        let mut by_chain: BTreeMap<u64, Vec<ContractRecord>> = BTreeMap::new();
        for record in &fresh {
            by_chain
                .entry(record.chain_id)
                .or_default()
                .push(record.clone());
        }
        self.timed(OpKind::Write, |b| {
            by_chain
                .iter()
                .try_for_each(|(chain, batch)| b.put_batch(*chain, batch))
        })?;
        Ok(ImportSummary {
            imported: fresh.len(),
            skipped,
        })
    }

    /// Hands every stored entry, decoded or with its decoding error, to `visit` in key order; LevelDB streams them.
    pub fn visit_raw(&self, visit: &mut Visitor<'_>) -> Result<()> {
        self.timed(OpKind::Query, |b| b.visit_raw(visit))
    }

    /// Checks every stored entry: decodable, keyed to the chain it claims, well-formed.
    pub fn validate_integrity(&self) -> Result<IntegrityReport> {
        let entries = self.timed(OpKind::Query, |b| b.scan_raw())?;
        let mut report = IntegrityReport {
            is_valid: true,
            errors: Vec::new(),
            warnings: Vec::new(),
            contract_count: 0,
            last_validated: iso_from_ms(now_ms()),
        };
        for entry in entries {
            judge_entry(entry, &mut report);
        }
        report.is_valid = report.errors.is_empty();
        Ok(report)
    }

    /// Measured latencies and error counts.
    pub fn metrics(&self) -> MetricsSnapshot {
        let cache = self.backend().ok().and_then(|b| b.cache_stats());
        MetricsSnapshot {
            cache,
            ..self.metrics.snapshot()
        }
    }

    /// Really probes the backend (reads it); `false` when closed or failing.
    pub fn is_healthy(&self) -> bool {
        self.backend().and_then(|b| b.probe()).is_ok()
    }

    /// Refuses writes while an emergency rollback is in progress.
    fn check_not_stopped(&self) -> Result<()> {
        self.stop.refuse_writes()
    }

    /// The project root.
    pub fn root(&self) -> &Path {
        &self.config.root
    }
}

/// `STATE_LOCKED` while `<root>/.emergency-stop` exists: every writer of the state checks this first.
pub fn refuse_if_stopped(root: &Path) -> Result<()> {
    refuse_if_stop_file(&root.join(EMERGENCY_STOP_FILE))
}

/// `STATE_LOCKED` while the emergency stop file `stop` exists.
fn refuse_if_stop_file(stop: &Path) -> Result<()> {
    if stop.exists() {
        return Err(emergency_stop_error(stop));
    }
    Ok(())
}

/// A project's emergency stop file, checked before every write of a store. The check is a
/// `stat`, skipped while the watch on the root shows nothing changed there since a check found
/// no file: raising the stop creates the file, and the watch counts that before it returns.
pub struct StopFile {
    path: PathBuf,
    watch: Option<DirWatch>,
    /// The root's change count when the file was last found absent.
    absent_at: Mutex<Option<u64>>,
}

impl StopFile {
    /// The stop file of the project at `root`.
    pub fn of(root: &Path) -> StopFile {
        StopFile {
            path: root.join(EMERGENCY_STOP_FILE),
            watch: DirWatch::new(root),
            absent_at: Mutex::new(None),
        }
    }

    /// `STATE_LOCKED` while the file exists.
    pub fn refuse_writes(&self) -> Result<()> {
        // Counted before the `stat`: a stop raised after it shows at the next count.
        let changes = self.watch.as_ref().and_then(DirWatch::changes);
        let mut absent_at = self.absent_at.lock().unwrap_or_else(|p| p.into_inner());
        if changes.is_some() && *absent_at == changes {
            return Ok(());
        }
        refuse_if_stop_file(&self.path)?;
        *absent_at = changes;
        Ok(())
    }
}

fn emergency_stop_error(stop: &Path) -> Error {
    // The reason is only shown; a stop file that cannot be read (or is a FIFO) still stops.
    let reason = crate::durable::read_regular_to_string(stop).unwrap_or_default();
    Error::new(
        ErrorCode::Locked,
        format!(
            "writes are refused while {} exists (an emergency rollback is in progress{}); \
             wait for it to finish or run `lookcoin-state rollback --resume`",
            stop.display(),
            if reason.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", reason.trim())
            }
        ),
    )
    .with_path(stop)
}

/// Checks records for a write of one chain; a zero timestamp becomes now (as the old scripts did).
fn prepare_writes(chain_id: u64, records: Vec<ContractRecord>) -> Result<Vec<ContractRecord>> {
    let mut seen = std::collections::HashSet::new();
    records
        .into_iter()
        .map(|mut record| {
            if record.chain_id != chain_id {
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    format!(
                        "record {} says chainId {} but is written to chain {chain_id}",
                        record.contract_name, record.chain_id
                    ),
                )
                .with_key(record.key()));
            }
            if record.timestamp == 0 {
                record.timestamp = now_ms();
            }
            record.check_for_write(WriteCheck::Strict)?;
            if !seen.insert(record.contract_name.clone()) {
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    format!("{} appears twice in one batch", record.contract_name),
                )
                .with_key(record.key()));
            }
            Ok(record)
        })
        .collect()
}

/// Sorts as asked; the options were checked by [`QueryOptions::check`].
fn sort_records(records: &mut [ContractRecord], options: &QueryOptions) {
    match options.sort_by.as_deref() {
        Some("timestamp") => records.sort_by_key(|r| r.timestamp),
        Some("contractName") => records.sort_by(|a, b| a.contract_name.cmp(&b.contract_name)),
        Some("chainId") => records.sort_by_key(|r| r.chain_id),
        _ => return,
    }
    if options.sort_order.as_deref() == Some("desc") {
        records.reverse();
    }
}

fn bad_option(name: &str, value: &str, allowed: &str) -> Error {
    Error::new(
        ErrorCode::ValidationFailed,
        format!("{name} {value:?} is not supported; use {allowed}"),
    )
}

/// Parses and checks every record of an export document before anything is written.
fn parse_export(document: &str) -> Result<Vec<ContractRecord>> {
    let doc = js_json::parse(document).map_err(|e| {
        Error::new(
            ErrorCode::ValidationFailed,
            format!("import data is not JSON: {e}"),
        )
        .with_offset(e.line() as u64)
    })?;
    let contracts = doc
        .get("contracts")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::ValidationFailed,
                "import data has no \"contracts\" object",
            )
        })?;
    let mut problems = Vec::new();
    let mut records = Vec::new();
    for (key, value) in contracts {
        match import_record(key, value) {
            Ok(record) => records.push(record),
            Err(e) => problems.push(e.message),
        }
    }
    if let Some(first) = problems.first() {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            format!(
                "import refused, nothing was written: {} of {} records are invalid; first: {first}",
                problems.len(),
                contracts.len()
            ),
        ));
    }
    Ok(records)
}

fn import_record(key: &str, value: &Value) -> Result<ContractRecord> {
    let (chain_id, name) = parse_key(key)?;
    let record = ContractRecord::from_json(value).map_err(|why| {
        Error::new(ErrorCode::ValidationFailed, format!("{key}: {why}")).with_key(key)
    })?;
    if record.chain_id != chain_id || record.contract_name != name {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            format!("{key}: the record says {}", record.key()),
        )
        .with_key(key));
    }
    record
        .check_for_write(WriteCheck::AllowEmptyHashes)
        .map_err(|e| {
            let hint = if chain_id == DEV_CHAIN_ID {
                " (dev chain row: export with clean to drop it)"
            } else {
                ""
            };
            Error::new(e.code, format!("{key}: {}{hint}", e.message)).with_key(key)
        })?;
    Ok(record)
}

/// Sorts one entry's findings into the report: errors, and everything else as warnings.
fn judge_entry(entry: RawEntry, report: &mut IntegrityReport) {
    let mut findings = Vec::new();
    crate::validate::judge_entry(&entry, &mut findings);
    report.contract_count += usize::from(entry.record.is_ok());
    for finding in findings {
        if finding.severity == Severity::Error {
            report.errors.push(finding);
        } else {
            report.warnings.push(finding);
        }
    }
}
