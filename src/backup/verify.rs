//! `verifyBackup`: structure (manifest, checksum list, safe paths, recounts) and, when deep,
//! every listed byte re-hashed, every JSON parsed and every LevelDB block and record read.
//!
//! Verification only reads: the backup is never changed, and nothing is followed through
//! a symbolic link (files are found by walking the tree, and opened with `O_NOFOLLOW`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

use super::hashing::{hash_files, FileDigest, HashJob};
use super::manifest::{BackupManifest, RecordCounts, MANIFEST_FILE};
use super::sums::{self, check_relative};
use super::{ProgressFn, LEGACY_COPY_DIR, LEVELDB_COPY_DIR, SUMS_FILE};
use crate::backend::leveldb::NOT_DATA;
use crate::durable::FileStamp;
use crate::leveldb_check;
use crate::{Error, ErrorCode, Result};

/// Files at a backup's root that no checksum list covers: the manifest, the list itself, and the report the old verifier wrote.
const UNCOVERED: [&str; 3] = [MANIFEST_FILE, SUMS_FILE, "VERIFICATION_REPORT.json"];

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VerifyStatus {
    /// Everything listed is present and (when deep) intact.
    Passed,
    /// Intact, with remarks (files present but not listed).
    PassedWithWarnings,
    /// Something is missing or unreadable (or there is no manifest); what is there is intact.
    Incomplete,
    /// Something is wrong: a mismatch, an unsafe path, an unreadable manifest or database.
    Failed,
}

impl VerifyStatus {
    /// `PASSED`, `PASSED_WITH_WARNINGS`, `INCOMPLETE`, `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Passed => "PASSED",
            VerifyStatus::PassedWithWarnings => "PASSED_WITH_WARNINGS",
            VerifyStatus::Incomplete => "INCOMPLETE",
            VerifyStatus::Failed => "FAILED",
        }
    }
}

/// What kind of problem an entry of the report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// No `BACKUP_MANIFEST.json`: the backup was never committed.
    ManifestMissing,
    /// The manifest does not parse or lacks fields.
    ManifestInvalid,
    /// The manifest and `SHA256SUMS` give different hashes for one path.
    ManifestDisagrees,
    /// A `SHA256SUMS` line that is not `<64 hex>  <path>`.
    SumsLine,
    /// An absolute path, a `..`, or a path through a symbolic link.
    UnsafePath,
    /// A symbolic link in the backup that leads outside it (or nowhere).
    SymlinkOutside,
    /// Listed but absent.
    Missing,
    /// Present but its hash differs from the listed one.
    Mismatch,
    /// Present but listed nowhere.
    Unlisted,
    /// Present but cannot be read.
    Unreadable,
    /// A count in the manifest differs from what the backup holds.
    CountMismatch,
    /// A LevelDB block or log record that fails its checksum.
    LeveldbBlock,
    /// The LevelDB copy cannot be opened or read.
    LeveldbRead,
    /// A `.json` file that does not parse.
    Json,
}

impl ProblemKind {
    /// The kebab-case name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::ManifestMissing => "manifest-missing",
            ProblemKind::ManifestInvalid => "manifest-invalid",
            ProblemKind::ManifestDisagrees => "manifest-disagrees",
            ProblemKind::SumsLine => "checksum-line",
            ProblemKind::UnsafePath => "unsafe-path",
            ProblemKind::SymlinkOutside => "symlink-outside",
            ProblemKind::Missing => "missing",
            ProblemKind::Mismatch => "mismatch",
            ProblemKind::Unlisted => "unlisted",
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::CountMismatch => "count-mismatch",
            ProblemKind::LeveldbBlock => "leveldb-block",
            ProblemKind::LeveldbRead => "leveldb-read",
            ProblemKind::Json => "invalid-json",
        }
    }

    /// The status this problem alone would give.
    pub fn status(self) -> VerifyStatus {
        match self {
            ProblemKind::Unlisted => VerifyStatus::PassedWithWarnings,
            ProblemKind::ManifestMissing | ProblemKind::Missing | ProblemKind::Unreadable => {
                VerifyStatus::Incomplete
            }
            _ => VerifyStatus::Failed,
        }
    }
}

/// One problem, with the path it concerns (relative to the backup) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// Path relative to the backup (with `:<line>` for a checksum line).
    pub path: String,
    /// What is wrong, in a sentence.
    pub reason: String,
}

