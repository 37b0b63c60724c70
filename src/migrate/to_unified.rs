//! LevelDB → unified JSON. The one writer of unified files from LevelDB records, shared by
//! `leveldb_to_unified` (merges into existing files) and `regenerateUnified` (replaces their
//! records): categories, `extended_<name>`, `verification.implementationHashes`, checksums and
//! `fileVersion` filled, every other section of an existing file kept.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::report::{Action, Item, MigrationReport};
use super::{backup_first, MigrateOptions, Migration, LOCK_TIMEOUT};
use crate::backend::leveldb::{read_copy, with_quiesced};
use crate::backend::unified::UNIFIED_SUFFIX;
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::durable;
use crate::record::ContractRecord;
use crate::store::refuse_if_stopped;
use crate::time::now_ms;
use crate::unified::UnifiedFile;
use crate::{Error, Result};

/// Where the unified files live, relative to the project root.
pub(crate) const UNIFIED_DIR: &str = "deployments/unified";

/// How a rebuild treats what a unified file already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Keep entries LevelDB lacks; leave a file that is unreadable or claims another chain alone.
    Merge,
    /// Drop entries LevelDB lacks; rebuild a file that is unreadable or claims another chain.
    Replace,
}

/// What a unified file was before a rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Previous {
    /// There was no file.
    Absent,
    /// A usable file of this chain: its other sections are kept.
    Kept,
    /// A file that cannot be used as it is, and why.
    Unusable(String),
}

/// One chain's unified file brought up to date with its LevelDB records, in memory.
#[derive(Debug)]
pub(crate) struct Rebuilt {
    /// Path relative to the project root.
    pub(crate) path: String,
    /// The chain.
    pub(crate) chain_id: u64,
    /// What the file was.
    pub(crate) previous: Previous,
    /// The new text; `None` when the file stays as it is (unchanged, or left alone by a merge).
    pub(crate) text: Option<String>,
    /// Records the file holds afterwards.
    pub(crate) records: usize,
}

/// Fills the unified files from `<root>/leveldb` (see [`MigrateOptions`]): new files are
/// created, existing ones merged into (entries LevelDB lacks are kept; `regenerateUnified`
/// is what drops them); a file that is unreadable or claims another chain is skipped.
pub fn leveldb_to_unified(root: &Path, options: &MigrateOptions) -> Result<MigrationReport> {
    if !options.dry_run {
        refuse_if_stopped(root)?;
    }
    let chains = ChainMap::default();
    let mut by_chain = leveldb_records(root)?;
    let mut report = MigrationReport::new(Migration::LevelDbToUnified, options.dry_run);
    if !options.include_dev {
        if let Some(dev) = by_chain.remove(&DEV_CHAIN_ID) {
            report.items.push(Item {
                target: unified_path(&chains, DEV_CHAIN_ID),
                chain_id: DEV_CHAIN_ID,
                action: Action::Skipped,
                records: dev.len(),
                source: "leveldb".into(),
                reason: Some(format!(
                    "dev chain {DEV_CHAIN_ID} rows are not production data; pass includeDev to migrate them"
                )),
            });
        }
    }
    let planned = plan(root, &chains, &by_chain, Existing::Merge)?;
    let rebuilt = if options.dry_run || planned.iter().all(|f| f.text.is_none()) {
        planned
    } else {
        let label = format!("before migrate {}", Migration::LevelDbToUnified.name());
        let (backup, written) = write(root, &chains, &by_chain, Existing::Merge, &label)?;
        report.backup = Some(backup);
        written
    };
    report.items.extend(
        rebuilt
            .iter()
            .map(|f| merge_item(f, by_chain[&f.chain_id].len())),
    );
    Ok(report)
}

