//! Bad input: every case under `tests/bad-inputs/` runs one operation on a damaged copy of the
//! fixtures and must give its expected error code (or report its expected defect), within a
//! time limit, without a panic, and without changing one byte under the temp root.
//!
//! A case is a folder with `case.json`:
//! `{"why", "base", "files"?, "setup"?: [steps], "operation", "args"?, "expect"}`.
//! - `base`: `workspace` (the fixture workspace), `workspace+leveldb` (plus the live LevelDB
//!   fixture as `leveldb/`) or `empty` (an empty root).
//! - a `files/` folder beside `case.json` is copied over the root first (small text data);
//! - `setup` steps build what cannot be committed as small text (binary, huge, special files):
//!   `truncate {path, keep}`, `replace {path, from, to | toHex}` (`{deep:N}` in `to` expands to
//!   N nested arrays), `prependHex {path, hex}`, `flip {path, offset}` (negative from the end),
//!   `write {path, text | hex}`, `remove {path}`, `mkdir {path}`, `fifo {path}`,
//!   `symlink {path, target}`;
//! - `expect`: an error code string (`"STATE_CORRUPT"`), or for operations that report instead
//!   of failing `{"status"?, "rollbackReady"?, "problems"?: [kind]}` (verifyBackup),
//!   `{"findings": [code]}` (validateState, validateIntegrity) or `{"skipped": [target]}`
//!   (a migration dry run, which reports an unreadable source file and goes on with the rest).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use lookcoin_state::backend::BackendKind;
use lookcoin_state::backup::{create_backup, no_progress, verify_backup, CreateOptions};
use lookcoin_state::migrate::{Action, MigrateOptions, Migration};
use lookcoin_state::record::ContractRecord;
use lookcoin_state::rollback::{emergency_rollback, Event, RollbackOptions};
use lookcoin_state::store::{StateStore, StoreConfig};
use lookcoin_state::validate::{validate_state, ValidateOptions};
use lookcoin_state::Error;

/// Long enough for a deep verification on a loaded machine; a case that blocks (a FIFO opened
/// for reading) fails with its name instead of hanging the suite.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// What an operation gave: an error, or a report to compare with the expectation.
enum Outcome {
    Failed(Error),
    Report(Value),
}

/// One entry of a tree snapshot, read without following links or opening special files.
#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    Link(PathBuf),
    Special(u32),
}

/// Every entry under `root` (folders and special files included, with their modes).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let mode = meta.mode();
            let node = if meta.file_type().is_symlink() {
                Node::Link(fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                stack.push(path.clone());
                Node::Dir(mode)
            } else if meta.is_file() {
                Node::File(mode, fs::read(&path).unwrap())
            } else {
                Node::Special(mode)
            };
            out.insert(path.strip_prefix(root).unwrap().to_path_buf(), node);
        }
    }
    out
}

/// The paths that differ between two snapshots, for the failure message.
fn changes(before: &BTreeMap<PathBuf, Node>, after: &BTreeMap<PathBuf, Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, node) in before {
        match after.get(path) {
            None => out.push(format!("removed {}", path.display())),
            Some(n) if n != node => out.push(format!("changed {}", path.display())),
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        out.push(format!("created {}", path.display()));
    }
    out
}

fn str_arg<'a>(args: &'a Value, key: &str) -> Result<&'a str, String> {
    args.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("args.{key} (a string) is required"))
}

fn u64_arg(args: &Value, key: &str) -> Result<u64, String> {
    args.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("args.{key} (an integer) is required"))
}

fn hex_bytes(hex: &str) -> Result<Vec<u8>, String> {
    let digits: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd hex {hex:?}"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|e| format!("hex: {e}")))
        .collect()
}