/// File counts of a verification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyCounts {
    /// Distinct paths listed in `SHA256SUMS` or the manifest.
    pub listed: u64,
    /// Listed, present and (when deep) matching.
    pub ok: u64,
    /// Listed and absent.
    pub missing: u64,
    /// Listed, present, hash differs.
    pub mismatched: u64,
    /// Present and listed nowhere.
    pub unlisted: u64,
    /// Present and unreadable.
    pub unreadable: u64,
}

/// The result of [`verify_backup`].
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The backup folder.
    pub path: PathBuf,
    /// The manifest's `backupId`, else the folder name.
    pub backup_id: String,
    /// The verdict.
    pub status: VerifyStatus,
    /// Whether bytes were re-hashed and the database read.
    pub deep: bool,
    /// File counts.
    pub counts: VerifyCounts,
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// Records found in `leveldb/current` (deep only).
    pub records: Option<RecordCounts>,
    /// Deep only: every file a LevelDB rollback restores is present and verified, and the database reads.
    pub rollback_ready: Option<bool>,
    /// The manifest, when it parses.
    pub manifest: Option<BackupManifest>,
    /// Every listed path with its expected SHA-256 (checksum list and manifest merged).
    pub listed: BTreeMap<String, String>,
    /// Deep only: the identity of each file whose bytes matched its listed hash, so a caller can
    /// later use (hard-link) that very file without reading it again.
    pub stamps: BTreeMap<String, FileStamp>,
    /// Bytes re-hashed.
    pub bytes_hashed: u64,
    /// Wall time.
    pub duration_ms: u64,
}

impl VerifyReport {
    /// The report as JSON with stable camelCase field names.
    pub fn to_json(&self) -> Value {
        let c = &self.counts;
        json!({
            "backupId": self.backup_id,
            "path": self.path.display().to_string(),
            "status": self.status.as_str(),
            "deep": self.deep,
            "rollbackReady": self.rollback_ready,
            "formatVersion": self.manifest.as_ref().map(|m| m.format_version),
            "timestamp": self.manifest.as_ref().map(|m| m.timestamp.clone()),
            "counts": {"listed": c.listed, "ok": c.ok, "missing": c.missing,
                       "mismatched": c.mismatched, "unlisted": c.unlisted, "unreadable": c.unreadable},
            "problems": self.problems.iter().map(|p| json!({
                "kind": p.kind.as_str(), "severity": p.kind.status().as_str(),
                "path": p.path, "reason": p.reason})).collect::<Vec<_>>(),
            "records": self.records.as_ref().map(RecordCounts::to_json),
            "bytesHashed": self.bytes_hashed,
            "durationMs": self.duration_ms,
        })
    }
}

/// What a walk of the backup found, without following links.
#[derive(Default)]
struct Tree {
    /// Regular files: relative path → size.
    files: BTreeMap<String, u64>,
    /// Symbolic links, relative paths.
    links: Vec<String>,
    /// FIFOs, sockets and devices: never opened (a FIFO would block the read forever).
    specials: Vec<String>,
}

