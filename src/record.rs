//! `ContractRecord` (FORMATS §1.1), its LevelDB key (§1.2) and value encoding (§1.3).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::js_json;
use crate::{Error, ErrorCode, Result};

/// The largest integer a JS number holds exactly; chain ids and timestamps must fit.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One deployed contract on one chain, as the deploy scripts read and write it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractRecord {
    /// Hardhat artifact name, possibly fully qualified (`path/To.sol:Name`); opaque, never a path.
    pub contract_name: String,
    /// EVM chain id.
    pub chain_id: u64,
    /// Hardhat `network.name` at write time, not normalised.
    pub network_name: String,
    /// Implementation address (for a proxy) or the contract address.
    pub address: String,
    /// keccak of the creation bytecode without metadata (§1.5), or empty for imported test rows.
    pub factory_byte_code_hash: String,
    /// Implementation hash, absent on some old rows.
    pub implementation_hash: Option<String>,
    /// Proxy address when the contract is behind a proxy.
    pub proxy_address: Option<String>,
    /// Constructor or initializer arguments, BigInts as decimal strings.
    pub deployment_args: Option<Vec<Value>>,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// How strictly a record is checked before it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCheck {
    /// New deployments: every address and hash well-formed.
    Strict,
    /// Records imported as they are: empty hashes allowed.
    AllowEmptyHashes,
}

impl ContractRecord {
    /// Decodes a record from its JSON form (a LevelDB value, an export entry or an API argument).
    ///
    /// Only the JS types of the required fields are checked here, so reads accept what
    /// the real data holds; formats are checked by [`ContractRecord::check_for_write`].
    pub fn from_json(value: &Value) -> std::result::Result<Self, String> {
        let obj = value
            .as_object()
            .ok_or_else(|| format!("expected an object, found {}", type_name(value)))?;
        Ok(ContractRecord {
            contract_name: required_str(obj, "contractName")?,
            chain_id: required_uint(obj, "chainId")?,
            network_name: required_str(obj, "networkName")?,
            address: required_str(obj, "address")?,
            factory_byte_code_hash: required_str(obj, "factoryByteCodeHash")?,
            implementation_hash: optional_str(obj, "implementationHash")?,
            proxy_address: optional_str(obj, "proxyAddress")?,
            deployment_args: optional_args(obj)?,
            timestamp: required_uint(obj, "timestamp")?,
        })
    }

    /// One record of a write's input: [`ContractRecord::from_json`], with `chainId` taken from
    /// `chain_id` when absent and `timestamp` 0 when absent or null (the caller stamps it).
    pub fn from_input_json(mut value: Value, chain_id: u64) -> std::result::Result<Self, String> {
        if let Value::Object(obj) = &mut value {
            obj.entry("chainId").or_insert(chain_id.into());
            if obj.get("timestamp").is_none_or(Value::is_null) {
                obj.insert("timestamp".into(), 0.into());
            }
        }
        ContractRecord::from_json(&value)
    }

    /// One record of a write's input, given as `JSON.stringify` text, read straight into the
    /// fields as [`ContractRecord::from_input_json`] reads it. `None` when the input is not one
    /// record of the usual shape (an array of them included): decode it with
    /// `from_input_json`, which says what is wrong.
    pub fn from_input_text(text: &str, chain_id: u64) -> Option<Self> {
        ExactRecord::from_object(text.as_bytes())?.into_record(Some(chain_id), Some(0))
    }

