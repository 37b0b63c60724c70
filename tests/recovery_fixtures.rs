//! The recovery helpers and the runbook's reports on copies of the real fixture workspace:
//! the qualified CrossChainRouter's 4 arguments found in the backup's LevelDB (FORMATS §8.3
//! item 7), hashes filled from the legacy files and from the unified JSON, the Sapphire hash
//! conflict reported and not chosen, timestamps checked, the validation and incident reports
//! rendered; dry runs and reports without `write` change nothing on disk.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use lookcoin_state::backend::leveldb::{read_copy, LevelDbBackend, OpenMode};
use lookcoin_state::backend::unified::UnifiedBackend;
use lookcoin_state::backend::Backend;
use lookcoin_state::chains::ChainMap;
use lookcoin_state::record::ContractRecord;
use lookcoin_state::recovery::{
    recover_constructor_args, recover_implementation_hashes, validate_timestamps, RecoverOptions,
    SourceKind,
};
use lookcoin_state::rollback::{
    emergency_rollback, incident_report, rollback_validation_report, ReportOptions, RollbackOptions,
};
use lookcoin_state::validate::Severity;
use lookcoin_state::ErrorCode;
use serde_json::{json, Value};

const QUALIFIED_ROUTER: &str = "contracts/xchain/CrossChainRouter.sol:CrossChainRouter";
const BACKUP_ID: &str = "migration-2025-08-13T11-26-18-516Z";
/// The 4 arguments LevelDB recorded for the router on chain 97.
const ROUTER_ARGS: [&str; 4] = [
    "0xB8B7604628F37D611e82D22609ACE0Ca01A14e2D",
    "0x04001c7bE59A7e0F3F7b981eC4D0cbE59e56B0E1",
    "0x97D543565Ab7CC09bd6643bFeD38Db56894BBAb8",
    "0x0beC539Fd761caE579802072d9eE7fde86ED05A3",
];

/// A writable copy of the fixture workspace, optionally with the backup's LevelDB as `<root>/leveldb`.
fn workspace(name: &str, with_leveldb: bool) -> Option<PathBuf> {
    let fixtures = common::fixtures()?;
    let root = common::temp_dir(name);
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    if with_leveldb {
        common::copy_tree(
            &fixtures.join(common::BACKUP).join("leveldb/current"),
            &root.join("leveldb"),
        );
    }
    Some(root)
}

fn dry() -> RecoverOptions {
    RecoverOptions { dry_run: true }
}

fn real() -> RecoverOptions {
    RecoverOptions { dry_run: false }
}

