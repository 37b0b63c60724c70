//! validateState on the real fixture (exactly its known defects), on a clean generated state
//! (nothing), and on purpose-built bad data (each rule fires). Validation never writes.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use lookcoin_state::backend::BackendKind;
use lookcoin_state::validate::{
    validate_state, Expectation, Level, Severity, ValidateOptions, ValidationReport,
};
use serde_json::{json, Value};

fn validate(
    root: &Path,
    backend: BackendKind,
    level: Level,
    expect: Expectation,
) -> ValidationReport {
    let before = common::snapshot(root);
    let options = ValidateOptions {
        root: root.to_path_buf(),
        backend: Some(backend),
        level,
        expect,
    };
    let report = validate_state(&options, &|_| None).unwrap();
    assert_eq!(common::snapshot(root), before, "validation wrote something");
    report
}

/// (code, file) of the findings of one severity.
fn found(report: &ValidationReport, severity: Severity) -> BTreeSet<(String, String)> {
    report
        .findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| {
            (
                f.code.to_string(),
                f.location.split('#').next().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(c, f)| (c.to_string(), f.to_string()))
        .collect()
}

#[test]
fn the_live_unified_files_show_exactly_their_known_defects() {
    let fixtures = fixtures_or_skip!();
    let root = common::temp_dir("validate-fixture");
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    let report = validate(
        &root,
        BackendKind::UnifiedJson,
        Level::Full,
        Expectation::default(),
    );
    assert!(!report.is_valid);
    assert_eq!(
        found(&report, Severity::Error),
        pairs(&[
            ("DUPLICATE_CHAIN_CLAIM", "sapphiremainnet.unified.json"),
            ("FILE_CHAIN_MISMATCH", "sapphiremainnet.unified.json"),
            ("TIER_MISMATCH", "sapphiremainnet.unified.json"),
            ("DUPLICATE_CONTRACT", "bsctestnet.unified.json"),
            ("ALIAS_IS_ENTRY", "bsctestnet.unified.json"),
        ])
    );
    let warnings = found(&report, Severity::Warning);
    let codes: BTreeSet<&str> = warnings.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codes, BTreeSet::from(["EID_AS_CHAIN_ID", "STALE_CHECKSUM"]));
    for file in [
        "basesepolia",
        "bscmainnet",
        "bsctestnet",
        "optimismsepolia",
        "sapphiremainnet",
        "sapphiretestnet",
    ] {
        let stale_contracts = report.findings.iter().any(|f| {
            f.code == "STALE_CHECKSUM"
                && f.location
                    == format!(
                        "{file}.unified.json#/verification/dataIntegrity/checksums/contracts"
                    )
        });
        assert!(
            stale_contracts,
            "{file}: the contracts checksum is stale in the real data"
        );
    }
    let eid = report
        .findings
        .iter()
        .find(|f| f.location == "bsctestnet.unified.json#/topology/connectedChains/0/chainId")
        .unwrap();
    assert!(eid.message.contains("40245"));
    let duplicate = report
        .findings
        .iter()
        .find(|f| f.code == "DUPLICATE_CONTRACT")
        .unwrap();
    assert!(
        duplicate.message.contains("0xaaede5") && duplicate.message.contains("0x78013d"),
        "{}",
        duplicate.message
    );
    assert_eq!(
        (report.counts.production, report.counts.per_chain.len()),
        (26, 5)
    );
    assert_eq!(report.counts.per_chain[&97], 9);
}

#[test]
fn the_fixture_leveldb_is_valid_with_its_two_dev_rows_apart() {
    let fixtures = fixtures_or_skip!();
    let root = common::temp_dir("validate-leveldb");
    common::copy_tree(
        &fixtures.join(common::BACKUP).join("leveldb/current"),
        &root.join("leveldb"),
    );
    let expect = Expectation {
        contracts: Some(26),
        chains: Some(5),
        ..Default::default()
    };
    let report = validate(&root, BackendKind::LevelDb, Level::Full, expect);
    assert!(report.is_valid, "{:?}", report.findings);
    let dev: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == "DEV_RECORD")
        .map(|f| f.location.as_str())
        .collect();
    assert_eq!(dev.len(), 2);
    assert!(dev.iter().all(|k| k.starts_with("31337-")));
    assert!(report.findings.iter().all(|f| f.severity == Severity::Info));
    assert_eq!((report.counts.production, report.counts.dev), (26, 2));
    let mismatch = validate(
        &root,
        BackendKind::LevelDb,
        Level::Full,
        Expectation {
            contracts: Some(27),
            ..Default::default()
        },
    );
    assert_eq!(
        found(&mismatch, Severity::Error),
        pairs(&[("COUNT_MISMATCH", "counts")])
    );
}

