//! Unified JSON or legacy v1 JSON → LevelDB. Records are read through the backends' own
//! readers and judged by their own chainId: a file whose chainId disagrees with the chain map
//! (the real `sapphiremainnet.unified.json` holds 23295 data) is skipped, never written under
//! either chain. Keys LevelDB already holds with another value are kept unless `overwrite`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::report::{Action, Item, MigrationReport};
use super::to_unified::UNIFIED_DIR;
use super::{backup_first, MigrateOptions, Migration, LOCK_TIMEOUT};
use crate::backend::legacy_json::LegacyJsonBackend;
use crate::backend::leveldb::{read_copy, with_quiesced, LevelDbBackend, OpenMode};
use crate::backend::unified::UnifiedBackend;
use crate::backend::{Backend, RawEntry};
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::record::{parse_key, ContractRecord, WriteCheck};
use crate::store::refuse_if_stopped;
use crate::{Error, ErrorCode, Result};

/// A record a source offers, with where it was found (root-relative `file#/pointer`).
struct Candidate {
    record: ContractRecord,
    source: String,
}

/// What LevelDB holds per key: a record, or why its value cannot be decoded.
type Stored = HashMap<String, Result<ContractRecord>>;

/// Writes the records of `deployments/unified/*.unified.json` into `<root>/leveldb`.
pub fn unified_to_leveldb(root: &Path, options: &MigrateOptions) -> Result<MigrationReport> {
    let dir = root.join(UNIFIED_DIR);
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!(
                "{} does not exist: there are no unified files to migrate",
                dir.display()
            ),
        )
        .with_path(&dir));
    }
    let source = UnifiedBackend::open(&dir, ChainMap::default(), LOCK_TIMEOUT)?;
    migrate(root, Migration::UnifiedToLevelDb, &source, options)
}

/// Writes the records of the legacy v1 `deployments/<network>.json` files into `<root>/leveldb`
/// (archive recovery), as the legacy reader returns them.
pub fn legacy_to_leveldb(root: &Path, options: &MigrateOptions) -> Result<MigrationReport> {
    let source = LegacyJsonBackend::open(&root.join("deployments"), ChainMap::default())?;
    migrate(root, Migration::LegacyToLevelDb, &source, options)
}

/// Plans against a read-only copy of LevelDB; a real run then backs up and, holding the
/// database open (its lock), decides again and writes one synced batch per chain.
fn migrate(
    root: &Path,
    migration: Migration,
    source: &dyn Backend,
    options: &MigrateOptions,
) -> Result<MigrationReport> {
    if !options.dry_run {
        refuse_if_stopped(root)?;
    }
    let mut report = MigrationReport::new(migration, options.dry_run);
    let mut candidates = Vec::new();
    for entry in source.scan_raw()? {
        match candidate(root, entry) {
            Ok(candidate) => candidates.push(candidate),
            Err(skipped) => report.items.push(skipped),
        }
    }
    let dir = root.join("leveldb");
    let planned = decide(&candidates, &stored_copy(&dir)?, options.overwrite);
    if options.dry_run || !planned.iter().any(|i| i.action.writes()) {
        report.items.extend(planned);
        return Ok(report);
    }
    let label = format!("before migrate {}", migration.name());
    report.backup = Some(backup_first(root, &label)?);
    let db = LevelDbBackend::open(&dir, OpenMode::CreateIfMissing)?;
    let decided = decide(&candidates, &stored(db.scan_raw()?), options.overwrite);
    let mut batches: BTreeMap<u64, Vec<ContractRecord>> = BTreeMap::new();
    for (item, candidate) in decided.iter().zip(&candidates) {
        if item.action.writes() {
            let record = candidate.record.clone();
            batches.entry(record.chain_id).or_default().push(record);
        }
    }
    for (chain_id, batch) in &batches {
        db.put_batch(*chain_id, batch)?;
    }
    db.close()?;
    report.items.extend(decided);
    Ok(report)
}

/// A source entry as a record to write, or the item saying why it is skipped.
fn candidate(root: &Path, entry: RawEntry) -> std::result::Result<Candidate, Item> {
    let prefix = format!("{}/", root.display());
    let source = entry
        .location
        .strip_prefix(&prefix)
        .unwrap_or(&entry.location)
        .to_string();
    let file = source.split('#').next().unwrap_or(&source).to_string();
    let skip = |target: String, chain_id: u64, why: String| Item {
        target,
        chain_id,
        action: Action::Skipped,
        records: 1,
        source: source.clone(),
        reason: Some(why),
    };
    let record = match entry.record {
        Ok(record) => record,
        Err(e) => {
            let why = format!("{}; nothing of this file was migrated", e.message);
            let mut item = skip(file, entry.expected_chain.unwrap_or(0), why);
            item.records = 0;
            return Err(item);
        }
    };
    let (key, chain_id) = (record.key(), record.chain_id);
    let refusal = match entry.expected_chain {
        None => Some(format!(
            "{file}: its network name is not in the chain map, so chainId {chain_id} cannot be confirmed; name the file after its network"
        )),
        Some(mapped) if mapped != chain_id => Some(format!(
            "{file} claims chainId {chain_id}, but the chain map gives this file to chain {mapped}; not written under either: fix the file's chainId or restore the right file"
        )),
        Some(_) => check_writable(&record).err().map(|e| e.message),
    };
    match refusal {
        Some(why) => Err(skip(key, chain_id, why)),
        None => Ok(Candidate { record, source }),
    }
}

/// Production records must be well-formed (empty hashes allowed, as in imports); dev-chain
/// rows, invalid in the real data, only need a usable key.
fn check_writable(record: &ContractRecord) -> Result<()> {
    parse_key(&record.key())?;
    if record.chain_id != DEV_CHAIN_ID {
        record.check_for_write(WriteCheck::AllowEmptyHashes)?;
    }
    Ok(())
}

/// The item of each candidate, in order, given what LevelDB holds.
fn decide(candidates: &[Candidate], stored: &Stored, overwrite: bool) -> Vec<Item> {
    candidates
        .iter()
        .map(|c| {
            let key = c.record.key();
            let (action, reason) = match stored.get(&key) {
                None => (Action::Created, None),
                Some(Ok(old)) if *old == c.record => (Action::Unchanged, None),
                Some(_) if overwrite => (Action::Updated, None),
                Some(_) => (
                    Action::Skipped,
                    Some("LevelDB already holds this key with another value; pass overwrite to replace it".to_string()),
                ),
            };
            Item {
                target: key,
                chain_id: c.record.chain_id,
                action,
                records: 1,
                source: c.source.clone(),
                reason,
            }
        })
        .collect()
}

/// What the LevelDB in `dir` holds, read from a copy taken while nobody can write it (another
/// process holding it: `STATE_LOCKED` naming its `LOCK`); nothing when there is no database.
fn stored_copy(dir: &Path) -> Result<Stored> {
    if !dir.join("CURRENT").is_file() {
        return Ok(Stored::new());
    }
    Ok(stored(with_quiesced(dir, || read_copy(dir))?))
}

fn stored(entries: Vec<RawEntry>) -> Stored {
    entries
        .into_iter()
        .map(|e| (e.location, e.record))
        .collect()
}
