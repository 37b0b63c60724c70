//! Filling what a live store lacks — an implementation hash, constructor arguments — from every
//! other local source ([`super::sources`]): never overwriting, never guessing.
//!
//! A target is a record of a live store (the LevelDB, or a unified file named for the record's
//! chain) that lacks the value; dev-chain (31337) rows are test data and never targets. A
//! candidate is any other record of the same chain and canonical name that describes the same
//! deployment: for a hash the same implementation address (an upgraded contract's old hash
//! describes other code), for arguments the same proxy, or the same address when there is no
//! proxy (initializer arguments belong to the proxy's deployment and survive upgrades). One
//! distinct value among the candidates fills the target; several are a conflict, reported with
//! each value and its sources; none leaves the target unresolved.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::sources::{self, Field, Source, SourceKind, Sourced, LEVELDB_DIR};
use crate::backend::leveldb::{LevelDbBackend, OpenMode};
use crate::backend::unified::UnifiedBackend;
use crate::backend::Backend;
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::migrate::backup_first;
use crate::migrate::to_unified::UNIFIED_DIR;
use crate::record::{canonical_name, ContractRecord};
use crate::store::refuse_if_stopped;
use crate::unified::pointer;
use crate::{Error, ErrorCode, Result};

/// How long a unified write waits for another writer of the same file.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of [`recover_implementation_hashes`] and [`recover_constructor_args`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoverOptions {
    /// Report what would be filled; write nothing (no backup either).
    pub dry_run: bool,
}

impl RecoverOptions {
    /// `null` or `{dryRun?: boolean}`, as a binding passes them; anything else is `VALIDATION_FAILED`.
    pub fn from_json(value: &Value) -> Result<Self> {
        let bad = |why: String| Error::new(ErrorCode::ValidationFailed, why);
        let map = match value {
            Value::Null => return Ok(RecoverOptions::default()),
            Value::Object(map) => map,
            other => return Err(bad(format!("options must be an object, got {other}"))),
        };
        let mut out = RecoverOptions::default();
        for (key, value) in map {
            match (key.as_str(), value) {
                ("dryRun", Value::Null) => {}
                ("dryRun", Value::Bool(b)) => out.dry_run = *b,
                ("dryRun", other) => {
                    return Err(bad(format!("dryRun must be a boolean, got {other}")))
                }
                (other, _) => {
                    return Err(bad(format!(
                        "unknown recovery option {other:?} (known: dryRun)"
                    )))
                }
            }
        }
        Ok(out)
    }
}

/// Where a recovered value goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `leveldb` or `unified-json`.
    pub store: &'static str,
    /// The record's chain.
    pub chain_id: u64,
    /// The contract name as stored.
    pub contract: String,
    /// The LevelDB folder or the unified file, relative to the root.
    pub path: String,
    /// The LevelDB key, or the JSON pointer the value is written at.
    pub location: String,
}

impl Target {
    /// `{store, chainId, network, contract, path, location}`.
    pub fn to_json(&self) -> Value {
        json!({"store": self.store, "chainId": self.chain_id,
               "network": ChainMap::default().network_name(self.chain_id),
               "contract": self.contract, "path": self.path, "location": self.location})
    }
}

/// One value and every source that holds it, in priority order.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The value, as the first source spells it.
    pub value: Value,
    /// Where it was found.
    pub sources: Vec<Source>,
}

impl Candidate {
    /// `{value, sources}`.
    pub fn to_json(&self) -> Value {
        json!({"value": self.value, "sources": self.sources.iter().map(Source::to_json).collect::<Vec<_>>()})
    }
}

/// A value filled, or in a dry run one that would be.
#[derive(Debug, Clone, PartialEq)]
pub struct Filled {
    /// Where it goes.
    pub target: Target,
    /// The value and every source that holds it; the first names where it was taken from.
    pub candidate: Candidate,
    /// Written (false in a dry run).
    pub written: bool,
    /// The record as planned on: the write only happens while the store still holds exactly this.
    original: ContractRecord,
}

