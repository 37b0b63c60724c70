//! The rollback shares LevelDB's table files with backups instead of copying them: the
//! restored `leveldb/` links the verified backup's tables, the pre-rollback backup links the
//! old database's. These tests show the sharing happens and that writing to the restored
//! database (new tables, compactions, deletions) never changes a byte of either backup.
//! Generated data only: the fixtures' databases are too small to have many tables.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use lookcoin_state::backend::leveldb::{read_copy, LevelDbBackend, OpenMode};
use lookcoin_state::backend::Backend;
use lookcoin_state::backup::{
    create_backup, no_progress, verify_backup, BackupManifest, CreateOptions, RecordCounts,
    VerifyStatus, MANIFEST_FILE,
};
use lookcoin_state::record::ContractRecord;
use lookcoin_state::rollback::{emergency_rollback, RollbackOptions};
use lookcoin_state::store::{StateStore, StoreConfig};
use serde_json::Value;

/// A production record with ~16 KiB of deployment arguments, so a few hundred fill tables.
fn big_record(chain_id: u64, i: usize) -> ContractRecord {
    // splitmix64 digits: random enough that snappy cannot shrink the tables.
    let hex = |seed: usize, len: usize| {
        let mut state = (seed as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ chain_id;
        let digits: String = (0..len)
            .map(|_| {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                char::from(b"0123456789abcdef"[((z ^ (z >> 31)) & 15) as usize])
            })
            .collect();
        format!("0x{digits}")
    };
    ContractRecord {
        contract_name: format!("Bulk{i:05}"),
        chain_id,
        network_name: if chain_id == 56 {
            "bscmainnet"
        } else {
            "bsctestnet"
        }
        .into(),
        address: hex(i, 40),
        factory_byte_code_hash: hex(i + 1, 64),
        implementation_hash: Some(hex(i + 2, 64)),
        proxy_address: Some(hex(i + 3, 40)),
        deployment_args: Some(
            (0..8)
                .map(|k| Value::String(hex(i * 8 + k, 2000)))
                .collect(),
        ),
        timestamp: 1_754_000_000_000 + i as u64,
    }
}

fn put_bulk(dir: &Path, chain_id: u64, range: std::ops::Range<usize>) {
    let db = LevelDbBackend::open(dir, OpenMode::CreateIfMissing).unwrap();
    let records: Vec<ContractRecord> = range.map(|i| big_record(chain_id, i)).collect();
    for batch in records.chunks(100) {
        db.put_batch(chain_id, batch).unwrap();
    }
    db.close().unwrap();
}

/// A project whose `leveldb/` holds `records` big records of chain 56, and its migration
/// backup: (root, its `leveldb/`, the backup's folder).
fn migrated_project(tag: &str, records: usize) -> (PathBuf, PathBuf, PathBuf) {
    let root = common::temp_dir(tag);
    let leveldb = root.join("leveldb");
    put_bulk(&leveldb, 56, 0..records);
    let options = CreateOptions {
        root: root.clone(),
        kind: "migration".into(),
        ..Default::default()
    };
    let migration = create_backup(&options, &no_progress).unwrap().path;
    (root, leveldb, migration)
}

/// Table file name → inode.
fn tables(dir: &Path) -> BTreeMap<String, u64> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".ldb"))
        .map(|e| {
            let ino = e.metadata().unwrap().ino();
            (e.file_name().to_string_lossy().into_owned(), ino)
        })
        .collect()
}

