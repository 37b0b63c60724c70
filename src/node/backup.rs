//! Node glue of the backups: `createBackup`, `verifyBackup`, `assessBackup`, `listBackups`,
//! `pruneBackups` (and sync twins of verify and list) over [`crate::backup`].
//!
//! Arguments are checked on the JS thread (a bad one makes the task reject with
//! `VALIDATION_FAILED` before any file is touched); the work runs as an `AsyncTask`; the
//! result is the core's `to_json()` value, handed to JS through one `JSON.parse`.

use std::path::{Path, PathBuf};

use napi::bindgen_prelude::{AsyncTask, JsObjectValue, Object, Unknown};
use napi::{Env, Task, ValueType};
use napi_derive::napi;
use serde_json::{Map, Value};

use super::progress::{ProgressCallback, ProgressSink};
use super::{invalid_arg, js_to_json, shown, to_js_error, Reply};
use crate::backup::{
    self, BackupListing, CreateOptions, Progress, ProgressFn, PruneOptions, BACKUPS_DIR,
};
use crate::{Error, ErrorCode};

/// One backup operation, with its arguments checked.
enum BackupOp {
    Create(CreateOptions),
    Verify {
        dir: PathBuf,
        deep: bool,
        /// The project root to record the verdict under, when asked to record.
        record_root: Option<PathBuf>,
    },
    Assess(PathBuf),
    List(PathBuf),
    Prune(PathBuf, PruneOptions),
}

/// The task behind every backup function: the operation (or why its arguments were
/// refused) and where its progress goes.
pub struct BackupTask {
    op: Option<crate::Result<BackupOp>>,
    progress: Option<ProgressSink>,
}

impl Task for BackupTask {
    type Output = crate::Result<Value>;
    type JsValue = Reply;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let op = self
            .op
            .take()
            .unwrap_or_else(|| Err(Error::new(ErrorCode::Internal, "a task ran twice")));
        let sink = self.progress.as_ref();
        let progress = |p: &Progress| {
            if let Some(sink) = sink {
                sink.report(p);
            }
        };
        Ok(op.and_then(|op| run(op, &progress)))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        // Every progress event reaches JS before the promise settles.
        if let Some(sink) = &self.progress {
            sink.finish(&env);
        }
        output.map(Reply::Json).map_err(|e| to_js_error(&env, &e))
    }
}

impl BackupTask {
    /// A task for `parsed`; an `onProgress` callback is wired up here, on the JS thread.
    fn new(env: &Env, parsed: Parsed<'_>) -> Self {
        let (op, callback) = match parsed {
            Ok((op, callback)) => (Ok(op), callback),
            Err(e) => (Err(e), None),
        };
        let progress = callback.map(|f| ProgressSink::new(env, f)).transpose();
        match progress {
            Ok(progress) => BackupTask {
                op: Some(op),
                progress,
            },
            Err(e) => BackupTask {
                op: Some(Err(Error::new(
                    ErrorCode::Internal,
                    format!("cannot set up onProgress: {e}"),
                ))),
                progress: None,
            },
        }
    }

    /// `compute` + `resolve` on the calling thread.
    fn run_sync(mut self, env: Env) -> napi::Result<Reply> {
        let output = self.compute()?;
        self.resolve(env, output)
    }
}

fn run(op: BackupOp, progress: ProgressFn) -> crate::Result<Value> {
    match op {
        BackupOp::Create(options) => backup::create_backup(&options, progress).map(|c| c.to_json()),
        BackupOp::Verify {
            dir,
            deep,
            record_root,
        } => {
            let report = backup::verify_backup(&dir, deep, progress)?;
            if let Some(root) = record_root {
                backup::record_verification(&root, &report)?;
            }
            Ok(report.to_json())
        }
        BackupOp::Assess(dir) => backup::assess_backup(&dir).map(|a| a.to_json()),
        BackupOp::List(root) => Ok(Value::Array(
            backup::list_backups(&root)?
                .iter()
                .map(BackupListing::to_json)
                .collect(),
        )),
        BackupOp::Prune(root, options) => {
            backup::prune_backups(&root, options).map(|r| r.to_json())
        }
    }
}

