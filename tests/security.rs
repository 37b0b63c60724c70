//! Security checks: the shipped code spawns no shell; every operation writes only inside the
//! project root (temp scratch included, once it is done); secrets in the environment never
//! reach a file under the root or the output.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use lookcoin_state::backend::BackendKind;
use lookcoin_state::backup::{
    create_backup, no_progress, prune_backups, verify_backup, CreateOptions, PruneOptions,
};
use lookcoin_state::migrate::{MigrateOptions, Migration};
use lookcoin_state::record::ContractRecord;
use lookcoin_state::rollback::{emergency_rollback, Event, RollbackOptions};
use lookcoin_state::store::{StateStore, StoreConfig};
use lookcoin_state::validate::{validate_state, ValidateOptions};

/// A fake Slack webhook; its last path segment is the secret part.
const WEBHOOK: &str = "https://hooks.slack.com/services/T000/B000/SECRETxyz";
/// A fake deployer key, as deploy scripts keep it in the environment.
const PRIVATE_KEY: &str = "0x8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d";
/// What must never appear anywhere.
const SECRETS: [&str; 3] = [WEBHOOK, "SECRETxyz", "8badf00d8badf00d"];
/// Set in the child that runs the operations; names the root to work on.
const CHILD_ROOT_VAR: &str = "LCS_SECURITY_CHILD_ROOT";
/// The child prints this last, so the parent knows it ran every operation.
const CHILD_DONE: &str = "security child: every operation ran";

/// Constructs that start another process: Rust, then the Node side.
const SPAWNERS: [&str; 15] = [
    "process::Command",
    "Command::new",
    "CommandExt",
    "libc::system",
    "libc::fork",
    "libc::exec",
    "libc::posix_spawn",
    "libc::popen",
    "child_process",
    "execSync",
    "execFileSync",
    "spawnSync",
    "execFile(",
    "shell: true",
    ".fork(",
];

/// Program names that are shells.
const SHELLS: [&str; 8] = [
    "\"sh\"",
    "\"bash\"",
    "\"dash\"",
    "\"zsh\"",
    "/bin/sh",
    "/bin/bash",
    "cmd.exe",
    "powershell",
];

/// Spawning lines allowed in shipped code: (file, part of the line, why).
const ALLOWED: [(&str, &str, &str); 1] = [(
    "index.js",
    "require('child_process').execSync('ldd --version'",
    "the napi-rs generated loader (rewritten by `napi build`) runs `ldd --version` through \
     execSync, a shell, only when neither /usr/bin/ldd nor process.report tells musl from glibc; \
     process.report always exists on the supported Node (>= 20), so that branch never runs",
)];

/// A spawner found on a line of shipped code: (file, line number, construct, line).
type Hit = (String, usize, &'static str, String);

/// Lines of `text` that use a spawner, and the spawner; lines from a Rust `#[cfg(test)]`
/// module on are left out unless they start a shell (test helpers may start `true`).
fn spawners_in(text: &str, rust: bool) -> Vec<(usize, &'static str, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let tests_from = if rust {
        (0..lines.len())
            .find(|&i| {
                lines[i].trim() == "#[cfg(test)]"
                    && lines
                        .get(i + 1)
                        .is_some_and(|l| l.trim_start().starts_with("mod "))
            })
            .unwrap_or(lines.len())
    } else {
        lines.len()
    };
    let mut hits = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for spawner in SPAWNERS.iter().filter(|s| line.contains(*s)) {
            let starts_shell = SHELLS.iter().any(|s| line.contains(s));
            if i < tests_from || starts_shell {
                hits.push((i + 1, *spawner, line.trim().to_string()));
            }
        }
    }
    hits
}

/// Files under `dir` (recursively) whose names end with `ext`.
fn files_with(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            files_with(&path, ext, out);
        } else if path.to_string_lossy().ends_with(ext) {
            out.push(path);
        }
    }
}

#[test]
fn the_detector_sees_shells_and_spawns() {
    let js = "const { exec } = require('child_process')\nexec('ls', { shell: true })";
    assert_eq!(spawners_in(js, false).len(), 2);
    let rust = "fn f() { std::process::Command::new(\"ls\"); }\n#[cfg(test)]\nmod tests {\n  fn g() { Command::new(\"true\"); }\n  fn h() { Command::new(\"sh\"); }\n}";
    let found: Vec<usize> = spawners_in(rust, true).iter().map(|h| h.0).collect();
    assert_eq!(
        found,
        vec![1, 1, 5],
        "line 4 is a test helper that starts no shell"
    );
    assert!(spawners_in("let x = re.exec(text); thread::spawn(f);", false).is_empty());
}