fn shared(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> usize {
    a.iter()
        .filter(|(name, ino)| b.get(*name) == Some(ino))
        .count()
}

fn deep_passes(dir: &Path) {
    let report = verify_backup(dir, true, &no_progress).unwrap();
    assert_eq!(
        report.status,
        VerifyStatus::Passed,
        "{}: {:?}",
        dir.display(),
        report.problems
    );
}

#[test]
fn restored_and_backed_up_tables_are_shared_and_writes_to_the_restored_database_change_no_backup() {
    let (root, leveldb, migration) = migrated_project("rollback-links", 600);
    let backup_tables = tables(&migration.join("leveldb/current"));
    assert!(
        !backup_tables.is_empty(),
        "the generated database has tables: {backup_tables:?}"
    );
    // Written after the backup: the live database now differs from it.
    put_bulk(&leveldb, 97, 0..400);
    let live_before = RecordCounts::of(&read_copy(&leveldb).unwrap());
    let live_tables = tables(&leveldb);

    let outcome = emergency_rollback(
        &RollbackOptions {
            root: root.clone(),
            force: true,
            incident_id: Some("INC-LINKS".into()),
            ..Default::default()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(outcome.status, "succeeded");

    let restored = tables(&leveldb);
    assert_eq!(
        shared(&backup_tables, &restored),
        backup_tables.len(),
        "every table of the verified backup is linked, not copied"
    );
    let pre = root.join(
        outcome.report.as_ref().unwrap()["preRollbackBackup"]["path"]
            .as_str()
            .unwrap(),
    );
    let pre_tables = tables(&pre.join("leveldb/current"));
    assert_eq!(shared(&live_tables, &pre_tables), live_tables.len());
    let parked = tables(&root.join("logs/incidents/INC-LINKS/replaced/leveldb"));
    assert_eq!(shared(&pre_tables, &parked), pre_tables.len());
    let manifest =
        BackupManifest::parse(&fs::read_to_string(pre.join(MANIFEST_FILE)).unwrap()).unwrap();
    assert_eq!(
        manifest.records.as_ref(),
        Some(&live_before),
        "the pre-rollback backup's counts are those of the old database"
    );
    assert!(
        !pre.join("unified-json/backups").exists(),
        "unified history is not copied"
    );

    let migration_bytes = common::snapshot(&migration);
    let pre_bytes = common::snapshot(&pre);
    // Heavy use of the restored database: overwrites, deletions, new tables, a compaction.
    put_bulk(&leveldb, 56, 300..900);
    let store = StateStore::new(StoreConfig::new(&root)).unwrap();
    assert_eq!(store.backend_type(), "leveldb");
    store.initialize().unwrap();
    for i in 0..200 {
        assert!(store.delete_contract(56, &format!("Bulk{i:05}")).unwrap());
    }
    store.close().unwrap();
    let after = tables(&leveldb);
    assert!(
        after.len() > shared(&backup_tables, &after) + 2,
        "the restored database wrote tables of its own: {after:?}"
    );

    assert_eq!(common::snapshot(&migration), migration_bytes);
    assert_eq!(common::snapshot(&pre), pre_bytes);
    deep_passes(&migration);
    deep_passes(&pre);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_live_database_identical_to_the_backup_is_recognised_and_its_pre_rollback_backup_verifies_deeply(
) {
    let (root, leveldb, migration) = migrated_project("rollback-same", 300);
    let live_before = RecordCounts::of(&read_copy(&leveldb).unwrap());
    let options = RollbackOptions {
        root: root.clone(),
        force: true,
        incident_id: Some("INC-SAME".into()),
        ..Default::default()
    };
    let dry = emergency_rollback(
        &RollbackOptions {
            dry_run: true,
            ..options.clone()
        },
        &|_| {},
    )
    .unwrap();
    let plan = dry.plan.unwrap().to_json();
    assert_eq!(plan["before"]["leveldbSameAsBackup"], true);
    assert_eq!(plan["before"]["leveldb"], live_before.to_json());
    let action = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "leveldb/")
        .unwrap();
    assert!(
        action["detail"]
            .as_str()
            .unwrap()
            .contains("byte-identical to the backup's copy"),
        "{action}"
    );

    let outcome = emergency_rollback(&options, &|_| {}).unwrap();
    let pre = root.join(
        outcome.report.as_ref().unwrap()["preRollbackBackup"]["path"]
            .as_str()
            .unwrap(),
    );
    let manifest =
        BackupManifest::parse(&fs::read_to_string(pre.join(MANIFEST_FILE)).unwrap()).unwrap();
    assert_eq!(manifest.records.as_ref(), Some(&live_before));
    // Its table hashes came from the migration backup's verification, not from reading them:
    // a deep verification re-reads every byte and must agree.
    deep_passes(&pre);
    assert_eq!(
        shared(
            &tables(&root.join("logs/incidents/INC-SAME/replaced/leveldb")),
            &tables(&pre.join("leveldb/current"))
        ),
        tables(&migration.join("leveldb/current")).len()
    );
    fs::remove_dir_all(&root).unwrap();
}
