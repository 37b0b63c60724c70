//! Concurrent writers keep every write: 8 processes × N `putContract` on one chain, for each
//! backend, 8 threads × 500 on one shared LevelDB handle, and an emergency rollback started
//! while writer processes of both backends run.
//!
//! LevelDB admits one process at a time (a second one's open fails with STATE_LOCKED), so its
//! 8 processes take turns: open, put a few, close, retry the open while another holds it. That
//! is what deploy scripts sharing one LevelDB have to do, and it exercises reopen after every
//! few writes; threads sharing one open handle are tested separately.
//!
//! Every unified put rewrites the whole chain file, so 4000 records in one file take minutes in
//! a debug build: the test command runs N = 50 per process; `LCS_CONCURRENT_PUTS=500` runs the
//! full campaign. `LCS_ROLLBACK_RACE_RUNS` repeats the rollback-under-writers test (default 1).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lookcoin_state::backend::leveldb::read_copy;
use lookcoin_state::backend::BackendKind;
use lookcoin_state::record::ContractRecord;
use lookcoin_state::rollback::{emergency_rollback, Event, RollbackOptions};
use lookcoin_state::store::{StateStore, StoreConfig};
use lookcoin_state::ErrorCode;

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
    named(format!("W{writer}Contract{n}"), writer, n)
}

fn named(contract_name: String, writer: usize, n: usize) -> ContractRecord {
    let hex = |width: usize| format!("{:0width$x}", writer * 100_000 + n + 1);
    ContractRecord {
        contract_name,
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
    let store = common::open_store(
        Path::new(&root),
        BackendKind::UnifiedJson,
        Some(Duration::from_secs(120)),
    );
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
    let store = common::open_store(
        &root,
        BackendKind::UnifiedJson,
        Some(Duration::from_secs(120)),
    );
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
    let store = common::open_store(&root, BackendKind::LevelDb, Some(Duration::from_secs(120)));
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
    let again = common::open_store(root, BackendKind::LevelDb, Some(Duration::from_secs(120)));
    let count = again.get_all_contracts(97).unwrap().len();
    again.close().unwrap();
    count
}

/// Puts one LevelDB writer process makes per turn before it closes and lets another in.
const TURN: usize = 25;

/// Opens the LevelDB store, waiting while another process holds it (STATE_LOCKED).
fn leveldb_turn(root: &Path) -> StateStore {
    loop {
        let mut config = StoreConfig::new(root);
        config.backend = Some(BackendKind::LevelDb);
        let store = StateStore::with_env(config, &|_| None).unwrap();
        match store.initialize() {
            Ok(()) => return store,
            Err(e) if e.code == ErrorCode::Locked => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("open failed: {e}"),
        }
    }
}

/// Child side: one LevelDB writer process taking turns with the others.
#[test]
fn leveldb_writer_child() {
    let (Ok(root), Ok(writer)) = (
        std::env::var("LCS_LEVELDB_WRITER_ROOT"),
        std::env::var("LCS_LEVELDB_WRITER"),
    ) else {
        return;
    };
    let writer: usize = writer.parse().unwrap();
    let puts = unified_puts();
    let mut n = 0;
    while n < puts {
        let store = leveldb_turn(Path::new(&root));
        for _ in 0..TURN.min(puts - n) {
            store.put_contract(97, record(writer, n)).unwrap();
            n += 1;
        }
        store.close().unwrap();
    }
}

#[test]
fn eight_processes_taking_turns_on_one_leveldb_lose_nothing() {
    let root = common::temp_dir("concurrent-leveldb-processes");
    let children: Vec<_> = (0..WRITERS)
        .map(|writer| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "leveldb_writer_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("LCS_LEVELDB_WRITER_ROOT", &root)
                .env("LCS_LEVELDB_WRITER", writer.to_string())
                // The child's harness summary would read like this run's; its panics go to stderr.
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer failed");
    }
    let store = common::open_store(&root, BackendKind::LevelDb, Some(Duration::from_secs(120)));
    assert_eq!(
        store.get_all_contracts(97).unwrap().len(),
        WRITERS * unified_puts(),
        "every write is in the database"
    );
    let report = store.validate_integrity().unwrap();
    assert!(report.is_valid, "{:?}", report.errors);
    assert_eq!(report.contract_count, WRITERS * unified_puts());
    store.close().unwrap();
    let copy = read_copy(&root.join("leveldb")).unwrap();
    assert_eq!(copy.len(), WRITERS * unified_puts());
    assert!(copy.iter().all(|e| e.record.is_ok()));
    std::fs::remove_dir_all(&root).unwrap();
}

/// CLOCK_MONOTONIC in ns: one clock for every process, to order a child's acknowledgement
/// against the end of the parent's rollback.
fn monotonic_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) },
        0
    );
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn race_name(backend: &str, writer: usize, n: usize) -> String {
    format!("Race{backend}{writer}N{n}")
}

