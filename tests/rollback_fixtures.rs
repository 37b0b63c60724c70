//! The emergency rollback on copies of the real fixture workspace: the happy path, every
//! refusal (with the workspace byte-identical afterwards), undo, and a crash at every
//! journal step followed by a resume.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use lookcoin_state::backend::leveldb::read_copy;
use lookcoin_state::rollback::{
    assess_emergency, emergency_rollback, regenerate_unified, validate_rollback, Event,
    Expectation, RollbackOptions,
};
use lookcoin_state::ErrorCode;

const BACKUP_ID: &str = "migration-2025-08-13T11-26-18-516Z";
const LOCAL_DEPLOYMENT: &str = "{\"network\":\"localhost\",\"chainId\":31337}";

fn workspace(name: &str) -> Option<PathBuf> {
    let fixtures = common::fixtures()?;
    let root = common::temp_dir(name);
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    // A deployment made after the backup: a rollback must leave it alone.
    fs::write(root.join("deployments/localhost.json"), LOCAL_DEPLOYMENT).unwrap();
    Some(root)
}

fn forced(root: &Path) -> RollbackOptions {
    RollbackOptions {
        root: root.to_path_buf(),
        force: true,
        ..Default::default()
    }
}

fn quiet(_: &Event) {}

/// The (key, value) pairs of a LevelDB folder.
fn pairs(dir: &Path) -> Vec<(String, String)> {
    read_copy(dir)
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.location,
                e.record
                    .unwrap()
                    .to_leveldb_value()
                    .escape_ascii()
                    .to_string(),
            )
        })
        .collect()
}

