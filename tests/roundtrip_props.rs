//! Property tests of the format round trips: LevelDB value and key (FORMATS §1.2, §1.3),
//! record ↔ unified file (§2.3, §2.4), `SHA256SUMS` and the backup manifest (§6).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;

mod common;
use serde_json::Value;
use sha2::{Digest, Sha256};

use lookcoin_state::backup::sums::{self, SumEntry};
use lookcoin_state::backup::{
    create_backup, hex, no_progress, BackupManifest, CreateOptions, MANIFEST_FILE, SUMS_FILE,
};
use lookcoin_state::chains::Tier;
use lookcoin_state::js_json;
use lookcoin_state::record::{
    chain_key_range, contract_key, parse_key, ContractRecord, MAX_SAFE_INTEGER,
};
use lookcoin_state::unified::{category_for, UnifiedFile};

/// Contract names as they occur (plain, qualified) and as they might (`-`, `.`, `:`, `/`, Unicode).
fn contract_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Z][A-Za-z0-9]{0,16}",
        "contracts/[a-z]{1,8}/[A-Z][A-Za-z]{0,12}\\.sol:[A-Z][A-Za-z]{0,12}",
        "[A-Za-z0-9./:_-]{1,24}",
        "[-./:]{1,4}[\\PC]{0,12}",
    ]
}

fn chain_id() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..100_000_000, 1..=MAX_SAFE_INTEGER]
}

fn address() -> impl Strategy<Value = String> {
    "0x[0-9a-fA-F]{40}"
}

fn hash() -> impl Strategy<Value = String> {
    "0x[0-9a-f]{64}"
}

/// Constructor arguments: BigInt strings, addresses, safe integers, fractions, flags, lists.
fn argument() -> impl Strategy<Value = Value> {
    let max = MAX_SAFE_INTEGER as i64;
    let leaf = prop_oneof![
        "[0-9]{1,30}".prop_map(Value::from),
        address().prop_map(Value::from),
        (-max..=max).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite, not an integer", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Value::Array)
    })
}

/// A record as the deploy scripts write them: hashes either both present or the factory one
/// alone (possibly empty, as on the imported test rows).
fn record() -> impl Strategy<Value = ContractRecord> {
    (
        contract_name(),
        chain_id(),
        "[a-zA-Z]{1,16}",
        address(),
        prop_oneof![hash(), Just(String::new())],
        any::<bool>(),
        prop::option::of(address()),
        prop::option::of(prop::collection::vec(argument(), 0..5)),
        1..=MAX_SAFE_INTEGER,
    )
        .prop_map(
            |(name, chain_id, network, address, factory, with_impl, proxy, args, timestamp)| {
                ContractRecord {
                    implementation_hash: (with_impl && !factory.is_empty())
                        .then(|| factory.clone()),
                    contract_name: name,
                    chain_id,
                    network_name: network,
                    address,
                    factory_byte_code_hash: factory,
                    proxy_address: proxy,
                    deployment_args: args,
                    timestamp,
                }
            },
        )
}

