//! The emergency rollback from unified JSON to LevelDB: verified first, atomic, resumable.
//!
//! Order: lock → choose and deep-verify the backup → plan (a dry run stops here, having
//! written nothing) → declare the incident (`.emergency-stop` blocks every write) →
//! pre-rollback backup → stage the new `leveldb/` beside the live one → swap → restore
//! legacy files → write `.env.emergency` → validate through the store → reports. Every
//! step is journaled before and after; a crashed rollback is finished by the next call,
//! and a failure after the swap began puts the old state back.

mod assess;
mod incident;
mod live;
mod plan;
mod regenerate;
mod report;
mod steps;
mod templates;
mod validate;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

pub use assess::{assess_emergency, EmergencyAssessment};
pub use incident::{interrupted, Incident, JournalEntry};
pub use live::LiveLevelDb;
pub use plan::{make_plan, ActionOp, PlannedAction, RollbackPlan};
pub use regenerate::{regenerate_unified, RegenerateReport, RegeneratedFile};
pub use templates::{
    incident_report, rollback_validation_report, RenderedReport, ReportOptions,
    INCIDENT_REPORT_STEM, VALIDATION_REPORT_STEM,
};
pub use validate::{validate_rollback, Check, Expectation, RollbackValidation};

use crate::backend::leveldb::is_open_here;
use crate::backend::unified::is_live_file_name;
use crate::backup::{no_progress, verify_backup, RecordCounts, VerifyReport};
use crate::durable::{self, is_locked_elsewhere, DirLock};
pub use crate::selection::EMERGENCY_ENV_FILE;
use crate::store::{StateStore, StoreConfig, EMERGENCY_STOP_FILE};
use crate::time::{iso_from_ms, now_ms};
use crate::{Error, ErrorCode, Result};
use steps::Ctx;

/// The live LevelDB folder, under the root.
pub const LEVELDB_DIR: &str = "leveldb";
/// Where legacy JSON files live, under the root.
pub const LEGACY_TARGET_DIR: &str = "deployments";
/// Prefix of the staging folder beside `leveldb/` (hidden, same filesystem, so the swap is a rename).
pub const STAGING_PREFIX: &str = ".leveldb.staging-";

/// What `emergencyRollback` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    /// Project root.
    pub root: PathBuf,
    /// Run without a reviewed plan id (the CLI asks on a terminal instead).
    pub force: bool,
    /// Skip the pre-rollback backup.
    pub no_backup: bool,
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// The backup to restore; default: the newest ready one.
    pub backup: Option<PathBuf>,
    /// Incident id; default `INC-YYYYMMDD-HHMMSS`.
    pub incident_id: Option<String>,
    /// Only resume an interrupted rollback (fails when there is none).
    pub resume: bool,
    /// The `planId` of a reviewed dry run; the run refuses when the plan differs now.
    pub confirmed_plan: Option<String>,
}

impl RollbackOptions {
    /// Options given as JSON by a binding: `null` or an object with `force`, `noBackup`, `dryRun`, `resume` (booleans) and `backup`, `incidentId`, `planId` (strings). Anything else is `VALIDATION_FAILED`.
    pub fn from_json(root: PathBuf, options: &Value) -> Result<Self> {
        let mut out = RollbackOptions {
            root,
            ..Default::default()
        };
        let empty = serde_json::Map::new();
        let map = match options {
            Value::Null => &empty,
            Value::Object(map) => map,
            other => {
                return Err(bad_option(format!(
                    "options must be an object, got {other}"
                )))
            }
        };
        for (key, value) in map {
            match (key.as_str(), value) {
                (_, Value::Null) => {}
                ("force", Value::Bool(b)) => out.force = *b,
                ("noBackup", Value::Bool(b)) => out.no_backup = *b,
                ("dryRun", Value::Bool(b)) => out.dry_run = *b,
                ("resume", Value::Bool(b)) => out.resume = *b,
                ("backup", Value::String(s)) if !s.is_empty() => out.backup = Some(s.into()),
                ("incidentId", Value::String(s)) if !s.is_empty() => out.incident_id = Some(s.clone()),
                ("planId", Value::String(s)) if !s.is_empty() => out.confirmed_plan = Some(s.clone()),
                ("force" | "noBackup" | "dryRun" | "resume", other) => {
                    return Err(bad_option(format!("{key} must be a boolean, got {other}")))
                }
                ("backup" | "incidentId" | "planId", other) => {
                    return Err(bad_option(format!("{key} must be a non-empty string, got {other}")))
                }
                (other, _) => {
                    return Err(bad_option(format!(
                        "unknown rollback option {other:?} (known: force, noBackup, dryRun, backup, incidentId, resume, planId)"
                    )))
                }
            }
        }
        Ok(out)
    }
}

