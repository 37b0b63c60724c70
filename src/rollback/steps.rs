//! The steps that change the project, each journaled before and after, each safe to run
//! again after a crash, and the undo that puts the old state back.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::incident::{find, Incident, JournalEntry};
use super::{Event, EventFn, EMERGENCY_ENV_FILE, LEGACY_TARGET_DIR, LEVELDB_DIR, STAGING_PREFIX};
use crate::backend::leveldb::{LevelDbBackend, OpenMode, NOT_DATA};
use crate::backend::Backend;
use crate::backup::{
    create_backup, hex, no_progress, verify_backup, CreateOptions, KnownLevelDb, LevelDbShortcuts,
    RecordCounts, VerifyStatus, BACKUPS_DIR, LEGACY_COPY_DIR, LEVELDB_COPY_DIR, MANIFEST_FILE,
};
use crate::durable::{self, FileStamp};
use crate::leveldb_check::is_table_name;
use crate::{Error, ErrorCode, Result};

/// Mode of restored files: readable, never executable.
const RESTORED_FILE_MODE: u32 = 0o644;

/// What every step needs: the project, the incident and the verified backup.
pub struct Ctx<'a> {
    /// Project root.
    pub root: &'a Path,
    /// The incident.
    pub incident: &'a Incident,
    /// The backup folder.
    pub backup_dir: PathBuf,
    /// Listed path → SHA-256 from the backup's verification.
    pub listed: BTreeMap<String, String>,
    /// Listed path → identity of the file the verification hashed and found matching.
    pub stamps: BTreeMap<String, FileStamp>,
    /// Records the backup's LevelDB holds.
    pub expected: RecordCounts,
    /// What the plan learnt of the live `leveldb/`, with the stamp of its files then.
    pub leveldb_before: Option<KnownLevelDb>,
    /// `deployments/<name>` files to restore.
    pub legacy: Vec<String>,
    /// Skip the pre-rollback backup.
    pub no_backup: bool,
    /// Progress observer.
    pub events: EventFn<'a>,
}

impl Ctx<'_> {
    fn target(&self) -> PathBuf {
        self.root.join(LEVELDB_DIR)
    }

    fn staging(&self) -> PathBuf {
        self.root
            .join(format!("{STAGING_PREFIX}{}", self.incident.id))
    }

    fn parked(&self) -> PathBuf {
        self.incident.replaced_dir().join("leveldb")
    }

    fn begin(&self, step: &str, data: Value, message: String) -> Result<()> {
        (self.events)(&Event::new(step, "begin", message));
        self.incident.record(step, "begin", data)
    }

    fn done(&self, step: &str, data: Value, message: String) -> Result<()> {
        self.incident.record(step, "done", data)?;
        self.incident.log(step, &format!("OK {message}"))?;
        (self.events)(&Event::new(step, "done", message));
        Ok(())
    }
}

/// Backs up what the rollback replaces, `leveldb/` and the live files of `deployments/`, as
/// `backups/emergency-rollback-<id>-<time>/`, then verifies its structure.
///
/// The old `leveldb/` is parked in the incident folder and never written again, so its tables
/// are hard-linked rather than copied, and hashed by reading the backup's own files. The
/// unified history (`deployments/unified/backups/`, `*.backup-*` files) is left out: the
/// rollback does not touch it.
pub fn pre_backup(ctx: &Ctx) -> Result<Value> {
    ctx.begin(
        "pre-backup",
        json!({}),
        "backing up the current state".into(),
    )?;
    remove_incomplete_pre_backups(ctx)?;
    let options = CreateOptions {
        root: ctx.root.to_path_buf(),
        kind: format!("emergency-rollback-{}", ctx.incident.id),
        label: Some(format!(
            "state before the rollback of incident {}",
            ctx.incident.id
        )),
        include_unified_history: false,
        leveldb: LevelDbShortcuts {
            link_tables: true,
            known: ctx.leveldb_before.clone(),
        },
    };
    let created = match create_backup(&options, &no_progress) {
        Err(e) if e.code == ErrorCode::NotFound => {
            let data = json!({"path": null});
            ctx.done(
                "pre-backup",
                data.clone(),
                "nothing to back up (no leveldb/ or deployments/)".into(),
            )?;
            return Ok(data);
        }
        other => other?,
    };
    // Structure only: every byte was hashed from the backup's own files moments ago.
    let report = verify_backup(&created.path, false, &no_progress)?;
    if report.status == VerifyStatus::Failed {
        return Err(Error::new(
            ErrorCode::Corrupt,
            format!(
                "the pre-rollback backup {} does not verify ({} problems); nothing was changed",
                created.path.display(),
                report.problems.len()
            ),
        )
        .with_path(&created.path));
    }
    let rel = created
        .path
        .strip_prefix(ctx.root)
        .unwrap_or(&created.path)
        .display()
        .to_string();
    let data = json!({"path": rel, "status": report.status.as_str(), "unifiedHistory": "not copied: the rollback does not change it"});
    ctx.done(
        "pre-backup",
        data.clone(),
        format!(
            "{rel} ({}, structure verified; tables hard-linked)",
            report.status.as_str()
        ),
    )?;
    Ok(data)
}

