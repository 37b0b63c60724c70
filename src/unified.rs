//! `UnifiedFile`: one unified v3 deployment document (FORMATS §2) and the record mapping.
//!
//! Reads follow §2.4 and writes §2.3, with the fixes the spec lists: `extended_<name>`
//! preserved, no "timestamp = now" on read, no erased factory hash, address-only entries
//! visible, existing entries updated where they are instead of duplicated. One addition:
//! `extended_<name>.networkName` keeps a record's own network spelling when it is not the
//! file's, so records survive a trip through a unified file byte for byte.

use std::path::Path;

use serde_json::{Map, Value};

use crate::chains::Tier;
use crate::js_json;
use crate::record::ContractRecord;
use crate::time::{iso_from_ms, ms_from_iso};
use crate::{Error, ErrorCode, Result};

/// The only schema version this module reads and writes.
pub const SCHEMA_VERSION: &str = "3.0.0";
/// The id of the `dataIntegrity` checksum algorithm, recorded next to the checksums.
pub const CHECKSUM_ALGORITHM: &str = "sha256-jsonstringify-compact-hex16";
/// Contract categories in lookup order.
pub const CATEGORIES: [&str; 3] = ["core", "protocol", "infrastructure"];
/// Sections covered by `dataIntegrity.checksums`.
pub const CHECKSUMMED_SECTIONS: [&str; 3] = ["contracts", "configuration", "topology"];

/// A parsed unified deployment file.
#[derive(Debug, Clone, PartialEq)]
pub struct UnifiedFile {
    doc: Map<String, Value>,
}

/// Where an entry sits: its category and its key there.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    category: String,
    name: String,
}

