//! The one chain map: chain id ↔ network file name, and tier (FORMATS §2.1, §2.2).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Error, ErrorCode, Result};

/// Default names, with the Sapphire pair the right way round (the old scripts swapped it).
const DEFAULT_NAMES: [(u64, &str); 8] = [
    (56, "bscmainnet"),
    (97, "bsctestnet"),
    (84532, "basesepolia"),
    (11155420, "optimismsepolia"),
    (23294, "sapphiremainnet"),
    (23295, "sapphiretestnet"),
    (8453, "basemainnet"),
    (10, "optimismmainnet"),
];

const MAINNETS: [u64; 5] = [56, 8453, 10, 23294, 9070];
const TESTNETS: [u64; 4] = [97, 84532, 11155420, 23295];
/// Hardhat's local chain: never production.
pub const DEV_CHAIN_ID: u64 = 31337;

/// The network tier of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// A production chain.
    Mainnet,
    /// A public test chain.
    Testnet,
    /// A local development chain.
    Dev,
    /// Not in the tier table.
    Unknown,
}

impl Tier {
    /// The `networkTier` string of the unified files.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Mainnet => "mainnet",
            Tier::Testnet => "testnet",
            Tier::Dev => "dev",
            Tier::Unknown => "unknown",
        }
    }
}

/// Chain id ↔ network name, shared by every backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainMap {
    names: BTreeMap<u64, String>,
}

impl Default for ChainMap {
    fn default() -> Self {
        ChainMap {
            names: DEFAULT_NAMES
                .iter()
                .map(|(id, name)| (*id, name.to_string()))
                .collect(),
        }
    }
}

impl ChainMap {
    /// The defaults with `overrides` (`{"<chainId>": "<name>"}`) applied on top.
    pub fn with_overrides(overrides: &Value) -> Result<Self> {
        let mut map = ChainMap::default();
        let Some(obj) = overrides.as_object() else {
            return Err(invalid(
                "chainMap must be an object of {\"<chainId>\": \"<name>\"}",
            ));
        };
        for (id, name) in obj {
            let id: u64 = id
                .parse()
                .map_err(|_| invalid(&format!("chainMap key {id:?} is not a chain id")))?;
            let name = name
                .as_str()
                .filter(|n| is_file_safe_name(n))
                .ok_or_else(|| invalid(&format!("chainMap name for {id} must be [a-z0-9]+")))?;
            map.names.retain(|_, existing| existing != name);
            map.names.insert(id, name.to_string());
        }
        Ok(map)
    }

    /// The network (file) name of a chain: the mapped name, else `chain<id>`.
    pub fn network_name(&self, chain_id: u64) -> String {
        self.names
            .get(&chain_id)
            .cloned()
            .unwrap_or_else(|| format!("chain{chain_id}"))
    }

    /// Whether the map names this chain (rather than falling back to `chain<id>`).
    pub fn knows(&self, chain_id: u64) -> bool {
        self.names.contains_key(&chain_id)
    }

    /// The chain a network (file) name belongs to, including `chain<id>` names.
    pub fn chain_id(&self, network: &str) -> Option<u64> {
        if let Some((id, _)) = self.names.iter().find(|(_, n)| n.as_str() == network) {
            return Some(*id);
        }
        let id: u64 = network.strip_prefix("chain")?.parse().ok()?;
        (format!("chain{id}") == network && !self.names.contains_key(&id)).then_some(id)
    }

    /// The tier that follows from the chain id (never from the name).
    pub fn tier(&self, chain_id: u64) -> Tier {
        if chain_id == DEV_CHAIN_ID {
            Tier::Dev
        } else if MAINNETS.contains(&chain_id) {
            Tier::Mainnet
        } else if TESTNETS.contains(&chain_id) {
            Tier::Testnet
        } else {
            Tier::Unknown
        }
    }
}

/// Network names become file names, so only lower-case letters and digits are allowed.
fn is_file_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn invalid(msg: &str) -> Error {
    Error::new(ErrorCode::ValidationFailed, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sapphire_pair_is_the_right_way_round() {
        let map = ChainMap::default();
        assert_eq!(map.network_name(23295), "sapphiretestnet");
        assert_eq!(map.network_name(23294), "sapphiremainnet");
        assert_eq!(map.chain_id("sapphiremainnet"), Some(23294));
        assert_eq!(map.tier(23295), Tier::Testnet);
    }

    #[test]
    fn unmapped_chains_round_trip_through_chain_names() {
        let map = ChainMap::default();
        assert_eq!(map.network_name(9070), "chain9070");
        assert_eq!(map.chain_id("chain9070"), Some(9070));
        assert_eq!(map.chain_id("chain097"), None);
        assert_eq!(map.chain_id("chain97"), None, "97 has a real name");
        assert_eq!(map.chain_id("mystery"), None);
    }

    #[test]
    fn overrides_replace_names_and_reject_unsafe_ones() {
        let map = ChainMap::with_overrides(&json!({"9070": "akashic", "97": "bnbtest"})).unwrap();
        assert_eq!(map.chain_id("akashic"), Some(9070));
        assert_eq!(map.network_name(97), "bnbtest");
        assert_eq!(map.chain_id("bsctestnet"), None);
        let err = ChainMap::with_overrides(&json!({"1": "../x"})).unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
    }
}
