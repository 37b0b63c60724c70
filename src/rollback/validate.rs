//! `validateRollback`: the runbook's post-rollback checks, as ✅/❌ lines and data. Writes
//! nothing: the live LevelDB is read through a scratch copy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

use super::incident::{interrupted, newest};
use crate::backend::leveldb::visit_copy;
use crate::backend::{BackendKind, RawEntry, Visitor};
use crate::backup::{list_backups, BackupManifest, RecordCounts, MANIFEST_FILE};
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::record::{canonical_name, WriteCheck};
use crate::selection::select_backend;
pub use crate::validate::Expectation;
use crate::Result;

/// The name of the check that the store selects LevelDB.
pub(super) const BACKEND_CHECK: &str = "Backend selection is LevelDB";
/// The name of the check that reads every LevelDB record (its detail gives the time taken).
pub(super) const READ_CHECK: &str = "LevelDB accessible and responsive";

/// One check: a name, a verdict and what was seen.
#[derive(Debug, Clone)]
pub struct Check {
    /// The runbook's wording.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// The result of [`validate_rollback`].
#[derive(Debug, Clone)]
pub struct RollbackValidation {
    /// Every check passed.
    pub ok: bool,
    /// The checks, in the runbook's order.
    pub checks: Vec<Check>,
    /// Records found in `leveldb/`.
    pub counts: Option<RecordCounts>,
    /// An interrupted rollback that must be resumed first.
    pub interrupted: Option<String>,
}

impl RollbackValidation {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.ok,
            "checks": self.checks.iter().map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail})).collect::<Vec<_>>(),
            "counts": self.counts.as_ref().map(RecordCounts::to_json),
            "interrupted": self.interrupted,
        })
    }
}