/// Child side of the rollback race: puts until done or refused with STATE_LOCKED, printing
/// `ack <n> <monotonic ns>` after each acknowledged put and `locked <n>` before it stops.
#[test]
fn race_writer_child() {
    let (Ok(root), Ok(writer), Ok(backend)) = (
        std::env::var("LCS_RACE_ROOT"),
        std::env::var("LCS_RACE_WRITER"),
        std::env::var("LCS_RACE_BACKEND"),
    ) else {
        return;
    };
    let root = Path::new(&root);
    let writer: usize = writer.parse().unwrap();
    let mut out = std::io::stdout().lock();
    // The harness has printed "test <name> ... " without a newline: end that line, or the
    // first acknowledgement would be glued to it and missed.
    writeln!(out).unwrap();
    let unified = (backend == "U").then(|| {
        common::open_store(
            root,
            BackendKind::UnifiedJson,
            Some(Duration::from_secs(120)),
        )
    });
    for n in 0..race_puts() {
        let leveldb = unified.is_none().then(|| leveldb_turn(root));
        let store = unified.as_ref().or(leveldb.as_ref()).unwrap();
        match store.put_contract(97, named(race_name(&backend, writer, n), writer, n)) {
            Ok(()) => writeln!(out, "ack {n} {}", monotonic_ns()).unwrap(),
            Err(e) if e.code == ErrorCode::Locked => {
                writeln!(out, "locked {n}").unwrap();
                return;
            }
            Err(e) => panic!("put {n} failed: {e}"),
        }
        out.flush().unwrap();
        if let Some(store) = leveldb {
            store.close().unwrap();
        }
        // Leaves the locks free now and then, as real deploy scripts do between transactions.
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn race_puts() -> usize {
    std::env::var("LCS_RACE_PUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60)
}

/// One writer of the race as the parent sees it.
struct RaceWriter {
    backend: &'static str,
    writer: usize,
    child: std::process::Child,
    lines: std::thread::JoinHandle<Vec<String>>,
}

fn quiet(_: &Event) {}

/// Contract names of chain 97 in a unified folder.
fn unified_names(dir: &Path) -> BTreeSet<String> {
    let mut config = StoreConfig::new(dir);
    config.backend = Some(BackendKind::UnifiedJson);
    config.unified_path = Some(dir.to_path_buf());
    let store = StateStore::with_env(config, &|_| None).unwrap();
    store.initialize().unwrap();
    let names = store
        .get_all_contracts(97)
        .unwrap()
        .into_iter()
        .map(|r| r.contract_name)
        .collect();
    store.close().unwrap();
    names
}

fn leveldb_names(dir: &Path) -> BTreeSet<String> {
    if !dir.join("CURRENT").is_file() {
        return BTreeSet::new();
    }
    read_copy(dir)
        .unwrap()
        .into_iter()
        .map(|e| e.record.unwrap().contract_name)
        .collect()
}

#[test]
fn a_rollback_started_while_writers_run_refuses_one_side_and_loses_no_write() {
    let Some(fixtures) = common::fixtures() else {
        return;
    };
    let runs: usize = std::env::var("LCS_ROLLBACK_RACE_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    for run in 0..runs {
        let root = common::temp_dir("rollback-race");
        common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
        race_once(run, &root);
        std::fs::remove_dir_all(&root).unwrap();
    }
}

fn race_once(run: usize, root: &Path) {
    let acks = Arc::new(AtomicUsize::new(0));
    let mut writers: Vec<RaceWriter> = Vec::new();
    for (backend, count) in [("U", 3), ("L", 2)] {
        for writer in 0..count {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "race_writer_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("LCS_RACE_ROOT", root)
                .env("LCS_RACE_WRITER", writer.to_string())
                .env("LCS_RACE_BACKEND", backend)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let acks = acks.clone();
            let lines = std::thread::spawn(move || {
                let mut lines = Vec::new();
                // The test harness prints to stdout too; only the writer's own lines count.
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.starts_with("ack ") {
                        acks.fetch_add(1, Ordering::Relaxed);
                        lines.push(line);
                    } else if line.starts_with("locked ") {
                        lines.push(line);
                    }
                }
                lines
            });
            writers.push(RaceWriter {
                backend,
                writer,
                child,
                lines,
            });
        }
    }
    // Start the rollback once the writers are under way (a few acknowledgements each).
    while acks.load(Ordering::Relaxed) < 3 * writers.len()
        && writers
            .iter_mut()
            .any(|w| w.child.try_wait().unwrap().is_none())
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut refused = 0;
    let mut refused_after_declare = 0;
    let mut outcome = None;
    for attempt in 0.. {
        let options = RollbackOptions {
            root: root.to_path_buf(),
            force: true,
            incident_id: Some(format!("INC-RACE-{attempt}")),
            ..Default::default()
        };
        let writers_running = writers
            .iter_mut()
            .any(|w| w.child.try_wait().unwrap().is_none());
        match emergency_rollback(&options, &quiet) {
            Ok(done) => {
                outcome = Some((done, monotonic_ns()));
                break;
            }
            Err(e) if e.code == ErrorCode::Locked && writers_running => {
                // "rollback failed: …" once the incident was declared; before that nothing changed.
                if e.message.starts_with("rollback failed") {
                    refused_after_declare += 1;
                }
                refused += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("run {run}, attempt {attempt}: the rollback failed: {e}"),
        }
    }
    let (done, done_at) = outcome.unwrap();
    let mut acked: Vec<(String, &'static str, u128)> = Vec::new();
    let mut locked = 0;
    for w in writers {
        let mut child = w.child;
        assert!(
            child.wait().unwrap().success(),
            "writer {}{} failed",
            w.backend,
            w.writer
        );
        let lines = w.lines.join().unwrap();
        for (i, line) in lines.iter().enumerate() {
            let mut parts = line.split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("ack"), Some(n), Some(at)) => acked.push((
                    race_name(w.backend, w.writer, n.parse().unwrap()),
                    w.backend,
                    at.parse().unwrap(),
                )),
                (Some("locked"), Some(_), None) => {
                    assert_eq!(i, lines.len() - 1, "a refused writer stops");
                    locked += 1;
                }
                _ => panic!("unexpected writer output {line:?}"),
            }
        }
    }
    let report = done.report.unwrap();
    let pre = root.join(report["preRollbackBackup"]["path"].as_str().unwrap());
    let in_backup_unified = unified_names(&pre.join("unified-json"));
    let in_backup_leveldb = leveldb_names(&pre.join("leveldb/current"));
    let live_unified = unified_names(&root.join("deployments/unified"));
    let live_leveldb = leveldb_names(&root.join("leveldb"));
    let mut after = 0;
    for (name, backend, at) in &acked {
        let (backed_up, live) = match *backend {
            "U" => (&in_backup_unified, &live_unified),
            _ => (&in_backup_leveldb, &live_leveldb),
        };
        // Acknowledged before the rollback ended: the pre-rollback backup has it. Only a write
        // made after the rollback (the emergency stop lowered again) may be missing there.
        if *at > done_at && live.contains(name) {
            after += 1;
        } else {
            assert!(
                backed_up.contains(name),
                "run {run}: {name}, acknowledged before the rollback ended, is not in its backup"
            );
        }
    }
    let restored = leveldb_names(&fixtures_backup_leveldb());
    let written_after: BTreeSet<String> = acked
        .iter()
        .filter(|(name, backend, at)| *backend == "L" && *at > done_at && !restored.contains(name))
        .map(|(name, _, _)| name.clone())
        .collect();
    let expected_live: BTreeSet<String> = restored.union(&written_after).cloned().collect();
    assert_eq!(
        live_leveldb, expected_live,
        "run {run}: the restored LevelDB"
    );
    assert!(!root.join(".emergency-stop").exists());
    eprintln!(
        "rollback race run {run}: {} writes acknowledged ({after} after the rollback), {locked} writers refused with STATE_LOCKED, {refused} rollback attempts refused with STATE_LOCKED ({refused_after_declare} of them after declaring the incident)",
        acked.len()
    );
}

fn fixtures_backup_leveldb() -> PathBuf {
    common::fixtures()
        .unwrap()
        .join(common::BACKUP)
        .join("leveldb/current")
}

#[test]
fn a_unified_write_waiting_for_the_lock_when_the_stop_is_raised_is_refused() {
    let Some(fixtures) = common::fixtures() else {
        return;
    };
    let root = common::temp_dir("stop-under-lock");
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    let path = root.join("deployments/unified/bsctestnet.unified.json");
    let before = std::fs::read(&path).unwrap();
    // Another writer is mid-write: this put passes the early stop check, then waits for the lock.
    let held = lookcoin_state::durable::lock_for_replace(&path, Duration::from_secs(1)).unwrap();
    let put = {
        let root = root.clone();
        std::thread::spawn(move || {
            common::open_store(
                &root,
                BackendKind::UnifiedJson,
                Some(Duration::from_secs(120)),
            )
            .put_contract(97, record(0, 0))
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(root.join(".emergency-stop"), "incident INC-TEST\n").unwrap();
    drop(held);
    let err = put.join().unwrap().unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked, "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn the_pre_rollback_backup_waits_for_a_unified_write_under_way_when_the_stop_is_raised() {
    let Some(fixtures) = common::fixtures() else {
        return;
    };
    let root = common::temp_dir("drain-writers");
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    let path = root.join("deployments/unified/bsctestnet.unified.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["fileVersion"] = serde_json::json!(doc["fileVersion"].as_u64().unwrap() + 1);
    let written = serde_json::to_vec_pretty(&doc).unwrap();
    let writer = std::sync::Mutex::new(None);
    // Once the plan is made (every check passed, the stop not yet raised) a writer takes the
    // file's lock and finishes its write a little later, after the stop is up.
    let on_event = |event: &Event| {
        if event.step != "plan" {
            return;
        }
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (path, written) = (path.clone(), written.clone());
        *writer.lock().unwrap() = Some(std::thread::spawn(move || {
            let held =
                lookcoin_state::durable::lock_for_replace(&path, Duration::from_secs(1)).unwrap();
            locked_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            lookcoin_state::durable::write_atomic(&path, &written).unwrap();
            drop(held);
        }));
        locked_rx.recv().unwrap();
    };
    let options = RollbackOptions {
        root: root.clone(),
        force: true,
        incident_id: Some("INC-DRAIN".into()),
        ..Default::default()
    };
    let done = emergency_rollback(&options, &on_event).unwrap();
    writer.lock().unwrap().take().unwrap().join().unwrap();
    let report = done.report.unwrap();
    let pre = root.join(report["preRollbackBackup"]["path"].as_str().unwrap());
    assert_eq!(
        std::fs::read(pre.join("unified-json/bsctestnet.unified.json")).unwrap(),
        written,
        "the write acknowledged during the rollback is not in its backup"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
