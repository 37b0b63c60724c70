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

use crate::backend::leveldb::{read_copy, LevelDbBackend, OpenMode};
use crate::backend::unified::UnifiedBackend;
use crate::backend::{Backend, BackendKind};
use crate::backup::{create_backup, list_backups, no_progress, CreateOptions, LEVELDB_COPY_DIR};
use crate::chains::ChainMap;
use crate::record::ContractRecord;
use crate::store::{StateStore, StoreConfig};
use crate::time::iso_from_ms;
use crate::{durable, Error, ErrorCode, Result};

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

/// `0x` + the first `bytes` bytes of SHA-256 of `seed`, as lower-case hex: deterministic
/// addresses (20) and hashes (32) for generated data (this sample, the benchmarks).
pub fn fake_hex(seed: &str, bytes: usize) -> String {
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
    write_legacy_files(root, &records, usize::MAX)?;
    // Like the real migration: the LevelDB is backed up, then removed from the live tree.
    let leveldb_dir = root.join("leveldb");
    let leveldb = LevelDbBackend::open(&leveldb_dir, OpenMode::CreateIfMissing)?;
    for (chain_id, batch) in by_chain(&records).into_iter().chain(by_chain(&dev_rows())) {
        leveldb.put_batch(chain_id, &batch)?;
    }
    leveldb.close()?;
    let options = CreateOptions {
        root: root.to_path_buf(),
        kind: "migration".into(),
        label: Some("sample workspace: LevelDB before the move to unified JSON".into()),
        include_unified_history: false,
        ..Default::default()
    };
    let backup = create_backup(&options, &no_progress)?;
    durable::remove_tree(&leveldb_dir)?;
    // Like the real deploy scripts after the migration: a rewrite of bsctestnet.json kept
    // only the contracts of that deploy (FORMATS §3), so the rollback has a file to replace.
    let testnet: Vec<ContractRecord> = records
        .iter()
        .filter(|r| r.chain_id == 97)
        .cloned()
        .collect();
    write_legacy_files(root, &testnet, 3)?;
    let backup_name = backup.path.strip_prefix(root).unwrap_or(&backup.path);
    durable::write_atomic(
        &root.join("README.txt"),
        sample_readme(backup_name).as_bytes(),
    )
}

/// Writes a v1 `deployments/<network>.json` per chain, with at most `limit` contracts each.
fn write_legacy_files(root: &Path, records: &[ContractRecord], limit: usize) -> Result<()> {
    let chains = ChainMap::default();
    let dir = root.join("deployments");
    durable::create_dir_all_durable(&dir)?;
    for (chain_id, list) in by_chain(records) {
        let list = &list[..list.len().min(limit)];
        let contracts: serde_json::Map<String, Value> = list
            .iter()
            .map(|r| {
                let proxy = r.proxy_address.clone().unwrap_or_else(|| r.address.clone());
                (
                    r.contract_name.clone(),
                    json!({"proxy": proxy, "implementation": r.address}),
                )
            })
            .collect();
        let hashes: serde_json::Map<String, Value> = list
            .iter()
            .filter_map(|r| {
                Some((
                    r.contract_name.clone(),
                    json!(r.implementation_hash.clone()?),
                ))
            })
            .collect();
        let network = chains.network_name(chain_id);
        let doc = json!({"network": network, "chainId": chain_id, "deployer": fake_hex("deployer", 20),
            "timestamp": iso_from_ms(BASE_TIMESTAMP), "contracts": contracts, "implementationHashes": hashes});
        let text = crate::js_json::to_pretty(&doc);
        durable::write_atomic(&dir.join(format!("{network}.json")), text.as_bytes())?;
    }
    Ok(())
}

fn sample_readme(backup: &Path) -> String {
    format!(
        "Sample LookCoin workspace generated by lookcoin-state on {}.\n\
         deployments/unified/: live unified JSON (26 contracts on 5 chains).\n\
         {}/leveldb/current/: the LevelDB to roll back to (28 records).\n",
        iso_from_ms(crate::time::now_ms()),
        backup.display()
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
        let records = read_backup_leveldb(&dir)?;
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

/// The `leveldb/current` of the newest complete backup that has one.
fn newest_backup_leveldb(root: &Path) -> Result<Option<PathBuf>> {
    Ok(list_backups(root)?
        .into_iter()
        .filter(|b| b.complete)
        .map(|b| b.path.join(LEVELDB_COPY_DIR))
        .find(|dir| dir.join("CURRENT").is_file()))
}

/// Every readable record of the LevelDB copy in a backup, read without touching it.
fn read_backup_leveldb(dir: &Path) -> Result<Vec<ContractRecord>> {
    read_copy(dir)?.into_iter().map(|e| e.record).collect()
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
        assert!(
            !root.join("leveldb").exists(),
            "migrated away, as in the real repository"
        );
        let backup = &list_backups(&root).unwrap()[0];
        let report = crate::backup::verify_backup(&backup.path, true, &no_progress).unwrap();
        assert_eq!(report.status, crate::backup::VerifyStatus::Passed);
        assert_eq!(report.rollback_ready, Some(true));
        let err = create_sample_workspace(&root).unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
