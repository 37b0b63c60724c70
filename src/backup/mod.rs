//! Backups of a project's deployment state: create, verify (structure and deep), assess,
//! list and prune.
//!
//! A backup is a folder `backups/<kind>-<UTC stamp>/` holding `leveldb/current/`,
//! `unified-json/`, `legacy-json/`, `checksums/SHA256SUMS` and, written last by atomic
//! rename, `BACKUP_MANIFEST.json`: a folder without a manifest is incomplete and is never
//! offered for restore. The layout matches the old tooling's so old and new backups sit
//! side by side and both verify.

mod catalog;
mod create;
mod hashing;
pub mod manifest;
pub mod sums;
mod verify;

pub use catalog::{
    assess_backup, list_backups, prune_backups, record_verification, Assessment, BackupListing,
    PruneOptions, PruneReport, ScorePart, INCIDENTS_DIR, INCIDENT_REPORT,
};
pub use create::{
    create_backup, valid_incident_id, CreateOptions, CreatedBackup, KnownLevelDb, LevelDbShortcuts,
};
pub use hashing::hex;
pub(crate) use hashing::{par_map, same_bytes};
pub use manifest::{BackupManifest, RecordCounts, MANIFEST_FILE};
pub(crate) use verify::needed_for_rollback;
pub use verify::{verify_backup, Problem, ProblemKind, VerifyCounts, VerifyReport, VerifyStatus};

/// The folder, under the project root, that holds the backups.
pub const BACKUPS_DIR: &str = "backups";
/// The checksum list, relative to a backup.
pub const SUMS_FILE: &str = "checksums/SHA256SUMS";
/// The LevelDB copy a rollback restores, relative to a backup.
pub const LEVELDB_COPY_DIR: &str = "leveldb/current";
/// The copies of `deployments/unified/`, relative to a backup.
pub const UNIFIED_COPY_DIR: &str = "unified-json";
/// The copies of `deployments/*.json`, relative to a backup.
pub const LEGACY_COPY_DIR: &str = "legacy-json";

/// How far a long operation has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// What is running: `copy`, `hash`.
    pub phase: &'static str,
    /// Files finished.
    pub files_done: u64,
    /// Files in this phase.
    pub files_total: u64,
    /// Bytes finished.
    pub bytes_done: u64,
    /// Bytes in this phase.
    pub bytes_total: u64,
}

/// A progress observer; called from worker threads.
pub type ProgressFn<'a> = &'a (dyn Fn(&Progress) + Sync);

/// The observer that ignores progress.
pub fn no_progress(_: &Progress) {}