/// `{deep:N}` becomes N opening and N closing brackets.
fn expand(text: &str) -> Result<String, String> {
    let Some(start) = text.find("{deep:") else {
        return Ok(text.to_string());
    };
    let end = start + text[start..].find('}').ok_or("unclosed {deep:")?;
    let depth: usize = text[start + 6..end]
        .parse()
        .map_err(|e| format!("{{deep:N}}: {e}"))?;
    Ok(format!(
        "{}{}{}{}",
        &text[..start],
        "[".repeat(depth),
        "]".repeat(depth),
        expand(&text[end + 1..])?
    ))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Applies one setup step under `root`; a step that would change nothing is an error, so a
/// case cannot pass on data it failed to damage.
fn apply(root: &Path, step: &Value) -> Result<(), String> {
    let op = str_arg(step, "op")?;
    let path = root.join(str_arg(step, "path")?);
    let read = || fs::read(&path).map_err(|e| format!("{op} {}: {e}", path.display()));
    let write = |bytes: &[u8]| fs::write(&path, bytes).map_err(|e| format!("{op}: {e}"));
    match op {
        "truncate" => {
            let bytes = read()?;
            let keep = u64_arg(step, "keep")? as usize;
            if keep >= bytes.len() {
                return Err(format!("truncate keeps all {} bytes", bytes.len()));
            }
            write(&bytes[..keep])
        }
        "replace" => {
            let bytes = read()?;
            let from = str_arg(step, "from")?.as_bytes();
            let to = match (step.get("to"), step.get("toHex")) {
                (Some(Value::String(t)), None) => expand(t)?.into_bytes(),
                (None, Some(Value::String(h))) => hex_bytes(h)?,
                _ => return Err("replace needs to or toHex".into()),
            };
            let at = find(&bytes, from).ok_or_else(|| format!("{from:?} not found"))?;
            let mut out = bytes[..at].to_vec();
            out.extend_from_slice(&to);
            out.extend_from_slice(&bytes[at + from.len()..]);
            write(&out)
        }
        "prependHex" => {
            let mut out = hex_bytes(str_arg(step, "hex")?)?;
            out.extend(read()?);
            write(&out)
        }
        "append" => {
            let mut bytes = read()?;
            if let Some(len) = step.get("zeroPadTo").and_then(Value::as_u64) {
                if (len as usize) < bytes.len() {
                    return Err(format!("zeroPadTo {len} is shorter than the file"));
                }
                bytes.resize(len as usize, 0);
            }
            bytes.extend(hex_bytes(str_arg(step, "hex")?)?);
            write(&bytes)
        }
        "flip" => {
            let mut bytes = read()?;
            let offset = step.get("offset").and_then(Value::as_i64).ok_or("offset")?;
            let at = if offset < 0 {
                bytes.len() as i64 + offset
            } else {
                offset
            } as usize;
            *bytes.get_mut(at).ok_or("offset beyond the file")? ^= 0xff;
            write(&bytes)
        }
        "write" => match (step.get("text"), step.get("hex")) {
            (Some(Value::String(t)), None) => write(expand(t)?.as_bytes()),
            (None, Some(Value::String(h))) => write(&hex_bytes(h)?),
            _ => Err("write needs text or hex".into()),
        },
        "remove" => {
            let meta = fs::symlink_metadata(&path).map_err(|e| format!("remove: {e}"))?;
            if meta.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            }
            .map_err(|e| format!("remove: {e}"))
        }
        "mkdir" => fs::create_dir_all(&path).map_err(|e| format!("mkdir: {e}")),
        "fifo" => {
            let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
            if unsafe { libc::mkfifo(c.as_ptr(), 0o644) } != 0 {
                return Err(format!("mkfifo: {}", std::io::Error::last_os_error()));
            }
            Ok(())
        }
        "symlink" => symlink(str_arg(step, "target")?, &path).map_err(|e| format!("symlink: {e}")),
        other => Err(format!("unknown setup step {other:?}")),
    }
}

fn store(root: &Path, args: &Value) -> Result<StateStore, Error> {
    let mut config = StoreConfig::new(root);
    config.backend = match args.get("backend").and_then(Value::as_str) {
        Some(name) => Some(BackendKind::parse(name)?),
        None => None,
    };
    config.lock_timeout = Duration::from_secs(2);
    let store = StateStore::with_env(config, &|_| None)?;
    store.initialize()?;
    Ok(store)
}

fn findings(report: Vec<&'static str>) -> Value {
    serde_json::json!({ "findings": report })
}

