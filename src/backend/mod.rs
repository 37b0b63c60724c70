//! The storage backends behind one trait: LevelDB, unified JSON and legacy v1 JSON.

pub mod legacy_json;
pub mod leveldb;
mod leveldb_env;
pub mod unified;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::record::ContractRecord;
use crate::{Error, ErrorCode, Result};

/// Which backend a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// rusty-leveldb on `<root>/leveldb`.
    LevelDb,
    /// `<root>/deployments/unified/<network>.unified.json`.
    UnifiedJson,
    /// Legacy v1 `<root>/deployments/<network>.json`, read-only.
    Json,
}

impl BackendKind {
    /// The name `getBackendType` returns (the old system's names).
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::LevelDb => "leveldb",
            BackendKind::UnifiedJson => "unified-json",
            BackendKind::Json => "json",
        }
    }

    /// Parses a backend name as callers and `STATE_BACKEND` spell it.
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "leveldb" => Ok(BackendKind::LevelDb),
            "unified" | "unified-json" => Ok(BackendKind::UnifiedJson),
            "json" => Ok(BackendKind::Json),
            other => Err(Error::new(
                ErrorCode::ValidationFailed,
                format!("unknown backend {other:?}; use leveldb, unified-json or json"),
            )),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored entry as found on disk, before any judgement: used by integrity checks.
#[derive(Debug)]
pub struct RawEntry {
    /// Where it lives: a LevelDB key, or `file#/json/pointer`.
    pub location: String,
    /// The chain the entry's key or file says it belongs to, when known.
    pub expected_chain: Option<u64>,
    /// The decoded record, or why it could not be decoded.
    pub record: Result<ContractRecord>,
}

/// A visitor of stored entries. `Send`: a backend may run it on a thread of its own, beside
/// the one reading, so what it does per entry adds no time to the read.
pub type Visitor<'a> = dyn FnMut(RawEntry) + Send + 'a;

/// What every backend does. Errors are never turned into "not found".
pub trait Backend: Send + Sync {
    /// Which backend this is.
    fn kind(&self) -> BackendKind;
    /// The directory the backend stores in.
    fn location(&self) -> PathBuf;
    /// One record, `None` only when it does not exist.
    fn get(&self, chain_id: u64, name: &str) -> Result<Option<ContractRecord>>;
    /// `get` as the record's compact JSON text (what the bindings hand out).
    fn get_json(&self, chain_id: u64, name: &str) -> Result<Option<Arc<str>>> {
        Ok(self.get(chain_id, name)?.map(|r| record_text(&r)))
    }
    /// `get_json` answered from memory (at most a `stat`); `None` when that would need a read or would fail (then `get_json` says why).
    fn get_json_if_cached(&self, _chain_id: u64, _name: &str) -> Option<Option<Arc<str>>> {
        None
    }
    /// Writes records of one chain as one atomic, durable unit.
    fn put_batch(&self, chain_id: u64, records: &[ContractRecord]) -> Result<()>;
    /// Every record of one chain.
    fn list_chain(&self, chain_id: u64) -> Result<Vec<ContractRecord>>;
    /// Every record of every chain.
    fn list_all(&self) -> Result<Vec<ContractRecord>>;
    /// Removes a record; `true` only when it existed.
    fn delete(&self, chain_id: u64, name: &str) -> Result<bool>;
    /// Every entry as stored, decodable or not.
    fn scan_raw(&self) -> Result<Vec<RawEntry>>;
    /// (hits, misses) of the backend's read cache, for backends that have one.
    fn cache_stats(&self) -> Option<(u64, u64)> {
        None
    }
    /// Hands every entry to `visit` in key order; a backend that can stream keeps none of them.
    fn visit_raw(&self, visit: &mut Visitor<'_>) -> Result<()> {
        self.scan_raw()?.into_iter().for_each(visit);
        Ok(())
    }
    /// Proves the backend can be read right now.
    fn probe(&self) -> Result<()>;
    /// Releases files and locks; later calls fail with `BACKEND_UNAVAILABLE`.
    fn close(&self) -> Result<()>;
}

/// A record as compact JSON text, the form `get_json` returns.
pub(crate) fn record_text(record: &ContractRecord) -> Arc<str> {
    Arc::from(record.to_json_text())
}

/// The error of a call on a closed backend.
pub(crate) fn closed_error(kind: BackendKind) -> Error {
    Error::new(
        ErrorCode::BackendUnavailable,
        format!("the {kind} backend is closed; call initialize() again"),
    )
}
