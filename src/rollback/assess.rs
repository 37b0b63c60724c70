//! `assessEmergency`: the runbook's first minutes as one call — are the unified files sound,
//! is there room on disk, which trigger markers are raised, is a verified backup at hand —
//! and the decision that follows from its matrix.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde_json::{json, Value};

use super::incident::interrupted;
use super::plan::make_plan;
use super::validate::Check;
use crate::backend::unified::is_live_file_name;
use crate::chains::ChainMap;
use crate::record::WriteCheck;
use crate::selection::{select_backend, EMERGENCY_ENV_FILE};
use crate::unified::UnifiedFile;
use crate::Result;

/// Marker files an operator (or a monitor) raises, with what they mean (runbook, step 4).
const TRIGGERS: [(&str, &str); 3] = [
    (".data-corruption", "data corruption reported"),
    (".system-failure", "system functionality failure reported"),
    (".performance-issue", "performance degradation reported"),
];

/// The decision and why.
#[derive(Debug, Clone)]
pub struct EmergencyAssessment {
    /// `ROLLBACK_REQUIRED`, `CONDITIONAL`, `NOT_NEEDED` or `RESUME_REQUIRED`.
    pub decision: &'static str,
    /// The reasons behind it.
    pub reasons: Vec<String>,
    /// Whether a rollback can run now (a ready backup and room on disk).
    pub rollback_possible: bool,
    /// The checks, as ✅/❌ lines.
    pub checks: Vec<Check>,
}

impl EmergencyAssessment {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "decision": self.decision,
            "reasons": self.reasons,
            "rollbackPossible": self.rollback_possible,
            "checks": self.checks.iter().map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail})).collect::<Vec<_>>(),
        })
    }
}

/// Assesses the project at `root`. Reads only.
pub fn assess_emergency(
    root: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<EmergencyAssessment> {
    if let Some(found) = interrupted(root)?.into_iter().next() {
        let reason = format!(
            "rollback {} was interrupted; run `lookcoin-state rollback --resume`",
            found.id
        );
        return Ok(EmergencyAssessment {
            decision: "RESUME_REQUIRED",
            reasons: vec![reason],
            rollback_possible: true,
            checks: Vec::new(),
        });
    }
    let mut checks = Vec::new();
    let unified_problems = unified_problems(root);
    checks.push(Check {
        name: "Unified JSON files readable and valid".into(),
        ok: unified_problems.is_empty(),
        detail: if unified_problems.is_empty() {
            "every live file parses and claims its own chain".into()
        } else {
            unified_problems.join("; ")
        },
    });
    let raised: Vec<&str> = TRIGGERS
        .iter()
        .filter(|(file, _)| root.join(file).exists())
        .map(|(_, why)| *why)
        .collect();
    checks.push(Check {
        name: "No trigger markers raised".into(),
        ok: raised.is_empty(),
        detail: if raised.is_empty() {
            "none of .data-corruption, .system-failure, .performance-issue".into()
        } else {
            raised.join(", ")
        },
    });
    let plan = make_plan(root, None, false, "assessment");
    checks.push(match &plan {
        Ok(plan) => Check {
            name: "Verified LevelDB backup available".into(),
            ok: true,
            detail: format!("{} ({} records)", plan.backup.backup_id, plan.after.total),
        },
        Err(e) => Check {
            name: "Verified LevelDB backup available".into(),
            ok: false,
            detail: e.message.clone(),
        },
    });
    let space = disk_check(root, plan.as_ref().map_or(0, |p| p.backup.bytes_hashed));
    let enough_space = space.ok;
    checks.push(space);
    let already = select_backend(None, root, env)
        .ok()
        .filter(|s| s.kind == crate::backend::BackendKind::LevelDb);
    let (decision, reasons) = decide(&unified_problems, &raised, already.is_some());
    Ok(EmergencyAssessment {
        decision,
        reasons,
        rollback_possible: plan.is_ok() && enough_space,
        checks,
    })
}

/// The runbook's matrix: corruption or failure → rollback; performance → conditional; else not needed.
fn decide(unified: &[String], raised: &[&str], on_leveldb: bool) -> (&'static str, Vec<String>) {
    if on_leveldb {
        return (
            "NOT_NEEDED",
            vec![format!(
                "already running on LevelDB ({EMERGENCY_ENV_FILE} selects it)"
            )],
        );
    }
    let mut reasons: Vec<String> = unified
        .iter()
        .map(|p| format!("unified JSON: {p}"))
        .collect();
    reasons.extend(raised.iter().map(|r| r.to_string()));
    let critical = !unified.is_empty() || raised.iter().any(|r| !r.starts_with("performance"));
    match (critical, raised.is_empty()) {
        (true, _) => ("ROLLBACK_REQUIRED", reasons),
        (false, false) => ("CONDITIONAL", reasons),
        (false, true) => (
            "NOT_NEEDED",
            vec!["unified JSON is sound and no trigger is raised".into()],
        ),
    }
}

/// What is wrong with the live unified files: unreadable, unparseable, a chain claimed by two files or not the file's own, records with invalid addresses.
fn unified_problems(root: &Path) -> Vec<String> {
    let dir = root.join("deployments/unified");
    let Ok(entries) = fs::read_dir(&dir) else {
        return vec![format!("{} cannot be listed", dir.display())];
    };
    let chains = ChainMap::default();
    let mut claims: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_live_file_name(&name) {
            continue;
        }
        let parsed = fs::read_to_string(entry.path())
            .map_err(|e| e.to_string())
            .and_then(|text| UnifiedFile::parse(&entry.path(), &text).map_err(|e| e.message));
        let file = match parsed {
            Ok(file) => file,
            Err(why) => {
                problems.push(format!("{name}: {why}"));
                continue;
            }
        };
        claims
            .entry(file.chain_id())
            .or_default()
            .push(name.clone());
        let network = &name[..name.len() - ".unified.json".len()];
        if chains
            .chain_id(network)
            .is_some_and(|id| id != file.chain_id())
        {
            problems.push(format!(
                "{name} claims chainId {}, which is not its chain",
                file.chain_id()
            ));
        }
        let bad = file
            .records()
            .iter()
            .filter(|r| r.check_for_write(WriteCheck::AllowEmptyHashes).is_err())
            .count();
        if bad > 0 {
            problems.push(format!("{name}: {bad} record(s) with invalid fields"));
        }
    }
    for (chain, files) in claims.iter().filter(|(_, f)| f.len() > 1) {
        problems.push(format!(
            "chainId {chain} is claimed by {}",
            files.join(" and ")
        ));
    }
    problems
}

/// Room for the pre-rollback backup and the staged LevelDB: at least three times the backup's data.
fn disk_check(root: &Path, backup_bytes: u64) -> Check {
    let needed = backup_bytes.saturating_mul(3).max(1 << 20);
    match available_bytes(root) {
        Some(free) => Check {
            name: "Disk space".into(),
            ok: free >= needed,
            detail: format!(
                "{} MiB free, {} MiB needed",
                free >> 20,
                needed.div_ceil(1 << 20)
            ),
        },
        None => Check {
            name: "Disk space".into(),
            ok: false,
            detail: "cannot read the filesystem's free space".into(),
        },
    }
}

fn available_bytes(path: &Path) -> Option<u64> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the zeroed struct we own from a valid NUL-terminated path.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}