#[test]
fn no_shell_or_process_is_spawned_by_shipped_code() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_with(&repo.join("src"), ".rs", &mut files);
    files_with(&repo.join("npm"), ".js", &mut files);
    files.push(repo.join("index.js"));
    let rust_files = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"));
    assert!(rust_files.count() > 40, "src/ was not scanned");
    let mut forbidden: Vec<Hit> = Vec::new();
    let mut allowed_used = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(repo).unwrap().display().to_string();
        let text = fs::read_to_string(file).unwrap();
        for (line, spawner, code) in spawners_in(&text, rel.ends_with(".rs")) {
            match ALLOWED
                .iter()
                .position(|(f, part, _)| *f == rel && code.contains(part))
            {
                Some(i) => {
                    allowed_used.insert(i);
                }
                None => forbidden.push((rel.clone(), line, spawner, code)),
            }
        }
    }
    assert!(
        forbidden.is_empty(),
        "process spawning in shipped code (allowlist a non-shell program in ALLOWED with a reason): {forbidden:#?}"
    );
    for (i, (file, part, _)) in ALLOWED.iter().enumerate() {
        assert!(
            allowed_used.contains(&i),
            "ALLOWED entry {file} / {part} matches nothing any more: remove it"
        );
    }
}

/// Child side: runs every writing operation on the root named by the environment, printing
/// their messages (the parent searches them for secrets).
#[test]
fn security_child() {
    let Ok(root) = std::env::var(CHILD_ROOT_VAR) else {
        return;
    };
    let root = PathBuf::from(root);
    let no_env = |_: &str| None;

    // Init-like: a LevelDB store created where there was none, then a unified write.
    let mut config = StoreConfig::new(&root);
    config.backend = Some(BackendKind::LevelDb);
    let store = StateStore::with_env(config, &no_env).unwrap();
    store.initialize().unwrap();
    let record = ContractRecord::from_json(&serde_json::json!({
        "contractName": "SecurityProbe", "chainId": 84532, "networkName": "basesepolia",
        "address": "0x5838A9f96E72eA83317D155F31AB660832533bAB",
        "factoryByteCodeHash": format!("0x{}", "ab".repeat(32)), "timestamp": 1_755_000_000_000u64
    }))
    .unwrap();
    store.put_contract(84532, record.clone()).unwrap();
    store.close().unwrap();
    let mut config = StoreConfig::new(&root);
    config.backend = Some(BackendKind::UnifiedJson);
    let store = StateStore::with_env(config, &no_env).unwrap();
    store.initialize().unwrap();
    store.put_contract(84532, record).unwrap();
    store.close().unwrap();

    let created = create_backup(
        &CreateOptions {
            root: root.clone(),
            kind: "manual".into(),
            label: Some("security check".into()),
            include_unified_history: true,
            ..Default::default()
        },
        &no_progress,
    )
    .unwrap();
    let verified = verify_backup(&created.path, true, &no_progress).unwrap();
    println!("{}", verified.to_json());
    let migrated = Migration::LevelDbToUnified
        .run(&root, &MigrateOptions::default())
        .unwrap();
    println!("{}", migrated.to_json());
    let dry = MigrateOptions {
        dry_run: true,
        ..Default::default()
    };
    println!(
        "{}",
        Migration::UnifiedToLevelDb
            .run(&root, &dry)
            .unwrap()
            .to_json()
    );
    let print = |e: &Event| println!("{} {} {}", e.step, e.status, e.message);
    let mut options = RollbackOptions {
        root: root.clone(),
        dry_run: true,
        ..Default::default()
    };
    println!(
        "{}",
        emergency_rollback(&options, &print).unwrap().to_json()
    );
    options.dry_run = false;
    options.force = true;
    options.incident_id = Some("INC-SECURITY-1".into());
    println!(
        "{}",
        emergency_rollback(&options, &print).unwrap().to_json()
    );
    let validation = validate_state(
        &ValidateOptions::from_json(root.clone(), &serde_json::Value::Null).unwrap(),
        &no_env,
    )
    .unwrap();
    println!("{}", validation.to_json());
    let pruned = prune_backups(
        &root,
        PruneOptions {
            keep: 1,
            dry_run: true,
        },
    )
    .unwrap();
    println!("{}", pruned.to_json());
    println!("{CHILD_DONE}");
}

