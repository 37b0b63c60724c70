//! Every local place a contract's values can be found, each record with where it came from:
//! the live LevelDB, the live unified files (their `extended_<name>` data included), the
//! legacy v1 files, and every backup's LevelDB copy, unified files and legacy files.
//!
//! Reads only: LevelDB folders through scratch copies (the live one under its lock). The live
//! LevelDB must be readable; anything else that cannot be read becomes a note, since one bad
//! backup must not hide what the others hold.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use crate::backend::legacy_json::LegacyJsonBackend;
use crate::backend::leveldb::{read_copy, with_quiesced};
use crate::backend::unified::{is_live_file_name, UNIFIED_SUFFIX};
use crate::backend::{Backend, RawEntry};
use crate::backup::{list_backups, LEGACY_COPY_DIR, LEVELDB_COPY_DIR, UNIFIED_COPY_DIR};
use crate::chains::ChainMap;
use crate::migrate::to_unified::UNIFIED_DIR;
use crate::record::{is_hex, ContractRecord};
use crate::unified::{pointer, UnifiedFile};
use crate::{Error, Result};

/// The live LevelDB, relative to the project root.
pub(crate) const LEVELDB_DIR: &str = "leveldb";
/// The legacy v1 files, relative to the project root.
const LEGACY_DIR: &str = "deployments";

/// What kind of place a value was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A live store of the project: `leveldb/` or `deployments/unified/`.
    Store,
    /// A live legacy v1 file, `deployments/<network>.json`.
    File,
    /// A backup under `backups/`.
    Backup,
}

impl SourceKind {
    /// `store`, `file` or `backup`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Store => "store",
            SourceKind::File => "file",
            SourceKind::Backup => "backup",
        }
    }
}

/// Where one record, or one value of it, was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Store, file or backup.
    pub kind: SourceKind,
    /// The format read: `leveldb`, `unified-json` or `legacy-json`.
    pub format: &'static str,
    /// The backup's id, for a backup.
    pub backup: Option<String>,
    /// The LevelDB folder or the file, relative to the project root.
    pub path: String,
    /// The LevelDB key, or the JSON pointer of the value (of the entry, for a whole record).
    pub location: String,
}

impl Source {
    /// `{kind, store, backup, path, location}`.
    pub fn to_json(&self) -> Value {
        json!({"kind": self.kind.as_str(), "store": self.format, "backup": self.backup,
               "path": self.path, "location": self.location})
    }

    /// One line for a person: `leveldb 97-LookCoin`, `deployments/x.json#/implementationHashes/A`.
    pub fn describe(&self) -> String {
        let place = if self.format == "leveldb" {
            format!("{} key {}", self.path, self.location)
        } else {
            format!("{}#{}", self.path, self.location)
        };
        match &self.backup {
            Some(id) => format!("backup {id}: {place}"),
            None => place,
        }
    }

    /// As a finding's location: the LevelDB key, or `<file name>#<pointer>` (as validateState writes them).
    pub fn finding_location(&self) -> String {
        if self.format == "leveldb" {
            return self.location.clone();
        }
        let file = self.path.rsplit('/').next().unwrap_or(&self.path);
        format!("{file}#{}", self.location)
    }
}

/// The values of a record the recovery helpers and the timestamp checks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `implementationHash` (with `factoryByteCodeHash` when that is empty too).
    ImplementationHash,
    /// `deploymentArgs`.
    DeploymentArgs,
    /// `timestamp`.
    Timestamp,
}

impl Field {
    /// Every field, in declaration order (the order of a record's pointers).
    const ALL: [Field; 3] = [
        Field::ImplementationHash,
        Field::DeploymentArgs,
        Field::Timestamp,
    ];

