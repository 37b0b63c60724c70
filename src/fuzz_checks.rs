//! The invariants the fuzz targets check, one function per target (`fuzz/fuzz_targets/<name>.rs`).
//!
//! They live in the library so that `cargo test` replays every committed corpus file through
//! exactly the code libFuzzer runs (`tests/fuzz_corpora.rs`), on stable and without libFuzzer.
//! Bad input never panics; a broken invariant panics with a message naming it.

use std::path::Path;

use serde_json::Value;

use crate::backend::legacy_json;
use crate::backup::manifest::BackupManifest;
use crate::backup::sums;
use crate::js_json;
use crate::record::{
    chain_key_range, check_chain_id, contract_key, parse_key, ContractRecord, MAX_SAFE_INTEGER,
};
use crate::time::{iso_from_ms, ms_from_iso};
use crate::unified::{UnifiedFile, CHECKSUMMED_SECTIONS};
use crate::{Error, ErrorCode};

/// A target's check: returns on any input the parser handles correctly, panics otherwise.
pub type Check = fn(&[u8]);

/// Every target: its name (also the folder of its corpus under `fuzz/corpus/`) and its check.
pub const TARGETS: [(&str, Check); 6] = [
    ("sums", check_sums),
    ("manifest", check_manifest),
    ("unified", check_unified),
    ("leveldb_key", check_leveldb_key),
    ("leveldb_value", check_leveldb_value),
    ("legacy_json", check_legacy_json),
];

/// `checksums/SHA256SUMS`: every line is an entry or a bad line, and written entries parse back.
pub fn check_sums(data: &[u8]) {
    // The verifier reads the file as UTF-8 and reports it unreadable otherwise; lossy text
    // still lets the fuzzer's bytes reach the parser.
    let text = String::from_utf8_lossy(data);
    let (entries, bad) = sums::parse(&text);
    let lines = text.lines().filter(|l| !l.is_empty()).count();
    assert_eq!(
        entries.len() + bad.len(),
        lines,
        "every non-empty line is an entry or a bad line"
    );
    for entry in &entries {
        assert!(
            is_lower_hex(&entry.sha256, 64),
            "hash {:?} is not 64 lower-case hex digits",
            entry.sha256
        );
        assert_eq!(
            sums::check_relative(&entry.path),
            Ok(()),
            "an accepted path is safe"
        );
    }
    assert!(bad.iter().all(|b| b.line >= 1 && !b.reason.is_empty()));
    let written = sums::format(&entries);
    assert_eq!(
        sums::parse(&written),
        (entries, Vec::new()),
        "format → parse gives the entries back; written: {written:?}"
    );
}

/// `BACKUP_MANIFEST.json`: accepted manifests are sane and parse the same after the writer's
/// serialiser (`serde_json::to_string_pretty`) has rewritten them.
pub fn check_manifest(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let manifest = match BackupManifest::parse(&text) {
        Ok(manifest) => manifest,
        // The reason goes into the verification report as it is.
        Err(why) => return assert!(!why.is_empty(), "an empty reason"),
    };
    for (path, hash) in &manifest.checksums {
        assert!(is_lower_hex(hash, 64), "checksums[{path:?}] = {hash:?}");
    }
    assert_eq!(manifest.timestamp_ms, ms_from_iso(&manifest.timestamp));
    if let Some(ms) = manifest.timestamp_ms {
        assert_eq!(
            ms_from_iso(&iso_from_ms(ms)),
            Some(ms),
            "timestamp {:?}",
            manifest.timestamp
        );
    }
    if manifest.format_version < 2 {
        assert!(
            manifest.categories.is_empty(),
            "old categories are not trusted"
        );
    }
    let value: Value = serde_json::from_str(&text).expect("a parsed manifest is JSON");
    let rewritten = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
    assert_eq!(
        BackupManifest::parse(&rewritten),
        Ok(manifest),
        "rewritten: {rewritten}"
    );
}

/// A unified v3 file: errors are `STATE_CORRUPT`; an accepted file survives write → parse
/// unchanged, its checksums verify after a stamped write, and every record it holds reads
/// back as stored after being put again.
pub fn check_unified(data: &[u8]) {
    // The backend turns a file that is not UTF-8 into STATE_CORRUPT before parsing.
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.unified.json");
    let file = match UnifiedFile::parse(path, &text) {
        Ok(file) => file,
        Err(err) => return assert_corrupt(&err, path),
    };
    let written = file.to_text();
    let reread = UnifiedFile::parse(path, &written)
        .unwrap_or_else(|e| panic!("the written file does not parse: {e}\n{written}"));
    assert_eq!(reread, file, "parse → write → parse changed the document");
    let mut stamped = file.clone();
    stamped.stamp_write(1_755_000_000_000);
    let stamped = UnifiedFile::parse(path, &stamped.to_text()).expect("a stamped file parses");
    let doc = stamped.as_map();
    for section in CHECKSUMMED_SECTIONS {
        let stored = &doc["verification"]["dataIntegrity"]["checksums"][section];
        let actual = doc.get(section).map(js_json::section_checksum);
        assert_eq!(stored.as_str(), actual.as_deref(), "{section} checksum");
    }
    for record in file.records() {
        let name = &record.contract_name;
        assert_eq!(record.chain_id, file.chain_id());
        for field in ["implementationHash", "deploymentArgs", "timestamp"] {
            if let Some(pointer) = file.field_pointer(name, field) {
                let doc = Value::Object(file.as_map().clone());
                assert!(
                    doc.pointer(&pointer).is_some(),
                    "field_pointer({name:?}, {field}) = {pointer:?} points at nothing"
                );
            }
        }
        let mut copy = file.clone();
        copy.put(&record);
        assert_eq!(
            copy.record(name).as_ref(),
            Some(&record),
            "put then read changed {name:?}"
        );
    }
}