    /// The JSON object in the field order the old scripts wrote (§1.3).
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("contractName".into(), self.contract_name.clone().into());
        obj.insert("chainId".into(), self.chain_id.into());
        obj.insert("networkName".into(), self.network_name.clone().into());
        obj.insert("address".into(), self.address.clone().into());
        obj.insert(
            "factoryByteCodeHash".into(),
            self.factory_byte_code_hash.clone().into(),
        );
        if let Some(hash) = &self.implementation_hash {
            obj.insert("implementationHash".into(), hash.clone().into());
        }
        if let Some(proxy) = &self.proxy_address {
            obj.insert("proxyAddress".into(), proxy.clone().into());
        }
        if let Some(args) = &self.deployment_args {
            obj.insert("deploymentArgs".into(), Value::Array(args.clone()));
        }
        obj.insert("timestamp".into(), self.timestamp.into());
        Value::Object(obj)
    }

    /// `JSON.stringify` of [`ContractRecord::to_json`], written straight from the fields (no `Value` built).
    pub fn to_json_text(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_json(&mut out);
        out
    }

    /// Appends [`ContractRecord::to_json_text`] to `out`.
    pub fn write_json(&self, out: &mut String) {
        let field = |out: &mut String, name: &str, value: &str| {
            out.push_str(name);
            js_json::write_str(out, value);
        };
        field(out, "{\"contractName\":", &self.contract_name);
        out.push_str(",\"chainId\":");
        js_json::write_uint(out, self.chain_id);
        field(out, ",\"networkName\":", &self.network_name);
        field(out, ",\"address\":", &self.address);
        field(
            out,
            ",\"factoryByteCodeHash\":",
            &self.factory_byte_code_hash,
        );
        if let Some(hash) = &self.implementation_hash {
            field(out, ",\"implementationHash\":", hash);
        }
        if let Some(proxy) = &self.proxy_address {
            field(out, ",\"proxyAddress\":", proxy);
        }
        if let Some(args) = &self.deployment_args {
            out.push_str(",\"deploymentArgs\":[");
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                js_json::write_compact(out, arg);
            }
            out.push(']');
        }
        out.push_str(",\"timestamp\":");
        js_json::write_uint(out, self.timestamp);
        out.push('}');
    }

    /// The LevelDB value: compact `JSON.stringify` bytes, identical to the old scripts' output.
    pub fn to_leveldb_value(&self) -> Vec<u8> {
        self.to_json_text().into_bytes()
    }

    /// Decodes a LevelDB value stored under `key`.
    pub fn from_leveldb_value(key: &str, bytes: &[u8]) -> Result<Self> {
        // Straight into the fields: no `Value` tree, a third of the allocations. It only takes
        // exact shapes the general decoding accepts the same way; anything else (a float
        // chainId, a duplicate key, a wrong type) goes the general way, which names the problem.
        // Integers beyond 2^53 also go the general way: JS reads them rounded, and so must we.
        if let Some(record) =
            ExactRecord::from_object(bytes).and_then(|exact| exact.into_record(None, None))
        {
            return Ok(record);
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Error::new(
                ErrorCode::Corrupt,
                format!("LevelDB value of {key} is not UTF-8 ({e})"),
            )
            .with_key(key)
        })?;
        let value = js_json::parse(text).map_err(|e| {
            Error::new(
                ErrorCode::Corrupt,
                format!("LevelDB value of {key} is not JSON ({e})"),
            )
            .with_key(key)
        })?;
        ContractRecord::from_json(&value).map_err(|e| {
            Error::new(
                ErrorCode::Corrupt,
                format!("LevelDB value of {key} is not a contract record: {e}"),
            )
            .with_key(key)
        })
    }

    /// The LevelDB key `<chainId>-<contractName>`.
    pub fn key(&self) -> String {
        contract_key(self.chain_id, &self.contract_name)
    }

    /// Checks a record before it is written: formats of addresses, hashes and ids.
    pub fn check_for_write(&self, check: WriteCheck) -> Result<()> {
        let fail =
            |msg: String| Err(Error::new(ErrorCode::ValidationFailed, msg).with_key(self.key()));
        if self.contract_name.is_empty() || self.contract_name.contains('\0') {
            return fail("contractName must be a non-empty string without NUL".into());
        }
        if let Err(msg) = check_chain_id(self.chain_id) {
            return fail(msg);
        }
        if self.network_name.is_empty() {
            return fail(format!("networkName of {} is empty", self.contract_name));
        }
        check_address("address", &self.address).or_else(fail)?;
        if let Some(proxy) = &self.proxy_address {
            check_address("proxyAddress", proxy).or_else(fail)?;
        }
        let allow_empty = check == WriteCheck::AllowEmptyHashes;
        check_hash(
            "factoryByteCodeHash",
            &self.factory_byte_code_hash,
            allow_empty,
        )
        .or_else(fail)?;
        if let Some(hash) = &self.implementation_hash {
            check_hash("implementationHash", hash, allow_empty).or_else(fail)?;
        }
        if self.timestamp > MAX_SAFE_INTEGER {
            return fail(format!(
                "timestamp {} is not a safe integer",
                self.timestamp
            ));
        }
        Ok(())
    }
}

/// The LevelDB key of a contract.
pub fn contract_key(chain_id: u64, name: &str) -> String {
    format!("{chain_id}-{name}")
}

