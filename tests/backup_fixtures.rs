//! Backups on the real fixture data: verify the old backup, create new ones, and refuse bad input without changing a byte.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use lookcoin_state::backup::{
    create_backup, list_backups, no_progress, prune_backups, verify_backup, CreateOptions,
    ProblemKind, PruneOptions, VerifyReport, VerifyStatus,
};
use lookcoin_state::ErrorCode;

/// A writable copy of the fixture workspace.
fn workspace(fixtures: &Path, name: &str) -> PathBuf {
    let root = common::temp_dir(name);
    common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
    root
}

/// A writable copy of the fixture backup alone.
fn fixture_backup(fixtures: &Path, name: &str) -> PathBuf {
    let dir = common::temp_dir(name).join("migration-2025-08-13T11-26-18-516Z");
    common::copy_tree(&fixtures.join(common::BACKUP), &dir);
    dir
}

fn options(root: &Path, kind: &str) -> CreateOptions {
    CreateOptions {
        root: root.to_path_buf(),
        kind: kind.into(),
        label: None,
        include_unified_history: false,
        ..Default::default()
    }
}

fn deep(dir: &Path) -> VerifyReport {
    verify_backup(dir, true, &no_progress).unwrap()
}

fn kinds(report: &VerifyReport) -> Vec<ProblemKind> {
    report.problems.iter().map(|p| p.kind).collect()
}

/// Verifies deeply and asserts the verification itself changed nothing.
fn deep_unchanged(dir: &Path) -> VerifyReport {
    let before = common::snapshot(dir);
    let report = deep(dir);
    assert_eq!(
        common::snapshot(dir),
        before,
        "verification changed the backup"
    );
    report
}

#[test]
fn the_fixture_backup_is_incomplete_but_ready_for_a_leveldb_rollback() {
    let fixtures = fixtures_or_skip!();
    let dir = fixture_backup(&fixtures, "fixture-verify");
    let report = deep_unchanged(&dir);
    let c = report.counts;
    assert_eq!(
        (c.ok, c.missing, c.mismatched),
        (77, 3, 0),
        "{:?}",
        report.problems
    );
    assert_eq!(report.status, VerifyStatus::Incomplete);
    assert_eq!(report.rollback_ready, Some(true));
    let records = report.records.as_ref().unwrap();
    assert_eq!(
        (records.total, records.production, records.dev),
        (28, 26, 2)
    );
    let missing: Vec<&str> = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Missing)
        .map(|p| p.path.as_str())
        .collect();
    assert!(
        missing.contains(&"leveldb/previous-exports/leveldb-export-2025-08-13T06-48-38-098Z.json")
    );
    let json = report.to_json();
    assert_eq!(json["status"], "INCOMPLETE");
    assert_eq!(json["records"]["perChain"]["97"], 9);
}

#[test]
fn a_structure_check_reads_no_bytes_and_leaves_rollback_readiness_open() {
    let fixtures = fixtures_or_skip!();
    let report = verify_backup(&fixtures.join(common::BACKUP), false, &no_progress).unwrap();
    assert_eq!(report.bytes_hashed, 0);
    assert_eq!(report.rollback_ready, None);
    assert_eq!(report.counts.missing, 3);
}

/// A workspace with a live LevelDB (the fixture's live one) next to its unified files.
fn workspace_with_leveldb(fixtures: &Path, name: &str) -> PathBuf {
    let root = workspace(fixtures, name);
    common::copy_tree(
        &fixtures.join("lookcoin-leveldb-live"),
        &root.join("leveldb"),
    );
    root
}

