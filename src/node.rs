//! Node.js glue (napi-rs v3): `createStateManager` and `class StateManager`.
//!
//! Every async method is an `AsyncTask` whose work runs on libuv's pool; core errors
//! travel as values and become `StateManagerError`s (with `code` and `details`) in
//! `resolve`, on the JS thread. Sync twins run the same task's `compute` + `resolve`.
//! The backup functions live in `node/backup.rs`, their progress plumbing in `node/progress.rs`.

mod args;
mod backup;
mod compare;
mod job;
mod migrate;
mod progress;
mod recovery;
mod rollback;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

// Not the bindgen prelude glob: its `Result` would shadow the core's.
use napi::bindgen_prelude::{
    AsyncTask, FromNapiValue, Function, JsObjectValue, Null, Object, ToNapiValue, TypeName,
    Undefined, Unknown,
};
use napi::{sys, Env, JsValue, Status, Task, ValueType};
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::backend::BackendKind;
use crate::chains::ChainMap;
use crate::js_json;
use crate::metrics::{LatencyStats, MetricsSnapshot};
use crate::record::{check_chain_id, ContractRecord};
use crate::sample;
use crate::store::{
    ExportOptions, Finding, IntegrityReport, QueryOptions, StateStore, StoreConfig,
};
use crate::{Error, ErrorCode};

/// Options of `createStateManager` (the old config names are accepted).
#[napi(object)]
pub struct StateManagerConfig {
    /// Project root; default: the current directory.
    pub root: Option<String>,
    /// LevelDB directory; default `<root>/leveldb`.
    pub db_path: Option<String>,
    /// Unified JSON directory; default `<root>/deployments/unified`.
    pub json_path: Option<String>,
    /// Legacy JSON directory; default `<root>/deployments`.
    pub legacy_path: Option<String>,
    /// Chain id → network file name overrides, e.g. `{ "9070": "akashic" }`.
    pub chain_map: Option<HashMap<String, String>>,
    /// How long a write waits for a file lock (ms); default 10000.
    pub lock_timeout_ms: Option<u32>,
}

/// Options of `exportAll`.
#[napi(object)]
pub struct ExportOptionsJs {
    /// Only these chains.
    pub chain_ids: Option<Vec<f64>>,
    /// Drop dev chain 31337.
    pub clean: Option<bool>,
    /// Add backend metadata.
    pub include_metadata: Option<bool>,
    /// Pretty 2-space output.
    pub pretty_print: Option<bool>,
}

/// One operation of a store, prepared on the JS thread and run off it.
enum Op {
    Open(Box<StoreConfig>),
    CreateSample(PathBuf),
    Describe(PathBuf),
    Initialize,
    Close,
    Get(u64, String),
    Has(u64, String),
    Put(u64, Vec<ContractRecord>),
    Delete(u64, String),
    List(u64),
    Query(QueryOptions),
    Export(ExportOptions),
    Import(String, bool),
    Validate,
    Healthy,
    Metrics,
    /// An argument was invalid: the promise rejects with this error.
    Fail(Error),
}

/// What an operation produced, converted to JS in `resolve`.
pub enum Reply {
    /// `undefined`.
    Unit,
    /// Any JSON value.
    Json(Value),
    /// A record as compact JSON text (parsed in JS), or null when there is none.
    Record(Option<Arc<str>>),
    /// JSON text, parsed in JS (built off the JS thread, without a `Value` tree).
    Text(String),
    /// A new store.
    Store(Arc<StateStore>),
}

/// The task behind every async method.
pub struct StoreTask {
    store: Option<Arc<StateStore>>,
    op: Option<Op>,
}

impl Task for StoreTask {
    type Output = crate::Result<Reply>;
    type JsValue = Reply;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let op = self.op.take().unwrap_or(Op::Fail(Error::new(
            ErrorCode::Internal,
            "a task ran twice",
        )));
        Ok(run(self.store.as_deref(), op))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        output.map_err(|e| to_js_error(&env, &e))
    }
}

fn run(store: Option<&StateStore>, op: Op) -> crate::Result<Reply> {
    let Some(store) = store else {
        return match op {
            Op::Open(config) => open(*config).map(|s| Reply::Store(Arc::new(s))),
            Op::CreateSample(root) => sample::create_sample_workspace(&root).map(|_| Reply::Unit),
            Op::Describe(root) => sample::describe_workspace(&root).map(Reply::Json),
            Op::Fail(e) => Err(e),
            _ => Err(Error::new(ErrorCode::Internal, "operation without a store")),
        };
    };
    let json = |v: Value| Ok(Reply::Json(v));
    match op {
        Op::Open(_) | Op::CreateSample(_) | Op::Describe(_) => Err(Error::new(
            ErrorCode::Internal,
            "a workspace task given a store",
        )),
        Op::Initialize => store.initialize().map(|_| Reply::Unit),
        Op::Close => store.close().map(|_| Reply::Unit),
        Op::Get(chain, name) => Ok(Reply::Record(store.get_contract_json(chain, &name)?)),
        Op::Has(chain, name) => json(store.has_contract(chain, &name)?.into()),
        Op::Put(chain, records) => store.put_contracts(chain, records).map(|_| Reply::Unit),
        Op::Delete(chain, name) => json(store.delete_contract(chain, &name)?.into()),
        Op::List(chain) => Ok(Reply::Text(records_text(&store.get_all_contracts(chain)?))),
        Op::Query(options) => Ok(Reply::Text(records_text(&store.query_contracts(&options)?))),
        Op::Export(options) => json(store.export_all(&options)?.into()),
        Op::Import(doc, overwrite) => {
            let summary = store.import_all(&doc, overwrite)?;
            json(serde_json::json!({"imported": summary.imported, "skipped": summary.skipped}))
        }
        Op::Validate => json(integrity_json(&store.validate_integrity()?)),
        Op::Healthy => json(store.is_healthy().into()),
        Op::Metrics => json(metrics_json(&store.metrics())),
        Op::Fail(e) => Err(e),
    }
}

