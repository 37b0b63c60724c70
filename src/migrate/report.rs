//! What a migration did, or in a dry run would do: one item per file or key it touches or skips.

use serde_json::{json, Value};

use super::Migration;

/// What happens to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new file or key.
    Created,
    /// An existing file or key replaced with new content.
    Updated,
    /// Already holds exactly this; nothing written.
    Unchanged,
    /// Left alone, for the item's reason.
    Skipped,
}

impl Action {
    /// `created`, `updated`, `unchanged` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Skipped => "skipped",
        }
    }

    /// Whether the target gets written.
    pub fn writes(self) -> bool {
        matches!(self, Action::Created | Action::Updated)
    }
}

/// One target of a migration: a unified file or a LevelDB key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// A file path relative to the root, or a LevelDB key.
    pub target: String,
    /// The chain it belongs to (0 when a source file could not be read).
    pub chain_id: u64,
    /// What happens to it.
    pub action: Action,
    /// Records it carries: the LevelDB records merged into a file; 1 for a key.
    pub records: usize,
    /// Where the data comes from: `leveldb`, or `path#/json/pointer` of a source file.
    pub source: String,
    /// Why it was skipped.
    pub reason: Option<String>,
}

/// The report every migration returns.
#[derive(Debug, Clone)]
pub struct MigrationReport {
    /// Which migration.
    pub migration: Migration,
    /// Nothing was written: the items say what a real run would do.
    pub dry_run: bool,
    /// The backup made before writing (root-relative), `None` in a dry run or when nothing changed.
    pub backup: Option<String>,
    /// Every target, in the order it was planned.
    pub items: Vec<Item>,
}

impl MigrationReport {
    /// An empty report.
    pub(crate) fn new(migration: Migration, dry_run: bool) -> Self {
        MigrationReport {
            migration,
            dry_run,
            backup: None,
            items: Vec::new(),
        }
    }

    /// How many items got `action`.
    pub fn count(&self, action: Action) -> usize {
        self.items.iter().filter(|i| i.action == action).count()
    }

    /// The files or keys written (in a dry run: that a real run would write).
    pub fn writes(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| i.action.writes())
            .map(|i| i.target.as_str())
            .collect()
    }

    /// `{migration, store, dryRun, backup, writes, counts, items}`, what the bindings return.
    pub fn to_json(&self) -> Value {
        let counts: serde_json::Map<String, Value> = [
            Action::Created,
            Action::Updated,
            Action::Unchanged,
            Action::Skipped,
        ]
        .iter()
        .map(|a| (a.as_str().to_string(), self.count(*a).into()))
        .collect();
        json!({
            "migration": self.migration.name(),
            "store": self.migration.writes_to(),
            "dryRun": self.dry_run,
            "backup": self.backup,
            "writes": self.writes(),
            "counts": counts,
            "items": self.items.iter().map(|i| json!({"target": i.target, "chainId": i.chain_id,
                "action": i.action.as_str(), "records": i.records, "source": i.source,
                "reason": i.reason})).collect::<Vec<_>>(),
        })
    }
}