/// A crash during the pre-rollback backup leaves a folder without manifest: remove it before trying again.
fn remove_incomplete_pre_backups(ctx: &Ctx) -> Result<()> {
    let prefix = format!("emergency-rollback-{}-", ctx.incident.id);
    let Ok(entries) = fs::read_dir(ctx.root.join(BACKUPS_DIR)) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && !entry.path().join(MANIFEST_FILE).exists() {
            durable::remove_tree(&entry.path())?;
        }
    }
    Ok(())
}

/// Builds the new LevelDB beside the live one from the backup and checks that it opens.
///
/// Table files (`.ldb`, `.sst`) are hard-linked when they are still the very files the
/// verification hashed (same inode, size and mtime) and have the restored mode: LevelDB never
/// writes a table after creating it, only deletes it, so sharing them with the backup cannot
/// change the backup (RocksDB's checkpoints rely on the same property). Every other file, and a
/// table that cannot be linked, is copied and its bytes rechecked against the verified hash.
pub fn stage(ctx: &Ctx) -> Result<()> {
    let staging = ctx.staging();
    ctx.begin(
        "stage",
        json!({"staging": staging}),
        format!("building the restored LevelDB in {}", staging.display()),
    )?;
    if staging.exists() {
        durable::remove_tree(&staging)?;
    }
    durable::create_dir_new(&staging)?;
    let source = ctx.backup_dir.join(LEVELDB_COPY_DIR);
    let mut buf = vec![0u8; 1 << 20];
    let mut linked = 0;
    for (rel, expected) in ctx.listed.iter().filter(|(rel, _)| is_leveldb_data(rel)) {
        let name = &rel[LEVELDB_COPY_DIR.len() + 1..];
        let (from, to) = (source.join(name), staging.join(name));
        if is_table_name(name) && link_verified(ctx.stamps.get(rel), &from, &to)? {
            linked += 1;
            continue;
        }
        let mut hasher = Sha256::new();
        durable::copy_file_new(&from, &to, &mut buf, &mut |c| hasher.update(c))?;
        if hex(&hasher.finalize()) != *expected {
            return Err(changed_since_verification(&from));
        }
    }
    durable::sync_dir(&staging)?;
    let opened = LevelDbBackend::open(&staging, OpenMode::MustExist)?;
    opened.probe()?;
    opened.close()?;
    ctx.done(
        "stage",
        json!({"staging": staging, "linkedTables": linked}),
        format!("restored LevelDB staged and opens ({linked} tables hard-linked from the verified backup)"),
    )
}

/// Hard-links `from` to `to` when it is still the file the verification hashed and already has
/// the restored mode; `false` (nothing done) when it cannot be linked and must be copied.
fn link_verified(verified: Option<&FileStamp>, from: &Path, to: &Path) -> Result<bool> {
    let Some(verified) = verified else {
        return Ok(false);
    };
    let meta = fs::symlink_metadata(from).map_err(|e| Error::read_io(from, &e))?;
    if FileStamp::of(&meta) != *verified {
        return Err(changed_since_verification(from));
    }
    if meta.mode() & 0o7777 != RESTORED_FILE_MODE || !durable::hard_link_new(from, to)? {
        return Ok(false);
    }
    // Checked again through the new name: a change between the two looks shows here.
    if FileStamp::read(to)? != *verified {
        return Err(changed_since_verification(from));
    }
    Ok(true)
}

fn is_leveldb_data(rel: &str) -> bool {
    rel.strip_prefix(LEVELDB_COPY_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|name| !name.contains('/') && !NOT_DATA.contains(&name))
}

fn changed_since_verification(path: &Path) -> Error {
    Error::new(
        ErrorCode::Corrupt,
        format!(
            "{} changed since the backup was verified; nothing was swapped. Verify the backup again",
            path.display()
        ),
    )
    .with_path(path)
}