/// Backs up `<root>` (its `leveldb/`, `deployments/unified/`, `deployments/*.json`) into
/// `<root>/backups/<kind>-<UTC stamp>/`, copying LevelDB while nobody can write it.
#[napi(
    ts_args_type = "options: CreateBackupOptions",
    ts_return_type = "Promise<CreatedBackup>"
)]
pub fn create_backup(env: Env, options: Unknown) -> AsyncTask<BackupTask> {
    AsyncTask::new(BackupTask::new(&env, create_args(options)))
}

/// Verifies a backup folder: structure, and when `deep` (the default) every byte, every
/// JSON file and every LevelDB block. Only reads the backup.
#[napi(
    ts_args_type = "dir: string, options?: VerifyBackupOptions",
    ts_return_type = "Promise<VerifyReport>"
)]
pub fn verify_backup(env: Env, dir: Unknown, options: Unknown) -> AsyncTask<BackupTask> {
    AsyncTask::new(BackupTask::new(&env, verify_args(dir, options)))
}

/// `verifyBackup` on the calling thread (progress events arrive just before it returns).
#[napi(
    ts_args_type = "dir: string, options?: VerifyBackupOptions",
    ts_return_type = "VerifyReport"
)]
pub fn verify_backup_sync(env: Env, dir: Unknown, options: Unknown) -> napi::Result<Reply> {
    BackupTask::new(&env, verify_args(dir, options)).run_sync(env)
}

/// Scores a backup 0–100 (completeness, integrity, age, size, records), on a deep verification.
#[napi(ts_args_type = "dir: string", ts_return_type = "Promise<Assessment>")]
pub fn assess_backup(env: Env, dir: Unknown) -> AsyncTask<BackupTask> {
    let parsed = path_arg(dir, "dir").map(|dir| (BackupOp::Assess(dir), None));
    AsyncTask::new(BackupTask::new(&env, parsed))
}

/// Every backup under `<root>/backups`, newest first (an absent folder lists none).
#[napi(
    ts_args_type = "root: string",
    ts_return_type = "Promise<BackupListing[]>"
)]
pub fn list_backups(env: Env, root: Unknown) -> AsyncTask<BackupTask> {
    AsyncTask::new(BackupTask::new(&env, list_args(root)))
}

/// `listBackups` on the calling thread.
#[napi(ts_args_type = "root: string", ts_return_type = "BackupListing[]")]
pub fn list_backups_sync(env: Env, root: Unknown) -> napi::Result<Reply> {
    BackupTask::new(&env, list_args(root)).run_sync(env)
}

/// Removes old backups, keeping the `keep` newest complete ones, the newest that verifies
/// and any an open incident names. A dry run (the default) only reports.
#[napi(
    ts_args_type = "root: string, options: PruneBackupsOptions",
    ts_return_type = "Promise<PruneReport>"
)]
pub fn prune_backups(env: Env, root: Unknown, options: Unknown) -> AsyncTask<BackupTask> {
    AsyncTask::new(BackupTask::new(&env, prune_args(root, options)))
}

type Parsed<'a> = crate::Result<(BackupOp, Option<ProgressCallback<'a>>)>;

