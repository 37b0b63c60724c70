//! `createBackup`: copy the state under its locks, hash while copying, fsync everything,
//! then commit by writing the manifest last.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::hashing::{hex, par_map, stream_sha256, Tally};
use super::manifest::{RecordCounts, FORMAT_VERSION, MANIFEST_FILE};
use super::sums::{self, SumEntry};
use super::{
    ProgressFn, BACKUPS_DIR, LEGACY_COPY_DIR, LEVELDB_COPY_DIR, SUMS_FILE, UNIFIED_COPY_DIR,
};
use crate::backend::leveldb::{with_quiesced, LevelDbStamp, NOT_DATA};
use crate::backend::unified::is_live_file_name;
use crate::durable::{self, DirLock};
use crate::leveldb_check::is_table_name;
use crate::time::{dashed_stamp, iso_from_ms, now_ms};
use crate::unified::UnifiedFile;
use crate::{Error, ErrorCode, Result};

/// What to back up and how to name it.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The project root (holds `leveldb/`, `deployments/`, `backups/`).
    pub root: PathBuf,
    /// `migration`, `manual` or `emergency-rollback-<incident id>`.
    pub kind: String,
    /// Free text kept in the manifest.
    pub label: Option<String>,
    /// Also copy the unified files' history (`*.backup-*`, `deployments/unified/backups/`).
    pub include_unified_history: bool,
    /// Cheaper ways to take the LevelDB, for the rollback's own backup.
    pub leveldb: LevelDbShortcuts,
}

/// Ways to back up a LevelDB without copying and re-reading all of it.
#[derive(Debug, Clone, Default)]
pub struct LevelDbShortcuts {
    /// Hard-link the table files instead of copying them. LevelDB never rewrites a table, so
    /// the backup's bytes cannot change through the database; but the two share their disk
    /// blocks, so this guards against a bad rollback, not against a failing disk.
    pub link_tables: bool,
    /// What is already known of exactly these files: used while the folder's stamp is still
    /// the same, instead of reading the copy again.
    pub known: Option<KnownLevelDb>,
}

/// What was learnt of a LevelDB folder when its files had a given stamp.
#[derive(Debug, Clone)]
pub struct KnownLevelDb {
    /// The identity of its data files at the time.
    pub stamp: LevelDbStamp,
    /// Its records.
    pub counts: RecordCounts,
    /// SHA-256 of some of its tables, by file name: those found byte-identical to a table
    /// whose hash a deep verification had just checked.
    pub table_hashes: BTreeMap<String, String>,
}

/// A finished backup.
#[derive(Debug, Clone)]
pub struct CreatedBackup {
    /// Its folder.
    pub path: PathBuf,
    /// Its manifest, as written.
    pub manifest: Value,
}

impl CreatedBackup {
    /// `{path, backupId, manifest}`, what the bindings return.
    pub fn to_json(&self) -> Value {
        let id = self.manifest.get("backupId").cloned().unwrap_or_else(|| {
            self.path
                .file_name()
                .map_or(Value::Null, |n| n.to_string_lossy().into_owned().into())
        });
        json!({"path": self.path.display().to_string(), "backupId": id, "manifest": self.manifest})
    }
}

impl CreateOptions {
    /// Options given as JSON by a binding: `null` or an object with `kind` (default `manual`),
    /// `label` and `includeUnifiedHistory`; anything else is `VALIDATION_FAILED`. The kind
    /// itself is checked by [`create_backup`], before it touches anything.
    pub fn from_json(root: PathBuf, options: &Value) -> Result<Self> {
        let mut out = CreateOptions {
            root,
            kind: "manual".into(),
            ..Default::default()
        };
        let empty = Map::new();
        let map = match options {
            Value::Null => &empty,
            Value::Object(map) => map,
            other => {
                return Err(bad_option(format!(
                    "options must be an object, got {other}"
                )))
            }
        };
        for (key, value) in map {
            match (key.as_str(), value) {
                (_, Value::Null) => {}
                ("kind", Value::String(kind)) => out.kind = kind.clone(),
                ("label", Value::String(label)) => out.label = Some(label.clone()),
                ("includeUnifiedHistory", Value::Bool(b)) => out.include_unified_history = *b,
                ("kind" | "label", other) => {
                    return Err(bad_option(format!("{key} must be a string, got {other}")))
                }
                ("includeUnifiedHistory", other) => {
                    return Err(bad_option(format!(
                        "includeUnifiedHistory must be a boolean, got {other}"
                    )))
                }
                (other, _) => {
                    return Err(bad_option(format!(
                    "unknown backup option {other:?} (known: kind, label, includeUnifiedHistory)"
                )))
                }
            }
        }
        Ok(out)
    }
}

