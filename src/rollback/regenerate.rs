//! `regenerateUnified`: the runbook's reverse recovery — rebuild
//! `deployments/unified/*.unified.json` from LevelDB, keeping every section a current file
//! holds beyond its records, one atomic replace per file, after a backup of what is there.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::backend::leveldb::{read_copy, with_quiesced};
use crate::backup::{create_backup, no_progress, CreateOptions};
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::durable;
use crate::record::ContractRecord;
use crate::store::EMERGENCY_STOP_FILE;
use crate::time::now_ms;
use crate::unified::UnifiedFile;
use crate::{Error, ErrorCode, Result};

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
    let stop = root.join(EMERGENCY_STOP_FILE);
    if stop.exists() && !dry_run {
        return Err(Error::new(
            ErrorCode::Locked,
            format!(
                "{} exists: a rollback is in progress; finish it first",
                stop.display()
            ),
        )
        .with_path(&stop));
    }
    let by_chain = leveldb_records(root)?;
    let chains = ChainMap::default();
    let dir = root.join("deployments/unified");
    let mut report = RegenerateReport {
        dry_run,
        files: Vec::new(),
        skipped: Vec::new(),
        backup: None,
    };
    let mut writes = Vec::new();
    for (chain_id, records) in by_chain {
        if chain_id == DEV_CHAIN_ID {
            report.skipped.push(format!(
                "{} dev records on chain {DEV_CHAIN_ID} (never written to unified files)",
                records.len()
            ));
            continue;
        }
        let name = format!("{}.unified.json", chains.network_name(chain_id));
        let (file, text, previous) = rebuild(&dir.join(&name), chain_id, &chains, &records);
        let action = match (&previous[..], &text) {
            ("absent", _) => "create",
            (_, None) => "unchanged",
            _ => "replace",
        };
        report.files.push(RegeneratedFile {
            path: format!("deployments/unified/{name}"),
            chain_id,
            action,
            previous,
            records: file.records().len(),
        });
        if let Some(text) = text {
            writes.push((dir.join(&name), text));
        }
    }
    if dry_run || writes.is_empty() {
        return Ok(report);
    }
    let options = CreateOptions {
        root: root.to_path_buf(),
        kind: "manual".into(),
        label: Some("before regenerate-unified".into()),
        include_unified_history: true,
    };
    let backup = create_backup(&options, &no_progress)?;
    report.backup = Some(
        backup
            .path
            .strip_prefix(root)
            .unwrap_or(&backup.path)
            .display()
            .to_string(),
    );
    durable::create_dir_all_durable(&dir)?;
    for (path, text) in writes {
        let _lock = durable::lock_for_replace(&path, Duration::from_secs(10))?;
        durable::write_atomic(&path, text.as_bytes())?;
    }
    Ok(report)
}

/// Every record of the live LevelDB, per chain: copied under its lock and read from the copy, so even this changes no byte of it.
fn leveldb_records(root: &Path) -> Result<BTreeMap<u64, Vec<ContractRecord>>> {
    let dir = root.join("leveldb");
    let entries = with_quiesced(&dir, || read_copy(&dir))?;
    let mut by_chain: BTreeMap<u64, Vec<ContractRecord>> = BTreeMap::new();
    for entry in entries {
        let record = entry
            .record
            .map_err(|e| e.with_key(entry.location.clone()))?;
        by_chain.entry(record.chain_id).or_default().push(record);
    }
    Ok(by_chain)
}

/// The file rebuilt from `records`: (file, new text or `None` when unchanged, what it was before).
fn rebuild(
    path: &Path,
    chain_id: u64,
    chains: &ChainMap,
    records: &[ContractRecord],
) -> (UnifiedFile, Option<String>, String) {
    let old_text = fs::read_to_string(path).ok();
    let parsed = old_text
        .as_deref()
        .map(|text| UnifiedFile::parse(path, text));
    let fresh = || {
        UnifiedFile::skeleton(
            chain_id,
            &chains.network_name(chain_id),
            chains.tier(chain_id),
            now_ms(),
        )
    };
    let (mut file, previous) = match parsed {
        None => (fresh(), "absent".to_string()),
        Some(Ok(file)) if file.chain_id() == chain_id => (file, "kept".to_string()),
        Some(Ok(file)) => (
            fresh(),
            format!("unusable: claims chainId {}", file.chain_id()),
        ),
        Some(Err(e)) => (fresh(), format!("unusable: {}", e.message)),
    };
    let before = file.records();
    let wanted: Vec<&str> = records.iter().map(|r| r.contract_name.as_str()).collect();
    for (_, record) in file.entries() {
        if !wanted.contains(&record.contract_name.as_str()) {
            file.remove(&record.contract_name);
        }
    }
    for record in records {
        file.put(record);
    }
    if previous == "kept" && file.records() == before {
        return (file, None, previous);
    }
    file.stamp_write(now_ms());
    let text = file.to_text();
    (file, Some(text), previous)
}