fn open(config: StoreConfig) -> crate::Result<StateStore> {
    let store = StateStore::new(config)?;
    store.initialize()?;
    Ok(store)
}

/// Opens a state store and initializes it. `backend`: `leveldb`, `unified-json` (or
/// `unified`), `json`, or null/`auto` for the selection rules (`.env.emergency`, env).
/// `createStateManager({ root })` (the config first, no backend) is accepted too.
#[napi(
    ts_args_type = "backend?: string | null | StateManagerConfig, config?: StateManagerConfig | null",
    ts_return_type = "Promise<StateManager>"
)]
pub fn create_state_manager(env: Env, backend: Unknown, config: Unknown) -> AsyncTask<StoreTask> {
    let op = match manager_args(&env, backend, config).and_then(|(b, c)| store_config(b, c)) {
        Ok(config) => Op::Open(Box::new(config)),
        Err(e) => Op::Fail(e),
    };
    AsyncTask::new(StoreTask {
        store: None,
        op: Some(op),
    })
}

/// Builds a sample workspace shaped like LookCoin's (26 contracts on 5 chains, unified
/// files, a migration backup holding LevelDB) in an empty or new folder.
#[napi(ts_return_type = "Promise<void>")]
pub fn create_sample_workspace(root: String) -> AsyncTask<StoreTask> {
    AsyncTask::new(StoreTask {
        store: None,
        op: Some(Op::CreateSample(root.into())),
    })
}

/// What a workspace holds: unified records per chain and the newest backup's LevelDB records.
#[napi(ts_return_type = "Promise<WorkspaceSummary>")]
pub fn describe_workspace(root: String) -> AsyncTask<StoreTask> {
    AsyncTask::new(StoreTask {
        store: None,
        op: Some(Op::Describe(root.into())),
    })
}

/// `(backend, config)` from what JS passed, `VALIDATION_FAILED` for anything else.
fn manager_args(
    env: &Env,
    backend: Unknown,
    config: Unknown,
) -> crate::Result<(Option<String>, Option<StateManagerConfig>)> {
    let config_of = |value: Unknown| -> crate::Result<Option<StateManagerConfig>> {
        match value.get_type() {
            Ok(ValueType::Undefined | ValueType::Null) => Ok(None),
            // SAFETY: a value of this call's env, converted on the JS thread.
            Ok(ValueType::Object) => {
                unsafe { StateManagerConfig::from_napi_value(env.raw(), value.raw()) }
                    .map(Some)
                    .map_err(|e| invalid_arg(&format!("createStateManager config: {}", e.reason)))
            }
            _ => Err(invalid_arg("createStateManager config must be an object")),
        }
    };
    match backend.get_type() {
        Ok(ValueType::Object) if config_of(config)?.is_none() => Ok((None, config_of(backend)?)),
        Ok(ValueType::Object) => Err(invalid_arg(
            "createStateManager takes (backend, config): the backend must be a string",
        )),
        Ok(ValueType::String) => {
            let name = js_to_json(backend)?.and_then(|v| v.as_str().map(str::to_string));
            Ok((name, config_of(config)?))
        }
        Ok(ValueType::Undefined | ValueType::Null) => Ok((None, config_of(config)?)),
        _ => Err(invalid_arg(
            "createStateManager backend must be a string such as \"leveldb\"",
        )),
    }
}

fn store_config(
    backend: Option<String>,
    config: Option<StateManagerConfig>,
) -> crate::Result<StoreConfig> {
    let config = config.unwrap_or(StateManagerConfig {
        root: None,
        db_path: None,
        json_path: None,
        legacy_path: None,
        chain_map: None,
        lock_timeout_ms: None,
    });
    let root = match config.root {
        Some(root) => root.into(),
        None => std::env::current_dir().map_err(|e| Error::read_io(".", &e))?,
    };
    let mut out = StoreConfig::new(root);
    out.backend = match backend.as_deref().map(str::trim) {
        None | Some("") | Some("auto") => None,
        Some(name) => Some(BackendKind::parse(name)?),
    };
    out.db_path = config.db_path.map(Into::into);
    out.unified_path = config.json_path.map(Into::into);
    out.legacy_path = config.legacy_path.map(Into::into);
    if let Some(map) = config.chain_map {
        let overrides: Map<String, Value> = map.into_iter().map(|(k, v)| (k, v.into())).collect();
        out.chains = ChainMap::with_overrides(&Value::Object(overrides))?;
    }
    if let Some(ms) = config.lock_timeout_ms {
        out.lock_timeout = Duration::from_millis(u64::from(ms));
    }
    Ok(out)
}