/// The contract name without a Solidity source qualifier: `contracts/x/A.sol:A` → `A`.
///
/// The unified files hold some contracts under both spellings (FORMATS §8.3); counting and
/// comparing use this name so the two count once.
pub fn canonical_name(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, short)| short)
}

/// Splits a LevelDB key into chain id and contract name.
///
/// Stricter than the old lenient parse: the chain id must be canonical decimal
/// (`097` and `12abc` are rejected), so every accepted key round-trips.
pub fn parse_key(key: &str) -> Result<(u64, &str)> {
    let bad = |why: &str| {
        Err(Error::new(
            ErrorCode::ValidationFailed,
            format!("LevelDB key {key:?} is not <chainId>-<contractName>: {why}"),
        )
        .with_key(key))
    };
    let Some((id, name)) = key.split_once('-') else {
        return bad("no '-'");
    };
    if name.is_empty() {
        return bad("empty contract name");
    }
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.starts_with('0') {
        return bad("chain id is not a positive canonical decimal");
    }
    match id.parse::<u64>() {
        Ok(n) if check_chain_id(n).is_ok() => Ok((n, name)),
        _ => bad("chain id out of range"),
    }
}

/// The key range `[start, end)` that holds exactly one chain: `.` is the byte after `-`.
pub fn chain_key_range(chain_id: u64) -> (String, String) {
    (format!("{chain_id}-"), format!("{chain_id}."))
}

/// A chain id must be a positive safe integer.
pub fn check_chain_id(chain_id: u64) -> std::result::Result<(), String> {
    if chain_id == 0 || chain_id > MAX_SAFE_INTEGER {
        Err(format!("chainId {chain_id} is not a positive safe integer"))
    } else {
        Ok(())
    }
}

/// Whether `s` is `0x` followed by exactly `digits` hex digits (any case).
pub fn is_hex(s: &str, digits: usize) -> bool {
    s.len() == digits + 2
        && s.starts_with("0x")
        && s.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit)
}

fn check_address(field: &str, value: &str) -> std::result::Result<(), String> {
    if is_hex(value, 40) {
        Ok(())
    } else {
        Err(format!(
            "{field} {value:?} is not 0x followed by 40 hex digits"
        ))
    }
}

fn check_hash(field: &str, value: &str, allow_empty: bool) -> std::result::Result<(), String> {
    if is_hex(value, 64) || (allow_empty && value.is_empty()) {
        Ok(())
    } else {
        Err(format!(
            "{field} {value:?} is not 0x followed by 64 hex digits"
        ))
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The usual shape of a record, decoded without a `Value` tree (see `from_leveldb_value` and
/// `from_input_text`). It takes only shapes the general decoding reads the same way; the
/// caller sends anything else the general way, which names the problem. Unknown fields are
/// refused: skipping them would let through what the general decoding refuses (a repeated key,
/// a number no double holds; found by fuzzing).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExactRecord {
    contract_name: String,
    /// Absent: `None`; `null`: `Some(None)`.
    #[serde(default, deserialize_with = "present")]
    chain_id: Option<Option<u64>>,
    network_name: String,
    address: String,
    factory_byte_code_hash: String,
    #[serde(default)]
    implementation_hash: Option<String>,
    #[serde(default)]
    proxy_address: Option<String>,
    #[serde(default, deserialize_with = "js_json::optional_array")]
    deployment_args: Option<Vec<Value>>,
    /// Absent or `null`: `None`.
    #[serde(default)]
    timestamp: Option<u64>,
}

/// A field that is present, whatever its value (`null` included).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl ExactRecord {
    /// The record in `text` when it is a JSON object of the usual shape. serde would also read
    /// a struct from an array (fields by position), which the general decoding refuses.
    fn from_object(text: &[u8]) -> Option<ExactRecord> {
        if text.trim_ascii_start().first() != Some(&b'{') {
            return None;
        }
        serde_json::from_slice(text).ok()
    }

    /// The record, with `chain_id` when the field is absent and `timestamp` when it is absent
    /// or null; `None` when the general decoding must decide (a null or missing field it has
    /// no default for, an integer JS would have rounded).
    fn into_record(self, chain_id: Option<u64>, timestamp: Option<u64>) -> Option<ContractRecord> {
        let chain_id = match self.chain_id {
            None => chain_id?,
            Some(given) => given?,
        };
        let timestamp = self.timestamp.or(timestamp)?;
        (chain_id <= MAX_SAFE_INTEGER && timestamp <= MAX_SAFE_INTEGER).then_some(ContractRecord {
            contract_name: self.contract_name,
            chain_id,
            network_name: self.network_name,
            address: self.address,
            factory_byte_code_hash: self.factory_byte_code_hash,
            implementation_hash: self.implementation_hash,
            proxy_address: self.proxy_address,
            deployment_args: self.deployment_args,
            timestamp,
        })
    }
}

fn required_str(obj: &Map<String, Value>, field: &str) -> std::result::Result<String, String> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "{field} is {}, expected a string",
            type_name(other)
        )),
        None => Err(format!("{field} is missing")),
    }
}

