//! The unified JSON backend and the store on the real LookCoin workspace.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lookcoin_state::backend::BackendKind;
use lookcoin_state::record::ContractRecord;
use lookcoin_state::store::{StateStore, StoreConfig, EMERGENCY_STOP_FILE};
use lookcoin_state::unified::UnifiedFile;
use lookcoin_state::ErrorCode;

fn workspace_copy(fx: &Path, name: &str) -> PathBuf {
    let root = common::temp_dir(name);
    common::copy_tree(
        &fx.join("lookcoin-workspace/deployments"),
        &root.join("deployments"),
    );
    root
}

fn unified_store(root: &Path) -> StateStore {
    let mut config = StoreConfig::new(root);
    config.backend = Some(BackendKind::UnifiedJson);
    let store = StateStore::with_env(config, &|_| None).unwrap();
    store.initialize().unwrap();
    store
}

fn new_record(name: &str, n: u8) -> ContractRecord {
    ContractRecord {
        contract_name: name.into(),
        chain_id: 97,
        network_name: "bsctestnet".into(),
        address: format!("0x{}", format!("{n:02x}").repeat(20)),
        factory_byte_code_hash: format!("0x{}", format!("{n:02x}").repeat(32)),
        implementation_hash: Some(format!("0x{}", format!("{n:02x}").repeat(32))),
        proxy_address: None,
        deployment_args: Some(vec!["20000000000000000000000000".into()]),
        timestamp: 1_764_000_000_000 + u64::from(n),
    }
}

#[test]
fn per_file_counts_match_the_old_reader() {
    let fx = fixtures_or_skip!();
    let dir = fx.join("lookcoin-workspace/deployments/unified");
    for (network, count) in [
        ("basesepolia", 3),
        ("bscmainnet", 9),
        ("bsctestnet", 10),
        ("optimismsepolia", 3),
        ("sapphiremainnet", 3),
        ("sapphiretestnet", 3),
    ] {
        let path = dir.join(format!("{network}.unified.json"));
        let file = UnifiedFile::parse(&path, &fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(file.records().len(), count, "{network}");
    }
}

#[test]
fn store_reads_chains_and_refuses_the_mislabelled_sapphire_file() {
    let fx = fixtures_or_skip!();
    let root = workspace_copy(&fx, "chains");
    let store = unified_store(&root);
    assert_eq!(store.get_all_contracts(97).unwrap().len(), 10);
    assert_eq!(store.get_all_contracts(23295).unwrap().len(), 3);
    let lookcoin = store.get_contract(97, "LookCoin").unwrap().unwrap();
    assert_eq!(
        lookcoin.address,
        "0x8335E3cF6f1ac39841deBA4033a93c81ab738443"
    );
    assert_eq!(
        lookcoin.timestamp, 1_755_175_455_261,
        "from extended_LookCoin, not now"
    );
    // sapphiremainnet.unified.json holds testnet (23295) data: mainnet must not see it as deployed.
    let err = store.get_contract(23294, "LookCoin").unwrap_err();
    assert_eq!(err.code, ErrorCode::Corrupt);
    assert!(err
        .details
        .path
        .unwrap()
        .ends_with("sapphiremainnet.unified.json"));
}

#[test]
fn corrupt_json_is_an_error_with_the_file_name_and_nothing_changes() {
    let fx = fixtures_or_skip!();
    let root = workspace_copy(&fx, "corrupt");
    let path = root.join("deployments/unified/bsctestnet.unified.json");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, &text[..text.len() / 2]).unwrap();
    let before = common::snapshot(&root);
    let store = unified_store(&root);
    let err = store.get_contract(97, "LookCoin").unwrap_err();
    assert_eq!(err.code, ErrorCode::Corrupt);
    assert!(
        err.message.contains("bsctestnet.unified.json"),
        "{}",
        err.message
    );
    let err = store
        .put_contract(97, new_record("NewThing", 1))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Corrupt);
    assert_eq!(common::snapshot(&root), before);
}