#[test]
fn a_new_backup_passes_sha256sum_and_deep_verification() {
    let fixtures = fixtures_or_skip!();
    let root = workspace_with_leveldb(&fixtures, "create");
    let created = create_backup(&options(&root, "manual"), &no_progress).unwrap();
    let status = Command::new("sha256sum")
        .args(["--quiet", "-c", "checksums/SHA256SUMS"])
        .current_dir(&created.path)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "sha256sum -c failed in {}",
        created.path.display()
    );
    let m = &created.manifest;
    assert_eq!(m["records"]["total"], 28);
    assert_eq!(m["records"]["perChain"]["56"], 8);
    assert_eq!(
        m["categories"]["unifiedJson"]["files"], 6,
        "live files only"
    );
    assert_eq!(m["categories"]["legacyJson"]["files"], 4);
    assert!(m["sourceFileVersions"]["bscmainnet.unified.json"].is_u64());
    assert!(!created.path.join("leveldb/current/LOCK").exists());
    let report = deep_unchanged(&created.path);
    assert_eq!(report.status, VerifyStatus::Passed, "{:?}", report.problems);
    assert_eq!(report.rollback_ready, Some(true));
    assert_eq!(report.counts.ok, m["totalFiles"].as_u64().unwrap());
}

#[test]
fn the_manifest_keeps_a_digest_of_the_keys_and_other_keys_with_the_same_counts_are_refused() {
    let fixtures = fixtures_or_skip!();
    let root = workspace_with_leveldb(&fixtures, "keys-digest");
    let created = create_backup(&options(&root, "manual"), &no_progress).unwrap();
    let digest = created.manifest["records"]["keysDigest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(digest.len(), 32, "128 bits in hex");
    assert_eq!(
        deep(&created.path).records.unwrap().keys_digest,
        u128::from_str_radix(&digest, 16).ok()
    );

    // Same counts per chain, other keys: only the digest tells.
    let path = created.path.join("BACKUP_MANIFEST.json");
    let text = fs::read_to_string(&path).unwrap();
    let flipped = format!(
        "{}{}",
        if digest.starts_with('0') { "1" } else { "0" },
        &digest[1..]
    );
    fs::write(&path, text.replace(&digest, &flipped)).unwrap();
    let report = deep_unchanged(&created.path);
    let mismatch = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::CountMismatch)
        .expect("a count mismatch");
    assert!(
        mismatch.reason.contains("not the same keys"),
        "{}",
        mismatch.reason
    );
    assert_eq!(report.status, VerifyStatus::Failed);
}

#[test]
fn history_is_copied_only_when_asked() {
    let fixtures = fixtures_or_skip!();
    let root = workspace(&fixtures, "history");
    let mut opts = options(&root, "migration");
    opts.include_unified_history = true;
    let created = create_backup(&opts, &no_progress).unwrap();
    assert_eq!(created.manifest["categories"]["unifiedJson"]["files"], 8);
    assert!(
        created.manifest["records"].is_null(),
        "no LevelDB in this workspace"
    );
    let report = deep(&created.path);
    assert_eq!(report.status, VerifyStatus::Passed);
    assert_eq!(
        report.rollback_ready,
        Some(false),
        "nothing to roll back to"
    );
}

#[test]
fn a_bad_kind_or_root_is_refused_and_creates_nothing() {
    let fixtures = fixtures_or_skip!();
    let root = workspace(&fixtures, "bad-kind");
    let before = common::snapshot(&root);
    let err = create_backup(&options(&root, "nightly"), &no_progress).unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed);
    let err = create_backup(&options(&root, "emergency-rollback-../x"), &no_progress).unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed);
    assert_eq!(common::snapshot(&root), before);
    let err = create_backup(&options(&root.join("nope"), "manual"), &no_progress).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(!root.join("nope").exists());
}

#[test]
fn a_leveldb_held_by_another_process_is_not_copied() {
    let fixtures = fixtures_or_skip!();
    let root = workspace_with_leveldb(&fixtures, "held");
    // An OFD lock of our own conflicts like Google LevelDB's lock of another process.
    let held = lookcoin_state::durable::FileLock::try_acquire(&root.join("leveldb/LOCK")).unwrap();
    let backups_before: Vec<_> = fs::read_dir(root.join("backups")).unwrap().collect();
    let err = create_backup(&options(&root, "manual"), &no_progress).unwrap_err();
    assert_eq!(err.code, ErrorCode::Locked);
    assert!(err.message.contains("leveldb/LOCK"), "{}", err.message);
    assert_eq!(
        fs::read_dir(root.join("backups")).unwrap().count(),
        backups_before.len()
    );
    drop(held);
}