/// Asserts the workspace is in exactly the state a finished rollback leaves.
fn assert_rolled_back(root: &Path, incident: &str) {
    let backup = root.join("backups").join(BACKUP_ID);
    assert_eq!(
        pairs(&root.join("leveldb")),
        pairs(&backup.join("leveldb/current"))
    );
    assert_eq!(pairs(&root.join("leveldb")).len(), 28);
    for name in [
        "basesepolia.json",
        "bscmainnet.json",
        "bsctestnet.json",
        "optimismsepolia.json",
        "sapphiremainnet.json",
        "sapphiretestnet.json",
    ] {
        let restored = root.join("deployments").join(name);
        assert_eq!(
            fs::read(&restored).unwrap(),
            fs::read(backup.join("legacy-json").join(name)).unwrap(),
            "{name}"
        );
        assert_eq!(
            fs::metadata(&restored).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }
    assert!(
        !root.join("deployments/enhanced-bscmainnet.json").exists(),
        "stale files are not resurrected"
    );
    let local = fs::read_to_string(root.join("deployments/localhost.json")).unwrap();
    assert_eq!(local, LOCAL_DEPLOYMENT, "files not in the backup are kept");
    let env = fs::read_to_string(root.join(".env.emergency")).unwrap();
    assert!(env.contains("STATE_BACKEND=leveldb") && env.contains("FORCE_LEVELDB=true"));
    assert!(!root.join(".emergency-stop").exists());
    let dir = root.join("logs/incidents").join(incident);
    let log = fs::read_to_string(dir.join("rollback.log")).unwrap();
    assert!(log.contains("SUCCESS"), "{log}");
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("rollback-report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "SUCCESS");
    assert_eq!(report["contracts"]["production"], 26);
    assert!(fs::read_to_string(dir.join("rollback-report.md"))
        .unwrap()
        .contains("Actions required"));
    let leftovers: Vec<String> = fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".leveldb.staging") || n.starts_with(".trash"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    for dir in [root.to_path_buf(), root.join("deployments"), dir.clone()] {
        let temps: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(
            temps.is_empty(),
            "temp files left in {}: {temps:?}",
            dir.display()
        );
    }
    for backup in fs::read_dir(root.join("backups")).unwrap().flatten() {
        let name = backup.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            assert!(
                backup.path().join("BACKUP_MANIFEST.json").is_file(),
                "incomplete backup {name} left"
            );
        }
    }
    let validation = validate_rollback(
        root,
        Expectation {
            contracts: Some(26),
            chains: Some(5),
            ..Default::default()
        },
        &|_| None,
    )
    .unwrap();
    assert!(validation.ok, "{:?}", validation.checks);
}

#[test]
fn a_forced_rollback_restores_28_records_and_switches_every_caller_to_leveldb() {
    let Some(root) = workspace("rollback") else {
        return;
    };
    let bsctestnet_before = fs::read(root.join("deployments/bsctestnet.json")).unwrap();
    let mut options = forced(&root);
    options.incident_id = Some("INC-TEST-1".into());
    let outcome = emergency_rollback(&options, &quiet).unwrap();
    assert_eq!(outcome.status, "succeeded");
    assert_rolled_back(&root, "INC-TEST-1");
    let kept = root.join("logs/incidents/INC-TEST-1/replaced/deployments/bsctestnet.json");
    assert_eq!(
        fs::read(kept).unwrap(),
        bsctestnet_before,
        "the replaced file is kept"
    );
    let pre = outcome.report.as_ref().unwrap()["preRollbackBackup"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pre.starts_with("backups/emergency-rollback-INC-TEST-1-"));
    let pre_report = lookcoin_state::backup::verify_backup(
        &root.join(&pre),
        true,
        &lookcoin_state::backup::no_progress,
    )
    .unwrap();
    assert_eq!(
        pre_report.status,
        lookcoin_state::backup::VerifyStatus::Passed
    );
    let store =
        lookcoin_state::store::StateStore::new(lookcoin_state::store::StoreConfig::new(&root))
            .unwrap();
    assert_eq!(store.backend_type(), "leveldb");
    store.initialize().unwrap();
    let lookcoin = store.get_contract(97, "LookCoin").unwrap().unwrap();
    assert_eq!(
        lookcoin.address,
        "0x5838A9f96E72eA83317D155F31AB660832533bAB"
    );
    store.close().unwrap();
}

#[test]
fn a_dry_run_plans_every_path_and_writes_nothing() {
    let Some(root) = workspace("dry-run") else {
        return;
    };
    let before = common::snapshot(&root);
    let mut options = forced(&root);
    options.dry_run = true;
    let outcome = emergency_rollback(&options, &quiet).unwrap();
    assert_eq!(common::snapshot(&root), before);
    assert!(!root.join("logs").exists());
    let plan = outcome.plan.unwrap();
    assert_eq!(plan.backup.backup_id, BACKUP_ID);
    assert_eq!(plan.after.total, 28);
    assert_eq!(plan.unified_before, Some(26));
    let ops: Vec<(String, &str)> = plan
        .actions
        .iter()
        .map(|a| (a.path.clone(), a.op.as_str()))
        .collect();
    for expected in [
        ("leveldb/".to_string(), "create"),
        ("deployments/bscmainnet.json".into(), "create"),
        ("deployments/bsctestnet.json".into(), "replace"),
        ("deployments/optimismsepolia.json".into(), "replace"),
        ("deployments/localhost.json".into(), "keep"),
        (".env.emergency".into(), "create"),
    ] {
        assert!(
            ops.contains(&(expected.0.clone(), expected.1)),
            "{expected:?} not in {ops:?}"
        );
    }
}

#[test]
fn without_force_only_the_reviewed_plan_runs() {
    let Some(root) = workspace("confirm") else {
        return;
    };
    let before = common::snapshot(&root);
    let mut options = forced(&root);
    options.force = false;
    let err = emergency_rollback(&options, &quiet).unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed);
    options.confirmed_plan = Some("0123456789abcdef".into());
    let err = emergency_rollback(&options, &quiet).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert_eq!(common::snapshot(&root), before);
    options.dry_run = true;
    let plan_id = emergency_rollback(&options, &quiet)
        .unwrap()
        .plan
        .unwrap()
        .plan_id;
    options.dry_run = false;
    options.confirmed_plan = Some(plan_id);
    assert_eq!(
        emergency_rollback(&options, &quiet).unwrap().status,
        "succeeded"
    );
}

