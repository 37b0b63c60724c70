//! `BACKUP_MANIFEST.json`: the commit point of a backup, read in both the old tooling's
//! format (version "1.0.0", FORMATS §6.2) and ours (format version 2).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::backend::RawEntry;
use crate::chains::DEV_CHAIN_ID;
use crate::time::ms_from_iso;

/// The manifest's file name, at the backup root.
pub const MANIFEST_FILE: &str = "BACKUP_MANIFEST.json";

/// The manifest format this crate writes. The old TypeScript tooling's manifests count as 1.
pub const FORMAT_VERSION: u64 = 2;

/// Fields the old verifier already required; a manifest without one is unusable.
const REQUIRED: [&str; 6] = [
    "timestamp",
    "backupId",
    "version",
    "totalFiles",
    "totalSize",
    "categories",
];

/// What verification, listing and restore rely on in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupManifest {
    /// `backupId`, normally the folder name.
    pub backup_id: String,
    /// `timestamp` as written.
    pub timestamp: String,
    /// `timestamp` in epoch milliseconds, when it parses.
    pub timestamp_ms: Option<u64>,
    /// 1 for the old tooling, [`FORMAT_VERSION`] for ours.
    pub format_version: u64,
    /// `totalFiles`.
    pub total_files: u64,
    /// `totalSize` in bytes.
    pub total_size: u64,
    /// `checksums`: path → lower-case hex SHA-256.
    pub checksums: BTreeMap<String, String>,
    /// Per-category counts; only trusted from format 2 (the old ones are wrong, FORMATS §6.2).
    pub categories: Vec<CategoryCount>,
    /// Record counts of `leveldb/current` when the backup was made (format 2).
    pub records: Option<RecordCounts>,
    /// The incident a rollback backup belongs to (format 2).
    pub incident_id: Option<String>,
}

/// Files and bytes of one backup category and the folder it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCount {
    /// Category name as the manifest spells it (`leveldb`, `legacyJson`, `unifiedJson`).
    pub name: String,
    /// Its folder in the backup (`leveldb`, `legacy-json`, `unified-json`).
    pub directory: String,
    /// Number of files.
    pub files: u64,
    /// Total bytes.
    pub size_bytes: u64,
}

/// How many records a LevelDB holds, per chain, with dev chains apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordCounts {
    /// Every key.
    pub total: u64,
    /// Keys whose chain is not a dev chain.
    pub production: u64,
    /// Keys on the dev chain 31337.
    pub dev: u64,
    /// Keys per chain id.
    pub per_chain: BTreeMap<u64, u64>,
    /// Keys whose value does not decode as a record.
    pub undecodable: u64,
    /// Order-free digest of the set of keys (wrapping sum of each key's truncated SHA-256), so
    /// two databases with equal counts can be shown to hold the same keys without listing them.
    /// `None` in manifests written before it existed.
    pub keys_digest: Option<u128>,
}

impl RecordCounts {
    /// Counts the entries of a LevelDB scan.
    pub fn of(entries: &[RawEntry]) -> Self {
        let mut counts = RecordCounts::default();
        entries.iter().for_each(|e| counts.add(e));
        counts
    }

    /// Counts one more entry.
    pub fn add(&mut self, entry: &RawEntry) {
        self.total += 1;
        let key = Sha256::digest(entry.location.as_bytes());
        let key = u128::from_be_bytes(key[..16].try_into().expect("a SHA-256 has 32 bytes"));
        self.keys_digest = Some(self.keys_digest.unwrap_or(0).wrapping_add(key));
        if entry.record.is_err() {
            self.undecodable += 1;
        }
        let chain = entry.expected_chain.unwrap_or(0);
        *self.per_chain.entry(chain).or_default() += 1;
        if chain == DEV_CHAIN_ID {
            self.dev += 1;
        } else {
            self.production += 1;
        }
    }

    /// Counts a LevelDB folder's entries from a scratch copy, holding none of them.
    pub fn of_leveldb_copy(dir: &std::path::Path) -> crate::Result<Self> {
        let mut counts = RecordCounts::default();
        crate::backend::leveldb::visit_copy(dir, &mut |e| counts.add(&e))?;
        Ok(counts)
    }

    /// `{total, production, dev, undecodable, perChain: {"56": 8, …}}`.
    pub fn to_json(&self) -> Value {
        let per_chain: Map<String, Value> = self
            .per_chain
            .iter()
            .map(|(chain, n)| (chain.to_string(), json!(n)))
            .collect();
        json!({"total": self.total, "production": self.production, "dev": self.dev,
               "undecodable": self.undecodable, "perChain": per_chain,
               "keysDigest": self.keys_digest.map(|d| format!("{d:032x}"))})
    }