/// A deployment state store, drop-in for the old TypeScript `IStateManager`.
#[napi]
pub struct StateManager {
    store: Arc<StateStore>,
}

impl ToNapiValue for Reply {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: forwarded to napi's own conversions with the same env.
        unsafe {
            match val {
                Reply::Unit => Undefined::to_napi_value(env, ()),
                Reply::Json(v) => JsonToJs::to_napi_value(env, JsonToJs(&v)),
                Reply::Record(None) => Null::to_napi_value(env, Null),
                Reply::Record(Some(text)) => record_value(&Env::from_raw(env), &text),
                Reply::Text(text) => json_parse(&Env::from_raw(env), &text),
                Reply::Store(store) => StateManager::to_napi_value(env, StateManager { store }),
            }
        }
    }
}

impl TypeName for Reply {
    fn type_name() -> &'static str {
        "any"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl StateManager {
    fn task(&self, op: crate::Result<Op>) -> AsyncTask<StoreTask> {
        AsyncTask::new(self.task_now(op))
    }

    fn task_now(&self, op: crate::Result<Op>) -> StoreTask {
        StoreTask {
            store: Some(self.store.clone()),
            op: Some(op.unwrap_or_else(Op::Fail)),
        }
    }

    fn run_sync(&self, env: Env, op: crate::Result<Op>) -> napi::Result<Reply> {
        let mut task = self.task_now(op);
        let output = task.compute()?;
        task.resolve(env, output)
    }
}

#[napi]
impl StateManager {
    /// Opens the backend (idempotent).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn initialize(&self) -> AsyncTask<StoreTask> {
        self.task(Ok(Op::Initialize))
    }

