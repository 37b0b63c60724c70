//! Contract counts per chain, and a field-by-field comparison of a LevelDB store with the
//! live unified JSON files (FORMATS §8).
//!
//! Everything here only reads. A LevelDB is read from a scratch copy ([`read_copy`]), so not
//! even its `LOG` changes. Unified files are parsed as they are, every live file included,
//! also one that claims another chain's id (the store refuses to read those): each record
//! counts for the chainId it carries, and keeps the file it came from. A contract is
//! identified by (chainId, canonical name), so the plain and the source-qualified
//! `CrossChainRouter` are one contract. Chain 31337 (dev) is counted and listed apart,
//! never compared.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::backend::leveldb::{read_copy, with_quiesced};
use crate::backend::unified::{is_live_file_name, UNIFIED_SUFFIX};
use crate::backend::{BackendKind, RawEntry};
use crate::chains::{ChainMap, DEV_CHAIN_ID};
use crate::record::{canonical_name, ContractRecord};
use crate::selection::select_backend;
use crate::unified::UnifiedFile;
use crate::{Error, ErrorCode, Result};

/// The live LevelDB, relative to the project root.
const LEVELDB_DIR: &str = "leveldb";
/// The live unified files, relative to the project root.
const UNIFIED_DIR: &str = "deployments/unified";

/// The fields [`compare_backends`] compares, in report order. Timestamps are reported apart.
pub const COMPARED_FIELDS: [&str; 6] = [
    "address",
    "proxyAddress",
    "implementationHash",
    "factoryByteCodeHash",
    "deploymentArgs",
    "networkName",
];

/// Hardhat network names of the deploy scripts that are not file names of the chain map.
const HARDHAT_NAMES: [(&str, u64); 5] = [
    ("bsc", 56),
    ("opsepolia", 11155420),
    ("base", 8453),
    ("optimism", 10),
    ("sapphire", 23294),
];

// ---------------------------------------------------------------------------------------
// Reading, with the source of every record
// ---------------------------------------------------------------------------------------

/// Where one record was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The contract name as stored: a LevelDB key's name, a unified entry's or alias's name.
    pub name: String,
    /// The LevelDB directory, or the unified file's name (`bsctestnet.unified.json`).
    pub file: String,
    /// The LevelDB key, or the JSON pointer of the entry in the file.
    pub location: String,
    /// A unified `contracts.legacy` alias, read through the entry it points at.
    pub alias: bool,
}

impl Source {
    /// `{name, file, location, alias}`.
    pub fn to_json(&self) -> Value {
        json!({"name": self.name, "file": self.file, "location": self.location, "alias": self.alias})
    }
}

/// A record with where it was read.
#[derive(Debug, Clone)]
struct Sourced {
    record: ContractRecord,
    source: Source,
}

impl Sourced {
    /// (chainId, canonical name): what identifies a contract here.
    fn key(&self) -> (u64, String) {
        (
            self.record.chain_id,
            canonical_name(&self.record.contract_name).to_string(),
        )
    }
}

/// Every record of the LevelDB in `dir`; `live` ones are copied under the database's lock.
fn read_leveldb(dir: &Path, live: bool) -> Result<Vec<Sourced>> {
    let entries = if live && dir.join("LOCK").is_file() {
        with_quiesced(dir, || read_copy(dir))
    } else {
        read_copy(dir)
    }
    .map_err(|e| leveldb_hint(e, dir))?;
    entries
        .into_iter()
        .map(|entry| leveldb_sourced(dir, entry))
        .collect()
}

fn leveldb_sourced(dir: &Path, entry: RawEntry) -> Result<Sourced> {
    let record = entry.record.map_err(|e| {
        Error::new(
            e.code,
            format!(
                "{} (LevelDB {}); counting and comparing need every record readable: \
                 restore this LevelDB from a verified backup",
                e.message,
                dir.display()
            ),
        )
        .with_path(dir)
        .with_key(entry.location.clone())
    })?;
    let source = Source {
        name: record.contract_name.clone(),
        file: dir.display().to_string(),
        location: entry.location,
        alias: false,
    };
    Ok(Sourced { record, source })
}

