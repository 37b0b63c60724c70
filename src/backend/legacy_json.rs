//! Legacy v1 JSON backend: `<root>/deployments/<network>.json` (FORMATS §3), read-only.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Backend, BackendKind, RawEntry};
use crate::chains::ChainMap;
use crate::durable;
use crate::js_json;
use crate::record::ContractRecord;
use crate::time::ms_from_iso;
use crate::unified::text;
use crate::{Error, ErrorCode, Result};

/// The legacy JSON backend.
pub struct LegacyJsonBackend {
    dir: PathBuf,
    chains: ChainMap,
}

impl LegacyJsonBackend {
    /// A read-only view of `dir` (usually `<root>/deployments`).
    pub fn open(dir: &Path, chains: ChainMap) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::new(
                ErrorCode::BackendUnavailable,
                format!(
                    "{} does not exist; the json backend has nothing to read",
                    dir.display()
                ),
            )
            .with_path(dir));
        }
        Ok(LegacyJsonBackend {
            dir: dir.to_path_buf(),
            chains,
        })
    }

    /// v1 files with the chain their name maps to. `config-*` and `enhanced-*` are other
    /// formats of the same chains (the old reader counted them twice).
    fn files(&self) -> Result<Vec<(PathBuf, Option<u64>)>> {
        let entries = fs::read_dir(&self.dir).map_err(|e| Error::read_io(&self.dir, &e))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::read_io(&self.dir, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(network) = name.strip_suffix(".json") else {
                continue;
            };
            if network.starts_with("config-")
                || network.starts_with("enhanced-")
                || network.contains('.')
            {
                continue;
            }
            if entry.path().is_file() {
                files.push((entry.path(), self.chains.chain_id(network)));
            }
        }
        files.sort();
        Ok(files)
    }

    fn read_file(&self, path: &Path) -> Result<Option<Map<String, Value>>> {
        match durable::read_regular(path) {
            Ok(bytes) => parse_document(path, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::read_io(path, &e)),
        }
    }

    fn chain_doc(&self, chain_id: u64) -> Result<Option<Map<String, Value>>> {
        let path = self
            .dir
            .join(format!("{}.json", self.chains.network_name(chain_id)));
        let doc = self.read_file(&path)?;
        if let Some(claimed) = doc.as_ref().and_then(|d| d.get("chainId")?.as_u64()) {
            if claimed != chain_id {
                return Err(Error::new(
                    ErrorCode::Corrupt,
                    format!(
                        "{} claims chainId {claimed}, not {chain_id}",
                        path.display()
                    ),
                )
                .with_path(&path));
            }
        }
        Ok(doc)
    }
}

/// Parses the bytes of the v1 file at `path`: anything but a UTF-8 JSON object with a numeric `chainId` is `STATE_CORRUPT`.
pub fn parse_document(path: &Path, bytes: &[u8]) -> Result<Map<String, Value>> {
    let corrupt = |why: String| {
        Error::new(
            ErrorCode::Corrupt,
            format!("{} is not a v1 deployment file: {why}", path.display()),
        )
        .with_path(path)
    };
    // Not UTF-8 is bad content like bad JSON, not an unreadable backend (the unified reader agrees).
    let text = std::str::from_utf8(bytes).map_err(|e| {
        corrupt(format!("not UTF-8 text ({e})")).with_offset(e.valid_up_to() as u64)
    })?;
    match js_json::parse(text) {
        // A `contracts` that is not an object would read as "no contracts": a redeploy.
        Ok(Value::Object(doc))
            if doc.get("chainId").and_then(Value::as_u64).is_some()
                && doc.get("contracts").is_none_or(Value::is_object) =>
        {
            Ok(doc)
        }
        Ok(_) => Err(corrupt(
            "no numeric chainId, or contracts is not an object".into(),
        )),
        Err(e) => Err(corrupt(e.to_string()).with_offset(e.line() as u64)),
    }
}

/// The records of one v1 document, in file order.
pub fn records_of(doc: &Map<String, Value>) -> Vec<ContractRecord> {
    let Some(contracts) = doc.get("contracts").and_then(Value::as_object) else {
        return Vec::new();
    };
    contracts
        .keys()
        .filter_map(|name| record_of(doc, name))
        .collect()
}