#[test]
fn a_tampered_backup_is_refused_and_nothing_changes() {
    let Some(root) = workspace("tampered") else {
        return;
    };
    let table = root
        .join("backups")
        .join(BACKUP_ID)
        .join("leveldb/current/000188.ldb");
    let mut bytes = fs::read(&table).unwrap();
    bytes[100] ^= 0x20;
    fs::write(&table, bytes).unwrap();
    let before = common::snapshot(&root);
    let err = emergency_rollback(&forced(&root), &quiet).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound, "{}", err.message);
    assert!(err.message.contains("mismatch"), "{}", err.message);
    let mut named = forced(&root);
    named.backup = Some(PathBuf::from("backups").join(BACKUP_ID));
    let err = emergency_rollback(&named, &quiet).unwrap_err();
    assert_eq!(err.code, ErrorCode::Corrupt);
    let after = common::snapshot(&root);
    let changed: Vec<_> = after
        .iter()
        .filter(|f| !before.contains(f))
        .chain(before.iter().filter(|f| !after.contains(f)))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(changed.is_empty(), "changed: {changed:?}");
}

#[test]
fn a_leveldb_held_by_another_process_stops_the_rollback_before_any_change() {
    let Some(root) = workspace("held") else {
        return;
    };
    let fixtures = common::fixtures().unwrap();
    common::copy_tree(
        &fixtures.join("lookcoin-leveldb-live"),
        &root.join("leveldb"),
    );
    let held = lookcoin_state::durable::FileLock::try_acquire(&root.join("leveldb/LOCK")).unwrap();
    let before = common::snapshot(&root);
    let err = emergency_rollback(&forced(&root), &quiet).unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked);
    assert!(err.message.contains("leveldb/LOCK"), "{}", err.message);
    assert_eq!(common::snapshot(&root), before);
    drop(held);
}

#[test]
fn a_failure_after_the_swap_puts_the_old_state_back() {
    let Some(root) = workspace("undo") else {
        return;
    };
    let fixtures = common::fixtures().unwrap();
    common::copy_tree(
        &fixtures.join("lookcoin-leveldb-live"),
        &root.join("leveldb"),
    );
    // A folder where a legacy file must go: the restore fails after the LevelDB swap.
    fs::remove_file(root.join("deployments/bsctestnet.json")).unwrap();
    fs::create_dir(root.join("deployments/bsctestnet.json")).unwrap();
    let leveldb_before = common::snapshot(&root.join("leveldb"));
    let legacy_before = fs::read(root.join("deployments/basesepolia.json")).unwrap();
    let mut options = forced(&root);
    options.incident_id = Some("INC-UNDO".into());
    let err = emergency_rollback(&options, &quiet).unwrap_err();
    assert!(err.message.contains("put back"), "{}", err.message);
    let relative = |snap: Vec<(PathBuf, Vec<u8>)>, base: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        snap.into_iter()
            .map(|(p, b)| (p.strip_prefix(base).unwrap().to_path_buf(), b))
            .collect()
    };
    assert_eq!(
        relative(
            common::snapshot(&root.join("leveldb")),
            &root.join("leveldb")
        ),
        relative(leveldb_before, &root.join("leveldb"))
    );
    assert_eq!(
        fs::read(root.join("deployments/basesepolia.json")).unwrap(),
        legacy_before
    );
    assert!(
        !root.join("deployments/bscmainnet.json").exists(),
        "files it created are removed"
    );
    assert!(!root.join(".env.emergency").exists());
    assert!(
        root.join(".emergency-stop").exists(),
        "writes stay blocked after a failed rollback"
    );
    let journal = fs::read_to_string(root.join("logs/incidents/INC-UNDO/journal")).unwrap();
    assert!(journal.lines().last().unwrap().contains("\"undone\""));
}

/// Child side of the crash test: runs a rollback in this process when asked, and dies where the environment says.
#[test]
fn crash_child() {
    let Ok(root) = std::env::var("LCS_CRASH_CHILD_ROOT") else {
        return;
    };
    let mut options = forced(Path::new(&root));
    options.incident_id = Some("INC-CRASH".into());
    let _ = emergency_rollback(&options, &quiet);
}

const JOURNAL_POINTS: [&str; 13] = [
    "start:done",
    "pre-backup:begin",
    "pre-backup:done",
    "stage:begin",
    "stage:done",
    "swap:begin",
    "swap:done",
    "legacy:begin",
    "legacy:done",
    "switch:begin",
    "switch:done",
    "validate:done",
    "finished:done",
];

