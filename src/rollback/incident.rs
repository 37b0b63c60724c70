//! An incident's folder `logs/incidents/<id>/`: the human `rollback.log`, the durable
//! `journal` a resumed rollback reads, and `replaced/`, where every file and folder the
//! rollback replaced is kept.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::backup::{valid_incident_id, INCIDENTS_DIR, INCIDENT_REPORT};
use crate::durable;
use crate::time::{compact_stamp, iso_from_ms, now_ms};
use crate::{Error, ErrorCode, Result};

/// The journal's file name in the incident folder.
pub const JOURNAL_FILE: &str = "journal";
/// The human log's file name in the incident folder.
pub const LOG_FILE: &str = "rollback.log";
/// Journal steps that end a rollback: after them there is nothing to resume.
const TERMINAL: [&str; 2] = ["finished", "undone"];

/// One journal line.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// The step (`start`, `pre-backup`, `stage`, `swap`, `legacy`, `switch`, `validate`, `finished`, `undone`).
    pub step: String,
    /// `begin`, `done` or `failed`.
    pub state: String,
    /// What the step needs to be resumed or undone.
    pub data: Value,
}

/// One line of `rollback.log`, as [`Incident::log`] wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// ISO time.
    pub at: String,
    /// The step.
    pub step: String,
    /// What happened.
    pub outcome: String,
}

/// An incident: its id and folder.
#[derive(Debug, Clone)]
pub struct Incident {
    /// `INC-YYYYMMDD-HHMMSS` or the id given.
    pub id: String,
    /// `<root>/logs/incidents/<id>`.
    pub dir: PathBuf,
}

impl Incident {
    /// `INC-YYYYMMDD-HHMMSS` for now (UTC).
    pub fn new_id() -> String {
        format!("INC-{}", compact_stamp(now_ms()))
    }

    /// The incident `id` of the project at `root`; the id must be usable in a folder name.
    pub fn at(root: &Path, id: &str) -> Result<Incident> {
        if !valid_incident_id(id) {
            return Err(Error::new(
                ErrorCode::ValidationFailed,
                format!("incident id {id:?} must be 1-64 letters, digits, '-' or '_'"),
            ));
        }
        Ok(Incident {
            id: id.to_string(),
            dir: root.join(INCIDENTS_DIR).join(id),
        })
    }

    /// Creates the folder; `STATE_CONFLICT` when this incident already has one.
    pub fn create(&self) -> Result<()> {
        if let Some(parent) = self.dir.parent() {
            durable::create_dir_all_durable(parent)?;
        }
        durable::create_dir_new(&self.dir)
    }

    /// Appends a journal line, durably, before the caller goes on.
    pub fn record(&self, step: &str, state: &str, data: Value) -> Result<()> {
        let line = json!({"at": iso_from_ms(now_ms()), "step": step, "state": state, "data": data});
        durable::append_line(&self.dir.join(JOURNAL_FILE), &line.to_string())?;
        crash_point(step, state);
        Ok(())
    }

    /// Appends `<time>  <step>  <outcome>` to `rollback.log`.
    pub fn log(&self, step: &str, outcome: &str) -> Result<()> {
        let line = format!("{}  {step:<14}  {outcome}", iso_from_ms(now_ms()));
        durable::append_line(&self.dir.join(LOG_FILE), &line)
    }

    /// The lines of `rollback.log` (none when there is no log); a line in another format is kept whole as the outcome.
    pub fn log_lines(&self) -> Result<Vec<LogLine>> {
        let path = self.dir.join(LOG_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::read_io(&path, &e)),
        };
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse_log_line)
            .collect())
    }

    /// The journal's entries; a torn last line (a crash mid-append) is skipped.
    pub fn entries(&self) -> Result<Vec<JournalEntry>> {
        let path = self.dir.join(JOURNAL_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::read_io(&path, &e)),
        };
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|v| JournalEntry {
                step: v["step"].as_str().unwrap_or_default().to_string(),
                state: v["state"].as_str().unwrap_or_default().to_string(),
                data: v["data"].clone(),
            })
            .collect())
    }

    /// Where replaced files and folders are kept.
    pub fn replaced_dir(&self) -> PathBuf {
        self.dir.join("replaced")
    }

    /// Whether the incident's report exists (the rollback ended, one way or the other).
    pub fn is_closed(&self) -> bool {
        self.dir.join(INCIDENT_REPORT).is_file()
    }
}