/// Checks that the project at `root` runs on a sound LevelDB after a rollback.
pub fn validate_rollback(
    root: &Path,
    expect: Expectation,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RollbackValidation> {
    let interrupted = interrupted(root)?.into_iter().next().map(|i| i.id);
    let mut checks = vec![check(
        "No interrupted rollback",
        interrupted.is_none(),
        match &interrupted {
            Some(id) => format!("{id} was interrupted: run `lookcoin-state rollback --resume`"),
            None => "no unfinished journal in logs/incidents".into(),
        },
    )];
    let leveldb = root.join("leveldb");
    let (state, counts) =
        state_checks(root, expect, env, &mut |visit| visit_copy(&leveldb, visit))?;
    checks.extend(state);
    Ok(RollbackValidation {
        ok: checks.iter().all(|c| c.ok),
        checks,
        counts,
        interrupted,
    })
}

/// Hands every entry of the live LevelDB to a visitor: through a scratch copy when nothing
/// may be written, through the store during the rollback.
pub(super) type EntrySource<'a> = &'a mut dyn FnMut(&mut Visitor<'_>) -> Result<()>;

/// The checks of the state itself (selection, LevelDB, counts, records) over the entries `read` hands out, with the counts found when they read.
pub(super) fn state_checks(
    root: &Path,
    expect: Expectation,
    env: &dyn Fn(&str) -> Option<String>,
    read: EntrySource,
) -> Result<(Vec<Check>, Option<RecordCounts>)> {
    let selection = select_backend(None, root, env)?;
    let mut checks = vec![check(
        BACKEND_CHECK,
        selection.kind == BackendKind::LevelDb,
        format!("{} ({})", selection.kind.as_str(), selection.reason),
    )];
    let started = Instant::now();
    let mut tally = RecordTally::default();
    let visited = read(&mut |entry| tally.add(entry));
    let read_ms = started.elapsed().as_millis();
    if let Err(e) = visited {
        checks.push(check(READ_CHECK, false, e.message));
        return Ok((checks, None));
    }
    let counts = tally.counts.clone();
    checks.push(check(
        READ_CHECK,
        true,
        format!("{} records read in {read_ms} ms", counts.total),
    ));
    checks.push(count_check(root, expect, &counts));
    checks.extend(tally.checks());
    Ok((checks, Some(counts)))
}

fn check(name: &str, ok: bool, detail: String) -> Check {
    Check {
        name: name.to_string(),
        ok,
        detail,
    }
}

/// "All 26 contracts detected": production records and chains against the expectation.
fn count_check(root: &Path, expect: Expectation, counts: &RecordCounts) -> Check {
    let chains = counts
        .per_chain
        .keys()
        .filter(|c| **c != DEV_CHAIN_ID)
        .count() as u64;
    let reference = expected_from_backup(root);
    let want_contracts = expect
        .contracts
        .or(reference.as_ref().map(|r| r.production));
    let want_chains = expect.chains.or_else(|| {
        reference
            .as_ref()
            .map(|r| r.per_chain.keys().filter(|c| **c != DEV_CHAIN_ID).count() as u64)
    });
    let ok = want_contracts.is_none_or(|n| n == counts.production)
        && want_chains.is_none_or(|n| n == chains);
    let found = format!(
        "{} contracts on {chains} chains (+{} dev records on chain {DEV_CHAIN_ID})",
        counts.production, counts.dev
    );
    let detail = match (want_contracts, want_chains) {
        (None, None) => format!("{found}; nothing to compare with (pass --expect)"),
        (c, n) => format!(
            "{found}; expected {} contracts on {} chains",
            c.map_or("any".into(), |c| c.to_string()),
            n.map_or("any".into(), |n| n.to_string())
        ),
    };
    let name = format!(
        "All {} contracts detected",
        want_contracts.unwrap_or(counts.production)
    );
    check(&name, ok, detail)
}

/// The record counts of the backup the newest incident restored, else of the newest complete backup that has them.
fn expected_from_backup(root: &Path) -> Option<RecordCounts> {
    let from_incident = newest_incident_backup(root).and_then(|dir| manifest_records(&dir));
    from_incident.or_else(|| {
        list_backups(root)
            .ok()?
            .into_iter()
            .filter(|b| !b.id.starts_with("emergency-rollback-"))
            .find_map(|b| b.manifest.and_then(|m| m.records))
    })
}

fn newest_incident_backup(root: &Path) -> Option<std::path::PathBuf> {
    let incident = newest(root).ok()??;
    let entries = incident.entries().ok()?;
    let start = super::incident::find(&entries, "start", "done")?;
    start["backup"].as_str().map(Into::into)
}

/// Record counts from a backup's manifest, or by reading its LevelDB copy (old manifests have none).
fn manifest_records(dir: &Path) -> Option<RecordCounts> {
    let manifest = std::fs::read_to_string(dir.join(MANIFEST_FILE)).ok();
    manifest
        .and_then(|text| BackupManifest::parse(&text).ok())
        .and_then(|m| m.records)
        .or_else(|| RecordCounts::of_leveldb_copy(&dir.join("leveldb/current")).ok())
}

/// What the record checks gather while the entries stream by: only counts, names and the first few problems are kept.
#[derive(Default)]
struct RecordTally {
    counts: RecordCounts,
    malformed: Problems,
    undecodable: Problems,
    seen: BTreeMap<(u64, String), usize>,
    by_tier: BTreeMap<&'static str, BTreeSet<u64>>,
    /// Built once: a chain map per record was a measurable part of reading 30k records.
    chains: ChainMap,
}

impl RecordTally {
    fn add(&mut self, entry: RawEntry) {
        self.counts.add(&entry);
        let record = match &entry.record {
            Err(e) => {
                return self
                    .undecodable
                    .push(format!("{}: {}", entry.location, e.message))
            }
            Ok(r) => r,
        };
        if entry.expected_chain != Some(record.chain_id) {
            let why = format!(
                "{}: key chain differs from chainId {}",
                entry.location, record.chain_id
            );
            return self.undecodable.push(why);
        }
        if record.chain_id == DEV_CHAIN_ID {
            return;
        }
        if let Err(e) = record.check_for_write(WriteCheck::Strict) {
            self.malformed
                .push(format!("{}: {}", entry.location, e.message));
        }
        let name = canonical_name(&record.contract_name).to_string();
        *self.seen.entry((record.chain_id, name)).or_default() += 1;
        let tier = self.chains.tier(record.chain_id).as_str();
        self.by_tier
            .entry(tier)
            .or_default()
            .insert(record.chain_id);
    }

    /// The checks on the records themselves.
    fn checks(self) -> Vec<Check> {
        vec![
            check(
                "Every production record well-formed",
                self.malformed.count == 0,
                self.malformed
                    .summary("addresses, hashes and chain ids valid; dev rows reported apart"),
            ),
            check(
                "State manager operational",
                self.undecodable.count == 0,
                self.undecodable
                    .summary("every key decodes to a record of its own chain"),
            ),
            self.cross_network(),
        ]
    }

    /// No chain lists one contract twice (qualified and plain name); the chains of each tier named.
    fn cross_network(&self) -> Check {
        let twice: Vec<String> = self
            .seen
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|((chain, name), n)| format!("{name} {n}× on chain {chain}"))
            .collect();
        let tiers: Vec<String> = self
            .by_tier
            .iter()
            .map(|(tier, ids)| {
                let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
                format!("{tier}: {}", ids.join(", "))
            })
            .collect();
        check(
            "Cross-network consistency maintained",
            twice.is_empty(),
            if twice.is_empty() {
                format!("one record per contract and chain; {}", tiers.join("; "))
            } else {
                format!("duplicates: {}", twice.join(", "))
            },
        )
    }
}

/// How many problems of one kind, and the first three, to show.
#[derive(Default)]
struct Problems {
    count: usize,
    first: Vec<String>,
}

impl Problems {
    fn push(&mut self, problem: String) {
        self.count += 1;
        if self.first.len() < 3 {
            self.first.push(problem);
        }
    }

    fn summary(&self, fine: &str) -> String {
        if self.count == 0 {
            return fine.to_string();
        }
        format!("{} problem(s): {}", self.count, self.first.join("; "))
    }
}
