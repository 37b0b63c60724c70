//! Rules of the unified JSON files themselves (FORMATS §8.3): what a file claims, its
//! entries and aliases, its hashes, checksums and remote chain ids.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Finding, Severity};
use crate::chains::ChainMap;
use crate::js_json;
use crate::record::canonical_name;
use crate::unified::{UnifiedFile, CHECKSUMMED_SECTIONS};

/// Entry categories that hold contracts (aliases live in `legacy`).
const CATEGORIES: [&str; 3] = ["core", "protocol", "infrastructure"];

/// LayerZero v2 endpoint ids (mainnet 30xxx, testnet 40xxx): not EVM chain ids.
fn is_layerzero_eid(id: u64) -> bool {
    (30_101..=30_999).contains(&id) || (40_101..=40_999).contains(&id)
}

/// One live file: its name and its parsed document.
pub struct LiveFile {
    /// `bsctestnet.unified.json`.
    pub name: String,
    /// The parsed file.
    pub file: UnifiedFile,
}

/// Checks one file on its own; `full` adds the checksum and hash-agreement rules.
pub fn judge_file(live: &LiveFile, chains: &ChainMap, full: bool, out: &mut Vec<Finding>) {
    let doc = live.file.as_map();
    let name = &live.name;
    let at = |code, severity, pointer: &str, message: String| {
        Finding::new(code, severity, &format!("{name}#{pointer}"), message)
    };
    let claimed = live.file.chain_id();
    let network = name.trim_end_matches(".unified.json");
    if let Some(mapped) = chains.chain_id(network).filter(|m| *m != claimed) {
        out.push(at("FILE_CHAIN_MISMATCH", Severity::Error, "/chainId", format!(
            "claims chainId {claimed} but the chain map gives {name} to chain {mapped}; a deploy on {mapped} would take these addresses as its own. Move the data to the right file"
        )));
    }
    let tier = chains.tier(claimed).as_str();
    if let Some(stated) = doc
        .get("networkTier")
        .and_then(Value::as_str)
        .filter(|t| *t != tier)
    {
        out.push(at("TIER_MISMATCH", Severity::Error, "/networkTier", format!(
            "says networkTier {stated:?} but chain {claimed} is {tier}; the tier follows the chainId"
        )));
    }
    if live.file.file_version().is_none() {
        out.push(at("MISSING_FILE_VERSION", Severity::Warning, "/fileVersion", "no fileVersion: concurrent writers cannot detect each other; the next write through lookcoin-state adds it".into()));
    }
    duplicates_and_aliases(doc, &at, out);
    remote_chain_ids(doc, &at, chains, out);
    if full {
        hash_agreement(doc, &at, out);
        checksums(doc, &at, out);
    }
}

/// Names of the entries in the contract categories.
fn entry_names(doc: &serde_json::Map<String, Value>) -> Vec<String> {
    CATEGORIES
        .iter()
        .filter_map(|c| doc.get("contracts")?.get(c)?.as_object())
        .flat_map(|m| m.keys().cloned())
        .collect()
}