/// The first `data` recorded for `step` in `state`, if any.
pub fn find<'a>(entries: &'a [JournalEntry], step: &str, state: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|e| e.step == step && e.state == state)
        .map(|e| &e.data)
}

/// The newest incident of the project at `root`: the one whose rollback started last (by its
/// journal), by id when the journals do not say; `None` when there is none.
pub fn newest(root: &Path) -> Result<Option<Incident>> {
    let dir = root.join(INCIDENTS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::read_io(&dir, &e)),
    };
    let mut best: Option<(u64, Incident)> = None;
    for entry in entries.flatten().filter(|e| e.path().is_dir()) {
        let Ok(incident) = Incident::at(root, &entry.file_name().to_string_lossy()) else {
            continue;
        };
        let journal = incident.entries()?;
        let started = find(&journal, "start", "done")
            .and_then(|d| d["startedMs"].as_u64())
            .unwrap_or(0);
        let newer = best
            .as_ref()
            .is_none_or(|(t, b)| (started, &incident.id) > (*t, &b.id));
        if newer {
            best = Some((started, incident));
        }
    }
    Ok(best.map(|(_, incident)| incident))
}

fn parse_log_line(line: &str) -> LogLine {
    let parts = line
        .split_once("  ")
        .map(|(at, rest)| (at, rest.trim_start().split_once(char::is_whitespace)));
    match parts {
        Some((at, Some((step, outcome)))) if crate::time::ms_from_iso(at).is_some() => LogLine {
            at: at.to_string(),
            step: step.to_string(),
            outcome: outcome.trim_start().to_string(),
        },
        _ => LogLine {
            at: String::new(),
            step: String::new(),
            outcome: line.to_string(),
        },
    }
}

/// Incidents whose journal has no terminal entry: a rollback was interrupted there.
pub fn interrupted(root: &Path) -> Result<Vec<Incident>> {
    let dir = root.join(INCIDENTS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::read_io(&dir, &e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let Ok(incident) = Incident::at(root, &id) else {
            continue;
        };
        let journal = incident.entries()?;
        let ended = journal.iter().any(|e| TERMINAL.contains(&e.step.as_str()));
        if !journal.is_empty() && !ended {
            out.push(incident);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Removes incident folders that hold neither journal nor report: a process killed between creating the folder and journaling its start leaves one, and it records nothing.
pub fn remove_abandoned(root: &Path) -> Result<()> {
    let dir = root.join(INCIDENTS_DIR);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let folder = entry.path();
        let names: Vec<_> = fs::read_dir(&folder)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        // Only our own traces: nothing, or a journal whose only line was torn.
        let only_torn_journal = names.iter().all(|n| n == JOURNAL_FILE)
            && Incident::at(root, &entry.file_name().to_string_lossy())
                .and_then(|i| i.entries())
                .is_ok_and(|e| e.is_empty());
        if only_torn_journal {
            durable::remove_tree(&folder)?;
        }
    }
    Ok(())
}

/// Test hook for the crash campaign: `LOOKCOIN_STATE_CRASH_AT=<step>:<state>` aborts the process right after that journal line is durable, as a `kill -9` there would.
fn crash_point(step: &str, state: &str) {
    if let Ok(target) = std::env::var("LOOKCOIN_STATE_CRASH_AT") {
        if target == format!("{step}:{state}") {
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_read_back_what_log_writes() {
        let line =
            parse_log_line("2025-08-13T11:26:18.516Z  swap            OK leveldb/ now holds it");
        assert_eq!(
            line,
            LogLine {
                at: "2025-08-13T11:26:18.516Z".into(),
                step: "swap".into(),
                outcome: "OK leveldb/ now holds it".into(),
            }
        );
        let odd = parse_log_line("SUCCESS: Emergency rollback completed");
        assert_eq!(
            (odd.at.as_str(), odd.outcome.as_str()),
            ("", "SUCCESS: Emergency rollback completed")
        );
    }
}
