//! Disk full and I/O errors on real filesystems: every write path runs on a small tmpfs that
//! is filled until the operation runs out of space part-way (real ENOSPC), and reads hit a
//! real EIO (a symlink to `/proc/self/mem`, whose offset 0 is never mapped) or a folder where
//! a file should be (EISDIR). Each must fail with the right code and leave the old state whole.
//!
//! Mounting needs root with CAP_SYS_ADMIN (CI runs as root on the same machine kind); without
//! it the ENOSPC tests say SKIPPED and why. The read-error tests need no privilege.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lookcoin_state::backend::leveldb::read_copy;
use lookcoin_state::backend::BackendKind;
use lookcoin_state::backup::{create_backup, list_backups, no_progress, CreateOptions};
use lookcoin_state::record::ContractRecord;
use lookcoin_state::rollback::{emergency_rollback, Event, RollbackOptions};
use lookcoin_state::store::StateStore;
use lookcoin_state::ErrorCode;

const FIXTURE_BACKUP: &str = "migration-2025-08-13T11-26-18-516Z";
const CHAIN_FILE: &str = "deployments/unified/bsctestnet.unified.json";

/// A tmpfs of a fixed size, unmounted (and its mount point removed) on drop.
struct SmallFs {
    dir: PathBuf,
}

impl SmallFs {
    /// Mounts a tmpfs of `size` bytes, or says why it cannot and returns `None`.
    fn mount(test: &str, size: u64) -> Option<SmallFs> {
        let dir = common::temp_dir(&format!("tmpfs-{test}"));
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(SmallFs { dir }),
            Ok(out) => {
                eprintln!(
                    "!!!!! SKIPPED {test}: cannot mount a tmpfs ({}); the disk-full tests need root with CAP_SYS_ADMIN !!!!!",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                let _ = fs::remove_dir(&dir);
                None
            }
            Err(e) => {
                eprintln!("!!!!! SKIPPED {test}: cannot run mount: {e} !!!!!");
                let _ = fs::remove_dir(&dir);
                None
            }
        }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = fs::remove_dir(&self.dir);
    }
}

/// Fills the filesystem of `dir` until ENOSPC, then frees `leave` bytes (rounded up to pages).
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let filler = dir.join("filler");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&filler)
        .unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(leave.div_ceil(4096) * 4096))
        .unwrap();
    filler
}

fn record(n: usize) -> ContractRecord {
    ContractRecord {
        contract_name: format!("DiskFull{n}"),
        chain_id: 97,
        network_name: "bsctestnet".into(),
        address: format!("0x{:040x}", n + 1),
        factory_byte_code_hash: format!("0x{:064x}", n + 1),
        implementation_hash: None,
        proxy_address: None,
        deployment_args: None,
        timestamp: 1_764_000_000_000 + n as u64,
    }
}

/// The fixture workspace copied onto the small filesystem.
fn workspace_on(fs_dir: &Path, with_leveldb: bool) -> Option<PathBuf> {
    let fixtures = common::fixtures()?;
    let root = fs_dir.join("project");
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    if with_leveldb {
        common::copy_tree(
            &fixtures.join("lookcoin-leveldb-live"),
            &root.join("leveldb"),
        );
    }
    Some(root)
}

#[test]
fn unified_puts_on_a_full_disk_fail_with_write_failed_and_change_nothing() {
    let Some(small) = SmallFs::mount("unified-enospc", 4 << 20) else {
        return;
    };
    let Some(root) = workspace_on(&small.dir, false) else {
        return;
    };
    let path = root.join(CHAIN_FILE);
    let size = fs::metadata(&path).unwrap().len();
    // No room at all, then room for half of the new file: the write stops part-way.
    for leave in [0, size / 2] {
        let before = fs::read(&path).unwrap();
        let filler = fill(&small.dir, leave);
        let store = common::open_store(
            &root,
            BackendKind::UnifiedJson,
            Some(Duration::from_secs(5)),
        );
        let err = store.put_contract(97, record(0)).unwrap_err();
        assert_eq!(err.code, ErrorCode::WriteFailed, "leave {leave}: {err}");
        assert_eq!(err.details.path.as_deref(), path.to_str());
        let err = store
            .put_contracts(97, vec![record(1), record(2)])
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::WriteFailed, "leave {leave}: {err}");
        assert_eq!(fs::read(&path).unwrap(), before, "leave {leave}");
        assert_eq!(
            common::leftovers(&root),
            Vec::<PathBuf>::new(),
            "leave {leave}"
        );
        assert_eq!(store.get_contract(97, "DiskFull0").unwrap(), None);
        fs::remove_file(filler).unwrap();
        // With space again the same store writes.
        store.put_contract(97, record(0)).unwrap();
        store.delete_contract(97, "DiskFull0").unwrap();
        store.close().unwrap();
    }
}

