//! Counting and comparing on the real fixture data (copied to temp folders first) and on
//! small purpose-built stores written with our own backends.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use lookcoin_state::backend::leveldb::{read_copy, LevelDbBackend, OpenMode};
use lookcoin_state::backend::unified::UnifiedBackend;
use lookcoin_state::backend::{Backend, BackendKind};
use lookcoin_state::chains::ChainMap;
use lookcoin_state::compare::{
    compare_backends, count_contracts, count_leveldb_dir, Comparison, ContractComparison, Status,
};
use lookcoin_state::record::ContractRecord;
use lookcoin_state::ErrorCode;

/// Production contracts per chain in both fixture stores (FORMATS §8.2).
const FIXTURE_CHAINS: [(u64, u64); 5] = [(56, 8), (97, 9), (23295, 3), (84532, 3), (11155420, 3)];
const QUALIFIED_ROUTER: &str = "contracts/xchain/CrossChainRouter.sol:CrossChainRouter";

fn no_env(_: &str) -> Option<String> {
    None
}

/// Removes a test's temp folder once it passed (a failing test leaves it to look at).
fn done(root: &Path) {
    let _ = std::fs::remove_dir_all(root);
}

/// A writable copy of the fixture workspace.
fn workspace(fixtures: &Path, name: &str) -> PathBuf {
    let root = common::temp_dir(name);
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    root
}

/// The migration backup's LevelDB inside a workspace copy.
fn backup_leveldb(root: &Path) -> PathBuf {
    let backup = Path::new(common::BACKUP)
        .strip_prefix("lookcoin-workspace")
        .unwrap();
    root.join(backup).join("leveldb/current")
}

/// The fixture comparison: the backup's LevelDB against the live unified files.
fn fixture_comparison(fixtures: &Path, name: &str) -> (PathBuf, Comparison) {
    let root = workspace(fixtures, name);
    let before = common::snapshot(&root);
    let comparison = compare_backends(&root, Some(&backup_leveldb(&root))).unwrap();
    assert_eq!(common::snapshot(&root), before, "comparing changed a file");
    (root, comparison)
}

fn fields(pair_diffs: &[lookcoin_state::compare::FieldDifference]) -> Vec<&str> {
    pair_diffs.iter().map(|d| d.field).collect()
}

fn contract<'a>(cmp: &'a Comparison, chain_id: u64, name: &str) -> &'a ContractComparison {
    cmp.contract(chain_id, name)
        .unwrap_or_else(|| panic!("{chain_id}-{name} not in the comparison"))
}

#[test]
fn fixture_backup_leveldb_counts_26_production_contracts_on_5_chains_and_2_dev() {
    let fixtures = fixtures_or_skip!();
    let root = workspace(&fixtures, "cmp-count-leveldb");
    let dir = backup_leveldb(&root);
    let before = common::snapshot(&dir);
    let counts = count_leveldb_dir(&dir).unwrap();
    assert_eq!(
        common::snapshot(&dir),
        before,
        "counting changed the LevelDB"
    );
    assert_eq!(counts.backend, BackendKind::LevelDb);
    assert_eq!((counts.production, counts.dev), (26, 2));
    assert_eq!(counts.production_per_chain(), FIXTURE_CHAINS);
    assert_eq!(counts.chains[&31337].dev, 2);
    assert_eq!(counts.chains[&97].network, "bsctestnet");
    assert_eq!(counts.files_read, vec![dir.display().to_string()]);
    let json = counts.to_json();
    assert_eq!(json["chains"]["97"]["production"], 9);
    assert_eq!(json["chains"]["31337"]["dev"], 2);
    assert_eq!(json["backend"], "leveldb");
    done(&root);
}

#[test]
fn fixture_unified_files_count_26_contracts_on_5_chains_by_their_own_chain_ids() {
    let fixtures = fixtures_or_skip!();
    let root = workspace(&fixtures, "cmp-count-unified");
    let before = common::snapshot(&root);
    let counts = count_contracts(&root, None, &no_env).unwrap();
    assert_eq!(common::snapshot(&root), before);
    assert_eq!(counts.backend, BackendKind::UnifiedJson, "the default");
    assert_eq!((counts.production, counts.dev), (26, 0));
    assert_eq!(counts.production_per_chain(), FIXTURE_CHAINS);
    let files: Vec<&str> = counts
        .files_read
        .iter()
        .map(|f| f.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "basesepolia.unified.json",
            "bscmainnet.unified.json",
            "bsctestnet.unified.json",
            "optimismsepolia.unified.json",
            "sapphiremainnet.unified.json",
            "sapphiretestnet.unified.json"
        ],
        "every live file, the one claiming another chain too; no backup sprawl"
    );
    assert_eq!(counts.to_json()["filesRead"].as_array().unwrap().len(), 6);
    done(&root);
}