/// Puts the staged LevelDB in place of the live one: one atomic exchange where the filesystem can, else two renames the journal can finish or undo. The old one ends in the incident's `replaced/leveldb`.
pub fn swap(ctx: &Ctx) -> Result<()> {
    let (staging, target, parked) = (ctx.staging(), ctx.target(), ctx.parked());
    let staging_ino = inode(&staging)
        .ok_or_else(|| Error::new(ErrorCode::Internal, "staging folder vanished"))?;
    let target_existed = target.exists();
    let data = json!({"stagingIno": staging_ino, "targetExisted": target_existed});
    ctx.begin("swap", data, "swapping the restored LevelDB in".into())?;
    durable::create_dir_all_durable(&ctx.incident.replaced_dir())?;
    let mode = if !target_existed {
        durable::rename_durable(&staging, &target)?;
        "rename"
    } else if durable::exchange(&staging, &target)? {
        durable::rename_durable(&staging, &parked)?;
        "exchange"
    } else {
        durable::rename_durable(&target, &parked)?;
        durable::rename_durable(&staging, &target)?;
        "two renames"
    };
    ctx.done(
        "swap",
        json!({"mode": mode}),
        format!("leveldb/ now holds the backup's data ({mode})"),
    )
}

/// After a crash inside the swap: finishes it when the new folder is already in place (parking the old one), else puts the old one back. Returns whether the swap is complete.
pub fn settle_swap(ctx: &Ctx, journal: &[JournalEntry]) -> Result<bool> {
    let Some(begin) = find(journal, "swap", "begin") else {
        return Ok(false);
    };
    let (staging, target, parked) = (ctx.staging(), ctx.target(), ctx.parked());
    let swapped = inode(&target) == begin["stagingIno"].as_u64();
    if swapped {
        if staging.exists() && !parked.exists() {
            durable::rename_durable(&staging, &parked)?;
        }
        ctx.done(
            "swap",
            json!({"mode": "resumed"}),
            "swap found complete after a crash".into(),
        )?;
    } else if !target.exists() && parked.exists() {
        durable::rename_durable(&parked, &target)?;
    }
    Ok(swapped)
}

fn inode(path: &Path) -> Option<u64> {
    fs::symlink_metadata(path).ok().map(|m| m.ino())
}

/// Restores the legacy files, one atomic replace each; a replaced file is first kept (hard link) in the incident's `replaced/deployments/`.
pub fn restore_legacy(ctx: &Ctx) -> Result<()> {
    let target_dir = ctx.root.join(LEGACY_TARGET_DIR);
    let created: Vec<&String> = ctx
        .legacy
        .iter()
        .filter(|n| !target_dir.join(n).exists())
        .collect();
    ctx.begin(
        "legacy",
        json!({"created": created}),
        format!("restoring {} legacy JSON files", ctx.legacy.len()),
    )?;
    durable::create_dir_all_durable(&target_dir)?;
    let kept = ctx.incident.replaced_dir().join(LEGACY_TARGET_DIR);
    for name in &ctx.legacy {
        let source = ctx.backup_dir.join(LEGACY_COPY_DIR).join(name);
        let bytes = fs::read(&source).map_err(|e| Error::read_io(&source, &e))?;
        if hex(&Sha256::digest(&bytes)) != ctx.listed[&format!("{LEGACY_COPY_DIR}/{name}")] {
            return Err(changed_since_verification(&source));
        }
        let target = target_dir.join(name);
        match fs::read(&target) {
            Ok(current) if current == bytes => continue,
            Ok(_) if !kept.join(name).exists() => {
                durable::create_dir_all_durable(&kept)?;
                durable::link_durable(&target, &kept.join(name))?;
            }
            _ => {}
        }
        durable::write_atomic_mode(&target, &bytes, RESTORED_FILE_MODE)?;
    }
    ctx.done(
        "legacy",
        json!({}),
        format!("{} legacy JSON files restored", ctx.legacy.len()),
    )
}

