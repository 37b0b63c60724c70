//! The runbook's two report templates, filled in from an incident's folder (`rollback.log`,
//! `journal`, `rollback-report.json`) and the validation results, as Markdown and JSON:
//!
//! - the post-rollback "validation report" (runbook, "Validation Report Generation"):
//!   `rollback-validation-report.md` / `.json`;
//! - the post-incident "incident report" (runbook, "Incident Documentation"):
//!   `incident-report.md` / `.json`, the path the runbook gives.
//!
//! Rendered on demand from what is on disk now; written into the incident folder (each file
//! atomically) only when asked. The parts only a person can write (root cause analysis, lessons,
//! prevention) stay placeholders, next to the evidence this tool can give.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::incident::{find, newest, Incident, JournalEntry, LogLine};
use super::report::{rel, text};
use super::validate::{
    validate_rollback, Expectation, RollbackValidation, BACKEND_CHECK, READ_CHECK,
};
use crate::backend::BackendKind;
use crate::backup::INCIDENT_REPORT;
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::compare::{compare_backends, Comparison, ContractComparison, Status};
use crate::durable;
use crate::record::parse_key;
use crate::time::{iso_from_ms, now_ms};
use crate::validate::{
    findings_json, validate_state, Level, Severity, ValidateOptions, ValidationReport,
};
use crate::{Error, ErrorCode, Result};

/// File stem of the validation report in the incident folder.
pub const VALIDATION_REPORT_STEM: &str = "rollback-validation-report";
/// File stem of the incident report in the incident folder (the runbook's `incident-report.md`).
pub const INCIDENT_REPORT_STEM: &str = "incident-report";
/// Findings listed one by one in a report before the rest are only counted.
const SHOWN: usize = 10;
/// What the parts only a person can write say until then.
const TO_BE_WRITTEN: &str = "_To be written by the incident owner._";

/// Options of both reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// The incident; default: the newest under `logs/incidents/`.
    pub incident_id: Option<String>,
    /// Also write the Markdown and JSON files into the incident folder.
    pub write: bool,
}

impl ReportOptions {
    /// `null` or `{incidentId?: string, write?: boolean}`; anything else is `VALIDATION_FAILED`.
    pub fn from_json(value: &Value) -> Result<Self> {
        let bad = |why: String| Error::new(ErrorCode::ValidationFailed, why);
        let map = match value {
            Value::Null => return Ok(ReportOptions::default()),
            Value::Object(map) => map,
            other => return Err(bad(format!("options must be an object, got {other}"))),
        };
        let mut out = ReportOptions::default();
        for (key, value) in map {
            match (key.as_str(), value) {
                (_, Value::Null) => {}
                ("incidentId", Value::String(id)) if !id.is_empty() => {
                    out.incident_id = Some(id.clone())
                }
                ("write", Value::Bool(b)) => out.write = *b,
                ("incidentId", other) => {
                    return Err(bad(format!(
                        "incidentId must be a non-empty string, got {other}"
                    )))
                }
                ("write", other) => {
                    return Err(bad(format!("write must be a boolean, got {other}")))
                }
                (other, _) => {
                    return Err(bad(format!(
                        "unknown report option {other:?} (known: incidentId, write)"
                    )))
                }
            }
        }
        Ok(out)
    }
}

/// A rendered report.
#[derive(Debug, Clone)]
pub struct RenderedReport {
    /// The incident it is about.
    pub incident_id: String,
    /// The Markdown text.
    pub markdown: String,
    /// The same content as data.
    pub json: Value,
    /// The files written (root-relative); empty unless `write`.
    pub written: Vec<String>,
}

impl RenderedReport {
    /// `{incidentId, markdown, report, written}`.
    pub fn to_json(&self) -> Value {
        json!({"incidentId": self.incident_id, "markdown": self.markdown, "report": self.json, "written": self.written})
    }
}

/// What an incident folder holds.
struct Folder {
    incident: Incident,
    journal: Vec<JournalEntry>,
    log: Vec<LogLine>,
    /// `rollback-report.json`: present once the rollback finished.
    report: Option<Value>,
}