fn bad_option(message: String) -> Error {
    Error::new(ErrorCode::ValidationFailed, message)
}

/// One progress event.
#[derive(Debug, Clone)]
pub struct Event {
    /// The step.
    pub step: String,
    /// `begin`, `done`, `info`.
    pub status: &'static str,
    /// What happened, in a phrase.
    pub message: String,
    /// Structured detail: the plan, on the `plan` event, so a caller can show it before anything is written.
    pub data: Option<Value>,
}

impl Event {
    fn new(step: &str, status: &'static str, message: String) -> Event {
        Event {
            step: step.to_string(),
            status,
            message,
            data: None,
        }
    }
}

/// A progress observer.
pub type EventFn<'a> = &'a (dyn Fn(&Event) + Sync);

/// What a call to [`emergency_rollback`] did.
#[derive(Debug, Clone)]
pub struct RollbackOutcome {
    /// The incident.
    pub incident_id: String,
    /// `planned` (dry run), `interrupted` (dry run that found an unfinished rollback), `succeeded`.
    pub status: &'static str,
    /// The plan (fresh runs and dry runs).
    pub plan: Option<RollbackPlan>,
    /// The final report (`rollback-report.json`), when the rollback finished.
    pub report: Option<Value>,
    /// This call finished an interrupted rollback.
    pub resumed: bool,
}

impl RollbackOutcome {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "incidentId": self.incident_id,
            "status": self.status,
            "resumed": self.resumed,
            "plan": self.plan.as_ref().map(RollbackPlan::to_json),
            "report": self.report,
        })
    }
}

/// Runs (or, with `dry_run`, plans) the emergency rollback of the project at `options.root`.
pub fn emergency_rollback(options: &RollbackOptions, events: EventFn) -> Result<RollbackOutcome> {
    let root = &options.root;
    if !root.is_dir() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("project root {} is not a folder", root.display()),
        )
        .with_path(root));
    }
    let _one_at_a_time = DirLock::try_acquire(root, "an emergency rollback")?;
    if let Some(found) = interrupted(root)?.into_iter().next() {
        if options.dry_run {
            return Ok(RollbackOutcome {
                incident_id: found.id,
                status: "interrupted",
                plan: None,
                report: None,
                resumed: false,
            });
        }
        return resume(root, &found, events);
    }
    if !options.dry_run {
        incident::remove_abandoned(root)?;
    }
    if options.resume {
        return Err(Error::new(
            ErrorCode::NotFound,
            "nothing to resume: no interrupted rollback under logs/incidents",
        )
        .with_path(root));
    }
    refuse_if_held(root)?;
    let id = options.incident_id.clone().unwrap_or_else(Incident::new_id);
    let incident = Incident::at(root, &id)?;
    if incident.dir.exists() {
        return Err(Error::new(
            ErrorCode::Conflict,
            format!(
                "incident {id} already exists at {}; pick another id",
                incident.dir.display()
            ),
        )
        .with_path(&incident.dir));
    }
    events(&Event::new(
        "verify",
        "begin",
        "choosing and deep-verifying the backup".into(),
    ));
    let plan = make_plan(root, options.backup.as_deref(), options.no_backup, &id)?;
    events(&Event {
        data: Some(plan.to_json()),
        ..Event::new(
            "plan",
            "done",
            format!(
                "restore from {} ({} actions)",
                plan.backup.backup_id,
                plan.actions.len()
            ),
        )
    });
    if options.dry_run {
        return Ok(RollbackOutcome {
            incident_id: id,
            status: "planned",
            plan: Some(plan),
            report: None,
            resumed: false,
        });
    }
    check_confirmation(options, &plan)?;
    let started = now_ms();
    declare(&incident, &plan, options.no_backup)?;
    // The plan's deep verification is seconds old: the stage step rechecks every byte it copies.
    let ctx = Ctx {
        leveldb_before: plan.leveldb_before.as_ref().map(|l| l.known.clone()),
        ..context(
            root,
            &incident,
            plan.backup.clone(),
            plan.legacy_files.clone(),
            options.no_backup,
            events,
        )
    };
    let report = run(&ctx, &[], started, false)?;
    Ok(RollbackOutcome {
        incident_id: id,
        status: "succeeded",
        plan: Some(plan),
        report: Some(report),
        resumed: false,
    })
}