/// Names in `dir` (not recursive).
fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// One run of the child on a fresh root, shared by the tests that judge it.
struct ChildRun {
    parent: PathBuf,
    root: PathBuf,
    tmp: PathBuf,
    pid: u32,
    output: Output,
    system_tmp_before: BTreeSet<String>,
}

/// Runs the child once: root alone in an empty parent, TMPDIR a fresh empty folder, the
/// secrets in its environment.
fn child_run() -> Option<&'static ChildRun> {
    static RUN: OnceLock<Option<ChildRun>> = OnceLock::new();
    RUN.get_or_init(|| {
        let fixtures = common::fixtures()?;
        let parent = common::temp_dir("security-parent");
        let root = parent.join("root");
        common::copy_tree(&fixtures.join("lookcoin-workspace"), &root);
        let tmp = common::temp_dir("security-tmpdir");
        let system_tmp = Path::new("/tmp");
        let system_tmp_before = names(system_tmp);
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "security_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ROOT_VAR, &root)
            .env("TMPDIR", &tmp)
            .env("SLACK_WEBHOOK_URL", WEBHOOK)
            .env("PRIVATE_KEY", PRIVATE_KEY)
            .env("DEPLOYER_PRIVATE_KEY", PRIVATE_KEY)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let output = child.wait_with_output().unwrap();
        Some(ChildRun {
            parent,
            root,
            tmp,
            pid,
            output,
            system_tmp_before,
        })
    })
    .as_ref()
}

fn assert_child_ran(run: &ChildRun) {
    let stdout = String::from_utf8_lossy(&run.output.stdout);
    assert!(
        run.output.status.success() && stdout.contains(CHILD_DONE),
        "the operations failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.output.stderr)
    );
}

#[test]
fn every_operation_writes_only_inside_the_root() {
    let Some(run) = child_run() else { return };
    assert_child_ran(run);
    assert!(
        run.root.join("logs/incidents/INC-SECURITY-1").is_dir()
            && run.root.join("leveldb/CURRENT").is_file(),
        "the operations did not write their results into the root"
    );
    assert_eq!(
        names(&run.parent),
        BTreeSet::from(["root".to_string()]),
        "something was written beside the root"
    );
    assert_eq!(
        names(&run.tmp),
        BTreeSet::new(),
        "scratch left in the temp folder"
    );
    // Other processes use /tmp too: only names carrying the child's pid or our folders count.
    let pid = run.pid.to_string();
    let root_tag = run
        .parent
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let leaked: Vec<String> = names(Path::new("/tmp"))
        .difference(&run.system_tmp_before)
        .filter(|n| {
            n.contains(&root_tag)
                || n.split(|c: char| !c.is_ascii_digit())
                    .any(|digits| digits == pid)
        })
        .cloned()
        .collect();
    assert!(
        leaked.is_empty(),
        "written to /tmp despite TMPDIR: {leaked:?}"
    );
}

/// Every file under `dir`, with its bytes (links are not followed).
fn all_files(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            all_files(&entry.path(), out);
        } else if kind.is_file() {
            out.push((entry.path(), fs::read(entry.path()).unwrap()));
        }
    }
}

#[test]
fn secrets_in_the_environment_reach_no_file_and_no_output() {
    let Some(run) = child_run() else { return };
    assert_child_ran(run);
    let mut files = Vec::new();
    all_files(&run.root, &mut files);
    all_files(&run.tmp, &mut files);
    let reports = files
        .iter()
        .filter(|(p, _)| p.starts_with(run.root.join("logs/incidents")))
        .count();
    assert!(
        reports >= 3,
        "the rollback wrote no incident files to search"
    );
    let mut texts: Vec<(String, &[u8])> = files
        .iter()
        .map(|(p, bytes)| (p.display().to_string(), bytes.as_slice()))
        .collect();
    texts.push(("stdout".into(), &run.output.stdout));
    texts.push(("stderr".into(), &run.output.stderr));
    for (name, bytes) in texts {
        for secret in SECRETS {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{name} holds the secret {secret:?}"
            );
        }
    }
}