impl UnifiedFile {
    /// Parses file text; anything that is not a unified v3 document is `STATE_CORRUPT`.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let value = js_json::parse(text).map_err(|e| {
            Error::new(
                ErrorCode::Corrupt,
                format!(
                    "{} is not valid JSON ({e}); restore it from a backup or roll back to LevelDB",
                    path.display()
                ),
            )
            .with_path(path)
            .with_offset(e.line() as u64)
        })?;
        let corrupt = |why: &str| {
            Error::new(
                ErrorCode::Corrupt,
                format!(
                    "{} is not a unified v3 deployment file: {why}",
                    path.display()
                ),
            )
            .with_path(path)
        };
        let Value::Object(doc) = value else {
            return Err(corrupt("the top level is not an object"));
        };
        if doc.get("schemaVersion").and_then(Value::as_str) != Some(SCHEMA_VERSION) {
            return Err(corrupt("schemaVersion is not \"3.0.0\""));
        }
        if !doc.get("network").is_some_and(Value::is_string) {
            return Err(corrupt("network is not a string"));
        }
        if doc.get("chainId").and_then(Value::as_u64).is_none() {
            return Err(corrupt("chainId is not a positive integer"));
        }
        if !doc.get("contracts").is_some_and(Value::is_object) {
            return Err(corrupt("contracts is not an object"));
        }
        Ok(UnifiedFile { doc })
    }

    /// A new, empty document for a chain, with every section the schema expects.
    pub fn skeleton(chain_id: u64, network: &str, tier: Tier, now_ms: u64) -> Self {
        let now = iso_from_ms(now_ms);
        let value = serde_json::json!({
            "schemaVersion": SCHEMA_VERSION,
            "fileVersion": 0,
            "network": network,
            "chainId": chain_id,
            "networkTier": tier.as_str(),
            "metadata": {
                "deployer": "",
                "deploymentMode": "standard",
                "timestamp": now,
                "lastUpdated": now,
                "protocolsEnabled": [],
                "protocolsDeployed": [],
                "protocolsConfigured": []
            },
            "contracts": {"core": {}, "protocol": {}, "infrastructure": {}, "legacy": {}},
            "configuration": {"governance": {"vault": ""}, "protocols": {}},
            "topology": {"connectedChains": [], "tierValidation": {"crossTierAllowed": false, "crossTierDetected": false}},
            "verification": {"contractVerification": {}, "implementationHashes": {}},
            "operations": {"deploymentHistory": [], "upgradeHistory": []}
        });
        let Value::Object(doc) = value else {
            unreachable!("json! of an object literal is an object")
        };
        UnifiedFile { doc }
    }

    /// The chain id the file claims.
    pub fn chain_id(&self) -> u64 {
        self.doc.get("chainId").and_then(Value::as_u64).unwrap_or(0)
    }

    /// The network name the file claims.
    pub fn network(&self) -> &str {
        self.doc
            .get("network")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The optimistic-locking counter, absent in some old files.
    pub fn file_version(&self) -> Option<u64> {
        self.doc.get("fileVersion").and_then(Value::as_u64)
    }

    /// The whole document.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.doc
    }

    /// The file text: `JSON.stringify(doc, null, 2)`, no trailing newline.
    pub fn to_text(&self) -> String {
        js_json::map_to_pretty(&self.doc)
    }

    /// The record stored under `name` (directly or through a legacy alias).
    pub fn record(&self, name: &str) -> Option<ContractRecord> {
        let slot = self.find(name)?;
        self.to_record(name, &slot)
    }

    /// Every record, in category order, then aliases not already listed (as the old reader).
    pub fn records(&self) -> Vec<ContractRecord> {
        self.entries().into_iter().map(|(_, r)| r).collect()
    }

    /// Every record with its JSON pointer in the file.
    pub fn entries(&self) -> Vec<(String, ContractRecord)> {
        let mut out: Vec<(String, ContractRecord)> = Vec::new();
        for category in CATEGORIES {
            for name in self
                .category(category)
                .map(|c| c.keys())
                .into_iter()
                .flatten()
            {
                let slot = Slot {
                    category: category.into(),
                    name: name.clone(),
                };
                if let Some(record) = self.to_record(name, &slot) {
                    out.push((pointer(&["contracts", category, name]), record));
                }
            }
        }
        for alias in self
            .category("legacy")
            .map(|c| c.keys())
            .into_iter()
            .flatten()
        {
            if out.iter().any(|(_, r)| &r.contract_name == alias) {
                continue;
            }
            if let Some(record) = self.record(alias) {
                out.push((pointer(&["contracts", "legacy", alias]), record));
            }
        }
        out
    }

    /// Stores a record (§2.3 with fixes): updates the existing entry wherever it is.
    pub fn put(&mut self, record: &ContractRecord) {
        let slot = self.slot_for(&record.contract_name);
        self.write_entry(&slot, record);
        let extended = extended_value(record, self.network());
        js_json::insert(&mut self.doc, format!("extended_{}", slot.name), extended);
        if let Some(hash) = record
            .implementation_hash
            .as_ref()
            .filter(|h| !h.is_empty())
        {
            let hashes = object_at(&mut self.doc, &["verification", "implementationHashes"]);
            js_json::insert(hashes, slot.name.clone(), hash.clone().into());
        }
    }

    /// Copies of all that `put` of `name` can change: its entry, its `extended_` data and its
    /// verification hash. Equal before and after puts means the document did not change, which
    /// costs a few small clones instead of cloning and comparing the whole file.
    pub fn put_footprint(&self, name: &str) -> [Option<Value>; 3] {
        let slot = self.slot_for(name);
        let entry = self
            .doc
            .get("contracts")
            .and_then(|c| c.get(&slot.category))
            .and_then(|c| c.get(&slot.name));
        let extended = self.doc.get(&format!("extended_{}", slot.name));
        let hash = self
            .doc
            .get("verification")
            .and_then(|v| v.get("implementationHashes"))
            .and_then(|h| h.get(&slot.name));
        [entry.cloned(), extended.cloned(), hash.cloned()]
    }

    /// Where `put` writes `name`: its existing entry (directly or through an alias), else a new one in its category.
    fn slot_for(&self, name: &str) -> Slot {
        self.find(name).unwrap_or_else(|| Slot {
            category: category_for(name).into(),
            name: name.into(),
        })
    }

    /// Removes a record, its `extended_` data, its hash and aliases that point at it.
    pub fn remove(&mut self, name: &str) -> bool {
        // A damaged file may hold the name in two categories: all go, or a read would still
        // find the other one after the delete said it was gone.
        let holders: Vec<&str> = CATEGORIES
            .into_iter()
            .filter(|c| self.category(c).is_some_and(|m| m.contains_key(name)))
            .collect();
        if holders.is_empty() {
            return object_at(&mut self.doc, &["contracts", "legacy"])
                .shift_remove(name)
                .is_some();
        }
        for category in holders {
            object_at(&mut self.doc, &["contracts", category]).shift_remove(name);
        }
        self.doc.shift_remove(&format!("extended_{name}"));
        object_at(&mut self.doc, &["verification", "implementationHashes"]).shift_remove(name);
        object_at(&mut self.doc, &["contracts", "legacy"])
            .retain(|_, target| target.get("currentName").and_then(Value::as_str) != Some(name));
        true
    }

    /// `STATE_CORRUPT` unless `fileVersion` is absent or an integer that can still go up by one
    /// as a JS-safe integer: the compare-and-swap guard must not wrap, panic or reset to 1.
    /// Writers call it before [`UnifiedFile::stamp_write`].
    pub fn check_version_can_advance(&self, path: &Path) -> Result<()> {
        let ok = match self.doc.get("fileVersion") {
            None | Some(Value::Null) => true,
            Some(v) => v
                .as_u64()
                .and_then(|n| n.checked_add(1))
                .is_some_and(|n| n <= js_json::MAX_SAFE),
        };
        if ok {
            return Ok(());
        }
        Err(Error::new(
            ErrorCode::Corrupt,
            format!(
                "{} has fileVersion {}, which cannot be incremented; nothing was written",
                path.display(),
                self.doc["fileVersion"]
            ),
        )
        .with_path(path))
    }

    /// Marks a write: `fileVersion` + 1, `metadata.lastUpdated`, fresh checksums.
    pub fn stamp_write(&mut self, now_ms: u64) {
        let version = self.file_version().unwrap_or(0).saturating_add(1);
        js_json::insert(&mut self.doc, "fileVersion".into(), version.into());
        let now = iso_from_ms(now_ms);
        js_json::insert(
            object_at(&mut self.doc, &["metadata"]),
            "lastUpdated".into(),
            now.clone().into(),
        );
        let mut checksums = Map::new();
        for section in CHECKSUMMED_SECTIONS {
            if let Some(value) = self.doc.get(section) {
                checksums.insert(section.into(), js_json::section_checksum(value).into());
            }
        }
        let integrity = object_at(&mut self.doc, &["verification", "dataIntegrity"]);
        js_json::insert(integrity, "lastValidated".into(), now.into());
        js_json::insert(integrity, "checksums".into(), Value::Object(checksums));
        js_json::insert(integrity, "algorithm".into(), CHECKSUM_ALGORITHM.into());
    }

    fn category(&self, category: &str) -> Option<&Map<String, Value>> {
        self.doc.get("contracts")?.get(category)?.as_object()
    }

    /// Direct entries first (core, protocol, infrastructure), then a legacy alias.
    fn find(&self, name: &str) -> Option<Slot> {
        for category in CATEGORIES {
            if self
                .category(category)
                .is_some_and(|m| m.contains_key(name))
            {
                return Some(Slot {
                    category: category.into(),
                    name: name.into(),
                });
            }
        }
        let alias = self.category("legacy")?.get(name)?;
        let slot = Slot {
            category: alias.get("currentCategory")?.as_str()?.into(),
            name: alias.get("currentName")?.as_str()?.into(),
        };
        self.category(&slot.category)?
            .contains_key(&slot.name)
            .then_some(slot)
    }

    fn to_record(&self, requested: &str, slot: &Slot) -> Option<ContractRecord> {
        let entry = self
            .category(&slot.category)?
            .get(&slot.name)?
            .as_object()?;
        let proxy = text(entry.get("proxy"));
        let address = text(entry.get("implementation"))
            .or(text(entry.get("address")))
            .or(proxy)?;
        // Data written for the canonical name wins; the alias's own is the fallback.
        let extended = [&slot.name, requested]
            .iter()
            .find_map(|n| self.doc.get(&format!("extended_{n}"))?.as_object());
        let ext_str = |field: &str| text(extended.and_then(|e| e.get(field)));
        let verified_hash = [&slot.name, requested].iter().find_map(|n| {
            text(
                self.doc
                    .get("verification")?
                    .get("implementationHashes")?
                    .get(*n),
            )
        });
        let implementation_hash = ext_str("implementationHash").or(verified_hash);
        let factory = ext_str("factoryByteCodeHash")
            .or(implementation_hash)
            .or_else(|| text(self.doc.get("factoryBytecodeHashes")?.get(&slot.name)))
            .unwrap_or("");
        Some(ContractRecord {
            contract_name: requested.to_string(),
            chain_id: self.chain_id(),
            network_name: ext_str("networkName").unwrap_or(self.network()).to_string(),
            address: address.to_string(),
            factory_byte_code_hash: factory.to_string(),
            implementation_hash: implementation_hash.map(str::to_string),
            proxy_address: proxy.filter(|p| *p != address).map(str::to_string),
            deployment_args: extended
                .and_then(|e| e.get("deploymentArgs"))
                .and_then(Value::as_array)
                .cloned(),
            timestamp: self.timestamp_of(entry, extended),
        })
    }

    /// `extended_` timestamp, else the entry's own, else its `deployedAt`, else the file's; never "now".
    fn timestamp_of(
        &self,
        entry: &Map<String, Value>,
        extended: Option<&Map<String, Value>>,
    ) -> u64 {
        let positive = |v: Option<&Value>| v.and_then(Value::as_u64).filter(|t| *t > 0);
        let iso = |v: Option<&Value>| v.and_then(Value::as_str).and_then(ms_from_iso);
        positive(extended.and_then(|e| e.get("timestamp")))
            .or(positive(entry.get("timestamp")))
            .or(iso(entry.get("deployedAt")))
            .or(iso(self
                .doc
                .get("metadata")
                .and_then(|m| m.get("timestamp"))))
            .unwrap_or(0)
    }

    /// The JSON pointer of the value [`UnifiedFile::record`] reads for `field` of `name`
    /// (`implementationHash`, `deploymentArgs` or `timestamp`); `None` when the value is absent.
    ///
    /// Mirrors the fallbacks of `to_record` and `timestamp_of`: change them together.
    pub fn field_pointer(&self, name: &str, field: &str) -> Option<String> {
        let slot = self.find(name)?;
        let names = [slot.name.as_str(), name];
        // The extended_ object `to_record` reads: the canonical name's first, the alias's second.
        let extended = names
            .iter()
            .map(|n| format!("extended_{n}"))
            .find(|key| self.doc.get(key).is_some_and(Value::is_object));
        let in_extended = |key: &str, present: fn(&Value) -> bool| {
            let ext = extended.as_ref()?;
            present(self.doc.get(ext)?.get(key)?).then(|| pointer(&[ext, key]))
        };
        let positive = |v: &Value| v.as_u64().is_some_and(|t| t > 0);
        let iso = |v: &Value| v.as_str().and_then(ms_from_iso).is_some();
        let entry = |key: &str, present: fn(&Value) -> bool| {
            let value = self.category(&slot.category)?.get(&slot.name)?.get(key)?;
            present(value).then(|| pointer(&["contracts", &slot.category, &slot.name, key]))
        };
        match field {
            "implementationHash" => in_extended(field, |v| text(Some(v)).is_some()).or_else(|| {
                names.iter().find_map(|n| {
                    let hashes = self.doc.get("verification")?.get("implementationHashes")?;
                    text(hashes.get(*n))
                        .map(|_| pointer(&["verification", "implementationHashes", n]))
                })
            }),
            "deploymentArgs" => in_extended(field, Value::is_array),
            "timestamp" => in_extended(field, positive)
                .or_else(|| entry("timestamp", positive))
                .or_else(|| entry("deployedAt", iso))
                .or_else(|| {
                    let at = self.doc.get("metadata")?.get("timestamp")?;
                    iso(at).then(|| pointer(&["metadata", "timestamp"]))
                }),
            _ => None,
        }
    }

    fn write_entry(&mut self, slot: &Slot, record: &ContractRecord) {
        let category = object_at(&mut self.doc, &["contracts", &slot.category]);
        if !category.contains_key(&slot.name) {
            js_json::insert(category, slot.name.clone(), Value::Object(Map::new()));
        }
        let Some(Value::Object(entry)) = category.get_mut(&slot.name) else {
            // A non-object entry is replaced: it held no contract the reader could use.
            category.insert(slot.name.clone(), Value::Object(Map::new()));
            return self.write_entry(slot, record);
        };
        let proxy = record
            .proxy_address
            .clone()
            .unwrap_or_else(|| record.address.clone());
        js_json::insert(entry, "proxy".into(), proxy.into());
        js_json::insert(
            entry,
            "implementation".into(),
            record.address.clone().into(),
        );
        // Keep fields other tools wrote consistent instead of dropping them (§2.3 bug).
        if entry.contains_key("address") {
            entry.insert("address".into(), record.address.clone().into());
        }
        if entry.get("timestamp").is_some_and(Value::is_number) {
            entry.insert("timestamp".into(), record.timestamp.into());
        }
    }
}