#[test]
fn a_leveldb_put_on_a_full_disk_fails_with_write_failed_and_loses_no_acknowledged_record() {
    let Some(small) = SmallFs::mount("leveldb-enospc", 4 << 20) else {
        return;
    };
    let Some(root) = workspace_on(&small.dir, true) else {
        return;
    };
    let store = common::open_store(&root, BackendKind::LevelDb, Some(Duration::from_secs(5)));
    let records_before = store.validate_integrity().unwrap().contract_count;
    store.put_contract(97, record(0)).unwrap();
    let filler = fill(&small.dir, 0);
    let mut failed = None;
    // The log file's last page may still have room: write until the disk refuses.
    for n in 1..10_000 {
        match store.put_contract(97, record(n)) {
            Ok(()) => {}
            Err(e) => {
                failed = Some((n, e));
                break;
            }
        }
    }
    let (failed_at, err) = failed.expect("the full disk never refused a write");
    assert_eq!(err.code, ErrorCode::WriteFailed, "{err}");
    // Closing flushes the memtable into a table, which needs room too; the log still has the data.
    if let Err(e) = store.close() {
        assert_eq!(e.code, ErrorCode::WriteFailed, "{e}");
    }
    fs::remove_file(filler).unwrap();
    let store = store_reopened(&root);
    let names: Vec<String> = store
        .get_all_contracts(97)
        .unwrap()
        .into_iter()
        .map(|r| r.contract_name)
        .collect();
    for n in 0..failed_at {
        assert!(
            names.contains(&format!("DiskFull{n}")),
            "acknowledged DiskFull{n} lost"
        );
    }
    let report = store.validate_integrity().unwrap();
    assert!(report.is_valid, "{:?}", report.errors);
    let failed_landed = names.contains(&format!("DiskFull{failed_at}"));
    assert_eq!(
        report.contract_count,
        records_before + failed_at + usize::from(failed_landed)
    );
    eprintln!(
        "leveldb on a full disk: {failed_at} puts acknowledged, put {failed_at} failed ({err}); after a reopen it is {}",
        if failed_landed { "present" } else { "absent" }
    );
    store.put_contract(97, record(failed_at + 1)).unwrap();
    store.close().unwrap();
}

fn store_reopened(root: &Path) -> StateStore {
    common::open_store(root, BackendKind::LevelDb, Some(Duration::from_secs(5)))
}

/// Every file of the project but `backups/`, with its bytes.
fn live_state(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    common::snapshot(root)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(root.join("backups")))
        .collect()
}

fn manual(root: &Path) -> CreateOptions {
    CreateOptions {
        root: root.to_path_buf(),
        kind: "manual".into(),
        label: None,
        include_unified_history: false,
        ..Default::default()
    }
}

#[test]
fn a_backup_create_that_runs_out_of_space_leaves_no_backup_behind() {
    let Some(small) = SmallFs::mount("backup-enospc", 4 << 20) else {
        return;
    };
    let Some(root) = workspace_on(&small.dir, true) else {
        return;
    };
    let live = live_state(&root);
    // From no room up, in steps smaller than one file: the copy, the sums or the manifest fails.
    let mut leave = 0u64;
    let mut failures = 0;
    loop {
        let filler = fill(&small.dir, leave);
        let result = create_backup(&manual(&root), &no_progress);
        fs::remove_file(filler).unwrap();
        let Err(err) = result else {
            eprintln!("backup with {leave} bytes free: created after {failures} failures");
            break;
        };
        failures += 1;
        assert_eq!(err.code, ErrorCode::WriteFailed, "leave {leave}: {err}");
        let ids: Vec<String> = list_backups(&root)
            .unwrap()
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(ids, vec![FIXTURE_BACKUP.to_string()], "leave {leave}");
        assert_eq!(
            common::leftovers(&root),
            Vec::<PathBuf>::new(),
            "leave {leave}"
        );
        assert_eq!(live_state(&root), live, "leave {leave}");
        leave += 8 << 10;
        assert!(leave < 4 << 20, "the backup never fitted");
    }
    assert!(failures > 1, "no create failed part-way");
    let listed = list_backups(&root).unwrap();
    let created = listed.iter().find(|b| b.id != FIXTURE_BACKUP).unwrap();
    assert!(created.complete);
    assert_eq!(
        read_copy(&created.path.join("leveldb/current"))
            .unwrap()
            .len(),
        28
    );
}

