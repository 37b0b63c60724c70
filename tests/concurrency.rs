//! Concurrent writers keep every write: 8 processes × N `putContract` on one chain of a
//! unified store, and 8 threads × 500 on one LevelDB store (LevelDB admits one process at a
//! time; its lock refuses the others with STATE_LOCKED, tested elsewhere).
//!
//! Every unified put rewrites the whole chain file, so 4000 records in one file take minutes in
//! a debug build: the test command runs N = 50 per process; `LCS_CONCURRENT_PUTS=500` runs the
//! full campaign.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lookcoin_state::backend::BackendKind;
use lookcoin_state::record::ContractRecord;
use lookcoin_state::store::{StateStore, StoreConfig};

const WRITERS: usize = 8;
const PUTS: usize = 500;

/// Puts per unified writer process: 50 unless `LCS_CONCURRENT_PUTS` says otherwise.
fn unified_puts() -> usize {
    std::env::var("LCS_CONCURRENT_PUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
}

fn record(writer: usize, n: usize) -> ContractRecord {
    let hex = |width: usize| format!("{:0width$x}", writer * 100_000 + n + 1);
    ContractRecord {
        contract_name: format!("W{writer}Contract{n}"),
        chain_id: 97,
        network_name: "bsctestnet".into(),
        address: format!("0x{}", hex(40)),
        factory_byte_code_hash: format!("0x{}", hex(64)),
        implementation_hash: None,
        proxy_address: None,
        deployment_args: None,
        timestamp: 1_764_000_000_000 + n as u64,
    }
}

fn store(root: &Path, backend: BackendKind) -> StateStore {
    let mut config = StoreConfig::new(root);
    config.backend = Some(backend);
    config.lock_timeout = Duration::from_secs(120);
    let store = StateStore::with_env(config, &|_| None).unwrap();
    store.initialize().unwrap();
    store
}

/// Child side: one writer process doing its 500 puts, one at a time, as a deploy script would.
#[test]
fn writer_child() {
    let (Ok(root), Ok(writer)) = (
        std::env::var("LCS_WRITER_ROOT"),
        std::env::var("LCS_WRITER"),
    ) else {
        return;
    };
    let writer: usize = writer.parse().unwrap();
    let store = store(Path::new(&root), BackendKind::UnifiedJson);
    for n in 0..unified_puts() {
        store.put_contract(97, record(writer, n)).unwrap();
    }
}

#[test]
fn eight_processes_writing_one_unified_file_lose_nothing() {
    let root = common::temp_dir("concurrent-unified");
    let children: Vec<_> = (0..WRITERS)
        .map(|writer| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
                .env("LCS_WRITER_ROOT", &root)
                .env("LCS_WRITER", writer.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer failed");
    }
    let store = store(&root, BackendKind::UnifiedJson);
    let records = store.get_all_contracts(97).unwrap();
    assert_eq!(
        records.len(),
        WRITERS * unified_puts(),
        "every write is in the file"
    );
    let report = store.validate_integrity().unwrap();
    assert!(report.is_valid, "{:?}", report.errors);
    let text =
        std::fs::read_to_string(root.join("deployments/unified/bsctestnet.unified.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["fileVersion"],
        (WRITERS * unified_puts()) as u64,
        "one version per write"
    );
    let leftovers = std::fs::read_dir(root.join("deployments/unified"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 1, "no temp or lock files left");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn eight_threads_writing_one_leveldb_lose_nothing() {
    let root = common::temp_dir("concurrent-leveldb");
    let store = store(&root, BackendKind::LevelDb);
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let store = &store;
            scope.spawn(move || {
                for n in 0..PUTS {
                    store.put_contract(97, record(writer, n)).unwrap();
                }
            });
        }
    });
    assert_eq!(store.get_all_contracts(97).unwrap().len(), WRITERS * PUTS);
    store.close().unwrap();
    let reopened = store_reopened(&root);
    assert_eq!(
        reopened,
        WRITERS * PUTS,
        "every write survives a close and reopen"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

fn store_reopened(root: &Path) -> usize {
    let again = store(root, BackendKind::LevelDb);
    let count = again.get_all_contracts(97).unwrap().len();
    again.close().unwrap();
    count
}
