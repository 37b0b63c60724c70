//! `validateTimestamps`: the deploy times of the live stores, read only.
//!
//! - No timestamp in the future: later than now plus [`CLOCK_SKEW_MS`] (deploy machines'
//!   clocks differ a little) is an error.
//! - None before the chain's first recorded deploy. That is the earliest timestamp recorded for
//!   the chain in any local source — the live stores and every backup's LevelDB and unified
//!   files; legacy v1 files only keep a file-wide "last deployed" time, so they do not count —
//!   among those not before [`EVM_EPOCH_MS`] (Ethereum's launch: no EVM contract is older).
//!   Contracts are deployed over time, so only an impossible time can be earlier than it: 0
//!   (the time was lost) or a time written in seconds instead of milliseconds. The finding names
//!   the chain's first recorded deploy and where it is, as a lower bound for the right value.
//! - LevelDB and unified agree per (chainId, canonical name), paired as `compareBackends` pairs
//!   them: a difference with the same implementation address is a warning (one deploy, two
//!   times: FORMATS §9.10's save time replacing the deploy time); with another address it is
//!   information (an upgrade recorded in one store only).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::sources::{self, Field, Source, SourceKind, Sourced, LEVELDB_DIR};
use crate::chains::ChainMap;
use crate::compare::{compare_backends, PairComparison};
use crate::migrate::to_unified::UNIFIED_DIR;
use crate::time::{iso_from_ms, now_ms};
use crate::validate::{findings_json, Finding, Severity};
use crate::Result;

/// How far in the future a timestamp may be before it is reported (ms).
pub const CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
/// 2015-07-30T15:26:13Z, Ethereum's genesis: no EVM deploy can be older.
pub const EVM_EPOCH_MS: u64 = 1_438_269_973_000;

/// The earliest plausible deploy recorded for a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstDeploy {
    /// Epoch ms.
    pub timestamp: u64,
    /// Where it is recorded.
    pub source: Source,
}

/// The result of [`validate_timestamps`].
#[derive(Debug, Clone)]
pub struct TimestampReport {
    /// No error findings.
    pub is_valid: bool,
    /// Errors first.
    pub findings: Vec<Finding>,
    /// Per chain id.
    pub first_deploys: BTreeMap<u64, FirstDeploy>,
    /// Live records checked, per store (`leveldb`, `unified-json`).
    pub checked: BTreeMap<&'static str, usize>,
}

impl TimestampReport {
    /// `{isValid, errors, warnings, info, firstDeploy: {"97": {timestamp, iso, network, source}}, checked}`.
    pub fn to_json(&self) -> Value {
        let chains = ChainMap::default();
        let firsts: Map<String, Value> = self
            .first_deploys
            .iter()
            .map(|(id, f)| {
                let value = json!({"timestamp": f.timestamp, "iso": iso_from_ms(f.timestamp),
                                   "network": chains.network_name(*id), "source": f.source.to_json()});
                (id.to_string(), value)
            })
            .collect();
        let mut out = findings_json(&self.findings);
        out["isValid"] = self.is_valid.into();
        out["firstDeploy"] = Value::Object(firsts);
        out["checked"] = json!(self.checked);
        out
    }
}

/// Checks the timestamps of the live stores of the project at `root`. Writes nothing.
pub fn validate_timestamps(root: &Path) -> Result<TimestampReport> {
    let read = sources::read_all(root)?;
    let first_deploys = first_deploys(&read.records);
    let now = now_ms();
    let mut findings = Vec::new();
    let mut checked = BTreeMap::new();
    for live in read
        .records
        .iter()
        .filter(|s| s.source.kind == SourceKind::Store)
    {
        *checked.entry(live.source.format).or_insert(0) += 1;
        check_record(
            live,
            first_deploys.get(&live.record.chain_id),
            now,
            &mut findings,
        );
    }
    agreement(root, &mut findings)?;
    findings.extend(read.notes.iter().map(|note| {
        Finding::new(
            "SOURCE_UNREADABLE",
            Severity::Info,
            "sources",
            format!("{note}; its timestamps were not used as a chain's first deploy"),
        )
    }));
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.location.cmp(&b.location))
    });
    Ok(TimestampReport {
        is_valid: !findings.iter().any(|f| f.severity == Severity::Error),
        findings,
        first_deploys,
        checked,
    })
}