fn quiet(_: &Event) {}

#[test]
fn a_rollback_that_runs_out_of_space_at_any_step_leaves_the_old_state_and_then_completes() {
    let Some(small) = SmallFs::mount("rollback-enospc", 6 << 20) else {
        return;
    };
    let mut leave = 0u64;
    let mut failures = 0;
    loop {
        let Some(root) = workspace_on(&small.dir, false) else {
            return;
        };
        let live = live_state(&root);
        let filler = fill(&small.dir, leave);
        let options = RollbackOptions {
            root: root.clone(),
            force: true,
            incident_id: Some("INC-ENOSPC".into()),
            ..Default::default()
        };
        let result = emergency_rollback(&options, &quiet);
        fs::remove_file(&filler).unwrap();
        let Err(err) = result else {
            eprintln!("rollback with {leave} bytes free: succeeded after {failures} failures");
            break;
        };
        failures += 1;
        let journal =
            fs::read_to_string(root.join("logs/incidents/INC-ENOSPC/journal")).unwrap_or_default();
        let last = journal.lines().last().unwrap_or("").to_string();
        eprintln!(
            "rollback with {leave} bytes free: {} {}; journal ends {last}",
            err.code, err.message
        );
        assert_eq!(err.code, ErrorCode::WriteFailed, "leave {leave}: {err}");
        let now: Vec<_> = live_state(&root)
            .into_iter()
            .filter(|(p, _)| {
                !p.starts_with(root.join("logs")) && *p != root.join(".emergency-stop")
            })
            .collect();
        assert_eq!(now, live, "leave {leave}: the old state was not kept");
        assert!(!root.join("leveldb").exists(), "leave {leave}");
        assert_eq!(
            common::leftovers(&root),
            Vec::<PathBuf>::new(),
            "leave {leave}"
        );
        if journal.contains("\"start\"") {
            assert!(
                last.contains("\"undone\""),
                "leave {leave}: a declared rollback that failed must be closed as undone: {last}"
            );
            assert!(
                root.join(".emergency-stop").exists(),
                "leave {leave}: writes stay blocked after a failed rollback"
            );
        }
        // With the space back the rollback goes through (a new incident).
        let mut again = options.clone();
        again.incident_id = Some("INC-ENOSPC-RETRY".into());
        emergency_rollback(&again, &quiet).unwrap_or_else(|e| {
            panic!("leave {leave}: the rollback after freeing space failed: {e}")
        });
        assert!(!root.join(".emergency-stop").exists());
        assert_eq!(read_copy(&root.join("leveldb")).unwrap().len(), 28);
        fs::remove_dir_all(&root).unwrap();
        leave += 16 << 10;
        assert!(leave < 6 << 20, "the rollback never succeeded");
    }
    assert!(
        failures > 0,
        "the first attempt had no room at all yet succeeded"
    );
}

/// Every file of the project but `backups/` and the unreadable one, with its bytes.
fn readable_state(root: &Path, unreadable: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let backups = root.join("backups");
    common::snapshot_except(root, &|p| p == backups || p == unreadable)
}

/// A symlink to `/proc/self/mem`: opens as a regular file, every read at offset 0 fails with EIO.
fn eio_file(at: &Path) {
    let _ = fs::remove_file(at);
    std::os::unix::fs::symlink("/proc/self/mem", at).unwrap();
    let err = fs::read(at).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
}

