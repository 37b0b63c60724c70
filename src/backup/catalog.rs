//! The backups of a project as a whole: list them, score one, prune old ones.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::manifest::{BackupManifest, RecordCounts, MANIFEST_FILE};
use super::verify::{verify_backup, VerifyReport, VerifyStatus};
use super::{no_progress, BACKUPS_DIR};
use crate::durable::{self, DirLock};
use crate::time::{ms_from_dashed_suffix, now_ms};
use crate::{Error, ErrorCode, Result};

/// Where incidents keep their logs, under the project root.
pub const INCIDENTS_DIR: &str = "logs/incidents";
/// The file whose presence closes an incident.
pub const INCIDENT_REPORT: &str = "rollback-report.json";

/// One backup folder as `listBackups` shows it.
#[derive(Debug, Clone)]
pub struct BackupListing {
    /// Folder name.
    pub id: String,
    /// Folder.
    pub path: PathBuf,
    /// When it was made: the manifest's timestamp, else the stamp in its name.
    pub timestamp_ms: Option<u64>,
    /// Has a manifest that parses.
    pub complete: bool,
    /// The manifest, when it parses.
    pub manifest: Option<BackupManifest>,
    /// Status and time of the last recorded verification (ours or the old tool's report).
    pub last_verification: Option<Value>,
}

impl BackupListing {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        let m = self.manifest.as_ref();
        json!({
            "id": self.id, "path": self.path.display().to_string(),
            "timestamp": self.timestamp_ms.map(crate::time::iso_from_ms),
            "complete": self.complete,
            "formatVersion": m.map(|m| m.format_version),
            "totalFiles": m.map(|m| m.total_files), "totalSize": m.map(|m| m.total_size),
            "records": m.and_then(|m| m.records.as_ref()).map(|r| r.total),
            "lastVerification": self.last_verification,
        })
    }
}

/// Every backup under `<root>/backups`, newest first.
pub fn list_backups(root: &Path) -> Result<Vec<BackupListing>> {
    let backups = root.join(BACKUPS_DIR);
    let entries = match fs::read_dir(&backups) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::read_io(&backups, &e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::read_io(&backups, &e))?;
        let id = entry.file_name().to_string_lossy().into_owned();
        if id.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        out.push(listing(&backups, id));
    }
    out.sort_by(|a, b| (b.timestamp_ms, &b.id).cmp(&(a.timestamp_ms, &a.id)));
    Ok(out)
}

