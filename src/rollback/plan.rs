//! What a rollback will do, decided before anything is written: the backup (deep-verified),
//! every path created, replaced or kept, and the record counts before and after.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::live::{self, LiveLevelDb};
use super::{EMERGENCY_ENV_FILE, LEGACY_TARGET_DIR, LEVELDB_DIR, STAGING_PREFIX};
use crate::backup::{
    list_backups, needed_for_rollback, no_progress, verify_backup, BackupListing, RecordCounts,
    VerifyReport, BACKUPS_DIR, INCIDENTS_DIR, LEGACY_COPY_DIR,
};
use crate::compare::count_unified_dir;
use crate::store::EMERGENCY_STOP_FILE;
use crate::{Error, ErrorCode, Result};

/// What happens to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionOp {
    /// It does not exist and will.
    Create,
    /// It exists and its content will be replaced (the old one is kept in the incident folder).
    Replace,
    /// It exists and stays as it is.
    Keep,
}

impl ActionOp {
    /// `create`, `replace`, `keep`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionOp::Create => "create",
            ActionOp::Replace => "replace",
            ActionOp::Keep => "keep",
        }
    }
}

/// One line of the plan.
#[derive(Debug, Clone)]
pub struct PlannedAction {
    /// What happens.
    pub op: ActionOp,
    /// Path relative to the project root.
    pub path: String,
    /// Why, or from where.
    pub detail: String,
}

/// Everything a rollback will do, for the operator to read before it runs.
#[derive(Debug, Clone)]
pub struct RollbackPlan {
    /// The project root.
    pub root: PathBuf,
    /// The incident id the rollback will use.
    pub incident_id: String,
    /// The chosen backup's deep verification.
    pub backup: VerifyReport,
    /// Newer backups passed over, each with why.
    pub skipped: Vec<(String, String)>,
    /// The actions, in the order they run.
    pub actions: Vec<PlannedAction>,
    /// Legacy files (`deployments/<name>`) to restore from the backup.
    pub legacy_files: Vec<String>,
    /// The current `leveldb/`'s records (and the stamp of its files then), when there is one
    /// and it reads.
    pub leveldb_before: Option<LiveLevelDb>,
    /// Distinct production contracts in the live unified files, when they read.
    pub unified_before: Option<u64>,
    /// Records `leveldb/` will hold.
    pub after: RecordCounts,
    /// Digest of the backup and actions: a real run given this id refuses if anything changed since the dry run that showed it.
    pub plan_id: String,
}

impl RollbackPlan {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "planId": self.plan_id,
            "incidentId": self.incident_id,
            "root": self.root.display().to_string(),
            "backup": {"id": self.backup.backup_id, "path": self.backup.path.display().to_string(),
                       "status": self.backup.status.as_str(), "rollbackReady": self.backup.rollback_ready,
                       "problems": self.backup.problems.len()},
            "skippedBackups": self.skipped.iter().map(|(id, why)| json!({"id": id, "reason": why})).collect::<Vec<_>>(),
            "actions": self.actions.iter().map(|a| json!({"op": a.op.as_str(), "path": a.path, "detail": a.detail})).collect::<Vec<_>>(),
            "before": {"leveldb": self.leveldb_before.as_ref().map(|l| l.known.counts.to_json()),
                       "leveldbSameAsBackup": self.leveldb_before.as_ref().map(|l| l.same_as_backup),
                       "unifiedContracts": self.unified_before},
            "after": self.after.to_json(),
        })
    }
}

/// Chooses and deep-verifies the backup, then lists what the rollback would do. Writes nothing.
pub fn make_plan(
    root: &Path,
    backup: Option<&Path>,
    no_backup: bool,
    incident_id: &str,
) -> Result<RollbackPlan> {
    // The live database is surveyed (against the backup most likely chosen) while the backup
    // is verified: neither needs the other.
    let live_dir = root.join(LEVELDB_DIR);
    let likely = likely_choice(root, backup);
    let (chosen, survey) = std::thread::scope(|scope| {
        let survey = scope.spawn(|| live::survey(&live_dir, likely.as_deref()));
        let chosen = choose_backup(root, backup);
        (
            chosen,
            survey
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
        )
    });
    let (report, skipped) = chosen?;
    let after = report.records.clone().unwrap_or_default();
    let legacy_files = legacy_to_restore(&report);
    let leveldb_before = survey.and_then(|s| s.resolve(&live_dir, &report));
    let mut plan = RollbackPlan {
        root: root.to_path_buf(),
        incident_id: incident_id.to_string(),
        actions: actions(
            root,
            &report,
            &legacy_files,
            leveldb_before.as_ref(),
            no_backup,
            incident_id,
        )?,
        backup: report,
        skipped,
        legacy_files,
        unified_before: count_unified_dir(&root.join("deployments/unified"))
            .ok()
            .map(|c| c.production),
        leveldb_before,
        after,
        plan_id: String::new(),
    };
    plan.plan_id = plan_id(&plan);
    Ok(plan)
}