    /// Closes the backend and releases its locks.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self) -> AsyncTask<StoreTask> {
        self.task(Ok(Op::Close))
    }

    /// One record, or null when it does not exist (any other failure rejects).
    #[napi(
        ts_args_type = "chainId: number, contractName: string",
        ts_return_type = "Promise<ContractRecord | null>"
    )]
    pub fn get_contract(
        &self,
        env: Env,
        chain_id: Unknown,
        contract_name: Unknown,
    ) -> napi::Result<RawValue> {
        let key = keyed(chain_id, contract_name);
        // A cached answer takes microseconds: resolve now rather than pay the thread-pool
        // hop (tens of µs) that would dominate the call.
        if let Ok((chain, name)) = &key {
            if let Some(text) = self.store.get_contract_json_if_cached(*chain, name) {
                return resolved(&env, Reply::Record(text));
            }
        }
        let task = self.task(key.map(|(c, n)| Op::Get(c, n)));
        // SAFETY: queues the task and returns its promise, on the JS thread with this env.
        unsafe { AsyncTask::to_napi_value(env.raw(), task) }.map(RawValue)
    }

    /// `getContract` on the calling thread.
    #[napi(
        ts_args_type = "chainId: number, contractName: string",
        ts_return_type = "ContractRecord | null"
    )]
    pub fn get_contract_sync(
        &self,
        env: Env,
        chain_id: Unknown,
        contract_name: Unknown,
    ) -> napi::Result<Reply> {
        self.run_sync(
            env,
            keyed(chain_id, contract_name).map(|(c, n)| Op::Get(c, n)),
        )
    }

    /// Whether a record exists.
    #[napi(
        ts_args_type = "chainId: number, contractName: string",
        ts_return_type = "Promise<boolean>"
    )]
    pub fn has_contract(&self, chain_id: Unknown, contract_name: Unknown) -> AsyncTask<StoreTask> {
        self.task(keyed(chain_id, contract_name).map(|(c, n)| Op::Has(c, n)))
    }

    /// Validates and durably writes one record (BigInt args stored as decimal strings).
    #[napi(
        ts_args_type = "chainId: number, contract: ContractRecordInput",
        ts_return_type = "Promise<void>"
    )]
    pub fn put_contract(&self, chain_id: Unknown, contract: Unknown) -> AsyncTask<StoreTask> {
        self.task(put_op(chain_id, contract))
    }

    /// `putContract` on the calling thread.
    #[napi(
        ts_args_type = "chainId: number, contract: ContractRecordInput",
        ts_return_type = "void"
    )]
    pub fn put_contract_sync(
        &self,
        env: Env,
        chain_id: Unknown,
        contract: Unknown,
    ) -> napi::Result<Reply> {
        self.run_sync(env, put_op(chain_id, contract))
    }

    /// Writes records of one chain as one atomic batch.
    #[napi(
        ts_args_type = "chainId: number, contracts: ContractRecordInput[]",
        ts_return_type = "Promise<void>"
    )]
    pub fn put_contracts(&self, chain_id: Unknown, contracts: Unknown) -> AsyncTask<StoreTask> {
        self.task(put_op(chain_id, contracts))
    }

    /// Removes a record; true only when it existed.
    #[napi(
        ts_args_type = "chainId: number, contractName: string",
        ts_return_type = "Promise<boolean>"
    )]
    pub fn delete_contract(
        &self,
        chain_id: Unknown,
        contract_name: Unknown,
    ) -> AsyncTask<StoreTask> {
        self.task(keyed(chain_id, contract_name).map(|(c, n)| Op::Delete(c, n)))
    }

    /// Every record of one chain.
    #[napi(
        ts_args_type = "chainId: number",
        ts_return_type = "Promise<ContractRecord[]>"
    )]
    pub fn get_all_contracts(&self, chain_id: Unknown) -> AsyncTask<StoreTask> {
        self.task(chain_arg(chain_id).map(Op::List))
    }

    /// Records matching the filters; invalid options reject before anything is read.
    #[napi(
        ts_args_type = "options?: QueryOptionsJs | null",
        ts_return_type = "Promise<ContractRecord[]>"
    )]
    pub fn query_contracts(&self, options: Unknown) -> AsyncTask<StoreTask> {
        self.task(query_options(options).map(Op::Query))
    }

    /// The export document as JSON text.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn export_all(&self, options: Option<ExportOptionsJs>) -> AsyncTask<StoreTask> {
        self.task(export_options(options).map(Op::Export))
    }

    /// Imports an export document (text or object): all records or none.
    #[napi(
        ts_args_type = "data: string | object, overwrite?: boolean",
        ts_return_type = "Promise<{ imported: number; skipped: number }>"
    )]
    pub fn import_all(&self, data: Unknown, overwrite: Option<bool>) -> AsyncTask<StoreTask> {
        let doc = import_text(data);
        self.task(doc.map(|d| Op::Import(d, overwrite.unwrap_or(false))))
    }

    /// Checks every stored entry.
    #[napi(ts_return_type = "Promise<IntegrityReport>")]
    pub fn validate_integrity(&self) -> AsyncTask<StoreTask> {
        self.task(Ok(Op::Validate))
    }

    /// Measured latencies (ms) and error counts.
    #[napi(ts_return_type = "Promise<StateMetrics>")]
    pub fn get_metrics(&self) -> AsyncTask<StoreTask> {
        self.task(Ok(Op::Metrics))
    }

    /// Really probes the backend.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn is_healthy(&self) -> AsyncTask<StoreTask> {
        self.task(Ok(Op::Healthy))
    }

    /// `leveldb`, `unified-json` or `json`.
    #[napi]
    pub fn get_backend_type(&self) -> String {
        self.store.backend_type().to_string()
    }

    /// Which backend was chosen and why.
    #[napi(ts_return_type = "{ backend: string; reason: string }")]
    pub fn get_backend_selection(&self) -> Reply {
        let selection = self.store.selection();
        Reply::Json(
            serde_json::json!({"backend": selection.kind.as_str(), "reason": selection.reason}),
        )
    }
}

/// A JS number that must be a chain id.
fn chain(value: f64) -> crate::Result<u64> {
    let invalid = || {
        Error::new(
            ErrorCode::ValidationFailed,
            format!("chainId {value} is not a positive safe integer"),
        )
    };
    if value.fract() != 0.0 || value < 1.0 {
        return Err(invalid());
    }
    check_chain_id(value as u64).map_err(|_| invalid())?;
    Ok(value as u64)
}

/// Converts JS records for a write (one record or an array); a missing `chainId` is the argument's.
fn put_op(chain_id: Unknown, contracts: Unknown) -> crate::Result<Op> {
    let chain_id = chain_arg(chain_id)?;
    // Records of the usual shape go from their JSON text straight into the fields; anything
    // else goes through a `Value`, whose reading names what is wrong.
    let text = match contracts.get_type() {
        Ok(ValueType::Object) => stringified(contracts).map_err(not_json)?,
        _ => None,
    };
    if let Some(record) = text
        .as_deref()
        .and_then(|text| ContractRecord::from_input_text(text, chain_id))
    {
        return Ok(Op::Put(chain_id, vec![record]));
    }
    let value = match text {
        Some(text) => Some(parsed(&text).map_err(not_json)?),
        None => js_to_json(contracts)?,
    };
    let items = match value {
        Some(Value::Array(items)) => items,
        Some(single @ Value::Object(_)) => vec![single],
        _ => {
            return Err(invalid_arg(
                "contracts must be a record object or an array of them",
            ))
        }
    };
    let records = items
        .into_iter()
        .map(|value| {
            ContractRecord::from_input_json(value, chain_id)
                .map_err(|why| invalid_arg(&format!("invalid contract record: {why}")))
        })
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(Op::Put(chain_id, records))
}

/// A chain id and contract name from JS, checked here so a wrong type rejects like any other error.
fn keyed(chain_id: Unknown, name: Unknown) -> crate::Result<(u64, String)> {
    let chain_id = chain_arg(chain_id)?;
    match js_to_json(name)? {
        Some(Value::String(name)) if !name.is_empty() => Ok((chain_id, name)),
        other => Err(invalid_arg(&format!(
            "contractName must be a non-empty string, got {}",
            shown(&other)
        ))),
    }
}