fn bad_option(message: String) -> Error {
    Error::new(ErrorCode::ValidationFailed, message)
}

/// One file to copy: where from, its path inside the backup, whether a hard link will do, and
/// its SHA-256 when already known (a linked table of a [`KnownLevelDb`]).
struct Source {
    from: PathBuf,
    rel: String,
    link: bool,
    sha256: Option<String>,
}

/// Creates a backup of `options.root` and returns it once its manifest is durable.
///
/// Creates are serialised (and kept apart from pruning) by a lock on `backups/`. The
/// LevelDB is copied while nobody can write it; a process holding it elsewhere makes the
/// create fail with `STATE_LOCKED`. Any failure removes the partial folder.
pub fn create_backup(options: &CreateOptions, progress: ProgressFn) -> Result<CreatedBackup> {
    check_kind(&options.kind)?;
    let root = &options.root;
    if !root.is_dir() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!("project root {} is not a folder", root.display()),
        )
        .with_path(root));
    }
    let backups = root.join(BACKUPS_DIR);
    durable::create_dir_all_durable(&backups)?;
    let _serialised = DirLock::try_acquire(&backups, "a backup create or prune")?;
    let leveldb = root.join("leveldb");
    if leveldb.is_dir() {
        with_quiesced(&leveldb, || create_locked(options, &backups, progress))
    } else {
        create_locked(options, &backups, progress)
    }
}

fn create_locked(
    options: &CreateOptions,
    backups: &Path,
    progress: ProgressFn,
) -> Result<CreatedBackup> {
    let started = Instant::now();
    let mut sources = collect_sources(&options.root, options.include_unified_history)?;
    let known = match &options.leveldb.known {
        Some(known) if LevelDbStamp::of(&options.root.join("leveldb"))? == known.stamp => {
            Some(known)
        }
        _ => None,
    };
    if options.leveldb.link_tables {
        let prefix = format!("{LEVELDB_COPY_DIR}/");
        for source in &mut sources {
            let Some(name) = source.rel.strip_prefix(&prefix) else {
                continue;
            };
            source.link = is_table_name(name);
            // The stamp is unchanged and the database quiesced: these are the files hashed.
            source.sha256 = known
                .filter(|_| source.link)
                .and_then(|k| k.table_hashes.get(name).cloned());
        }
    }
    let known_records = known.map(|k| k.counts.clone());
    if sources.is_empty() {
        return Err(Error::new(
            ErrorCode::NotFound,
            format!(
                "nothing to back up in {}: no leveldb/, deployments/unified/*.unified.json or deployments/*.json",
                options.root.display()
            ),
        )
        .with_path(&options.root));
    }
    let created_ms = now_ms();
    let id = format!("{}-{}", options.kind, dashed_stamp(created_ms));
    let dir = backups.join(&id);
    durable::create_dir_new(&dir)?;
    let result = fill(&dir, &sources, progress).and_then(|entries| {
        let manifest = manifest(
            options,
            &id,
            created_ms,
            &dir,
            &entries,
            known_records,
            started,
        );
        commit(&dir, &entries, &manifest)?;
        Ok(CreatedBackup {
            path: dir.clone(),
            manifest,
        })
    });
    if result.is_err() {
        // The folder has no manifest, so it is already unusable; removing it is tidiness.
        let _ = durable::remove_tree(&dir);
    }
    result
}