/// Every record of the live LevelDB, per chain: copied under its lock and read from the copy,
/// so even this changes no byte of it.
pub(crate) fn leveldb_records(root: &Path) -> Result<BTreeMap<u64, Vec<ContractRecord>>> {
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

/// Each chain's file rebuilt in memory, without locks: what [`write`] would do.
pub(crate) fn plan(
    root: &Path,
    chains: &ChainMap,
    by_chain: &BTreeMap<u64, Vec<ContractRecord>>,
    existing: Existing,
) -> Result<Vec<Rebuilt>> {
    by_chain
        .iter()
        .map(|(chain_id, records)| rebuild(root, chains, *chain_id, records, existing))
        .collect()
}

/// Backs up the state, then rebuilds each chain's file again under its lock, from what is on
/// disk at that moment, and replaces it durably when it changes. Returns the backup
/// (root-relative) and the files as written.
pub(crate) fn write(
    root: &Path,
    chains: &ChainMap,
    by_chain: &BTreeMap<u64, Vec<ContractRecord>>,
    existing: Existing,
    label: &str,
) -> Result<(String, Vec<Rebuilt>)> {
    let backup = backup_first(root, label)?;
    durable::create_dir_all_durable(&root.join(UNIFIED_DIR))?;
    let mut done = Vec::new();
    for (chain_id, records) in by_chain {
        let path = root.join(unified_path(chains, *chain_id));
        let _lock = durable::lock_for_replace(&path, LOCK_TIMEOUT)?;
        let rebuilt = rebuild(root, chains, *chain_id, records, existing)?;
        if let Some(text) = &rebuilt.text {
            durable::write_atomic(&path, text.as_bytes())?;
        }
        done.push(rebuilt);
    }
    Ok((backup, done))
}

/// `deployments/unified/<network>.unified.json` of a chain.
fn unified_path(chains: &ChainMap, chain_id: u64) -> String {
    format!(
        "{UNIFIED_DIR}/{}{UNIFIED_SUFFIX}",
        chains.network_name(chain_id)
    )
}

/// The chain's file as it is on disk now, with `records` put into it.
fn rebuild(
    root: &Path,
    chains: &ChainMap,
    chain_id: u64,
    records: &[ContractRecord],
    existing: Existing,
) -> Result<Rebuilt> {
    let path = unified_path(chains, chain_id);
    let (current, previous) = load(&root.join(&path), chain_id)?;
    let before = current.clone();
    let mut file = match current {
        Some(file) => file,
        None if existing == Existing::Merge && previous != Previous::Absent => {
            return Ok(Rebuilt {
                path,
                chain_id,
                previous,
                text: None,
                records: 0,
            })
        }
        None => UnifiedFile::skeleton(
            chain_id,
            &chains.network_name(chain_id),
            chains.tier(chain_id),
            now_ms(),
        ),
    };
    if existing == Existing::Replace {
        drop_missing(&mut file, records);
    }
    records.iter().for_each(|r| file.put(r));
    let text = if before.as_ref() == Some(&file) {
        None
    } else {
        file.check_version_can_advance(&root.join(&path))?;
        file.stamp_write(now_ms());
        Some(file.to_text())
    };
    Ok(Rebuilt {
        path,
        chain_id,
        previous,
        text,
        records: file.records().len(),
    })
}

/// Removes the entries whose names are not among `records`.
fn drop_missing(file: &mut UnifiedFile, records: &[ContractRecord]) {
    let wanted: Vec<&str> = records.iter().map(|r| r.contract_name.as_str()).collect();
    for (_, record) in file.entries() {
        if !wanted.contains(&record.contract_name.as_str()) {
            file.remove(&record.contract_name);
        }
    }
}

/// The file at `path`: usable, absent, or unusable and why. Read errors other than "absent" fail.
fn load(path: &Path, chain_id: u64) -> Result<(Option<UnifiedFile>, Previous)> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, Previous::Absent)),
        Err(e) => return Err(Error::read_io(path, &e)),
    };
    let unusable = |why: String| Ok((None, Previous::Unusable(why)));
    let Ok(text) = String::from_utf8(bytes) else {
        return unusable("not UTF-8 text".into());
    };
    match UnifiedFile::parse(path, &text) {
        Err(e) => unusable(e.message),
        Ok(file) if file.chain_id() != chain_id => unusable(format!(
            "claims chainId {}, but the chain map gives this file to chain {chain_id}",
            file.chain_id()
        )),
        Ok(file) => Ok((Some(file), Previous::Kept)),
    }
}

/// The report item of one merged file.
fn merge_item(file: &Rebuilt, records: usize) -> Item {
    let (action, reason) = match (&file.previous, &file.text) {
        (Previous::Unusable(why), _) => (
            Action::Skipped,
            Some(format!(
                "{why}; a merge would lose or misplace data: fix the file, or rebuild it with regenerate-unified"
            )),
        ),
        (Previous::Absent, _) => (Action::Created, None),
        (Previous::Kept, None) => (Action::Unchanged, None),
        (Previous::Kept, Some(_)) => (Action::Updated, None),
    };
    Item {
        target: file.path.clone(),
        chain_id: file.chain_id,
        action,
        records,
        source: "leveldb".into(),
        reason,
    }
}
