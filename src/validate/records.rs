//! Rules every record obeys, whichever store holds it.

use super::{Finding, Severity};
use crate::backend::RawEntry;
use crate::chains::DEV_CHAIN_ID;
use crate::record::{is_hex, ContractRecord};

/// Judges one stored entry; dev-chain rows are reported apart as info, never as production errors.
pub fn judge_entry(entry: &RawEntry, out: &mut Vec<Finding>) {
    let at =
        |code, severity, message: String| Finding::new(code, severity, &entry.location, message);
    let record = match &entry.record {
        Ok(record) => record,
        Err(err) => {
            out.push(at(
                "UNREADABLE",
                Severity::Error,
                format!("{}; restore it from a verified backup", err.message),
            ));
            return;
        }
    };
    match entry.expected_chain {
        Some(chain) if chain != record.chain_id => out.push(at(
            "CHAIN_MISMATCH",
            Severity::Error,
            format!(
                "stored for chain {chain} but the record says chainId {}; one of them is wrong",
                record.chain_id
            ),
        )),
        None => out.push(at(
            "UNMAPPED_CHAIN",
            Severity::Warning,
            "the file name is not in the chain map; add it to chainMap or rename the file".into(),
        )),
        _ => {}
    }
    let problems = problems(record);
    if problems.is_empty() {
        return;
    }
    if record.chain_id == DEV_CHAIN_ID {
        let whys: Vec<&str> = problems.iter().map(|(_, why)| why.as_str()).collect();
        let message = format!(
            "dev chain {DEV_CHAIN_ID} row (not production): {}",
            whys.join("; ")
        );
        out.push(at("DEV_RECORD", Severity::Info, message));
    } else {
        for (code, why) in problems {
            out.push(at(
                code,
                Severity::Error,
                format!("{why}; correct the record from the deployment's receipts"),
            ));
        }
    }
}

/// What is malformed in a record: (code, phrase) pairs.
fn problems(record: &ContractRecord) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if record.chain_id == 0 {
        out.push((
            "BAD_CHAIN_ID",
            "chainId is not a positive integer".to_string(),
        ));
    }
    if record.contract_name.is_empty() {
        out.push(("MISSING_FIELD", "contractName is empty".into()));
    }
    if !is_hex(&record.address, 40) {
        out.push((
            "BAD_ADDRESS",
            format!("address {:?} is not 0x + 40 hex digits", record.address),
        ));
    }
    if let Some(proxy) = record
        .proxy_address
        .as_ref()
        .filter(|p| !p.is_empty() && !is_hex(p, 40))
    {
        out.push((
            "BAD_ADDRESS",
            format!("proxyAddress {proxy:?} is not 0x + 40 hex digits"),
        ));
    }
    if record.factory_byte_code_hash.is_empty() {
        out.push(("EMPTY_HASH", "factoryByteCodeHash is empty".into()));
    } else if !is_hex(&record.factory_byte_code_hash, 64) {
        out.push((
            "BAD_HASH",
            "factoryByteCodeHash is not 0x + 64 hex digits".into(),
        ));
    }
    if let Some(hash) = record
        .implementation_hash
        .as_ref()
        .filter(|h| !h.is_empty() && !is_hex(h, 64))
    {
        out.push((
            "BAD_HASH",
            format!("implementationHash {hash:?} is not 0x + 64 hex digits"),
        ));
    }
    out
}
