//! Crash campaigns for backup create, concurrent unified writes and a LevelDB writer (the
//! rollback's own campaign is in rollback_fixtures.rs): child processes are killed with SIGKILL
//! at seeded random instants, then the state on disk is checked against what the children
//! acknowledged.
//!
//! `LCS_CRASH_RUNS` (default 16) sets the number of kills per campaign, `LCS_CRASH_SEED` the
//! seed; every run prints its seed and delay so a failure replays.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use lookcoin_state::backend::leveldb::read_copy;
use lookcoin_state::backend::BackendKind;
use lookcoin_state::backup::{
    create_backup, list_backups, no_progress, prune_backups, verify_backup, CreateOptions,
    PruneOptions, VerifyStatus,
};
use lookcoin_state::record::ContractRecord;
use lookcoin_state::store::{StateStore, StoreConfig};
use lookcoin_state::ErrorCode;

const FIXTURE_BACKUP: &str = "migration-2025-08-13T11-26-18-516Z";
/// Records in the fixture's live LevelDB.
const LIVE_RECORDS: usize = 28;

fn runs() -> u64 {
    std::env::var("LCS_CRASH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(16)
}

fn seed() -> u64 {
    std::env::var("LCS_CRASH_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20261126)
}

/// A tiny seeded generator, so a failing kill instant can be replayed.
fn next_random(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

/// The fixture workspace with the fixture's live LevelDB in `leveldb/`.
fn workspace(name: &str) -> Option<PathBuf> {
    let fixtures = common::fixtures()?;
    let root = common::temp_dir(name);
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    common::copy_tree(
        &fixtures.join("lookcoin-leveldb-live"),
        &root.join("leveldb"),
    );
    Some(root)
}

/// Every file of the live state (everything but `backups/`), with its bytes.
fn live_state(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    common::snapshot(root)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(root.join("backups")))
        .collect()
}

fn spawn_child(test: &str, envs: &[(&str, String)]) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in envs {
        command.env(key, value);
    }
    command.spawn().unwrap()
}

/// Child side of the backup campaign: creates backups one after another until it is killed.
#[test]
fn backup_child() {
    let Ok(root) = std::env::var("LCS_BACKUP_CHILD_ROOT") else {
        return;
    };
    let options = CreateOptions {
        root: PathBuf::from(root),
        kind: "manual".into(),
        label: Some("crash campaign".into()),
        include_unified_history: false,
        ..Default::default()
    };
    // The harness has printed "test <name> ... " without a newline: end that line, or the
    // first acknowledgement would be glued to it and missed.
    println!();
    for _ in 0..10_000 {
        match create_backup(&options, &no_progress) {
            Ok(created) => println!("created {}", created.path.display()),
            // Two creates in one millisecond get the same folder name; the second is refused.
            Err(e) if e.code == ErrorCode::Conflict => {}
            Err(e) => panic!("create failed: {e}"),
        }
    }
}

#[test]
fn a_backup_create_killed_at_random_instants_leaves_only_complete_or_refused_backups() {
    let Some(_) = common::fixtures() else { return };
    let seed = seed();
    let mut state = seed;
    for run in 0..runs() {
        let delay = next_random(&mut state) % 400;
        eprintln!("backup crash run {run}: kill after {delay} ms (replay: LCS_CRASH_SEED={seed})");
        let root = workspace("backup-kill").unwrap();
        let live_before = live_state(&root);
        let mut child = spawn_child(
            "backup_child",
            &[("LCS_BACKUP_CHILD_ROOT", root.display().to_string())],
        );
        let stdout = child.stdout.take().unwrap();
        let acked = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("created ").map(PathBuf::from))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        let acked = acked.join().unwrap();
        let context = format!("run {run}, kill after {delay} ms, seed {seed}");

        assert_eq!(
            live_state(&root),
            live_before,
            "a backup changed the live state ({context})"
        );
        let mut incomplete = Vec::new();
        // The fixture's own backup (made by the old tool, known INCOMPLETE) is not ours to judge.
        for listing in list_backups(&root)
            .unwrap()
            .into_iter()
            .filter(|b| b.id != FIXTURE_BACKUP)
        {
            let report = verify_backup(&listing.path, true, &no_progress).unwrap();
            if listing.complete {
                assert_eq!(
                    report.status,
                    VerifyStatus::Passed,
                    "{} is listed complete but does not verify: {:?} ({context})",
                    listing.id,
                    report.problems
                );
                assert_eq!(report.rollback_ready, Some(true), "{context}");
                let copy = read_copy(&listing.path.join("leveldb/current")).unwrap();
                assert_eq!(copy.len(), LIVE_RECORDS, "{} ({context})", listing.id);
                assert!(copy.iter().all(|e| e.record.is_ok()), "{context}");
            } else {
                assert_ne!(
                    report.status,
                    VerifyStatus::Passed,
                    "an interrupted backup passed verification ({context})"
                );
                assert_ne!(report.rollback_ready, Some(true), "{context}");
                incomplete.push(listing.id);
            }
        }
        for path in &acked {
            assert!(
                path.join("BACKUP_MANIFEST.json").is_file(),
                "acknowledged backup {} is not complete ({context})",
                path.display()
            );
        }
        eprintln!(
            "  acknowledged backups: {}, interrupted: {incomplete:?}",
            acked.len()
        );
        assert!(
            incomplete.len() <= 1,
            "one create at a time, yet {incomplete:?} are incomplete ({context})"
        );
        // The live LevelDB still opens with every record after the kill.
        let mut config = StoreConfig::new(&root);
        config.backend = Some(BackendKind::LevelDb);
        let store = StateStore::with_env(config, &|_| None).unwrap();
        store.initialize().unwrap();
        let report = store.validate_integrity().unwrap();
        assert_eq!(report.contract_count, LIVE_RECORDS, "{context}");
        store.close().unwrap();

        // The documented cleanup of interrupted backups: prune removes them and any trash.
        let pruned = prune_backups(
            &root,
            PruneOptions {
                keep: 100_000,
                dry_run: false,
            },
        )
        .unwrap();
        let removed: Vec<&String> = pruned.removed.iter().map(|(id, _)| id).collect();
        assert_eq!(removed, incomplete.iter().collect::<Vec<_>>(), "{context}");
        assert!(
            list_backups(&root)
                .unwrap()
                .iter()
                .all(|b| b.complete || b.id == FIXTURE_BACKUP),
            "{context}"
        );
        assert_eq!(
            common::leftovers(&root),
            Vec::<PathBuf>::new(),
            "temp or trash left after prune ({context})"
        );
        // And the next create works.
        let next = create_backup(
            &CreateOptions {
                root: root.clone(),
                kind: "manual".into(),
                label: None,
                include_unified_history: false,
                ..Default::default()
            },
            &no_progress,
        )
        .unwrap();
        let verified = verify_backup(&next.path, true, &no_progress).unwrap();
        assert_eq!(verified.status, VerifyStatus::Passed, "{context}");
        fs::remove_dir_all(&root).unwrap();
    }
}