/// A chain id given as a number (or, as the old scripts sometimes did, a decimal string).
fn chain_arg(value: Unknown) -> crate::Result<u64> {
    chain_value(js_to_json(value)?)
}

/// [`chain_arg`] of a value already converted.
fn chain_value(value: Option<Value>) -> crate::Result<u64> {
    match value {
        Some(Value::Number(n)) => chain(n.as_f64().unwrap_or(f64::NAN)),
        Some(Value::String(s))
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') =>
        {
            chain(s.parse::<f64>().unwrap_or(f64::NAN))
        }
        other => Err(invalid_arg(&format!(
            "chainId must be a positive integer, got {}",
            shown(&other)
        ))),
    }
}

fn shown(value: &Option<Value>) -> String {
    value
        .as_ref()
        .map_or("undefined".into(), js_json::to_compact)
}

fn invalid_arg(message: &str) -> Error {
    Error::new(ErrorCode::ValidationFailed, message)
}

/// The options of `queryContracts`, every key and type checked (the sort values by the core).
fn query_options(options: Unknown) -> crate::Result<QueryOptions> {
    const WHAT: &str = "queryContracts";
    let Some(o) = args::options_arg(options, &format!("{WHAT} options"))? else {
        return Ok(QueryOptions::default());
    };
    if o.on_progress.is_some() {
        return Err(invalid_arg(&format!("{WHAT} takes no onProgress")));
    }
    let values = o.values;
    args::known_keys(
        &values,
        &[
            "chainId",
            "contractName",
            "networkName",
            "sortBy",
            "sortOrder",
        ],
        WHAT,
    )?;
    let chain_id = match values.get("chainId") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => None,
        other => Some(chain_value(other.cloned())?),
    };
    let text = |key: &str| match values.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        other => Err(invalid_arg(&format!(
            "{WHAT} {key} must be a non-empty string, got {}",
            shown(&other.cloned())
        ))),
    };
    let options = QueryOptions {
        chain_id,
        contract_name: text("contractName")?,
        network_name: text("networkName")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
    };
    options.check()?;
    Ok(options)
}

fn export_options(options: Option<ExportOptionsJs>) -> crate::Result<ExportOptions> {
    let Some(o) = options else {
        return Ok(ExportOptions::default());
    };
    let chain_ids = o
        .chain_ids
        .map(|ids| ids.into_iter().map(chain).collect())
        .transpose()?;
    Ok(ExportOptions {
        chain_ids,
        clean: o.clean.unwrap_or(false),
        include_metadata: o.include_metadata.unwrap_or(false),
        pretty: o.pretty_print.unwrap_or(true),
    })
}

fn import_text(data: Unknown) -> crate::Result<String> {
    match js_to_json(data)? {
        Some(Value::String(text)) => Ok(text),
        Some(value @ Value::Object(_)) => Ok(js_json::to_compact(&value)),
        _ => Err(Error::new(
            ErrorCode::ValidationFailed,
            "importAll takes an export document (string or object)",
        )),
    }
}

/// Records as one JSON array text, as `JSON.stringify` would write it.
fn records_text(records: &[ContractRecord]) -> String {
    // ~330 bytes per record in the real data; a close guess saves the regrowing.
    let mut text = String::with_capacity(2 + records.len() * 384);
    text.push('[');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        record.write_json(&mut text);
    }
    text.push(']');
    text
}

fn integrity_json(report: &IntegrityReport) -> Value {
    let line = |f: &Finding| format!("{}: {}", f.location, f.message);
    let finding = |severity: &str, f: &Finding| serde_json::json!({"severity": severity, "code": f.code, "location": f.location, "message": f.message});
    let findings: Vec<Value> = report
        .errors
        .iter()
        .map(|f| finding("error", f))
        .chain(report.warnings.iter().map(|f| finding("warning", f)))
        .collect();
    serde_json::json!({
        "isValid": report.is_valid,
        "errors": report.errors.iter().map(line).collect::<Vec<_>>(),
        "warnings": report.warnings.iter().map(line).collect::<Vec<_>>(),
        "findings": findings,
        "contractCount": report.contract_count,
        "lastValidated": report.last_validated,
    })
}

fn metrics_json(m: &MetricsSnapshot) -> Value {
    let stats = |s: &LatencyStats| serde_json::json!({"count": s.count, "meanMs": s.mean_ms, "p50Ms": s.p50_ms, "p99Ms": s.p99_ms});
    serde_json::json!({
        "readLatency": m.read.mean_ms,
        "writeLatency": m.write.mean_ms,
        "queryLatency": m.query.mean_ms,
        "errorRate": m.error_rate,
        "errors": m.errors,
        "reads": stats(&m.read),
        "writes": stats(&m.write),
        "queries": stats(&m.query),
        // Hits over all reads that consulted the read cache (the unified files, the LevelDB records).
        "cacheHitRate": m.cache.map(|(hits, misses)| {
            let total = hits + misses;
            if total == 0 { 0.0 } else { hits as f64 / total as f64 }
        }),
        "cacheHits": m.cache.map(|(hits, _)| hits),
        "cacheMisses": m.cache.map(|(_, misses)| misses),
    })
}

