//! What the plan learns about the live `leveldb/` while the backup is verified: its records,
//! and which of its files hold exactly the bytes of the backup's copy.
//!
//! After a migration the old LevelDB is no longer written, so in the usual emergency the live
//! database is byte for byte the one the migration backup copied. Comparing bytes costs a
//! fraction of reading every record or hashing every table, and once the backup's
//! verification has checked those same bytes, its counts and hashes are the live ones too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::backend::leveldb::{with_quiesced, LevelDbStamp, NOT_DATA};
use crate::backup::LEVELDB_COPY_DIR;
use crate::backup::{par_map, same_bytes, KnownLevelDb, RecordCounts, VerifyReport};
use crate::durable::FileStamp;
use crate::leveldb_check::is_table_name;

/// The live database as surveyed before the backup's verification is known.
pub(super) struct LiveSurvey {
    /// The live data files surveyed.
    stamp: LevelDbStamp,
    /// Records read from the live files; `None` when every file matched the backup's copy.
    read: Option<RecordCounts>,
    /// The backup compared with, and for each live file found identical the stamp of the
    /// backup's file it was compared with.
    same: Option<(PathBuf, BTreeMap<String, FileStamp>)>,
}

/// Surveys the live database in `dir` while no one can write it, comparing it with the
/// LevelDB copy of `candidate`; `None` when there is no database or it cannot be read now.
pub(super) fn survey(dir: &Path, candidate: Option<&Path>) -> Option<LiveSurvey> {
    if !dir.join("CURRENT").is_file() {
        return None;
    }
    let look = || {
        let stamp = LevelDbStamp::of(dir)?;
        let same =
            candidate.map(|backup| (backup.to_path_buf(), identical_files(dir, backup, &stamp)));
        let all_same = same.as_ref().is_some_and(|(backup, files)| {
            files.len() == stamp.files().len() && !has_more_files(backup, files)
        });
        let read = if all_same {
            None
        } else {
            Some(RecordCounts::of_leveldb_copy(dir)?)
        };
        Ok(LiveSurvey { stamp, read, same })
    };
    // Without a LOCK file no LevelDB has it open, and taking the lock would create the file:
    // a dry run writes nothing.
    let surveyed = if dir.join("LOCK").exists() {
        with_quiesced(dir, look)
    } else {
        look()
    };
    surveyed.ok()
}

/// The live database as the plan knows it.
#[derive(Debug, Clone)]
pub struct LiveLevelDb {
    /// Its records, the stamp of its files, and the hashes of those shared with the backup.
    pub known: KnownLevelDb,
    /// Every data file is byte-identical to the backup's copy: restoring changes no record.
    pub same_as_backup: bool,
}

impl LiveSurvey {
    /// What is known of the live database once `report` (the chosen backup's verification) is
    /// in: files identical to a file that verification checked take its hash, and a database
    /// identical throughout takes its record counts. Reads the live records when the survey
    /// could not stand in for them (it compared another backup, or the backup changed since).
    pub(super) fn resolve(self, dir: &Path, report: &VerifyReport) -> Option<LiveLevelDb> {
        let verified = self.verified_hashes(report);
        let same_as_backup = self.read.is_none();
        let counts = match (self.read, &report.records) {
            (Some(read), _) => read,
            (None, Some(records)) if verified.len() == self.stamp.files().len() => records.clone(),
            (None, _) => return survey(dir, None).and_then(|s| s.resolve(dir, report)),
        };
        let known = KnownLevelDb {
            stamp: self.stamp,
            counts,
            table_hashes: verified
                .into_iter()
                .filter(|(name, _)| is_table_name(name))
                .collect(),
        };
        Some(LiveLevelDb {
            known,
            same_as_backup,
        })
    }

    /// Name → SHA-256 of the live files identical to a file of `report`'s backup whose bytes
    /// that verification hashed and found as listed (the very file compared, by its stamp).
    fn verified_hashes(&self, report: &VerifyReport) -> BTreeMap<String, String> {
        let Some((backup, same)) = &self.same else {
            return BTreeMap::new();
        };
        if *backup != report.path {
            return BTreeMap::new();
        }
        same.iter()
            .filter_map(|(name, compared)| {
                let rel = format!("{LEVELDB_COPY_DIR}/{name}");
                let hash = report.listed.get(&rel)?;
                (report.stamps.get(&rel) == Some(compared)).then(|| (name.clone(), hash.clone()))
            })
            .collect()
    }
}