fn optional_str(
    obj: &Map<String, Value>,
    field: &str,
) -> std::result::Result<Option<String>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required_str(obj, field).map(Some),
    }
}

fn required_uint(obj: &Map<String, Value>, field: &str) -> std::result::Result<u64, String> {
    let value = obj
        .get(field)
        .ok_or_else(|| format!("{field} is missing"))?;
    let n = value
        .as_u64()
        .or_else(|| {
            // JS numbers arrive as doubles; accept those that are exact integers.
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= MAX_SAFE_INTEGER as f64)
                .map(|f| f as u64)
        })
        .ok_or_else(|| format!("{field} is {value}, expected a non-negative integer"))?;
    Ok(n)
}

fn optional_args(obj: &Map<String, Value>) -> std::result::Result<Option<Vec<Value>>, String> {
    match obj.get("deploymentArgs") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items.clone())),
        Some(other) => Err(format!(
            "deploymentArgs is {}, expected an array",
            type_name(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_written_as_an_array_or_with_an_unknown_field_is_not_taken_by_the_typed_reading() {
        let positional = br#"["LookCoin",97,"bsctestnet","0x1111111111111111111111111111111111111111","0x2222222222222222222222222222222222222222222222222222222222222222",null,null,null,1]"#;
        let err = ContractRecord::from_leveldb_value("97-LookCoin", positional).unwrap_err();
        assert_eq!(err.code, ErrorCode::Corrupt, "{err}");
        let text = std::str::from_utf8(positional).unwrap();
        assert!(ContractRecord::from_input_text(text, 97).is_none());
        // An unknown field whose number no double holds: the general reading refuses it.
        let unknown = br#"{"contractName":"X","chainId":97,"networkName":"n","address":"0x1111111111111111111111111111111111111111","factoryByteCodeHash":"","timestamp":1,"other":1e999}"#;
        assert!(ContractRecord::from_leveldb_value("97-X", unknown).is_err());
        assert!(
            ContractRecord::from_input_text(std::str::from_utf8(unknown).unwrap(), 97).is_none()
        );
    }

    fn sample() -> ContractRecord {
        ContractRecord {
            contract_name: "contracts/xchain/CrossChainRouter.sol:CrossChainRouter".into(),
            chain_id: 56,
            network_name: "bsc".into(),
            address: format!("0x{}", "aB".repeat(20)),
            factory_byte_code_hash: format!("0x{}", "1f".repeat(32)),
            implementation_hash: Some(format!("0x{}", "1f".repeat(32))),
            proxy_address: None,
            deployment_args: Some(vec!["20000000000000000000000000".into(), 7.into()]),
            timestamp: 1_754_362_971_780,
        }
    }

    #[test]
    fn value_keeps_the_old_field_order_and_round_trips() {
        let record = sample();
        let bytes = record.to_leveldb_value();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"contractName":"contracts/xchain/CrossChainRouter.sol:CrossChainRouter","chainId":56,"networkName":"bsc","address":"#));
        assert!(text.ends_with(
            r#""deploymentArgs":["20000000000000000000000000",7],"timestamp":1754362971780}"#
        ));
        assert_eq!(
            ContractRecord::from_leveldb_value(&record.key(), &bytes).unwrap(),
            record
        );
    }

    #[test]
    fn keys_parse_strictly_and_keep_dashes_in_names() {
        assert_eq!(parse_key("97-Look-Coin").unwrap(), (97, "Look-Coin"));
        assert_eq!(
            parse_key("56-contracts/x.sol:Y").unwrap(),
            (56, "contracts/x.sol:Y")
        );
        for bad in ["LookCoin", "097-A", "12abc-A", "0-A", "-A", "97-"] {
            assert_eq!(
                parse_key(bad).unwrap_err().code,
                ErrorCode::ValidationFailed,
                "{bad}"
            );
        }
        let (lo, hi) = chain_key_range(5);
        assert!(lo.as_str() <= "5-A" && "5-A" < hi.as_str());
        assert!(!("56-A" >= lo.as_str() && "56-A" < hi.as_str()));
    }

    #[test]
    fn writes_are_checked_strictly() {
        let mut record = sample();
        record.check_for_write(WriteCheck::Strict).unwrap();
        record.address = "0xefgh".into();
        assert_eq!(
            record.check_for_write(WriteCheck::Strict).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        let mut record = sample();
        record.factory_byte_code_hash.clear();
        assert!(record.check_for_write(WriteCheck::Strict).is_err());
        record
            .check_for_write(WriteCheck::AllowEmptyHashes)
            .unwrap();
    }

    #[test]
    fn decoding_reports_what_is_wrong() {
        let err = ContractRecord::from_leveldb_value("97-X", b"{\"contractName\":1}").unwrap_err();
        assert_eq!(err.code, ErrorCode::Corrupt);
        assert!(
            err.message.contains("contractName is a number"),
            "{}",
            err.message
        );
        assert_eq!(err.details.key.as_deref(), Some("97-X"));
    }

    #[test]
    fn the_direct_text_is_exactly_the_compact_json_of_the_value() {
        let mut odd = sample();
        odd.contract_name = "quote\" back\\ nl\n tab\t bell\u{7} del\u{7f} é 😀 </script>".into();
        odd.proxy_address = Some("0xProxy".into());
        odd.network_name = String::new();
        odd.timestamp = (1 << 53) + 2;
        odd.deployment_args = Some(vec![
            serde_json::json!({"b": [1.5, -0.0, 1e21, null, true], "10": "x", "a": {}}),
            serde_json::json!([]),
            serde_json::json!(-12),
        ]);
        let mut bare = sample();
        bare.implementation_hash = None;
        bare.deployment_args = None;
        let mut no_args = sample();
        no_args.deployment_args = Some(vec![]);
        for record in [sample(), odd, bare, no_args] {
            assert_eq!(
                record.to_json_text(),
                js_json::to_compact(&record.to_json()),
                "{record:?}"
            );
        }
    }

    #[test]
    fn the_direct_decoding_agrees_with_the_general_one() {
        let general = |text: &str| {
            js_json::parse(text)
                .map_err(|e| e.to_string())
                .and_then(|v| ContractRecord::from_json(&v))
        };
        let base =
            r#""contractName":"A","networkName":"bsc","address":"0x1","factoryByteCodeHash":"""#;
        let cases = [
            format!(r#"{{{base},"chainId":56,"timestamp":1}}"#),
            format!(r#"{{{base},"chainId":56.0,"timestamp":1e3}}"#),
            format!(
                r#"{{{base},"chainId":56,"timestamp":1,"implementationHash":null,"proxyAddress":null,"deploymentArgs":null}}"#
            ),
            format!(
                r#"{{{base},"chainId":56,"timestamp":1,"deploymentArgs":[{{"b":1,"a":[1.5,"x\u0000"]}}],"extra":true}}"#
            ),
            format!(r#"{{{base},"chainId":56,"chainId":97,"timestamp":1}}"#),
            format!(r#"{{{base},"chainId":-1,"timestamp":1}}"#),
            format!(r#"{{{base},"chainId":56,"timestamp":1,"proxyAddress":5}}"#),
            format!(r#"{{{base},"chainId":56,"timestamp":1,"deploymentArgs":"x"}}"#),
            format!(r#"{{{base},"chainId":56}}"#),
            format!(r#"{{{base},"chainId":18446744073709551615,"timestamp":1}}"#),
            format!(r#"{{{base},"chainId":56,"timestamp":9007199254740993}}"#),
            format!(r#"{{{base},"chainId":56,"timestamp":1,"deploymentArgs":[{{"a":1,"a":2}}]}}"#),
            format!(r#"{{{base},"chainId":56,"timestamp":1,"deploymentArgs":[1.0,-0,1e2]}}"#),
            r#"[1,2]"#.to_string(),
        ];
        for text in cases {
            let decoded = ContractRecord::from_leveldb_value("56-A", text.as_bytes());
            match general(&text) {
                Ok(record) => assert_eq!(decoded.unwrap(), record, "{text}"),
                Err(why) => {
                    let err = decoded.unwrap_err();
                    assert!(
                        err.message.contains(&why),
                        "{text}: {} vs {why}",
                        err.message
                    );
                }
            }
        }
    }
}
