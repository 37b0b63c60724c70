//! A sample workspace shaped like the LookCoin one, built with our own writers, and a
//! summary of what a workspace holds (the README's demo).
//!
//! 26 contracts on 5 chains in unified JSON files, and a migration backup holding a
//! LevelDB copy of the same 26 contracts plus 2 dev-chain rows, like the real data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::backend::leveldb::{LevelDbBackend, OpenMode};
use crate::backend::unified::UnifiedBackend;
use crate::backend::{Backend, BackendKind};
use crate::chains::ChainMap;
use crate::record::ContractRecord;
use crate::store::{StateStore, StoreConfig};
use crate::time::iso_from_ms;
use crate::{durable, Error, ErrorCode, Result};

/// The stamp of the sample's migration backup folder.
pub const SAMPLE_BACKUP: &str = "backups/migration-2025-08-13T11-26-18-516Z";
const BASE_TIMESTAMP: u64 = 1_754_000_000_000;

const FULL_SET: [&str; 8] = [
    "LookCoin",
    "SupplyOracle",
    "LayerZeroModule",
    "CelerIMModule",
    "CrossChainRouter",
    "FeeManager",
    "SecurityManager",
    "ProtocolRegistry",
];

/// (chain id, network name as the deploy scripts spelled it, contracts).
fn layout() -> Vec<(u64, &'static str, Vec<&'static str>)> {
    let mut testnet = FULL_SET.to_vec();
    testnet.push("HyperlaneModule");
    vec![
        (56, "bsc", FULL_SET.to_vec()),
        (97, "bscTestnet", testnet),
        (
            84532,
            "baseSepolia",
            vec!["LookCoin", "SupplyOracle", "LayerZeroModule"],
        ),
        (
            11155420,
            "opSepolia",
            vec!["LookCoin", "SupplyOracle", "LayerZeroModule"],
        ),
        (
            23295,
            "sapphiretestnet",
            vec!["LookCoin", "SupplyOracle", "CelerIMModule"],
        ),
    ]
}

/// `0x` + the first `bytes` bytes of SHA-256 of `seed`, as lower-case hex.
fn fake_hex(seed: &str, bytes: usize) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let hex: String = digest
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("0x{hex}")
}

/// The records of the sample, deterministic so the demo prints the same every time.
pub fn sample_records() -> Vec<ContractRecord> {
    let mut records = Vec::new();
    for (chain_id, network, names) in layout() {
        for (i, name) in names.into_iter().enumerate() {
            let hash = fake_hex(&format!("bytecode:{name}"), 32);
            let seed = format!("{chain_id}:{name}");
            records.push(ContractRecord {
                contract_name: name.to_string(),
                chain_id,
                network_name: network.to_string(),
                address: fake_hex(&format!("impl:{seed}"), 20),
                factory_byte_code_hash: hash.clone(),
                implementation_hash: Some(hash),
                proxy_address: Some(fake_hex(&format!("proxy:{seed}"), 20)),
                deployment_args: (name == "SecurityManager").then(|| {
                    vec![
                        json!("0x0beC539Fd761caE579802072d9eE7fde86ED05A3"),
                        json!("20000000000000000000000000"),
                    ]
                }),
                timestamp: BASE_TIMESTAMP + (chain_id % 1000) * 60_000 + i as u64 * 1000,
            });
        }
    }
    records
}

/// The two dev-chain rows the real LevelDB holds (invalid on purpose, as in the real data).
fn dev_rows() -> Vec<ContractRecord> {
    ["LookCoin", "SupplyOracle"]
        .iter()
        .enumerate()
        .map(|(i, name)| ContractRecord {
            contract_name: name.to_string(),
            chain_id: 31337,
            network_name: "test".into(),
            address: format!("0x{}", "1234567890abcdef".repeat(3))[..46].to_string(),
            factory_byte_code_hash: String::new(),
            implementation_hash: None,
            proxy_address: None,
            deployment_args: None,
            timestamp: BASE_TIMESTAMP + i as u64,
        })
        .collect()
}

fn by_chain(records: &[ContractRecord]) -> BTreeMap<u64, Vec<ContractRecord>> {
    let mut out: BTreeMap<u64, Vec<ContractRecord>> = BTreeMap::new();
    for r in records {
        out.entry(r.chain_id).or_default().push(r.clone());
    }
    out
}