/// A real run needs `force` or the id of the plan the operator reviewed, and that plan must still hold.
fn check_confirmation(options: &RollbackOptions, plan: &RollbackPlan) -> Result<()> {
    match (&options.confirmed_plan, options.force) {
        (Some(reviewed), _) if *reviewed != plan.plan_id => Err(Error::new(
            ErrorCode::Conflict,
            format!("the state changed since the dry run: plan {reviewed} was reviewed, the plan is now {}; review it again", plan.plan_id),
        )),
        (Some(_), _) | (None, true) => Ok(()),
        (None, false) => Err(Error::new(
            ErrorCode::ValidationFailed,
            "a rollback needs force, or the planId of a dry run the operator reviewed; nothing was changed",
        )),
    }
}

/// Refuses while another process holds the live LevelDB or a live unified file, or this process has the LevelDB open.
fn refuse_if_held(root: &Path) -> Result<()> {
    let leveldb = root.join(LEVELDB_DIR);
    if leveldb.is_dir() && is_open_here(&leveldb)? {
        return Err(Error::new(
            ErrorCode::Locked,
            format!(
                "this process has {} open through a StateManager; close it before the rollback",
                leveldb.display()
            ),
        )
        .with_path(&leveldb));
    }
    let mut held = vec![leveldb.join("LOCK")];
    if let Ok(entries) = std::fs::read_dir(root.join("deployments/unified")) {
        held.extend(
            entries
                .flatten()
                .filter(|e| is_live_file_name(&e.file_name().to_string_lossy()))
                .map(|e| e.path()),
        );
    }
    for path in held {
        if is_locked_elsewhere(&path)? {
            return Err(Error::new(
                ErrorCode::Locked,
                format!("{} is held by another process; stop it (a deploy or a level process) before the rollback; nothing was changed", path.display()),
            )
            .with_path(&path));
        }
    }
    Ok(())
}

/// Creates the incident folder, journals the start (from here a crash is resumable), logs the steps so far and raises `.emergency-stop`.
fn declare(incident: &Incident, plan: &RollbackPlan, no_backup: bool) -> Result<()> {
    incident.create()?;
    let root = &plan.root;
    let backup = plan
        .backup
        .path
        .strip_prefix(root)
        .unwrap_or(&plan.backup.path);
    incident.record(
        "start",
        "done",
        json!({"backup": plan.backup.path, "backupRel": backup, "noBackup": no_backup,
        "planId": plan.plan_id, "legacy": plan.legacy_files, "startedMs": now_ms()}),
    )?;
    incident.log("declare", &format!("incident {} declared", incident.id))?;
    incident.log(
        "lock",
        "rollback lock taken; no process holds leveldb/ or a unified file",
    )?;
    let verified = format!(
        "OK {} deep-verified ({}), ready for a rollback",
        plan.backup.backup_id,
        plan.backup.status.as_str()
    );
    incident.log("verify", &verified)?;
    let planned = format!("plan {} with {} actions", plan.plan_id, plan.actions.len());
    incident.log("plan", &planned)?;
    raise_stop(root, incident)
}

/// Writes `.emergency-stop` naming the incident: every store write is refused from now on.
fn raise_stop(root: &Path, incident: &Incident) -> Result<()> {
    let stop = format!(
        "incident {} (emergency rollback to LevelDB) since {}\n",
        incident.id,
        iso_from_ms(now_ms())
    );
    durable::write_atomic(&root.join(EMERGENCY_STOP_FILE), stop.as_bytes())
}

fn context<'a>(
    root: &'a Path,
    incident: &'a Incident,
    verified: VerifyReport,
    legacy: Vec<String>,
    no_backup: bool,
    events: EventFn<'a>,
) -> Ctx<'a> {
    Ctx {
        root,
        incident,
        backup_dir: verified.path,
        expected: verified.records.unwrap_or_default(),
        listed: verified.listed,
        stamps: verified.stamps,
        leveldb_before: None,
        legacy,
        no_backup,
        events,
    }
}