/// The live data files (per `stamp`) that hold the same bytes as the file of that name in the
/// LevelDB copy of `backup`, each with the stamp of the backup's file, taken before comparing.
/// A file that cannot be compared counts as different: the full read that follows reports why.
fn identical_files(dir: &Path, backup: &Path, stamp: &LevelDbStamp) -> BTreeMap<String, FileStamp> {
    let copy = backup.join(LEVELDB_COPY_DIR);
    let pairs: Vec<(&String, FileStamp)> = stamp
        .files()
        .iter()
        .filter_map(|(name, live)| {
            let theirs = FileStamp::read(&copy.join(name)).ok()?;
            (theirs.size() == live.size()).then_some((name, theirs))
        })
        .collect();
    let compared = par_map(&pairs, |(name, theirs), buf| {
        same_bytes(&dir.join(name), &copy.join(name), buf)
            .is_ok_and(|same| same)
            .then(|| ((*name).clone(), *theirs))
    });
    compared.into_iter().flatten().collect()
}

/// Whether the backup's LevelDB copy holds a data file not among `files`.
fn has_more_files(backup: &Path, files: &BTreeMap<String, FileStamp>) -> bool {
    let copy = backup.join(LEVELDB_COPY_DIR);
    let Ok(entries) = std::fs::read_dir(&copy) else {
        return true;
    };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        !NOT_DATA.contains(&name.as_str()) && !files.contains_key(&name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::leveldb::{LevelDbBackend, OpenMode};
    use crate::backend::Backend;
    use crate::backup::{create_backup, no_progress, verify_backup, CreateOptions};
    use crate::record::ContractRecord;
    use crate::sample::sample_records;
    use serde_json::Value;

    /// A project whose `leveldb/` holds tables (500 records of ~16 KiB) and a log (the sample
    /// records), and a migration backup of it.
    fn project(name: &str) -> (PathBuf, PathBuf) {
        let root = std::env::temp_dir().join(format!("lcs-live-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let db = LevelDbBackend::open(&root.join("leveldb"), OpenMode::CreateIfMissing).unwrap();
        let model = &sample_records()[0];
        let bulk: Vec<_> = (0..500)
            .map(|i| ContractRecord {
                contract_name: format!("Bulk{i:03}"),
                deployment_args: Some(vec![Value::String(format!("{i:016384}"))]),
                ..model.clone()
            })
            .collect();
        db.put_batch(model.chain_id, &bulk).unwrap();
        for record in sample_records() {
            db.put_batch(record.chain_id, std::slice::from_ref(&record))
                .unwrap();
        }
        db.close().unwrap();
        let options = CreateOptions {
            root: root.clone(),
            kind: "migration".into(),
            ..Default::default()
        };
        let backup = create_backup(&options, &no_progress).unwrap().path;
        (root, backup)
    }

    fn verified(backup: &Path) -> VerifyReport {
        verify_backup(backup, true, &no_progress).unwrap()
    }

    #[test]
    fn an_identical_database_takes_the_verified_counts_and_hashes() {
        let (root, backup) = project("same");
        let live = root.join("leveldb");
        let report = verified(&backup);
        let found = survey(&live, Some(&backup))
            .unwrap()
            .resolve(&live, &report)
            .unwrap();
        assert!(found.same_as_backup);
        assert_eq!(Some(&found.known.counts), report.records.as_ref());
        assert_eq!(
            found.known.counts,
            RecordCounts::of_leveldb_copy(&live).unwrap()
        );
        let tables: Vec<&String> = found
            .known
            .stamp
            .files()
            .iter()
            .map(|(n, _)| n)
            .filter(|n| is_table_name(n))
            .collect();
        assert!(!tables.is_empty());
        for name in tables {
            assert_eq!(
                found.known.table_hashes.get(name),
                report.listed.get(&format!("{LEVELDB_COPY_DIR}/{name}")),
                "{name}"
            );
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_backup_file_replaced_after_the_comparison_or_another_backup_lends_nothing() {
        let (root, backup) = project("replaced");
        let live = root.join("leveldb");
        let surveyed = survey(&live, Some(&backup)).unwrap();
        // Same bytes, new inode: not the file compared, so its hash and the counts are not lent.
        let copy = backup.join(LEVELDB_COPY_DIR);
        let table = std::fs::read_dir(&copy)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| is_table_name(n))
            .unwrap();
        let bytes = std::fs::read(copy.join(&table)).unwrap();
        std::fs::remove_file(copy.join(&table)).unwrap();
        std::fs::write(copy.join(&table), bytes).unwrap();
        let report = verified(&backup);
        let found = surveyed.resolve(&live, &report).unwrap();
        assert!(!found.known.table_hashes.contains_key(&table));
        assert_eq!(
            found.known.counts,
            RecordCounts::of_leveldb_copy(&live).unwrap()
        );

        let other = survey(&live, Some(&root.join("elsewhere")))
            .unwrap()
            .resolve(&live, &report)
            .unwrap();
        assert!(!other.same_as_backup);
        assert!(other.known.table_hashes.is_empty());
        assert_eq!(other.known.counts, found.known.counts);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
