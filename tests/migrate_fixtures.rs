//! The migrations on copies of the real fixture workspace: the LevelDB → unified → LevelDB
//! round trip byte for byte, dry runs, skip versus overwrite, archive recovery from the
//! legacy files, the misnamed sapphiremainnet file, and the refusals (held LevelDB,
//! emergency stop) with the workspace byte-identical afterwards.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use lookcoin_state::backend::legacy_json::LegacyJsonBackend;
use lookcoin_state::backend::leveldb::read_copy;
use lookcoin_state::backend::unified::UnifiedBackend;
use lookcoin_state::backend::Backend;
use lookcoin_state::chains::ChainMap;
use lookcoin_state::durable::FileLock;
use lookcoin_state::migrate::{
    legacy_to_leveldb, leveldb_to_unified, unified_to_leveldb, Action, MigrateOptions, Migration,
    MigrationReport,
};
use lookcoin_state::record::ContractRecord;
use lookcoin_state::ErrorCode;

/// A writable copy of the fixture workspace (no live `leveldb/`, as in the real repository).
fn workspace(name: &str) -> Option<PathBuf> {
    let fixtures = common::fixtures()?;
    let root = common::temp_dir(name);
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    Some(root)
}

/// Puts the backup's 28-record LevelDB at `<root>/leveldb`.
fn add_leveldb(root: &Path) {
    let fixtures = common::fixtures().expect("fixtures checked by the caller");
    common::copy_tree(
        &fixtures.join(common::BACKUP).join("leveldb/current"),
        &root.join("leveldb"),
    );
}

/// The (key, value bytes) pairs of a LevelDB folder, read from a copy.
fn pairs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = read_copy(dir)
        .unwrap()
        .into_iter()
        .map(|e| (e.location, e.record.unwrap().to_leveldb_value()))
        .collect();
    out.sort();
    out
}

/// The pairs records would be stored as.
fn as_pairs(records: &[ContractRecord]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = records
        .iter()
        .map(|r| (r.key(), r.to_leveldb_value()))
        .collect();
    out.sort();
    out
}

fn real() -> MigrateOptions {
    MigrateOptions::default()
}

fn dry() -> MigrateOptions {
    MigrateOptions {
        dry_run: true,
        ..Default::default()
    }
}

/// (target, action) of every item: what a run did or would do.
fn plan_of(report: &MigrationReport) -> Vec<(String, Action)> {
    report
        .items
        .iter()
        .map(|i| (i.target.clone(), i.action))
        .collect()
}

fn unified_records(root: &Path, chain_id: u64) -> Vec<ContractRecord> {
    let dir = root.join("deployments/unified");
    let backend =
        UnifiedBackend::open(&dir, ChainMap::default(), std::time::Duration::from_secs(1)).unwrap();
    backend.list_chain(chain_id).unwrap()
}