/// The earliest plausible timestamp per chain, over every source that records deploy times.
fn first_deploys(records: &[Sourced]) -> BTreeMap<u64, FirstDeploy> {
    let mut out: BTreeMap<u64, FirstDeploy> = BTreeMap::new();
    for s in records
        .iter()
        .filter(|s| s.record.timestamp >= EVM_EPOCH_MS)
    {
        let Some(source) = s.at(Field::Timestamp) else {
            continue;
        };
        let timestamp = s.record.timestamp;
        let earlier = out
            .get(&s.record.chain_id)
            .is_none_or(|f| timestamp < f.timestamp);
        if earlier {
            out.insert(s.record.chain_id, FirstDeploy { timestamp, source });
        }
    }
    out
}

fn check_record(s: &Sourced, first: Option<&FirstDeploy>, now: u64, findings: &mut Vec<Finding>) {
    let r = &s.record;
    let location = s
        .at(Field::Timestamp)
        .unwrap_or_else(|| s.source.clone())
        .finding_location();
    let shown = format!(
        "{} (chain {}) has timestamp {} ({})",
        r.contract_name,
        r.chain_id,
        r.timestamp,
        iso_from_ms(r.timestamp)
    );
    if r.timestamp > now + CLOCK_SKEW_MS {
        findings.push(Finding::new("TIMESTAMP_IN_FUTURE", Severity::Error, &location, format!(
            "{shown}, after now ({}); a deploy time cannot be in the future: check the writing machine's clock, \
             then set the deploy time from the chain (the deploy transaction's block time)",
            iso_from_ms(now)
        )));
    }
    let floor = first.map_or(EVM_EPOCH_MS, |f| f.timestamp);
    if r.timestamp < floor {
        let reference = match first {
            Some(f) => format!(
                "the first deploy recorded on chain {} ({}, {})",
                r.chain_id,
                iso_from_ms(f.timestamp),
                f.source.describe()
            ),
            None => format!(
                "any deploy: no source records a plausible time for chain {}",
                r.chain_id
            ),
        };
        findings.push(Finding::new("TIMESTAMP_BEFORE_FIRST_DEPLOY", Severity::Error, &location, format!(
            "{shown}, before {reference}; 0 means the time was lost, a 10-digit value is seconds instead of \
             milliseconds: take the time from the other store or a backup, or from the deploy transaction"
        )));
    }
}

/// LevelDB against unified per (chainId, canonical name), when the project has both live stores.
fn agreement(root: &Path, findings: &mut Vec<Finding>) -> Result<()> {
    let missing = [LEVELDB_DIR, UNIFIED_DIR]
        .into_iter()
        .filter(|dir| !root.join(dir).is_dir())
        .collect::<Vec<_>>();
    if !missing.is_empty() {
        findings.push(Finding::new(
            "TIMESTAMPS_NOT_COMPARED",
            Severity::Info,
            "stores",
            format!(
                "no live {} in {}: LevelDB and unified timestamps were not compared",
                missing.join(" or "),
                root.display()
            ),
        ));
        return Ok(());
    }
    let comparison = compare_backends(root, None)?;
    for contract in &comparison.contracts {
        for pair in contract.pairs.iter().filter(|p| p.timestamp.is_some()) {
            findings.push(mismatch(contract.chain_id, pair));
        }
    }
    Ok(())
}

fn mismatch(chain_id: u64, pair: &PairComparison) -> Finding {
    let Some(t) = pair.timestamp else {
        unreachable!("only pairs whose timestamps differ are passed")
    };
    let upgraded = pair.differences.iter().any(|d| d.field == "address");
    let both = format!(
        "LevelDB {} has {} ({}), {}#{} has {} ({})",
        pair.leveldb.location,
        t.leveldb,
        iso_from_ms(t.leveldb),
        pair.unified.file,
        pair.unified.location,
        t.unified,
        iso_from_ms(t.unified)
    );
    let (severity, why) = if upgraded {
        (Severity::Info, format!(
            "the implementation addresses differ too: an upgrade on chain {chain_id} recorded in one store only; \
             bring the stores together with a migration once you know which is current"
        ))
    } else {
        (Severity::Warning, "same implementation, two deploy times: the later one is usually a save time that \
             replaced the deploy time; keep the earlier one (a migration with overwrite, or fix the file)".to_string())
    };
    Finding::new(
        "TIMESTAMP_MISMATCH",
        severity,
        &pair.leveldb.location,
        format!("{both}; {why}"),
    )
}
