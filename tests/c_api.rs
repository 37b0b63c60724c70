//! The C API from C: compiles the programs in tests/c/ against the header and the cdylib of
//! this test run, and runs them on copies of the LookCoin fixtures (read_fixture.c on the
//! backup's LevelDB, backup.c on the backup itself and on a workspace it backs up).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The cdylib cargo built for this test run: integration tests link the rlib, but the lib is
/// compiled once for both crate types, so `liblookcoin_state.so` sits beside the test binary.
fn cdylib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let dir = exe
        .parent()
        .expect("the test binary is in a directory")
        .to_path_buf();
    assert!(
        dir.join("liblookcoin_state.so").is_file(),
        "liblookcoin_state.so not found in {}; cargo should have built it with this test",
        dir.display()
    );
    dir
}

/// Compiles the C program with the strictness C users may build with (`CC` overrides gcc).
fn compile(source: &Path, lib_dir: &Path, exe: &Path) {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cc = std::env::var_os("CC").unwrap_or_else(|| "gcc".into());
    let output = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", crate_dir.join("include").display()))
        .arg(source)
        .arg("-o")
        .arg(exe)
        .arg(format!("-L{}", lib_dir.display()))
        .arg("-llookcoin_state")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc:?} (a C compiler is needed): {e}"));
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        text(&output)
    );
}

/// Runs a compiled C program against this test run's cdylib. cargo's LD_LIBRARY_PATH also
/// lists target/<profile>/, where an older build of the library may sit; it would win over
/// the rpath, so the path is set to the right folder alone.
fn run_c(exe: &Path) -> Command {
    let mut command = Command::new(exe);
    command.env("LD_LIBRARY_PATH", cdylib_dir());
    command
}

fn text(output: &Output) -> String {
    format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn c_program_reads_and_writes_the_fixture_database() {
    let fx = fixtures_or_skip!();
    let tmp = common::temp_dir("capi");
    let root = tmp.join("root");
    common::copy_tree(
        &fx.join(common::BACKUP).join("leveldb/current"),
        &root.join("leveldb"),
    );

    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/read_fixture.c");
    let exe = tmp.join("read_fixture");
    compile(&source, &cdylib_dir(), &exe);

    let output = run_c(&exe).arg(&root).output().unwrap();
    let all = text(&output);
    assert!(
        output.status.success(),
        "read_fixture failed ({}):\n{all}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in [
        "ok: 97-LookCoin has address 0x5838A9f96E72eA83317D155F31AB660832533bAB",
        "chain 97: 9 records",
        "ok: a missing contract is NOT_FOUND with a NULL json",
        "ok: a NULL store is INVALID_ARGUMENT with a message",
        "ok: an invalid UTF-8 name is INVALID_ARGUMENT",
        "ok: read 97-CApiProbe back",
        "ok: an address 0xefgh is VALIDATION_FAILED",
        "ok: close the store",
        "all checks passed",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing line {line:?} in:\n{all}"
        );
    }
    assert!(stdout
        .lines()
        .any(|l| l.starts_with("97-LookCoin: {\"contractName\":\"LookCoin\"")));
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn c_program_verifies_the_fixture_backup_and_creates_one() {
    let fx = fixtures_or_skip!();
    let tmp = common::temp_dir("capi-backup");
    let backup = tmp.join("migration-2025-08-13T11-26-18-516Z");
    common::copy_tree(&fx.join(common::BACKUP), &backup);
    let root = tmp.join("root");
    common::copy_tree(&fx.join("lookcoin-workspace"), &root);
    common::copy_tree(&fx.join("lookcoin-leveldb-live"), &root.join("leveldb"));
    let backup_before = common::snapshot(&backup);

    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/backup.c");
    let exe = tmp.join("backup");
    compile(&source, &cdylib_dir(), &exe);

    let output = run_c(&exe).arg(&backup).arg(&root).output().unwrap();
    let all = text(&output);
    assert!(
        output.status.success(),
        "backup failed ({}):\n{all}",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in [
        "ok: the fixture backup is INCOMPLETE",
        "ok: the fixture backup is rollbackReady",
        "ok: a NULL dir is INVALID_ARGUMENT with a NULL json",
        "ok: kind nightly is VALIDATION_FAILED",
        "ok: create a migration backup of 28 records",
        "ok: the new backup verifies PASSED and rollbackReady",
        "all checks passed",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing line {line:?} in:\n{all}"
        );
    }
    assert_eq!(
        common::snapshot(&backup),
        backup_before,
        "verifying changed the backup"
    );
    let created: Vec<_> = std::fs::read_dir(root.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.starts_with("migration-") && name != "migration-2025-08-13T11-26-18-516Z"
        })
        .collect();
    assert_eq!(created.len(), 1, "exactly one new backup: {created:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn c_program_rolls_the_fixture_workspace_back_and_validates_it() {
    let fx = fixtures_or_skip!();
    let tmp = common::temp_dir("capi-rollback");
    let root = tmp.join("root");
    common::copy_tree(&fx.join("lookcoin-workspace"), &root);

    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/rollback.c");
    let exe = tmp.join("rollback");
    compile(&source, &cdylib_dir(), &exe);

    let output = run_c(&exe).arg(&root).output().unwrap();
    let all = text(&output);
    assert!(
        output.status.success(),
        "rollback failed ({}):\n{all}",
        output.status
    );
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .any(|l| l == "all checks passed"),
        "{all}"
    );
    assert!(root.join(".env.emergency").is_file());
    assert!(root
        .join("logs/incidents/INC-C-1/rollback-report.json")
        .is_file());
    std::fs::remove_dir_all(&tmp).unwrap();
}