/// Deep-verifies the backup a resumed rollback restores: time has passed since its plan.
fn verify_again(backup: &Path) -> Result<VerifyReport> {
    let report = verify_backup(backup, true, &no_progress)?;
    if report.rollback_ready != Some(true) {
        return Err(Error::new(
            ErrorCode::Corrupt,
            format!(
                "backup {} no longer verifies; nothing more was changed",
                backup.display()
            ),
        )
        .with_path(backup));
    }
    Ok(report)
}

/// Runs the steps not yet done in `journal`; on failure puts the old state back.
fn run(ctx: &Ctx, journal: &[JournalEntry], started: u64, resumed: bool) -> Result<Value> {
    let done = |step: &str| incident::find(journal, step, "done").is_some();
    let pre_backup = match incident::find(journal, "pre-backup", "done") {
        Some(data) => data.clone(),
        None if ctx.no_backup => Value::Null,
        None => wait_for_unified_writers(ctx.root)
            .and_then(|()| steps::pre_backup(ctx))
            .map_err(|e| failed_before_change(ctx, e))?,
    };
    let swapped = done("swap") || steps::settle_swap(ctx, journal)?;
    let result = (|| {
        if !swapped {
            steps::stage(ctx)?;
            steps::swap(ctx)?;
        }
        if !done("legacy") {
            steps::restore_legacy(ctx)?;
        }
        if !done("switch") {
            steps::switch(ctx)?;
        }
        finish(ctx, started, pre_backup, resumed)
    })();
    result.map_err(|e| undo_after(ctx, e))
}

/// How long the pre-backup waits for a unified write that was under way when the stop was raised.
const WRITER_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits for unified writes that passed the emergency-stop check before it was raised: the
/// pre-backup must not be taken while one of them can still land after it (it would be lost).
fn wait_for_unified_writers(root: &Path) -> Result<()> {
    durable::wait_for_replacers(
        &root.join("deployments/unified"),
        &is_live_file_name,
        WRITER_DRAIN_TIMEOUT,
    )
}

/// Validates through the store, writes the reports, lowers `.emergency-stop`.
fn finish(ctx: &Ctx, started: u64, pre_backup: Value, resumed: bool) -> Result<Value> {
    let (counts, checks) = validate_through_store(ctx)?;
    ctx.incident.record("validate", "done", counts.to_json())?;
    ctx.incident.log(
        "validate",
        &format!(
            "OK {} production contracts, {} dev records",
            counts.production, counts.dev
        ),
    )?;
    let input = report::ReportInput {
        incident: ctx.incident,
        started_ms: started,
        backup: ctx
            .backup_dir
            .strip_prefix(ctx.root)
            .unwrap_or(&ctx.backup_dir)
            .display()
            .to_string(),
        pre_backup,
        counts: &counts,
        checks: &checks,
        resumed,
    };
    let report = report::write_reports(&input)?;
    durable::remove_file(&ctx.root.join(EMERGENCY_STOP_FILE))?;
    ctx.incident.log(
        "finish",
        "SUCCESS rollback to LevelDB complete; .emergency-stop removed",
    )?;
    ctx.incident.record("finished", "done", json!({}))?;
    (ctx.events)(&Event::new("finish", "done", "rollback complete".into()));
    Ok(report)
}