/// A core error as a JS `Error` with `name`, `code` and `details`. Runs on the JS thread.
fn to_js_error(env: &Env, e: &Error) -> napi::Error {
    build_js_error(env, e).unwrap_or_else(|_| {
        napi::Error::new(Status::GenericFailure, format!("{}: {}", e.code, e.message))
    })
}

fn build_js_error(env: &Env, e: &Error) -> napi::Result<napi::Error> {
    let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.message.clone()))?;
    obj.set_named_property("name", "StateManagerError")?;
    obj.set_named_property("code", e.code.as_str())?;
    let mut details = Map::new();
    if let Some(path) = &e.details.path {
        details.insert("path".into(), path.clone().into());
    }
    if let Some(key) = &e.details.key {
        details.insert("key".into(), key.clone().into());
    }
    if let Some(offset) = e.details.offset {
        details.insert("offset".into(), offset.into());
    }
    obj.set_named_property("details", JsonToJs(&Value::Object(details)))?;
    // Keeps a reference to this very object, so the rejection carries its properties.
    Ok(napi::Error::from(obj.to_unknown()))
}

/// A JS value as JSON, `JSON.stringify` style, with BigInt as its decimal string.
/// `None` for values JSON drops (undefined, functions, symbols).
fn js_to_json(value: Unknown<'_>) -> crate::Result<Option<Value>> {
    value_json(value).map_err(not_json)
}

fn not_json(e: napi::Error) -> Error {
    Error::new(
        ErrorCode::ValidationFailed,
        format!("argument cannot be stored as JSON: {}", e.reason),
    )
}

fn value_json(v: Unknown<'_>) -> napi::Result<Option<Value>> {
    Ok(Some(match v.get_type()? {
        ValueType::Undefined | ValueType::Function | ValueType::Symbol | ValueType::External => {
            return Ok(None)
        }
        ValueType::Null => Value::Null,
        // SAFETY (all casts): the type was just checked.
        ValueType::Boolean => Value::Bool(unsafe { v.cast::<bool>()? }),
        ValueType::Number => number_json(unsafe { v.cast::<f64>()? }),
        ValueType::String => Value::String(unsafe { v.cast::<String>()? }),
        ValueType::BigInt => Value::String(v.coerce_to_string()?.into_utf8()?.into_owned()?),
        ValueType::Object => return object_json(v),
        other => {
            return Err(napi::Error::new(
                Status::InvalidArg,
                format!("a JS {other} is not JSON"),
            ))
        }
    }))
}