/// The LevelDB value written out field by field in the order of FORMATS §1.3.
fn value_in_spec_order(r: &ContractRecord) -> String {
    let s = |text: &str| serde_json::to_string(text).unwrap();
    let mut out = format!(
        "{{\"contractName\":{},\"chainId\":{},\"networkName\":{},\"address\":{},\"factoryByteCodeHash\":{}",
        s(&r.contract_name),
        r.chain_id,
        s(&r.network_name),
        s(&r.address),
        s(&r.factory_byte_code_hash)
    );
    if let Some(hash) = &r.implementation_hash {
        out.push_str(&format!(",\"implementationHash\":{}", s(hash)));
    }
    if let Some(proxy) = &r.proxy_address {
        out.push_str(&format!(",\"proxyAddress\":{}", s(proxy)));
    }
    if let Some(args) = &r.deployment_args {
        let args = js_json::to_compact(&Value::Array(args.clone()));
        out.push_str(&format!(",\"deploymentArgs\":{args}"));
    }
    out.push_str(&format!(",\"timestamp\":{}}}", r.timestamp));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn leveldb_value_round_trips_in_the_spec_field_order(r in record()) {
        let bytes = r.to_leveldb_value();
        prop_assert_eq!(String::from_utf8(bytes.clone()).unwrap(), value_in_spec_order(&r));
        prop_assert_eq!(ContractRecord::from_leveldb_value(&r.key(), &bytes).unwrap(), r);
    }

    #[test]
    fn leveldb_keys_round_trip_and_stay_in_their_chain_range(
        name in contract_name(),
        chain in chain_id(),
        other in chain_id(),
    ) {
        let key = contract_key(chain, &name);
        prop_assert_eq!(parse_key(&key).unwrap(), (chain, name.as_str()));
        let (start, end) = chain_key_range(chain);
        prop_assert!(start <= key && key < end);
        let (other_start, other_end) = chain_key_range(other);
        prop_assert_eq!(other_start <= key && key < other_end, other == chain);
    }

    #[test]
    fn sha256sums_written_are_parsed_back(
        entries in prop::collection::vec(
            ("[0-9a-f]{64}", prop::collection::vec("[^/\\\\\\x00]{1,10}", 1..4)),
            0..8,
        )
    ) {
        let entries: Vec<SumEntry> = entries
            .into_iter()
            .map(|(sha256, parts)| SumEntry { sha256, path: parts.join("/") })
            .filter(|e| sums::check_relative(&e.path).is_ok())
            .collect();
        let text = sums::format(&entries);
        prop_assert_eq!(sums::parse(&text), (entries, Vec::new()), "{:?}", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn records_put_in_a_unified_file_read_back_after_a_write(
        chain in chain_id(),
        file_network in "[a-z]{1,12}",
        records in prop::collection::btree_map(contract_name(), record(), 1..6),
    ) {
        let mut file = UnifiedFile::skeleton(chain, &file_network, Tier::Testnet, 1_755_000_000_000);
        let records: Vec<ContractRecord> = records
            .into_iter()
            .enumerate()
            .map(|(i, (name, mut r))| {
                r.contract_name = name;
                r.chain_id = chain;
                // Some records carry the file's own network spelling, some another one.
                if i % 2 == 0 {
                    r.network_name = file_network.clone();
                }
                r
            })
            .collect();
        for r in &records {
            file.put(r);
        }
        file.stamp_write(1_755_000_000_001);
        let text = file.to_text();
        let reread = UnifiedFile::parse(Path::new("x.unified.json"), &text).unwrap();
        prop_assert_eq!(reread.to_text(), text);
        let contracts = &reread.as_map()["contracts"];
        let integrity = &reread.as_map()["verification"]["dataIntegrity"];
        prop_assert_eq!(
            &integrity["checksums"]["contracts"],
            &Value::from(js_json::section_checksum(contracts))
        );
        for r in &records {
            prop_assert!(contracts[category_for(&r.contract_name)].get(&r.contract_name).is_some());
            prop_assert_eq!(reread.record(&r.contract_name), Some(r.clone()));
        }
        let mut back = reread.records();
        back.sort_by(|a, b| a.contract_name.cmp(&b.contract_name));
        prop_assert_eq!(back, records);
    }
}

fn temp_root() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "lcs-props-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("deployments")).unwrap();
    dir
}

proptest! {
    // Each case writes and fsyncs a real backup: few cases.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn a_created_backups_manifest_and_sums_parse_back_to_what_was_copied(
        files in prop::collection::btree_map(
            "[^/\\\\\\x00.][^/\\\\\\x00]{0,11}\\.json",
            prop::collection::vec(any::<u8>(), 0..300),
            1..6,
        )
    ) {
        let root = temp_root();
        let mut expected = BTreeMap::new();
        for (name, bytes) in &files {
            fs::write(root.join("deployments").join(name), bytes).unwrap();
            expected.insert(format!("legacy-json/{name}"), hex(&Sha256::digest(bytes)));
        }
        let options = CreateOptions {
            root: root.clone(),
            kind: "manual".into(),
            label: None,
            include_unified_history: false,
            ..Default::default()
        };
        let created = create_backup(&options, &no_progress).unwrap();
        let text = fs::read_to_string(created.path.join(MANIFEST_FILE)).unwrap();
        let manifest = BackupManifest::parse(&text).unwrap();
        let (entries, bad) = sums::parse(&fs::read_to_string(created.path.join(SUMS_FILE)).unwrap());
        fs::remove_dir_all(&root).unwrap();

        prop_assert_eq!(manifest.format_version, 2);
        prop_assert_eq!(Some(manifest.backup_id.as_str()),
            created.path.file_name().and_then(|n| n.to_str()));
        prop_assert!(manifest.timestamp_ms.is_some());
        prop_assert_eq!(&manifest.checksums, &expected);
        prop_assert_eq!(manifest.total_files, files.len() as u64);
        let size: usize = files.values().map(Vec::len).sum();
        prop_assert_eq!(manifest.total_size, size as u64);
        let legacy = manifest.categories.iter().find(|c| c.name == "legacyJson").unwrap();
        prop_assert_eq!((legacy.files, legacy.size_bytes), (files.len() as u64, size as u64));
        prop_assert!(bad.is_empty(), "{:?}", bad);
        let listed: BTreeMap<String, String> =
            entries.into_iter().map(|e| (e.path, e.sha256)).collect();
        prop_assert_eq!(listed, expected);
    }
}