/// One read of every record through a normal store (which must now select LevelDB): the
/// validation checks pass, and the store holds exactly the backup's keys, each decodable.
fn validate_through_store(ctx: &Ctx) -> Result<(RecordCounts, Vec<Check>)> {
    (ctx.events)(&Event::new(
        "validate",
        "begin",
        "reading every record through the store".into(),
    ));
    let store = StateStore::new(StoreConfig::new(ctx.root))?;
    if store.selection().kind != crate::backend::BackendKind::LevelDb {
        return Err(Error::new(
            ErrorCode::MigrationFailed,
            format!(
                "after the switch the store still selects {} ({})",
                store.backend_type(),
                store.selection().reason
            ),
        ));
    }
    store.initialize()?;
    let expected = &ctx.expected;
    let expect = Expectation {
        contracts: Some(expected.production),
        chains: Some(
            expected
                .per_chain
                .keys()
                .filter(|c| **c != crate::chains::DEV_CHAIN_ID)
                .count() as u64,
        ),
        ..Default::default()
    };
    let checked = validate::state_checks(ctx.root, expect, &|_| None, &mut |visit| {
        store.visit_raw(visit)
    });
    store.close()?;
    let (checks, counts) = checked?;
    if let Some(failed) = checks.iter().find(|c| !c.ok) {
        return Err(Error::new(
            ErrorCode::MigrationFailed,
            format!("validation failed: {}: {}", failed.name, failed.detail),
        ));
    }
    let counts = counts.unwrap_or_default();
    if counts.undecodable > 0
        || counts.per_chain != expected.per_chain
        || counts.keys_digest != expected.keys_digest
    {
        return Err(Error::new(ErrorCode::MigrationFailed, format!(
            "leveldb/ read through the store holds {} records ({} undecodable, {:?} per chain), not the backup's {} ({:?}){}",
            counts.total, counts.undecodable, counts.per_chain, expected.total, expected.per_chain,
            if counts.keys_digest != expected.keys_digest { "; the keys differ" } else { "" })));
    }
    Ok((counts, checks))
}

/// A failure before the swap began: the state is unchanged; the incident is closed as undone.
fn failed_before_change(ctx: &Ctx, e: Error) -> Error {
    let _ = ctx.incident.log("failed", &e.message);
    let _ = ctx
        .incident
        .record("undone", "done", json!({"error": e.message}));
    with_next_step(e, "the deployment state was not changed; .emergency-stop stays until you rerun the rollback or remove it")
}

/// A failure after the swap began: put the old state back, and say so (or say how to finish).
fn undo_after(ctx: &Ctx, e: Error) -> Error {
    let _ = ctx.incident.log("failed", &e.message);
    let journal = ctx.incident.entries().unwrap_or_default();
    match steps::undo(ctx, &journal) {
        Ok(()) => with_next_step(e, "the state before the rollback was put back; .emergency-stop stays in place. Read the incident's rollback.log, fix the cause, then run the rollback again"),
        Err(undo) => with_next_step(e, &format!("putting the old state back also failed ({}); run `lookcoin-state rollback --resume`", undo.message)),
    }
}

fn with_next_step(mut e: Error, next: &str) -> Error {
    e.message = format!("rollback failed: {}; {next}", e.message);
    e
}

/// Removes what a killed process leaves that is neither old nor new state: its temp files (in the folders a rollback writes) and half-removed trees.
fn cleanup_after_crash(root: &Path, incident: &Incident) -> Result<()> {
    for dir in [
        root.to_path_buf(),
        root.join(LEGACY_TARGET_DIR),
        incident.dir.clone(),
    ] {
        durable::remove_stale_temps(&dir)?;
    }
    durable::remove_trash(root)?;
    durable::remove_trash(&root.join(crate::backup::BACKUPS_DIR))?;
    Ok(())
}

/// Finishes an interrupted rollback from its journal.
fn resume(root: &Path, incident: &Incident, events: EventFn) -> Result<RollbackOutcome> {
    let journal = incident.entries()?;
    let start = incident::find(&journal, "start", "done")
        .cloned()
        .ok_or_else(|| {
            Error::new(
                ErrorCode::Corrupt,
                format!("the journal of {} has no start record", incident.id),
            )
            .with_path(&incident.dir)
        })?;
    incident.log("resume", "resuming after an interruption")?;
    cleanup_after_crash(root, incident)?;
    if !root.join(EMERGENCY_STOP_FILE).exists() {
        raise_stop(root, incident)?;
    }
    events(&Event::new(
        "resume",
        "begin",
        format!("resuming incident {}", incident.id),
    ));
    let backup = PathBuf::from(start["backup"].as_str().unwrap_or_default());
    let legacy = start["legacy"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let no_backup = start["noBackup"] == json!(true);
    let ctx = context(
        root,
        incident,
        verify_again(&backup)?,
        legacy,
        no_backup,
        events,
    );
    let started = start["startedMs"].as_u64().unwrap_or_else(now_ms);
    let report = run(&ctx, &journal, started, true)?;
    Ok(RollbackOutcome {
        incident_id: incident.id.clone(),
        status: "succeeded",
        plan: None,
        report: Some(report),
        resumed: true,
    })
}