#[test]
fn a_rollback_killed_at_any_journal_step_is_finished_by_the_next_call() {
    let Some(_) = common::fixtures() else { return };
    for point in JOURNAL_POINTS {
        let root = workspace("crash").unwrap();
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("LCS_CRASH_CHILD_ROOT", &root)
            .env("LOOKCOIN_STATE_CRASH_AT", point)
            .output()
            .unwrap()
            .status;
        assert!(!status.success(), "the child should have died at {point}");
        let mut resume = forced(&root);
        resume.resume = true;
        match emergency_rollback(&resume, &quiet) {
            Ok(outcome) => assert!(outcome.resumed, "{point}"),
            Err(e) if point == "finished:done" => assert_eq!(e.code, ErrorCode::NotFound),
            Err(e) => panic!("resume after {point} failed: {e}"),
        }
        assert_rolled_back(&root, "INC-CRASH");
        fs::remove_dir_all(&root).unwrap();
    }
}

#[test]
fn the_assessment_of_the_fixture_calls_for_a_rollback_and_writes_nothing() {
    let Some(root) = workspace("assess") else {
        return;
    };
    let before = common::snapshot(&root);
    let assessment = assess_emergency(&root, &|_| None).unwrap();
    assert_eq!(common::snapshot(&root), before);
    assert_eq!(assessment.decision, "ROLLBACK_REQUIRED");
    assert!(assessment.rollback_possible);
    let reasons = assessment.reasons.join("\n");
    assert!(reasons.contains("chainId 23295 is claimed by sapphiremainnet.unified.json and sapphiretestnet.unified.json"), "{reasons}");
    emergency_rollback(&forced(&root), &quiet).unwrap();
    assert_eq!(
        assess_emergency(&root, &|_| None).unwrap().decision,
        "NOT_NEEDED"
    );
}

#[test]
fn a_sound_workspace_needs_no_rollback_unless_a_trigger_is_raised() {
    let root = common::temp_dir("assess-sample");
    lookcoin_state::sample::create_sample_workspace(&root).unwrap();
    let assessment = assess_emergency(&root, &|_| None).unwrap();
    assert_eq!(assessment.decision, "NOT_NEEDED", "{:?}", assessment.checks);
    fs::write(root.join(".performance-issue"), "").unwrap();
    assert_eq!(
        assess_emergency(&root, &|_| None).unwrap().decision,
        "CONDITIONAL"
    );
    fs::write(root.join(".data-corruption"), "").unwrap();
    assert_eq!(
        assess_emergency(&root, &|_| None).unwrap().decision,
        "ROLLBACK_REQUIRED"
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn unified_files_are_regenerated_from_leveldb_keeping_their_other_sections() {
    let Some(root) = workspace("regenerate") else {
        return;
    };
    emergency_rollback(&forced(&root), &quiet).unwrap();
    let before = common::snapshot(&root);
    let plan = regenerate_unified(&root, true).unwrap();
    assert_eq!(common::snapshot(&root), before, "dry run");
    let actions: Vec<(&str, &str)> = plan
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.action))
        .collect();
    assert!(
        actions.contains(&("deployments/unified/bsctestnet.unified.json", "replace")),
        "{actions:?}"
    );
    assert_eq!(plan.files.len(), 5);
    assert!(plan.skipped[0].contains("2 dev records"));
    let sapphire_mainnet =
        fs::read(root.join("deployments/unified/sapphiremainnet.unified.json")).unwrap();
    let topology_before = section(&root, "bscmainnet", "topology");
    let done = regenerate_unified(&root, false).unwrap();
    assert!(done
        .backup
        .as_deref()
        .unwrap()
        .starts_with("backups/manual-"));
    assert_eq!(
        section(&root, "bscmainnet", "topology"),
        topology_before,
        "other sections kept"
    );
    assert_eq!(
        fs::read(root.join("deployments/unified/sapphiremainnet.unified.json")).unwrap(),
        sapphire_mainnet
    );
    let mut config = lookcoin_state::store::StoreConfig::new(&root);
    config.backend = Some(lookcoin_state::backend::BackendKind::UnifiedJson);
    let store = lookcoin_state::store::StateStore::new(config).unwrap();
    store.initialize().unwrap();
    let testnet = store.get_all_contracts(97).unwrap();
    assert_eq!(testnet.len(), 9, "the duplicate CrossChainRouter is gone");
    let lookcoin = store.get_contract(97, "LookCoin").unwrap().unwrap();
    assert_eq!(
        lookcoin.address,
        "0x5838A9f96E72eA83317D155F31AB660832533bAB"
    );
    assert_eq!(
        regenerate_unified(&root, true)
            .unwrap()
            .files
            .iter()
            .filter(|f| f.action != "unchanged")
            .count(),
        0
    );
}