/// Adds what to do to "not a LevelDB directory".
fn leveldb_hint(err: Error, dir: &Path) -> Error {
    if err.code != ErrorCode::NotFound {
        return err;
    }
    Error::new(
        err.code,
        format!(
            "{}; a project migrated to unified JSON has no live leveldb/: \
             give a backup's leveldb/current folder instead",
            err.message
        ),
    )
    .with_path(dir)
}

/// What the live unified files of a folder hold.
#[derive(Debug, Default)]
struct UnifiedRead {
    records: Vec<Sourced>,
    files: Vec<PathBuf>,
    notes: Vec<String>,
}

/// Every record of every live unified file in `dir`, each under the chainId its file claims.
fn read_unified(dir: &Path, chains: &ChainMap) -> Result<UnifiedRead> {
    let mut read = UnifiedRead::default();
    let mut claims: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for path in live_unified_files(dir)? {
        let text = fs::read_to_string(&path).map_err(|e| Error::read_io(&path, &e))?;
        let file = UnifiedFile::parse(&path, &text)?;
        let name = file_name(&path);
        read.notes.extend(claim_note(&name, &file, chains));
        claims
            .entry(file.chain_id())
            .or_default()
            .push(name.clone());
        read.records.extend(unified_sourced(&name, &file));
        read.files.push(path);
    }
    for (chain_id, files) in claims.iter().filter(|(_, f)| f.len() > 1) {
        read.notes.push(format!(
            "chain {chain_id} is claimed by {} files: {}",
            files.len(),
            files.join(", ")
        ));
    }
    Ok(read)
}