impl Folder {
    /// The incident asked for, else the newest; `STATE_NOT_FOUND` when there is none.
    fn open(root: &Path, id: Option<&str>) -> Result<Folder> {
        let incident = match id {
            Some(id) => Incident::at(root, id)?,
            None => newest(root)?.ok_or_else(|| {
                Error::new(ErrorCode::NotFound, format!(
                    "no rollback report under {}: there is no incident folder, so nothing to report until a rollback ran (lookcoin-state rollback --dry-run shows one)",
                    root.join(crate::backup::INCIDENTS_DIR).display()
                )).with_path(root)
            })?,
        };
        if !incident.dir.is_dir() {
            return Err(Error::new(
                ErrorCode::NotFound,
                format!(
                    "incident {} has no folder at {}; list logs/incidents/ for the ids there are",
                    incident.id,
                    incident.dir.display()
                ),
            )
            .with_path(&incident.dir));
        }
        let path = incident.dir.join(INCIDENT_REPORT);
        let report = match std::fs::read_to_string(&path) {
            Ok(text) => Some(serde_json::from_str(&text).map_err(|e| {
                Error::new(ErrorCode::Corrupt, format!("{} is not JSON ({e}); it was written by the rollback: restore it or delete it to report the incident as unfinished", path.display())).with_path(&path)
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::read_io(&path, &e)),
        };
        Ok(Folder {
            journal: incident.entries()?,
            log: incident.log_lines()?,
            report,
            incident,
        })
    }

    /// `SUCCESS`, `UNDONE` (failed, old state put back), `INTERRUPTED` or `NOT STARTED`.
    fn status(&self) -> String {
        if let Some(status) = self.report.as_ref().and_then(|r| r["status"].as_str()) {
            return status.to_string();
        }
        let status = if find(&self.journal, "undone", "done").is_some() {
            "UNDONE"
        } else if self.journal.is_empty() {
            "NOT STARTED"
        } else {
            "INTERRUPTED"
        };
        status.to_string()
    }

    /// The counts the restored backup held, as the rollback reported them.
    fn expectation(&self) -> Expectation {
        let Some(contracts) = self.report.as_ref().map(|r| &r["contracts"]) else {
            return Expectation::default();
        };
        let chains = contracts["networks"]
            .as_array()
            .map(|n| n.iter().filter(|c| c["dev"] != json!(true)).count() as u64);
        Expectation {
            contracts: contracts["production"].as_u64(),
            chains,
            ..Default::default()
        }
    }

    /// The rollback as the folder records it.
    fn rollback_json(&self) -> Value {
        let r = self.report.as_ref();
        let field = |k: &str| r.map_or(Value::Null, |r| r[k].clone());
        let dir = rel(&self.incident.dir);
        json!({"status": self.status(), "startedAt": self.declared_at(), "finishedAt": field("finishedAt"),
               "durationMs": field("durationMs"), "restoredFrom": field("restoredFrom"),
               "preRollbackBackup": field("preRollbackBackup"), "folder": dir,
               "report": r.map(|_| format!("{dir}/{INCIDENT_REPORT}"))})
    }

    /// When the rollback declared the incident: its journaled start, else its first log line.
    fn declared_at(&self) -> Value {
        let started = find(&self.journal, "start", "done").and_then(|d| d["startedMs"].as_u64());
        match (started, self.log.first()) {
            (Some(ms), _) => iso_from_ms(ms).into(),
            (None, Some(line)) if !line.at.is_empty() => line.at.clone().into(),
            _ => Value::Null,
        }
    }

    /// Renders both formats into a report, written into the folder when `write`.
    fn finish(
        &self,
        stem: &str,
        json: Value,
        markdown: String,
        write: bool,
    ) -> Result<RenderedReport> {
        let mut written = Vec::new();
        if write {
            let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
            for (ext, bytes) in [("md", markdown.as_bytes()), ("json", pretty.as_bytes())] {
                let name = format!("{stem}.{ext}");
                durable::write_atomic(&self.incident.dir.join(&name), bytes)?;
                written.push(format!("{}/{name}", rel(&self.incident.dir)));
            }
        }
        Ok(RenderedReport {
            incident_id: self.incident.id.clone(),
            markdown,
            json,
            written,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The validation report
// ---------------------------------------------------------------------------------------

/// The runbook's post-rollback validation report for an incident (default: the newest), from
/// `validateRollback` and a full `validateState` of the LevelDB against the counts the rollback
/// restored. Reads only, unless `write`.
pub fn rollback_validation_report(
    root: &Path,
    options: &ReportOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RenderedReport> {
    let folder = Folder::open(root, options.incident_id.as_deref())?;
    let expect = folder.expectation();
    let validation = validate_rollback(root, expect.clone(), env)?;
    let state_options = ValidateOptions {
        root: root.to_path_buf(),
        backend: Some(BackendKind::LevelDb),
        level: Level::Full,
        expect: expect.clone(),
    };
    let state = validate_state(&state_options, env);
    let json = validation_json(&folder, &expect, &validation, &state);
    let markdown = validation_markdown(&json);
    folder.finish(VALIDATION_REPORT_STEM, json, markdown, options.write)
}

fn validation_json(
    folder: &Folder,
    expect: &Expectation,
    v: &RollbackValidation,
    state: &Result<ValidationReport>,
) -> Value {
    let check = |name: &str| v.checks.iter().find(|c| c.name == name);
    let line = |name: &str| {
        check(name).map_or(
            json!({"ok": false, "detail": "not checked"}),
            |c| json!({"ok": c.ok, "detail": c.detail}),
        )
    };
    let chains = ChainMap::default();
    let production = v.counts.as_ref().map_or(0, |c| c.production);
    let networks: Vec<String> = v
        .counts
        .iter()
        .flat_map(|c| c.per_chain.keys())
        .filter(|id| **id != DEV_CHAIN_ID)
        .map(|id| chains.network_name(*id))
        .collect();
    let integrity = integrity_json(production, state);
    let ready = v.ok && integrity["ok"] == json!(true) && folder.status() == "SUCCESS";
    json!({
        "title": "LookCoin System Rollback Validation Report",
        "generatedAt": iso_from_ms(now_ms()),
        "incidentId": folder.incident.id,
        "systemStatus": if ready { "OPERATIONAL" } else { "NOT OPERATIONAL" },
        "systemReady": ready,
        "backend": backend_json(folder, check(BACKEND_CHECK)),
        "contractCount": {"ok": expect.contracts.is_none_or(|n| n == production), "found": production, "expected": expect.contracts},
        "networkCoverage": {"ok": expect.chains.is_none_or(|n| n == networks.len() as u64), "found": networks.len(), "expected": expect.chains, "networks": networks},
        "performance": line(READ_CHECK),
        "dataIntegrity": integrity,
        "validation": v.to_json(),
        "findings": state.as_ref().map_or(Value::Null, |s| findings_json(&s.findings)),
        "rollback": folder.rollback_json(),
        "actionsRequired": validation_actions(folder, v, state),
    })
}

/// "LevelDB (restored from … in … ms; selected: …)" when the store selects LevelDB.
fn backend_json(folder: &Folder, check: Option<&super::validate::Check>) -> Value {
    let Some(check) = check else {
        return json!({"ok": false, "name": null, "detail": "not checked"});
    };
    if !check.ok {
        return json!({"ok": false, "name": null, "detail": check.detail});
    }
    let rollback = folder.rollback_json();
    let restored = match (
        rollback["restoredFrom"].as_str(),
        rollback["durationMs"].as_u64(),
    ) {
        (Some(from), Some(ms)) => format!("restored from {from} in {ms} ms; "),
        _ => String::new(),
    };
    json!({"ok": true, "name": "LevelDB", "detail": format!("LevelDB ({restored}selected: {})", check.detail)})
}

/// Share of production records without an error finding at their key, from `validateState`.
fn integrity_json(production: u64, state: &Result<ValidationReport>) -> Value {
    let report = match state {
        Ok(report) => report,
        Err(e) => {
            return json!({"ok": false, "percent": null, "detail": format!("validateState could not read leveldb/: {}", e.message)})
        }
    };
    let errors: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let bad_records: BTreeSet<&str> = errors
        .iter()
        .map(|f| f.location.as_str())
        .filter(|l| parse_key(l).is_ok_and(|(c, _)| c != DEV_CHAIN_ID))
        .collect();
    let clean = production.saturating_sub(bad_records.len() as u64);
    let percent = if production == 0 {
        0.0
    } else {
        (clean as f64 * 1000.0 / production as f64).round() / 10.0
    };
    let warnings = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    json!({"ok": report.is_valid, "percent": percent, "cleanRecords": clean, "records": production,
           "errors": errors.len(), "warnings": warnings,
           "detail": format!("{clean}/{production} production records without errors; {} error(s), {warnings} warning(s) from validateState (full)", errors.len())})
}

fn validation_actions(
    folder: &Folder,
    v: &RollbackValidation,
    state: &Result<ValidationReport>,
) -> Vec<String> {
    let mut out = Vec::new();
    match folder.status().as_str() {
        "SUCCESS" => {}
        "INTERRUPTED" => out.push(format!(
            "Rollback {} was interrupted: run `lookcoin-state rollback --resume`.",
            folder.incident.id
        )),
        other => out.push(format!(
            "Rollback {} ended {other}: read {}/rollback.log before anything else.",
            folder.incident.id,
            rel(&folder.incident.dir)
        )),
    }
    out.extend(
        v.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("Fix: {}: {}", c.name, c.detail)),
    );
    match state {
        Ok(report) => {
            let errors: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .collect();
            out.extend(
                errors
                    .iter()
                    .take(SHOWN)
                    .map(|f| format!("Fix: {} at {}: {}", f.code, f.location, f.message)),
            );
            if errors.len() > SHOWN {
                out.push(format!("… and {} more validateState errors (`lookcoin-state validate --backend leveldb`).", errors.len() - SHOWN));
            }
        }
        Err(e) => out.push(format!("Make leveldb/ readable: {}", e.message)),
    }
    out
}

/// The runbook's sample output, line for line (each its own paragraph, so it reads the same
/// raw and rendered), then the actions, every check and the rollback itself.
fn validation_markdown(r: &Value) -> String {
    let mark = |v: &Value| if v["ok"] == json!(true) { "✅" } else { "❌" };
    let of = |found: &Value, expected: &Value| match expected.as_u64() {
        Some(n) => format!("{found}/{n}"),
        None => format!("{found} (no expected count recorded)"),
    };
    let (c, n, i) = (
        &r["contractCount"],
        &r["networkCoverage"],
        &r["dataIntegrity"],
    );
    let ready = r["systemReady"] == json!(true);
    let percent = i["percent"]
        .as_f64()
        .map_or("unknown".to_string(), |p| format!("{p}%"));
    let actions: Vec<&Value> = r["actionsRequired"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let lines = [
        format!("📋 {}", text(&r["title"])),
        format!("⏰ Report Generated: {}", text(&r["generatedAt"])),
        format!("🆔 Incident ID: {}", text(&r["incidentId"])),
        format!("{} SYSTEM STATUS: {}", if ready { "✅" } else { "❌" }, text(&r["systemStatus"])),
        format!("{} Backend: {}", mark(&r["backend"]), text(&r["backend"]["detail"])),
        format!("{} Contract Count: {}", mark(c), of(&c["found"], &c["expected"])),
        format!("{} Network Coverage: {} ({})", mark(n), of(&n["found"], &n["expected"]), list(&n["networks"])),
        format!("{} Performance: {} (a full read of a scratch copy; `lookcoin-state bench` checks the runbook's read and write thresholds)", mark(&r["performance"]), text(&r["performance"]["detail"])),
        format!("{} Data Integrity: {percent} ({})", mark(i), text(&i["detail"])),
        format!("🔧 Actions Required: {}", if actions.is_empty() { "None" } else { "see below" }),
        format!("📈 System Ready: {}", if ready { "production operations can resume" } else { "no: do not resume deployments until the actions below are done" }),
    ];
    let mut md = lines.join("\n\n");
    md.push_str("\n\n");
    if !actions.is_empty() {
        let _ = writeln!(md, "## Actions required\n");
        actions.iter().for_each(|a| {
            let _ = writeln!(md, "- {}", text(a));
        });
        md.push('\n');
    }
    let _ = writeln!(md, "## Checks (validateRollback)\n");
    for c in r["validation"]["checks"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "- {} {}: {}",
            mark(c),
            text(&c["name"]),
            text(&c["detail"])
        );
    }
    rollback_section(&mut md, &r["rollback"]);
    md
}

fn rollback_section(md: &mut String, r: &Value) {
    let _ = writeln!(md, "\n## Rollback\n");
    for (label, key) in [
        ("Status", "status"),
        ("Started", "startedAt"),
        ("Finished", "finishedAt"),
        ("Restored from", "restoredFrom"),
        ("Incident folder", "folder"),
    ] {
        let value = if r[key].is_null() {
            "—".to_string()
        } else {
            text(&r[key])
        };
        let _ = writeln!(md, "- **{label}**: {value}");
    }
}

/// `field old → new` per distinct difference, values shortened; a factory hash moving with
/// the implementation hash is not repeated.
fn differences_line(differences: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let all: Vec<&Value> = differences.as_array().into_iter().flatten().collect();
    for d in &all {
        let follows_hash = d["field"] == "factoryByteCodeHash"
            && all.iter().any(|o| {
                o["field"] == "implementationHash"
                    && o["leveldb"] == d["leveldb"]
                    && o["unified"] == d["unified"]
            });
        let part = format!(
            "{} {} → {}",
            text(&d["field"]),
            short(&d["leveldb"]),
            short(&d["unified"])
        );
        if !follows_hash && !parts.contains(&part) {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join("; ")
    }
}

/// An address or hash as `0x5838…3bAB`, a list as its length; other values as they are.
fn short(value: &Value) -> String {
    match value {
        Value::String(s) if s.starts_with("0x") && s.len() > 14 => {
            format!("{}…{}", &s[..6], &s[s.len() - 4..])
        }
        Value::Array(items) => format!("[{} values]", items.len()),
        Value::Null => "none".into(),
        other => text(other),
    }
}

/// `51 ms`, `3.2 s`, `4.5 minutes`.
fn duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{:.1} minutes", ms / 60_000.0)
    }
}

fn list(values: &Value) -> String {
    values
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// The incident report
// ---------------------------------------------------------------------------------------

/// The runbook's incident report for an incident (default: the newest): timeline and actions
/// from its folder, data impact from comparing the restored LevelDB with the unified JSON left
/// in place, root-cause evidence from a full `validateState` of that unified JSON. Reads only,
/// unless `write`.
pub fn incident_report(
    root: &Path,
    options: &ReportOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RenderedReport> {
    let folder = Folder::open(root, options.incident_id.as_deref())?;
    let evidence_options = ValidateOptions {
        root: root.to_path_buf(),
        backend: Some(BackendKind::UnifiedJson),
        level: Level::Full,
        expect: Expectation::default(),
    };
    let evidence = validate_state(&evidence_options, env);
    let comparison = both_stores(root).then(|| compare_backends(root, None));
    let json = incident_json(&folder, &evidence, comparison.as_ref());
    let markdown = incident_markdown(&json);
    folder.finish(INCIDENT_REPORT_STEM, json, markdown, options.write)
}

/// Whether the project has a live LevelDB and live unified files to compare.
fn both_stores(root: &Path) -> bool {
    root.join(super::LEVELDB_DIR).join("CURRENT").is_file()
        && root.join(crate::migrate::to_unified::UNIFIED_DIR).is_dir()
}

fn incident_json(
    folder: &Folder,
    evidence: &Result<ValidationReport>,
    comparison: Option<&Result<Comparison>>,
) -> Value {
    let rollback = folder.rollback_json();
    json!({
        "title": format!("Incident Report: {}", folder.incident.id),
        "incidentId": folder.incident.id,
        "generatedAt": iso_from_ms(now_ms()),
        "timeline": {"detection": rollback["startedAt"], "resolution": rollback["finishedAt"],
                     "durationMs": rollback["durationMs"], "status": rollback["status"]},
        "rootCause": {"analysis": null, "evidence": evidence_json(evidence)},
        "actionsTaken": folder.log.iter().map(|l| json!({"at": l.at, "step": l.step, "outcome": l.outcome})).collect::<Vec<_>>(),
        "dataImpact": impact_json(folder, comparison),
        "lessonsLearned": null,
        "preventionMeasures": null,
        "rollback": rollback,
    })
}

/// What `validateState` says about the unified JSON the rollback moved away from.
fn evidence_json(evidence: &Result<ValidationReport>) -> Value {
    match evidence {
        Ok(report) => {
            let mut out = findings_json(&report.findings);
            out["source"] =
                "validateState (full) of deployments/unified/, left as it was by the rollback"
                    .into();
            out["isValid"] = report.is_valid.into();
            out
        }
        Err(e) => json!({"source": "validateState of deployments/unified/", "error": e.message}),
    }
}

fn impact_json(folder: &Folder, comparison: Option<&Result<Comparison>>) -> Value {
    let finished = folder.status() == "SUCCESS";
    let comparison = match comparison {
        Some(Ok(c)) => c,
        Some(Err(e)) => {
            return json!({"dataLoss": data_loss(folder, finished, None), "comparison": {"error": e.message}})
        }
        None => {
            return json!({"dataLoss": data_loss(folder, finished, None), "comparison": {"error": "no live leveldb/ and deployments/unified/ to compare"}})
        }
    };
    let affected: Vec<&ContractComparison> = comparison
        .contracts
        .iter()
        .filter(|c| c.status != Status::Matched)
        .collect();
    let affected_networks = network_names(affected.iter().copied());
    let all_networks = network_names(comparison.contracts.iter());
    json!({
        "dataLoss": data_loss(folder, finished, Some(affected.len())),
        "contractsAffected": {"count": affected.len(), "total": comparison.contracts.len(),
                              "contracts": affected.iter().map(|c| affected_json(c)).collect::<Vec<_>>()},
        "networksAffected": {"count": affected_networks.len(), "total": all_networks.len(), "networks": affected_networks},
        "meaning": "a contract is affected when the restored LevelDB and the unified JSON that was live disagree on it (compareBackends): deploys recorded after the backup are not in LevelDB",
    })
}

fn network_names<'a>(contracts: impl Iterator<Item = &'a ContractComparison>) -> BTreeSet<String> {
    contracts.map(|c| c.network.clone()).collect()
}

fn affected_json(c: &ContractComparison) -> Value {
    let differences: Vec<Value> = c
        .pairs
        .iter()
        .flat_map(|p| &p.differences)
        .map(|d| json!({"field": d.field, "leveldb": d.leveldb, "unified": d.unified}))
        .collect();
    json!({"key": c.key(), "network": c.network, "status": c.status.as_str(), "differences": differences})
}

fn data_loss(folder: &Folder, finished: bool, affected: Option<usize>) -> String {
    if !finished {
        return format!("Unknown: the rollback did not finish ({}); run `lookcoin-state rollback --resume`, then generate this report again.", folder.status());
    }
    let mut out = format!("None recorded: the restored leveldb/ was read back through the store and matched the backup record for record; deployments/unified/ was left as it was, and every path the rollback replaced is kept in {}/replaced/.", rel(&folder.incident.dir));
    if let Some(n) = affected.filter(|n| *n > 0) {
        let _ = write!(out, " {n} contract(s) differ between the restored LevelDB and that unified JSON: reconcile them before the next deploy.");
    }
    out
}

fn incident_markdown(r: &Value) -> String {
    let shown = |v: &Value| {
        if v.is_null() {
            "—".to_string()
        } else {
            text(v)
        }
    };
    let t = &r["timeline"];
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", text(&r["title"]));
    let _ = writeln!(
        md,
        "_Generated {} by lookcoin-state from {} and the state on disk._\n",
        text(&r["generatedAt"]),
        shown(&r["rollback"]["folder"])
    );
    let _ = writeln!(md, "## Timeline\n");
    let _ = writeln!(md, "- Detection: {} (when the rollback declared the incident; an earlier detection time is not recorded)", shown(&t["detection"]));
    let _ = writeln!(
        md,
        "- Response: the rollback started as the incident was declared"
    );
    let _ = writeln!(
        md,
        "- Resolution: {} ({})",
        shown(&t["resolution"]),
        shown(&t["status"])
    );
    let duration = t["durationMs"].as_f64().map_or("—".to_string(), duration);
    let _ = writeln!(md, "- Total Duration: {duration}\n");
    root_cause_section(&mut md, &r["rootCause"]["evidence"]);
    let _ = writeln!(md, "## Actions Taken\n");
    for (i, a) in r["actionsTaken"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let _ = writeln!(
            md,
            "{}. {} {} — {}",
            i + 1,
            shown(&a["at"]),
            text(&a["step"]),
            text(&a["outcome"])
        );
    }
    impact_section(&mut md, &r["dataImpact"]);
    let _ = writeln!(
        md,
        "\n## Lessons Learned\n\n{TO_BE_WRITTEN}\n\n## Prevention Measures\n\n{TO_BE_WRITTEN}"
    );
    md
}

fn root_cause_section(md: &mut String, evidence: &Value) {
    let _ = writeln!(md, "## Root Cause\n\n{TO_BE_WRITTEN}\n");
    if let Some(error) = evidence["error"].as_str() {
        let _ = writeln!(
            md,
            "Evidence: {} could not run: {error}\n",
            text(&evidence["source"])
        );
        return;
    }
    let errors: Vec<&Value> = evidence["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let warnings = evidence["warnings"].as_array().map_or(0, Vec::len);
    let _ = writeln!(
        md,
        "Evidence — {}: {} error(s), {warnings} warning(s).\n",
        text(&evidence["source"]),
        errors.len()
    );
    for f in errors.iter().take(SHOWN) {
        let _ = writeln!(
            md,
            "- ❌ {} {}: {}",
            text(&f["code"]),
            text(&f["location"]),
            text(&f["message"])
        );
    }
    if errors.len() > SHOWN {
        let _ = writeln!(
            md,
            "- … {} more (`lookcoin-state validate --backend unified-json`)",
            errors.len() - SHOWN
        );
    }
    md.push('\n');
}

fn impact_section(md: &mut String, impact: &Value) {
    let _ = writeln!(
        md,
        "\n## Data Impact\n\n- Data Loss: {}",
        text(&impact["dataLoss"])
    );
    if let Some(error) = impact["comparison"]["error"].as_str() {
        let _ = writeln!(
            md,
            "- Contracts Affected: unknown ({error})\n- Networks Affected: unknown"
        );
        return;
    }
    let (c, n) = (&impact["contractsAffected"], &impact["networksAffected"]);
    let _ = writeln!(md, "- Contracts Affected: {}/{}", c["count"], c["total"]);
    let _ = writeln!(
        md,
        "- Networks Affected: {}/{}{}",
        n["count"],
        n["total"],
        if n["count"] == json!(0) {
            String::new()
        } else {
            format!(" ({})", list(&n["networks"]))
        }
    );
    let contracts: Vec<&Value> = c["contracts"].as_array().into_iter().flatten().collect();
    if contracts.is_empty() {
        return;
    }
    let _ = writeln!(md, "\nAffected means: {}.\n\n| Contract | Status | Differs (LevelDB → unified) |\n|---|---|---|", text(&impact["meaning"]));
    for a in contracts {
        let differs = differences_line(&a["differences"]);
        let _ = writeln!(
            md,
            "| {} | {} | {differs} |",
            text(&a["key"]),
            text(&a["status"])
        );
    }
}
