#!/usr/bin/env node
// Benchmark harness for lookcoin-state (run with `npm run bench`).
//
// Measures our addon against its peers on the same machine, in the same process, on the same data:
//   1. LevelDB backend vs Node's `level` (classic-level) on two copies of the fixture database;
//   2. unified-JSON backend vs a plain-JS re-implementation of the old TypeScript manager
//      (FORMATS.md §2.3/§2.4/§2.7), with and without fsync, on copies of the fixture deployments.
//   3. backups and rollback: `cargo bench --bench backup -- --json` (benches/backup.rs: deep verify
//      vs `sha256sum -c`, create vs `cp -r` + `sha256sum`, the whole rollback vs deep verify, on a
//      generated ~1 GiB state), then the CLI rollback of fixture copies vs the runbook's shell steps.
//   4. validation: `cargo bench --bench validate -- --json` (benches/validate.rs: validateState of the
//      fixture in process, and of a generated 100k-record, 50-chain state in a child process).
// It only reports: timings are never asserted; it exits 0 unless something errors.
// Output: a table on stdout and bench/RESULTS.md (generated, never edited by hand).
// `--quick` (or LOOKCOIN_BENCH_QUICK=1): the backup bench on a ~50 MiB data set instead of 1 GiB,
// and the report goes to bench/work/RESULTS-quick.md, leaving bench/RESULTS.md alone.
// `--only=1,2`: just these sections; the report goes to bench/work/RESULTS-partial.md.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.argv.includes('--quick') ||
  ['1', 'true', 'yes'].includes((process.env.LOOKCOIN_BENCH_QUICK ?? '').toLowerCase());
const SECTIONS = ['1', '2', '3', '4'];
const ONLY = parseOnly();
/** Whether section `id` runs in this invocation. */
const runs = (id) => ONLY === null || ONLY.has(id);
// bench/RESULTS.md only ever holds a full run of every section.
const RESULTS_FILE = QUICK
  ? path.join(REPO, 'bench', 'work', 'RESULTS-quick.md')
  : ONLY !== null
    ? path.join(REPO, 'bench', 'work', 'RESULTS-partial.md')
    : path.join(REPO, 'bench', 'RESULTS.md');
const FIXTURES = process.env.LOOKCOIN_FIXTURES
  ? path.resolve(process.env.LOOKCOIN_FIXTURES)
  : path.resolve(REPO, '..', 'shared', 'fixtures');
const LEVELDB_FIXTURE = path.join(
  FIXTURES,
  'lookcoin-workspace/backups/migration-2025-08-13T11-26-18-516Z/leveldb/current',
);
const DEPLOYMENTS_FIXTURE = path.join(FIXTURES, 'lookcoin-workspace/deployments');
const WORKSPACE_FIXTURE = path.join(FIXTURES, 'lookcoin-workspace');
const FIXTURE_BACKUP_ID = 'migration-2025-08-13T11-26-18-516Z';
const CLI = path.join(REPO, 'npm', 'cli.js');
const UNIFIED_FILE_NAME = 'bsctestnet.unified.json'; // the largest live unified file, chain 97

const CHAIN = 97;
const NAME = 'LookCoin';
const KEY = `${CHAIN}-${NAME}`;
const EXPECTED_ADDRESS = '0x5838A9f96E72eA83317D155F31AB660832533bAB'; // fixture README

// Iterations per peer (measured) and warm-up iterations per peer (not recorded).
const N = {
  get: 2000,
  list: 1000,
  durablePut: 300,
  warmGet: 200,
  warmList: 100,
  warmPut: 20,
};
// CLI rollback runs per peer (after one warm-up each); the targets ask for at least 15.
const N_CLI_ROLLBACK = 20;
// Peers run interleaved in rounds of this many iterations, so drift (CPU frequency,
// page cache, background load) hits every peer alike.
const ROUND = { get: 100, put: 25 };

const CANONICAL = [
  'LookCoin', 'SupplyOracle', 'LayerZeroModule', 'CelerIMModule', 'HyperlaneModule',
  'CrossChainRouter', 'FeeManager', 'SecurityManager', 'ProtocolRegistry',
];

// ------------------------------------------------------------------------------------------------
// Preconditions

/** The section ids of `--only=…` (comma-separated), or null when every section runs. */
function parseOnly() {
  const arg = process.argv.find((a) => a.startsWith('--only='));
  if (!arg) return null;
  const ids = arg.slice('--only='.length).split(',').map((x) => x.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !SECTIONS.includes(id));
  if (ids.length === 0 || unknown.length > 0) {
    console.error(`bench: --only takes section numbers among ${SECTIONS.join(', ')}; got ${arg}`);
    process.exit(1);
  }
  return new Set(ids);
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

function checkFixtures() {
  const needed = [
    path.join(LEVELDB_FIXTURE, 'CURRENT'),
    path.join(DEPLOYMENTS_FIXTURE, 'unified', UNIFIED_FILE_NAME),
  ];
  const missing = needed.filter((p) => !fs.existsSync(p));
  if (missing.length > 0) {
    fail(
      `fixtures not found; the benchmark needs the LookCoin fixtures.\n` +
        `  looked in: ${FIXTURES}\n` +
        missing.map((p) => `  missing:   ${p}\n`).join('') +
        `  set LOOKCOIN_FIXTURES to the fixtures directory (default: <repo>/../shared/fixtures).`,
    );
  }
}

function loadModules() {
  const require = createRequire(path.join(REPO, 'package.json'));
  let addon;
  try {
    addon = require(path.join(REPO, 'index.js'));
  } catch (e) {
    fail(
      `cannot load the addon (${path.join(REPO, 'index.js')}): ${e.message}\n` +
        `  build it first: npx napi build --platform --release`,
    );
  }
  let Level;
  try {
    ({ Level } = require('level'));
  } catch (e) {
    fail(`cannot load the devDependency \`level\`: ${e.message}\n  run: npm install`);
  }
  const levelVersion = require('level/package.json').version;
  let classicVersion = '?';
  try {
    classicVersion = require('classic-level/package.json').version;
  } catch { /* reported as ? */ }
  return { addon, Level, levelVersion, classicVersion };
}

// ------------------------------------------------------------------------------------------------
// Temp copies

function makeWritable(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      fs.chmodSync(p, 0o755);
      makeWritable(p);
    } else {
      fs.chmodSync(p, 0o644);
    }
  }
}