/// A target whose candidates disagree: nothing is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The record lacking the value.
    pub target: Target,
    /// Every distinct value, with its sources.
    pub candidates: Vec<Candidate>,
}

/// A target left as it is, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfilled {
    /// The record lacking the value.
    pub target: Target,
    /// Why, and what to do.
    pub reason: String,
}

/// What a recovery filled, would fill, or could not.
#[derive(Debug, Clone)]
pub struct RecoveryReport {
    /// The value recovered.
    pub field: Field,
    /// Nothing was written.
    pub dry_run: bool,
    /// The backup made before writing (root-relative); `None` in a dry run or with nothing to fill.
    pub backup: Option<String>,
    /// Values filled.
    pub filled: Vec<Filled>,
    /// Targets whose sources disagree.
    pub conflicts: Vec<Conflict>,
    /// Targets no local source has a value for.
    pub unresolved: Vec<Unfilled>,
    /// Targets not touched: a file claiming another chain, or a record changed since it was planned.
    pub skipped: Vec<Unfilled>,
    /// Every folder and file read (root-relative).
    pub sources_read: Vec<String>,
    /// What could not be read.
    pub notes: Vec<String>,
}

impl RecoveryReport {
    /// `{field, dryRun, backup, counts, filled, conflicts, unresolved, skipped, sourcesRead, notes}`.
    pub fn to_json(&self) -> Value {
        let unfilled = |list: &[Unfilled]| {
            list.iter()
                .map(|u| json!({"target": u.target.to_json(), "reason": u.reason}))
                .collect::<Vec<_>>()
        };
        json!({
            "field": self.field.name(),
            "dryRun": self.dry_run,
            "backup": self.backup,
            "counts": {"filled": self.filled.len(), "conflicts": self.conflicts.len(),
                       "unresolved": self.unresolved.len(), "skipped": self.skipped.len()},
            "filled": self.filled.iter().map(|f| json!({"target": f.target.to_json(),
                "value": f.candidate.value, "source": f.candidate.sources[0].to_json(),
                "sources": f.candidate.to_json()["sources"], "written": f.written})).collect::<Vec<_>>(),
            "conflicts": self.conflicts.iter().map(|c| json!({"target": c.target.to_json(),
                "candidates": c.candidates.iter().map(Candidate::to_json).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "unresolved": unfilled(&self.unresolved),
            "skipped": unfilled(&self.skipped),
            "sourcesRead": self.sources_read,
            "notes": self.notes,
        })
    }

    /// The filled value of `contract` (stored name) on `chain_id` in `store`, if any.
    pub fn filled_value(&self, store: &str, chain_id: u64, contract: &str) -> Option<&Filled> {
        self.filled.iter().find(|f| {
            f.target.store == store
                && f.target.chain_id == chain_id
                && f.target.contract == contract
        })
    }
}

/// Fills the implementation hashes a live store lacks (see the module docs); after a `manual`
/// backup unless `dry_run`; `STATE_LOCKED` while `.emergency-stop` exists.
pub fn recover_implementation_hashes(
    root: &Path,
    options: &RecoverOptions,
) -> Result<RecoveryReport> {
    recover(root, Field::ImplementationHash, options)
}

/// Fills the constructor (initializer) arguments a live store lacks (see the module docs);
/// after a `manual` backup unless `dry_run`; `STATE_LOCKED` while `.emergency-stop` exists.
pub fn recover_constructor_args(root: &Path, options: &RecoverOptions) -> Result<RecoveryReport> {
    recover(root, Field::DeploymentArgs, options)
}

fn recover(root: &Path, field: Field, options: &RecoverOptions) -> Result<RecoveryReport> {
    if !options.dry_run {
        refuse_if_stopped(root)?;
    }
    let read = sources::read_all(root)?;
    let mut report = RecoveryReport {
        field,
        dry_run: options.dry_run,
        backup: None,
        filled: Vec::new(),
        conflicts: Vec::new(),
        unresolved: Vec::new(),
        skipped: Vec::new(),
        sources_read: read.read.clone(),
        notes: read.notes.clone(),
    };
    for target in read.records.iter().filter(|s| lacks(field, s)) {
        report.judge(field, target, &read.records);
    }
    if !options.dry_run && !report.filled.is_empty() {
        let label = format!("before recover {}", field.name());
        report.backup = Some(backup_first(root, &label)?);
        write(root, field, &mut report)?;
    }
    Ok(report)
}

/// A production record of a live store without the value.
fn lacks(field: Field, s: &Sourced) -> bool {
    s.source.kind == SourceKind::Store
        && s.record.chain_id != DEV_CHAIN_ID
        && field.value(&s.record).is_none()
}

impl RecoveryReport {
    /// Decides one target: filled, conflict, unresolved or skipped.
    fn judge(&mut self, field: Field, target: &Sourced, all: &[Sourced]) {
        let place = target_of(field, target);
        if !target.writable {
            let reason = format!(
                "{} claims chainId {}, which the chain map does not give this file name: fix the file \
                 (validateState reports it) before filling it",
                place.path, target.record.chain_id
            );
            return self.skipped.push(Unfilled {
                target: place,
                reason,
            });
        }
        let (mut candidates, elsewhere) = candidates(field, target, all);
        match candidates.len() {
            0 => self.unresolved.push(Unfilled {
                reason: unresolved_reason(field, &target.record, elsewhere),
                target: place,
            }),
            1 => self.filled.push(Filled {
                target: place,
                candidate: candidates.remove(0),
                written: false,
                original: target.record.clone(),
            }),
            _ => self.conflicts.push(Conflict {
                target: place,
                candidates,
            }),
        }
    }
}

/// Where a value of `target` would be written.
fn target_of(field: Field, target: &Sourced) -> Target {
    let record = &target.record;
    let location = match target.source.format {
        "leveldb" => target.source.location.clone(),
        _ => pointer(&[&format!("extended_{}", record.contract_name), field.name()]),
    };
    Target {
        store: target.source.format,
        chain_id: record.chain_id,
        contract: record.contract_name.clone(),
        path: target.source.path.clone(),
        location,
    }
}

/// The distinct values the other records of the same deployment hold, each with its sources in
/// priority order; and how many records of the contract describe another deployment.
fn candidates(field: Field, target: &Sourced, all: &[Sourced]) -> (Vec<Candidate>, usize) {
    let name = canonical_name(&target.record.contract_name);
    let wanted = deployment(field, &target.record);
    let mut out: Vec<Candidate> = Vec::new();
    let mut elsewhere = 0;
    let same_contract = all.iter().filter(|s| {
        !std::ptr::eq(*s, target)
            && s.record.chain_id == target.record.chain_id
            && canonical_name(&s.record.contract_name) == name
    });
    for s in same_contract {
        let (Some(value), Some(source)) = (field.usable(&s.record), s.at(field)) else {
            continue;
        };
        if deployment(field, &s.record) != wanted {
            elsewhere += 1;
            continue;
        }
        match out.iter_mut().find(|c| same_value(&c.value, &value)) {
            Some(c) => c.sources.push(source),
            None => out.push(Candidate {
                value,
                sources: vec![source],
            }),
        }
    }
    (out, elsewhere)
}

/// What a value belongs to: the implementation (hashes) or the proxy (arguments), lower case.
fn deployment(field: Field, record: &ContractRecord) -> String {
    let address = match field {
        Field::DeploymentArgs => record.proxy_address.as_deref().unwrap_or(&record.address),
        _ => &record.address,
    };
    address.to_ascii_lowercase()
}

/// Equal but for the case of hex strings (`0xAbC…` and `0xabc…` are one address).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            x == y || (x.starts_with("0x") && x.eq_ignore_ascii_case(y))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        _ => a == b,
    }
}

fn unresolved_reason(field: Field, record: &ContractRecord, elsewhere: usize) -> String {
    let mut reason = format!(
        "no local source holds {} for this deployment of {} on chain {}",
        field.name(),
        record.contract_name,
        record.chain_id
    );
    if elsewhere > 0 {
        reason.push_str(&format!(
            " ({elsewhere} record(s) of it at another {} were not used: they describe another deployment)",
            if field == Field::DeploymentArgs { "proxy" } else { "implementation address" }
        ));
    }
    reason.push_str(
        "; recover it from the chain (its explorer or an RPC node), which this tool does not do",
    );
    reason
}

/// Writes the filled values, per store and chain, each only while its record is still exactly
/// what was planned on (else it moves to `skipped`): LevelDB through its backend's synced
/// batch, unified files through their backend's locked compare-and-swap write.
fn write(root: &Path, field: Field, report: &mut RecoveryReport) -> Result<()> {
    let (leveldb, unified): (Vec<Filled>, Vec<Filled>) = std::mem::take(&mut report.filled)
        .into_iter()
        .partition(|f| f.target.store == "leveldb");
    if !leveldb.is_empty() {
        let db = LevelDbBackend::open(&root.join(LEVELDB_DIR), OpenMode::MustExist)?;
        write_store(&db, field, leveldb, report)?;
        db.close()?;
    }
    if !unified.is_empty() {
        let dir = root.join(UNIFIED_DIR);
        let backend = UnifiedBackend::open(&dir, ChainMap::default(), LOCK_TIMEOUT)?;
        write_store(&backend, field, unified, report)?;
    }
    Ok(())
}

fn write_store(
    backend: &dyn Backend,
    field: Field,
    items: Vec<Filled>,
    report: &mut RecoveryReport,
) -> Result<()> {
    let mut by_chain: BTreeMap<u64, Vec<Filled>> = BTreeMap::new();
    for item in items {
        by_chain.entry(item.target.chain_id).or_default().push(item);
    }
    for (chain_id, items) in by_chain {
        let mut records = Vec::new();
        let mut done = Vec::new();
        for mut item in items {
            let current = backend.get(chain_id, &item.target.contract)?;
            if current.as_ref() != Some(&item.original) {
                report.skipped.push(Unfilled {
                    target: item.target,
                    reason: "the record changed since it was read; nothing written: run the recovery again".into(),
                });
                continue;
            }
            records.push(filled_record(field, &item));
            item.written = true;
            done.push(item);
        }
        if !records.is_empty() {
            backend.put_batch(chain_id, &records)?;
        }
        report.filled.extend(done);
    }
    Ok(())
}

/// The planned record with the value set. An empty factory hash next to a recovered
/// implementation hash gets the same value: the deploy scripts always store both from one hash.
fn filled_record(field: Field, item: &Filled) -> ContractRecord {
    let mut record = item.original.clone();
    let value = &item.candidate.value;
    match field {
        Field::ImplementationHash => {
            let hash = value.as_str().unwrap_or_default().to_string();
            if record.factory_byte_code_hash.is_empty() {
                record.factory_byte_code_hash = hash.clone();
            }
            record.implementation_hash = Some(hash);
        }
        Field::DeploymentArgs => record.deployment_args = value.as_array().cloned(),
        Field::Timestamp => {}
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_strings_compare_without_case_other_values_exactly() {
        assert!(same_value(&json!(["0xAbC", "12"]), &json!(["0xabc", "12"])));
        assert!(!same_value(&json!(["Vault"]), &json!(["vault"])));
        assert!(!same_value(&json!(["0xabc"]), &json!(["0xabc", 1])));
        assert!(!same_value(&json!(1), &json!("1")));
    }

    #[test]
    fn options_take_only_a_boolean_dry_run() {
        assert_eq!(
            RecoverOptions::from_json(&json!({"dryRun": true})).unwrap(),
            RecoverOptions { dry_run: true }
        );
        assert!(!RecoverOptions::from_json(&Value::Null).unwrap().dry_run);
        for bad in [json!({"dryrun": true}), json!({"dryRun": 1}), json!([])] {
            let err = RecoverOptions::from_json(&bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::ValidationFailed, "{bad}");
        }
    }
}