#[test]
fn count_follows_the_backend_selection_and_reads_a_live_leveldb_without_changing_it() {
    let fixtures = fixtures_or_skip!();
    let root = workspace(&fixtures, "cmp-count-select");
    let state_backend = |k: &str| (k == "STATE_BACKEND").then(|| "leveldb".to_string());
    let err = count_contracts(&root, None, &state_backend).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let live = root.join("leveldb");
    assert_eq!(
        err.details.path.as_deref(),
        Some(live.display().to_string().as_str())
    );
    assert!(err.message.contains("leveldb/current"), "{}", err.message);

    common::copy_tree(&backup_leveldb(&root), &live);
    let before = common::snapshot(&live);
    let force = |k: &str| (k == "FORCE_LEVELDB").then(|| "true".to_string());
    let counts = count_contracts(&root, None, &force).unwrap();
    assert_eq!(common::snapshot(&live), before, "counting changed leveldb/");
    assert_eq!(counts.backend, BackendKind::LevelDb);
    assert_eq!((counts.production, counts.dev), (26, 2));
    assert_eq!(counts.production_per_chain(), FIXTURE_CHAINS);

    let err = count_contracts(&root, Some(BackendKind::Json), &no_env).unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed);
    done(&root);
}

#[test]
fn fixture_comparison_shows_the_august_upgrades() {
    let fixtures = fixtures_or_skip!();
    let (root, cmp) = fixture_comparison(&fixtures, "cmp-upgrades");
    let s = &cmp.summary;
    assert_eq!(
        (s.contracts, s.matched, s.differs),
        (26, 9, 17),
        "{:?}",
        cmp.summary
    );
    assert_eq!((s.missing_in_unified, s.missing_in_leveldb), (0, 0));
    assert_eq!((s.comparisons, s.differing_comparisons), (31, 20));
    assert_eq!((s.duplicated_in_unified, s.dev_rows), (5, 2));

    let lookcoin = contract(&cmp, 97, "LookCoin");
    assert_eq!(lookcoin.status, Status::Differs);
    assert_eq!(lookcoin.pairs.len(), 1);
    let pair = &lookcoin.pairs[0];
    assert_eq!(pair.leveldb.location, "97-LookCoin");
    assert_eq!(pair.unified.file, "bsctestnet.unified.json");
    assert_eq!(
        fields(&pair.differences),
        ["address", "implementationHash", "factoryByteCodeHash"]
    );
    assert_eq!(
        pair.differences[0].leveldb,
        "0x5838A9f96E72eA83317D155F31AB660832533bAB"
    );
    assert_eq!(
        pair.differences[0].unified,
        "0x8335E3cF6f1ac39841deBA4033a93c81ab738443"
    );
    assert!(pair.timestamp.is_some(), "upgraded later: reported as info");

    let matched: Vec<String> = cmp.with_status(Status::Matched).map(|c| c.key()).collect();
    assert_eq!(matched.len(), 9);
    assert!(matched.iter().filter(|k| k.starts_with("56-")).count() == 8);
    assert!(matched.contains(&"97-HyperlaneModule".to_string()));

    let json = cmp.to_json();
    assert_eq!(json["summary"]["missingInLevelDB"], 0);
    assert_eq!(json["matched"].as_array().unwrap().len(), 9);
    let entry = json["differs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "97-LookCoin")
        .unwrap();
    assert_eq!(
        entry["comparisons"][0]["differences"][0],
        json!({"field": "address", "leveldb": "0x5838A9f96E72eA83317D155F31AB660832533bAB",
               "unified": "0x8335E3cF6f1ac39841deBA4033a93c81ab738443"})
    );
    assert_eq!(
        entry["comparisons"][0]["unified"]["file"],
        "bsctestnet.unified.json"
    );
    done(&root);
}

#[test]
fn fixture_cross_chain_router_on_97_is_compared_once_per_unified_name_and_flagged() {
    let fixtures = fixtures_or_skip!();
    let (root, cmp) = fixture_comparison(&fixtures, "cmp-router");
    let router = contract(&cmp, 97, "CrossChainRouter");
    assert_eq!(router, contract(&cmp, 97, QUALIFIED_ROUTER), "one contract");
    assert!(router.duplicate_names && !router.duplicate_files);
    let mut names: Vec<&str> = router.unified.iter().map(|u| u.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["CrossChainRouter", QUALIFIED_ROUTER]);
    assert_eq!(router.pairs.len(), 2);
    assert!(
        router.notes[0].contains("under 2 names"),
        "{:?}",
        router.notes
    );

    let plain: Vec<_> = router.pairs_for_unified_name("CrossChainRouter").collect();
    assert_eq!(plain.len(), 1);
    assert!(
        plain[0].differences.is_empty(),
        "{:?}",
        plain[0].differences
    );
    let qualified: Vec<_> = router.pairs_for_unified_name(QUALIFIED_ROUTER).collect();
    assert_eq!(qualified.len(), 1);
    let diffs = &qualified[0].differences;
    assert_eq!(
        fields(diffs),
        [
            "implementationHash",
            "factoryByteCodeHash",
            "deploymentArgs"
        ]
    );
    assert_eq!(
        diffs[0].unified,
        "0xaaede5bcc4b40312b824b3893db0b3046875de00768b58e3ff6f288059c1c45e"
    );
    assert_eq!(diffs[2].unified, json!([]), "the 4 args were lost");
    assert_eq!(diffs[2].leveldb.as_array().unwrap().len(), 4);
    for pair in &router.pairs {
        assert_eq!(pair.leveldb.location, format!("97-{QUALIFIED_ROUTER}"));
    }
    assert_eq!(router.status, Status::Differs);

    let mainnet = contract(&cmp, 56, "CrossChainRouter");
    assert_eq!(mainnet.status, Status::Matched);
    assert!(mainnet.duplicate_names);
    assert_eq!(mainnet.unified.iter().filter(|u| u.alias).count(), 1);
    done(&root);
}

#[test]
fn fixture_network_name_spellings_are_not_differences() {
    let fixtures = fixtures_or_skip!();
    let (root, cmp) = fixture_comparison(&fixtures, "cmp-spellings");
    // The LevelDB really spells these networks the Hardhat way.
    let spelled: Vec<(String, String)> = read_copy(&backup_leveldb(&root))
        .unwrap()
        .into_iter()
        .map(|e| (e.location, e.record.unwrap().network_name))
        .collect();
    for (key, spelling) in [
        ("56-FeeManager", "bsc"),
        ("97-HyperlaneModule", "bscTestnet"),
        ("84532-LayerZeroModule", "baseSepolia"),
        ("11155420-LayerZeroModule", "opSepolia"),
    ] {
        assert!(
            spelled.contains(&(key.to_string(), spelling.to_string())),
            "{key}"
        );
    }
    assert_eq!(contract(&cmp, 56, "FeeManager").status, Status::Matched);
    assert_eq!(
        contract(&cmp, 97, "HyperlaneModule").status,
        Status::Matched
    );
    for c in &cmp.contracts {
        for pair in &c.pairs {
            let network_differs = pair.differences.iter().any(|d| d.field == "networkName");
            // Only a real mislabel remains: LevelDB says sapphiremainnet (chain 23294) for chain
            // 23295 records, which sapphiretestnet.unified.json names correctly.
            let mislabel =
                c.chain_id == 23295 && pair.unified.file == "sapphiretestnet.unified.json";
            assert_eq!(
                network_differs,
                mislabel,
                "{} {}",
                c.key(),
                pair.unified.file
            );
        }
    }
    done(&root);
}

#[test]
fn fixture_dev_rows_are_apart_and_both_sapphire_files_are_read() {
    let fixtures = fixtures_or_skip!();
    let (root, cmp) = fixture_comparison(&fixtures, "cmp-dev");
    let dev: Vec<(&str, u64, &str)> = cmp
        .dev
        .iter()
        .map(|d| (d.store, d.chain_id, d.source.name.as_str()))
        .collect();
    assert_eq!(
        dev,
        [
            ("leveldb", 31337, "LookCoin"),
            ("leveldb", 31337, "SupplyOracle")
        ]
    );
    assert!(cmp.contracts.iter().all(|c| c.chain_id != 31337));
    assert_eq!(cmp.to_json()["dev"].as_array().unwrap().len(), 2);

    assert_eq!(cmp.unified_files.len(), 6);
    for name in ["LookCoin", "SupplyOracle", "CelerIMModule"] {
        let c = contract(&cmp, 23295, name);
        assert!(c.duplicate_files && !c.duplicate_names, "{name}");
        let files: Vec<&str> = c.pairs.iter().map(|p| p.unified.file.as_str()).collect();
        assert_eq!(
            files,
            [
                "sapphiremainnet.unified.json",
                "sapphiretestnet.unified.json"
            ]
        );
        assert!(c.notes[0].contains("2 unified files"), "{:?}", c.notes);
    }
    let notes = cmp.notes.join("\n");
    assert!(
        notes.contains("sapphiremainnet.unified.json claims chainId 23295"),
        "{notes}"
    );
    assert!(
        notes.contains("chain 23295 is claimed by 2 files"),
        "{notes}"
    );
    done(&root);
}

// ---------------------------------------------------------------------------------------
// Purpose-built stores
// ---------------------------------------------------------------------------------------

fn hex(seed: &str, digits: usize) -> String {
    let body: String = seed
        .bytes()
        .map(|b| format!("{:x}", b % 16))
        .cycle()
        .take(digits)
        .collect();
    format!("0x{body}")
}

fn record(chain_id: u64, name: &str, network: &str) -> ContractRecord {
    let hash = hex(&format!("hash{name}"), 64);
    ContractRecord {
        contract_name: name.into(),
        chain_id,
        network_name: network.into(),
        address: hex(&format!("impl{chain_id}{name}"), 40),
        factory_byte_code_hash: hash.clone(),
        implementation_hash: Some(hash),
        proxy_address: Some(hex(&format!("proxy{chain_id}{name}"), 40)),
        deployment_args: (name == "SecurityManager")
            .then(|| vec![json!(hex("vault", 40)), json!("20000000000000000000000000")]),
        timestamp: 1_754_000_000_000 + chain_id,
    }
}

fn by_chain(records: &[ContractRecord]) -> Vec<(u64, Vec<ContractRecord>)> {
    let mut out: Vec<(u64, Vec<ContractRecord>)> = Vec::new();
    for r in records {
        match out.iter_mut().find(|(id, _)| *id == r.chain_id) {
            Some((_, list)) => list.push(r.clone()),
            None => out.push((r.chain_id, vec![r.clone()])),
        }
    }
    out
}

fn write_leveldb(root: &Path, records: &[ContractRecord]) {
    let db = LevelDbBackend::open(&root.join("leveldb"), OpenMode::CreateIfMissing).unwrap();
    for (chain_id, batch) in by_chain(records) {
        db.put_batch(chain_id, &batch).unwrap();
    }
    db.close().unwrap();
}

fn write_unified(root: &Path, records: &[ContractRecord]) {
    let dir = root.join("deployments/unified");
    let store = UnifiedBackend::open(&dir, ChainMap::default(), Duration::from_secs(5)).unwrap();
    for (chain_id, batch) in by_chain(records) {
        store.put_batch(chain_id, &batch).unwrap();
    }
}

#[test]
fn identical_stores_compare_all_matched_and_count_alike() {
    let root = common::temp_dir("cmp-identical");
    let records = vec![
        record(97, "LookCoin", "bscTestnet"),
        record(97, "SecurityManager", "bscTestnet"),
        record(56, "FeeManager", "bsc"),
    ];
    let mut with_dev = records.clone();
    with_dev.push(record(31337, "LookCoin", "test"));
    write_leveldb(&root, &with_dev);
    write_unified(&root, &records);
    let before = common::snapshot(&root);
    let cmp = compare_backends(&root, None).unwrap();
    let leveldb = count_contracts(&root, Some(BackendKind::LevelDb), &no_env).unwrap();
    let unified = count_contracts(&root, Some(BackendKind::UnifiedJson), &no_env).unwrap();
    assert_eq!(common::snapshot(&root), before, "nothing may change");

    let s = &cmp.summary;
    assert_eq!((s.contracts, s.matched, s.comparisons), (3, 3, 3), "{s:?}");
    assert_eq!((s.differs, s.timestamp_differences, s.dev_rows), (0, 0, 1));
    assert!(cmp.notes.is_empty(), "{:?}", cmp.notes);
    assert_eq!(cmp.dev[0].source.location, "31337-LookCoin");
    assert_eq!(
        leveldb.production_per_chain(),
        unified.production_per_chain()
    );
    assert_eq!((leveldb.production, leveldb.dev), (3, 1));
    assert_eq!((unified.production, unified.dev), (3, 0));
    done(&root);
}

#[test]
fn records_in_one_store_only_are_missing_in_the_other() {
    let root = common::temp_dir("cmp-missing");
    write_leveldb(
        &root,
        &[
            record(97, "LookCoin", "bscTestnet"),
            record(97, "FeeManager", "bscTestnet"),
        ],
    );
    write_unified(
        &root,
        &[
            record(97, "FeeManager", "bsctestnet"),
            record(84532, "LookCoin", "baseSepolia"),
        ],
    );
    let cmp = compare_backends(&root, None).unwrap();
    assert_eq!(
        contract(&cmp, 97, "LookCoin").status,
        Status::MissingInUnified
    );
    assert_eq!(contract(&cmp, 97, "FeeManager").status, Status::Matched);
    let only_unified = contract(&cmp, 84532, "LookCoin");
    assert_eq!(only_unified.status, Status::MissingInLevelDb);
    assert!(only_unified.pairs.is_empty() && only_unified.leveldb.is_empty());
    assert_eq!(only_unified.unified[0].file, "basesepolia.unified.json");
    let s = &cmp.summary;
    assert_eq!(
        (s.matched, s.missing_in_unified, s.missing_in_leveldb),
        (1, 1, 1)
    );
    let json = cmp.to_json();
    assert_eq!(json["missingInUnified"][0]["key"], "97-LookCoin");
    assert_eq!(json["missingInLevelDB"][0]["key"], "84532-LookCoin");
    assert_eq!(json["missingInLevelDB"][0]["status"], "missingInLevelDB");
    done(&root);
}

#[test]
fn a_differing_hash_is_reported_with_both_values_and_timestamps_only_as_info() {
    let root = common::temp_dir("cmp-hash");
    let lookcoin = record(97, "LookCoin", "bscTestnet");
    let oracle = record(97, "SupplyOracle", "bscTestnet");
    write_leveldb(&root, &[lookcoin.clone(), oracle.clone()]);
    let mut changed = lookcoin.clone();
    changed.implementation_hash = Some(hex("other", 64));
    let mut later = oracle.clone();
    later.timestamp += 60_000;
    write_unified(&root, &[changed.clone(), later.clone()]);

    let cmp = compare_backends(&root, None).unwrap();
    let c = contract(&cmp, 97, "LookCoin");
    assert_eq!(c.status, Status::Differs);
    let diffs = &c.pairs[0].differences;
    assert_eq!(fields(diffs), ["implementationHash"]);
    assert_eq!(
        (diffs[0].leveldb.clone(), diffs[0].unified.clone()),
        (
            Value::from(lookcoin.implementation_hash.unwrap()),
            Value::from(changed.implementation_hash.unwrap())
        )
    );
    let o = contract(&cmp, 97, "SupplyOracle");
    assert_eq!(o.status, Status::Matched, "a timestamp is not a difference");
    let t = o.pairs[0].timestamp.unwrap();
    assert_eq!((t.leveldb, t.unified), (oracle.timestamp, later.timestamp));
    let s = &cmp.summary;
    assert_eq!((s.matched, s.differs, s.timestamp_differences), (1, 1, 1));
    done(&root);
}

#[test]
fn missing_stores_are_errors_naming_the_path() {
    let root = common::temp_dir("cmp-errors");
    let err = compare_backends(&root, None).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(err.details.path.unwrap().ends_with("leveldb"));
    write_leveldb(&root, &[record(97, "LookCoin", "bscTestnet")]);
    let err = compare_backends(&root, None).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(err.details.path.unwrap().ends_with("deployments/unified"));
    assert!(err.message.contains("project root"), "{}", err.message);
    done(&root);
}