fn duplicates_and_aliases(
    doc: &serde_json::Map<String, Value>,
    at: &dyn Fn(&'static str, Severity, &str, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    let names = entry_names(doc);
    let mut by_canonical: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for n in &names {
        by_canonical.entry(canonical_name(n)).or_default().push(n);
    }
    let hashes = doc
        .get("verification")
        .and_then(|v| v.get("implementationHashes"));
    for (canonical, spelled) in by_canonical.iter().filter(|(_, v)| v.len() > 1) {
        let detail: Vec<String> = spelled
            .iter()
            .map(|n| {
                format!(
                    "{n:?} (hash {})",
                    hashes
                        .and_then(|h| h.get(*n))
                        .and_then(Value::as_str)
                        .unwrap_or("none")
                )
            })
            .collect();
        out.push(at("DUPLICATE_CONTRACT", Severity::Error, "/contracts", format!(
            "{canonical} is stored {} times: {}; keep one entry per contract and make the other name a legacy alias",
            spelled.len(), detail.join(", ")
        )));
    }
    let aliases = doc
        .get("contracts")
        .and_then(|c| c.get("legacy"))
        .and_then(Value::as_object);
    for (alias, target) in aliases.into_iter().flatten() {
        let pointer = format!(
            "/contracts/legacy/{}",
            alias.replace('~', "~0").replace('/', "~1")
        );
        let current = target
            .get("currentName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !names.iter().any(|n| n == current) {
            out.push(at("ALIAS_DANGLING", Severity::Error, &pointer, format!(
                "alias {alias:?} points at {current:?}, which is not an entry; point it at an existing entry or remove it"
            )));
        }
        if names.iter().any(|n| n == alias) {
            out.push(at(
                "ALIAS_IS_ENTRY",
                Severity::Error,
                &pointer,
                format!(
                    "{alias:?} is both a legacy alias and an entry of its own; remove the entry"
                ),
            ));
        }
    }
}

/// Remote chain ids that are LayerZero endpoint ids, in the topology and the protocol remotes.
fn remote_chain_ids(
    doc: &serde_json::Map<String, Value>,
    at: &dyn Fn(&'static str, Severity, &str, String) -> Finding,
    chains: &ChainMap,
    out: &mut Vec<Finding>,
) {
    let mut lists: Vec<(String, &Vec<Value>)> = Vec::new();
    if let Some(list) = doc
        .get("topology")
        .and_then(|t| t.get("connectedChains"))
        .and_then(Value::as_array)
    {
        lists.push(("/topology/connectedChains".into(), list));
    }
    let protocols = doc
        .get("configuration")
        .and_then(|c| c.get("protocols"))
        .and_then(Value::as_object);
    for (protocol, config) in protocols.into_iter().flatten() {
        if let Some(list) = config.get("remotes").and_then(Value::as_array) {
            lists.push((format!("/configuration/protocols/{protocol}/remotes"), list));
        }
    }
    for (pointer, list) in lists {
        for (i, remote) in list.iter().enumerate() {
            let Some(id) = remote.get("chainId").and_then(Value::as_u64) else {
                continue;
            };
            if is_layerzero_eid(id) && !chains.knows(id) {
                out.push(at("EID_AS_CHAIN_ID", Severity::Warning, &format!("{pointer}/{i}/chainId"), format!(
                    "chainId {id} is a LayerZero endpoint id, not an EVM chain id; store the EVM id and keep the EID in its own field"
                )));
            }
        }
    }
}

/// `verification.implementationHashes[n]` against `extended_n.implementationHash`.
fn hash_agreement(
    doc: &serde_json::Map<String, Value>,
    at: &dyn Fn(&'static str, Severity, &str, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    let hashes = doc
        .get("verification")
        .and_then(|v| v.get("implementationHashes"))
        .and_then(Value::as_object);
    for (name, hash) in hashes.into_iter().flatten() {
        let extended = doc
            .get(&format!("extended_{name}"))
            .and_then(|e| e.get("implementationHash"));
        if let (Some(listed), Some(Some(ext))) = (hash.as_str(), extended.map(Value::as_str)) {
            if listed != ext {
                out.push(at("HASH_DISAGREES", Severity::Error, "/verification/implementationHashes", format!(
                    "{name}: implementationHashes says {listed}, extended_{name} says {ext}; one of them is stale"
                )));
            }
        }
    }
}

/// `verification.dataIntegrity.checksums` recomputed.
fn checksums(
    doc: &serde_json::Map<String, Value>,
    at: &dyn Fn(&'static str, Severity, &str, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    let stored = doc
        .get("verification")
        .and_then(|v| v.get("dataIntegrity"))
        .and_then(|d| d.get("checksums"))
        .and_then(Value::as_object);
    let Some(stored) = stored else {
        out.push(at(
            "MISSING_CHECKSUMS",
            Severity::Warning,
            "/verification/dataIntegrity",
            "no checksums; the next write through lookcoin-state adds them".into(),
        ));
        return;
    };
    for section in CHECKSUMMED_SECTIONS {
        let (Some(value), Some(recorded)) = (
            doc.get(section),
            stored.get(section).and_then(Value::as_str),
        ) else {
            continue;
        };
        let actual = js_json::section_checksum(value);
        if actual != recorded {
            out.push(at("STALE_CHECKSUM", Severity::Warning, &format!("/verification/dataIntegrity/checksums/{section}"), format!(
                "the {section} checksum {recorded} does not match the section ({actual}): it was changed without recomputing it; the next write through lookcoin-state fixes it"
            )));
        }
    }
}

/// Chain ids claimed by more than one file.
pub fn duplicate_claims(files: &[LiveFile], out: &mut Vec<Finding>) {
    let mut claims: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    for f in files {
        claims.entry(f.file.chain_id()).or_default().insert(&f.name);
    }
    for (chain, names) in claims.iter().filter(|(_, n)| n.len() > 1) {
        let names: Vec<&str> = names.iter().copied().collect();
        out.push(Finding::new(
            "DUPLICATE_CHAIN_CLAIM",
            Severity::Error,
            names[0],
            format!(
                "chainId {chain} is claimed by {}; only the file the chain map names may hold it",
                names.join(" and ")
            ),
        ));
    }
}