fn unified_file(root: &Path, network: &str) -> PathBuf {
    root.join(format!("deployments/unified/{network}.unified.json"))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// Changes a unified file as an old script would (`JSON.stringify(doc, null, 2)`).
fn edit(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut doc = read_json(path);
    change(&mut doc);
    fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

/// Removes every place a unified file keeps `name`'s implementation hash.
fn drop_hash(root: &Path, network: &str, name: &str) {
    edit(&unified_file(root, network), |doc| {
        doc[format!("extended_{name}")]
            .as_object_mut()
            .unwrap()
            .remove("implementationHash");
        doc["verification"]["implementationHashes"]
            .as_object_mut()
            .unwrap()
            .remove(name);
    });
}

fn unified_record(root: &Path, chain_id: u64, name: &str) -> ContractRecord {
    let dir = root.join("deployments/unified");
    let backend =
        UnifiedBackend::open(&dir, ChainMap::default(), std::time::Duration::from_secs(1)).unwrap();
    backend.get(chain_id, name).unwrap().unwrap()
}

#[test]
fn the_qualified_routers_4_args_come_from_the_backup_leveldb_with_the_source_named() {
    let Some(root) = workspace("recover-args", true) else {
        return;
    };
    let before = common::snapshot(&root);
    let plan = recover_constructor_args(&root, &dry()).unwrap();
    assert_eq!(common::snapshot(&root), before, "a dry run writes nothing");
    assert!(plan.dry_run && plan.backup.is_none());

    assert_eq!(plan.filled.len(), 1, "{:#?}", plan.to_json()["filled"]);
    let filled = plan
        .filled_value("unified-json", 97, QUALIFIED_ROUTER)
        .expect("the qualified router's [] is filled");
    assert_eq!(filled.candidate.value, json!(ROUTER_ARGS));
    assert_eq!(
        filled.target.path,
        "deployments/unified/bsctestnet.unified.json"
    );
    assert_eq!(
        filled.target.location,
        "/extended_contracts~1xchain~1CrossChainRouter.sol:CrossChainRouter/deploymentArgs"
    );
    let named: Vec<String> = filled
        .candidate
        .sources
        .iter()
        .map(|s| format!("{} {} {}", s.kind.as_str(), s.path, s.location))
        .collect();
    assert_eq!(
        named,
        [
            format!("store leveldb 97-{QUALIFIED_ROUTER}"),
            "store deployments/unified/bsctestnet.unified.json /extended_CrossChainRouter/deploymentArgs".to_string(),
            format!("backup backups/{BACKUP_ID}/leveldb/current 97-{QUALIFIED_ROUTER}"),
            format!("backup backups/{BACKUP_ID}/unified-json/bsctestnet.unified.json /extended_CrossChainRouter/deploymentArgs"),
        ]
    );
    assert_eq!(
        filled.candidate.sources[2].backup.as_deref(),
        Some(BACKUP_ID)
    );

    // extended_LookCoin and extended_CelerIMModule have no args, and no local source has any.
    for name in ["LookCoin", "CelerIMModule"] {
        let open = plan
            .unresolved
            .iter()
            .find(|u| {
                u.target.store == "unified-json"
                    && u.target.chain_id == 97
                    && u.target.contract == name
            })
            .unwrap_or_else(|| panic!("97 {name} unresolved"));
        assert!(open.reason.contains("no local source"), "{}", open.reason);
    }
    assert!(plan.conflicts.is_empty());
    assert_eq!(
        plan.skipped.len(),
        3,
        "the misnamed sapphiremainnet file is not written"
    );

    let done = recover_constructor_args(&root, &real()).unwrap();
    assert!(done
        .backup
        .as_deref()
        .unwrap()
        .starts_with("backups/manual-"));
    assert!(done.filled[0].written);
    let doc = read_json(&unified_file(&root, "bsctestnet"));
    assert_eq!(
        doc[format!("extended_{QUALIFIED_ROUTER}")]["deploymentArgs"],
        json!(ROUTER_ARGS)
    );
    let record = unified_record(&root, 97, QUALIFIED_ROUTER);
    assert_eq!(
        record.deployment_args,
        Some(ROUTER_ARGS.iter().map(|a| json!(a)).collect())
    );
    assert_eq!(
        record.address, "0xdEF5504002F72832b595eF22F2d37fF19fCC7327",
        "nothing else changed"
    );

    let again = recover_constructor_args(&root, &real()).unwrap();
    assert!(again.filled.is_empty() && again.backup.is_none());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn without_a_live_leveldb_the_args_are_read_from_the_backup_itself() {
    let Some(root) = workspace("recover-args-backup", false) else {
        return;
    };
    let plan = recover_constructor_args(&root, &dry()).unwrap();
    let filled = plan
        .filled_value("unified-json", 97, QUALIFIED_ROUTER)
        .unwrap();
    assert_eq!(filled.candidate.value, json!(ROUTER_ARGS));
    let from_backup = filled
        .candidate
        .sources
        .iter()
        .find(|s| s.kind == SourceKind::Backup && s.format == "leveldb")
        .expect("the backup's LevelDB is a source");
    assert_eq!(
        (from_backup.path.as_str(), from_backup.location.as_str()),
        (
            "backups/migration-2025-08-13T11-26-18-516Z/leveldb/current",
            "97-contracts/xchain/CrossChainRouter.sol:CrossChainRouter"
        )
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_missing_unified_hash_is_filled_from_the_legacy_file_of_the_same_implementation() {
    let Some(root) = workspace("recover-hash-legacy", false) else {
        return;
    };
    drop_hash(&root, "basesepolia", "LookCoin");
    let before = common::snapshot(&root);
    let plan = recover_implementation_hashes(&root, &dry()).unwrap();
    assert_eq!(common::snapshot(&root), before, "a dry run writes nothing");
    assert_eq!(plan.filled.len(), 1, "{:#?}", plan.to_json());
    let filled = &plan.filled[0];
    let hash = "0x543f53aad1d25e76e465e66fcc4c71ffd41aad170c6c9122e70cd8afc3720c54";
    assert_eq!(filled.candidate.value, json!(hash));
    let first = &filled.candidate.sources[0];
    assert_eq!(
        (first.kind, first.path.as_str(), first.location.as_str()),
        (
            SourceKind::File,
            "deployments/basesepolia.json",
            "/implementationHashes/LookCoin"
        )
    );

    recover_implementation_hashes(&root, &real()).unwrap();
    let doc = read_json(&unified_file(&root, "basesepolia"));
    assert_eq!(doc["extended_LookCoin"]["implementationHash"], hash);
    assert_eq!(
        doc["verification"]["implementationHashes"]["LookCoin"],
        hash
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_missing_leveldb_hash_is_filled_from_the_unified_json_and_backups() {
    let Some(root) = workspace("recover-hash-leveldb", true) else {
        return;
    };
    let db = LevelDbBackend::open(&root.join("leveldb"), OpenMode::MustExist).unwrap();
    let mut hyperlane = db.get(97, "HyperlaneModule").unwrap().unwrap();
    let hash = hyperlane.implementation_hash.take().unwrap();
    hyperlane.factory_byte_code_hash.clear();
    db.put_batch(97, &[hyperlane]).unwrap();
    db.close().unwrap();

    let done = recover_implementation_hashes(&root, &real()).unwrap();
    let filled = done.filled_value("leveldb", 97, "HyperlaneModule").unwrap();
    assert!(filled.written);
    assert_eq!(filled.candidate.value, json!(hash));
    assert_eq!(
        filled.candidate.sources[0].location,
        "/extended_HyperlaneModule/implementationHash"
    );
    assert!(filled
        .candidate
        .sources
        .iter()
        .any(|s| s.kind == SourceKind::Backup && s.location == "97-HyperlaneModule"));
    let restored = read_copy(&root.join("leveldb"))
        .unwrap()
        .into_iter()
        .find(|e| e.location == "97-HyperlaneModule")
        .unwrap()
        .record
        .unwrap();
    assert_eq!(restored.implementation_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(
        restored.factory_byte_code_hash, hash,
        "an empty factory hash gets the same value"
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_sapphire_hash_conflict_is_reported_with_both_values_and_nothing_written() {
    let Some(root) = workspace("recover-hash-conflict", false) else {
        return;
    };
    drop_hash(&root, "sapphiretestnet", "CelerIMModule");
    let before = common::snapshot(&root);
    let done = recover_implementation_hashes(&root, &real()).unwrap();
    assert_eq!(
        common::snapshot(&root),
        before,
        "a conflict is never resolved by a guess"
    );
    assert!(done.filled.is_empty() && done.backup.is_none());
    assert_eq!(done.conflicts.len(), 1);
    let conflict = &done.conflicts[0];
    assert_eq!(
        (conflict.target.chain_id, conflict.target.contract.as_str()),
        (23295, "CelerIMModule")
    );
    let values: Vec<(&str, &str)> = conflict
        .candidates
        .iter()
        .map(|c| (c.value.as_str().unwrap(), c.sources[0].path.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            (
                "0xe81145d8ef75f4cd712f5ffc3e01928f50a7ed04e7a8a6bbf1ccefb85b4c803f",
                "deployments/unified/sapphiremainnet.unified.json"
            ),
            (
                "0xb8582fde962eabcbbde479834fe29d7335980c319c1e0a9358153f7a71001d05",
                "deployments/sapphiretestnet.json"
            ),
        ]
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn recovery_writes_are_refused_during_an_emergency_stop_but_dry_runs_are_not() {
    let Some(root) = workspace("recover-stopped", true) else {
        return;
    };
    fs::write(root.join(".emergency-stop"), "incident INC-X\n").unwrap();
    let before = common::snapshot(&root);
    let err = recover_constructor_args(&root, &real()).unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked);
    assert!(err.message.contains(".emergency-stop"), "{}", err.message);
    assert_eq!(
        recover_constructor_args(&root, &dry())
            .unwrap()
            .filled
            .len(),
        1
    );
    assert_eq!(common::snapshot(&root), before);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn timestamps_of_the_fixture_differ_only_where_a_save_time_replaced_a_deploy_time() {
    let Some(root) = workspace("timestamps-fixture", true) else {
        return;
    };
    let before = common::snapshot(&root);
    let report = validate_timestamps(&root).unwrap();
    assert_eq!(common::snapshot(&root), before, "validation writes nothing");
    assert!(report.is_valid, "{:#?}", report.findings);
    let warnings: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.location.as_str())
        .collect();
    let router = format!("97-{QUALIFIED_ROUTER}");
    assert_eq!(
        warnings,
        [
            "97-FeeManager",
            "97-LayerZeroModule",
            "97-ProtocolRegistry",
            router.as_str()
        ]
    );
    let router_warning = report
        .findings
        .iter()
        .find(|f| f.location == router)
        .unwrap();
    assert!(
        router_warning.message.contains("1753357355245")
            && router_warning.message.contains("1755175090033")
    );
    let first = &report.first_deploys[&97];
    assert_eq!(first.timestamp, 1_753_357_321_838);
    assert_eq!(first.source.location, "97-LayerZeroModule");
    assert_eq!(report.checked["leveldb"], 28);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn future_and_lost_timestamps_are_errors_and_one_store_alone_is_not_compared() {
    let Some(root) = workspace("timestamps-bad", false) else {
        return;
    };
    let tomorrow = lookcoin_state::time::now_ms() + 86_400_000;
    edit(&unified_file(&root, "basesepolia"), |doc| {
        doc["extended_LookCoin"]["timestamp"] = json!(tomorrow);
        doc["extended_SupplyOracle"]["timestamp"] = json!(1_755_121_014_u64); // seconds
    });
    let report = validate_timestamps(&root).unwrap();
    assert!(!report.is_valid);
    let errors: Vec<(&str, &str)> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.code, f.location.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "TIMESTAMP_IN_FUTURE",
                "basesepolia.unified.json#/extended_LookCoin/timestamp"
            ),
            (
                "TIMESTAMP_BEFORE_FIRST_DEPLOY",
                "basesepolia.unified.json#/extended_SupplyOracle/timestamp"
            ),
        ]
    );
    let lost = report
        .findings
        .iter()
        .find(|f| f.code == "TIMESTAMP_BEFORE_FIRST_DEPLOY")
        .unwrap();
    assert!(
        lost.message
            .contains("first deploy recorded on chain 84532"),
        "{}",
        lost.message
    );
    assert!(report
        .findings
        .iter()
        .any(|f| f.code == "TIMESTAMPS_NOT_COMPARED"));
    fs::remove_dir_all(&root).unwrap();
}

/// The fixture workspace after a forced rollback as incident `INC-TEST`.
fn rolled_back(name: &str) -> Option<PathBuf> {
    let root = workspace(name, false)?;
    let options = RollbackOptions {
        root: root.clone(),
        force: true,
        incident_id: Some("INC-TEST".into()),
        ..Default::default()
    };
    emergency_rollback(&options, &|_| {}).unwrap();
    Some(root)
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn the_validation_report_fills_the_runbook_template_and_writes_only_when_asked() {
    let Some(root) = rolled_back("report-validation") else {
        return;
    };
    let before = common::snapshot(&root);
    let rendered = rollback_validation_report(&root, &ReportOptions::default(), &no_env).unwrap();
    assert_eq!(common::snapshot(&root), before, "no write unless asked");
    assert!(rendered.written.is_empty());
    assert_eq!(rendered.incident_id, "INC-TEST", "the newest incident");
    let r = &rendered.json;
    assert_eq!(r["systemStatus"], "OPERATIONAL");
    assert_eq!(r["systemReady"], true);
    assert_eq!(
        r["contractCount"],
        json!({"ok": true, "found": 26, "expected": 26})
    );
    assert_eq!(
        (
            r["networkCoverage"]["found"].as_u64(),
            r["networkCoverage"]["expected"].as_u64()
        ),
        (Some(5), Some(5))
    );
    assert_eq!(r["dataIntegrity"]["percent"], 100.0);
    assert_eq!(r["actionsRequired"], json!([]));
    assert_eq!(
        r["rollback"]["restoredFrom"],
        format!("backups/{BACKUP_ID}")
    );
    for line in [
        "🆔 Incident ID: INC-TEST",
        "✅ SYSTEM STATUS: OPERATIONAL",
        "✅ Contract Count: 26/26",
        "✅ Network Coverage: 5/5",
        "🔧 Actions Required: None",
        "📈 System Ready: production operations can resume",
    ] {
        assert!(
            rendered.markdown.contains(line),
            "{line}\n{}",
            rendered.markdown
        );
    }

    let options = ReportOptions {
        incident_id: Some("INC-TEST".into()),
        write: true,
    };
    let written = rollback_validation_report(&root, &options, &no_env).unwrap();
    let dir = root.join("logs/incidents/INC-TEST");
    assert_eq!(
        written.written,
        [
            "logs/incidents/INC-TEST/rollback-validation-report.md",
            "logs/incidents/INC-TEST/rollback-validation-report.json"
        ]
    );
    assert_eq!(
        fs::read_to_string(dir.join("rollback-validation-report.md")).unwrap(),
        written.markdown
    );
    assert_eq!(
        read_json(&dir.join("rollback-validation-report.json")),
        written.json
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_incident_report_names_the_contracts_the_rollback_changed() {
    let Some(root) = rolled_back("report-incident") else {
        return;
    };
    let before = common::snapshot(&root);
    let rendered = incident_report(&root, &ReportOptions::default(), &no_env).unwrap();
    assert_eq!(common::snapshot(&root), before, "no write unless asked");
    let r = &rendered.json;
    assert_eq!(r["timeline"]["status"], "SUCCESS");
    let impact = &r["dataImpact"];
    assert_eq!(impact["contractsAffected"]["count"], 17);
    assert_eq!(impact["contractsAffected"]["total"], 26);
    assert_eq!(
        impact["networksAffected"]["networks"],
        json!([
            "basesepolia",
            "bsctestnet",
            "optimismsepolia",
            "sapphiretestnet"
        ])
    );
    let lookcoin = impact["contractsAffected"]["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "97-LookCoin")
        .unwrap();
    assert_eq!(
        lookcoin["differences"][0],
        json!({"field": "address", "leveldb": "0x5838A9f96E72eA83317D155F31AB660832533bAB",
               "unified": "0x8335E3cF6f1ac39841deBA4033a93c81ab738443"})
    );
    assert_eq!(
        r["rootCause"]["evidence"]["errors"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(r["actionsTaken"].as_array().unwrap().len() >= 10);
    for text in [
        "# Incident Report: INC-TEST",
        "## Timeline",
        "## Root Cause",
        "## Actions Taken",
        "- Contracts Affected: 17/26",
        "- Networks Affected: 4/5",
        "| 97-LookCoin | differs | address 0x5838…3bAB → 0x8335…8443",
        "## Lessons Learned",
        "## Prevention Measures",
    ] {
        assert!(
            rendered.markdown.contains(text),
            "{text}\n{}",
            rendered.markdown
        );
    }
    let options = ReportOptions {
        incident_id: None,
        write: true,
    };
    incident_report(&root, &options, &no_env).unwrap();
    assert!(root
        .join("logs/incidents/INC-TEST/incident-report.md")
        .is_file());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn an_interrupted_newer_incident_is_reported_as_such_and_unknown_ones_are_not_found() {
    let Some(root) = rolled_back("report-interrupted") else {
        return;
    };
    let later = root.join("logs/incidents/INC-LATER");
    fs::create_dir_all(&later).unwrap();
    let started = lookcoin_state::time::now_ms() + 1000;
    let start =
        json!({"at": "x", "step": "start", "state": "done", "data": {"startedMs": started}});
    fs::write(later.join("journal"), format!("{start}\n")).unwrap();
    let rendered = rollback_validation_report(&root, &ReportOptions::default(), &no_env).unwrap();
    assert_eq!(rendered.incident_id, "INC-LATER");
    assert_eq!(rendered.json["systemStatus"], "NOT OPERATIONAL");
    assert_eq!(rendered.json["rollback"]["status"], "INTERRUPTED");
    let actions = rendered.json["actionsRequired"].to_string();
    assert!(actions.contains("rollback --resume"), "{actions}");
    let incident = incident_report(&root, &ReportOptions::default(), &no_env).unwrap();
    assert!(incident.json["dataImpact"]["dataLoss"]
        .as_str()
        .unwrap()
        .starts_with("Unknown"));

    let unknown = ReportOptions {
        incident_id: Some("INC-NOPE".into()),
        write: false,
    };
    let err = incident_report(&root, &unknown, &no_env).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let empty = common::temp_dir("report-none");
    let err = rollback_validation_report(&empty, &ReportOptions::default(), &no_env).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(
        err.message.contains("no rollback report under"),
        "{}",
        err.message
    );
    fs::remove_dir_all(&root).unwrap();
    fs::remove_dir_all(&empty).unwrap();
}
