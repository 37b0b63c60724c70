//! `validateState`: record rules, unified-file rules, cross-network consistency and counts
//! against an expectation, each finding with a stable code, where it is, and what to do.
//!
//! Reads only: LevelDB through a scratch copy, unified files as they are (even those the
//! store refuses, since saying what is wrong with them is the point).

mod records;
mod unified;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::{json, Value};

pub use records::judge_entry;

use crate::backend::leveldb::read_copy;
use crate::backend::unified::is_live_file_name;
use crate::backend::{BackendKind, RawEntry};
use crate::backup::list_backups;
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::record::{canonical_name, ContractRecord};
use crate::selection::select_backend;
use crate::unified::UnifiedFile;
use crate::{Error, ErrorCode, Result};
use unified::LiveFile;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; not a defect (dev rows, hashes that differ across chains).
    Info,
    /// A defect that does not make data wrong today (stale checksum, EID in a remote).
    Warning,
    /// Data is wrong or unusable.
    Error,
}

impl Severity {
    /// `info`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code, e.g. `DUPLICATE_CHAIN_CLAIM`.
    pub code: &'static str,
    /// How bad.
    pub severity: Severity,
    /// A LevelDB key, a file name, or `file#/json/pointer`.
    pub location: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl Finding {
    /// A finding at `location`.
    pub fn new(code: &'static str, severity: Severity, location: &str, message: String) -> Self {
        Finding {
            code,
            severity,
            location: location.to_string(),
            message,
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!({"code": self.code, "severity": self.severity.as_str(), "location": self.location, "message": self.message})
    }
}

/// How much to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Enough for a yes/no: parse, claims, records. No checksums, no cross-network.
    Quick,
    /// Everything.
    Full,
}

/// What the operator expects to find; unset fields are not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectation {
    /// Production contracts (dev chains apart), e.g. 26.
    pub contracts: Option<u64>,
    /// Production chains, e.g. 5.
    pub chains: Option<u64>,
    /// Production contracts per chain.
    pub per_chain: BTreeMap<u64, u64>,
}

impl Expectation {
    /// `null` or `{contracts?, chains?, perChain?: {"56": 8}}` with whole numbers; anything else is `VALIDATION_FAILED`.
    pub fn from_json(value: &Value) -> Result<Self> {
        let bad = |why: String| Error::new(ErrorCode::ValidationFailed, why);
        let map = match value {
            Value::Null => return Ok(Expectation::default()),
            Value::Object(map) => map,
            other => {
                return Err(bad(format!(
                    "expect must be {{contracts?, chains?, perChain?}}, got {other}"
                )))
            }
        };
        if let Some(key) = map
            .keys()
            .find(|k| !["contracts", "chains", "perChain"].contains(&k.as_str()))
        {
            return Err(bad(format!(
                "unknown expect field {key:?} (known: contracts, chains, perChain)"
            )));
        }
        let count = |v: &Value, what: &str| {
            v.as_u64()
                .ok_or_else(|| bad(format!("{what} must be a whole number, got {v}")))
        };
        let optional = |key: &str| {
            map.get(key)
                .filter(|v| !v.is_null())
                .map(|v| count(v, &format!("expect.{key}")))
                .transpose()
        };
        let mut per_chain = BTreeMap::new();
        for (chain, n) in map
            .get("perChain")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let id = chain
                .parse()
                .map_err(|_| bad(format!("expect.perChain key {chain:?} is not a chain id")))?;
            per_chain.insert(id, count(n, &format!("expect.perChain.{chain}"))?);
        }
        Ok(Expectation {
            contracts: optional("contracts")?,
            chains: optional("chains")?,
            per_chain,
        })
    }

    fn is_empty(&self) -> bool {
        self.contracts.is_none() && self.chains.is_none() && self.per_chain.is_empty()
    }
}

