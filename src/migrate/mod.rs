//! Migrations between the stores (issue 5): LevelDB → unified JSON, unified JSON → LevelDB,
//! and legacy v1 JSON → LevelDB (the runbook's "archive recovery").
//!
//! Every migration first plans, reading its source and its target without changing a byte;
//! a dry run returns that plan. A real run refuses while `.emergency-stop` exists, makes a
//! `manual` backup when there is anything to write, then decides again under the target's
//! lock (a write made since the plan is never overwritten blindly) and writes each unified
//! file with one durable replace, or each chain's LevelDB keys with one synced WriteBatch.
//! Store-level export and import stay `StateStore::export_all` / `import_all`.

mod report;
mod to_leveldb;
pub(crate) mod to_unified;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::backup::{create_backup, no_progress, CreateOptions};
use crate::{Error, ErrorCode, Result};

pub use report::{Action, Item, MigrationReport};
pub use to_leveldb::{legacy_to_leveldb, unified_to_leveldb};
pub use to_unified::leveldb_to_unified;

/// How long a file write waits for another writer of the same file.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The migrations, named as the CLI names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migration {
    /// `<root>/leveldb` → `deployments/unified/*.unified.json`, merged into existing files.
    LevelDbToUnified,
    /// `deployments/unified/*.unified.json` → `<root>/leveldb`.
    UnifiedToLevelDb,
    /// Legacy v1 `deployments/<network>.json` → `<root>/leveldb`.
    LegacyToLevelDb,
}

impl Migration {
    /// `leveldb-to-unified`, `unified-to-leveldb` or `json-to-leveldb`.
    pub fn name(self) -> &'static str {
        match self {
            Migration::LevelDbToUnified => "leveldb-to-unified",
            Migration::UnifiedToLevelDb => "unified-to-leveldb",
            Migration::LegacyToLevelDb => "json-to-leveldb",
        }
    }

    /// The option names it takes besides `root`.
    pub fn option_names(self) -> &'static [&'static str] {
        match self {
            Migration::LevelDbToUnified => &["dryRun", "includeDev"],
            Migration::UnifiedToLevelDb | Migration::LegacyToLevelDb => &["dryRun", "overwrite"],
        }
    }

    /// Runs it on the project in `root`.
    pub fn run(self, root: &Path, options: &MigrateOptions) -> Result<MigrationReport> {
        match self {
            Migration::LevelDbToUnified => leveldb_to_unified(root, options),
            Migration::UnifiedToLevelDb => unified_to_leveldb(root, options),
            Migration::LegacyToLevelDb => legacy_to_leveldb(root, options),
        }
    }

    /// The store it writes: `unified-json` or `leveldb`.
    fn writes_to(self) -> &'static str {
        match self {
            Migration::LevelDbToUnified => "unified-json",
            Migration::UnifiedToLevelDb | Migration::LegacyToLevelDb => "leveldb",
        }
    }
}

/// Options of a migration; each reads only those in its [`Migration::option_names`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Plan only: report what a real run would write, and write nothing (no backup either).
    pub dry_run: bool,
    /// leveldb-to-unified: also migrate dev-chain (31337) rows, to the chain map's file for 31337.
    pub include_dev: bool,
    /// To LevelDB: replace keys LevelDB already holds with another value (default: skip them).
    pub overwrite: bool,
}

impl MigrateOptions {
    /// Options given as JSON by a binding: `null`, or an object of the migration's own option
    /// names with boolean (or null) values; anything else is `VALIDATION_FAILED`.
    pub fn from_json(migration: Migration, options: &Value) -> Result<Self> {
        let bad = |why: String| Error::new(ErrorCode::ValidationFailed, why);
        let mut out = MigrateOptions::default();
        let map = match options {
            Value::Null => return Ok(out),
            Value::Object(map) => map,
            other => return Err(bad(format!("options must be an object, got {other}"))),
        };
        let known = migration.option_names();
        for (key, value) in map {
            if !known.contains(&key.as_str()) {
                return Err(bad(format!(
                    "unknown {} option {key:?} (known: {})",
                    migration.name(),
                    known.join(", ")
                )));
            }
            let flag = match value {
                Value::Null => continue,
                Value::Bool(b) => *b,
                other => return Err(bad(format!("{key} must be a boolean, got {other}"))),
            };
            let slot = match key.as_str() {
                "dryRun" => &mut out.dry_run,
                "includeDev" => &mut out.include_dev,
                // The only other name `option_names` holds.
                _ => &mut out.overwrite,
            };
            *slot = flag;
        }
        Ok(out)
    }
}

/// Backs the state up (kind `manual`, `label` naming the work about to happen) before anything
/// is written; returns the backup's path relative to the root.
pub(crate) fn backup_first(root: &Path, label: &str) -> Result<String> {
    let options = CreateOptions {
        root: root.to_path_buf(),
        kind: "manual".into(),
        label: Some(label.into()),
        include_unified_history: true,
        ..Default::default()
    };
    let backup = create_backup(&options, &no_progress)?;
    Ok(backup
        .path
        .strip_prefix(root)
        .unwrap_or(&backup.path)
        .display()
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_are_the_migrations_own_booleans() {
        let to_unified = Migration::LevelDbToUnified;
        let parsed =
            MigrateOptions::from_json(to_unified, &json!({"dryRun": true, "includeDev": null}))
                .unwrap();
        assert_eq!(
            parsed,
            MigrateOptions {
                dry_run: true,
                ..Default::default()
            }
        );
        let parsed =
            MigrateOptions::from_json(Migration::UnifiedToLevelDb, &json!({"overwrite": true}))
                .unwrap();
        assert!(parsed.overwrite && !parsed.dry_run);
        for (migration, bad) in [
            (to_unified, json!({"overwrite": true})),
            (Migration::LegacyToLevelDb, json!({"includeDev": true})),
            (to_unified, json!({"dryrun": true})),
            (to_unified, json!({"dryRun": "yes"})),
            (to_unified, json!([true])),
        ] {
            let err = MigrateOptions::from_json(migration, &bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::ValidationFailed, "{bad}");
        }
    }
}