fn number_json(n: f64) -> Value {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// `JSON.stringify` with BigInt as its decimal string; a thrown error (a cycle, a getter that
/// throws) comes back as `{ error }` rather than left pending on the env. A replacer costs
/// V8 a call per value, so it is used only when the plain call meets a BigInt.
const STRINGIFY_SOURCE: &str = "(value) => { \
    const failed = (e) => ({ error: String(e && e.message) }); \
    try { return JSON.stringify(value); } catch (e) { \
        if (!(e instanceof TypeError && String(e.message).includes('BigInt'))) return failed(e); } \
    try { return JSON.stringify(value, (key, v) => (typeof v === 'bigint' ? v.toString() : v)); } \
    catch (e) { return failed(e); } }";

/// An object or array as JSON, through V8's own `JSON.stringify` and one parse here: a napi
/// call per property cost ≈10 µs for a record (most of a durable put's own CPU time), this
/// ≈3 µs. Its semantics are `level`'s, which the old scripts stored records through: own
/// enumerable properties, `toJSON` honoured, cycles refused. `None` when `toJSON` gives
/// nothing JSON can hold.
fn object_json(v: Unknown<'_>) -> napi::Result<Option<Value>> {
    stringified(v)?.map(|text| parsed(&text)).transpose()
}

fn parsed(text: &str) -> napi::Result<Value> {
    js_json::parse(text).map_err(|e| napi::Error::new(Status::InvalidArg, e.to_string()))
}

/// [`STRINGIFY_SOURCE`] applied to `v`: its JSON text, `None` when there is none.
fn stringified(v: Unknown<'_>) -> napi::Result<Option<String>> {
    let env = Env::from_raw(v.value().env);
    // SAFETY: arguments reach us on their env's JS thread; same env throughout.
    let out = unsafe {
        let stringify = kept_function(&env, &STRINGIFY, || compile(&env, STRINGIFY_SOURCE))?;
        Unknown::from_napi_value(env.raw(), call(env.raw(), stringify, &[v.raw()])?)?
    };
    match out.get_type()? {
        ValueType::Undefined => Ok(None),
        // SAFETY: the type was just checked.
        ValueType::String => Ok(Some(unsafe { out.cast::<String>()? })),
        _ => {
            // SAFETY: anything else is the helper's `{ error }` object.
            let failed = unsafe { out.cast::<Object>()? };
            Err(napi::Error::new(
                Status::InvalidArg,
                failed.get_named_property::<String>("error")?,
            ))
        }
    }
}

/// A JS value already made (a promise), handed back as it is.
pub struct RawValue(sys::napi_value);

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// `Promise.resolve(reply)`: a promise that is already fulfilled.
fn resolved(env: &Env, reply: Reply) -> napi::Result<RawValue> {
    // `Promise` is a function: read it as one, and call `resolve` with it as `this`.
    let promise: Function<Unknown, Unknown> = env.get_global()?.get_named_property("Promise")?;
    let resolve: Function<Reply, Unknown> = promise.get_named_property("resolve")?;
    Ok(RawValue(resolve.apply(promise, reply)?.raw()))
}

/// A kept reference to a global function, with the env it was made in.
type KeptFunction = std::cell::Cell<Option<(sys::napi_env, sys::napi_ref)>>;

/// Most record texts listed per thread before starting afresh (each with at most a small JS object).
const PARSED_RECORDS: usize = 1024;

/// Record texts seen on this thread, by address, with the object parsed from each one seen twice.
struct ParsedRecords {
    env: sys::napi_env,
    /// The text is held so its address cannot be reused by another text while listed.
    by_text: HashMap<usize, (Arc<str>, Option<sys::napi_ref>)>,
}

thread_local! {
    /// `JSON.parse` of the env running on this thread: looking it up through the global
    /// object costs three property reads per call, a noticeable share of a cached read.
    static JSON_PARSE: KeptFunction = const { std::cell::Cell::new(None) };
    /// [`COPY_SOURCE`] compiled in the env running on this thread.
    static COPY: KeptFunction = const { std::cell::Cell::new(None) };
    /// [`STRINGIFY_SOURCE`] compiled in the env running on this thread.
    static STRINGIFY: KeptFunction = const { std::cell::Cell::new(None) };
    /// Backends hand out the same `Arc<str>` for a record until it changes, and copying an
    /// object parsed from it is far cheaper than parsing it again (≈0.04 against ≈0.75 µs).
    static PARSED: std::cell::RefCell<Option<ParsedRecords>> = const { std::cell::RefCell::new(None) };
}

/// A shallow copy by spread: V8 clones a plain object's shape in one step (≈0.04 µs for a
/// record, against ≈0.19 µs for `Object.assign({}, o)`).
const COPY_SOURCE: &str = "(record) => ({ ...record })";

/// The function `make` returns, made once per env and kept in `slot`.
///
/// # Safety
/// On the env's own JS thread.
unsafe fn kept_function(
    env: &Env,
    slot: &'static std::thread::LocalKey<KeptFunction>,
    make: impl FnOnce() -> napi::Result<sys::napi_value>,
) -> napi::Result<sys::napi_value> {
    let raw_env = env.raw();
    // SAFETY: napi calls with this env, on its own JS thread; the reference keeps the
    // function alive for the env's lifetime and is only used with the env it was made in.
    unsafe {
        let function_ref = match slot.get() {
            Some((cached_env, function_ref)) if cached_env == raw_env => function_ref,
            _ => {
                let function_ref = new_reference(raw_env, make()?)?;
                slot.set(Some((raw_env, function_ref)));
                function_ref
            }
        };
        reference_value(raw_env, function_ref)
    }
}

/// A strong reference to `value`.
///
/// # Safety
/// On the env's own JS thread.
unsafe fn new_reference(env: sys::napi_env, value: sys::napi_value) -> napi::Result<sys::napi_ref> {
    let mut reference = std::ptr::null_mut();
    // SAFETY: as the caller's.
    check(unsafe { sys::napi_create_reference(env, value, 1, &mut reference) })?;
    Ok(reference)
}

/// The value a reference made in `env` holds.
///
/// # Safety
/// On the env's own JS thread, with a live reference of that env.
unsafe fn reference_value(
    env: sys::napi_env,
    reference: sys::napi_ref,
) -> napi::Result<sys::napi_value> {
    let mut value = std::ptr::null_mut();
    // SAFETY: as the caller's.
    check(unsafe { sys::napi_get_reference_value(env, reference, &mut value) })?;
    Ok(value)
}

/// The value of the script `source` (a function expression) in `env`.
///
/// # Safety
/// On the env's own JS thread.
unsafe fn compile(env: &Env, source: &str) -> napi::Result<sys::napi_value> {
    // SAFETY: as the caller's.
    unsafe {
        let source = <&str>::to_napi_value(env.raw(), source)?;
        let mut function = std::ptr::null_mut();
        check(sys::napi_run_script(env.raw(), source, &mut function))?;
        Ok(function)
    }
}

/// `function(...args)` with `this` undefined.
///
/// # Safety
/// On the env's own JS thread, with values of that env.
unsafe fn call(
    env: sys::napi_env,
    function: sys::napi_value,
    args: &[sys::napi_value],
) -> napi::Result<sys::napi_value> {
    // SAFETY: as the caller's.
    unsafe {
        let mut undefined = std::ptr::null_mut();
        check(sys::napi_get_undefined(env, &mut undefined))?;
        let mut result = std::ptr::null_mut();
        check(sys::napi_call_function(
            env,
            undefined,
            function,
            args.len(),
            args.as_ptr(),
            &mut result,
        ))?;
        Ok(result)
    }
}

/// `JSON.parse(text)` in the calling JS context.
fn json_parse(env: &Env, text: &str) -> napi::Result<sys::napi_value> {
    // SAFETY: called on the env's JS thread (napi hands us the env there); same env throughout.
    unsafe {
        let parse = kept_function(env, &JSON_PARSE, || {
            let json: Object = env.get_global()?.get_named_property("JSON")?;
            Ok(json.get_named_property::<Unknown>("parse")?.raw())
        })?;
        let arg = <&str>::to_napi_value(env.raw(), text)?;
        call(env.raw(), parse, &[arg])
    }
}

/// A record's object from its compact JSON text: a fresh copy of the object parsed from
/// this very text on an earlier call when there is one, else `JSON.parse(text)`.
///
/// A text is kept parsed from its second sighting on: reads spread over more records than
/// the list holds then cost a parse and no more (keeping every first parse cost them ≈1 µs).
fn record_value(env: &Env, text: &Arc<str>) -> napi::Result<sys::napi_value> {
    let raw_env = env.raw();
    let key = Arc::as_ptr(text).cast::<u8>() as usize;
    // SAFETY: on the env's JS thread; references are used only with the env they were made in
    // (a new env on this thread starts a new list; the old env's references died with it).
    unsafe {
        let seen = PARSED.with_borrow(|parsed| {
            parsed
                .as_ref()
                .filter(|p| p.env == raw_env)
                .and_then(|p| p.by_text.get(&key).map(|(_, r)| *r))
        });
        let template = match seen {
            Some(Some(reference)) => reference_value(raw_env, reference)?,
            Some(None) => {
                let template = json_parse(env, text)?;
                list_text(raw_env, key, text, Some(new_reference(raw_env, template)?))?;
                template
            }
            // `deploymentArgs` is the one field that can nest (the key appears unescaped only as
            // a key): a shallow copy would share its arrays between callers, so it is parsed each time.
            None if text.contains("\"deploymentArgs\":") => return json_parse(env, text),
            None => {
                list_text(raw_env, key, text, None)?;
                return json_parse(env, text);
            }
        };
        // The kept object itself never leaves: callers get a copy they may change at will.
        let copy = kept_function(env, &COPY, || compile(env, COPY_SOURCE))?;
        call(raw_env, copy, &[template])
    }
}

/// Lists `text` (at `key`) with the reference to its parsed object, if any, starting the
/// list afresh when it is full.
///
/// # Safety
/// On the env's own JS thread, with a reference of that env.
unsafe fn list_text(
    env: sys::napi_env,
    key: usize,
    text: &Arc<str>,
    parsed_ref: Option<sys::napi_ref>,
) -> napi::Result<()> {
    let stale: Vec<sys::napi_ref> = PARSED.with_borrow_mut(|parsed| {
        let parsed = match parsed {
            Some(p) if p.env == env => p,
            _ => parsed.insert(ParsedRecords {
                env,
                by_text: HashMap::new(),
            }),
        };
        let stale = if parsed.by_text.len() >= PARSED_RECORDS && !parsed.by_text.contains_key(&key)
        {
            parsed.by_text.drain().filter_map(|(_, (_, r))| r).collect()
        } else {
            Vec::new()
        };
        parsed.by_text.insert(key, (text.clone(), parsed_ref));
        stale
    });
    // Deleted outside the borrow: a deletion may run finalizers that call back in.
    for reference in stale {
        // SAFETY: references of this env, no longer listed.
        check(unsafe { sys::napi_delete_reference(env, reference) })?;
    }
    Ok(())
}

/// A napi status as a `Result` (a pending JS exception stays pending and surfaces as the call's error).
fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            Status::from(status),
            "a napi call failed".to_string(),
        ))
    }
}

/// A borrowed JSON value converted to JS on return.
struct JsonToJs<'a>(&'a Value);

impl TypeName for JsonToJs<'_> {
    fn type_name() -> &'static str {
        "any"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for JsonToJs<'_> {
    unsafe fn to_napi_value(raw_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let env = Env::from_raw(raw_env);
        // SAFETY: napi's own conversions, same env, on the JS thread.
        unsafe {
            match val.0 {
                Value::Null => Null::to_napi_value(raw_env, Null),
                Value::Bool(b) => bool::to_napi_value(raw_env, *b),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => i64::to_napi_value(raw_env, i),
                    None => f64::to_napi_value(raw_env, n.as_f64().unwrap_or(f64::NAN)),
                },
                Value::String(s) => <&str>::to_napi_value(raw_env, s.as_str()),
                // One JSON.parse in V8 beats a napi call per property (≈1 µs against ≈8 µs
                // for a record, measured in bench/).
                Value::Array(_) | Value::Object(_) => json_parse(&env, &js_json::to_compact(val.0)),
            }
        }
    }
}
