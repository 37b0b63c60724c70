//! The LevelDB backend on the real LookCoin databases.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use lookcoin_state::backend::leveldb::{LevelDbBackend, OpenMode};
use lookcoin_state::backend::Backend;
use lookcoin_state::record::ContractRecord;
use lookcoin_state::ErrorCode;

fn open_copy(fixture: &Path, name: &str) -> (LevelDbBackend, std::path::PathBuf) {
    let dir = common::temp_dir(name).join("leveldb");
    common::copy_tree(fixture, &dir);
    (
        LevelDbBackend::open(&dir, OpenMode::MustExist).unwrap(),
        dir,
    )
}

fn per_chain(records: &[ContractRecord]) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        *counts.entry(r.chain_id).or_default() += 1;
    }
    counts
}

#[test]
fn backup_database_holds_28_records_on_6_chains() {
    let fx = fixtures_or_skip!();
    let (db, _) = open_copy(&fx.join(common::BACKUP).join("leveldb/current"), "bk");
    let all = db.list_all().unwrap();
    assert_eq!(all.len(), 28);
    let expected: BTreeMap<u64, usize> = [
        (56, 8),
        (97, 9),
        (23295, 3),
        (84532, 3),
        (11155420, 3),
        (31337, 2),
    ]
    .into();
    assert_eq!(per_chain(&all), expected);
    let lookcoin = db.get(97, "LookCoin").unwrap().unwrap();
    assert_eq!(
        lookcoin.address,
        "0x5838A9f96E72eA83317D155F31AB660832533bAB"
    );
    assert_eq!(db.get(97, "NoSuchContract").unwrap(), None);
}

#[test]
fn per_chain_scans_do_not_leak_into_prefix_chains() {
    let fx = fixtures_or_skip!();
    let (db, _) = open_copy(&fx.join(common::BACKUP).join("leveldb/current"), "scan");
    for (chain, count) in [(56, 8), (97, 9), (5, 0), (9, 0), (31337, 2)] {
        let records = db.list_chain(chain).unwrap();
        assert_eq!(records.len(), count, "chain {chain}");
        assert!(records.iter().all(|r| r.chain_id == chain));
    }
    let qualified = "contracts/xchain/CrossChainRouter.sol:CrossChainRouter";
    assert!(db.get(56, qualified).unwrap().is_some());
}

#[test]
fn live_database_applies_its_write_ahead_log() {
    let fx = fixtures_or_skip!();
    let (live, _) = open_copy(&fx.join("lookcoin-leveldb-live"), "live");
    let test_row = live.get(31337, "LookCoin").unwrap().unwrap();
    assert_eq!(test_row.timestamp, 1_754_362_971_780);
    let (backup, _) = open_copy(&fx.join(common::BACKUP).join("leveldb/current"), "cmp");
    assert_eq!(live.list_all().unwrap(), backup.list_all().unwrap());
}

#[test]
fn values_we_write_are_byte_identical_to_the_old_scripts() {
    let fx = fixtures_or_skip!();
    let (db, dir) = open_copy(&fx.join(common::BACKUP).join("leveldb/current"), "bytes");
    let original = db.get(97, "SupplyOracle").unwrap().unwrap();
    let raw_before = original.to_leveldb_value();
    db.put_batch(97, std::slice::from_ref(&original)).unwrap();
    db.close().unwrap();
    let reopened = LevelDbBackend::open(&dir, OpenMode::MustExist).unwrap();
    let again = reopened.get(97, "SupplyOracle").unwrap().unwrap();
    assert_eq!(again, original);
    assert_eq!(again.to_leveldb_value(), raw_before);
    assert_eq!(reopened.list_all().unwrap().len(), 28);
}

#[test]
fn a_database_held_by_a_posix_lock_is_refused_by_name() {
    let fx = fixtures_or_skip!();
    let dir = common::temp_dir("held").join("leveldb");
    common::copy_tree(&fx.join("lookcoin-leveldb-live"), &dir);
    // Google LevelDB (Node's `level`) locks LOCK with fcntl(F_SETLK); python's lockf does the same.
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg("import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)")
        .arg(dir.join("LOCK"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let err = LevelDbBackend::open(&dir, OpenMode::MustExist)
        .err()
        .expect("refused");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(err.code, ErrorCode::Locked);
    assert!(err.message.contains("LOCK"), "{}", err.message);
    LevelDbBackend::open(&dir, OpenMode::MustExist).unwrap();
}

#[test]
fn a_missing_database_is_unavailable_not_empty() {
    let dir = common::temp_dir("missing").join("leveldb");
    let err = LevelDbBackend::open(&dir, OpenMode::MustExist)
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::BackendUnavailable);
    assert!(
        !dir.exists(),
        "a refused open must not create the directory"
    );
}

#[test]
fn cached_reads_follow_every_write_of_the_process() {
    let fx = fixtures_or_skip!();
    let (db, dir) = open_copy(
        &fx.join(common::BACKUP).join("leveldb/current"),
        "read-cache",
    );
    // A second open of the same directory shares the database, so its writes must reach `db`'s cache.
    let other = LevelDbBackend::open(&dir, OpenMode::MustExist).unwrap();
    let text = |r: &ContractRecord| lookcoin_state::js_json::to_compact(&r.to_json());
    let json = |name: &str| db.get_json(97, name).unwrap().map(|t| t.to_string());

    let stored = db.get(97, "LookCoin").unwrap().unwrap();
    assert_eq!(
        db.get_json_if_cached(97, "LookCoin"),
        None,
        "nothing read yet"
    );
    assert_eq!(json("LookCoin"), Some(text(&stored)));
    assert!(
        db.get_json_if_cached(97, "LookCoin").is_some(),
        "kept after a read"
    );

    let mut moved = stored.clone();
    moved.address = "0x1111111111111111111111111111111111111111".into();
    other.put_batch(97, std::slice::from_ref(&moved)).unwrap();
    assert_eq!(
        db.get_json_if_cached(97, "LookCoin"),
        None,
        "forgotten by the write"
    );
    assert_eq!(json("LookCoin"), Some(text(&moved)));

    assert_eq!(json("Fresh"), None);
    assert_eq!(
        db.get_json_if_cached(97, "Fresh"),
        Some(None),
        "missing is cached too"
    );
    let mut fresh = moved.clone();
    fresh.contract_name = "Fresh".into();
    other.put_batch(97, std::slice::from_ref(&fresh)).unwrap();
    assert_eq!(json("Fresh"), Some(text(&fresh)));
    assert!(other.delete(97, "Fresh").unwrap());
    assert_eq!(json("Fresh"), None);

    let (hits, misses) = db.cache_stats().unwrap();
    assert!(hits >= 2 && misses >= 4, "hits {hits}, misses {misses}");
}