/// The label the migration's backup manifest records.
fn backup_label(root: &Path, report: &MigrationReport) -> String {
    let backup = root.join(report.backup.as_deref().expect("a real run backs up first"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(backup.join("BACKUP_MANIFEST.json")).unwrap()).unwrap();
    assert!(
        report
            .backup
            .as_deref()
            .unwrap()
            .starts_with("backups/manual-"),
        "{:?}",
        report.backup
    );
    manifest["label"].as_str().unwrap_or_default().to_string()
}

#[test]
fn leveldb_to_unified_and_back_gives_the_same_28_records_byte_for_byte() {
    let fixtures = fixtures_or_skip!();
    let root = common::temp_dir("migrate-round-trip");
    common::copy_tree(
        &fixtures.join(common::BACKUP).join("leveldb/current"),
        &root.join("leveldb"),
    );
    fs::create_dir_all(root.join("deployments/unified")).unwrap();
    let original = pairs(&root.join("leveldb"));
    assert_eq!(original.len(), 28);

    let with_dev = MigrateOptions {
        include_dev: true,
        ..Default::default()
    };
    let to_unified = leveldb_to_unified(&root, &with_dev).unwrap();
    assert_eq!(
        to_unified.count(Action::Created),
        6,
        "{:?}",
        to_unified.items
    );
    assert_eq!(
        to_unified.items.iter().map(|i| i.records).sum::<usize>(),
        28
    );
    assert!(root
        .join("deployments/unified/chain31337.unified.json")
        .is_file());

    let moved = common::temp_dir("migrate-round-trip-away").join("leveldb");
    fs::rename(root.join("leveldb"), &moved).unwrap();
    let back = unified_to_leveldb(&root, &real()).unwrap();
    assert_eq!(back.count(Action::Created), 28, "{:?}", back.items);
    assert_eq!(back.count(Action::Skipped), 0, "{:?}", back.items);
    assert_eq!(pairs(&root.join("leveldb")), original);
    assert_eq!(pairs(&moved), original, "the original was only read");
    fs::remove_dir_all(&root).unwrap();
    fs::remove_dir_all(moved.parent().unwrap()).unwrap();
}

#[test]
fn leveldb_to_unified_merges_keeps_other_sections_and_skips_dev_rows_by_default() {
    let Some(root) = workspace("migrate-merge") else {
        return;
    };
    add_leveldb(&root);
    let bsctestnet = root.join("deployments/unified/bsctestnet.unified.json");
    let doc = |path: &Path| -> serde_json::Value {
        serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
    };
    let old = doc(&bsctestnet);
    let before = common::snapshot(&root);

    let plan = leveldb_to_unified(&root, &dry()).unwrap();
    assert_eq!(common::snapshot(&root), before, "a dry run writes nothing");
    assert!(plan.dry_run && plan.backup.is_none());
    let dev = &plan.items[0];
    assert_eq!(
        (dev.target.as_str(), dev.action, dev.records),
        (
            "deployments/unified/chain31337.unified.json",
            Action::Skipped,
            2
        )
    );
    assert!(dev.reason.as_deref().unwrap().contains("includeDev"));

    let done = leveldb_to_unified(&root, &real()).unwrap();
    assert_eq!(
        plan_of(&done),
        plan_of(&plan),
        "the real run did what the dry run said"
    );
    assert_eq!(
        backup_label(&root, &done),
        "before migrate leveldb-to-unified"
    );
    assert!(!root
        .join("deployments/unified/chain31337.unified.json")
        .exists());
    let new = doc(&bsctestnet);
    for kept in ["topology", "configuration", "metadata", "operations"] {
        if kept == "metadata" {
            assert_eq!(new[kept]["deployer"], old[kept]["deployer"]);
        } else {
            assert_eq!(new[kept], old[kept], "{kept} kept");
        }
    }
    assert_eq!(
        new["fileVersion"].as_u64(),
        old["fileVersion"].as_u64().map(|v| v + 1)
    );
    let records = unified_records(&root, 97);
    assert_eq!(
        records.len(),
        10,
        "the entry LevelDB lacks is kept by a merge"
    );
    let lookcoin = records
        .iter()
        .find(|r| r.contract_name == "LookCoin")
        .unwrap();
    assert_eq!(
        lookcoin.address,
        "0x5838A9f96E72eA83317D155F31AB660832533bAB"
    );
    // Everything LevelDB holds for the chain now reads back from the unified file.
    let leveldb_97: Vec<_> = pairs(&root.join("leveldb"))
        .into_iter()
        .filter(|(k, _)| k.starts_with("97-"))
        .collect();
    let unified_97: Vec<_> = as_pairs(&records)
        .into_iter()
        .filter(|p| leveldb_97.iter().any(|(k, _)| *k == p.0))
        .collect();
    assert_eq!(unified_97, leveldb_97);
    let again = leveldb_to_unified(&root, &dry()).unwrap();
    assert_eq!(again.count(Action::Updated), 0, "{:?}", again.items);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn dry_runs_to_leveldb_write_nothing_and_say_what_a_real_run_does() {
    for migration in [Migration::UnifiedToLevelDb, Migration::LegacyToLevelDb] {
        let Some(root) = workspace("migrate-dry") else {
            return;
        };
        add_leveldb(&root);
        let before = common::snapshot(&root);
        // Overwrite: every key the fixtures hold differently gets planned as an update.
        let overwrite = MigrateOptions {
            overwrite: true,
            ..Default::default()
        };
        let dry_overwrite = MigrateOptions {
            dry_run: true,
            ..overwrite
        };
        let plan = migration.run(&root, &dry_overwrite).unwrap();
        assert_eq!(common::snapshot(&root), before, "{migration:?} dry run");
        assert!(plan.backup.is_none());
        assert!(
            plan.count(Action::Updated) > 0,
            "{migration:?}: {:?}",
            plan.items
        );
        let done = migration.run(&root, &overwrite).unwrap();
        assert_eq!(plan_of(&done), plan_of(&plan), "{migration:?}");
        assert_eq!(
            backup_label(&root, &done),
            format!("before migrate {}", migration.name())
        );
        let stored = pairs(&root.join("leveldb"));
        for key in done.writes() {
            assert!(stored.iter().any(|(k, _)| k == key), "{key} written");
        }
        fs::remove_dir_all(&root).unwrap();
    }
}

#[test]
fn existing_keys_are_skipped_unless_overwrite() {
    let Some(root) = workspace("migrate-overwrite") else {
        return;
    };
    add_leveldb(&root);
    let original = pairs(&root.join("leveldb"));
    let kept = unified_to_leveldb(&root, &real()).unwrap();
    let differing: Vec<&str> = kept
        .items
        .iter()
        .filter(|i| i.action == Action::Skipped && i.source.contains("bsctestnet"))
        .map(|i| i.target.as_str())
        .collect();
    assert!(differing.contains(&"97-LookCoin"), "{:?}", kept.items);
    assert!(kept.items.iter().all(|i| i.action != Action::Updated));
    let after_kept = pairs(&root.join("leveldb"));
    for (key, value) in &original {
        let now = after_kept.iter().find(|(k, _)| k == key).unwrap();
        assert_eq!(&now.1, value, "{key} kept without overwrite");
    }

    let overwrite = MigrateOptions {
        overwrite: true,
        ..Default::default()
    };
    let replaced = unified_to_leveldb(&root, &overwrite).unwrap();
    let updated: Vec<&str> = replaced
        .items
        .iter()
        .filter(|i| i.action == Action::Updated)
        .map(|i| i.target.as_str())
        .collect();
    assert!(updated.contains(&"97-LookCoin"), "{:?}", replaced.items);
    let unified_97 = as_pairs(&unified_records(&root, 97));
    let stored = pairs(&root.join("leveldb"));
    for key in &updated {
        let new = stored.iter().find(|(k, _)| k == key).unwrap();
        if key.starts_with("97-") {
            assert!(unified_97.contains(new), "{key} holds the unified record");
        }
    }
    let dev: Vec<_> = stored
        .iter()
        .filter(|(k, _)| k.starts_with("31337-"))
        .collect();
    let dev_before: Vec<_> = original
        .iter()
        .filter(|(k, _)| k.starts_with("31337-"))
        .collect();
    assert_eq!(dev, dev_before, "keys no source names are left alone");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn legacy_files_go_to_leveldb_as_the_legacy_reader_returns_them() {
    let Some(root) = workspace("migrate-legacy") else {
        return;
    };
    let expected = LegacyJsonBackend::open(&root.join("deployments"), ChainMap::default())
        .unwrap()
        .list_all()
        .unwrap();
    assert!(expected.len() >= 10, "{}", expected.len());
    let report = legacy_to_leveldb(&root, &real()).unwrap();
    assert_eq!(report.count(Action::Created), expected.len());
    assert_eq!(report.count(Action::Skipped), 0, "{:?}", report.items);
    assert_eq!(pairs(&root.join("leveldb")), as_pairs(&expected));
    let again = legacy_to_leveldb(&root, &real()).unwrap();
    assert_eq!(again.count(Action::Unchanged), expected.len());
    assert!(again.backup.is_none(), "nothing to write, no backup");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_sapphiremainnet_file_is_skipped_with_its_reason_never_written_under_either_chain() {
    let Some(root) = workspace("migrate-sapphire") else {
        return;
    };
    let report = unified_to_leveldb(&root, &real()).unwrap();
    let skipped: Vec<_> = report
        .items
        .iter()
        .filter(|i| {
            i.source
                .starts_with("deployments/unified/sapphiremainnet.unified.json")
        })
        .collect();
    assert_eq!(skipped.len(), 3, "{:?}", report.items);
    for item in skipped {
        assert_eq!(item.action, Action::Skipped);
        let reason = item.reason.as_deref().unwrap();
        assert!(
            reason.contains("claims chainId 23295") && reason.contains("chain 23294"),
            "{reason}"
        );
    }
    let stored = pairs(&root.join("leveldb"));
    assert!(!stored.iter().any(|(k, _)| k.starts_with("23294-")));
    let sapphire: Vec<_> = stored
        .iter()
        .filter(|(k, _)| k.starts_with("23295-"))
        .cloned()
        .collect();
    assert_eq!(
        sapphire,
        as_pairs(&unified_records(&root, 23295)),
        "23295 holds the sapphiretestnet file's records only"
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_held_leveldb_is_refused_with_state_locked_and_nothing_changes() {
    let Some(root) = workspace("migrate-held") else {
        return;
    };
    add_leveldb(&root);
    let _held = FileLock::try_acquire(&root.join("leveldb/LOCK")).unwrap();
    let before = common::snapshot(&root);
    for migration in [
        Migration::LevelDbToUnified,
        Migration::UnifiedToLevelDb,
        Migration::LegacyToLevelDb,
    ] {
        for options in [real(), dry()] {
            let err = migration.run(&root, &options).unwrap_err();
            assert_eq!(
                err.code,
                ErrorCode::Locked,
                "{migration:?}: {}",
                err.message
            );
            assert!(err.message.contains("leveldb/LOCK"), "{}", err.message);
        }
    }
    assert_eq!(common::snapshot(&root), before);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_emergency_stop_refuses_real_runs_but_not_dry_runs() {
    let Some(root) = workspace("migrate-stop") else {
        return;
    };
    add_leveldb(&root);
    fs::write(root.join(".emergency-stop"), "INC-1").unwrap();
    let before = common::snapshot(&root);
    for migration in [
        Migration::LevelDbToUnified,
        Migration::UnifiedToLevelDb,
        Migration::LegacyToLevelDb,
    ] {
        let err = migration.run(&root, &real()).unwrap_err();
        assert_eq!(err.code, ErrorCode::Locked, "{migration:?}");
        assert!(err.message.contains(".emergency-stop"), "{}", err.message);
        migration.run(&root, &dry()).unwrap();
    }
    assert_eq!(common::snapshot(&root), before);
    fs::remove_dir_all(&root).unwrap();
}