/// Contracts found: production per chain (distinct by canonical name) and dev rows apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Distinct production contracts.
    pub production: u64,
    /// Dev-chain records.
    pub dev: u64,
    /// Production contracts per chain.
    pub per_chain: BTreeMap<u64, u64>,
}

impl StateCounts {
    /// As JSON, with network names.
    pub fn to_json(&self, chains: &ChainMap) -> Value {
        let per_chain: serde_json::Map<String, Value> = self
            .per_chain
            .iter()
            .map(|(c, n)| (c.to_string(), json!(n)))
            .collect();
        let networks: serde_json::Map<String, Value> = self
            .per_chain
            .iter()
            .map(|(c, n)| (chains.network_name(*c), json!(n)))
            .collect();
        json!({"production": self.production, "dev": self.dev, "chains": self.per_chain.len(),
               "perChain": per_chain, "perNetwork": networks})
    }
}

/// The result of [`validate_state`].
#[derive(Debug, Clone)]
pub struct ValidationReport {
    /// The backend validated.
    pub backend: BackendKind,
    /// No errors (warnings and info allowed).
    pub is_valid: bool,
    /// Every finding, errors first.
    pub findings: Vec<Finding>,
    /// What was counted.
    pub counts: StateCounts,
    /// Where the expected counts came from, if anywhere.
    pub expectation_source: Option<String>,
}

impl ValidationReport {
    /// `{isValid, backend, errors, warnings, info, counts, expectation}`.
    pub fn to_json(&self) -> Value {
        let by_severity = findings_json(&self.findings);
        json!({
            "isValid": self.is_valid,
            "backend": self.backend.as_str(),
            "errors": by_severity["errors"],
            "warnings": by_severity["warnings"],
            "info": by_severity["info"],
            "counts": self.counts.to_json(&ChainMap::default()),
            "expectation": self.expectation_source,
        })
    }
}

/// `{errors, warnings, info}`: the findings as JSON, split by severity, order kept.
pub fn findings_json(findings: &[Finding]) -> Value {
    let of = |s: Severity| {
        findings
            .iter()
            .filter(|f| f.severity == s)
            .map(Finding::to_json)
            .collect::<Vec<_>>()
    };
    json!({"errors": of(Severity::Error), "warnings": of(Severity::Warning), "info": of(Severity::Info)})
}

/// What to validate.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// Project root.
    pub root: std::path::PathBuf,
    /// `None`: the backend the store would select.
    pub backend: Option<BackendKind>,
    /// Quick or full.
    pub level: Level,
    /// Expected counts; when empty, the newest backup whose manifest records them.
    pub expect: Expectation,
}

impl ValidateOptions {
    /// Options given as JSON by a binding: `null` or `{backend?, level?: "quick"|"full", expect?}`; anything else is `VALIDATION_FAILED`.
    pub fn from_json(root: std::path::PathBuf, value: &Value) -> Result<Self> {
        let bad = |why: String| Error::new(ErrorCode::ValidationFailed, why);
        let empty = serde_json::Map::new();
        let map = match value {
            Value::Null => &empty,
            Value::Object(map) => map,
            other => return Err(bad(format!("options must be an object, got {other}"))),
        };
        if let Some(key) = map
            .keys()
            .find(|k| !["backend", "level", "expect"].contains(&k.as_str()))
        {
            return Err(bad(format!(
                "unknown validateState option {key:?} (known: backend, level, expect)"
            )));
        }
        let backend = match map.get("backend") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(BackendKind::parse(name)?),
            Some(other) => return Err(bad(format!("backend must be a string, got {other}"))),
        };
        let level = match map
            .get("level")
            .and_then(|l| if l.is_null() { None } else { Some(l) })
        {
            None => Level::Full,
            Some(l) if l == "full" => Level::Full,
            Some(l) if l == "quick" => Level::Quick,
            Some(other) => {
                return Err(bad(format!(
                    "level must be \"quick\" or \"full\", got {other}"
                )))
            }
        };
        let expect = Expectation::from_json(map.get("expect").unwrap_or(&Value::Null))?;
        Ok(ValidateOptions {
            root,
            backend,
            level,
            expect,
        })
    }
}