/// The category a new name goes to, judged by its last `:` segment (qualified names included).
pub fn category_for(name: &str) -> &'static str {
    let base = name.rsplit(':').next().unwrap_or(name);
    match base {
        "LookCoin" | "SupplyOracle" => "core",
        "CrossChainRouter" | "FeeManager" | "SecurityManager" | "ProtocolRegistry" => {
            "infrastructure"
        }
        _ if base.contains("Module") => "protocol",
        _ => "core",
    }
}

/// A non-empty string value (shared with the legacy JSON reader).
pub(crate) fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The `extended_<name>` object: the record's data the contract entry has no place for.
fn extended_value(record: &ContractRecord, file_network: &str) -> Value {
    let mut ext = Map::new();
    ext.insert(
        "factoryByteCodeHash".into(),
        record.factory_byte_code_hash.clone().into(),
    );
    if let Some(hash) = &record.implementation_hash {
        ext.insert("implementationHash".into(), hash.clone().into());
    }
    if let Some(args) = &record.deployment_args {
        ext.insert("deploymentArgs".into(), Value::Array(args.clone()));
    }
    ext.insert("timestamp".into(), record.timestamp.into());
    // The spelling the deploy script wrote (`bscTestnet`, `test`) when it is not the file's
    // own, so LevelDB → unified → LevelDB gives the same bytes back.
    if record.network_name != file_network {
        ext.insert("networkName".into(), record.network_name.clone().into());
    }
    Value::Object(ext)
}