/// Verifies the backup in `dir`. Errors only when `dir` is not a readable folder; every problem inside it goes into the report.
pub fn verify_backup(dir: &Path, deep: bool, progress: ProgressFn) -> Result<VerifyReport> {
    let started = Instant::now();
    if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("backup folder {} does not exist", dir.display()),
        )
        .with_path(dir));
    }
    let mut problems = Vec::new();
    let tree = walk(dir, &mut problems)?;
    check_links(dir, &tree, &mut problems);
    let manifest = read_manifest(dir, &tree, &mut problems);
    let listed = listed_hashes(dir, &tree, manifest.as_ref(), &mut problems);
    let mut counts = VerifyCounts {
        listed: listed.len() as u64,
        ..Default::default()
    };
    let jobs = locate(&listed, &tree, &mut counts, &mut problems);
    // The LevelDB check (every block, every record) runs beside the re-hashing: both are
    // CPU-bound and neither needs the other, so the slower one sets the pace, not their sum.
    let mut stamps = BTreeMap::new();
    let (bytes_hashed, records) = std::thread::scope(|scope| {
        let leveldb = deep.then(|| {
            scope.spawn(|| {
                let mut found = Vec::new();
                let records = check_leveldb(dir, manifest.as_ref(), &mut found);
                (records, found)
            })
        });
        let bytes = if deep {
            let mut found = Found {
                counts: &mut counts,
                problems: &mut problems,
                stamps: &mut stamps,
            };
            check_hashes(dir, &jobs, &listed, &mut found, progress)
        } else {
            counts.ok = jobs.len() as u64;
            0
        };
        let records = leveldb.and_then(|handle| {
            let (records, found) = handle
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            problems.extend(found);
            records
        });
        (bytes, records)
    });
    report_unlisted(&tree, &listed, &mut counts, &mut problems);
    if let Some(m) = &manifest {
        recount(m, &tree, &listed, &mut problems);
    }
    let rollback_ready = deep.then(|| rollback_ready(dir, &manifest, &records, &problems));
    let status = problems
        .iter()
        .map(|p| p.kind.status())
        .max()
        .unwrap_or(VerifyStatus::Passed);
    Ok(VerifyReport {
        path: dir.to_path_buf(),
        backup_id: manifest.as_ref().map_or_else(
            || {
                dir.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            },
            |m| m.backup_id.clone(),
        ),
        status,
        deep,
        counts,
        problems,
        records,
        rollback_ready,
        manifest,
        listed,
        stamps,
        bytes_hashed,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

fn problem(kind: ProblemKind, path: impl Into<String>, reason: impl Into<String>) -> Problem {
    Problem {
        kind,
        path: path.into(),
        reason: reason.into(),
    }
}

/// Lists the backup's regular files and links; unreadable folders and non-UTF-8 names become problems.
fn walk(dir: &Path, problems: &mut Vec<Problem>) -> Result<Tree> {
    let mut tree = Tree::default();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, rel)) = pending.pop() {
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if rel.is_empty() => return Err(Error::read_io(&folder, &e)),
            Err(e) => {
                problems.push(problem(ProblemKind::Unreadable, &rel, e.to_string()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                let shown = entry.path().display().to_string();
                problems.push(problem(ProblemKind::UnsafePath, shown, "name is not UTF-8"));
                continue;
            };
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            match entry.file_type() {
                Ok(t) if t.is_symlink() => tree.links.push(child),
                Ok(t) if t.is_dir() => pending.push((entry.path(), child)),
                Ok(t) if t.is_file() => {
                    let size = entry.metadata().map_or(0, |m| m.len());
                    tree.files.insert(child, size);
                }
                _ => tree.specials.push(child),
            }
        }
    }
    Ok(tree)
}

/// Links that lead out of the backup, or nowhere, are reported; none is ever followed.
fn check_links(dir: &Path, tree: &Tree, problems: &mut Vec<Problem>) {
    let Ok(inside) = dir.canonicalize() else {
        return;
    };
    for link in &tree.links {
        let target =
            fs::read_link(dir.join(link)).map_or_else(|_| "?".into(), |t| t.display().to_string());
        match dir.join(link).canonicalize() {
            Ok(resolved) if resolved.starts_with(&inside) => {}
            Ok(resolved) => problems.push(problem(
                ProblemKind::SymlinkOutside,
                link,
                format!(
                    "symbolic link to {target} leads outside the backup (to {}); it is not followed",
                    resolved.display()
                ),
            )),
            Err(_) => problems.push(problem(
                ProblemKind::SymlinkOutside,
                link,
                format!("symbolic link to {target} leads nowhere"),
            )),
        }
    }
}

fn read_manifest(dir: &Path, tree: &Tree, problems: &mut Vec<Problem>) -> Option<BackupManifest> {
    if !tree.files.contains_key(MANIFEST_FILE) {
        problems.push(problem(
            ProblemKind::ManifestMissing,
            MANIFEST_FILE,
            "no manifest: the backup was never completed, so it is never used for a restore",
        ));
        return None;
    }
    let parsed = fs::read_to_string(dir.join(MANIFEST_FILE))
        .map_err(|e| format!("cannot be read: {e}"))
        .and_then(|text| BackupManifest::parse(&text));
    match parsed {
        Ok(manifest) => {
            for path in manifest.checksums.keys() {
                if let Err(why) = check_relative(path) {
                    problems.push(problem(ProblemKind::UnsafePath, path, why));
                }
            }
            Some(manifest)
        }
        Err(why) => {
            problems.push(problem(ProblemKind::ManifestInvalid, MANIFEST_FILE, why));
            None
        }
    }
}

/// Path → expected hash, from `SHA256SUMS` and the manifest's `checksums` (safe paths only).
fn listed_hashes(
    dir: &Path,
    tree: &Tree,
    manifest: Option<&BackupManifest>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, String> {
    let mut listed = BTreeMap::new();
    if tree.files.contains_key(SUMS_FILE) {
        match fs::read_to_string(dir.join(SUMS_FILE)) {
            Ok(text) => {
                let (entries, bad) = sums::parse(&text);
                for b in bad {
                    let kind = if b.unsafe_path {
                        ProblemKind::UnsafePath
                    } else {
                        ProblemKind::SumsLine
                    };
                    problems.push(problem(kind, format!("{SUMS_FILE}:{}", b.line), b.reason));
                }
                listed.extend(entries.into_iter().map(|e| (e.path, e.sha256)));
            }
            Err(e) => problems.push(problem(ProblemKind::Unreadable, SUMS_FILE, e.to_string())),
        }
    }
    for (path, hash) in manifest.map(|m| &m.checksums).into_iter().flatten() {
        if check_relative(path).is_err() {
            continue;
        }
        match listed.get(path) {
            Some(h) if h != hash => problems.push(problem(
                ProblemKind::ManifestDisagrees,
                path,
                format!("the manifest lists {hash}, SHA256SUMS lists {h}"),
            )),
            Some(_) => {}
            None => {
                listed.insert(path.clone(), hash.clone());
            }
        }
    }
    listed
}

/// The listed files that can be read; the others are counted and reported here.
fn locate(
    listed: &BTreeMap<String, String>,
    tree: &Tree,
    counts: &mut VerifyCounts,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let mut present = Vec::new();
    for path in listed.keys() {
        if tree.files.contains_key(path) {
            present.push(path.clone());
        } else if tree.specials.contains(path) {
            counts.unreadable += 1;
            let why = "not a regular file (a FIFO, socket or device); not read";
            problems.push(problem(ProblemKind::Unreadable, path, why));
        } else if let Some(link) = tree.links.iter().find(|l| is_within(path, l)) {
            counts.unreadable += 1;
            let why = format!("goes through the symbolic link {link}; not followed");
            problems.push(problem(ProblemKind::UnsafePath, path, why));
        } else {
            counts.missing += 1;
            problems.push(problem(
                ProblemKind::Missing,
                path,
                "listed but not in the backup",
            ));
        }
    }
    present
}

/// `path` is `base` or lies under it.
fn is_within(path: &str, base: &str) -> bool {
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Re-hashes the present listed files; returns the bytes read.
/// What re-hashing finds: counts, problems and the identities of the files that matched.
struct Found<'a> {
    counts: &'a mut VerifyCounts,
    problems: &'a mut Vec<Problem>,
    stamps: &'a mut BTreeMap<String, FileStamp>,
}

fn check_hashes(
    dir: &Path,
    present: &[String],
    listed: &BTreeMap<String, String>,
    found: &mut Found,
    progress: ProgressFn,
) -> u64 {
    let jobs: Vec<HashJob> = present
        .iter()
        .map(|rel| HashJob {
            path: dir.join(rel),
            parse_json: rel.ends_with(".json"),
        })
        .collect();
    let mut bytes = 0;
    for (rel, digest) in present.iter().zip(hash_files(&jobs, "hash", progress)) {
        match digest {
            FileDigest::Read {
                sha256,
                size,
                json_error,
                stamp,
            } => {
                bytes += size;
                if sha256 != listed[rel] {
                    found.counts.mismatched += 1;
                    let why = format!("SHA-256 is {sha256}, the list says {}", listed[rel]);
                    found
                        .problems
                        .push(problem(ProblemKind::Mismatch, rel, why));
                } else {
                    found.counts.ok += 1;
                    found.stamps.insert(rel.clone(), stamp);
                }
                if let Some(why) = json_error {
                    found.problems.push(problem(ProblemKind::Json, rel, why));
                }
            }
            FileDigest::Missing => {
                found.counts.missing += 1;
                found.problems.push(problem(
                    ProblemKind::Missing,
                    rel,
                    "vanished while verifying",
                ));
            }
            FileDigest::Unreadable(why) => {
                found.counts.unreadable += 1;
                found
                    .problems
                    .push(problem(ProblemKind::Unreadable, rel, why));
            }
        }
    }
    bytes
}

/// Files present but covered by no list (the manifest, the list itself and LevelDB's non-data files aside).
fn report_unlisted(
    tree: &Tree,
    listed: &BTreeMap<String, String>,
    counts: &mut VerifyCounts,
    problems: &mut Vec<Problem>,
) {
    for path in tree.files.keys() {
        let name = path.rsplit('/').next().unwrap_or(path);
        let not_data = path.starts_with("leveldb/") && NOT_DATA.contains(&name);
        if listed.contains_key(path) || UNCOVERED.contains(&path.as_str()) || not_data {
            continue;
        }
        counts.unlisted += 1;
        problems.push(problem(
            ProblemKind::Unlisted,
            path,
            "present but in no checksum list, so its integrity cannot be checked",
        ));
    }
}

/// Checks the manifest's counts against the backup. Old manifests' category counts are known to be wrong (FORMATS §6.2), so only ours are held to them.
fn recount(
    manifest: &BackupManifest,
    tree: &Tree,
    listed: &BTreeMap<String, String>,
    problems: &mut Vec<Problem>,
) {
    if manifest.format_version < 2 {
        return;
    }
    if manifest.total_files != listed.len() as u64 {
        problems.push(problem(
            ProblemKind::CountMismatch,
            MANIFEST_FILE,
            format!(
                "totalFiles is {} but {} files are listed",
                manifest.total_files,
                listed.len()
            ),
        ));
    }
    for category in &manifest.categories {
        let prefix = format!("{}/", category.directory);
        let (files, bytes) = tree
            .files
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix) && listed.contains_key(*path))
            .fold((0u64, 0u64), |(n, b), (_, size)| (n + 1, b + size));
        if (files, bytes) != (category.files, category.size_bytes) {
            problems.push(problem(
                ProblemKind::CountMismatch,
                &category.directory,
                format!(
                    "the manifest says {} files / {} bytes in {}, the backup holds {files} / {bytes}",
                    category.files, category.size_bytes, category.name
                ),
            ));
        }
    }
}