fn create_args(options: Unknown<'_>) -> Parsed<'_> {
    let Some(mut o) = options_arg(options, "createBackup options")? else {
        return Err(invalid_arg(
            "createBackup needs an options object with root",
        ));
    };
    let root = path_value(o.values.remove("root"), "root")?;
    let create = CreateOptions::from_json(root, &Value::Object(o.values))?;
    Ok((BackupOp::Create(create), o.on_progress))
}

fn verify_args<'a>(dir: Unknown<'a>, options: Unknown<'a>) -> Parsed<'a> {
    let dir = path_arg(dir, "dir")?;
    let o = options_arg(options, "verifyBackup options")?.unwrap_or_default();
    known_keys(&o.values, &["deep", "record", "onProgress"], "verifyBackup")?;
    let deep = bool_option(&o.values, "deep", true)?;
    let record_root = if bool_option(&o.values, "record", false)? {
        Some(project_root_of(&dir).ok_or_else(|| {
            invalid_arg(&format!(
                "record needs a backup under <root>/{BACKUPS_DIR}, and {} is not in a folder named {BACKUPS_DIR}",
                dir.display()
            ))
        })?)
    } else {
        None
    };
    Ok((
        BackupOp::Verify {
            dir,
            deep,
            record_root,
        },
        o.on_progress,
    ))
}

/// `<root>` of `<root>/backups/<id>`, where `record_verification` keeps the verdict.
fn project_root_of(dir: &Path) -> Option<PathBuf> {
    let parent = dir.parent()?;
    if parent.file_name()? != BACKUPS_DIR {
        return None;
    }
    parent.parent().map(Path::to_path_buf)
}

fn list_args(root: Unknown<'_>) -> Parsed<'_> {
    Ok((BackupOp::List(path_arg(root, "root")?), None))
}

fn prune_args<'a>(root: Unknown<'a>, options: Unknown<'a>) -> Parsed<'a> {
    let root = path_arg(root, "root")?;
    let o = options_arg(options, "pruneBackups options")?.unwrap_or_default();
    known_keys(&o.values, &["keep", "dryRun"], "pruneBackups")?;
    if o.on_progress.is_some() {
        return Err(invalid_arg("pruneBackups takes no onProgress"));
    }
    let keep = match o.values.get("keep") {
        Some(Value::Number(n)) => n.as_u64().and_then(|k| usize::try_from(k).ok()),
        _ => None,
    }
    .ok_or_else(|| {
        invalid_arg(&format!(
            "pruneBackups needs keep, a positive integer, got {}",
            shown(&o.values.get("keep").cloned())
        ))
    })?;
    // keep 0 is refused by the core itself, with its reason.
    let dry_run = bool_option(&o.values, "dryRun", true)?;
    Ok((BackupOp::Prune(root, PruneOptions { keep, dry_run }), None))
}

/// An options object: its plain values (functions and undefined dropped) and its `onProgress`.
#[derive(Default)]
struct JsOptions<'a> {
    values: Map<String, Value>,
    on_progress: Option<ProgressCallback<'a>>,
}

/// `None` for undefined or null; an error for anything but a plain object.
fn options_arg<'a>(value: Unknown<'a>, what: &str) -> crate::Result<Option<JsOptions<'a>>> {
    let not_object = || invalid_arg(&format!("{what} must be an object"));
    match value.get_type().map_err(|_| not_object())? {
        ValueType::Undefined | ValueType::Null => return Ok(None),
        ValueType::Object => {}
        _ => return Err(not_object()),
    }
    let Some(Value::Object(values)) = js_to_json(value)? else {
        return Err(not_object()); // an array
    };
    // SAFETY: the value was just checked to be an object.
    let object: Object = unsafe { value.cast() }.map_err(|_| not_object())?;
    let on_progress: Unknown = object
        .get_named_property("onProgress")
        .map_err(|e| invalid_arg(&format!("cannot read onProgress: {e}")))?;
    let on_progress = match on_progress.get_type() {
        Ok(ValueType::Undefined | ValueType::Null) => None,
        // SAFETY: checked to be a function.
        Ok(ValueType::Function) => Some(
            unsafe { on_progress.cast::<ProgressCallback>() }
                .map_err(|e| invalid_arg(&format!("onProgress: {e}")))?,
        ),
        _ => return Err(invalid_arg("onProgress must be a function")),
    };
    let mut values = values;
    values.remove("onProgress");
    Ok(Some(JsOptions {
        values,
        on_progress,
    }))
}

/// Refuses option names other than `known` (a misspelt `dryRun` must not go unnoticed).
fn known_keys(values: &Map<String, Value>, known: &[&str], what: &str) -> crate::Result<()> {
    match values.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(invalid_arg(&format!(
            "unknown {what} option {key:?} (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn bool_option(values: &Map<String, Value>, key: &str, default: bool) -> crate::Result<bool> {
    match values.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        other => Err(invalid_arg(&format!(
            "{key} must be a boolean, got {}",
            shown(&other.cloned())
        ))),
    }
}

fn path_arg(value: Unknown<'_>, what: &str) -> crate::Result<PathBuf> {
    path_value(js_to_json(value)?, what)
}

fn path_value(value: Option<Value>, what: &str) -> crate::Result<PathBuf> {
    match value {
        Some(Value::String(path)) if !path.is_empty() => Ok(path.into()),
        other => Err(invalid_arg(&format!(
            "{what} must be a non-empty path string, got {}",
            shown(&other)
        ))),
    }
}