    /// The record field's name: `implementationHash`, `deploymentArgs`, `timestamp`.
    pub fn name(self) -> &'static str {
        match self {
            Field::ImplementationHash => "implementationHash",
            Field::DeploymentArgs => "deploymentArgs",
            Field::Timestamp => "timestamp",
        }
    }

    /// The record's value, `None` when it lacks one. An empty hash, an empty argument list and
    /// a zero timestamp count as lacking: the old writers stored those when the value was lost
    /// (FORMATS §9.10), so they cannot be told apart from a real "none".
    pub fn value(self, record: &ContractRecord) -> Option<Value> {
        match self {
            Field::ImplementationHash => record
                .implementation_hash
                .as_deref()
                .filter(|h| !h.is_empty())
                .map(Value::from),
            Field::DeploymentArgs => record
                .deployment_args
                .as_ref()
                .filter(|a| !a.is_empty())
                .map(|a| Value::Array(a.clone())),
            Field::Timestamp => (record.timestamp > 0).then(|| record.timestamp.into()),
        }
    }

    /// The value when it can serve as a source: present, and for a hash well-formed.
    pub fn usable(self, record: &ContractRecord) -> Option<Value> {
        let value = self.value(record)?;
        let malformed_hash =
            self == Field::ImplementationHash && !value.as_str().is_some_and(|h| is_hex(h, 64));
        (!malformed_hash).then_some(value)
    }
}

/// Where a record's fields sit in what it was read from.
#[derive(Debug, Clone)]
enum Place {
    /// A LevelDB value: every field is under the key.
    Key,
    /// A JSON file: the pointer of each field's value, `None` when the file holds none.
    Json([Option<String>; 3]),
}

/// A record with where it was read.
#[derive(Debug, Clone)]
pub(crate) struct Sourced {
    /// The record as the backend's reader returns it.
    pub(crate) record: ContractRecord,
    /// Where the record was read (the entry's pointer for a JSON file).
    pub(crate) source: Source,
    /// Whether a recovery may write a value into it: a live store, in the file the chain map
    /// gives the record's chain (the unified writer writes nowhere else).
    pub(crate) writable: bool,
    place: Place,
}

impl Sourced {
    /// Where `field`'s value is, `None` when this record's file holds no such value.
    pub(crate) fn at(&self, field: Field) -> Option<Source> {
        let location = match &self.place {
            Place::Key => self.source.location.clone(),
            Place::Json(pointers) => pointers[field as usize].clone()?,
        };
        Some(Source {
            location,
            ..self.source.clone()
        })
    }
}

/// Every record read, in priority order: live stores, live legacy files, then backups newest first.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    /// The records.
    pub(crate) records: Vec<Sourced>,
    /// The folders and files read (root-relative).
    pub(crate) read: Vec<String>,
    /// What could not be read, and why.
    pub(crate) notes: Vec<String>,
}

/// Who a record belongs to: the live project or a backup.
struct Origin {
    kind: SourceKind,
    backup: Option<String>,
}

impl Origin {
    fn source(&self, format: &'static str, path: String, location: String) -> Source {
        Source {
            kind: self.kind,
            format,
            backup: self.backup.clone(),
            path,
            location,
        }
    }
}

/// Reads every local source of the project at `root`.
pub(crate) fn read_all(root: &Path) -> Result<Sources> {
    let mut sources = Sources::default();
    let live = Origin {
        kind: SourceKind::Store,
        backup: None,
    };
    sources.leveldb(root, &root.join(LEVELDB_DIR), &live)?;
    sources.unified(root, &root.join(UNIFIED_DIR), &live);
    let files = Origin {
        kind: SourceKind::File,
        backup: None,
    };
    sources.legacy(root, &root.join(LEGACY_DIR), &files);
    for backup in list_backups(root)? {
        let origin = Origin {
            kind: SourceKind::Backup,
            backup: Some(backup.id.clone()),
        };
        if let Err(e) = sources.leveldb(root, &backup.path.join(LEVELDB_COPY_DIR), &origin) {
            sources
                .notes
                .push(format!("backup {}: {}", backup.id, e.message));
        }
        sources.unified(root, &backup.path.join(UNIFIED_COPY_DIR), &origin);
        sources.legacy(root, &backup.path.join(LEGACY_COPY_DIR), &origin);
    }
    Ok(sources)
}

