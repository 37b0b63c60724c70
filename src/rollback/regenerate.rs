//! `regenerateUnified`: the runbook's reverse recovery — rebuild
//! `deployments/unified/*.unified.json` from LevelDB, keeping every section a current file
//! holds beyond its records, one atomic replace per file, after a backup of what is there.
//! The writer is the LevelDB → unified migration's, in replace mode: entries LevelDB lacks go.

use std::path::Path;

use serde_json::{json, Value};

use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::migrate::to_unified::{leveldb_records, plan, write, Existing, Previous, Rebuilt};
use crate::store::refuse_if_stopped;
use crate::Result;

/// One rebuilt file.
#[derive(Debug, Clone)]
pub struct RegeneratedFile {
    /// Path relative to the root.
    pub path: String,
    /// Its chain.
    pub chain_id: u64,
    /// `create`, `replace` or `unchanged`.
    pub action: &'static str,
    /// What the file was: `absent`, `kept` (its other sections kept) or `unusable` (rebuilt from scratch, and why).
    pub previous: String,
    /// Records it holds now.
    pub records: usize,
}

/// What `regenerateUnified` did or would do.
#[derive(Debug, Clone)]
pub struct RegenerateReport {
    /// Nothing was written.
    pub dry_run: bool,
    /// The files.
    pub files: Vec<RegeneratedFile>,
    /// Records not written to a unified file, with why (dev chains).
    pub skipped: Vec<String>,
    /// The backup made first (not in a dry run).
    pub backup: Option<String>,
}

impl RegenerateReport {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "dryRun": self.dry_run,
            "backup": self.backup,
            "skipped": self.skipped,
            "files": self.files.iter().map(|f| json!({"path": f.path, "chainId": f.chain_id,
                "action": f.action, "previous": f.previous, "records": f.records})).collect::<Vec<_>>(),
        })
    }
}

/// Rebuilds the unified files of every production chain in `<root>/leveldb`.
pub fn regenerate_unified(root: &Path, dry_run: bool) -> Result<RegenerateReport> {
    if !dry_run {
        refuse_if_stopped(root)?;
    }
    let mut by_chain = leveldb_records(root)?;
    let mut report = RegenerateReport {
        dry_run,
        files: Vec::new(),
        skipped: Vec::new(),
        backup: None,
    };
    if let Some(dev) = by_chain.remove(&DEV_CHAIN_ID) {
        report.skipped.push(format!(
            "{} dev records on chain {DEV_CHAIN_ID} (never written to unified files)",
            dev.len()
        ));
    }
    let chains = ChainMap::default();
    let planned = plan(root, &chains, &by_chain, Existing::Replace)?;
    let rebuilt = if dry_run || planned.iter().all(|f| f.text.is_none()) {
        planned
    } else {
        let label = "before regenerate-unified";
        let (backup, written) = write(root, &chains, &by_chain, Existing::Replace, label)?;
        report.backup = Some(backup);
        written
    };
    report.files = rebuilt.iter().map(regenerated).collect();
    Ok(report)
}

/// The report entry of one rebuilt file.
fn regenerated(file: &Rebuilt) -> RegeneratedFile {
    let action = match (&file.previous, &file.text) {
        (Previous::Absent, _) => "create",
        (_, None) => "unchanged",
        _ => "replace",
    };
    let previous = match &file.previous {
        Previous::Absent => "absent".to_string(),
        Previous::Kept => "kept".to_string(),
        Previous::Unusable(why) => format!("unusable: {why}"),
    };
    RegeneratedFile {
        path: file.path.clone(),
        chain_id: file.chain_id,
        action,
        previous,
        records: file.records,
    }
}