/// The backup [`choose_backup`] tries first: the one given, else the first candidate.
fn likely_choice(root: &Path, given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(dir) => Some(given_dir(root, dir)),
        None => candidates(root).ok()?.into_iter().next().map(|b| b.path),
    }
}

/// A backup folder named by the operator, relative to the project root unless absolute.
fn given_dir(root: &Path, dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        root.join(dir)
    }
}

/// Complete backups a rollback may choose by itself, in the runbook's priority: migration
/// backups first, then manual ones, newest first within each; a rollback's own pre-rollback
/// backups only when named.
fn candidates(root: &Path) -> Result<Vec<BackupListing>> {
    let mut candidates: Vec<_> = list_backups(root)?
        .into_iter()
        .filter(|b| b.complete && !b.id.starts_with("emergency-rollback-"))
        .collect();
    // Stable sort: newest first within each class, as listed.
    candidates.sort_by_key(|b| !b.id.starts_with("migration-"));
    Ok(candidates)
}

/// The given backup, or the first of the [`candidates`] whose deep verification makes it ready.
fn choose_backup(
    root: &Path,
    given: Option<&Path>,
) -> Result<(VerifyReport, Vec<(String, String)>)> {
    if let Some(dir) = given {
        let dir = given_dir(root, dir);
        let report = verify_backup(&dir, true, &no_progress)?;
        if report.rollback_ready != Some(true) {
            return Err(Error::new(
                ErrorCode::Corrupt,
                format!(
                    "backup {} cannot be used for a rollback: {}; nothing was changed. Pick another with `lookcoin-state backup list`",
                    dir.display(),
                    why_not_ready(&report)
                ),
            )
            .with_path(&dir));
        }
        return Ok((report, Vec::new()));
    }
    let mut skipped = Vec::new();
    for candidate in candidates(root)? {
        let report = verify_backup(&candidate.path, true, &no_progress)?;
        if report.rollback_ready == Some(true) {
            return Ok((report, skipped));
        }
        skipped.push((candidate.id, why_not_ready(&report)));
    }
    let reasons: Vec<String> = skipped
        .iter()
        .map(|(id, why)| format!("{id}: {why}"))
        .collect();
    Err(Error::new(
        ErrorCode::NotFound,
        format!(
            "no backup under {} is ready for a LevelDB rollback ({}); nothing was changed",
            root.join(BACKUPS_DIR).display(),
            if reasons.is_empty() {
                "there are none".to_string()
            } else {
                reasons.join("; ")
            }
        ),
    )
    .with_path(root.join(BACKUPS_DIR)))
}

/// The problems that keep a backup from a rollback, in a phrase.
fn why_not_ready(report: &VerifyReport) -> String {
    let blocking: Vec<String> = report
        .problems
        .iter()
        .filter(|p| {
            needed_for_rollback(&p.path) || p.kind.status() == crate::backup::VerifyStatus::Failed
        })
        .take(3)
        .map(|p| format!("{} {} ({})", p.kind.as_str(), p.path, p.reason))
        .collect();
    if blocking.is_empty() {
        format!(
            "verification {}, no LevelDB copy to restore",
            report.status.as_str()
        )
    } else {
        format!(
            "verification {}: {}",
            report.status.as_str(),
            blocking.join("; ")
        )
    }
}

/// `legacy-json/<network>.json` files of the backup that a runtime reads; `config-*` and `enhanced-*` are not restored (the old script resurrected them, FORMATS §6.7).
fn legacy_to_restore(report: &VerifyReport) -> Vec<String> {
    let prefix = format!("{LEGACY_COPY_DIR}/");
    report
        .listed
        .keys()
        .filter_map(|path| path.strip_prefix(&prefix))
        .filter(|name| !name.contains('/') && name.ends_with(".json"))
        .filter(|name| !name.starts_with("config-") && !name.starts_with("enhanced-"))
        .map(str::to_string)
        .collect()
}