/// The object at `path`, created (in JS key order) where missing or not an object.
fn object_at<'a>(doc: &'a mut Map<String, Value>, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut current = doc;
    for key in path {
        if !current.get(*key).is_some_and(Value::is_object) {
            js_json::insert(current, (*key).to_string(), Value::Object(Map::new()));
        }
        let Some(Value::Object(next)) = current.get_mut(*key) else {
            unreachable!("just made {key} an object")
        };
        current = next;
    }
    current
}

/// An RFC 6901 JSON pointer.
pub(crate) fn pointer(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> ContractRecord {
        ContractRecord {
            contract_name: name.into(),
            chain_id: 97,
            network_name: "bsctestnet".into(),
            address: format!("0x{}", "1".repeat(40)),
            factory_byte_code_hash: format!("0x{}", "a".repeat(64)),
            implementation_hash: Some(format!("0x{}", "a".repeat(64))),
            proxy_address: Some(format!("0x{}", "2".repeat(40))),
            deployment_args: Some(vec!["20000000000000000000000000".into()]),
            timestamp: 1_755_175_455_261,
        }
    }

    #[test]
    fn the_put_footprint_changes_exactly_when_the_document_does() {
        let mut file = UnifiedFile::skeleton(97, "bsctestnet", Tier::Testnet, 0);
        let rec = record("LookCoin");
        let mut variants = vec![rec.clone()];
        let mut moved = rec.clone();
        moved.address = format!("0x{}", "3".repeat(40));
        variants.push(moved);
        let mut args = rec.clone();
        args.deployment_args = None;
        variants.push(args);
        let mut unhashed = rec.clone();
        unhashed.implementation_hash = None;
        variants.push(unhashed);
        for variant in variants.iter().chain(variants.iter()) {
            let before_doc = file.clone();
            let before = file.put_footprint(&variant.contract_name);
            file.put(variant);
            let changed = file.put_footprint(&variant.contract_name) != before;
            assert_eq!(changed, file != before_doc, "{variant:?}");
            // The same record again never changes anything.
            let again = file.put_footprint(&variant.contract_name);
            file.put(variant);
            assert_eq!(file.put_footprint(&variant.contract_name), again);
        }
    }

    #[test]
    fn put_then_read_round_trips_and_stamps() {
        let mut file = UnifiedFile::skeleton(97, "bsctestnet", Tier::Testnet, 0);
        let rec = record("contracts/xchain/CrossChainRouter.sol:CrossChainRouter");
        file.put(&rec);
        assert_eq!(file.record(&rec.contract_name), Some(rec.clone()));
        assert!(file.as_map()["contracts"]["infrastructure"]
            .get(&rec.contract_name)
            .is_some());
        file.stamp_write(1_000);
        file.stamp_write(2_000);
        assert_eq!(file.file_version(), Some(2));
        let reparsed = UnifiedFile::parse(Path::new("x"), &file.to_text()).unwrap();
        assert_eq!(reparsed, file);
        let sum = &file.as_map()["verification"]["dataIntegrity"]["checksums"]["contracts"];
        assert_eq!(
            sum.as_str().unwrap(),
            js_json::section_checksum(&file.as_map()["contracts"])
        );
    }

    #[test]
    fn a_network_spelling_other_than_the_files_is_kept_in_extended() {
        let mut file = UnifiedFile::skeleton(97, "bsctestnet", Tier::Testnet, 0);
        let mut rec = record("FeeManager");
        file.put(&rec);
        assert!(file.as_map()["extended_FeeManager"]
            .get("networkName")
            .is_none());
        rec.network_name = "bscTestnet".into();
        file.put(&rec);
        assert_eq!(
            file.as_map()["extended_FeeManager"]["networkName"],
            "bscTestnet"
        );
        assert_eq!(file.record("FeeManager"), Some(rec));
    }

    #[test]
    fn field_pointers_name_where_each_value_is_read() {
        let mut file = UnifiedFile::skeleton(97, "bsctestnet", Tier::Testnet, 0);
        let rec = record("contracts/x/A.sol:LookCoin");
        file.put(&rec);
        let ext = "/extended_contracts~1x~1A.sol:LookCoin";
        let at = |field| file.field_pointer(&rec.contract_name, field);
        assert_eq!(at("deploymentArgs"), Some(format!("{ext}/deploymentArgs")));
        assert_eq!(at("timestamp"), Some(format!("{ext}/timestamp")));
        assert_eq!(
            at("implementationHash"),
            Some(format!("{ext}/implementationHash"))
        );
        let doc = &mut file.doc;
        let extended = doc.get_mut(&ext[1..].replace("~1", "/")).unwrap();
        extended
            .as_object_mut()
            .unwrap()
            .remove("implementationHash");
        assert_eq!(
            file.field_pointer(&rec.contract_name, "implementationHash"),
            Some("/verification/implementationHashes/contracts~1x~1A.sol:LookCoin".into())
        );
        assert_eq!(file.field_pointer("Missing", "timestamp"), None);
        assert_eq!(file.field_pointer(&rec.contract_name, "address"), None);
    }

    #[test]
    fn remove_drops_entry_extended_hash_and_aliases() {
        let mut file = UnifiedFile::skeleton(97, "bsctestnet", Tier::Testnet, 0);
        file.put(&record("LookCoin"));
        assert!(file.remove("LookCoin"));
        assert!(!file.remove("LookCoin"));
        assert_eq!(file.record("LookCoin"), None);
        assert!(!file.as_map().contains_key("extended_LookCoin"));
    }

    #[test]
    fn remove_drops_a_name_held_in_two_categories_from_both() {
        let mut file = UnifiedFile::skeleton(97, "bsctestnet", Tier::Testnet, 0);
        file.put(&record("LookCoin"));
        let entry = file.as_map()["contracts"]["core"]["LookCoin"].clone();
        object_at(&mut file.doc, &["contracts", "protocol"]).insert("LookCoin".into(), entry);
        assert!(file.record("LookCoin").is_some());
        assert!(file.remove("LookCoin"));
        assert_eq!(file.record("LookCoin"), None, "no category still holds it");
        assert!(!file.remove("LookCoin"));
    }

    #[test]
    fn categories_follow_the_base_name() {
        assert_eq!(category_for("LookCoin"), "core");
        assert_eq!(category_for("LayerZeroModule"), "protocol");
        assert_eq!(category_for("a/b.sol:FeeManager"), "infrastructure");
        assert_eq!(category_for("Other"), "core");
    }

    #[test]
    fn non_unified_text_is_corrupt() {
        for text in ["{", "[]", r#"{"schemaVersion":"2.0.0"}"#] {
            let err = UnifiedFile::parse(Path::new("f.json"), text).unwrap_err();
            assert_eq!(err.code, ErrorCode::Corrupt, "{text}");
            assert_eq!(err.details.path.as_deref(), Some("f.json"));
        }
    }
}