/// The live `*.unified.json` files of `dir`, sorted; backups and temp files are skipped.
fn live_unified_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).map_err(|e| unified_dir_error(dir, &e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::read_io(dir, &e))?;
        let live = is_live_file_name(&entry.file_name().to_string_lossy());
        if live && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

fn unified_dir_error(dir: &Path, err: &std::io::Error) -> Error {
    if err.kind() != std::io::ErrorKind::NotFound {
        return Error::read_io(dir, err);
    }
    Error::new(
        ErrorCode::NotFound,
        format!(
            "{} does not exist, so there are no unified files to read; \
             check that the root given is the project root (the deploy scripts write deployments/unified/ there)",
            dir.display()
        ),
    )
    .with_path(dir)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A note when a file's name and its chainId disagree (the store refuses such a file).
fn claim_note(name: &str, file: &UnifiedFile, chains: &ChainMap) -> Option<String> {
    let network = name.strip_suffix(UNIFIED_SUFFIX).unwrap_or(name);
    let claimed = file.chain_id();
    match chains.chain_id(network) {
        Some(id) if id == claimed => None,
        Some(id) => Some(format!(
            "{name} claims chainId {claimed} but its name belongs to chain {id}: its records \
             count as chain {claimed} here (the store refuses to read this file)"
        )),
        None => Some(format!(
            "{name}: {network} is not in the chain map; its records count as chain {claimed}"
        )),
    }
}

fn unified_sourced(name: &str, file: &UnifiedFile) -> Vec<Sourced> {
    file.entries()
        .into_iter()
        .map(|(pointer, record)| Sourced {
            source: Source {
                name: record.contract_name.clone(),
                file: name.to_string(),
                alias: pointer.starts_with("/contracts/legacy/"),
                location: pointer,
            },
            record,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------

/// Contracts of one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCount {
    /// The chain map's network name of the chain.
    pub network: String,
    /// Contracts on it when it is a production (non-dev) chain.
    pub production: u64,
    /// Contracts on it when it is the dev chain 31337.
    pub dev: u64,
}

/// Contracts of a store, per chain, production and dev (chain 31337) apart.
///
/// A contract is one (chainId, canonical name): a name stored plain and source-qualified
/// counts once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractCounts {
    /// The backend counted.
    pub backend: BackendKind,
    /// Contracts on production chains.
    pub production: u64,
    /// Contracts on the dev chain.
    pub dev: u64,
    /// Per chain id.
    pub chains: BTreeMap<u64, ChainCount>,
    /// The LevelDB directory, or every unified file, that was read.
    pub files_read: Vec<String>,
}

impl ContractCounts {
    fn tally(backend: BackendKind, records: &[Sourced], files_read: Vec<String>) -> Self {
        let chain_map = ChainMap::default();
        let keys: BTreeSet<(u64, String)> = records.iter().map(Sourced::key).collect();
        let mut counts = ContractCounts {
            backend,
            production: 0,
            dev: 0,
            chains: BTreeMap::new(),
            files_read,
        };
        for (chain_id, _) in keys {
            let chain = counts.chains.entry(chain_id).or_insert_with(|| ChainCount {
                network: chain_map.network_name(chain_id),
                production: 0,
                dev: 0,
            });
            if chain_id == DEV_CHAIN_ID {
                chain.dev += 1;
                counts.dev += 1;
            } else {
                chain.production += 1;
                counts.production += 1;
            }
        }
        counts
    }

    /// Production chains with their contract counts, in chain id order.
    pub fn production_per_chain(&self) -> Vec<(u64, u64)> {
        self.chains
            .iter()
            .filter(|(_, c)| c.production > 0)
            .map(|(id, c)| (*id, c.production))
            .collect()
    }

    /// `{backend, production, dev, chains: {"56": {network, production, dev}}, filesRead}`.
    pub fn to_json(&self) -> Value {
        let chains: Map<String, Value> = self
            .chains
            .iter()
            .map(|(id, c)| {
                let value = json!({"network": c.network, "production": c.production, "dev": c.dev});
                (id.to_string(), value)
            })
            .collect();
        json!({
            "backend": self.backend.as_str(),
            "production": self.production,
            "dev": self.dev,
            "chains": chains,
            "filesRead": self.files_read,
        })
    }
}

/// Counts the contracts of the project at `root` in `backend`, or in the backend
/// [`select_backend`] chooses for it when `None`. Writes nothing.
///
/// `leveldb` reads `<root>/leveldb` (copied under its lock); `unified-json` reads every live
/// `<root>/deployments/unified/*.unified.json`. The legacy `json` backend is refused.
pub fn count_contracts(
    root: &Path,
    backend: Option<BackendKind>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ContractCounts> {
    match select_backend(backend, root, env)?.kind {
        BackendKind::LevelDb => count_leveldb(&root.join(LEVELDB_DIR), true),
        BackendKind::UnifiedJson => count_unified_dir(&root.join(UNIFIED_DIR)),
        BackendKind::Json => Err(Error::new(
            ErrorCode::ValidationFailed,
            "counting reads the leveldb or unified-json backend, not the legacy json files; \
             ask for one of those explicitly (or unset STATE_BACKEND=json)",
        )
        .with_path(root)),
    }
}

/// Counts the contracts of the LevelDB in `dir` (for example a backup's `leveldb/current`),
/// read from a scratch copy: nothing in `dir` changes.
pub fn count_leveldb_dir(dir: &Path) -> Result<ContractCounts> {
    count_leveldb(dir, false)
}

/// Counts the contracts of the live unified files in `dir` (a `deployments/unified` folder,
/// or a backup's `unified-json`), each record under its own chainId.
pub fn count_unified_dir(dir: &Path) -> Result<ContractCounts> {
    let read = read_unified(dir, &ChainMap::default())?;
    let files = read.files.iter().map(|p| p.display().to_string()).collect();
    Ok(ContractCounts::tally(
        BackendKind::UnifiedJson,
        &read.records,
        files,
    ))
}

fn count_leveldb(dir: &Path, live: bool) -> Result<ContractCounts> {
    let records = read_leveldb(dir, live)?;
    let files = vec![dir.display().to_string()];
    Ok(ContractCounts::tally(BackendKind::LevelDb, &records, files))
}

// ---------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------

/// The verdict on one contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every compared field agrees, for every unified name and file that holds it.
    Matched,
    /// At least one compared field differs for some unified name or file.
    Differs,
    /// Only LevelDB has it.
    MissingInUnified,
    /// Only the unified files have it.
    MissingInLevelDb,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 4] = [
        Status::Matched,
        Status::Differs,
        Status::MissingInUnified,
        Status::MissingInLevelDb,
    ];

    /// `matched`, `differs`, `missingInUnified`, `missingInLevelDB`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Matched => "matched",
            Status::Differs => "differs",
            Status::MissingInUnified => "missingInUnified",
            Status::MissingInLevelDb => "missingInLevelDB",
        }
    }
}

/// One field that differs, with both stored values as they are (`null` when absent).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDifference {
    /// One of [`COMPARED_FIELDS`].
    pub field: &'static str,
    /// The LevelDB value.
    pub leveldb: Value,
    /// The unified value.
    pub unified: Value,
}