fn actions(
    root: &Path,
    report: &VerifyReport,
    legacy: &[String],
    leveldb_before: Option<&LiveLevelDb>,
    no_backup: bool,
    incident: &str,
) -> Result<Vec<PlannedAction>> {
    let act = |op, path: &str, detail: String| PlannedAction {
        op,
        path: path.to_string(),
        detail,
    };
    let mut out = vec![
        act(
            ActionOp::Create,
            &format!("{INCIDENTS_DIR}/{incident}/"),
            "incident log, journal and report".into(),
        ),
        act(
            ActionOp::Create,
            EMERGENCY_STOP_FILE,
            "blocks every write while the rollback runs; removed at the end".into(),
        ),
    ];
    if !no_backup {
        out.push(act(
            ActionOp::Create,
            &format!("{BACKUPS_DIR}/emergency-rollback-{incident}-<time>/"),
            "verified backup of the current leveldb/ and deployments/".into(),
        ));
    }
    let records = report.records.as_ref().map_or(0, |r| r.total);
    let source = format!("{}/leveldb/current ({records} records)", report.backup_id);
    match (root.join(LEVELDB_DIR).exists(), leveldb_before) {
        (false, _) => out.push(act(ActionOp::Create, "leveldb/", format!("from {source}"))),
        (true, before) => out.push(act(
            ActionOp::Replace,
            "leveldb/",
            format!(
                "{} → {source}; the current one is kept in {INCIDENTS_DIR}/{incident}/replaced/leveldb",
                before.map_or("unreadable".into(), |b| format!(
                    "{} records{}",
                    b.known.counts.total,
                    if b.same_as_backup { " (byte-identical to the backup's copy)" } else { "" }
                ))
            ),
        )),
    }
    for name in legacy {
        let target = root.join(LEGACY_TARGET_DIR).join(name);
        let from_backup = report.path.join(LEGACY_COPY_DIR).join(name);
        let path = format!("{LEGACY_TARGET_DIR}/{name}");
        out.push(match fs::read(&target) {
            Err(_) => act(
                ActionOp::Create,
                &path,
                format!("from {}", report.backup_id),
            ),
            Ok(bytes) if fs::read(&from_backup).is_ok_and(|b| b == bytes) => act(
                ActionOp::Keep,
                &path,
                "already equal to the backup's copy".into(),
            ),
            Ok(_) => act(
                ActionOp::Replace,
                &path,
                format!(
                    "from {}; the current one is kept in the incident folder",
                    report.backup_id
                ),
            ),
        });
    }
    for name in live_legacy_names(root)? {
        if !legacy.contains(&name) {
            let path = format!("{LEGACY_TARGET_DIR}/{name}");
            out.push(act(
                ActionOp::Keep,
                &path,
                "not in the backup; left as it is".into(),
            ));
        }
    }
    let env_op = if root.join(EMERGENCY_ENV_FILE).exists() {
        ActionOp::Replace
    } else {
        ActionOp::Create
    };
    out.push(act(
        env_op,
        EMERGENCY_ENV_FILE,
        "STATE_BACKEND=leveldb, DISABLE_UNIFIED_JSON=true, FORCE_LEVELDB=true: every caller reads LevelDB".into(),
    ));
    out.push(act(
        ActionOp::Keep,
        "deployments/unified/",
        "left as it is for analysis; not read while .env.emergency exists".into(),
    ));
    Ok(out)
}

/// `deployments/*.json` names in the live tree.
fn live_legacy_names(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(LEGACY_TARGET_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::read_io(&dir, &e)),
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !n.starts_with('.') && !n.starts_with(STAGING_PREFIX))
        .collect();
    names.sort();
    Ok(names)
}

/// 16 hex digits of SHA-256 over what the plan would change; times and the incident id left out.
fn plan_id(plan: &RollbackPlan) -> String {
    let mut hasher = Sha256::new();
    hasher.update(plan.backup.path.display().to_string());
    for (path, hash) in &plan.backup.listed {
        hasher.update(format!("\n{path} {hash}"));
    }
    for action in &plan.actions {
        let path = action.path.replace(&plan.incident_id, "<incident>");
        hasher.update(format!("\n{} {path}", action.op.as_str()));
    }
    let digest = hasher.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}