/// Writers per unified crash run.
const CRASH_WRITERS: usize = 3;
/// The fixture's bsctestnet file.
const CHAIN: u64 = 97;
const CHAIN_FILE: &str = "deployments/unified/bsctestnet.unified.json";

/// Batch `batch` of `writer`: 1 to 3 records (single puts and putContracts both run).
fn batch_records(writer: usize, batch: usize) -> Vec<ContractRecord> {
    (0..1 + batch % 3)
        .map(|i| {
            let n = writer * 1_000_000 + batch * 10 + i + 1;
            ContractRecord {
                contract_name: format!("Crash{writer}B{batch}R{i}"),
                chain_id: CHAIN,
                network_name: "bsctestnet".into(),
                address: format!("0x{n:040x}"),
                factory_byte_code_hash: format!("0x{n:064x}"),
                implementation_hash: None,
                proxy_address: None,
                deployment_args: None,
                timestamp: 1_764_000_000_000 + n as u64,
            }
        })
        .collect()
}

/// Child side of the unified campaign: writes batches until killed, printing each acknowledged one.
#[test]
fn unified_writer_child() {
    let (Ok(root), Ok(writer)) = (
        std::env::var("LCS_UNIFIED_CHILD_ROOT"),
        std::env::var("LCS_UNIFIED_CHILD"),
    ) else {
        return;
    };
    let writer: usize = writer.parse().unwrap();
    let store = common::open_store(
        Path::new(&root),
        BackendKind::UnifiedJson,
        Some(Duration::from_secs(60)),
    );
    write_until_killed(&store, writer);
}

/// Writes batches for `writer` until the process is killed, printing each acknowledged one.
fn write_until_killed(store: &StateStore, writer: usize) {
    let mut out = std::io::stdout().lock();
    // The harness has printed "test <name> ... " without a newline: end that line, or the
    // first acknowledgement would be glued to it and missed.
    writeln!(out).unwrap();
    for batch in 0..100_000 {
        let records = batch_records(writer, batch);
        if records.len() == 1 {
            store
                .put_contract(CHAIN, records.into_iter().next().unwrap())
                .unwrap();
        } else {
            store.put_contracts(CHAIN, records).unwrap();
        }
        writeln!(out, "ack {batch}").unwrap();
        out.flush().unwrap();
    }
}

