//! Node glue of the backups: `createBackup`, `verifyBackup`, `assessBackup`, `listBackups`,
//! `pruneBackups` (and sync twins of verify and list) over [`crate::backup`].
//!
//! Arguments are checked on the JS thread (a bad one makes the task reject with
//! `VALIDATION_FAILED` before any file is touched); the work runs as an `AsyncTask`; the
//! result is the core's `to_json()` value, handed to JS through one `JSON.parse`.

use std::path::{Path, PathBuf};

use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use super::args::{bool_option, known_keys, options_arg, path_arg, path_value};
use super::job::{Job, JobTask, Parsed, Reporter};
use super::{invalid_arg, shown, Reply};
use crate::backup::{self, BackupListing, CreateOptions, PruneOptions, BACKUPS_DIR};

/// Backs up `<root>` (its `leveldb/`, `deployments/unified/`, `deployments/*.json`) into
/// `<root>/backups/<kind>-<UTC stamp>/`, copying LevelDB while nobody can write it.
#[napi(
    ts_args_type = "options: CreateBackupOptions",
    ts_return_type = "Promise<CreatedBackup>"
)]
pub fn create_backup(env: Env, options: Unknown) -> AsyncTask<JobTask> {
    AsyncTask::new(JobTask::new(&env, create_args(options)))
}

/// Verifies a backup folder: structure, and when `deep` (the default) every byte, every
/// JSON file and every LevelDB block. Only reads the backup.
#[napi(
    ts_args_type = "dir: string, options?: VerifyBackupOptions",
    ts_return_type = "Promise<VerifyReport>"
)]
pub fn verify_backup(env: Env, dir: Unknown, options: Unknown) -> AsyncTask<JobTask> {
    AsyncTask::new(JobTask::new(&env, verify_args(dir, options)))
}

/// `verifyBackup` on the calling thread (progress events arrive just before it returns).
#[napi(
    ts_args_type = "dir: string, options?: VerifyBackupOptions",
    ts_return_type = "VerifyReport"
)]
pub fn verify_backup_sync(env: Env, dir: Unknown, options: Unknown) -> napi::Result<Reply> {
    JobTask::new(&env, verify_args(dir, options)).run_sync(env)
}

/// Scores a backup 0–100 (completeness, integrity, age, size, records), on a deep verification.
#[napi(ts_args_type = "dir: string", ts_return_type = "Promise<Assessment>")]
pub fn assess_backup(env: Env, dir: Unknown) -> AsyncTask<JobTask> {
    let parsed = path_arg(dir, "dir").map(|dir| {
        let job: Job = Box::new(move |_| backup::assess_backup(&dir).map(|a| a.to_json()));
        (job, None)
    });
    AsyncTask::new(JobTask::new(&env, parsed))
}

/// Every backup under `<root>/backups`, newest first (an absent folder lists none).
#[napi(
    ts_args_type = "root: string",
    ts_return_type = "Promise<BackupListing[]>"
)]
pub fn list_backups(env: Env, root: Unknown) -> AsyncTask<JobTask> {
    AsyncTask::new(JobTask::new(&env, list_args(root)))
}

/// `listBackups` on the calling thread.
#[napi(ts_args_type = "root: string", ts_return_type = "BackupListing[]")]
pub fn list_backups_sync(env: Env, root: Unknown) -> napi::Result<Reply> {
    JobTask::new(&env, list_args(root)).run_sync(env)
}

/// Removes old backups, keeping the `keep` newest complete ones, the newest that verifies
/// and any an open incident names. A dry run (the default) only reports.
#[napi(
    ts_args_type = "root: string, options: PruneBackupsOptions",
    ts_return_type = "Promise<PruneReport>"
)]
pub fn prune_backups(env: Env, root: Unknown, options: Unknown) -> AsyncTask<JobTask> {
    AsyncTask::new(JobTask::new(&env, prune_args(root, options)))
}

fn create_args(options: Unknown<'_>) -> Parsed<'_> {
    let Some(mut o) = options_arg(options, "createBackup options")? else {
        return Err(invalid_arg(
            "createBackup needs an options object with root",
        ));
    };
    let root = path_value(o.values.remove("root"), "root")?;
    let create = CreateOptions::from_json(root, &Value::Object(o.values))?;
    let job: Job = Box::new(move |r: &Reporter| {
        backup::create_backup(&create, &|p| r.files(p)).map(|c| c.to_json())
    });
    Ok((job, o.on_progress))
}

fn verify_args<'a>(dir: Unknown<'a>, options: Unknown<'a>) -> Parsed<'a> {
    let dir = path_arg(dir, "dir")?;
    let o = options_arg(options, "verifyBackup options")?.unwrap_or_default();
    known_keys(&o.values, &["deep", "record", "onProgress"], "verifyBackup")?;
    let deep = bool_option(&o.values, "deep", true)?;
    let record_root = if bool_option(&o.values, "record", false)? {
        Some(project_root_of(&dir).ok_or_else(|| {
            invalid_arg(&format!(
                "record needs a backup under <root>/{BACKUPS_DIR}, and {} is not in a folder named {BACKUPS_DIR}",
                dir.display()
            ))
        })?)
    } else {
        None
    };
    let job: Job = Box::new(move |r: &Reporter| {
        let report = backup::verify_backup(&dir, deep, &|p| r.files(p))?;
        if let Some(root) = record_root {
            backup::record_verification(&root, &report)?;
        }
        Ok(report.to_json())
    });
    Ok((job, o.on_progress))
}

/// `<root>` of `<root>/backups/<id>`, where `record_verification` keeps the verdict.
fn project_root_of(dir: &Path) -> Option<PathBuf> {
    let parent = dir.parent()?;
    if parent.file_name()? != BACKUPS_DIR {
        return None;
    }
    parent.parent().map(Path::to_path_buf)
}

fn list_args(root: Unknown<'_>) -> Parsed<'_> {
    let root = path_arg(root, "root")?;
    let job: Job = Box::new(move |_| {
        let list = backup::list_backups(&root)?;
        Ok(Value::Array(
            list.iter().map(BackupListing::to_json).collect(),
        ))
    });
    Ok((job, None))
}

fn prune_args<'a>(root: Unknown<'a>, options: Unknown<'a>) -> Parsed<'a> {
    let root = path_arg(root, "root")?;
    let o = options_arg(options, "pruneBackups options")?.unwrap_or_default();
    known_keys(&o.values, &["keep", "dryRun"], "pruneBackups")?;
    if o.on_progress.is_some() {
        return Err(invalid_arg("pruneBackups takes no onProgress"));
    }
    let keep = match o.values.get("keep") {
        Some(Value::Number(n)) => n.as_u64().and_then(|k| usize::try_from(k).ok()),
        _ => None,
    }
    .ok_or_else(|| {
        invalid_arg(&format!(
            "pruneBackups needs keep, a positive integer, got {}",
            shown(&o.values.get("keep").cloned())
        ))
    })?;
    // keep 0 is refused by the core itself, with its reason.
    let dry_run = bool_option(&o.values, "dryRun", true)?;
    let options = PruneOptions { keep, dry_run };
    let job: Job = Box::new(move |_| backup::prune_backups(&root, options).map(|r| r.to_json()));
    Ok((job, None))
}