/// Timestamps that differ: information only, never a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampDifference {
    /// The LevelDB record's timestamp (ms).
    pub leveldb: u64,
    /// The unified record's timestamp (ms).
    pub unified: u64,
}

/// One LevelDB record compared with one unified record of the same contract.
#[derive(Debug, Clone, PartialEq)]
pub struct PairComparison {
    /// The LevelDB side.
    pub leveldb: Source,
    /// The unified side: the file and entry each unified value came from.
    pub unified: Source,
    /// The fields that differ, in [`COMPARED_FIELDS`] order.
    pub differences: Vec<FieldDifference>,
    /// Set when the timestamps differ.
    pub timestamp: Option<TimestampDifference>,
}

impl PairComparison {
    /// `{leveldb, unified, differences: [{field, leveldb, unified}], timestamp}`.
    pub fn to_json(&self) -> Value {
        let differences: Vec<Value> = self
            .differences
            .iter()
            .map(|d| json!({"field": d.field, "leveldb": d.leveldb, "unified": d.unified}))
            .collect();
        json!({
            "leveldb": self.leveldb.to_json(),
            "unified": self.unified.to_json(),
            "differences": differences,
            "timestamp": self.timestamp.map(|t| json!({"leveldb": t.leveldb, "unified": t.unified})),
        })
    }
}

/// One contract (chainId, canonical name) in both stores.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractComparison {
    /// The chain id the records carry.
    pub chain_id: u64,
    /// The chain map's network name of the chain.
    pub network: String,
    /// The canonical contract name.
    pub contract: String,
    /// The verdict.
    pub status: Status,
    /// Where LevelDB holds it (usually one key).
    pub leveldb: Vec<Source>,
    /// Where the unified files hold it: every name and file.
    pub unified: Vec<Source>,
    /// Unified holds it under more than one name (plain and qualified, or an alias).
    pub duplicate_names: bool,
    /// More than one unified file gives it.
    pub duplicate_files: bool,
    /// Each unified record against its LevelDB record (and any LevelDB record left over).
    pub pairs: Vec<PairComparison>,
    /// Sentences for a person: duplicates, aliases.
    pub notes: Vec<String>,
}

impl ContractComparison {
    /// `<chainId>-<canonical name>`.
    pub fn key(&self) -> String {
        format!("{}-{}", self.chain_id, self.contract)
    }

