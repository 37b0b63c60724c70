//! Validation benchmark (issue 5): `cargo bench --bench validate -- --json`.
//!
//! 1. The fixture workspace, in this process: a full `validate_state` of a copy (its live
//!    unified files, and its backup's LevelDB put at `leveldb/`), warm, p50 over [`FIXTURE_RUNS`]
//!    runs per backend. Target: p50 ≤ 20 ms.
//! 2. A generated state of 100 000 records on 50 chains, written once (deterministically, with
//!    the crate's own writers) under `target/bench-data/` both as unified files and as a LevelDB,
//!    and reused while [`DATA_VERSION`] is unchanged. Each backend is validated in a child process
//!    of its own (`--child <root> <backend> <runs>`, this binary again), which times its runs and
//!    reports its peak RSS (`VmHWM` of `/proc/self/status`, which starts afresh at exec). Target:
//!    ≤ 1 s per full validation.
//!
//! Timings are reported, never asserted. `--json` prints one JSON document on stdout, otherwise a
//! short summary; progress goes to stderr.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lookcoin_state::backend::leveldb::{LevelDbBackend, OpenMode};
use lookcoin_state::backend::{Backend, BackendKind};
use lookcoin_state::chains::ChainMap;
use lookcoin_state::record::ContractRecord;
use lookcoin_state::sample::fake_hex;
use lookcoin_state::unified::UnifiedFile;
use lookcoin_state::validate::{validate_state, Level, ValidateOptions, ValidationReport};
use serde_json::{json, Value};

/// Bump whenever the generated data changes: a cache of another version is regenerated.
const DATA_VERSION: &str = "validate-bench-v1";
/// Generated chains; the first five are the real production chains, the rest unmapped ids.
const CHAINS: usize = 50;
/// Generated records per chain (50 × 2000 = 100 000).
const PER_CHAIN: usize = 2000;
/// Warm-up runs before the fixture is timed.
const WARM_UPS: usize = 5;
/// Timed runs of the fixture per backend (the target asks for at least 50).
const FIXTURE_RUNS: usize = 100;
/// Timed runs of the generated state per backend, in its child process.
const GENERATED_RUNS: usize = 5;
/// Fixed "now" of the generated files, so every generation writes the same bytes.
const GENERATED_AT_MS: u64 = 1_755_000_000_000;
/// The fixture project and its migration backup's LevelDB.
const FIXTURE_WORKSPACE: &str = "lookcoin-workspace";
const FIXTURE_LEVELDB: &str = "backups/migration-2025-08-13T11-26-18-516Z/leveldb/current";

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        match child(&args[1..]) {
            Ok(out) => println!("{out}"),
            Err(e) => {
                eprintln!("validate bench child {:?}: {e}", &args[1..]);
                std::process::exit(1);
            }
        }
        return;
    }
    // `cargo bench` adds `--bench`; anything that is not ours is ignored.
    let json_out = args.iter().any(|a| a == "--json");
    match parent() {
        Ok(doc) if json_out => println!("{}", serde_json::to_string_pretty(&doc).unwrap()),
        Ok(doc) => print_summary(&doc),
        Err(e) => {
            eprintln!("validate bench: error: {e}");
            std::process::exit(1);
        }
    }
}

fn parent() -> AnyResult<Value> {
    let data = target_dir().join("bench-data");
    let fixture = match fixtures() {
        Some(dir) => bench_fixture(&dir, &data.join("validate-fixture"))?,
        None => json!({"skipped": "fixtures not found (set LOOKCOIN_FIXTURES)"}),
    };
    let generated = bench_generated(&data.join(format!("{DATA_VERSION}-100k")))?;
    Ok(json!({"bench": "validate", "fixture": fixture, "generated": generated}))
}

// ------------------------------------------------------------------------------------------------
// 1. The fixture, in process.

fn bench_fixture(fixtures: &Path, root: &Path) -> AnyResult<Value> {
    if root.exists() {
        fs::remove_dir_all(root)?;
    }
    copy_tree(&fixtures.join(FIXTURE_WORKSPACE), root)?;
    copy_tree(
        &fixtures.join(FIXTURE_WORKSPACE).join(FIXTURE_LEVELDB),
        &root.join("leveldb"),
    )?;
    let mut out = json!({"root": root.display().to_string(), "warmUps": WARM_UPS,
                         "runs": FIXTURE_RUNS, "targetP50Ms": 20.0});
    let mut met = true;
    for backend in [BackendKind::UnifiedJson, BackendKind::LevelDb] {
        log(format!("fixture: {backend}, {FIXTURE_RUNS} runs"));
        let (ms, report) = timed_runs(root, backend, WARM_UPS, FIXTURE_RUNS)?;
        let stats = stats(&ms, &report);
        met &= stats["p50Ms"].as_f64().is_some_and(|p| p <= 20.0);
        out[backend.as_str()] = stats;
    }
    out["met"] = met.into();
    fs::remove_dir_all(root)?;
    Ok(out)
}

