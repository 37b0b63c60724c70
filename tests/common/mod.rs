//! Shared helpers of the integration tests: where the fixtures are, temp copies.
#![allow(dead_code)] // each test binary uses its own subset

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The fixture directory: `LOOKCOIN_FIXTURES`, else `../shared/fixtures` beside the repository.
pub fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("LOOKCOIN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.join("lookcoin-workspace").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: fixtures not found at {} (set LOOKCOIN_FIXTURES); fixture tests did not run",
            dir.display()
        );
        None
    }
}

/// Returns the fixture dir or ends the test early, loudly.
#[macro_export]
macro_rules! fixtures_or_skip {
    () => {
        match common::fixtures() {
            Some(dir) => dir,
            None => return,
        }
    };
}

/// A fresh, empty temporary directory unique to this test.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lcs-test-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies a tree (fixtures are read-only; opening LevelDB writes to its directory).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
            let mut perms = fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            fs::set_permissions(&target, perms).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes, for "nothing on disk changed" assertions.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    snapshot_except(dir, &|_| false)
}

/// Like [`snapshot`], leaving out the paths (files or whole folders) that `skip` names.
pub fn snapshot_except(dir: &Path, skip: &dyn Fn(&Path) -> bool) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if skip(&path) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The backup folder of the fixture workspace.
pub const BACKUP: &str = "lookcoin-workspace/backups/migration-2025-08-13T11-26-18-516Z";

/// Names under `dir`, recursively, that an interrupted writer may leave: temp files, trash
/// folders and a rollback's staging folder.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains(".tmp-")
                || name.starts_with(".trash-")
                || name.starts_with(".leveldb.staging")
            {
                out.push(entry.path());
            } else if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out
}

/// An initialized store on `backend`, the environment ignored; `lock_timeout` when given.
pub fn open_store(
    root: &Path,
    backend: lookcoin_state::backend::BackendKind,
    lock_timeout: Option<std::time::Duration>,
) -> lookcoin_state::store::StateStore {
    let mut config = lookcoin_state::store::StoreConfig::new(root);
    config.backend = Some(backend);
    if let Some(timeout) = lock_timeout {
        config.lock_timeout = timeout;
    }
    let store = lookcoin_state::store::StateStore::with_env(config, &|_| None).unwrap();
    store.initialize().unwrap();
    store
}