#[test]
fn eight_concurrent_puts_on_one_chain_keep_all_eight() {
    let fx = fixtures_or_skip!();
    let root = workspace_copy(&fx, "concurrent");
    let store = Arc::new(unified_store(&root));
    let version_before = unified_version(&root);
    let threads: Vec<_> = (1..=8u8)
        .map(|n| {
            let store = store.clone();
            std::thread::spawn(move || {
                store.put_contract(97, new_record(&format!("Parallel{n}"), n))
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    for n in 1..=8u8 {
        assert_eq!(
            store.get_contract(97, &format!("Parallel{n}")).unwrap(),
            Some(new_record(&format!("Parallel{n}"), n))
        );
    }
    assert_eq!(store.get_all_contracts(97).unwrap().len(), 18);
    assert_eq!(unified_version(&root), version_before + 8);
    let leftovers: Vec<_> = fs::read_dir(root.join("deployments/unified"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn writes_preserve_other_sections_and_untouched_files() {
    let fx = fixtures_or_skip!();
    let root = workspace_copy(&fx, "preserve");
    let store = unified_store(&root);
    let before = common::snapshot(&root);
    let mut record = store.get_contract(97, "FeeManager").unwrap().unwrap();
    record.address = format!("0x{}", "ab".repeat(20));
    store.put_contract(97, record.clone()).unwrap();
    let after = common::snapshot(&root);
    assert_eq!(before.len(), after.len(), "no file appeared or vanished");
    let changed: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0.clone())
        .collect();
    assert_eq!(
        changed,
        vec![root.join("deployments/unified/bsctestnet.unified.json")]
    );
    let path = root.join("deployments/unified/bsctestnet.unified.json");
    let file = UnifiedFile::parse(&path, &fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(file.file_version(), Some(5));
    assert!(file.as_map()["configuration"].is_object());
    assert_eq!(store.get_contract(97, "FeeManager").unwrap(), Some(record));
    assert!(!fs::read_to_string(&path).unwrap().ends_with('\n'));
    // Writing the same record again changes nothing on disk.
    let snapshot = common::snapshot(&root);
    let same = store.get_contract(97, "FeeManager").unwrap().unwrap();
    store.put_contract(97, same).unwrap();
    assert_eq!(common::snapshot(&root), snapshot);
}

#[test]
fn invalid_records_are_refused_and_nothing_changes() {
    let fx = fixtures_or_skip!();
    let root = workspace_copy(&fx, "invalid");
    let store = unified_store(&root);
    let before = common::snapshot(&root);
    let mut bad = new_record("Bad", 3);
    bad.address = "0xefgh".into();
    assert_eq!(
        store.put_contract(97, bad).unwrap_err().code,
        ErrorCode::ValidationFailed
    );
    assert_eq!(
        store
            .put_contract(56, new_record("WrongChain", 4))
            .unwrap_err()
            .code,
        ErrorCode::ValidationFailed
    );
    assert_eq!(common::snapshot(&root), before);
}

#[test]
fn emergency_stop_refuses_writes_but_not_reads() {
    let fx = fixtures_or_skip!();
    let root = workspace_copy(&fx, "stop");
    fs::write(root.join(EMERGENCY_STOP_FILE), "INC-20261125-000000").unwrap();
    let store = unified_store(&root);
    let before = common::snapshot(&root);
    let err = store
        .put_contract(97, new_record("Blocked", 5))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked);
    assert!(err.message.contains("INC-20261125-000000"));
    assert!(store.get_contract(97, "LookCoin").unwrap().is_some());
    assert_eq!(common::snapshot(&root), before);
}

#[test]
fn delete_is_true_only_when_the_record_existed() {
    let fx = fixtures_or_skip!();
    let root = workspace_copy(&fx, "delete");
    let store = unified_store(&root);
    assert!(store.delete_contract(97, "FeeManager").unwrap());
    assert!(!store.delete_contract(97, "FeeManager").unwrap());
    assert_eq!(store.get_contract(97, "FeeManager").unwrap(), None);
    assert!(!store.delete_contract(8453, "LookCoin").unwrap());
}

#[test]
fn integrity_reports_the_real_defects() {
    let fx = fixtures_or_skip!();
    let root = workspace_copy(&fx, "integrity");
    let report = unified_store(&root).validate_integrity().unwrap();
    assert!(!report.is_valid);
    assert!(report
        .errors
        .iter()
        .any(|f| f.code == "CHAIN_MISMATCH" && f.location.contains("sapphiremainnet")));
    assert_eq!(report.contract_count, 31);
}

fn unified_version(root: &Path) -> u64 {
    let path = root.join("deployments/unified/bsctestnet.unified.json");
    UnifiedFile::parse(&path, &fs::read_to_string(&path).unwrap())
        .unwrap()
        .file_version()
        .unwrap()
}

#[test]
fn the_cache_hit_rate_counts_reads_answered_without_reading_the_file() {
    let fx = fixtures_or_skip!();
    let root = common::temp_dir("cache-rate");
    common::copy_tree(&fx.join("lookcoin-workspace"), &root);
    let store = unified_store(&root);
    store.get_contract(97, "LookCoin").unwrap();
    store.get_contract(97, "SupplyOracle").unwrap();
    assert_eq!(
        store.metrics().cache,
        Some((1, 1)),
        "first read misses, the second hits"
    );
    // Another writer replaces the file (new inode): the next read must not trust the cache.
    let path = root.join("deployments/unified/bsctestnet.unified.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, text).unwrap();
    store.get_contract(97, "LookCoin").unwrap();
    assert_eq!(store.metrics().cache, Some((1, 2)));
    let mut leveldb = StoreConfig::new(&root);
    leveldb.backend = Some(BackendKind::LevelDb);
    let other = StateStore::with_env(leveldb, &|_| None).unwrap();
    other.initialize().unwrap();
    assert_eq!(
        other.metrics().cache,
        Some((0, 0)),
        "LevelDB counts its own record cache"
    );
    other.close().unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}