/// Runs the case's operation on `root`; `Err` is a broken case file, not a result.
fn run(root: &Path, dir: &Path, operation: &str, args: &Value) -> Result<Outcome, String> {
    use Outcome::{Failed, Report};
    let failed = |e: Error| Ok(Failed(e));
    let done = || Ok(Report(Value::Null));
    let env = |_: &str| None;
    match operation {
        "openStore" => match store(root, args) {
            Ok(s) => {
                s.close().map_err(|e| e.to_string())?;
                done()
            }
            Err(e) => failed(e),
        },
        "getContract" => {
            let (chain, name) = (u64_arg(args, "chainId")?, str_arg(args, "name")?);
            match store(root, args).and_then(|s| s.get_contract(chain, name)) {
                Ok(found) => Ok(Report(serde_json::json!({"found": found.is_some()}))),
                Err(e) => failed(e),
            }
        }
        "getAllContracts" => {
            let chain = u64_arg(args, "chainId")?;
            match store(root, args).and_then(|s| s.get_all_contracts(chain)) {
                Ok(all) => Ok(Report(serde_json::json!({"records": all.len()}))),
                Err(e) => failed(e),
            }
        }
        "putContract" => {
            let chain = u64_arg(args, "chainId")?;
            let record = ContractRecord::from_json(args.get("record").ok_or("args.record")?)?;
            match store(root, args).and_then(|s| s.put_contract(chain, record)) {
                Ok(()) => done(),
                Err(e) => failed(e),
            }
        }
        "importAll" => {
            let document = fs::read_to_string(dir.join(str_arg(args, "document")?))
                .map_err(|e| format!("document: {e}"))?;
            let overwrite = args.get("overwrite").and_then(Value::as_bool) == Some(true);
            match store(root, args).and_then(|s| s.import_all(&document, overwrite)) {
                Ok(summary) => Ok(Report(serde_json::json!({"imported": summary.imported}))),
                Err(e) => failed(e),
            }
        }
        "validateIntegrity" => match store(root, args).and_then(|s| s.validate_integrity()) {
            Ok(r) => Ok(Report(findings(
                r.errors.iter().chain(&r.warnings).map(|f| f.code).collect(),
            ))),
            Err(e) => failed(e),
        },
        "validateState" => {
            let options =
                ValidateOptions::from_json(root.to_path_buf(), args).map_err(|e| e.to_string())?;
            match validate_state(&options, &env) {
                Ok(r) => Ok(Report(findings(
                    r.findings.iter().map(|f| f.code).collect(),
                ))),
                Err(e) => failed(e),
            }
        }
        "verifyBackup" => {
            let deep = args.get("deep").and_then(Value::as_bool) != Some(false);
            match verify_backup(&root.join(str_arg(args, "backup")?), deep, &no_progress) {
                Ok(r) => Ok(Report(serde_json::json!({
                    "status": r.status.as_str(),
                    "rollbackReady": r.rollback_ready,
                    "problems": r.problems.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(),
                }))),
                Err(e) => failed(e),
            }
        }
        "emergencyRollback" => {
            let mut options = args.clone();
            if let Some(backup) = options.get_mut("backup") {
                *backup = root
                    .join(backup.as_str().ok_or("backup")?)
                    .display()
                    .to_string()
                    .into();
            }
            let options = RollbackOptions::from_json(root.to_path_buf(), &options)
                .map_err(|e| e.to_string())?;
            match emergency_rollback(&options, &|_: &Event| {}) {
                Ok(outcome) => Ok(Report(serde_json::json!({"status": outcome.status}))),
                Err(e) => failed(e),
            }
        }
        "migrate" => {
            let migration = match str_arg(args, "migration")? {
                "leveldb-to-unified" => Migration::LevelDbToUnified,
                "unified-to-leveldb" => Migration::UnifiedToLevelDb,
                "json-to-leveldb" => Migration::LegacyToLevelDb,
                other => return Err(format!("unknown migration {other:?}")),
            };
            let options = MigrateOptions {
                dry_run: args.get("dryRun").and_then(Value::as_bool) == Some(true),
                ..Default::default()
            };
            match migration.run(root, &options) {
                Ok(report) => Ok(Report(serde_json::json!({"skipped": report
                    .items
                    .iter()
                    .filter(|i| i.action == Action::Skipped)
                    .map(|i| i.target.clone())
                    .collect::<Vec<_>>()}))),
                Err(e) => failed(e),
            }
        }
        "createBackup" => {
            let options =
                CreateOptions::from_json(root.to_path_buf(), args).map_err(|e| e.to_string())?;
            match create_backup(&options, &no_progress) {
                Ok(_) => done(),
                Err(e) => failed(e),
            }
        }
        other => Err(format!("unknown operation {other:?}")),
    }
}