fn listing(backups: &Path, id: String) -> BackupListing {
    let path = backups.join(&id);
    let manifest = fs::read_to_string(path.join(MANIFEST_FILE))
        .ok()
        .and_then(|text| BackupManifest::parse(&text).ok());
    let old_report = fs::read_to_string(path.join("VERIFICATION_REPORT.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .map(|r| json!({"status": r["status"], "at": r["verificationTimestamp"], "by": "old verifier"}));
    BackupListing {
        timestamp_ms: manifest
            .as_ref()
            .and_then(|m| m.timestamp_ms)
            .or_else(|| ms_from_dashed_suffix(&id)),
        complete: manifest.is_some(),
        last_verification: recorded_verification(backups, &id).or(old_report),
        manifest,
        path,
        id,
    }
}

/// Keeps a verification's verdict beside the backups (never inside one: verifying changes no byte of a backup).
pub fn record_verification(root: &Path, report: &VerifyReport) -> Result<()> {
    let folder = root.join(BACKUPS_DIR).join(".verifications");
    durable::create_dir_all_durable(&folder)?;
    let id = report
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let entry = json!({"status": report.status.as_str(), "deep": report.deep,
                       "rollbackReady": report.rollback_ready,
                       "at": crate::time::iso_from_ms(now_ms()), "by": "lookcoin-state"});
    durable::write_atomic(
        &folder.join(format!("{id}.json")),
        entry.to_string().as_bytes(),
    )
}

fn recorded_verification(backups: &Path, id: &str) -> Option<Value> {
    let text =
        fs::read_to_string(backups.join(".verifications").join(format!("{id}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

/// One part of a quality score.
#[derive(Debug, Clone)]
pub struct ScorePart {
    /// `completeness`, `integrity`, `age`, `size`, `records`.
    pub name: &'static str,
    /// Points earned.
    pub score: u32,
    /// Points possible.
    pub max: u32,
    /// Why, in a phrase.
    pub detail: String,
}

/// The result of [`assess_backup`].
#[derive(Debug, Clone)]
pub struct Assessment {
    /// 0–100: the sum of the parts.
    pub score: u32,
    /// The parts.
    pub parts: Vec<ScorePart>,
    /// The deep verification the score rests on.
    pub verification: VerifyReport,
}

impl Assessment {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "score": self.score,
            "parts": self.parts.iter().map(|p| json!({"name": p.name, "score": p.score,
                "max": p.max, "detail": p.detail})).collect::<Vec<_>>(),
            "verification": self.verification.to_json(),
        })
    }
}

/// Scores a backup 0–100 (completeness 40, integrity 30, age 10, size 10, records 10; see the README).
pub fn assess_backup(dir: &Path) -> Result<Assessment> {
    let report = verify_backup(dir, true, &no_progress)?;
    let root = project_root_of(dir);
    let previous = root
        .as_deref()
        .map(list_backups)
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .filter(|b| {
            b.complete && b.timestamp_ms < report.manifest.as_ref().and_then(|m| m.timestamp_ms)
        })
        .find(|b| b.path != dir);
    let live = root.as_deref().and_then(live_production_count);
    let parts = vec![
        completeness(&report),
        integrity(&report),
        age(&report),
        size(&report, previous.as_ref()),
        records(&report, live),
    ];
    Ok(Assessment {
        score: parts.iter().map(|p| p.score).sum(),
        parts,
        verification: report,
    })
}

fn part(name: &'static str, score: u32, max: u32, detail: String) -> ScorePart {
    ScorePart {
        name,
        score: score.min(max),
        max,
        detail,
    }
}

fn completeness(r: &VerifyReport) -> ScorePart {
    let c = &r.counts;
    let score = match (&r.manifest, c.listed) {
        (None, _) | (_, 0) => 0,
        (Some(_), listed) => (40 * c.ok / listed) as u32,
    };
    let detail = format!(
        "{} of {} listed files present and intact, {} missing",
        c.ok, c.listed, c.missing
    );
    part("completeness", score, 40, detail)
}

fn integrity(r: &VerifyReport) -> ScorePart {
    let (score, detail) = match (r.status, r.rollback_ready) {
        (VerifyStatus::Failed, _) => (0, "verification FAILED".to_string()),
        (_, Some(true)) => (
            30,
            "every byte verified; the LevelDB copy is ready for a rollback".into(),
        ),
        _ => (
            15,
            "no corruption found, but not ready for a LevelDB rollback".into(),
        ),
    };
    part("integrity", score, 30, detail)
}

fn age(r: &VerifyReport) -> ScorePart {
    let Some(made) = r.manifest.as_ref().and_then(|m| m.timestamp_ms) else {
        return part("age", 0, 10, "unknown age".into());
    };
    let hours = now_ms().saturating_sub(made) / 3_600_000;
    let score = match hours {
        0..=24 => 10,
        25..=168 => 7,
        169..=720 => 4,
        _ => 1,
    };
    part("age", score, 10, format!("{hours} hours old"))
}

fn size(r: &VerifyReport, previous: Option<&BackupListing>) -> ScorePart {
    let Some(this) = r.manifest.as_ref().map(|m| m.total_size) else {
        return part("size", 0, 10, "no manifest".into());
    };
    let Some(before) = previous
        .and_then(|p| p.manifest.as_ref())
        .map(|m| m.total_size)
    else {
        return part(
            "size",
            10,
            10,
            format!("{this} bytes; no earlier backup to compare"),
        );
    };
    let ratio = this as f64 / before.max(1) as f64;
    let score = if (0.5..=2.0).contains(&ratio) { 10 } else { 5 };
    part(
        "size",
        score,
        10,
        format!("{this} bytes, {ratio:.2}× the previous backup"),
    )
}

fn records(r: &VerifyReport, live: Option<u64>) -> ScorePart {
    let Some(found) = r.records.as_ref().map(|c| c.production) else {
        return part("records", 0, 10, "no readable LevelDB copy".into());
    };
    match live {
        None => part(
            "records",
            5,
            10,
            format!("{found} production records; live state unreadable"),
        ),
        Some(0) => part(
            "records",
            10,
            10,
            format!("{found} production records; live state empty"),
        ),
        Some(live) => part(
            "records",
            (10 * found.min(live) / live) as u32,
            10,
            format!("{found} production records against {live} in the live state"),
        ),
    }
}

/// `<root>` of `<root>/backups/<id>`.
fn project_root_of(dir: &Path) -> Option<PathBuf> {
    let parent = dir.parent()?;
    (parent.file_name()? == BACKUPS_DIR).then(|| parent.parent().map(Path::to_path_buf))?
}

/// Production contracts in the live state: LevelDB when present, else the distinct (chain, canonical name) pairs of the live unified files.
pub(crate) fn live_production_count(root: &Path) -> Option<u64> {
    let leveldb = root.join("leveldb");
    if leveldb.join("CURRENT").is_file() {
        return RecordCounts::of_leveldb_copy(&leveldb)
            .ok()
            .map(|c| c.production);
    }
    crate::compare::count_unified_dir(&root.join("deployments/unified"))
        .ok()
        .map(|c| c.production)
}

/// What `pruneBackups` should do.
#[derive(Debug, Clone, Copy)]
pub struct PruneOptions {
    /// How many of the newest complete backups to keep.
    pub keep: usize,
    /// Only report (the default for callers).
    pub dry_run: bool,
}

/// What pruning did or would do.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    /// Backups kept, each with why.
    pub kept: Vec<(String, String)>,
    /// Backups removed (or that would be), each with why.
    pub removed: Vec<(String, String)>,
    /// Whether nothing was removed because this was a dry run.
    pub dry_run: bool,
}

impl PruneReport {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        let pairs = |v: &Vec<(String, String)>| {
            v.iter()
                .map(|(id, why)| json!({"id": id, "reason": why}))
                .collect::<Vec<_>>()
        };
        json!({"dryRun": self.dry_run, "kept": pairs(&self.kept), "removed": pairs(&self.removed)})
    }
}

/// Removes old backups, keeping the `keep` newest complete ones, the newest one that verifies, and every one an open incident refers to.
pub fn prune_backups(root: &Path, options: PruneOptions) -> Result<PruneReport> {
    check_keep(options.keep)?;
    let backups = root.join(BACKUPS_DIR);
    let _serialised = if options.dry_run || !backups.is_dir() {
        None
    } else {
        Some(DirLock::try_acquire(&backups, "a backup create or prune")?)
    };
    let listed = list_backups(root)?;
    let protected = newest_verified(&listed)?;
    let incidents = open_incident_text(root)?;
    let mut report = PruneReport {
        dry_run: options.dry_run,
        ..Default::default()
    };
    let mut complete_seen = 0;
    for backup in listed {
        let keep_reason = if Some(&backup.id) == protected.as_ref() {
            Some("newest backup that verifies".to_string())
        } else if let Some(incident) = incidents.iter().find(|(_, text)| text.contains(&backup.id))
        {
            Some(format!("open incident {} refers to it", incident.0))
        } else if backup.complete && complete_seen < options.keep {
            Some(format!("one of the {} newest", options.keep))
        } else {
            None
        };
        complete_seen += usize::from(backup.complete);
        match keep_reason {
            Some(why) => report.kept.push((backup.id, why)),
            None => {
                let why = if backup.complete {
                    "older than the kept ones"
                } else {
                    "incomplete (no manifest)"
                };
                if !options.dry_run {
                    durable::remove_tree(&backup.path)?;
                }
                report.removed.push((backup.id, why.to_string()));
            }
        }
    }
    if !options.dry_run {
        durable::remove_trash(&backups)?;
    }
    Ok(report)
}

/// The id of the newest complete backup whose deep verification says it is ready for a rollback.
fn newest_verified(listed: &[BackupListing]) -> Result<Option<String>> {
    for backup in listed.iter().filter(|b| b.complete) {
        if verify_backup(&backup.path, true, &no_progress)?.rollback_ready == Some(true) {
            return Ok(Some(backup.id.clone()));
        }
    }
    Ok(None)
}

/// (incident id, text of its files) for every incident not yet closed by its report.
fn open_incident_text(root: &Path) -> Result<Vec<(String, String)>> {
    let dir = root.join(INCIDENTS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::read_io(&dir, &e)),
    };
    let mut open = Vec::new();
    for entry in entries.flatten() {
        let folder = entry.path();
        if !folder.is_dir() || folder.join(INCIDENT_REPORT).is_file() {
            continue;
        }
        let mut text = String::new();
        for file in fs::read_dir(&folder)
            .map_err(|e| Error::read_io(&folder, &e))?
            .flatten()
        {
            text.push_str(&fs::read_to_string(file.path()).unwrap_or_default());
        }
        open.push((entry.file_name().to_string_lossy().into_owned(), text));
    }
    Ok(open)
}

/// Rejects a `keep` that would leave no backup at all.
fn check_keep(keep: usize) -> Result<()> {
    if keep == 0 {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            "keep must be at least 1: pruning never removes every backup",
        ));
    }
    Ok(())
}