/// Checks every block of the LevelDB copy and reads every record; `None` when there is no copy or it cannot be read.
fn check_leveldb(
    dir: &Path,
    manifest: Option<&BackupManifest>,
    problems: &mut Vec<Problem>,
) -> Option<RecordCounts> {
    let copy = dir.join(LEVELDB_COPY_DIR);
    // A copy without CURRENT is reported (it cannot be opened), not passed over in silence.
    if !copy.is_dir() {
        return None;
    }
    match leveldb_check::check_dir(&copy) {
        Ok(found) => problems.extend(found.into_iter().map(|b| {
            let rel = b
                .file
                .strip_prefix(dir)
                .unwrap_or(&b.file)
                .display()
                .to_string();
            problem(ProblemKind::LeveldbBlock, rel, b.reason)
        })),
        Err(e) => problems.push(problem(
            ProblemKind::LeveldbRead,
            LEVELDB_COPY_DIR,
            e.message,
        )),
    }
    let counts = match RecordCounts::of_leveldb_copy(&copy) {
        Ok(counts) => counts,
        Err(e) => {
            problems.push(problem(
                ProblemKind::LeveldbRead,
                LEVELDB_COPY_DIR,
                e.message,
            ));
            return None;
        }
    };
    if let Some(expected) = manifest.and_then(|m| m.records.as_ref()) {
        let other_keys =
            matches!((expected.keys_digest, counts.keys_digest), (Some(a), Some(b)) if a != b);
        if other_keys && expected.per_chain == counts.per_chain {
            problems.push(problem(
                ProblemKind::CountMismatch,
                LEVELDB_COPY_DIR,
                format!("the database holds the {} keys the manifest counts, but not the same keys (key digests differ)", counts.total),
            ));
        } else if expected.per_chain != counts.per_chain {
            problems.push(problem(
                ProblemKind::CountMismatch,
                LEVELDB_COPY_DIR,
                format!(
                    "the manifest records {} keys, the database holds {} ({:?} against {:?} per chain)",
                    expected.total, counts.total, expected.per_chain, counts.per_chain
                ),
            ));
        }
    }
    Some(counts)
}

/// Everything a LevelDB rollback restores is present, listed, intact and readable.
fn rollback_ready(
    dir: &Path,
    manifest: &Option<BackupManifest>,
    records: &Option<RecordCounts>,
    problems: &[Problem],
) -> bool {
    let structural = [
        ProblemKind::ManifestInvalid,
        ProblemKind::ManifestDisagrees,
        ProblemKind::UnsafePath,
        ProblemKind::SymlinkOutside,
        ProblemKind::LeveldbBlock,
        ProblemKind::LeveldbRead,
    ];
    manifest.is_some()
        && records.is_some()
        && dir.join(LEVELDB_COPY_DIR).join("CURRENT").is_file()
        && !problems
            .iter()
            .any(|p| structural.contains(&p.kind) || needed_for_rollback(&p.path))
}

/// Files a rollback restores: the LevelDB copy and the top-level legacy JSON files.
pub(crate) fn needed_for_rollback(rel: &str) -> bool {
    let legacy = rel
        .strip_prefix(LEGACY_COPY_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|name| !name.contains('/') && name.ends_with(".json"));
    legacy || is_within(rel, LEVELDB_COPY_DIR)
}