    /// The pairs whose unified side is stored under `name` (exactly).
    pub fn pairs_for_unified_name<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a PairComparison> + 'a {
        self.pairs.iter().filter(move |p| p.unified.name == name)
    }

    /// As JSON, camelCase.
    pub fn to_json(&self) -> Value {
        json!({
            "key": self.key(),
            "chainId": self.chain_id,
            "network": self.network,
            "contract": self.contract,
            "status": self.status.as_str(),
            "leveldb": self.leveldb.iter().map(Source::to_json).collect::<Vec<_>>(),
            "unified": self.unified.iter().map(Source::to_json).collect::<Vec<_>>(),
            "duplicateNames": self.duplicate_names,
            "duplicateFiles": self.duplicate_files,
            "comparisons": self.pairs.iter().map(PairComparison::to_json).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

/// A dev-chain (31337) record: listed, not compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevRow {
    /// `leveldb` or `unified`.
    pub store: &'static str,
    /// Always [`DEV_CHAIN_ID`] today.
    pub chain_id: u64,
    /// Where it was read.
    pub source: Source,
}

/// Counts of a [`Comparison`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompareSummary {
    /// Production contracts in either store.
    pub contracts: usize,
    /// Contracts with status `matched`.
    pub matched: usize,
    /// Contracts with status `differs`.
    pub differs: usize,
    /// Contracts only in LevelDB.
    pub missing_in_unified: usize,
    /// Contracts only in the unified files.
    pub missing_in_leveldb: usize,
    /// Record pairs compared.
    pub comparisons: usize,
    /// Record pairs with at least one differing field.
    pub differing_comparisons: usize,
    /// Record pairs whose timestamps differ (information).
    pub timestamp_differences: usize,
    /// Contracts unified holds under several names or in several files.
    pub duplicated_in_unified: usize,
    /// Dev-chain records listed apart.
    pub dev_rows: usize,
}

impl CompareSummary {
    fn of(contracts: &[ContractComparison], dev_rows: usize) -> Self {
        let count = |s: Status| contracts.iter().filter(|c| c.status == s).count();
        let pairs = || contracts.iter().flat_map(|c| &c.pairs);
        CompareSummary {
            contracts: contracts.len(),
            matched: count(Status::Matched),
            differs: count(Status::Differs),
            missing_in_unified: count(Status::MissingInUnified),
            missing_in_leveldb: count(Status::MissingInLevelDb),
            comparisons: pairs().count(),
            differing_comparisons: pairs().filter(|p| !p.differences.is_empty()).count(),
            timestamp_differences: pairs().filter(|p| p.timestamp.is_some()).count(),
            duplicated_in_unified: contracts
                .iter()
                .filter(|c| c.duplicate_names || c.duplicate_files)
                .count(),
            dev_rows,
        }
    }

    /// As JSON, camelCase (`missingInLevelDB` spelled like the status).
    pub fn to_json(&self) -> Value {
        json!({
            "contracts": self.contracts,
            "matched": self.matched,
            "differs": self.differs,
            "missingInUnified": self.missing_in_unified,
            "missingInLevelDB": self.missing_in_leveldb,
            "comparisons": self.comparisons,
            "differingComparisons": self.differing_comparisons,
            "timestampDifferences": self.timestamp_differences,
            "duplicatedInUnified": self.duplicated_in_unified,
            "devRows": self.dev_rows,
        })
    }
}

/// LevelDB against the live unified files, per (chainId, canonical name).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The LevelDB directory read.
    pub leveldb_dir: String,
    /// The unified folder read.
    pub unified_dir: String,
    /// Every unified file read.
    pub unified_files: Vec<String>,
    /// Production contracts, in (chainId, name) order.
    pub contracts: Vec<ContractComparison>,
    /// Dev-chain records of both stores, not compared.
    pub dev: Vec<DevRow>,
    /// Findings about the files themselves (a file claiming another chain, a chain in two files).
    pub notes: Vec<String>,
    /// The counts.
    pub summary: CompareSummary,
}

impl Comparison {
    /// The contract `name` (plain or qualified) on `chain_id`.
    pub fn contract(&self, chain_id: u64, name: &str) -> Option<&ContractComparison> {
        let name = canonical_name(name);
        self.contracts
            .iter()
            .find(|c| c.chain_id == chain_id && c.contract == name)
    }

    /// The contracts with one status.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &ContractComparison> {
        self.contracts.iter().filter(move |c| c.status == status)
    }

    /// `{leveldbDir, unifiedDir, unifiedFiles, summary, matched, differs, missingInUnified,
    /// missingInLevelDB, dev, notes}`: one array of contracts per status.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("leveldbDir".into(), self.leveldb_dir.clone().into());
        out.insert("unifiedDir".into(), self.unified_dir.clone().into());
        out.insert("unifiedFiles".into(), json!(self.unified_files));
        out.insert("summary".into(), self.summary.to_json());
        for status in Status::ALL {
            let list: Vec<Value> = self.with_status(status).map(|c| c.to_json()).collect();
            out.insert(status.as_str().into(), Value::Array(list));
        }
        let dev: Vec<Value> = self.dev.iter().map(|d| {
            json!({"store": d.store, "chainId": d.chain_id, "name": d.source.name, "file": d.source.file, "location": d.source.location})
        }).collect();
        out.insert("dev".into(), Value::Array(dev));
        out.insert("notes".into(), json!(self.notes));
        Value::Object(out)
    }
}