/// `runs` timed full validations after `warm_ups` untimed ones; the last report.
fn timed_runs(
    root: &Path,
    backend: BackendKind,
    warm_ups: usize,
    runs: usize,
) -> AnyResult<(Vec<f64>, ValidationReport)> {
    let options = ValidateOptions {
        root: root.to_path_buf(),
        backend: Some(backend),
        level: Level::Full,
        expect: Default::default(),
    };
    let no_env = |_: &str| None;
    for _ in 0..warm_ups {
        validate_state(&options, &no_env)?;
    }
    let mut ms = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let report = validate_state(&options, &no_env)?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        last = Some(report);
    }
    Ok((ms, last.ok_or("no run")?))
}

fn stats(ms: &[f64], report: &ValidationReport) -> Value {
    json!({
        "p50Ms": round(percentile(ms, 0.5)),
        "p99Ms": round(percentile(ms, 0.99)),
        "minMs": round(percentile(ms, 0.0)),
        "maxMs": round(percentile(ms, 1.0)),
        "findings": report.findings.len(),
        "isValid": report.is_valid,
        "production": report.counts.production,
        "dev": report.counts.dev,
    })
}

// ------------------------------------------------------------------------------------------------
// 2. The generated state, one child process per backend.

fn bench_generated(root: &Path) -> AnyResult<Value> {
    let generation = ensure_generated(root)?;
    let mut out = json!({"root": root.display().to_string(), "records": CHAINS * PER_CHAIN,
                         "chains": CHAINS, "generation": generation, "targetMs": 1000.0});
    let mut met = true;
    for backend in [BackendKind::UnifiedJson, BackendKind::LevelDb] {
        log(format!(
            "generated: {backend}, child process, {GENERATED_RUNS} runs"
        ));
        let output = Command::new(std::env::current_exe()?)
            .args(["--child", &root.display().to_string(), backend.as_str()])
            .arg(GENERATED_RUNS.to_string())
            .output()?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("child for {backend} failed: {stderr}").into());
        }
        let result: Value = serde_json::from_slice(&output.stdout)?;
        met &= result["p50Ms"].as_f64().is_some_and(|p| p <= 1000.0);
        out[backend.as_str()] = result;
    }
    out["met"] = met.into();
    Ok(out)
}

/// `--child <root> <backend> <runs>`: the timings of `runs` full validations (one warm-up
/// first, which also shows the cold read) and this process's peak RSS.
fn child(args: &[String]) -> AnyResult<Value> {
    let [root, backend, runs] = args else {
        return Err("usage: --child <root> <backend> <runs>".into());
    };
    let backend = BackendKind::parse(backend)?;
    let baseline = vm_hwm_kib();
    let started = Instant::now();
    let (ms, report) = timed_runs(Path::new(root), backend, 0, 1)?;
    let first_ms = started.elapsed().as_secs_f64() * 1000.0;
    drop((ms, report));
    let (ms, report) = timed_runs(Path::new(root), backend, 0, runs.parse()?)?;
    let mut out = stats(&ms, &report);
    out["firstRunMs"] = round(first_ms).into();
    out["runs"] = ms.len().into();
    out["peakRssKiB"] = vm_hwm_kib().into();
    out["baselineRssKiB"] = baseline.into();
    Ok(out)
}

/// Generates the state once; `{cached, seconds}`.
fn ensure_generated(root: &Path) -> AnyResult<Value> {
    let marker = root.join("generated.json");
    if fs::read_to_string(&marker).is_ok_and(|t| t.contains(DATA_VERSION)) {
        return Ok(json!({"cached": true, "seconds": 0.0}));
    }
    log(format!(
        "generating {} records on {CHAINS} chains in {}",
        CHAINS * PER_CHAIN,
        root.display()
    ));
    let started = Instant::now();
    if root.exists() {
        fs::remove_dir_all(root)?;
    }
    let unified = root.join("deployments/unified");
    fs::create_dir_all(&unified)?;
    let db = LevelDbBackend::open(&root.join("leveldb"), OpenMode::CreateIfMissing)?;
    let chains = ChainMap::default();
    for (index, chain_id) in chain_ids().into_iter().enumerate() {
        let records = chain_records(&chains, index, chain_id);
        db.put_batch(chain_id, &records)?;
        write_unified(&unified, &chains, chain_id, &records)?;
    }
    db.close()?;
    let seconds = started.elapsed().as_secs_f64();
    fs::write(&marker, json!({"version": DATA_VERSION}).to_string())?;
    Ok(json!({"cached": false, "seconds": round(seconds)}))
}