/// Every file the backup will hold, sorted by its path in the backup.
fn collect_sources(root: &Path, with_history: bool) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    let inside = root.canonicalize().map_err(|e| Error::read_io(root, &e))?;
    let data_file = |name: &str| !NOT_DATA.contains(&name);
    add_files(
        &inside,
        &root.join("leveldb"),
        LEVELDB_COPY_DIR,
        &data_file,
        &mut sources,
    )?;
    let unified = root.join("deployments/unified");
    if with_history {
        add_tree(&inside, &unified, UNIFIED_COPY_DIR, &mut sources)?;
    } else {
        add_files(
            &inside,
            &unified,
            UNIFIED_COPY_DIR,
            &is_live_file_name,
            &mut sources,
        )?;
    }
    let legacy = |name: &str| name.ends_with(".json") && !name.starts_with('.');
    add_files(
        &inside,
        &root.join("deployments"),
        LEGACY_COPY_DIR,
        &legacy,
        &mut sources,
    )?;
    sources.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(sources)
}

/// The regular files directly in `dir` whose names pass `keep`; nothing when `dir` is absent.
fn add_files(
    root: &Path,
    dir: &Path,
    rel_dir: &str,
    keep: &dyn Fn(&str) -> bool,
    out: &mut Vec<Source>,
) -> Result<()> {
    for (path, name, is_dir) in list_dir(root, dir)? {
        if !is_dir && keep(&name) {
            out.push(Source {
                from: path,
                rel: format!("{rel_dir}/{name}"),
                link: false,
                sha256: None,
            });
        }
    }
    Ok(())
}

/// Every regular file under `dir`, recursively, except hidden temp files.
fn add_tree(root: &Path, dir: &Path, rel_dir: &str, out: &mut Vec<Source>) -> Result<()> {
    for (path, name, is_dir) in list_dir(root, dir)? {
        let rel = format!("{rel_dir}/{name}");
        if is_dir {
            add_tree(root, &path, &rel, out)?;
        } else if !name.starts_with('.') {
            out.push(Source {
                from: path,
                rel,
                link: false,
                sha256: None,
            });
        }
    }
    Ok(())
}

/// (path, UTF-8 name, is a directory) of the entries of `dir` that are files or folders. A
/// symbolic link is followed only when it stays inside `root` (canonical): one leading out
/// would copy a file from elsewhere on the machine into the backup, so it is refused.
fn list_dir(root: &Path, dir: &Path) -> Result<Vec<(PathBuf, String, bool)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::read_io(dir, &e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::read_io(dir, &e))?;
        let path = entry.path();
        let name = entry.file_name().into_string().map_err(|_| {
            Error::new(
                ErrorCode::ValidationFailed,
                format!(
                    "{} has a name that is not UTF-8; rename it before backing up",
                    path.display()
                ),
            )
            .with_path(&path)
        })?;
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if is_link && !path.canonicalize().is_ok_and(|to| to.starts_with(root)) {
            return Err(Error::new(
                ErrorCode::Corrupt,
                format!(
                    "{} is a symbolic link leading outside {} (or nowhere); a backup copies \
                     only the project's own files: replace it with the file itself; nothing was written",
                    path.display(),
                    root.display()
                ),
            )
            .with_path(&path));
        }
        let meta = fs::metadata(&path).map_err(|e| Error::read_io(&path, &e))?;
        if meta.is_dir() || meta.is_file() {
            out.push((path, name, meta.is_dir()));
        }
    }
    Ok(out)
}

/// Copies every source into `dir`, hashing on the way, and fsyncs the folders.
fn fill(dir: &Path, sources: &[Source], progress: ProgressFn) -> Result<Vec<(SumEntry, u64)>> {
    let mut folders: Vec<PathBuf> = Vec::new();
    for source in sources {
        let parent = dir.join(&source.rel);
        let parent = parent.parent().unwrap_or(dir).to_path_buf();
        if !folders.contains(&parent) {
            durable::create_dir_all_durable(&parent)?;
            folders.push(parent);
        }
    }
    let bytes_total = sources
        .iter()
        .map(|s| fs::metadata(&s.from).map_or(0, |m| m.len()))
        .sum();
    let tally = Tally::new("copy", sources.len(), bytes_total);
    let copied = par_map(sources, |source, buf| {
        let (sha256, size) = take_file(source, &dir.join(&source.rel), buf)?;
        tally.add(size, progress);
        Ok((
            SumEntry {
                sha256,
                path: source.rel.clone(),
            },
            size,
        ))
    });
    let entries = copied.into_iter().collect::<Result<Vec<_>>>()?;
    for folder in &folders {
        durable::sync_dir(folder)?;
    }
    Ok(entries)
}