impl Sources {
    /// The records of a LevelDB folder, if there is one; the live one is copied under its lock.
    fn leveldb(&mut self, root: &Path, dir: &Path, origin: &Origin) -> Result<()> {
        if !dir.join("CURRENT").is_file() {
            return Ok(());
        }
        let entries = match origin.kind {
            SourceKind::Store => with_quiesced(dir, || read_copy(dir))?,
            _ => read_copy(dir)?,
        };
        let path = relative(root, dir);
        for entry in entries {
            match entry.record {
                Ok(record) => self.records.push(Sourced {
                    source: origin.source("leveldb", path.clone(), entry.location),
                    writable: origin.kind == SourceKind::Store,
                    place: Place::Key,
                    record,
                }),
                Err(e) => self
                    .notes
                    .push(format!("{path} key {}: {}", entry.location, e.message)),
            }
        }
        self.read.push(path);
        Ok(())
    }

    /// The direct entries of the live-named unified files of `dir` (aliases are the same entries again).
    fn unified(&mut self, root: &Path, dir: &Path, origin: &Origin) {
        let Ok(listing) = fs::read_dir(dir) else {
            return;
        };
        let mut names: Vec<String> = listing
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_live_file_name(n))
            .collect();
        names.sort();
        let chains = ChainMap::default();
        for name in names {
            let file_path = dir.join(&name);
            let path = relative(root, &file_path);
            let file = match fs::read_to_string(&file_path)
                .map_err(|e| Error::read_io(&file_path, &e))
                .and_then(|text| UnifiedFile::parse(&file_path, &text))
            {
                Ok(file) => file,
                Err(e) => {
                    self.notes.push(format!("{path}: {}", e.message));
                    continue;
                }
            };
            let network = name.strip_suffix(UNIFIED_SUFFIX).unwrap_or(&name);
            let named_for_its_chain = chains.chain_id(network) == Some(file.chain_id());
            for (entry, record) in file.entries() {
                if entry.starts_with("/contracts/legacy/") {
                    continue;
                }
                let pointers =
                    Field::ALL.map(|f| file.field_pointer(&record.contract_name, f.name()));
                self.records.push(Sourced {
                    source: origin.source("unified-json", path.clone(), entry),
                    writable: origin.kind == SourceKind::Store && named_for_its_chain,
                    place: Place::Json(pointers),
                    record,
                });
            }
            self.read.push(path);
        }
    }

    /// The records of the legacy v1 files of `dir`, as the legacy reader returns them.
    fn legacy(&mut self, root: &Path, dir: &Path, origin: &Origin) {
        let Ok(backend) = LegacyJsonBackend::open(dir, ChainMap::default()) else {
            return;
        };
        let entries = match backend.scan_raw() {
            Ok(entries) => entries,
            Err(e) => return self.notes.push(e.message),
        };
        let mut files: Vec<String> = Vec::new();
        for RawEntry {
            location, record, ..
        } in entries
        {
            let file = location.split('#').next().unwrap_or(&location);
            let path = relative(root, Path::new(file));
            match record {
                Ok(record) => {
                    // v1 files keep one hash per name and no arguments; their times are the
                    // file's last deploy, not this contract's, so they are no timestamp source.
                    let hash = record
                        .implementation_hash
                        .as_ref()
                        .map(|_| pointer(&["implementationHashes", &record.contract_name]));
                    let entry = pointer(&["contracts", &record.contract_name]);
                    self.records.push(Sourced {
                        source: origin.source("legacy-json", path.clone(), entry),
                        writable: false,
                        place: Place::Json([hash, None, None]),
                        record,
                    });
                }
                Err(e) => self.notes.push(format!("{path}: {}", e.message)),
            }
            if !files.contains(&path) {
                files.push(path);
            }
        }
        self.read.extend(files);
    }
}

/// `path` relative to `root` when inside it.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