/// Whether `got` meets `expect`; the text says why not.
fn judge(expect: &Value, got: &Outcome) -> Result<(), String> {
    match (expect, got) {
        (Value::String(code), Outcome::Failed(e)) if e.code.as_str() == code => Ok(()),
        (Value::String(code), Outcome::Failed(e)) => Err(format!("expected {code}, got {e}")),
        (Value::String(code), Outcome::Report(r)) => {
            Err(format!("expected {code}, the operation succeeded: {r}"))
        }
        (Value::Object(want), Outcome::Report(report)) => {
            for (key, wanted) in want {
                let have = &report[key];
                let ok = match wanted {
                    Value::Array(items) => items
                        .iter()
                        .all(|i| have.as_array().is_some_and(|h| h.contains(i))),
                    other => have == other,
                };
                if !ok {
                    return Err(format!("expected {key} {wanted}, got {report}"));
                }
            }
            Ok(())
        }
        (Value::Object(_), Outcome::Failed(e)) => {
            Err(format!("expected a report {expect}, got the error {e}"))
        }
        _ => Err(format!("bad expect {expect}")),
    }
}

/// Builds the case's root, runs it in a thread with a time limit, checks code and bytes.
fn run_case(fixtures: &Path, dir: &Path) -> Result<(), String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let text = fs::read_to_string(dir.join("case.json")).map_err(|e| e.to_string())?;
    let spec: Value = serde_json::from_str(&text).map_err(|e| format!("case.json: {e}"))?;
    for key in ["why", "operation", "expect"] {
        if spec.get(key).is_none() {
            return Err(format!("case.json has no {key:?}"));
        }
    }
    let root = common::temp_dir(&format!("bad-{name}"));
    let base = spec
        .get("base")
        .and_then(Value::as_str)
        .unwrap_or("workspace");
    match base {
        "empty" => {}
        "workspace" | "workspace+leveldb" => {
            common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
            if base == "workspace+leveldb" {
                common::copy_tree(
                    &fixtures.join("lookcoin-leveldb-live"),
                    &root.join("leveldb"),
                );
            }
        }
        other => return Err(format!("unknown base {other:?}")),
    }
    if dir.join("files").is_dir() {
        common::copy_tree(&dir.join("files"), &root);
    }
    for step in spec
        .get("setup")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        apply(&root, step)?;
    }
    let before = snapshot(&root);
    let operation = spec["operation"].as_str().ok_or("operation")?.to_string();
    let args = spec.get("args").cloned().unwrap_or(Value::Null);
    let (send, receive) = mpsc::channel();
    let (thread_root, thread_dir) = (root.clone(), dir.to_path_buf());
    std::thread::spawn(move || {
        let _ = send.send(run(&thread_root, &thread_dir, &operation, &args));
    });
    let outcome = match receive.recv_timeout(CASE_TIMEOUT) {
        Ok(result) => result?,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(format!("no answer within {CASE_TIMEOUT:?} (blocked?)"))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => return Err("panicked".into()),
    };
    let verdict = judge(&spec["expect"], &outcome);
    let changed = changes(&before, &snapshot(&root));
    let _ = fs::remove_dir_all(&root);
    verdict?;
    if changed.is_empty() {
        Ok(())
    } else {
        Err(format!("the disk changed: {changed:?}"))
    }
}

#[test]
fn every_bad_input_gives_its_code_and_changes_nothing() {
    let fixtures = fixtures_or_skip!();
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-inputs");
    let mut cases: Vec<PathBuf> = fs::read_dir(&cases_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    cases.sort();
    let only = std::env::var("BAD_INPUT_CASE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for dir in cases
        .iter()
        .filter(|d| only.as_ref().is_none_or(|o| d.ends_with(o)))
    {
        let name = dir.file_name().unwrap().to_string_lossy();
        let result = run_case(&fixtures, dir);
        println!(
            "case {name}: {}",
            result
                .as_ref()
                .map_or_else(|e| format!("FAILED: {e}"), |()| "ok".into())
        );
        if let Err(why) = result {
            failures.push(format!("{name}: {why}"));
        }
        ran += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    if only.is_none() {
        assert!(ran >= 30, "only {ran} cases under {}", cases_dir.display());
    }
}