/// Compares a LevelDB with the live unified files of the project at `root`. Writes nothing.
///
/// The LevelDB is `<root>/leveldb` (copied under its lock), or `leveldb_dir` when given, for
/// example a backup's `leveldb/current`. Every live `<root>/deployments/unified/*.unified.json`
/// is read, each record under the chainId it carries.
pub fn compare_backends(root: &Path, leveldb_dir: Option<&Path>) -> Result<Comparison> {
    let chains = ChainMap::default();
    let live_dir = root.join(LEVELDB_DIR);
    let dir = leveldb_dir.map_or_else(|| live_dir.clone(), Path::to_path_buf);
    let leveldb = read_leveldb(&dir, dir == live_dir)?;
    let unified_dir = root.join(UNIFIED_DIR);
    let unified = read_unified(&unified_dir, &chains)?;
    let (groups, dev) = group(leveldb, unified.records);
    let contracts: Vec<ContractComparison> = groups
        .into_iter()
        .map(|((chain_id, contract), g)| compare_group(&chains, chain_id, contract, g))
        .collect();
    Ok(Comparison {
        leveldb_dir: dir.display().to_string(),
        unified_dir: unified_dir.display().to_string(),
        unified_files: unified
            .files
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        summary: CompareSummary::of(&contracts, dev.len()),
        contracts,
        dev,
        notes: unified.notes,
    })
}

/// The records of both stores of one contract.
#[derive(Debug, Default)]
struct Group {
    leveldb: Vec<Sourced>,
    unified: Vec<Sourced>,
}

type Groups = BTreeMap<(u64, String), Group>;

/// Production records grouped per contract; dev rows set apart.
fn group(leveldb: Vec<Sourced>, unified: Vec<Sourced>) -> (Groups, Vec<DevRow>) {
    let mut groups = Groups::new();
    let mut dev = Vec::new();
    add_side(&mut groups, &mut dev, "leveldb", leveldb, |g| {
        &mut g.leveldb
    });
    add_side(&mut groups, &mut dev, "unified", unified, |g| {
        &mut g.unified
    });
    (groups, dev)
}

/// Adds one store's records to their groups (the side `side` picks), dev rows to `dev`.
fn add_side(
    groups: &mut Groups,
    dev: &mut Vec<DevRow>,
    store: &'static str,
    records: Vec<Sourced>,
    side: fn(&mut Group) -> &mut Vec<Sourced>,
) {
    for sourced in records {
        if sourced.record.chain_id == DEV_CHAIN_ID {
            dev.push(DevRow {
                store,
                chain_id: sourced.record.chain_id,
                source: sourced.source,
            });
        } else {
            side(groups.entry(sourced.key()).or_default()).push(sourced);
        }
    }
}

fn compare_group(
    chains: &ChainMap,
    chain_id: u64,
    contract: String,
    g: Group,
) -> ContractComparison {
    let pairs: Vec<PairComparison> = pair_indices(&g)
        .into_iter()
        .map(|(l, u)| compare_pair(chains, &g.leveldb[l], &g.unified[u]))
        .collect();
    let status = if g.unified.is_empty() {
        Status::MissingInUnified
    } else if g.leveldb.is_empty() {
        Status::MissingInLevelDb
    } else if pairs.iter().any(|p| !p.differences.is_empty()) {
        Status::Differs
    } else {
        Status::Matched
    };
    ContractComparison {
        chain_id,
        network: chains.network_name(chain_id),
        status,
        duplicate_names: distinct(&g.unified, |s| &s.source.name).len() > 1,
        duplicate_files: distinct(&g.unified, |s| &s.source.file).len() > 1,
        notes: group_notes(chain_id, &contract, &g),
        leveldb: g.leveldb.iter().map(|s| s.source.clone()).collect(),
        unified: g.unified.iter().map(|s| s.source.clone()).collect(),
        contract,
        pairs,
    }
}

/// Every unified record with its LevelDB record (same name first), then LevelDB records
/// no unified record took, with the unified record of the same name (else the first).
fn pair_indices(g: &Group) -> Vec<(usize, usize)> {
    if g.leveldb.is_empty() || g.unified.is_empty() {
        return Vec::new();
    }
    let best =
        |list: &[Sourced], name: &str| list.iter().position(|s| s.source.name == name).unwrap_or(0);
    let mut pairs: Vec<(usize, usize)> = (0..g.unified.len())
        .map(|u| (best(&g.leveldb, &g.unified[u].source.name), u))
        .collect();
    for l in 0..g.leveldb.len() {
        if !pairs.iter().any(|(taken, _)| *taken == l) {
            pairs.push((l, best(&g.unified, &g.leveldb[l].source.name)));
        }
    }
    pairs
}