#[test]
fn a_unified_file_that_fails_to_read_is_reported_and_never_overwritten() {
    let Some(fixtures) = common::fixtures() else {
        return;
    };
    let root = common::temp_dir("unified-eio");
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    let path = root.join(CHAIN_FILE);
    for (what, make) in [
        ("EIO", eio_file as fn(&Path)),
        ("EISDIR", |p: &Path| {
            fs::remove_file(p).unwrap();
            fs::create_dir(p).unwrap();
        }),
    ] {
        make(&path);
        let store = common::open_store(
            &root,
            BackendKind::UnifiedJson,
            Some(Duration::from_secs(5)),
        );
        let err = store.get_contract(97, "LookCoin").unwrap_err();
        assert_eq!(err.code, ErrorCode::BackendUnavailable, "{what}: {err}");
        let err = store.put_contract(97, record(0)).unwrap_err();
        assert!(
            matches!(
                err.code,
                ErrorCode::BackendUnavailable | ErrorCode::WriteFailed
            ),
            "{what}: {err}"
        );
        let meta = fs::symlink_metadata(&path).unwrap();
        match what {
            "EIO" => assert!(meta.file_type().is_symlink(), "{what}: replaced"),
            _ => assert!(meta.is_dir(), "{what}: replaced"),
        }
        assert_eq!(common::leftovers(&root), Vec::<PathBuf>::new(), "{what}");
        store.close().unwrap();
        if meta.is_dir() {
            fs::remove_dir(&path).unwrap();
        } else {
            fs::remove_file(&path).unwrap();
        }
        fs::copy(fixtures.join("lookcoin-workspace").join(CHAIN_FILE), &path).unwrap();
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_backup_or_rollback_that_meets_an_unreadable_file_fails_before_any_change() {
    let Some(fixtures) = common::fixtures() else {
        return;
    };
    let root = common::temp_dir("backup-eio");
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    let broken = root.join("deployments/unified/zzbroken.unified.json");
    eio_file(&broken);
    let live = readable_state(&root, &broken);
    // The only EIO source at hand is a link to /proc/self/mem, and a backup refuses a link
    // leading out of the project before it reads anything (STATE_CORRUPT, naming it).
    let err = create_backup(&manual(&root), &no_progress).unwrap_err();
    assert_eq!(err.code, ErrorCode::Corrupt, "{err}");
    assert!(err.message.contains("zzbroken.unified.json"), "{err}");
    let ids: Vec<String> = list_backups(&root)
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids, vec![FIXTURE_BACKUP.to_string()]);
    assert_eq!(common::leftovers(&root), Vec::<PathBuf>::new());
    assert_eq!(readable_state(&root, &broken), live);

    // The rollback's pre-backup meets the same file: refused, state as it was, writes blocked.
    let options = RollbackOptions {
        root: root.clone(),
        force: true,
        incident_id: Some("INC-EIO".into()),
        ..Default::default()
    };
    let err = emergency_rollback(&options, &quiet).unwrap_err();
    eprintln!("rollback over an unreadable file: {err}");
    assert_ne!(err.code, ErrorCode::Internal, "{err}");
    let now: Vec<_> = readable_state(&root, &broken)
        .into_iter()
        .filter(|(p, _)| !p.starts_with(root.join("logs")) && *p != root.join(".emergency-stop"))
        .collect();
    assert_eq!(now, live);
    assert!(!root.join("leveldb").exists());
    assert_eq!(common::leftovers(&root), Vec::<PathBuf>::new());
    let journal =
        fs::read_to_string(root.join("logs/incidents/INC-EIO/journal")).unwrap_or_default();
    if journal.contains("\"start\"") {
        assert!(journal.lines().last().unwrap().contains("\"undone\""));
        assert!(root.join(".emergency-stop").exists());
    }
    fs::remove_file(root.join("deployments/unified/zzbroken.unified.json")).unwrap();
    let mut again = options;
    again.incident_id = Some("INC-EIO-RETRY".into());
    emergency_rollback(&again, &quiet).unwrap();
    assert_eq!(read_copy(&root.join("leveldb")).unwrap().len(), 28);
    assert!(!root.join(".emergency-stop").exists());
    fs::remove_dir_all(&root).unwrap();
}