function copyTree(src, dst) {
  fs.cpSync(src, dst, { recursive: true });
  fs.chmodSync(dst, 0o755);
  makeWritable(dst); // the fixtures are read-only; our copies must not be
}

// ------------------------------------------------------------------------------------------------
// Measurement

const now = process.hrtime.bigint;

/** Runs `fn(i)` for i in [from, from+count), recording each call's latency (µs) into `out`. */
async function timeAsync(fn, from, count, out) {
  for (let i = from; i < from + count; i++) {
    const t0 = now();
    await fn(i);
    const t1 = now();
    out.push(Number(t1 - t0) / 1e3);
  }
}

function timeSync(fn, from, count, out) {
  for (let i = from; i < from + count; i++) {
    const t0 = now();
    fn(i);
    const t1 = now();
    out.push(Number(t1 - t0) / 1e3);
  }
}

/**
 * Measures several peers side by side. Each peer: `{ label, fn, sync }`, `fn(i)` gets an index
 * that is unique per peer across warm-up (0..warmup-1) and measurement (warmup..warmup+n-1).
 * Warm-up first (all peers), then interleaved rounds; the peer order alternates per round.
 */
async function measure(peers, { n, warmup, round }) {
  const samples = peers.map(() => []);
  const scratch = [];
  for (const p of peers) {
    if (p.sync) timeSync(p.fn, 0, warmup, scratch);
    else await timeAsync(p.fn, 0, warmup, scratch);
  }
  let r = 0;
  for (let done = 0; done < n; done += round, r++) {
    const count = Math.min(round, n - done);
    const order = peers.map((_, k) => k);
    if (r % 2 === 1) order.reverse();
    for (const k of order) {
      const p = peers[k];
      if (p.sync) timeSync(p.fn, warmup + done, count, samples[k]);
      else await timeAsync(p.fn, warmup + done, count, samples[k]);
    }
  }
  return samples.map((s) => stats(s));
}