/// One v1 contract as a record: the implementation is the address, the proxy kept apart.
fn record_of(doc: &Map<String, Value>, name: &str) -> Option<ContractRecord> {
    let entry = doc.get("contracts")?.get(name)?;
    let proxy = text(entry.get("proxy"));
    let address = text(entry.get("implementation")).or(proxy)?;
    let hash = text(doc.get("implementationHashes").and_then(|h| h.get(name)));
    let timestamp = ["lastDeployed", "timestamp"]
        .iter()
        .find_map(|f| match doc.get(*f)? {
            Value::String(s) => ms_from_iso(s),
            other => other.as_u64(),
        })
        .unwrap_or(0);
    Some(ContractRecord {
        contract_name: name.to_string(),
        chain_id: doc.get("chainId")?.as_u64()?,
        network_name: text(doc.get("network")).unwrap_or("").to_string(),
        address: address.to_string(),
        factory_byte_code_hash: hash.unwrap_or("").to_string(),
        implementation_hash: hash.map(str::to_string),
        proxy_address: proxy.filter(|p| *p != address).map(str::to_string),
        // v1 files never stored arguments; none are invented.
        deployment_args: None,
        timestamp,
    })
}

impl Backend for LegacyJsonBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Json
    }

    fn location(&self) -> PathBuf {
        self.dir.clone()
    }

    fn get(&self, chain_id: u64, name: &str) -> Result<Option<ContractRecord>> {
        Ok(self.chain_doc(chain_id)?.and_then(|d| record_of(&d, name)))
    }

    fn put_batch(&self, _chain_id: u64, _records: &[ContractRecord]) -> Result<()> {
        Err(read_only(&self.dir))
    }

    fn list_chain(&self, chain_id: u64) -> Result<Vec<ContractRecord>> {
        Ok(self
            .chain_doc(chain_id)?
            .map(|d| records_of(&d))
            .unwrap_or_default())
    }

    fn list_all(&self) -> Result<Vec<ContractRecord>> {
        let mut out = Vec::new();
        for (_, chain) in self.files()? {
            if let Some(chain_id) = chain {
                out.extend(self.list_chain(chain_id)?);
            }
        }
        Ok(out)
    }

    fn delete(&self, _chain_id: u64, _name: &str) -> Result<bool> {
        Err(read_only(&self.dir))
    }

    fn scan_raw(&self) -> Result<Vec<RawEntry>> {
        let mut out = Vec::new();
        for (path, chain) in self.files()? {
            let shown = path.display().to_string();
            match self.read_file(&path) {
                Ok(Some(doc)) => out.extend(records_of(&doc).into_iter().map(|record| RawEntry {
                    location: format!("{shown}#/contracts/{}", record.contract_name),
                    expected_chain: chain,
                    record: Ok(record),
                })),
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
        for (path, _) in self.files()? {
            self.read_file(&path)?;
        }
        Ok(())
    }

    fn close(&self) -> Result<()> {
        Ok(())
    }
}

fn read_only(dir: &Path) -> Error {
    Error::new(
        ErrorCode::WriteFailed,
        format!(
            "the json backend ({}) is read-only in lookcoin-state; write through the leveldb or unified-json backend",
            dir.display()
        ),
    )
    .with_path(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_utf8_is_corrupt_like_bad_json() {
        // Seen while writing the legacy_json fuzz target: the read used to fail as
        // BACKEND_UNAVAILABLE, which says "the store is down" instead of "this file is damaged".
        let dir = std::env::temp_dir().join(format!("lcs-legacy-utf8-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("bscmainnet.json"),
            b"{\"chainId\":56,\"network\":\"bsc\xff\"}",
        )
        .unwrap();
        let backend = LegacyJsonBackend::open(&dir, ChainMap::default()).unwrap();
        let err = backend.list_chain(56).unwrap_err();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(err.code, ErrorCode::Corrupt, "{err}");
        assert!(err.message.contains("not UTF-8"), "{}", err.message);
        assert_eq!(err.details.offset, Some(28));
    }

    #[test]
    fn documents_need_an_object_with_a_numeric_chain_id() {
        let path = Path::new("x.json");
        for bad in [&b"[]"[..], b"{\"chainId\":\"56\"}", b"{\"chainId\":56", b""] {
            assert_eq!(
                parse_document(path, bad).unwrap_err().code,
                ErrorCode::Corrupt
            );
        }
        let doc = parse_document(path, br#"{"chainId":56,"contracts":{"A":{"proxy":"0x1"}}}"#);
        assert_eq!(records_of(&doc.unwrap())[0].address, "0x1");
    }
}