/// Writes `.env.emergency`: from now on every caller's backend selection gives LevelDB.
pub fn switch(ctx: &Ctx) -> Result<()> {
    let env = ctx.root.join(EMERGENCY_ENV_FILE);
    let existed = env.exists();
    ctx.begin(
        "switch",
        json!({"existed": existed}),
        format!("writing {EMERGENCY_ENV_FILE}"),
    )?;
    let kept = ctx.incident.replaced_dir().join(EMERGENCY_ENV_FILE);
    if existed && !kept.exists() {
        durable::create_dir_all_durable(&ctx.incident.replaced_dir())?;
        durable::link_durable(&env, &kept)?;
    }
    durable::write_atomic_mode(
        &env,
        env_text(&ctx.incident.id).as_bytes(),
        RESTORED_FILE_MODE,
    )?;
    ctx.done("switch", json!({}), "every caller now reads LevelDB".into())
}

fn env_text(incident: &str) -> String {
    format!(
        "# Written by lookcoin-state during incident {incident}: emergency rollback to LevelDB.\n\
         # Every lookcoin-state caller reads and writes leveldb/ while this file exists. Remove it only\n\
         # after the unified JSON files are repaired (see logs/incidents/{incident}/rollback-report.md).\n\
         STATE_BACKEND=leveldb\nDISABLE_UNIFIED_JSON=true\nFORCE_LEVELDB=true\n"
    )
}

/// Puts back what the rollback replaced, newest change first: `.env.emergency`, the legacy files, `leveldb/`. The restored-but-rejected LevelDB is kept in the incident's `failed/leveldb`.
pub fn undo(ctx: &Ctx, journal: &[JournalEntry]) -> Result<()> {
    let replaced = ctx.incident.replaced_dir();
    if let Some(begin) = find(journal, "switch", "begin") {
        let env = ctx.root.join(EMERGENCY_ENV_FILE);
        if begin["existed"] == json!(true) {
            put_back(&replaced.join(EMERGENCY_ENV_FILE), &env)?;
        } else {
            durable::remove_file(&env)?;
        }
    }
    if let Some(begin) = find(journal, "legacy", "begin") {
        let created: Vec<&str> = begin["created"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for name in &ctx.legacy {
            let target = ctx.root.join(LEGACY_TARGET_DIR).join(name);
            if created.contains(&name.as_str()) {
                durable::remove_file(&target)?;
            } else {
                put_back(&replaced.join(LEGACY_TARGET_DIR).join(name), &target)?;
            }
        }
    }
    undo_swap(ctx, journal)?;
    ctx.incident.record("undone", "done", json!({}))?;
    ctx.incident
        .log("undone", "the state before the rollback is back in place")
}

fn undo_swap(ctx: &Ctx, journal: &[JournalEntry]) -> Result<()> {
    let (target, parked, staging) = (ctx.target(), ctx.parked(), ctx.staging());
    let swapped =
        find(journal, "swap", "begin").is_some_and(|b| inode(&target) == b["stagingIno"].as_u64());
    if swapped {
        let failed = ctx.incident.dir.join("failed");
        durable::create_dir_all_durable(&failed)?;
        durable::rename_durable(&target, &failed.join("leveldb"))?;
    }
    if !target.exists() && parked.exists() {
        durable::rename_durable(&parked, &target)?;
    }
    if staging.exists() {
        durable::remove_tree(&staging)?;
    }
    Ok(())
}

/// Moves a kept copy back over `target` (one rename: atomic); nothing kept means nothing was replaced.
fn put_back(kept: &Path, target: &Path) -> Result<()> {
    if kept.exists() {
        durable::rename_durable(kept, target)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_the_verified_file_with_the_restored_mode_is_linked_and_a_changed_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("lcs-link-verified-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let table = dir.join("000005.ldb");
        fs::write(&table, b"table bytes").unwrap();
        fs::set_permissions(&table, fs::Permissions::from_mode(0o644)).unwrap();
        let verified = FileStamp::read(&table).unwrap();

        assert!(!link_verified(None, &table, &dir.join("unverified.ldb")).unwrap());
        assert!(link_verified(Some(&verified), &table, &dir.join("linked.ldb")).unwrap());
        assert_eq!(fs::read(dir.join("linked.ldb")).unwrap(), b"table bytes");

        fs::set_permissions(&table, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(
            !link_verified(Some(&verified), &table, &dir.join("private.ldb")).unwrap(),
            "another mode is copied (and so made 0644), never linked"
        );
        assert!(!dir.join("private.ldb").exists());

        fs::write(&table, b"other, longer bytes").unwrap();
        let err = link_verified(Some(&verified), &table, &dir.join("changed.ldb")).unwrap_err();
        assert_eq!(err.code, ErrorCode::Corrupt);
        assert!(err
            .message
            .contains("changed since the backup was verified"));
        assert!(!dir.join("changed.ldb").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