/// A clean generated workspace (the sample), for the rule tests to break.
fn clean() -> PathBuf {
    let root = common::temp_dir("validate-clean");
    fs::remove_dir(&root).unwrap();
    lookcoin_state::sample::create_sample_workspace(&root).unwrap();
    root
}

fn unified(root: &Path, network: &str) -> PathBuf {
    root.join(format!("deployments/unified/{network}.unified.json"))
}

/// Edits one unified file's JSON as an out-of-band writer would (no checksum recomputed).
fn edit(root: &Path, network: &str, change: impl FnOnce(&mut Value)) {
    let path = unified(root, network);
    let mut doc: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    change(&mut doc);
    fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

#[test]
fn a_clean_generated_state_reports_nothing() {
    let root = clean();
    let report = validate(
        &root,
        BackendKind::UnifiedJson,
        Level::Full,
        Expectation::default(),
    );
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(
        report
            .expectation_source
            .as_deref()
            .map(|s| s.starts_with("manifest of backup migration-")),
        Some(true)
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn each_unified_rule_fires_on_data_built_to_break_it() {
    let root = clean();
    edit(&root, "bscmainnet", |d| {
        d["chainId"] = json!(97);
    });
    edit(&root, "bsctestnet", |d| {
        let router = d["contracts"]["infrastructure"]["CrossChainRouter"].clone();
        d["contracts"]["core"]["contracts/x/CrossChainRouter.sol:CrossChainRouter"] = router;
        d["contracts"]["legacy"] = json!({"OldOracle": {"currentName": "Nope", "currentCategory": "core"},
                                          "LookCoin": {"currentName": "LookCoin", "currentCategory": "core"}});
        d["verification"]["implementationHashes"]["LookCoin"] =
            json!(format!("0x{}", "1".repeat(64)));
        d["topology"]["connectedChains"] = json!([{"chainId": 40102, "network": ""}]);
        d.as_object_mut().unwrap().remove("fileVersion");
    });
    edit(&root, "basesepolia", |d| {
        d["contracts"]["core"]["LookCoin"]["proxy"] = json!("0x1234");
    });
    fs::write(
        unified(&root, "optimismsepolia"),
        "{\"chainId\": 11155420, \"contr",
    )
    .unwrap();
    let report = validate(
        &root,
        BackendKind::UnifiedJson,
        Level::Full,
        Expectation::default(),
    );
    let errors = found(&report, Severity::Error);
    for expected in [
        ("FILE_CHAIN_MISMATCH", "bscmainnet.unified.json"),
        ("TIER_MISMATCH", "bscmainnet.unified.json"),
        ("DUPLICATE_CHAIN_CLAIM", "bscmainnet.unified.json"),
        ("DUPLICATE_CONTRACT", "bsctestnet.unified.json"),
        ("ALIAS_DANGLING", "bsctestnet.unified.json"),
        ("ALIAS_IS_ENTRY", "bsctestnet.unified.json"),
        ("HASH_DISAGREES", "bsctestnet.unified.json"),
        ("BAD_ADDRESS", "basesepolia.unified.json"),
        ("UNREADABLE", "optimismsepolia.unified.json"),
        ("COUNT_MISMATCH", "counts"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {errors:?}"
        );
    }
    let warnings = found(&report, Severity::Warning);
    for expected in [
        ("EID_AS_CHAIN_ID", "bsctestnet.unified.json"),
        ("MISSING_FILE_VERSION", "bsctestnet.unified.json"),
        ("STALE_CHECKSUM", "bsctestnet.unified.json"),
    ] {
        assert!(
            warnings.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {warnings:?}"
        );
    }
    let quick = validate(
        &root,
        BackendKind::UnifiedJson,
        Level::Quick,
        Expectation::default(),
    );
    let quick_codes: BTreeSet<&str> = quick.findings.iter().map(|f| f.code).collect();
    assert!(!quick_codes.contains("STALE_CHECKSUM") && !quick_codes.contains("HASH_DISAGREES"));
    assert!(quick_codes.contains("FILE_CHAIN_MISMATCH"));
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn leveldb_rules_fire_on_raw_rows_and_hashes_are_compared_across_chains() {
    let root = clean();
    let backup = lookcoin_state::backup::list_backups(&root).unwrap()[0]
        .path
        .join("leveldb/current");
    common::copy_tree(&backup, &root.join("leveldb"));
    {
        let options = rusty_leveldb::Options {
            create_if_missing: false,
            ..Default::default()
        };
        let mut db = rusty_leveldb::DB::open(root.join("leveldb"), options).unwrap();
        let lookcoin = db.get(b"97-LookCoin").unwrap();
        db.put(b"56-Stray", &lookcoin).unwrap();
        db.put(b"84532-Broken", b"{not json").unwrap();
        let mut upgraded: Value =
            serde_json::from_slice(&db.get(b"84532-LookCoin").unwrap()).unwrap();
        upgraded["implementationHash"] = json!(format!("0x{}", "2".repeat(64)));
        db.put(b"84532-LookCoin", upgraded.to_string().as_bytes())
            .unwrap();
        db.close().unwrap();
    }
    let report = validate(
        &root,
        BackendKind::LevelDb,
        Level::Full,
        Expectation::default(),
    );
    let errors = found(&report, Severity::Error);
    assert!(
        errors.contains(&("CHAIN_MISMATCH".to_string(), "56-Stray".to_string())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("UNREADABLE".to_string(), "84532-Broken".to_string())),
        "{errors:?}"
    );
    let differs = report
        .findings
        .iter()
        .find(|f| f.code == "HASH_DIFFERS_ACROSS_CHAINS" && f.location == "LookCoin")
        .expect("LookCoin hashes differ");
    assert!(
        differs.message.contains("84532") && differs.message.contains("testnet"),
        "{}",
        differs.message
    );
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.code == "DEV_RECORD")
            .count(),
        2
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn malformed_production_rows_missing_checksums_and_unmapped_files_are_named() {
    let root = clean();
    let backup = lookcoin_state::backup::list_backups(&root).unwrap()[0]
        .path
        .join("leveldb/current");
    common::copy_tree(&backup, &root.join("leveldb"));
    {
        let options = rusty_leveldb::Options {
            create_if_missing: false,
            ..Default::default()
        };
        let mut db = rusty_leveldb::DB::open(root.join("leveldb"), options).unwrap();
        let base: Value = serde_json::from_slice(&db.get(b"97-LookCoin").unwrap()).unwrap();
        let mut row = |key: &str, change: &dyn Fn(&mut Value)| {
            let mut value = base.clone();
            value["contractName"] = json!(key.split_once('-').unwrap().1);
            change(&mut value);
            db.put(key.as_bytes(), value.to_string().as_bytes())
                .unwrap();
        };
        row("97-ZeroChain", &|v| v["chainId"] = json!(0));
        row("97-NoName", &|v| v["contractName"] = json!(""));
        row("97-ShortHash", &|v| {
            v["factoryByteCodeHash"] = json!("0x12")
        });
        row("97-NoHash", &|v| v["factoryByteCodeHash"] = json!(""));
        db.close().unwrap();
    }
    let report = validate(
        &root,
        BackendKind::LevelDb,
        Level::Full,
        Expectation::default(),
    );
    let errors = found(&report, Severity::Error);
    for expected in [
        ("BAD_CHAIN_ID", "97-ZeroChain"),
        ("MISSING_FIELD", "97-NoName"),
        ("BAD_HASH", "97-ShortHash"),
        ("EMPTY_HASH", "97-NoHash"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing from {errors:?}"
        );
    }

    edit(&root, "bsctestnet", |d| {
        d["verification"]
            .as_object_mut()
            .unwrap()
            .remove("dataIntegrity");
    });
    fs::copy(
        unified(&root, "basesepolia"),
        root.join("deployments/unified/mystery.unified.json"),
    )
    .unwrap();
    let report = validate(
        &root,
        BackendKind::UnifiedJson,
        Level::Full,
        Expectation::default(),
    );
    assert!(found(&report, Severity::Warning).contains(&(
        "MISSING_CHECKSUMS".to_string(),
        "bsctestnet.unified.json".to_string()
    )));
    let mut config = lookcoin_state::store::StoreConfig::new(&root);
    config.backend = Some(BackendKind::UnifiedJson);
    let store = lookcoin_state::store::StateStore::new(config).unwrap();
    store.initialize().unwrap();
    let integrity = store.validate_integrity().unwrap();
    assert!(
        integrity
            .warnings
            .iter()
            .any(|f| f.code == "UNMAPPED_CHAIN" && f.location.contains("mystery")),
        "{:?}",
        integrity.warnings
    );
    fs::remove_dir_all(&root).unwrap();
}