    fn from_json(value: &Value) -> Option<Self> {
        let num = |k: &str| value.get(k).and_then(Value::as_u64);
        let per_chain = value
            .get("perChain")?
            .as_object()?
            .iter()
            .map(|(k, v)| Some((k.parse().ok()?, v.as_u64()?)))
            .collect::<Option<BTreeMap<u64, u64>>>()?;
        Some(RecordCounts {
            total: num("total")?,
            production: num("production")?,
            dev: num("dev")?,
            undecodable: num("undecodable").unwrap_or(0),
            per_chain,
            keys_digest: value
                .get("keysDigest")
                .and_then(Value::as_str)
                .and_then(|hex| u128::from_str_radix(hex, 16).ok()),
        })
    }
}

impl BackupManifest {
    /// Parses a manifest; the error says what is wrong, for the verification report.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value = crate::js_json::parse(text).map_err(|e| format!("not valid JSON ({e})"))?;
        let obj = value
            .as_object()
            .ok_or_else(|| "not a JSON object".to_string())?;
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|k| !obj.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing field(s): {}", missing.join(", ")));
        }
        let text_of = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let num_of = |k: &str| obj.get(k).and_then(Value::as_u64);
        let timestamp = text_of("timestamp").ok_or("timestamp is not a string")?;
        let format_version = num_of("formatVersion").unwrap_or(1);
        Ok(BackupManifest {
            backup_id: text_of("backupId").ok_or("backupId is not a string")?,
            timestamp_ms: ms_from_iso(&timestamp),
            timestamp,
            format_version,
            total_files: num_of("totalFiles").ok_or("totalFiles is not a count")?,
            total_size: num_of("totalSize").ok_or("totalSize is not a count")?,
            checksums: checksums(obj.get("checksums"))?,
            categories: if format_version >= 2 {
                categories(&obj["categories"])?
            } else {
                Vec::new()
            },
            records: obj.get("records").and_then(RecordCounts::from_json),
            incident_id: text_of("incidentId"),
        })
    }
}

fn checksums(value: Option<&Value>) -> Result<BTreeMap<String, String>, String> {
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let map = value.as_object().ok_or("checksums is not an object")?;
    map.iter()
        .map(|(path, hash)| match hash.as_str() {
            Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok((path.clone(), h.to_ascii_lowercase()))
            }
            _ => Err(format!("checksums[{path:?}] is not a 64-digit hex hash")),
        })
        .collect()
}

fn categories(value: &Value) -> Result<Vec<CategoryCount>, String> {
    let map = value.as_object().ok_or("categories is not an object")?;
    map.iter()
        .map(|(name, c)| {
            category(name, c)
                .ok_or_else(|| format!("categories.{name} lacks directory, files or sizeBytes"))
        })
        .collect()
}

fn category(name: &str, c: &Value) -> Option<CategoryCount> {
    let num = |k: &str| c.get(k).and_then(Value::as_u64);
    Some(CategoryCount {
        name: name.to_string(),
        directory: c.get("directory")?.as_str()?.to_string(),
        files: num("files")?,
        size_bytes: num("sizeBytes")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_manifest_parses_as_format_1_and_its_categories_are_not_trusted() {
        let text = r#"{"timestamp":"2025-08-13T11:26:18.517Z","backupId":"migration-x","version":"1.0.0",
            "totalFiles":112,"totalSize":5,"categories":{"leveldb":{"files":0}},
            "checksums":{"a/b.json":"8FEF7AF2AA73F711132833F7F4F167E292F27C6A5566495DECBE234066F1E97F"}}"#;
        let m = BackupManifest::parse(text).unwrap();
        assert_eq!(m.format_version, 1);
        assert!(m.categories.is_empty());
        assert_eq!(m.timestamp_ms, Some(1755084378517));
        assert!(m.checksums["a/b.json"].starts_with("8fef"));
    }

    #[test]
    fn garbled_or_incomplete_manifests_say_what_is_wrong() {
        assert!(BackupManifest::parse("{\"timestamp\":")
            .unwrap_err()
            .contains("not valid JSON"));
        let err = BackupManifest::parse(r#"{"timestamp":"x","backupId":"y"}"#).unwrap_err();
        assert!(
            err.contains("version, totalFiles, totalSize, categories"),
            "{err}"
        );
        let bad_hash = r#"{"timestamp":"x","backupId":"y","version":"2","totalFiles":1,"totalSize":1,
            "categories":{},"checksums":{"f":"zz"}}"#;
        assert!(BackupManifest::parse(bad_hash)
            .unwrap_err()
            .contains("checksums"));
    }
}