/// Validates the state of a project. Errors only when nothing can be read at all.
pub fn validate_state(
    options: &ValidateOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ValidationReport> {
    let root = &options.root;
    let backend = match options.backend {
        Some(kind) => kind,
        None => select_backend(None, root, env)?.kind,
    };
    let chains = ChainMap::default();
    let mut findings = Vec::new();
    let records = match backend {
        BackendKind::LevelDb => leveldb_records(root, &mut findings)?,
        BackendKind::UnifiedJson => unified_records(root, &chains, options.level, &mut findings)?,
        BackendKind::Json => {
            return Err(Error::new(ErrorCode::ValidationFailed, "validateState reads leveldb or unified-json; the legacy json backend has no rules of its own"));
        }
    };
    let counts = count(&records);
    if options.level == Level::Full {
        cross_network(&records, &chains, &mut findings);
    }
    let (expect, expectation_source) = expectation(root, &options.expect);
    if let Some(expect) = &expect {
        compare_counts(&counts, expect, &chains, &mut findings);
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.location.cmp(&b.location))
    });
    Ok(ValidationReport {
        backend,
        is_valid: !findings.iter().any(|f| f.severity == Severity::Error),
        findings,
        counts,
        expectation_source,
    })
}

fn leveldb_records(
    root: &Path,
    findings: &mut Vec<Finding>,
) -> Result<Vec<(String, ContractRecord)>> {
    let entries = read_copy(&root.join("leveldb"))?;
    Ok(judged(entries, findings))
}

/// Judges each entry and keeps the readable records with where they came from.
fn judged(entries: Vec<RawEntry>, findings: &mut Vec<Finding>) -> Vec<(String, ContractRecord)> {
    let mut out = Vec::new();
    for entry in entries {
        judge_entry(&entry, findings);
        if let Ok(record) = entry.record {
            out.push((entry.location, record));
        }
    }
    out
}

fn unified_records(
    root: &Path,
    chains: &ChainMap,
    level: Level,
    findings: &mut Vec<Finding>,
) -> Result<Vec<(String, ContractRecord)>> {
    let dir = root.join("deployments/unified");
    let listing = fs::read_dir(&dir).map_err(|e| Error::read_io(&dir, &e))?;
    let mut names: Vec<String> = listing
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_live_file_name(n))
        .collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let parsed = crate::durable::read_regular_to_string(&path)
            .map_err(|e| Error::read_io(&path, &e))
            .and_then(|t| UnifiedFile::parse(&path, &t));
        match parsed {
            Ok(file) => files.push(LiveFile { name, file }),
            Err(e) => findings.push(Finding::new(
                "UNREADABLE",
                Severity::Error,
                &name,
                format!(
                    "{}; restore it from a backup or regenerate it from LevelDB",
                    e.message
                ),
            )),
        }
    }
    unified::duplicate_claims(&files, findings);
    let mut records = Vec::new();
    for live in &files {
        unified::judge_file(live, chains, level == Level::Full, findings);
        let entries = live
            .file
            .entries()
            .into_iter()
            .map(|(pointer, record)| RawEntry {
                location: format!("{}#{pointer}", live.name),
                expected_chain: Some(live.file.chain_id()),
                record: Ok(record),
            });
        records.extend(judged(entries.collect(), findings));
    }
    Ok(records)
}

/// Distinct production contracts per chain (by canonical name); dev rows apart.
fn count(records: &[(String, ContractRecord)]) -> StateCounts {
    let mut seen: BTreeSet<(u64, &str)> = BTreeSet::new();
    let mut counts = StateCounts::default();
    for (_, r) in records {
        if r.chain_id == DEV_CHAIN_ID {
            counts.dev += 1;
        } else if seen.insert((r.chain_id, canonical_name(&r.contract_name))) {
            counts.production += 1;
            *counts.per_chain.entry(r.chain_id).or_default() += 1;
        }
    }
    counts
}