/// The five real production chains, then unmapped ids (files `chain<id>.unified.json`).
fn chain_ids() -> Vec<u64> {
    let real = [56, 97, 84532, 11155420, 23295];
    let extra = (0..(CHAINS - real.len()) as u64).map(|i| 700_001 + i);
    real.into_iter().chain(extra).collect()
}

/// A chain's records: well-formed, protocol modules and core contracts mixed; one hash per
/// name on every chain, so the cross-network rule finds nothing (a clean state).
fn chain_records(chains: &ChainMap, index: usize, chain_id: u64) -> Vec<ContractRecord> {
    (0..PER_CHAIN)
        .map(|i| {
            let name = if i % 4 == 0 {
                format!("Bridge{i:04}Module")
            } else {
                format!("Contract{i:04}")
            };
            let seed = format!("{chain_id}:{name}");
            let hash = fake_hex(&format!("bytecode:{name}"), 32);
            ContractRecord {
                network_name: chains.network_name(chain_id),
                address: checksum_like(&fake_hex(&format!("impl:{seed}"), 20)),
                proxy_address: Some(checksum_like(&fake_hex(&format!("proxy:{seed}"), 20))),
                factory_byte_code_hash: hash.clone(),
                implementation_hash: Some(hash),
                deployment_args: Some(vec![
                    json!(fake_hex(&format!("arg:{seed}"), 20)),
                    json!("20000000000000000000000000"),
                    json!(i),
                ]),
                timestamp: GENERATED_AT_MS - ((index * PER_CHAIN + i) as u64) * 1000,
                contract_name: name,
                chain_id,
            }
        })
        .collect()
}

/// Mixed-case hex as real addresses have (not a real EIP-55 checksum; nothing checks one).
fn checksum_like(address: &str) -> String {
    address
        .char_indices()
        .map(|(i, c)| {
            if i % 3 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect::<String>()
        .replacen("0X", "0x", 1)
}

fn write_unified(
    dir: &Path,
    chains: &ChainMap,
    chain_id: u64,
    records: &[ContractRecord],
) -> AnyResult<()> {
    let network = chains.network_name(chain_id);
    let mut file =
        UnifiedFile::skeleton(chain_id, &network, chains.tier(chain_id), GENERATED_AT_MS);
    records.iter().for_each(|r| file.put(r));
    file.stamp_write(GENERATED_AT_MS);
    fs::write(dir.join(format!("{network}.unified.json")), file.to_text())?;
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Helpers.

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// `$LOOKCOIN_FIXTURES`, else `../shared/fixtures` beside the repository, when present.
fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("LOOKCOIN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    dir.join(FIXTURE_WORKSPACE).is_dir().then_some(dir)
}

fn copy_tree(from: &Path, to: &Path) -> AnyResult<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
            // Fixture files may be read-only; the copy is ours to change.
            let mut perms = fs::metadata(&target)?.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            fs::set_permissions(&target, perms)?;
        }
    }
    Ok(())
}

/// This process's memory high-water mark in KiB (`VmHWM`), -1 when unknown.
fn vm_hwm_kib() -> i64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(-1)
}

/// Nearest-rank percentile of unsorted samples (q = 0: min, q = 1: max).
fn percentile(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let idx = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn log(msg: impl AsRef<str>) {
    eprintln!("validate bench: {}", msg.as_ref());
}

fn print_summary(doc: &Value) {
    let f = &doc["fixture"];
    for backend in ["unified-json", "leveldb"] {
        let s = &f[backend];
        if !s.is_null() {
            println!(
                "fixture {backend:<12} p50 {} ms  p99 {} ms  ({} runs; target p50 ≤ 20 ms)",
                s["p50Ms"], s["p99Ms"], f["runs"]
            );
        }
    }
    let g = &doc["generated"];
    for backend in ["unified-json", "leveldb"] {
        let s = &g[backend];
        println!(
            "100k/{} chains {backend:<12} p50 {} ms (first {} ms)  peak RSS {} MiB  ({} runs; target ≤ 1000 ms)",
            g["chains"],
            s["p50Ms"],
            s["firstRunMs"],
            s["peakRssKiB"].as_i64().unwrap_or(-1) / 1024,
            s["runs"]
        );
    }
    println!("targets met: fixture {}, generated {}", f["met"], g["met"]);
}