function percentile(sorted, q) {
  // nearest-rank
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

function stats(samples) {
  const sorted = Float64Array.from(samples).sort();
  return { n: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

// ------------------------------------------------------------------------------------------------
// Records

const hex = (bytes) => '0x' + crypto.randomBytes(bytes).toString('hex');

/** `count` distinct records of one shape (valid 0x+40 hex addresses, 0x+64 hex hashes). */
function makeRecords(count, nameOf) {
  const records = [];
  for (let i = 0; i < count; i++) {
    const hash = hex(32);
    records.push({
      contractName: nameOf(i),
      chainId: CHAIN,
      networkName: 'bsctestnet',
      address: hex(20),
      factoryByteCodeHash: hash,
      implementationHash: hash,
      proxyAddress: hex(20),
      deploymentArgs: [hex(20), '20000000000000000000000000'],
      timestamp: 1755000000000 + i,
    });
  }
  return records;
}

// ------------------------------------------------------------------------------------------------
// The old TypeScript unified manager, in plain JS (FORMATS.md §2.3, §2.4, §2.7)

function oldCategory(name) {
  if (name === 'LookCoin' || name === 'SupplyOracle') return 'core';
  if (name.includes('Module')) return 'protocol';
  if (['CrossChainRouter', 'FeeManager', 'SecurityManager', 'ProtocolRegistry'].includes(name)) {
    return 'infrastructure';
  }
  return 'core';
}

/** §2.4: unified document → ContractType, or null. */
function oldConvert(doc, name) {
  const c = doc.contracts || {};
  let entry = c.core?.[name] ?? c.protocol?.[name] ?? c.infrastructure?.[name];
  if (!entry && c.legacy?.[name]) {
    const alias = c.legacy[name];
    entry = c[alias.currentCategory]?.[alias.currentName];
  }
  if (!entry || !entry.proxy || !entry.implementation) return null;
  let timestamp = entry.timestamp
    ?? (entry.deployedAt ? Date.parse(entry.deployedAt) : undefined)
    ?? (doc.metadata?.timestamp ? Date.parse(doc.metadata.timestamp) : undefined)
    ?? Date.now();
  const ext = doc[`extended_${name}`] || {};
  if (ext.timestamp) timestamp = ext.timestamp;
  let factoryByteCodeHash = ext.factoryByteCodeHash || '';
  let implementationHash = ext.implementationHash || '';
  if (!implementationHash) {
    implementationHash = doc.verification?.implementationHashes?.[name] || '';
    if (!factoryByteCodeHash) factoryByteCodeHash = implementationHash;
  }
  if (!implementationHash) factoryByteCodeHash = doc.factoryBytecodeHashes?.[name] || '';
  const record = {
    contractName: name,
    chainId: doc.chainId,
    networkName: doc.network,
    address: entry.implementation,
    factoryByteCodeHash,
    implementationHash,
    deploymentArgs: ext.deploymentArgs || [],
    timestamp,
  };
  if (entry.proxy !== entry.implementation) record.proxyAddress = entry.proxy;
  return record;
}

async function oldGetAsync(file, name) {
  return oldConvert(JSON.parse(await fsp.readFile(file, 'utf8')), name);
}

function oldGetSync(file, name) {
  return oldConvert(JSON.parse(fs.readFileSync(file, 'utf8')), name);
}

/** §2.3 + §2.7: read, parse, modify, pretty-print, tmp + rename; `durable` adds fdatasync + dir fsync. */
async function oldPut(file, rec, durable) {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const doc = JSON.parse(await fsp.readFile(file, 'utf8'));
  const name = rec.contractName;
  const cat = oldCategory(name);
  doc.contracts[cat] ??= {};
  doc.contracts[cat][name] = { proxy: rec.proxyAddress || rec.address, implementation: rec.address };
  doc[`extended_${name}`] = {
    factoryByteCodeHash: rec.factoryByteCodeHash,
    implementationHash: rec.implementationHash,
    deploymentArgs: rec.deploymentArgs,
    timestamp: rec.timestamp,
  };
  if (rec.implementationHash) {
    doc.verification ??= {};
    doc.verification.implementationHashes ??= {};
    doc.verification.implementationHashes[name] = rec.implementationHash;
  }
  doc.metadata.lastUpdated = new Date().toISOString();
  const text = JSON.stringify(doc, null, 2);
  const tmp = `${file}.tmp-${Date.now()}`;
  if (!durable) {
    await fsp.writeFile(tmp, text, 'utf8');
    await fsp.rename(tmp, file);
    return;
  }
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(text, 'utf8');
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

// ------------------------------------------------------------------------------------------------
// Sanity checks (not timing assertions: they make sure every peer does the real work)

function expect(cond, what) {
  if (!cond) throw new Error(`sanity check failed: ${what}`);
}

// ------------------------------------------------------------------------------------------------
// Sections

async function benchLevelDb(ctx) {
  const { addon, Level, tmp } = ctx;
  const oursRoot = path.join(tmp, 'leveldb-ours');
  const levelDir = path.join(tmp, 'leveldb-level', 'leveldb');
  copyTree(LEVELDB_FIXTURE, path.join(oursRoot, 'leveldb'));
  copyTree(LEVELDB_FIXTURE, levelDir);

  const ours = await addon.createStateManager('leveldb', { root: oursRoot });
  const db = new Level(levelDir, { valueEncoding: 'json' });
  await db.open();
  ctx.closers.push(() => ours.close(), () => db.close());

  const a = await ours.getContract(CHAIN, NAME);
  const b = await db.get(KEY);
  expect(a?.address === EXPECTED_ADDRESS, `ours getContract(97,'LookCoin') → ${a?.address}`);
  expect(b?.address === EXPECTED_ADDRESS, `level get('97-LookCoin') → ${b?.address}`);
  const hasGetSync = typeof db.getSync === 'function';
  if (hasGetSync) expect(db.getSync(KEY)?.address === EXPECTED_ADDRESS, 'level getSync');
  expect(ours.getContractSync(CHAIN, NAME)?.address === EXPECTED_ADDRESS, 'ours getContractSync');
  const range = { gte: `${CHAIN}-`, lt: `${CHAIN}.` };
  const la = await ours.getAllContracts(CHAIN);
  const lb = await db.values(range).all();
  expect(la.length === 9 && lb.length === 9, `chain 97 lists: ours ${la.length}, level ${lb.length} (want 9)`);

  const rows = [];
  const gopt = { n: N.get, warmup: N.warmGet, round: ROUND.get };

  let [o, p] = await measure([
    { label: 'ours', fn: () => ours.getContract(CHAIN, NAME) },
    { label: 'level', fn: () => db.get(KEY) },
  ], gopt);
  rows.push(ratioRow(`get: ours \`getContract(97,'LookCoin')\` vs level \`db.get('97-LookCoin')\``, o, p, 1.0, gopt));

  if (hasGetSync) {
    [o, p] = await measure([
      { label: 'ours', sync: true, fn: () => ours.getContractSync(CHAIN, NAME) },
      { label: 'level', sync: true, fn: () => db.getSync(KEY) },
    ], gopt);
    rows.push(ratioRow('getSync: ours `getContractSync` vs level `db.getSync(key)`', o, p, 1.0, gopt));
  } else {
    rows.push({ op: 'getSync: level has no `getSync` in this version — not measured', na: true });
  }

  const lopt = { n: N.list, warmup: N.warmList, round: ROUND.get };
  [o, p] = await measure([
    { label: 'ours', fn: () => ours.getAllContracts(CHAIN) },
    { label: 'level', fn: () => db.values(range).all() },
  ], lopt);
  rows.push(ratioRow(
    "list chain 97 (9 records): ours `getAllContracts(97)` vs level `db.values({gte:'97-',lt:'97.'}).all()`",
    o, p, null, lopt,
  ));

  // Durable puts last, so the list above saw the fixture's 9 records. New keys every iteration,
  // the same record objects for both peers.
  const popt = { n: N.durablePut, warmup: N.warmPut, round: ROUND.put };
  const records = makeRecords(popt.n + popt.warmup, (i) => `BenchContract${i}`);
  [o, p] = await measure([
    { label: 'ours', fn: (i) => ours.putContract(CHAIN, records[i]) },
    { label: 'level', fn: (i) => db.put(`${CHAIN}-${records[i].contractName}`, records[i], { sync: true }) },
  ], popt);
  rows.push(ratioRow(
    'durable put (new key each time): ours `putContract` vs level `db.put(key, value, {sync:true})`',
    o, p, 1.0, popt,
  ));
  const last = records[records.length - 1];
  expect((await ours.getContract(CHAIN, last.contractName))?.address === last.address, 'ours put read-back');
  expect((await db.get(`${CHAIN}-${last.contractName}`))?.address === last.address, 'level put read-back');

  return rows;
}

async function benchUnified(ctx) {
  const { addon, tmp } = ctx;
  const roots = {
    ours: path.join(tmp, 'unified-ours'),
    old: path.join(tmp, 'unified-old'),
    oldFsync: path.join(tmp, 'unified-old-fsync'),
  };
  for (const root of Object.values(roots)) copyTree(DEPLOYMENTS_FIXTURE, path.join(root, 'deployments'));
  const fileOf = (root) => path.join(root, 'deployments', 'unified', UNIFIED_FILE_NAME);
  const oldFile = fileOf(roots.old);
  const oldFsyncFile = fileOf(roots.oldFsync);

  const ours = await addon.createStateManager('unified-json', { root: roots.ours });
  ctx.closers.push(() => ours.close());

  const a = await ours.getContract(CHAIN, NAME);
  const b = await oldGetAsync(oldFile, NAME);
  expect(a && b && a.address === b.address, `unified LookCoin: ours ${a?.address}, old ${b?.address}`);
  expect(ours.getContractSync(CHAIN, NAME)?.address === oldGetSync(oldFile, NAME)?.address, 'sync reads agree');

  const rows = { reads: [], puts: [] };
  const gopt = { n: N.get, warmup: N.warmGet, round: ROUND.get };

  // Reads first, on the untouched copies.
  let [o, p] = await measure([
    { label: 'ours', fn: () => ours.getContract(CHAIN, NAME) },
    { label: 'old', fn: () => oldGetAsync(oldFile, NAME) },
  ], gopt);
  rows.reads.push(speedupRow(
    "get: ours cached `getContract(97,'LookCoin')` vs old per-call `fs.promises.readFile` + `JSON.parse` + lookup",
    o, p, 10, gopt,
  ));
  [o, p] = await measure([
    { label: 'ours', sync: true, fn: () => ours.getContractSync(CHAIN, NAME) },
    { label: 'old', sync: true, fn: () => oldGetSync(oldFile, NAME) },
  ], gopt);
  rows.reads.push(speedupRow(
    'getSync: ours cached `getContractSync` vs old per-call `fs.readFileSync` + `JSON.parse` + lookup',
    o, p, 10, gopt,
  ));

  // Durable puts: the 9 canonical names in rotation (updates of existing contracts, as a deploy
  // or upgrade does), fresh addresses and hashes every time; the same records for every peer.
  const popt = { n: N.durablePut, warmup: N.warmPut, round: ROUND.put };
  const records = makeRecords(popt.n + popt.warmup, (i) => CANONICAL[i % CANONICAL.length]);
  const [ro, rOld, rOldFsync] = await measure([
    { label: 'ours', fn: (i) => ours.putContract(CHAIN, records[i]) },
    { label: 'old', fn: (i) => oldPut(oldFile, records[i], false) },
    { label: 'old+fsync', fn: (i) => oldPut(oldFsyncFile, records[i], true) },
  ], popt);
  rows.puts.push(absoluteRow(
    'durable locked put: ours `putContract(97, …)` vs old manager (readFile, parse, modify, stringify, tmp + rename, **no fsync**)',
    ro, rOld, 2000, popt,
  ));
  rows.puts.push(absoluteRow(
    'durable locked put: ours `putContract(97, …)` vs old manager **+ fsync** (tmp: write, fdatasync, close; rename; fsync dir)',
    ro, rOldFsync, 2000, popt,
  ));

  const last = records[records.length - 1];
  expect((await ours.getContract(CHAIN, last.contractName))?.address === last.address, 'ours unified put read-back');
  expect(oldGetSync(oldFile, last.contractName)?.address === last.address, 'old put read-back');
  expect(oldGetSync(oldFsyncFile, last.contractName)?.address === last.address, 'old+fsync put read-back');
  // Our file must still be a unified file the old manager can read.
  expect(oldGetSync(fileOf(roots.ours), last.contractName)?.address === last.address, 'our file read by old code');
  return rows;
}

// ------------------------------------------------------------------------------------------------
// 3. Backups and rollback

/** Runs a Rust bench (release, `backup` or `validate`) and returns its JSON document. */
function runCargoBench(name) {
  const args = ['bench', '--bench', name, '--', '--json'];
  if (QUICK && name === 'backup') args.push('--quick');
  const r = spawnSync('cargo', args, {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error) fail(`cannot run cargo: ${r.error.message}`);
  if (r.status !== 0) fail(`\`cargo ${args.join(' ')}\` exited ${r.status ?? r.signal}`);
  try {
    return { command: `cargo ${args.join(' ')}`, ...JSON.parse(r.stdout) };
  } catch (e) {
    fail(`cargo bench printed no JSON document: ${e.message}`);
  }
}

/** Wall time (ms) of one child process run to its end, with its exit status and output. */
function timeSpawn(cmd, args, opts = {}) {
  const t0 = now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, encoding: 'utf8', ...opts });
  const t1 = now();
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { ms: Number(t1 - t0) / 1e6, status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function msStats(samples) {
  const sorted = Float64Array.from(samples).sort();
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    min: sorted[0],
    max: sorted[sorted.length - 1],
  };
}

/**
 * The CLI rollback of the fixture workspace (`node npm/cli.js rollback --force --root <copy>`)
 * beside the runbook's own shell sequence, each on a fresh copy (copy not timed, then `sync`),
 * interleaved, after one warm-up each. Also the bare cost of starting node and loading the addon.
 */
function benchCliRollback(ctx) {
  const { tmp } = ctx;
  let serial = 0;
  const freshCopy = (tag) => {
    const dir = path.join(tmp, `rollback-${tag}-${serial++}`);
    copyTree(WORKSPACE_FIXTURE, dir);
    spawnSync('sync');
    return dir;
  };
  const runbook =
    `cp -r backups/${FIXTURE_BACKUP_ID}/leveldb/current leveldb && ` +
    `cd backups/${FIXTURE_BACKUP_ID} && sha256sum -c checksums/SHA256SUMS`;
  const samples = { cli: [], shell: [], startup: [] };
  const shellStatus = new Set();
  const peers = {
    cli: (warm) => {
      const root = freshCopy('cli');
      const r = timeSpawn(process.execPath, [CLI, 'rollback', '--force', '--root', root]);
      expect(r.status === 0, `CLI rollback exited ${r.status ?? r.signal}: ${r.stderr.slice(-2000)}`);
      if (warm) {
        const v = timeSpawn(process.execPath, [
          CLI, 'rollback-validate', '--expect-contracts', '26', '--expect-chains', '5', '--root', root,
        ]);
        expect(v.status === 0, `rollback-validate after the CLI rollback exited ${v.status}: ${v.stdout.slice(-2000)}`);
      } else {
        samples.cli.push(r.ms);
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
    shell: (warm) => {
      const root = freshCopy('shell');
      const r = timeSpawn('sh', ['-c', runbook], { cwd: root });
      // sha256sum -c exits 1 on the fixture: 3 listed files are missing (fixtures README).
      expect(r.status === 0 || r.status === 1, `runbook shell sequence exited ${r.status ?? r.signal}: ${r.stderr}`);
      expect(fs.existsSync(path.join(root, 'leveldb', 'CURRENT')), 'runbook copy made leveldb/');
      shellStatus.add(r.status);
      if (!warm) samples.shell.push(r.ms);
      fs.rmSync(root, { recursive: true, force: true });
    },
    startup: (warm) => {
      const r = timeSpawn(process.execPath, ['-e', `require(${JSON.stringify(path.join(REPO, 'index.js'))})`]);
      expect(r.status === 0, `node + addon load exited ${r.status}`);
      if (!warm) samples.startup.push(r.ms);
    },
  };
  const names = Object.keys(peers);
  for (const name of names) peers[name](true);
  for (let i = 0; i < N_CLI_ROLLBACK; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const name of order) peers[name](false);
  }
  return {
    cli: msStats(samples.cli),
    shell: msStats(samples.shell),
    startup: msStats(samples.startup),
    runbook,
    shellStatus: [...shellStatus].sort(),
  };
}

function addonFileInfo() {
  const file = fs.readdirSync(REPO).find((f) => f.endsWith('.node'));
  if (!file) return 'unknown';
  return `\`${file}\` built ${fs.statSync(path.join(REPO, file)).mtime.toISOString()}`;
}

const fmtMs = (v) => (v == null || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtMiB = (kib) => (kib == null ? '—' : `${(kib / 1024).toFixed(1)} MiB`);
const fmtBytes = (b) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);
const yesNo = (ok) => (ok ? 'yes' : 'no');

/** The "3. Backups and rollback" part of RESULTS.md. */
function backupSection(b, cli) {
  const quick = Boolean(b.quick);
  const data = b.data;
  const v = b.verify;
  const c = b.create;
  const r = b.rollback;
  const fx = b.fixtureRollback;
  const big = (met) => (quick ? '— (quick data set: not the target)' : yesNo(met));

  const verifySpeedup = v.peer.p50Ms / v.ours.p50Ms;
  const verifyRss = v.ours.maxRssKiB;
  const createRatio = c.ours.p50Ms / c.peer.p50Ms;
  const rollbackRatio = r.p50Ms / v.ours.p50Ms;
  const backupDesc = `${fmtBytes(data.backup.bytes)}, ${data.backup.files} files`;
  const stateDesc = `${fmtBytes(data.state.totalBytes)}, leveldb/ ${fmtBytes(data.state.leveldbDiskBytes)}`;

  const out = [
    `## 3. Backups and rollback${quick ? ' (QUICK run: small data set, not the 1 GiB targets)' : ''}`,
    '',
    `Rust part: \`${b.command}\` (benches/backup.rs, bench profile = release, LTO). Each measured core op runs in`,
    'a fresh process of its own (the bench re-executes itself as `--child <op>`); the parent times the wall clock',
    'from spawn to reaped and reads the child\'s peak RSS with `wait4` (`ru_maxrss`). Peers are separate processes',
    'timed the same way. Every op runs once as a warm-up, then the peers alternate order round by round.',
    '**All numbers are warm-cache**: the page cache is never dropped, and `sync` runs between ops (never inside a',
    'timing) so one op\'s dirty pages are not written back during the next. Timings are reported, never asserted.',
    '',
    '### Targets',
    '',
    '| Target | Ours | Peer (same run) | Ratio | Target | Met? |',
    '|---|---|---|---|---|---|',
    `| Deep verify of the generated backup (${backupDesc}): \`verify_backup(dir, true)\` vs \`sha256sum -c checksums/SHA256SUMS\` | ` +
      `p50 ${fmtMs(v.ours.p50Ms)} ms | p50 ${fmtMs(v.peer.p50Ms)} ms | ${verifySpeedup.toFixed(2)}× faster | ≥ 2× | ${big(verifySpeedup >= 2)} |`,
    `| Peak RSS of the deep-verifying process (max over ${v.ours.n} runs) | ${fmtMiB(verifyRss)} | sha256sum: ${fmtMiB(v.peer.maxRssKiB)} | — | < 64 MiB | ${big(verifyRss < 64 * 1024)} |`,
    `| Backup create of the generated state (${stateDesc}): \`create_backup\` vs \`cp -r\` + \`sha256sum\` over the copy | ` +
      `p50 ${fmtMs(c.ours.p50Ms)} ms | p50 ${fmtMs(c.peer.p50Ms)} ms | ${createRatio.toFixed(2)} (ours / peer) | ≤ 1.0 | ${big(createRatio <= 1)} |`,
    `| CLI rollback of the fixture workspace, deep verification included (${cli.cli.n} runs, fresh copy each) | ` +
      `p50 ${fmtMs(cli.cli.p50)} ms (p99 ${fmtMs(cli.cli.p99)}) | runbook shell: p50 ${fmtMs(cli.shell.p50)} ms | ` +
      `${(cli.cli.p50 / cli.shell.p50).toFixed(2)} (ours / shell) | p50 ≤ 250 ms | ${yesNo(cli.cli.p50 <= 250)} |`,
    `| Whole rollback (core, force) on the generated state vs deep verify of its backup alone | ` +
      `p50 ${fmtMs(r.p50Ms)} ms | verify p50 ${fmtMs(v.ours.p50Ms)} ms | ${rollbackRatio.toFixed(2)} (rollback / verify) | ≤ 1.5 | ${big(rollbackRatio <= 1.5)} |`,
    '',
  ];

  out.push(
    '### Data',
    '',
    `Generated once by the bench into \`target/bench-data/${b.dataVersion}-${b.spec}/\` (seeded, deterministic bulk data; ` +
      `${b.generation.cached ? 'reused from the cache in this run' : `generated in this run in ${b.generation.seconds.toFixed(1)} s`}).`,
    '',
    `- Project state \`state/\` (${fmtBytes(data.state.totalBytes)}): \`leveldb/\` written through \`LevelDbBackend::put_batch\` ` +
      `(batches of 1000, one chain each): ${data.state.leveldbRecords} records (the sample's 26 + bulk records with long ` +
      `\`deploymentArgs\`), ${fmtBytes(data.state.leveldbDiskBytes)} on disk; \`deployments/unified/\` live files (our writer), ` +
      `${data.state.smallHistoryFiles} small history files (4–64 KiB, ${fmtBytes(data.state.smallHistoryBytes)}) in ` +
      `\`deployments/unified/backups/\`, ${data.state.bigFiles} large \`*.unified.backup-*.json\` files ` +
      `(${fmtBytes(data.state.bigBytes)} in all); legacy \`deployments/*.json\`.`,
    `- Its migration backup \`state/backups/${data.backup.id}/\` (${fmtBytes(data.backup.bytes)}, ${data.backup.files} files), ` +
      'made by `create_backup` (kind migration, unified history included), then given ' +
      `${data.backup.legacyHistoryFiles} old-style \`legacy-json/historical-backups/\` files (4–64 KiB, ` +
      `${fmtBytes(data.backup.legacyHistoryBytes)}), listed in its \`SHA256SUMS\` and manifest so it still verifies PASSED.`,
    `- Tools: ${b.sha256sum}; ${b.cp}.`,
    '',
  );

  // Verify
  const runRow = (label, s) =>
    `| ${label} | ${s.n} (1) | ${fmtMs(s.p50Ms)} | ${fmtMs(s.p99Ms)} | ${fmtMs(s.minMs)} | ${fmtMiB(s.maxRssKiB)} |`;
  const runHead = ['| Process | n (warm-up) | p50 ms | max ms | min ms | peak RSS (max) |', '|---|---|---|---|---|---|'];
  out.push(
    '### Deep verify',
    '',
    ...runHead,
    runRow('ours: `--child verify <backup>` → `verify_backup(dir, true, …)`', v.ours),
    runRow('peer: `cd <backup> && sha256sum -c checksums/SHA256SUMS`', v.peer),
    '',
    `Ours, inside the process: p50 ${fmtMs(v.ours.detail.inProcessP50Ms)} ms, of which the parallel hash phase ` +
      `(SHA-256 of every listed file, JSON parse of every \`.json\`) ended at p50 ${fmtMs(v.ours.detail.hashPhaseP50Ms)} ms; ` +
      'the rest is the LevelDB block check and the reading of every record. ' +
      `Status ${v.ours.detail.status}, ${v.ours.detail.listed} files, ${fmtBytes(v.ours.detail.bytesHashed)} hashed, ` +
      `${v.ours.detail.records} records.`,
    '',
    'Where the time and memory go: each part of a deep verification redone through the public API, warm, in',
    `processes of their own (\`--child part-<name>\`), ${v.parts[0]?.n ?? 1} times each; the run with the median wall time:`,
    '',
    '| Part | Wall ms | Peak RSS | Detail |',
    '|---|---|---|---|',
  );
  for (const p of v.parts) {
    let detail = '';
    if (p.part === 'sha256') detail = `SHA-256 (sha2 crate) of ${fmtBytes(p.bytes)}, 2 threads, 1 MiB reads, no parsing`;
    if (p.part === 'json') {
      detail = `serde_json parse of every \`.json\`: small ones from memory ${fmtMs(p.smallMs)} ms; ` +
        `${p.bigFiles} file(s) > 8 MiB with \`from_reader\` (as verify does) ${fmtMs(p.bigFromReaderMs)} ms, ` +
        `the same from memory (\`from_slice\`) ${fmtMs(p.bigFromSliceMs)} ms (this comparison holds a whole file: its RSS)`;
    }
    if (p.part === 'leveldb-check') detail = `\`leveldb_check::check_dir\` (every block checksum): ${p.problems} problems`;
    if (p.part === 'leveldb-read') detail = `\`read_copy\` (scratch copy, open, every record decoded into memory): ${p.records} records`;
    out.push(`| ${p.part} | ${fmtMs(p.wallMs)} | ${fmtMiB(p.maxRssKiB)} | ${detail} |`);
  }
  out.push(
    '',
    `A spawned process's peak RSS starts from its parent's high-water mark; the bench parent's is ${fmtMiB(b.parentHwmKiB)} ` +
      '(`VmHWM`), so every peak above is the op\'s own to within that.',
    '',
  );

  // Create
  out.push(
    '### Backup create',
    '',
    ...runHead,
    runRow('ours: `--child create <state>` → `create_backup` (manual, unified history included: the same files)', c.ours),
    runRow('peer: `cp -r leveldb deployments <dest>/ && sha256sum` over the copy', c.peer),
    runRow('peer + `sync` (informational: ours fsyncs every file it writes, `cp` does not)', c.peerSync),
    '',
    `Ours, inside the process: p50 ${fmtMs(c.ours.detail.inProcessP50Ms)} ms; the copy-and-hash phase (every file ` +
      `copied, hashed on the way and fsynced) ended at p50 ${fmtMs(c.ours.detail.copyPhaseP50Ms)} ms, the rest is the ` +
      'manifest (the copied LevelDB read back to count its records, unified file versions) and the commit. ' +
      `${c.ours.detail.files} files, ${fmtBytes(c.ours.detail.bytes)}. Peer scripts: \`${c.peer.detail.command}\`.`,
    '',
  );

  // Rollback
  const stepRows = (steps) => {
    const rows = ['| Step (from the progress events) | p50 ms |', '|---|---|'];
    for (const s of steps.filter((x) => x.p50Ms >= 0.5)) rows.push(`| ${s.step} | ${fmtMs(s.p50Ms)} |`);
    return rows;
  };
  const verifyInRollback = r.detail.steps
    .filter((s) => s.step.includes('verify'))
    .reduce((sum, s) => sum + s.p50Ms, 0);
  out.push(
    '### Whole rollback on the generated state (core, force)',
    '',
    'A fresh `cp -a` of `state/` (with its backup) per run, not timed, then `--child rollback <copy>` →',
    '`emergency_rollback({force: true})`: verify, plan, incident, pre-rollback backup of the current `leveldb/` and',
    '`deployments/` (with history) and its verification, stage, swap, legacy files, `.env.emergency`, validation, reports.',
    '',
    ...runHead,
    runRow('ours: whole rollback', r),
    runRow('deep verify of the same backup alone (from above)', v.ours),
    '',
    `Ratio rollback / verify = ${rollbackRatio.toFixed(2)} (target ≤ 1.5: ${big(rollbackRatio <= 1.5)}). ` +
      `Per step (p50 over the ${r.n} runs; the spans between a \`done\` and the next \`begin\` are named after what the core ` +
      'does there):',
    '',
    ...stepRows(r.detail.steps),
    '',
    `The two steps that deep-verify the chosen backup (the first also plans, which reads every record of the live ` +
      `\`leveldb/\`) take ${fmtMs(verifyInRollback)} ms together, ${((100 * verifyInRollback) / r.p50Ms).toFixed(0)}% of the ` +
      `rollback's p50; the pre-rollback backup (a create of the whole current state plus its deep verification), the ` +
      'validation (the restored database and the backup\'s read again) and the stage (a hashed copy of the LevelDB) ' +
      'take most of the rest.',
    '',
  );

  // CLI
  const cliRow = (label, s, n) =>
    `| ${label} | ${s.n} (1) | ${fmtMs(s.p50)} | ${fmtMs(s.p99)} | ${fmtMs(s.min)} | ${fmtMs(s.max)} |`;
  out.push(
    '### CLI rollback of the fixture workspace',
    '',
    `Addon used by the CLI: ${addonFileInfo()}.`,
    `Fresh copy of \`lookcoin-workspace\` per run (copy and \`sync\` not timed), ${N_CLI_ROLLBACK} runs per peer after one`,
    'warm-up each, interleaved. After the warm-up the CLI rollback is checked with',
    '`rollback-validate --expect-contracts 26 --expect-chains 5` (exit 0).',
    '',
    '| Process | n (warm-up) | p50 ms | p99 ms | min ms | max ms |',
    '|---|---|---|---|---|---|',
    cliRow('`node npm/cli.js rollback --force --root <copy>`', cli.cli),
    cliRow(`runbook shell: \`${cli.runbook}\` (exit ${cli.shellStatus.join('/')}: 3 listed files are missing)`, cli.shell),
    cliRow('node start + addon load only: `node -e "require(\'./index.js\')"`', cli.startup),
  );
  if (fx) {
    out.push(
      `| core alone: \`emergency_rollback\` in the Rust bench (\`--child rollback\`), same fixture copies | ${fx.n} (1) | ` +
        `${fmtMs(fx.p50Ms)} | ${fmtMs(fx.p99Ms)} | ${fmtMs(fx.minMs)} | — |`,
      '',
      'Core rollback of the fixture, per step:',
      '',
      ...stepRows(fx.detail.steps),
    );
  }
  out.push('');

  out.push(
    '### Notes',
    '',
    '- Warm cache only; nothing is dropped. This VM also runs a DAMON `pageout` scheme (kdamond, physical address space)',
    '  that may evict page-cache pages left idle for a while, so a "warm" file can be partly re-read from disk; the',
    '  peers alternate order to share that alike, and run-to-run spread on this shared 2-core VM is large (see the',
    '  load average in the header: other work on the machine competes for its cores). Compare ratios, not absolutes.',
    '- Durability differs: `create_backup` and the rollback fsync every file and folder they write; `cp -r` does not',
    '  (the `+ sync` row shows what writing it all back costs).',
    `- Whole backup bench (generation included when not cached): ${b.wallSeconds.toFixed(0)} s.`,
    '',
  );
  return out;
}

// ------------------------------------------------------------------------------------------------
// Rows and formatting

/** The "1. LevelDB" part of RESULTS.md. */
function levelSection(rows) {
  return [
    '## 1. LevelDB backend vs `level` (classic-level)',
    '',
    'Data: two copies of `lookcoin-workspace/backups/migration-2025-08-13T11-26-18-516Z/leveldb/current`',
    "(28 records), one per peer; `level` opened with `valueEncoding:'json'`.",
    'Ratio = ours p50 / level p50 (lower is better).',
    '',
    table(rows),
    '',
  ];
}

/** The "2. Unified JSON" part of RESULTS.md. */
function unifiedSection(rows, maxRssKiB) {
  return [
    '## 2. Unified JSON backend vs the old TypeScript manager (plain-JS re-implementation)',
    '',
    `Data: copies of \`lookcoin-workspace/deployments\` (one per peer); file \`unified/${UNIFIED_FILE_NAME}\`, chain 97.`,
    '',
    '### Reads',
    '',
    'Ratio = old p50 / ours p50 (speed-up, higher is better).',
    '',
    table(rows.reads),
    '',
    '### Durable puts',
    '',
    'The 9 canonical contract names in rotation (updates of existing entries), fresh addresses/hashes each time.',
    'Ours: locked, compare-and-swap on `fileVersion`, durable. Ratio = ours p50 / old p50 (informational);',
    'the target is absolute.',
    '',
    table(rows.puts),
    '',
    `Peak RSS of the benchmark process (both peers, sections 1–2; processes it spawns are not counted): ` +
      `${(maxRssKiB / 1024).toFixed(1)} MiB (\`process.resourceUsage().maxRSS\`).`,
    '',
  ];
}

/** Ratio = ours p50 / peer p50 (lower is better); target: ratio ≤ target. */
/** Section 4: `validateState` in process on the fixture and on a generated 100k-record, 50-chain state. */
function validateSection(v) {
  const f = v.fixture;
  const g = v.generated;
  const yes = (met) => (met ? 'yes' : 'no');
  const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
  return [
    '## 4. Validation (`validateState`, full level)',
    '',
    `Command: \`${v.command}\` (benches/validate.rs). Fixture: in process, ${f.runs} runs after ${f.warmUps} warm-ups.`,
    `Generated: ${g.records} records on ${g.chains} chains, each backend validated in a child process of its own`,
    '(peak RSS = its `VmHWM`); absolute targets, there is no peer to compare with.',
    '',
    '| Case | Backend | p50 ms | p99 ms | First run ms | Peak RSS | Findings | Target | Met? |',
    '|---|---|---|---|---|---|---|---|---|',
    ...['unified-json', 'leveldb'].map((b) =>
      `| fixture | ${b} | ${f[b].p50Ms} | ${f[b].p99Ms} | — | — | ${f[b].findings} | p50 ≤ ${f.targetP50Ms} ms | ${yes(f[b].p50Ms <= f.targetP50Ms)} |`),
    ...['unified-json', 'leveldb'].map((b) =>
      `| ${g.records} records / ${g.chains} chains | ${b} | ${g[b].p50Ms} | ${g[b].p99Ms} | ${g[b].firstRunMs} | ${mib(g[b].peakRssKiB)} | ${g[b].findings} | ≤ ${g.targetMs} ms | ${yes(g[b].p50Ms <= g.targetMs)} |`),
  ];
}

function ratioRow(op, ours, peer, target, opt) {
  const ratio = ours.p50 / peer.p50;
  return {
    op, ours, peer, opt,
    ratio: `${ratio.toFixed(2)}`,
    target: target == null ? '—' : `≤ ${target.toFixed(1)}`,
    met: target == null ? '—' : ratio <= target ? 'yes' : 'no',
  };
}

/** Ratio = peer p50 / ours p50 (speed-up, higher is better); target: ratio ≥ target. */
function speedupRow(op, ours, peer, target, opt) {
  const ratio = peer.p50 / ours.p50;
  return {
    op, ours, peer, opt,
    ratio: `${ratio.toFixed(1)}×`,
    target: `≥ ${target}×`,
    met: ratio >= target ? 'yes' : 'no',
  };
}

/** Ratio = ours p50 / peer p50 (informational); target: ours p50 ≤ targetUs. */
function absoluteRow(op, ours, peer, targetUs, opt) {
  return {
    op, ours, peer, opt,
    ratio: `${(ours.p50 / peer.p50).toFixed(2)}`,
    target: `ours p50 ≤ ${targetUs / 1000} ms`,
    met: ours.p50 <= targetUs ? 'yes' : 'no',
  };
}

const us = (v) => (v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v.toFixed(2));
const pair = (s) => `${us(s.p50)} / ${us(s.p99)}`;

function table(rows) {
  const out = [
    '| Operation | n (warm-up) | Ours p50 / p99 (µs) | Peer p50 / p99 (µs) | Ratio | Target | Met? |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (r.na) out.push(`| ${r.op} | — | — | — | — | — | — |`);
    else {
      out.push(
        `| ${r.op} | ${r.opt.n} (${r.opt.warmup}) | ${pair(r.ours)} | ${pair(r.peer)} | ${r.ratio} | ${r.target} | ${r.met} |`,
      );
    }
  }
  return out.join('\n');
}

function fsTypeOf(dir) {
  try {
    const real = fs.realpathSync(dir);
    let best = null;
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, mnt, type] = line.split(' ');
      if (!mnt) continue;
      const m = mnt.replace(/\\040/g, ' ');
      if ((real === m || real.startsWith(m.endsWith('/') ? m : m + '/')) && (!best || m.length >= best.m.length)) {
        best = { dev, m, type };
      }
    }
    return best ? `${best.type} (${best.dev} on ${best.m})` : 'unknown';
  } catch {
    return 'unknown';
  }
}

const loadText = (l) => l.map((v) => v.toFixed(2)).join(' / ');

function gitHead() {
  try {
    const head = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean).length;
    return dirty > 0 ? `${head} (+ uncommitted changes in ${dirty} tracked files)` : head;
  } catch {
    return 'unknown';
  }
}

// ------------------------------------------------------------------------------------------------

async function main() {
  checkFixtures();
  const { addon, Level, levelVersion, classicVersion } = loadModules();

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lookcoin-bench-'));
  const ctx = { addon, Level, tmp, closers: [] };
  const cleanup = async () => {
    for (const close of ctx.closers.reverse()) {
      try { await close(); } catch { /* best effort */ }
    }
    ctx.closers = [];
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig) => {
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = Date.now();
  const loadAtStart = os.loadavg();
  let levelRows, unifiedRows, backupBench, validateBench, cliRollback;
  try {
    if (runs('1')) {
      console.error('bench: LevelDB section…');
      levelRows = await benchLevelDb(ctx);
    }
    if (runs('2')) {
      console.error('bench: unified JSON section…');
      unifiedRows = await benchUnified(ctx);
    }
    for (const close of ctx.closers.reverse()) await close();
    ctx.closers = [];
    if (runs('3')) {
      console.error(`bench: backup section (cargo bench --bench backup${QUICK ? ', quick' : ''})…`);
      backupBench = runCargoBench('backup');
    }
    if (runs('4')) {
      console.error('bench: validation section (cargo bench --bench validate)…');
      validateBench = runCargoBench('validate');
    }
    if (runs('3')) {
      console.error('bench: CLI rollback section…');
      cliRollback = benchCliRollback(ctx);
    }
  } finally {
    await cleanup();
  }
  const elapsed = (Date.now() - started) / 1000;

  const cpus = os.cpus();
  const maxRssKiB = process.resourceUsage().maxRSS; // KiB on Linux
  const command = process.env.npm_lifecycle_event === 'bench'
    ? '`npm run bench` (→ `node bench/run.mjs`)'
    : `\`node ${[path.relative(process.cwd(), process.argv[1]), ...process.argv.slice(2)].join(' ')}\``;

  const md = [
    'Generated by `npm run bench` — do not edit by hand',
    '',
    '# lookcoin-state benchmark results',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.platform()}/${os.arch()} kernel ${os.release()}`,
    `- Node ${process.version}; level ${levelVersion} (classic-level ${classicVersion}); ` +
      `addon binding: ${addon.__napiBindingTarget ?? 'unknown'}; repo HEAD ${gitHead()}`,
    `- Temp dir filesystem: ${fsTypeOf(os.tmpdir())}`,
    `- Command: ${command}`,
    `- Fixtures: \`${FIXTURES}\` (copied to a temp dir, one copy per peer)`,
    `- Wall time: ${elapsed.toFixed(1)} s`,
    `- Load average (1/5/15 min) at start: ${loadText(loadAtStart)}; at end: ${loadText(os.loadavg())} ` +
      `(on ${cpus.length} cores: anything else running competes with the benchmark)`,
    ...(ONLY === null ? [] : [`- Sections run: ${[...ONLY].sort().join(', ')} (\`--only\`; the others were skipped)`]),
    '',
    'Latency per operation measured with `process.hrtime.bigint()` around each single call',
    '(`await`ed for async calls); p50/p99 are nearest-rank percentiles in microseconds.',
    'Peers run in the same process, interleaved in rounds, after a warm-up. Timings are reported, never asserted.',
    '',
    ...(levelRows ? levelSection(levelRows) : []),
    ...(unifiedRows ? unifiedSection(unifiedRows, maxRssKiB) : []),
    ...(backupBench ? [...backupSection(backupBench, cliRollback), ''] : []),
    ...(validateBench ? validateSection(validateBench) : []),
  ].join('\n');


  console.log(md);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, md);
  console.error(`bench: wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
}

main().catch((e) => {
  console.error(`bench: error: ${e?.stack ?? e}`);
  process.exit(1);
});
