//! The incident's reports: `rollback-report.json` for tools and `rollback-report.md` for the
//! engineer's lead (the runbook's "validation report").

use std::fmt::Write;
use std::path::Path;

use serde_json::{json, Value};

use super::incident::Incident;
use super::validate::Check;
use super::EMERGENCY_ENV_FILE;
use crate::backup::{RecordCounts, INCIDENT_REPORT};
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::durable;
use crate::time::{iso_from_ms, now_ms};
use crate::Result;

/// What the reports say.
pub struct ReportInput<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// When the rollback started (epoch ms).
    pub started_ms: u64,
    /// The backup restored from, relative to the root when inside it.
    pub backup: String,
    /// The pre-rollback backup step's data (`path`, `status`), `null` with `--no-backup`.
    pub pre_backup: Value,
    /// What `leveldb/` holds now.
    pub counts: &'a RecordCounts,
    /// The validation checks.
    pub checks: &'a [Check],
    /// Whether this run finished an interrupted one.
    pub resumed: bool,
}

/// Writes both reports (atomically) and returns the JSON one.
pub fn write_reports(input: &ReportInput) -> Result<Value> {
    let report = report_json(input);
    let dir = &input.incident.dir;
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    durable::write_atomic(
        &dir.join("rollback-report.md"),
        markdown(&report).as_bytes(),
    )?;
    // The JSON report closes the incident (prune and resume look for it), so it goes last.
    durable::write_atomic(&dir.join(INCIDENT_REPORT), text.as_bytes())?;
    Ok(report)
}

fn report_json(input: &ReportInput) -> Value {
    let chains = ChainMap::default();
    let networks: Vec<Value> = input
        .counts
        .per_chain
        .iter()
        .map(|(id, n)| json!({"chainId": id, "network": chains.network_name(*id), "contracts": n, "dev": *id == DEV_CHAIN_ID}))
        .collect();
    let finished = now_ms();
    json!({
        "incidentId": input.incident.id,
        "status": "SUCCESS",
        "startedAt": iso_from_ms(input.started_ms),
        "finishedAt": iso_from_ms(finished),
        "durationMs": finished.saturating_sub(input.started_ms),
        "resumed": input.resumed,
        "backend": "leveldb",
        "restoredFrom": input.backup,
        "preRollbackBackup": input.pre_backup,
        "contracts": {"production": input.counts.production, "dev": input.counts.dev,
                      "total": input.counts.total, "networks": networks},
        "integrity": input.checks.iter().map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail})).collect::<Vec<_>>(),
        "replacedKeptIn": format!("{}/replaced", rel(&input.incident.dir)),
        "actionsRequired": actions_required(input),
    })
}

fn actions_required(input: &ReportInput) -> Vec<String> {
    let mut out = vec![
        format!("Deploy scripts now read and write leveldb/ because {EMERGENCY_ENV_FILE} exists; tell the team before the next deploy."),
        "Find out why the unified JSON failed: deployments/unified/ was left as it was.".to_string(),
        format!("Once the unified JSON is repaired (`lookcoin-state regenerate-unified` rebuilds it from LevelDB), delete {EMERGENCY_ENV_FILE} to switch back."),
    ];
    if input.pre_backup.is_null() {
        out.push("No pre-rollback backup was made (--no-backup): the replaced files are only in the incident's replaced/ folder.".into());
    }
    out
}

fn markdown(report: &Value) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Emergency rollback report — {}\n",
        report["incidentId"].as_str().unwrap_or("?")
    );
    for (label, key) in [
        ("Status", "status"),
        ("Started", "startedAt"),
        ("Finished", "finishedAt"),
        ("Backend", "backend"),
        ("Restored from", "restoredFrom"),
    ] {
        let _ = writeln!(md, "- **{label}**: {}", text(&report[key]));
    }
    let _ = writeln!(md, "- **Duration**: {} ms", report["durationMs"]);
    let pre = &report["preRollbackBackup"]["path"];
    let _ = writeln!(
        md,
        "- **Pre-rollback backup**: {}",
        if pre.is_null() {
            "none (--no-backup)".into()
        } else {
            text(pre)
        }
    );
    let c = &report["contracts"];
    let _ = writeln!(
        md,
        "\n## Contracts\n\n{} production contracts, {} dev records.\n",
        c["production"], c["dev"]
    );
    let _ = writeln!(md, "| Chain | Network | Records |\n|---|---|---|");
    for n in c["networks"].as_array().into_iter().flatten() {
        let dev = if n["dev"] == json!(true) {
            " (dev)"
        } else {
            ""
        };
        let _ = writeln!(
            md,
            "| {} | {}{dev} | {} |",
            n["chainId"],
            text(&n["network"]),
            n["contracts"]
        );
    }
    let _ = writeln!(md, "\n## Integrity\n");
    for check in report["integrity"].as_array().into_iter().flatten() {
        let mark = if check["ok"] == json!(true) {
            "✅"
        } else {
            "❌"
        };
        let _ = writeln!(
            md,
            "- {mark} {}: {}",
            text(&check["name"]),
            text(&check["detail"])
        );
    }
    let _ = writeln!(md, "\n## Actions required\n");
    for action in report["actionsRequired"].as_array().into_iter().flatten() {
        let _ = writeln!(md, "- {}", text(action));
    }
    md
}

/// A JSON value as text: strings without their quotes.
pub(super) fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// `logs/incidents/<id>` rather than an absolute path, so the report reads the same on every machine.
pub(super) fn rel(dir: &Path) -> String {
    let parts: Vec<_> = dir.iter().rev().take(3).collect();
    parts
        .iter()
        .rev()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