#[test]
fn unsafe_paths_in_the_checksum_list_or_manifest_fail_and_are_never_opened() {
    let fixtures = fixtures_or_skip!();
    let dir = fixture_backup(&fixtures, "traversal");
    let sums = dir.join("checksums/SHA256SUMS");
    let mut text = fs::read_to_string(&sums).unwrap();
    let hash = "0".repeat(64);
    text.push_str(&format!(
        "\n{hash}  ../../../etc/passwd\n{hash}  /etc/hostname\nnot a line\n"
    ));
    fs::write(&sums, text).unwrap();
    let manifest = dir.join("BACKUP_MANIFEST.json");
    let patched = fs::read_to_string(&manifest).unwrap().replacen(
        "\"checksums\": {",
        &format!("\"checksums\": {{\n    \"../outside.json\": \"{hash}\","),
        1,
    );
    fs::write(&manifest, patched).unwrap();
    let report = deep_unchanged(&dir);
    let found = kinds(&report);
    assert_eq!(
        found
            .iter()
            .filter(|k| **k == ProblemKind::UnsafePath)
            .count(),
        3,
        "{:?}",
        report.problems
    );
    assert!(found.contains(&ProblemKind::SumsLine));
    assert_eq!(report.status, VerifyStatus::Failed);
    assert_eq!(report.rollback_ready, Some(false));
    assert_eq!(report.counts.ok, 77, "the safe entries are still checked");
}

#[test]
fn a_symlink_leading_outside_fails_and_is_not_followed() {
    let fixtures = fixtures_or_skip!();
    let dir = fixture_backup(&fixtures, "symlink");
    let outside = dir.parent().unwrap().join("secret.json");
    fs::write(&outside, "{}").unwrap();
    let listed = dir.join("legacy-json/basesepolia.json");
    fs::remove_file(&listed).unwrap();
    symlink(&outside, &listed).unwrap();
    let report = deep_unchanged(&dir);
    let entry = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::SymlinkOutside)
        .expect("symlink reported");
    assert_eq!(entry.path, "legacy-json/basesepolia.json");
    assert_eq!(report.status, VerifyStatus::Failed);
    assert_eq!(report.rollback_ready, Some(false));
}

#[test]
fn a_truncated_or_garbled_manifest_fails() {
    let fixtures = fixtures_or_skip!();
    for (tag, mangle) in [
        (
            "truncated",
            (|t: &str| t[..t.len() / 2].to_string()) as fn(&str) -> String,
        ),
        ("garbled", |t: &str| t.replace("\"backupId\"", "\"backup\"")),
    ] {
        let dir = fixture_backup(&fixtures, tag);
        let path = dir.join("BACKUP_MANIFEST.json");
        fs::write(&path, mangle(&fs::read_to_string(&path).unwrap())).unwrap();
        let report = deep_unchanged(&dir);
        assert!(
            kinds(&report).contains(&ProblemKind::ManifestInvalid),
            "{tag}"
        );
        assert_eq!(report.status, VerifyStatus::Failed, "{tag}");
        assert_eq!(report.rollback_ready, Some(false), "{tag}");
    }
}

#[test]
fn a_file_that_cannot_be_read_is_reported_and_verification_goes_on() {
    let fixtures = fixtures_or_skip!();
    let dir = fixture_backup(&fixtures, "unreadable");
    let listed = dir.join("unified-json/basesepolia.unified.json");
    fs::remove_file(&listed).unwrap();
    // A FIFO: unreadable even for root, and a naive reader would block on it forever.
    let status = Command::new("mkfifo").arg(&listed).status().unwrap();
    assert!(status.success());
    let report = deep(&dir);
    assert_eq!(report.counts.unreadable, 1);
    assert_eq!(report.counts.ok, 76);
    assert!(kinds(&report).contains(&ProblemKind::Unreadable));
    assert_eq!(report.status, VerifyStatus::Incomplete);
    assert_eq!(
        report.rollback_ready,
        Some(true),
        "not a file a LevelDB rollback needs"
    );
}