fn compare_pair(chains: &ChainMap, l: &Sourced, u: &Sourced) -> PairComparison {
    let (lt, ut) = (l.record.timestamp, u.record.timestamp);
    PairComparison {
        leveldb: l.source.clone(),
        unified: u.source.clone(),
        differences: differences(chains, &l.record, &u.record),
        timestamp: (lt != ut).then_some(TimestampDifference {
            leveldb: lt,
            unified: ut,
        }),
    }
}

/// The [`COMPARED_FIELDS`] whose normalised values differ, with the raw values.
pub fn differences(
    chains: &ChainMap,
    leveldb: &ContractRecord,
    unified: &ContractRecord,
) -> Vec<FieldDifference> {
    let (raw_l, raw_u) = (leveldb.to_json(), unified.to_json());
    COMPARED_FIELDS
        .iter()
        .filter(|f| normalised(chains, f, leveldb) != normalised(chains, f, unified))
        .map(|f| FieldDifference {
            field: f,
            leveldb: raw_l.get(*f).cloned().unwrap_or(Value::Null),
            unified: raw_u.get(*f).cloned().unwrap_or(Value::Null),
        })
        .collect()
}

/// A field as compared: addresses and hashes without case, a proxy equal to the address
/// as no proxy, absent args as `[]`, the network through the chain map.
fn normalised(chains: &ChainMap, field: &str, r: &ContractRecord) -> Value {
    let lower = |s: &str| Value::from(s.to_ascii_lowercase());
    match field {
        "address" => lower(&r.address),
        "proxyAddress" => r
            .proxy_address
            .as_deref()
            .filter(|p| !p.eq_ignore_ascii_case(&r.address))
            .map_or(Value::Null, lower),
        "implementationHash" => r
            .implementation_hash
            .as_deref()
            .filter(|h| !h.is_empty())
            .map_or(Value::Null, lower),
        "factoryByteCodeHash" => lower(&r.factory_byte_code_hash),
        "deploymentArgs" => Value::Array(r.deployment_args.clone().unwrap_or_default()),
        "networkName" => canonical_network(chains, &r.network_name).into(),
        _ => Value::Null,
    }
}

/// The chain map's name for a `networkName` spelling: `bscTestnet`, `bsctestnet` →
/// `bsctestnet`; `bsc` → `bscmainnet`; `opSepolia` → `optimismsepolia`; `sapphire-testnet`
/// → `sapphiretestnet`. A spelling the map does not know is returned folded (lower case,
/// letters and digits only).
pub fn canonical_network(chains: &ChainMap, spelling: &str) -> String {
    let folded: String = spelling
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let hardhat = HARDHAT_NAMES.iter().find(|(name, _)| *name == folded);
    match hardhat
        .map(|(_, id)| *id)
        .or_else(|| chains.chain_id(&folded))
    {
        Some(id) => chains.network_name(id),
        None => folded,
    }
}

/// The distinct values of `f` over `list`, in first-seen order.
fn distinct<'a>(list: &'a [Sourced], f: impl Fn(&'a Sourced) -> &'a String) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for value in list.iter().map(f) {
        if !out.contains(&value.as_str()) {
            out.push(value);
        }
    }
    out
}

/// Sentences about duplicates in either store.
fn group_notes(chain_id: u64, contract: &str, g: &Group) -> Vec<String> {
    let mut notes = Vec::new();
    let names = distinct(&g.unified, |s| &s.source.name);
    if names.len() > 1 {
        notes.push(format!(
            "unified holds chain {chain_id} {contract} under {} names: {}",
            names.len(),
            describe(&g.unified)
        ));
    }
    let files = distinct(&g.unified, |s| &s.source.file);
    if files.len() > 1 {
        notes.push(format!(
            "{} unified files give chain {chain_id} {contract}: {}",
            files.len(),
            files.join(", ")
        ));
    }
    let keys = distinct(&g.leveldb, |s| &s.source.location);
    if keys.len() > 1 {
        notes.push(format!(
            "LevelDB holds chain {chain_id} {contract} under {} keys: {}",
            keys.len(),
            keys.join(", ")
        ));
    }
    notes
}

