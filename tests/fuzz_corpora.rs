//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`) through the check its
//! fuzz target runs, so the normal test command keeps the fuzzers' findings fixed on stable
//! Rust, without libFuzzer.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use lookcoin_state::fuzz_checks::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Runs every file of one target's corpus and names those whose check panicked.
fn replay(target: &str) {
    let (_, check) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let dir = fuzz_dir().join("corpus").join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = fs::read(file).unwrap();
            catch_unwind(AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} {target} corpus files broke an invariant: {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn every_target_has_a_fuzz_binary_and_a_corpus_and_nothing_else_does() {
    let mut targets: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    targets.sort();
    let listed = |sub: &str, suffix: &str| {
        let mut names: Vec<String> = fs::read_dir(fuzz_dir().join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|name| name.strip_suffix(suffix).map(str::to_string))
            .collect();
        names.sort();
        names
    };
    assert_eq!(listed("corpus", ""), targets);
    assert_eq!(listed("fuzz_targets", ".rs"), targets);
}

#[test]
fn sums_corpus() {
    replay("sums");
}

#[test]
fn manifest_corpus() {
    replay("manifest");
}

#[test]
fn unified_corpus() {
    replay("unified");
}

#[test]
fn leveldb_key_corpus() {
    replay("leveldb_key");
}

#[test]
fn leveldb_value_corpus() {
    replay("leveldb_value");
}

#[test]
fn legacy_json_corpus() {
    replay("legacy_json");
}