/// Puts one source at `to` and returns its SHA-256 and size: a hard link hashed by reading the
/// backup's own file (unless its hash is known), else a copy hashed on the way.
fn take_file(source: &Source, to: &Path, buf: &mut [u8]) -> Result<(String, u64)> {
    if source.link && durable::hard_link_new(&source.from, to)? {
        if let Some(sha256) = &source.sha256 {
            let size = fs::metadata(to).map_err(|e| Error::read_io(to, &e))?.len();
            return Ok((sha256.clone(), size));
        }
        let file = fs::File::open(to).map_err(|e| Error::read_io(to, &e))?;
        return stream_sha256(file, buf, None).map_err(|e| Error::read_io(to, &e));
    }
    let mut hasher = Sha256::new();
    let size = durable::copy_file_new(&source.from, to, buf, &mut |c| hasher.update(c))?;
    Ok((hex(&hasher.finalize()), size))
}

/// Writes `SHA256SUMS`, then the manifest: the commit point.
fn commit(dir: &Path, entries: &[(SumEntry, u64)], manifest: &Value) -> Result<()> {
    let list: Vec<SumEntry> = entries.iter().map(|(e, _)| e.clone()).collect();
    let sums_path = dir.join(SUMS_FILE);
    durable::create_dir_all_durable(sums_path.parent().unwrap_or(dir))?;
    durable::write_atomic(&sums_path, sums::format(&list).as_bytes())?;
    let text = serde_json::to_string_pretty(manifest).map_err(|e| {
        Error::new(
            ErrorCode::SerializationFailed,
            format!("cannot serialise the manifest: {e}"),
        )
    })?;
    durable::write_atomic(&dir.join(MANIFEST_FILE), text.as_bytes())?;
    durable::sync_dir(dir.parent().unwrap_or(dir))
}

fn manifest(
    options: &CreateOptions,
    id: &str,
    created_ms: u64,
    dir: &Path,
    entries: &[(SumEntry, u64)],
    known_records: Option<RecordCounts>,
    started: Instant,
) -> Value {
    let mut warnings = Vec::new();
    let records = known_records.or_else(|| leveldb_records(dir, &mut warnings));
    let versions = unified_versions(dir, entries, &mut warnings);
    let checksums: Map<String, Value> = entries
        .iter()
        .map(|(e, _)| (e.path.clone(), json!(e.sha256)))
        .collect();
    let incident = options.kind.strip_prefix("emergency-rollback-");
    json!({
        "timestamp": iso_from_ms(created_ms),
        "backupId": id,
        "version": "2.0.0",
        "formatVersion": FORMAT_VERSION,
        "generator": concat!("lookcoin-state ", env!("CARGO_PKG_VERSION")),
        "kind": options.kind,
        "incidentId": incident,
        "label": options.label,
        "totalFiles": entries.len(),
        "totalSize": entries.iter().map(|(_, size)| size).sum::<u64>(),
        "categories": categories(entries),
        "records": records.map(|r| r.to_json()),
        "sourceFileVersions": versions,
        "checksums": checksums,
        "validation": {"completed": false, "allChecksumsPassed": false, "missingFiles": [],
                        "errors": warnings,
                        "note": "checksums were computed while copying; run `lookcoin-state backup verify` to re-read them"},
        "restoration": {"proceduresGenerated": false, "rollbackScriptCreated": false,
                         "emergencyContactsIncluded": false,
                         "command": format!("npx lookcoin-state rollback --backup {BACKUPS_DIR}/{id}")},
        "metadata": {"platform": std::env::consts::OS,
                      "workingDirectory": options.root.display().to_string(),
                      "durationMs": started.elapsed().as_millis() as u64},
    })
}