/// How a record given to `putContract` may differ from a stored one: what, whether the usual
/// shape (the typed reading must take it), and the change.
type InputChange = (&'static str, bool, fn(&mut serde_json::Map<String, Value>));

const INPUT_CHANGES: [InputChange; 13] = [
    ("none", true, |_| {}),
    ("no chainId", true, |o| drop(o.remove("chainId"))),
    ("null chainId", false, |o| {
        drop(o.insert("chainId".into(), Value::Null))
    }),
    ("float chainId", false, |o| {
        drop(o.insert("chainId".into(), Value::from(97.5)))
    }),
    ("string chainId", false, |o| {
        drop(o.insert("chainId".into(), Value::from("97")))
    }),
    ("chainId beyond 2^53", false, |o| {
        drop(o.insert("chainId".into(), Value::from(MAX_SAFE_INTEGER + 2)))
    }),
    ("no timestamp", true, |o| drop(o.remove("timestamp"))),
    ("null timestamp", true, |o| {
        drop(o.insert("timestamp".into(), Value::Null))
    }),
    ("negative timestamp", false, |o| {
        drop(o.insert("timestamp".into(), Value::from(-1)))
    }),
    ("null hashes", true, |o| {
        o.insert("implementationHash".into(), Value::Null);
        o.insert("proxyAddress".into(), Value::Null);
    }),
    ("number address", false, |o| {
        drop(o.insert("address".into(), Value::from(7)))
    }),
    ("args not an array", false, |o| {
        drop(o.insert("deploymentArgs".into(), Value::from("x")))
    }),
    ("an unknown field", false, |o| {
        drop(o.insert("deployedBy".into(), Value::from("someone")))
    }),
];

/// The record as a JS caller might pass it, after `change`.
fn input_value(r: &ContractRecord, change: &InputChange) -> Value {
    let mut v = r.to_json();
    (change.2)(v.as_object_mut().unwrap());
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The typed reading of `putContract` input agrees with the general one whenever it
    /// answers, and answers for every single record of the usual shape (an array of records
    /// goes the general way).
    #[test]
    fn input_records_read_straight_from_text_as_the_general_reading_does(
        (r, change) in (record(), 0..INPUT_CHANGES.len()),
        chain in chain_id(),
        as_array in any::<bool>(),
    ) {
        let change = &INPUT_CHANGES[change];
        let value = input_value(&r, change);
        let text = js_json::to_compact(&if as_array { Value::Array(vec![value.clone()]) } else { value.clone() });
        let general = ContractRecord::from_input_json(js_json::parse(&js_json::to_compact(&value)).unwrap(), chain);
        match ContractRecord::from_input_text(&text, chain) {
            Some(fast) => {
                prop_assert!(!as_array, "an array was read as one record: {}", text);
                prop_assert_eq!(Ok(fast), general, "{}", text);
            }
            None => prop_assert!(as_array || !change.1, "the usual shape ({}) went the general way: {}", change.0, text),
        }
    }
}

/// A damaged write-ahead log: the fixture's, cut, with zeros after it, and with one byte
/// changed (without the fixtures, loudly skipped, only zeros).
fn damaged_log() -> impl Strategy<Value = Vec<u8>> {
    let fixtures = common::fixtures();
    let log = fixtures
        .map(|f| fs::read(f.join("lookcoin-leveldb-live/000187.log")).unwrap())
        .unwrap_or_default();
    let len = log.len().max(1);
    (0..=len, 0..70_000usize, 0..len, any::<u8>()).prop_map(move |(cut, zeros, at, xor)| {
        let mut bytes = log[..cut.min(log.len())].to_vec();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= xor;
        }
        bytes.resize(bytes.len() + zeros, 0);
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Where a writer continues a damaged log is inside it, stays put when the log is cut
    /// there, and is not moved by zeros written ahead; a refusal is always `STATE_CORRUPT`.
    #[test]
    fn a_damaged_log_is_continued_inside_what_recovery_read(bytes in damaged_log(), more_zeros in 0..40_000usize) {
        let dir = common::temp_dir("log-end");
        let log = dir.join("000001.log");
        fs::write(&log, &bytes).unwrap();
        match lookcoin_state::leveldb_check::log_recovery_end(&log) {
            Ok(end) => {
                prop_assert!(end <= bytes.len() as u64);
                fs::write(&log, [&bytes[..], &vec![0; more_zeros]].concat()).unwrap();
                prop_assert_eq!(lookcoin_state::leveldb_check::log_recovery_end(&log).unwrap(), end);
                fs::write(&log, &bytes[..end as usize]).unwrap();
                prop_assert_eq!(lookcoin_state::leveldb_check::log_recovery_end(&log).unwrap(), end);
            }
            Err(e) => prop_assert_eq!(e.code, lookcoin_state::ErrorCode::Corrupt),
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