fn section(root: &Path, network: &str, key: &str) -> serde_json::Value {
    let path = root.join(format!("deployments/unified/{network}.unified.json"));
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    doc[key].clone()
}

/// A tiny seeded generator, so a failing kill instant can be replayed.
fn next_random(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

#[test]
fn a_rollback_killed_at_random_instants_ends_old_or_new_never_mixed() {
    let Some(_) = common::fixtures() else { return };
    let runs: u64 = std::env::var("LCS_CRASH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("LCS_CRASH_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20261125);
    // Kill instants spread over a whole rollback as long as one takes on this machine (a debug
    // build on a loaded machine takes several times longer than a quiet one).
    let window = {
        let root = workspace("random-kill-calibration").unwrap();
        let started = std::time::Instant::now();
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("LCS_CRASH_CHILD_ROOT", &root)
            .output()
            .unwrap()
            .status;
        assert!(status.success());
        assert_rolled_back(&root, "INC-CRASH");
        fs::remove_dir_all(&root).unwrap();
        (started.elapsed().as_millis() as u64 * 11 / 10).max(1)
    };
    eprintln!(
        "one uninterrupted rollback child takes {} ms; kills fall in [0, {window}) ms",
        window * 10 / 11
    );
    let mut state = seed;
    for run in 0..runs {
        let delay = next_random(&mut state) % window;
        eprintln!(
            "crash run {run}: seed {seed}, kill after {delay} ms (replay: LCS_CRASH_SEED={seed})"
        );
        let root = workspace("random-kill").unwrap();
        let original = common::snapshot(&root);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env("LCS_CRASH_CHILD_ROOT", &root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        child.wait().unwrap();
        let journal =
            fs::read_to_string(root.join("logs/incidents/INC-CRASH/journal")).unwrap_or_default();
        let last_step = journal.lines().last().map(|l| {
            l.split("\"step\":")
                .nth(1)
                .unwrap_or("?")
                .chars()
                .take(14)
                .collect::<String>()
        });
        eprintln!("  killed after journal line: {last_step:?}");
        if journal.is_empty() {
            // Killed before the start was journaled: nothing but an empty incident folder may exist.
            let now: Vec<_> = common::snapshot(&root)
                .into_iter()
                .filter(|(p, _)| !p.starts_with(root.join("logs")))
                .collect();
            assert_eq!(
                now, original,
                "killed before the start, yet the state changed (run {run})"
            );
        }
        let mut again = forced(&root);
        again.incident_id = Some("INC-CRASH".into());
        match emergency_rollback(&again, &quiet) {
            Ok(_) => {}
            // The child had finished: the incident exists and is closed.
            Err(e) if e.code == ErrorCode::Conflict => {}
            Err(e) => panic!("run {run} (kill after {delay} ms): the next call failed: {e}"),
        }
        assert_rolled_back(&root, "INC-CRASH");
        fs::remove_dir_all(&root).unwrap();
    }
}

#[test]
fn a_second_rollback_or_a_held_unified_file_is_refused_before_any_change() {
    let Some(root) = workspace("two-rollbacks") else {
        return;
    };
    let before = common::snapshot(&root);
    let other = lookcoin_state::durable::DirLock::try_acquire(&root, "a test rollback").unwrap();
    let err = emergency_rollback(&forced(&root), &quiet).unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked);
    assert!(
        err.message.contains("emergency rollback"),
        "{}",
        err.message
    );
    drop(other);
    let unified = root.join("deployments/unified/bsctestnet.unified.json");
    let writer = lookcoin_state::durable::FileLock::try_acquire(&unified).unwrap();
    let err = emergency_rollback(&forced(&root), &quiet).unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked);
    assert_eq!(err.details.path.as_deref(), Some(unified.to_str().unwrap()));
    assert_eq!(common::snapshot(&root), before);
    drop(writer);
}