/// Files and bytes per category, each naming its folder (the old manifests did not, FORMATS §6.5).
fn categories(entries: &[(SumEntry, u64)]) -> Value {
    let mut out = Map::new();
    for (name, folder) in [
        ("leveldb", "leveldb"),
        ("legacyJson", LEGACY_COPY_DIR),
        ("unifiedJson", UNIFIED_COPY_DIR),
    ] {
        let prefix = format!("{folder}/");
        let (files, bytes) = entries
            .iter()
            .filter(|(e, _)| e.path.starts_with(&prefix))
            .fold((0u64, 0u64), |(n, b), (_, size)| (n + 1, b + size));
        out.insert(
            name.into(),
            json!({"directory": folder, "files": files, "sizeBytes": bytes,
                   "checksumsGenerated": true, "backupCompleted": true}),
        );
    }
    Value::Object(out)
}

/// Record counts of the copied LevelDB; `None` (with a warning) when it has none or cannot be read.
fn leveldb_records(dir: &Path, warnings: &mut Vec<String>) -> Option<RecordCounts> {
    let copy = dir.join(LEVELDB_COPY_DIR);
    if !copy.is_dir() {
        return None;
    }
    match RecordCounts::of_leveldb_copy(&copy) {
        Ok(counts) => Some(counts),
        Err(e) => {
            warnings.push(format!("the LevelDB copy cannot be read: {e}"));
            None
        }
    }
}

/// `fileVersion` of each live unified file copied (`null` for a file that does not parse).
fn unified_versions(
    dir: &Path,
    entries: &[(SumEntry, u64)],
    warnings: &mut Vec<String>,
) -> BTreeMap<String, Option<u64>> {
    let prefix = format!("{UNIFIED_COPY_DIR}/");
    entries
        .iter()
        .filter_map(|(e, _)| e.path.strip_prefix(&prefix).map(|name| (name, &e.path)))
        .filter(|(name, _)| !name.contains('/') && is_live_file_name(name))
        .map(|(name, rel)| {
            let path = dir.join(rel);
            let parsed = fs::read_to_string(&path)
                .map_err(|e| Error::read_io(&path, &e))
                .and_then(|text| UnifiedFile::parse(&path, &text));
            let version = match parsed {
                Ok(file) => file.file_version(),
                Err(e) => {
                    warnings.push(format!(
                        "{name} was copied as it is but does not parse: {e}"
                    ));
                    None
                }
            };
            (name.to_string(), version)
        })
        .collect()
}

/// Accepts `migration`, `manual` and `emergency-rollback-<incident id>`.
fn check_kind(kind: &str) -> Result<()> {
    let ok = matches!(kind, "migration" | "manual")
        || kind
            .strip_prefix("emergency-rollback-")
            .is_some_and(valid_incident_id);
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::ValidationFailed,
            format!(
                "backup kind {kind:?} is not one of migration, manual, emergency-rollback-<incident id>"
            ),
        ))
    }
}

/// An incident id usable in folder names: 1–64 of `A-Z a-z 0-9 - _`.
pub fn valid_incident_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_options_default_to_a_manual_backup_and_refuse_unknown_or_mistyped_keys() {
        let root = PathBuf::from("/r");
        let o = CreateOptions::from_json(root.clone(), &Value::Null).unwrap();
        assert_eq!(
            (o.kind.as_str(), o.label, o.include_unified_history),
            ("manual", None, false)
        );
        let o = CreateOptions::from_json(
            root.clone(),
            &json!({"kind": "migration", "label": "x", "includeUnifiedHistory": true}),
        )
        .unwrap();
        assert_eq!(
            (
                o.kind.as_str(),
                o.label.as_deref(),
                o.include_unified_history
            ),
            ("migration", Some("x"), true)
        );
        for bad in [
            json!({"dryRun": true}),
            json!({"kind": 5}),
            json!({"includeUnifiedHistory": "yes"}),
            json!([]),
        ] {
            let err = CreateOptions::from_json(root.clone(), &bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::ValidationFailed, "{bad}");
        }
    }

    #[test]
    fn a_created_backup_as_json_names_its_path_and_id() {
        let created = CreatedBackup {
            path: PathBuf::from("/r/backups/manual-x"),
            manifest: json!({"backupId": "manual-x"}),
        };
        let j = created.to_json();
        assert_eq!(
            (j["path"].as_str(), j["backupId"].as_str()),
            (Some("/r/backups/manual-x"), Some("manual-x"))
        );
        assert_eq!(j["manifest"]["backupId"], "manual-x");
    }
}