/// The same contract on chains of one tier with different implementation hashes (info: upgrades roll out chain by chain).
fn cross_network(
    records: &[(String, ContractRecord)],
    chains: &ChainMap,
    findings: &mut Vec<Finding>,
) {
    let mut hashes: BTreeMap<(&str, &str), BTreeMap<&str, BTreeSet<u64>>> = BTreeMap::new();
    for (_, r) in records.iter().filter(|(_, r)| r.chain_id != DEV_CHAIN_ID) {
        let hash = r
            .implementation_hash
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or(&r.factory_byte_code_hash);
        if hash.is_empty() {
            continue;
        }
        let key = (
            chains.tier(r.chain_id).as_str(),
            canonical_name(&r.contract_name),
        );
        hashes
            .entry(key)
            .or_default()
            .entry(hash)
            .or_default()
            .insert(r.chain_id);
    }
    for ((tier, name), by_hash) in hashes.iter().filter(|(_, h)| h.len() > 1) {
        let detail: Vec<String> = by_hash
            .iter()
            .map(|(hash, ids)| {
                format!(
                    "{} on {}",
                    &hash[..hash.len().min(10)],
                    ids.iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        findings.push(Finding::new("HASH_DIFFERS_ACROSS_CHAINS", Severity::Info, name, format!(
            "{name} has {} implementation hashes on {tier} chains: {}; expected while an upgrade rolls out, otherwise check the deploys",
            by_hash.len(), detail.join("; ")
        )));
    }
}

/// The expectation given, else the record counts of the newest backup whose manifest has them.
fn expectation(root: &Path, given: &Expectation) -> (Option<Expectation>, Option<String>) {
    if !given.is_empty() {
        return (Some(given.clone()), Some("given".into()));
    }
    let newest = list_backups(root).ok().into_iter().flatten().find_map(|b| {
        let records = b.manifest?.records?;
        let per_chain: BTreeMap<u64, u64> = records
            .per_chain
            .into_iter()
            .filter(|(c, _)| *c != DEV_CHAIN_ID)
            .collect();
        Some((per_chain, b.id))
    });
    match newest {
        Some((per_chain, id)) => (
            Some(Expectation {
                per_chain,
                ..Default::default()
            }),
            Some(format!("manifest of backup {id}")),
        ),
        None => (None, None),
    }
}

fn compare_counts(
    counts: &StateCounts,
    expect: &Expectation,
    chains: &ChainMap,
    findings: &mut Vec<Finding>,
) {
    let mut mismatch = |what: String| {
        findings.push(Finding::new(
            "COUNT_MISMATCH",
            Severity::Error,
            "counts",
            what,
        ))
    };
    if let Some(n) = expect.contracts.filter(|n| *n != counts.production) {
        mismatch(format!(
            "{} production contracts, expected {n}",
            counts.production
        ));
    }
    if let Some(n) = expect
        .chains
        .filter(|n| *n != counts.per_chain.len() as u64)
    {
        mismatch(format!(
            "contracts on {} chains, expected {n}",
            counts.per_chain.len()
        ));
    }
    let ids: BTreeSet<u64> = expect
        .per_chain
        .keys()
        .chain(counts.per_chain.keys())
        .copied()
        .collect();
    for id in ids.into_iter().filter(|_| !expect.per_chain.is_empty()) {
        let (want, have) = (
            expect.per_chain.get(&id).copied().unwrap_or(0),
            counts.per_chain.get(&id).copied().unwrap_or(0),
        );
        if want != have {
            mismatch(format!(
                "{} (chain {id}): {have} contracts, expected {want}",
                chains.network_name(id)
            ));
        }
    }
}