#[test]
fn one_flipped_byte_in_a_table_is_a_mismatch_and_a_bad_block() {
    let fixtures = fixtures_or_skip!();
    let dir = fixture_backup(&fixtures, "flip");
    let table = dir.join("leveldb/current/000188.ldb");
    let mut bytes = fs::read(&table).unwrap();
    bytes[10] ^= 0x01;
    fs::write(&table, bytes).unwrap();
    let report = deep_unchanged(&dir);
    assert_eq!(report.counts.mismatched, 1);
    let block = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::LeveldbBlock)
        .expect("the bad block is named");
    assert_eq!(block.path, "leveldb/current/000188.ldb");
    assert_eq!(report.status, VerifyStatus::Failed);
    assert_eq!(report.rollback_ready, Some(false));
}

#[test]
fn a_folder_without_manifest_is_incomplete_and_never_ready() {
    let fixtures = fixtures_or_skip!();
    let dir = fixture_backup(&fixtures, "no-manifest");
    fs::remove_file(dir.join("BACKUP_MANIFEST.json")).unwrap();
    let report = deep_unchanged(&dir);
    assert_eq!(kinds(&report)[0], ProblemKind::ManifestMissing);
    assert_eq!(report.status, VerifyStatus::Incomplete);
    assert_eq!(report.rollback_ready, Some(false));
    let err = verify_backup(&dir.join("nope"), true, &no_progress).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[test]
fn backups_list_newest_first_and_prune_keeps_what_matters() {
    let fixtures = fixtures_or_skip!();
    let root = workspace_with_leveldb(&fixtures, "prune");
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(
            create_backup(&options(&root, "manual"), &no_progress)
                .unwrap()
                .path,
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    fs::create_dir(root.join("backups/manual-2020-01-01T00-00-00-000Z")).unwrap();
    let listed = list_backups(&root).unwrap();
    let ids: Vec<&str> = listed.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids[0], made[2].file_name().unwrap().to_str().unwrap());
    assert_eq!(ids[3], "migration-2025-08-13T11-26-18-516Z");
    assert_eq!(ids[4], "manual-2020-01-01T00-00-00-000Z");
    assert!(!listed[4].complete);
    assert_eq!(
        listed[3].last_verification.as_ref().unwrap()["status"],
        "FAILED"
    );

    // An open incident refers to the oldest new backup: it must survive.
    let incident = root.join("logs/incidents/INC-1");
    fs::create_dir_all(&incident).unwrap();
    fs::write(incident.join("rollback.log"), format!("uses {}", ids[2])).unwrap();
    let before = common::snapshot(&root.join("backups"));
    let plan = prune_backups(
        &root,
        PruneOptions {
            keep: 1,
            dry_run: true,
        },
    )
    .unwrap();
    assert_eq!(
        common::snapshot(&root.join("backups")),
        before,
        "dry run changed nothing"
    );
    let removed: Vec<&str> = plan.removed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(removed, vec![ids[1], ids[3], ids[4]]);
    let done = prune_backups(
        &root,
        PruneOptions {
            keep: 1,
            dry_run: false,
        },
    )
    .unwrap();
    assert_eq!(done.removed, plan.removed);
    let left: Vec<String> = list_backups(&root)
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(left, vec![ids[0].to_string(), ids[2].to_string()]);
    let err = prune_backups(
        &root,
        PruneOptions {
            keep: 0,
            dry_run: true,
        },
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationFailed);
}

#[test]
fn the_fixture_backup_scores_89_as_the_readme_documents() {
    let fixtures = fixtures_or_skip!();
    let root = workspace(&fixtures, "assess");
    let assessment = lookcoin_state::backup::assess_backup(
        &root.join("backups/migration-2025-08-13T11-26-18-516Z"),
    )
    .unwrap();
    let parts: Vec<(&str, u32)> = assessment.parts.iter().map(|p| (p.name, p.score)).collect();
    assert_eq!(
        parts,
        vec![
            ("completeness", 38),
            ("integrity", 30),
            ("age", 1),
            ("size", 10),
            ("records", 10)
        ]
    );
    assert_eq!(assessment.score, 89);
}