fn file_version(root: &Path) -> u64 {
    let doc: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join(CHAIN_FILE)).unwrap()).unwrap();
    doc["fileVersion"].as_u64().unwrap()
}

#[test]
fn unified_writers_killed_at_random_instants_keep_every_acknowledged_write() {
    let Some(_) = common::fixtures() else { return };
    let seed = seed();
    let mut state = seed ^ 0x756e6966;
    for run in 0..runs() {
        let delay = next_random(&mut state) % 600;
        eprintln!("unified crash run {run}: kill after {delay} ms (replay: LCS_CRASH_SEED={seed})");
        let context = format!("run {run}, kill after {delay} ms, seed {seed}");
        let root = workspace("unified-kill").unwrap();
        let before = common::open_store(
            &root,
            BackendKind::UnifiedJson,
            Some(Duration::from_secs(60)),
        );
        let errors_before = before.validate_integrity().unwrap().errors;
        let names_before: BTreeSet<String> = before
            .get_all_contracts(CHAIN)
            .unwrap()
            .into_iter()
            .map(|r| r.contract_name)
            .collect();
        before.close().unwrap();
        let version_before = file_version(&root);
        let mut children: Vec<_> = (0..CRASH_WRITERS)
            .map(|writer| {
                spawn_child(
                    "unified_writer_child",
                    &[
                        ("LCS_UNIFIED_CHILD_ROOT", root.display().to_string()),
                        ("LCS_UNIFIED_CHILD", writer.to_string()),
                    ],
                )
            })
            .collect();
        let readers: Vec<_> = children
            .iter_mut()
            .map(|child| {
                let stdout = child.stdout.take().unwrap();
                std::thread::spawn(move || {
                    BufReader::new(stdout)
                        .lines()
                        .map_while(Result::ok)
                        .filter_map(|l| l.strip_prefix("ack ")?.parse::<usize>().ok())
                        .max()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(delay));
        for child in &mut children {
            child.kill().unwrap();
        }
        for child in &mut children {
            child.wait().unwrap();
        }
        // Batches 0..acked[w] were acknowledged; batch acked[w] may or may not have landed.
        let acked: Vec<usize> = readers
            .into_iter()
            .map(|r| r.join().unwrap().map_or(0, |last| last + 1))
            .collect();
        eprintln!("  acknowledged batches per writer: {acked:?}");

        let text = fs::read_to_string(root.join(CHAIN_FILE)).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{CHAIN_FILE} does not parse ({context}): {e}"));
        for entry in fs::read_dir(root.join("deployments/unified")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".json") && !name.starts_with('.') {
                serde_json::from_slice::<serde_json::Value>(&fs::read(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{name} does not parse ({context}): {e}"));
            }
        }
        let store = common::open_store(
            &root,
            BackendKind::UnifiedJson,
            Some(Duration::from_secs(60)),
        );
        let present: BTreeSet<String> = store
            .get_all_contracts(CHAIN)
            .unwrap()
            .into_iter()
            .map(|r| r.contract_name)
            .collect();
        assert!(
            present.is_superset(&names_before),
            "a record that was there before is gone ({context})"
        );
        // Per batch: all of its records or none (batches are atomic), and every acknowledged one.
        let mut landed_batches = 0u64;
        let mut landed_records = 0;
        for (writer, &acked_batches) in acked.iter().enumerate() {
            for batch in 0..=acked_batches {
                let names: Vec<String> = batch_records(writer, batch)
                    .into_iter()
                    .map(|r| r.contract_name)
                    .collect();
                let found = names.iter().filter(|n| present.contains(*n)).count();
                assert!(
                    found == 0 || found == names.len(),
                    "batch {batch} of writer {writer} is half there ({found}/{}) ({context})",
                    names.len()
                );
                if batch < acked_batches {
                    assert_eq!(
                        found,
                        names.len(),
                        "acknowledged batch {batch} of writer {writer} is lost ({context})"
                    );
                }
                if found > 0 {
                    landed_batches += 1;
                    landed_records += found;
                }
            }
        }
        assert_eq!(
            present.len(),
            names_before.len() + landed_records,
            "records nobody wrote ({context})"
        );
        assert_eq!(
            doc["fileVersion"].as_u64().unwrap(),
            version_before + landed_batches,
            "fileVersion is not one per landed write ({context})"
        );
        // The next write works, bumps fileVersion once, and no killed writer's temp file survives it.
        store
            .put_contract(CHAIN, batch_records(99, 0).remove(0))
            .unwrap();
        assert_eq!(
            file_version(&root),
            version_before + landed_batches + 1,
            "{context}"
        );
        assert_eq!(
            common::leftovers(&root.join("deployments")),
            Vec::<PathBuf>::new(),
            "temp files left after the next write ({context})"
        );
        let report = store.validate_integrity().unwrap();
        assert_eq!(
            report.errors, errors_before,
            "the writes made the store invalid ({context})"
        );
        store.close().unwrap();
        fs::remove_dir_all(&root).unwrap();
    }
}

#[test]
fn a_unified_write_removes_the_temp_files_of_killed_writers_only() {
    let root = common::temp_dir("stale-temps");
    let store = common::open_store(
        &root,
        BackendKind::UnifiedJson,
        Some(Duration::from_secs(60)),
    );
    store
        .put_contract(CHAIN, batch_records(0, 0).remove(0))
        .unwrap();
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let dir = root.join("deployments/unified");
    let stale = dir.join(format!(".bsctestnet.unified.json.tmp-{dead_pid}-0-17"));
    let live = dir.join(format!(
        ".bsctestnet.unified.json.tmp-{}-0-17",
        std::process::id()
    ));
    fs::write(&stale, "half a file").unwrap();
    fs::write(&live, "a write in progress").unwrap();
    store
        .put_contract(CHAIN, batch_records(0, 1).remove(0))
        .unwrap();
    assert!(
        !stale.exists(),
        "a dead writer's temp file survived a write"
    );
    assert!(live.exists(), "a live writer's temp file was removed");
    store.close().unwrap();
    fs::remove_dir_all(&root).unwrap();
}

/// Child side of the LevelDB campaign: one process (LevelDB admits one) writing batches until killed.
#[test]
fn leveldb_writer_child() {
    let Ok(root) = std::env::var("LCS_LEVELDB_CHILD_ROOT") else {
        return;
    };
    let store = common::open_store(Path::new(&root), BackendKind::LevelDb, None);
    write_until_killed(&store, 0);
}

#[test]
fn a_leveldb_writer_killed_at_random_instants_keeps_every_acknowledged_batch() {
    let Some(_) = common::fixtures() else { return };
    let seed = seed();
    let mut state = seed ^ 0x6c766c64;
    for run in 0..runs() {
        let delay = next_random(&mut state) % 600;
        eprintln!("leveldb crash run {run}: kill after {delay} ms (replay: LCS_CRASH_SEED={seed})");
        let context = format!("run {run}, kill after {delay} ms, seed {seed}");
        let root = workspace("leveldb-kill").unwrap();
        let mut child = spawn_child(
            "leveldb_writer_child",
            &[("LCS_LEVELDB_CHILD_ROOT", root.display().to_string())],
        );
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("ack ")?.parse::<usize>().ok())
                .max()
        });
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        let acked = reader.join().unwrap().map_or(0, |last| last + 1);
        eprintln!("  acknowledged batches: {acked}");

        let store = common::open_store(&root, BackendKind::LevelDb, None);
        let report = store.validate_integrity().unwrap();
        assert!(report.is_valid, "{:?} ({context})", report.errors);
        let present: BTreeSet<String> = store
            .get_all_contracts(CHAIN)
            .unwrap()
            .into_iter()
            .map(|r| r.contract_name)
            .collect();
        let mut landed_records = 0;
        for batch in 0..=acked {
            let names: Vec<String> = batch_records(0, batch)
                .into_iter()
                .map(|r| r.contract_name)
                .collect();
            let found = names.iter().filter(|n| present.contains(*n)).count();
            assert!(
                found == 0 || found == names.len(),
                "batch {batch} is half there ({found}/{}) ({context})",
                names.len()
            );
            assert!(
                batch == acked || found == names.len(),
                "acknowledged batch {batch} is lost ({context})"
            );
            landed_records += found;
        }
        assert_eq!(
            report.contract_count,
            LIVE_RECORDS + landed_records,
            "records nobody wrote ({context})"
        );
        // The reopened store takes writes again, and they survive another reopen.
        store
            .put_contract(CHAIN, batch_records(99, 0).remove(0))
            .unwrap();
        store.close().unwrap();
        let again = common::open_store(&root, BackendKind::LevelDb, None);
        assert_eq!(
            again.validate_integrity().unwrap().contract_count,
            LIVE_RECORDS + landed_records + 1,
            "{context}"
        );
        again.close().unwrap();
        fs::remove_dir_all(&root).unwrap();
    }
}