fn describe(list: &[Sourced]) -> String {
    list.iter()
        .map(|s| {
            let alias = if s.source.alias {
                ", a legacy alias"
            } else {
                ""
            };
            format!(
                "{} ({}#{}{alias})",
                s.source.name, s.source.file, s.source.location
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, network: &str) -> ContractRecord {
        ContractRecord {
            contract_name: name.into(),
            chain_id: 97,
            network_name: network.into(),
            address: format!("0x{}", "aB".repeat(20)),
            factory_byte_code_hash: format!("0x{}", "1f".repeat(32)),
            implementation_hash: Some(format!("0x{}", "1f".repeat(32))),
            proxy_address: Some(format!("0x{}", "cd".repeat(20))),
            deployment_args: None,
            timestamp: 1,
        }
    }

    fn sourced(r: ContractRecord, file: &str) -> Sourced {
        let source = Source {
            name: r.contract_name.clone(),
            file: file.into(),
            location: format!("/contracts/core/{}", r.contract_name),
            alias: false,
        };
        Sourced { record: r, source }
    }

    #[test]
    fn compare_maps_network_spellings_to_the_chain_map_names() {
        let chains = ChainMap::default();
        for (spelling, name) in [
            ("bsc", "bscmainnet"),
            ("bscmainnet", "bscmainnet"),
            ("bscTestnet", "bsctestnet"),
            ("opSepolia", "optimismsepolia"),
            ("baseSepolia", "basesepolia"),
            ("sapphire-testnet", "sapphiretestnet"),
            ("sapphiremainnet", "sapphiremainnet"),
            ("Mystery_Net", "mysterynet"),
        ] {
            assert_eq!(canonical_network(&chains, spelling), name, "{spelling}");
        }
    }

    #[test]
    fn compare_ignores_case_self_proxies_absent_args_and_spellings() {
        let chains = ChainMap::default();
        let a = record("LookCoin", "bscTestnet");
        let mut b = record("LookCoin", "bsctestnet");
        b.address = b.address.to_ascii_lowercase();
        b.deployment_args = Some(Vec::new());
        b.timestamp = 2;
        assert!(differences(&chains, &a, &b).is_empty());
        let mut c = a.clone();
        c.proxy_address = Some(c.address.clone());
        let mut d = a.clone();
        d.proxy_address = None;
        assert!(differences(&chains, &c, &d).is_empty());
    }

    #[test]
    fn compare_reports_differing_fields_with_raw_values() {
        let chains = ChainMap::default();
        let a = record("LookCoin", "bsc");
        let mut b = record("LookCoin", "bscTestnet");
        b.implementation_hash = None;
        b.deployment_args = Some(vec![json!("0x01")]);
        let diffs = differences(&chains, &a, &b);
        let fields: Vec<&str> = diffs.iter().map(|d| d.field).collect();
        assert_eq!(
            fields,
            ["implementationHash", "deploymentArgs", "networkName"]
        );
        assert_eq!(diffs[0].unified, Value::Null);
        assert_eq!(diffs[2].leveldb, json!("bsc"));
        assert_eq!(diffs[2].unified, json!("bscTestnet"));
    }

    #[test]
    fn compare_pairs_each_unified_name_and_leftover_leveldb_keys() {
        let qualified = "contracts/xchain/CrossChainRouter.sol:CrossChainRouter";
        let g = Group {
            leveldb: vec![
                sourced(record("CrossChainRouter", "x"), "db"),
                sourced(record(qualified, "x"), "db"),
            ],
            unified: vec![sourced(record(qualified, "x"), "f.unified.json")],
        };
        assert_eq!(pair_indices(&g), vec![(1, 0), (0, 0)]);
        let c = compare_group(&ChainMap::default(), 97, "CrossChainRouter".into(), g);
        assert_eq!(c.status, Status::Matched);
        assert!(!c.duplicate_names);
        assert!(c.notes[0].contains("under 2 keys"), "{:?}", c.notes);
    }

    #[test]
    fn compare_statuses_for_one_sided_contracts() {
        let only_l = Group {
            leveldb: vec![sourced(record("A", "x"), "db")],
            unified: Vec::new(),
        };
        let c = compare_group(&ChainMap::default(), 97, "A".into(), only_l);
        assert_eq!((c.status, c.pairs.len()), (Status::MissingInUnified, 0));
        let only_u = Group {
            leveldb: Vec::new(),
            unified: vec![sourced(record("A", "x"), "f")],
        };
        let c = compare_group(&ChainMap::default(), 97, "A".into(), only_u);
        assert_eq!(c.status.as_str(), "missingInLevelDB");
    }
}