/// Builds the sample workspace in `root`, which must not exist or be empty.
pub fn create_sample_workspace(root: &Path) -> Result<()> {
    if root.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            format!(
                "{} is not empty; the sample workspace needs an empty or new folder",
                root.display()
            ),
        )
        .with_path(root));
    }
    let records = sample_records();
    let unified = UnifiedBackend::open(
        &root.join("deployments/unified"),
        ChainMap::default(),
        Duration::from_secs(5),
    )?;
    for (chain_id, batch) in by_chain(&records) {
        unified.put_batch(chain_id, &batch)?;
    }
    let leveldb_dir = root.join(SAMPLE_BACKUP).join("leveldb/current");
    let leveldb = LevelDbBackend::open(&leveldb_dir, OpenMode::CreateIfMissing)?;
    for (chain_id, batch) in by_chain(&records).into_iter().chain(by_chain(&dev_rows())) {
        leveldb.put_batch(chain_id, &batch)?;
    }
    leveldb.close()?;
    durable::write_atomic(&root.join("README.txt"), sample_readme().as_bytes())
}

fn sample_readme() -> String {
    format!(
        "Sample LookCoin workspace generated by lookcoin-state on {}.\n\
         deployments/unified/: live unified JSON (26 contracts on 5 chains).\n\
         {SAMPLE_BACKUP}/leveldb/current/: the LevelDB to roll back to (28 records).\n",
        iso_from_ms(crate::time::now_ms())
    )
}

/// What a workspace holds, per backend and chain, for the demo and the CLI.
pub fn describe_workspace(root: &Path) -> Result<Value> {
    let mut config = StoreConfig::new(root);
    config.backend = Some(BackendKind::UnifiedJson);
    let store = StateStore::with_env(config, &|_| None)?;
    store.initialize()?;
    let unified = store.query_contracts(&Default::default())?;
    let mut out = json!({"root": root.display().to_string(), "unified": chains_json(&unified)});
    if let Some(dir) = newest_backup_leveldb(root)? {
        let records = read_leveldb_copy(&dir)?;
        out["backupLeveldb"] =
            json!({"path": dir.display().to_string(), "chains": chains_json(&records)});
    }
    Ok(out)
}

fn chains_json(records: &[ContractRecord]) -> Value {
    let chains: Vec<Value> = by_chain(records)
        .into_iter()
        .map(|(chain_id, list)| {
            json!({"chainId": chain_id, "count": list.len(),
                   "contracts": list.iter().map(|r| json!({"name": r.contract_name, "address": r.address})).collect::<Vec<_>>()})
        })
        .collect();
    json!({"total": records.len(), "chains": chains})
}

/// The `leveldb/current` of the newest `backups/*` folder that has one.
fn newest_backup_leveldb(root: &Path) -> Result<Option<PathBuf>> {
    let backups = root.join("backups");
    let Ok(entries) = std::fs::read_dir(&backups) else {
        return Ok(None);
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path().join("leveldb/current")))
        .filter(|p| p.join("CURRENT").is_file())
        .collect();
    // Folder names end in a sortable UTC stamp; compare that, not the kind prefix.
    dirs.sort_by_key(|p| stamp_of(p));
    Ok(dirs.pop())
}

fn stamp_of(leveldb_current: &Path) -> String {
    let name = leveldb_current
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.find(|c: char| c.is_ascii_digit())
        .map(|i| name[i..].to_string())
        .unwrap_or(name)
}

/// Reads every record of a LevelDB directory without touching it: opening rewrites LOG files,
/// so a temporary copy is opened instead.
pub fn read_leveldb_copy(dir: &Path) -> Result<Vec<ContractRecord>> {
    let copy = std::env::temp_dir().join(format!(
        "lookcoin-state-read-{}-{}",
        std::process::id(),
        crate::time::now_ms()
    ));
    copy_files(dir, &copy)?;
    let result = LevelDbBackend::open(&copy, OpenMode::MustExist).and_then(|db| {
        let records = db.list_all();
        db.close()?;
        records
    });
    let _ = std::fs::remove_dir_all(&copy);
    result
}

/// Copies the data files of a LevelDB directory (not LOCK or LOG files).
fn copy_files(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::write_io(to, &e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::read_io(from, &e))? {
        let entry = entry.map_err(|e| Error::read_io(from, &e))?;
        let name = entry.file_name();
        if matches!(name.to_str(), Some("LOCK" | "LOG" | "LOG.old")) || !entry.path().is_file() {
            continue;
        }
        std::fs::copy(entry.path(), to.join(&name))
            .map_err(|e| Error::read_io(entry.path(), &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_has_26_contracts_on_5_chains_and_a_28_record_backup() {
        let root = std::env::temp_dir().join(format!("lcs-sample-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        create_sample_workspace(&root).unwrap();
        let summary = describe_workspace(&root).unwrap();
        assert_eq!(summary["unified"]["total"], 26);
        let counts: Vec<_> = summary["unified"]["chains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["chainId"].as_u64().unwrap(), c["count"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            counts,
            vec![(56, 8), (97, 9), (23295, 3), (84532, 3), (11155420, 3)]
        );
        assert_eq!(summary["backupLeveldb"]["chains"]["total"], 28);
        let err = create_sample_workspace(&root).unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