/// A LevelDB key: accepted keys round-trip and fall in their chain's range; others are
/// `VALIDATION_FAILED` naming the key.
pub fn check_leveldb_key(data: &[u8]) {
    // The scanner refuses keys that are not UTF-8 as STATE_CORRUPT before parsing them.
    let key = String::from_utf8_lossy(data);
    match parse_key(&key) {
        Ok((chain_id, name)) => {
            assert_eq!(contract_key(chain_id, name), key, "key does not round-trip");
            assert_eq!(check_chain_id(chain_id), Ok(()));
            let (start, end) = chain_key_range(chain_id);
            assert!(
                start.as_str() <= &*key && &*key < end.as_str(),
                "{key:?} is outside [{start:?}, {end:?})"
            );
        }
        Err(err) => {
            assert_eq!(err.code, ErrorCode::ValidationFailed, "{err}");
            assert_eq!(err.details.key.as_deref(), Some(&*key));
        }
    }
}

/// A LevelDB value: errors are `STATE_CORRUPT` naming the key; an accepted record encodes to
/// bytes that decode to the same record and encode to the same bytes.
pub fn check_leveldb_value(data: &[u8]) {
    check_input_text(data);
    let key = "97-Fuzz";
    let record = match ContractRecord::from_leveldb_value(key, data) {
        Ok(record) => record,
        Err(err) => {
            assert_eq!(err.code, ErrorCode::Corrupt, "{err}");
            return assert_eq!(err.details.key.as_deref(), Some(key));
        }
    };
    let bytes = record.to_leveldb_value();
    let decoded = ContractRecord::from_leveldb_value(key, &bytes).unwrap_or_else(|e| {
        panic!(
            "the encoded record does not decode: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(
        decoded, record,
        "decode → encode → decode changed the record"
    );
    assert_eq!(decoded.to_leveldb_value(), bytes);
}

/// The same bytes as `putContract` input: whenever the typed reading answers, the general
/// one (a `Value`, then `from_input_json`) gives the same record.
fn check_input_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(fast) = ContractRecord::from_input_text(text, 97) else {
        return;
    };
    let value = crate::js_json::parse(text).expect("text the typed reading took is JSON");
    assert_eq!(
        Ok(fast),
        ContractRecord::from_input_json(value, 97),
        "{text}"
    );
}

/// A legacy v1 `deployments/<network>.json`: errors are `STATE_CORRUPT`; records belong to
/// the file's chain and those the LevelDB migration can write read back the same from LevelDB.
pub fn check_legacy_json(data: &[u8]) {
    let path = Path::new("fuzz.json");
    let doc = match legacy_json::parse_document(path, data) {
        Ok(doc) => doc,
        Err(err) => return assert_corrupt(&err, path),
    };
    let chain_id = doc["chainId"]
        .as_u64()
        .expect("an accepted file has a chainId");
    let records = legacy_json::records_of(&doc);
    let contracts = doc.get("contracts").and_then(Value::as_object);
    assert!(records.len() <= contracts.map_or(0, |c| c.len()));
    for record in &records {
        assert_eq!(record.chain_id, chain_id);
        assert!(contracts.is_some_and(|c| c.contains_key(&record.contract_name)));
        assert!(!record.address.is_empty(), "a record without an address");
        assert_ne!(record.proxy_address.as_ref(), Some(&record.address));
        assert_eq!(record.deployment_args, None, "v1 files hold no arguments");
        if let Some(hash) = &record.implementation_hash {
            assert_eq!(&record.factory_byte_code_hash, hash);
        }
        if check_chain_id(record.chain_id).is_ok() && record.timestamp <= MAX_SAFE_INTEGER {
            let bytes = record.to_leveldb_value();
            let back = ContractRecord::from_leveldb_value(&record.key(), &bytes);
            assert_eq!(
                back.as_ref(),
                Ok(record),
                "a migrated record reads back changed"
            );
        }
    }
}

fn assert_corrupt(err: &Error, path: &Path) {
    assert_eq!(err.code, ErrorCode::Corrupt, "{err}");
    assert_eq!(
        err.details.path.as_deref(),
        path.to_str(),
        "the error names the file"
    );
}

fn is_lower_hex(s: &str, digits: usize) -> bool {
    s.len() == digits && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
