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
  firstPut: 30,
  warmGet: 200,
  warmList: 100,
  warmPut: 20,
};
// CLI rollback runs per peer (after one warm-up each); the targets ask for at least 15.
const N_CLI_ROLLBACK = 20;
// Peers run interleaved in rounds of this many iterations, so drift (CPU frequency,
// page cache, background load) hits every peer alike.
const ROUND = { get: 100, put: 25 };

// Scale runs (sections 1 and 2): generated stores of these many records, besides the fixture.
// --quick runs the first size only. Generated once with our own writers and cached under
// target/bench-data/<SCALE_DATA_VERSION>-<kind>-<size>/ (bump the version when the generator changes).
const SCALE_SIZES = QUICK ? [10_000] : [10_000, 100_000];
const SCALE_DATA_VERSION = 'store-scale-v2';
const SCALE_DATA_DIR = path.join(REPO, 'target', 'bench-data');
// The generated LevelDB spreads its records evenly over this many chains (the 5 production chains
// first); the per-chain list reads chain 97, so it grows as size / SCALE_CHAINS.
const SCALE_CHAINS = 50;

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
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean };
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

/** One copy of the fixture LevelDB per peer under `tmp`: our store root and `level`'s folder. */
function fixtureCopies(tmp, tag) {
  const oursRoot = path.join(tmp, `${tag}-ours`);
  const levelDir = path.join(tmp, `${tag}-level`, 'leveldb');
  copyTree(LEVELDB_FIXTURE, path.join(oursRoot, 'leveldb'));
  copyTree(LEVELDB_FIXTURE, levelDir);
  return { oursRoot, levelDir };
}

async function benchLevelDb(ctx) {
  const { addon, Level, tmp } = ctx;
  const { oursRoot, levelDir } = fixtureCopies(tmp, 'leveldb');

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
  rows.push(await firstPutRow(ctx));

  return rows;
}

/**
 * The first durable put after opening, as a short deploy script makes it: ours pays the first
 * zero fill of its write-ahead log there (see the note under the table). Each round opens both
 * stores, times one put each (the peer order alternating), and closes them.
 */
async function firstPutRow(ctx) {
  const { addon, Level, tmp } = ctx;
  const { oursRoot, levelDir } = fixtureCopies(tmp, 'first-put');
  const records = makeRecords(N.firstPut, (i) => `FirstPut${i}`);
  const samples = { ours: [], level: [] };
  const peers = {
    ours: async (i) => {
      const store = await addon.createStateManager('leveldb', { root: oursRoot });
      await timeAsync(() => store.putContract(CHAIN, records[i]), i, 1, samples.ours);
      await store.close();
    },
    level: async (i) => {
      const db = new Level(levelDir, { valueEncoding: 'json' });
      await db.open();
      const put = () => db.put(`${CHAIN}-${records[i].contractName}`, records[i], { sync: true });
      await timeAsync(put, i, 1, samples.level);
      await db.close();
    },
  };
  for (let i = 0; i < N.firstPut; i++) {
    for (const label of i % 2 ? ['level', 'ours'] : ['ours', 'level']) await peers[label](i);
  }
  const opt = { n: N.firstPut, warmup: 0 };
  return ratioRow(
    'first durable put after opening the store (open and close not timed): ours `putContract` vs level `db.put(…, {sync:true})`',
    stats(samples.ours), stats(samples.level), null, opt,
  );
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
// Scale: the same operations on the fixture and on generated stores of SCALE_SIZES records

const sha = (seed, bytes) => '0x' + crypto.createHash('sha256').update(seed).digest('hex').slice(0, bytes * 2);

/** Generated record `k` of a chain: well-formed and deterministic, so a cached data set can be regenerated identically. */
function genRecord(chainId, networkName, k) {
  const seed = `${chainId}:${k}`;
  const hash = sha(`bytecode:${seed}`, 32);
  return {
    contractName: `Contract${k}`,
    chainId,
    networkName,
    address: sha(`impl:${seed}`, 20),
    factoryByteCodeHash: hash,
    implementationHash: hash,
    proxyAddress: sha(`proxy:${seed}`, 20),
    deploymentArgs: [sha(`arg:${seed}`, 20), '20000000000000000000000000'],
    timestamp: 1755000000000 + k,
  };
}

/** The chains of the generated LevelDB: the 5 production ones, then made-up ids. */
function scaleChains() {
  const real = [[56, 'bsc'], [97, 'bscTestnet'], [84532, 'baseSepolia'], [11155420, 'opSepolia'], [23295, 'sapphiretestnet']];
  const made = Array.from({ length: SCALE_CHAINS - real.length }, (_, k) => [900001 + k, `benchnet${k}`]);
  return [...real, ...made];
}

/**
 * The generated data set `kind` (`leveldb` or `unified`) of `size` records: built once by `build(root)`
 * through our addon into a cache folder (a `.complete` marker makes a half-built one be rebuilt), then reused.
 */
async function cachedDataSet(kind, size, build) {
  const dir = path.join(SCALE_DATA_DIR, `${SCALE_DATA_VERSION}-${kind}-${size}`);
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return { dir, seconds: null };
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const t0 = now();
  await build(dir);
  fs.writeFileSync(marker, '');
  return { dir, seconds: Number(now() - t0) / 1e9 };
}

/** How many records of a generated LevelDB of `size` records each chain gets, in generation order. */
function scaleLayout(size) {
  const perChain = Math.ceil(size / SCALE_CHAINS);
  let left = size;
  return scaleChains().map(([chainId, network]) => {
    const count = Math.min(perChain, left);
    left -= count;
    return { chainId, network, count };
  });
}

/** Every key of the generated LevelDB of `size` records (what the generator wrote). */
function generatedKeys(size) {
  return scaleLayout(size).flatMap(({ chainId, count }) =>
    Array.from({ length: count }, (_, k) => `${chainId}-Contract${k}`));
}

/** `size` records on SCALE_CHAINS chains, written by our LevelDB backend in batches of 1000 (one chain each). */
async function generatedLevelDb(addon, size) {
  return cachedDataSet('leveldb', size, async (root) => {
    const store = await addon.createStateManager('leveldb', { root });
    try {
      for (const { chainId, network, count } of scaleLayout(size)) {
        for (let from = 0; from < count; from += 1000) {
          const batch = [];
          for (let k = from; k < Math.min(count, from + 1000); k++) {
            batch.push(genRecord(chainId, network, k));
          }
          await store.putContracts(chainId, batch);
        }
      }
    } finally {
      await store.close();
    }
  });
}

/** One unified file (chain 97) of `size` contracts, written by our unified backend in one batch. */
async function generatedUnified(addon, size) {
  return cachedDataSet('unified', size, async (root) => {
    const store = await addon.createStateManager('unified-json', { root });
    try {
      const records = [];
      for (let k = 0; k < size; k++) records.push(genRecord(CHAIN, 'bsctestnet', k));
      await store.putContracts(CHAIN, records);
    } finally {
      await store.close();
    }
  });
}

/** Iterations (and warm-ups) of an operation whose cost grows with `records`, so each stays a few seconds at most. */
function itersFor(records, { small, perRecordUs }) {
  const n = Math.max(5, Math.min(small, Math.round(2e6 / Math.max(1, records * perRecordUs))));
  return { n, warmup: Math.max(1, Math.round(n / 10)), round: Math.min(ROUND.get, n) };
}

/**
 * The scale operations on one LevelDB data set: `src` is a LevelDB folder copied once per peer.
 * `hot` is one key read again and again, `keys` every key (read spread out), `listChain` the chain listed.
 */
async function scaleLevelDbPoint(ctx, label, src, { records, hot, keys, listChain, listed }) {
  const { addon, Level, tmp } = ctx;
  const oursRoot = path.join(tmp, `scale-leveldb-${label}-ours`);
  const levelDir = path.join(tmp, `scale-leveldb-${label}-level`);
  copyTree(src, path.join(oursRoot, 'leveldb'));
  copyTree(src, levelDir);
  const ours = await addon.createStateManager('leveldb', { root: oursRoot });
  const db = new Level(levelDir, { valueEncoding: 'json' });
  await db.open();
  try {
    const [hotChain, hotName] = [Number(hot.split('-')[0]), hot.slice(hot.indexOf('-') + 1)];
    expect((await ours.getContract(hotChain, hotName))?.address === (await db.get(hot))?.address, `${label}: hot key agrees`);
    const range = { gte: `${listChain}-`, lt: `${listChain}.` };
    expect((await ours.getAllContracts(listChain)).length === listed, `${label}: ours lists ${listed} on chain ${listChain}`);
    expect((await db.values(range).all()).length === listed, `${label}: level lists ${listed} on chain ${listChain}`);
    const spread = keys.map((k) => [Number(k.split('-')[0]), k.slice(k.indexOf('-') + 1)]);
    // A stride through the keys, so successive reads land in different blocks.
    const at = (i) => (i * 7919) % keys.length;

    const out = {};
    const gopt = { n: N.get, warmup: N.warmGet, round: ROUND.get };
    let r = await measure([
      { fn: () => ours.getContract(hotChain, hotName) },
      { fn: () => db.get(hot) },
    ], gopt);
    out.get = { ours: r[0], peer: r[1], x: records, opt: gopt };
    r = await measure([
      { sync: true, fn: () => ours.getContractSync(hotChain, hotName) },
      { sync: true, fn: () => db.getSync(hot) },
    ], gopt);
    out.getSync = { ours: r[0], peer: r[1], x: records, opt: gopt };
    r = await measure([
      { sync: true, fn: (i) => ours.getContractSync(...spread[at(i)]) },
      { sync: true, fn: (i) => db.getSync(keys[at(i)]) },
    ], gopt);
    out.getSpread = { ours: r[0], peer: r[1], x: records, opt: gopt };
    const lopt = itersFor(listed, { small: N.list, perRecordUs: 10 });
    r = await measure([
      { fn: () => ours.getAllContracts(listChain) },
      { fn: () => db.values(range).all() },
    ], lopt);
    out.list = { ours: r[0], peer: r[1], x: listed, opt: lopt };
    const fopt = itersFor(records, { small: 200, perRecordUs: 10 });
    r = await measure([
      { fn: () => ours.queryContracts() },
      { fn: () => db.values().all() },
    ], fopt);
    out.all = { ours: r[0], peer: r[1], x: records, opt: fopt };
    expect((await ours.queryContracts()).length === records, `${label}: ours iterates ${records}`);
    expect((await db.values().all()).length === records, `${label}: level iterates ${records}`);
    // Puts last, so the reads above saw the data set as generated.
    const popt = { n: 100, warmup: 10, round: ROUND.put };
    const puts = makeRecords(popt.n + popt.warmup, (i) => `ScalePut${i}`);
    r = await measure([
      { fn: (i) => ours.putContract(CHAIN, puts[i]) },
      { fn: (i) => db.put(`${CHAIN}-${puts[i].contractName}`, puts[i], { sync: true }) },
    ], popt);
    out.put = { ours: r[0], peer: r[1], x: records, opt: popt };
    return out;
  } finally {
    await ours.close();
    await db.close();
    fs.rmSync(oursRoot, { recursive: true, force: true });
    fs.rmSync(levelDir, { recursive: true, force: true });
  }
}

/** Section 1's scale part: the fixture LevelDB, then the generated ones. */
async function benchLevelDbScale(ctx) {
  const points = [];
  const keysOf = async (dir) => {
    const db = new ctx.Level(dir, { valueEncoding: 'json' });
    await db.open();
    try {
      return await db.keys().all();
    } finally {
      await db.close();
    }
  };
  const fixtureCopy = path.join(ctx.tmp, 'scale-leveldb-fixture-src');
  copyTree(LEVELDB_FIXTURE, fixtureCopy);
  const fixtureKeys = await keysOf(fixtureCopy);
  console.error(`bench: LevelDB scale: fixture (${fixtureKeys.length} records)…`);
  points.push({
    size: fixtureKeys.length,
    label: `fixture (${fixtureKeys.length})`,
    generated: null,
    ops: await scaleLevelDbPoint(ctx, 'fixture', fixtureCopy, {
      records: fixtureKeys.length, hot: KEY, keys: fixtureKeys, listChain: CHAIN, listed: 9,
    }),
  });
  for (const size of SCALE_SIZES) {
    console.error(`bench: LevelDB scale: ${size} records (generating if not cached)…`);
    const data = await generatedLevelDb(ctx.addon, size);
    const src = path.join(data.dir, 'leveldb');
    const keys = generatedKeys(size);
    points.push({
      size,
      label: `generated ${size}`,
      generated: data.seconds,
      ops: await scaleLevelDbPoint(ctx, String(size), src, {
        records: size, hot: `${CHAIN}-Contract0`, keys, listChain: CHAIN, listed: Math.ceil(size / SCALE_CHAINS),
      }),
    });
  }
  return points;
}

/** The scale operations on one unified data set: `src` is a `deployments/unified` folder copied once per peer. */
async function scaleUnifiedPoint(ctx, label, src, { records, name }) {
  const { addon, tmp } = ctx;
  const roots = {
    ours: path.join(tmp, `scale-unified-${label}-ours`),
    old: path.join(tmp, `scale-unified-${label}-old`),
    oldFsync: path.join(tmp, `scale-unified-${label}-old-fsync`),
  };
  for (const root of Object.values(roots)) copyTree(src, path.join(root, 'deployments', 'unified'));
  const fileOf = (root) => path.join(root, 'deployments', 'unified', UNIFIED_FILE_NAME);
  const ours = await addon.createStateManager('unified-json', { root: roots.ours });
  try {
    const oldFile = fileOf(roots.old);
    expect((await ours.getContract(CHAIN, name))?.address === oldGetSync(oldFile, name)?.address, `${label}: unified reads agree`);
    const out = {};
    const gopt = itersFor(records, { small: N.get, perRecordUs: 5 });
    let r = await measure([
      { fn: () => ours.getContract(CHAIN, name) },
      { fn: () => oldGetAsync(oldFile, name) },
    ], gopt);
    out.get = { ours: r[0], peer: r[1], x: records, opt: gopt };
    r = await measure([
      { sync: true, fn: () => ours.getContractSync(CHAIN, name) },
      { sync: true, fn: () => oldGetSync(oldFile, name) },
    ], gopt);
    out.getSync = { ours: r[0], peer: r[1], x: records, opt: gopt };
    const popt = itersFor(records, { small: 100, perRecordUs: 15 });
    popt.round = Math.min(ROUND.put, popt.n);
    const puts = makeRecords(popt.n + popt.warmup, (i) => CANONICAL[i % CANONICAL.length]);
    r = await measure([
      { fn: (i) => ours.putContract(CHAIN, puts[i]) },
      { fn: (i) => oldPut(oldFile, puts[i], false) },
      { fn: (i) => oldPut(fileOf(roots.oldFsync), puts[i], true) },
    ], popt);
    out.put = { ours: r[0], peer: r[2], peerNoFsync: r[1], x: records, opt: popt };
    const last = puts[puts.length - 1];
    expect((await ours.getContract(CHAIN, last.contractName))?.address === last.address, `${label}: ours put read-back`);
    return out;
  } finally {
    await ours.close();
    for (const root of Object.values(roots)) fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Section 2's scale part: the fixture's chain 97 file, then generated ones of SCALE_SIZES contracts. */
async function benchUnifiedScale(ctx) {
  const points = [];
  const fixtureDir = path.join(DEPLOYMENTS_FIXTURE, 'unified');
  console.error('bench: unified scale: fixture file…');
  points.push({
    size: 9,
    label: 'fixture (9)',
    generated: null,
    ops: await scaleUnifiedPoint(ctx, 'fixture', fixtureDir, { records: 9, name: NAME }),
  });
  for (const size of SCALE_SIZES) {
    console.error(`bench: unified scale: ${size} contracts in one file (generating if not cached)…`);
    const data = await generatedUnified(ctx.addon, size);
    points.push({
      size,
      label: `generated ${size}`,
      generated: data.seconds,
      ops: await scaleUnifiedPoint(ctx, String(size), path.join(data.dir, 'deployments', 'unified'), {
        records: size, name: 'Contract0',
      }),
    });
  }
  return points;
}

/** log-log slope of p50 between two points: 0 = flat, 1 = linear in the records. */
function exponent(a, b) {
  if (!a || !b || a.x === b.x) return '—';
  return (Math.log(b.p50 / a.p50) / Math.log(b.x / a.x)).toFixed(2);
}

/** The scale table: per operation and peer, p50 at each size and the exponent between neighbours. */
function scaleTable(points, ops, peerName) {
  const head = [
    '| Operation | Peer | ' + points.map((p) => `p50 µs: ${p.label}`).join(' | ') + ' | ' +
      points.slice(1).map((p, k) => `exponent ${points[k].size}→${p.size}`).join(' | ') + ' |',
    '|---|---|' + points.map(() => '---|').join('') + points.slice(1).map(() => '---|').join(''),
  ];
  const rows = [];
  for (const [key, title, xNote, opPeer] of ops) {
    for (const [who, pick] of [['ours', (o) => o.ours], [opPeer ?? peerName, (o) => o.peer], ...(points[0].ops[key].peerNoFsync ? [['old (no fsync)', (o) => o.peerNoFsync]] : [])]) {
      const series = points.map((p) => ({ ...pick(p.ops[key]), x: p.ops[key].x }));
      rows.push(
        `| ${title}${xNote ? ` (${xNote}: ${points.map((p) => p.ops[key].x).join(' / ')})` : ''} | ${who} | ` +
          series.map((v) => `${us(v.p50)} (n=${v.n})`).join(' | ') + ' | ' +
          series.slice(1).map((v, k) => exponent(series[k], v)).join(' | ') + ' |',
      );
    }
  }
  return [...head, ...rows];
}

function generationNote(points) {
  return points
    .filter((p) => p.size && p.label.startsWith('generated'))
    .map((p) => `${p.size}: ${p.generated == null ? 'cached' : `generated in ${p.generated.toFixed(1)} s`}`)
    .join('; ');
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
    '`emergency_rollback({force: true})`: verify, plan, incident, pre-rollback backup of what the rollback replaces (the',
    'current `leveldb/` with its tables hard-linked, live unified and legacy files; no unified history) and its structure',
    'check, stage (tables hard-linked from the verified backup), swap, legacy files, `.env.emergency`, validation, reports.',
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
    `The step that deep-verifies the chosen backup takes ${fmtMs(verifyInRollback)} ms, ` +
      `${((100 * verifyInRollback) / r.p50Ms).toFixed(0)}% of the rollback's p50. Meanwhile the plan compares the live ` +
      '`leveldb/` with the backup\'s copy byte for byte: here (as after a migration, when LevelDB is no longer written) ' +
      'they are identical, so the verified record counts and table hashes are the live ones, and neither the plan nor ' +
      'the pre-rollback backup reads them again. The validation (one read of every record through the store) takes ' +
      'most of the rest.',
    '',
  );
  const rc = b.rollbackChanged;
  if (rc) {
    const changedRatio = rc.p50Ms / v.ours.p50Ms;
    out.push(
      '### Whole rollback when the live `leveldb/` changed since the backup (informational)',
      '',
      'The same runs, each copy first given one more record written through our LevelDB backend (not timed): the live',
      'database no longer matches the backup\'s copy, so the plan reads every live record (beside the verification) and',
      'the pre-rollback backup hashes the files that differ (the tables shared with the backup keep the verified hashes).',
      '',
      ...runHead,
      runRow('ours: whole rollback, live leveldb/ changed', rc),
      runRow('deep verify of the same backup alone (from above)', v.ours),
      '',
      `Ratio rollback / verify = ${changedRatio.toFixed(2)}. Per step (p50 over the ${rc.n} runs):`,
      '',
      ...stepRows(rc.detail.steps),
      '',
    );
  }

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

/** What the durable put rows owe to our write-ahead log's zero fills, with the means. */
function putNote(rows) {
  const mean = (row) => `ours ${us(row.ours.mean)} µs, level ${us(row.peer.mean)} µs`;
  const [steady, first] = [rows.find((r) => r.op.startsWith('durable put')), rows.find((r) => r.op.startsWith('first durable put'))];
  if (!steady || steady.na || !first) return [];
  return [
    'Our write-ahead log is written over zeros written ahead of it (64 KiB first, each next fill doubling up',
    'to 1 MiB, cut off again at close), so most synced puts overwrite blocks inside the committed file size and',
    "their `fdatasync` needs no journal commit; Google LevelDB appends. The fills' cost (one bigger sync each)",
    `is in the p99 and the means: durable put ${mean(steady)}; first put after opening ${mean(first)}.`,
    '',
  ];
}

/** The "1. LevelDB" part of RESULTS.md. */
function levelSection(rows, scale) {
  return [
    '## 1. LevelDB backend vs `level` (classic-level)',
    '',
    'Data: two copies of `lookcoin-workspace/backups/migration-2025-08-13T11-26-18-516Z/leveldb/current`',
    "(28 records), one per peer; `level` opened with `valueEncoding:'json'`.",
    'Ratio = ours p50 / level p50 (lower is better).',
    '',
    table(rows),
    '',
    ...putNote(rows),
    '### Scale',
    '',
    `The fixture copy, then LevelDBs of ${SCALE_SIZES.join(' and ')} records generated with our own writer`,
    `(\`putContracts\`, batches of 1000; well-formed records spread evenly over ${SCALE_CHAINS} chains, so chain 97`,
    `holds size / ${SCALE_CHAINS}), one copy per peer. ${generationNote(scale)}. Exponent = log-log slope of p50 between`,
    'two sizes (0: does not grow, 1: linear); x is the number of records in the store, or listed for the list row.',
    'Iteration counts shrink for the operations that grow with the data (n in each cell). Our `getContract` of one',
    'key is served by our read cache after the first read; the spread `getSync` reads every key once per pass, so',
    'at 10k and 100k records each of our reads misses the cache and goes to LevelDB.',
    '',
    ...scaleTable(scale, [
      ['get', "get one key again and again: `getContract` vs `db.get`"],
      ['getSync', 'getSync one key again and again: `getContractSync` vs `db.getSync`'],
      ['getSpread', 'getSync of every key in turn: `getContractSync` vs `db.getSync`'],
      ['list', "list chain 97: `getAllContracts(97)` vs `db.values({gte:'97-',lt:'97.'}).all()`", 'records listed'],
      ['all', 'full iteration: `queryContracts()` vs `db.values().all()`'],
      ['put', 'durable put, new key each time: `putContract` vs `db.put(key, value, {sync:true})`'],
    ], 'level'),
    '',
  ];
}

/** The "2. Unified JSON" part of RESULTS.md. */
function unifiedSection(rows, scale, maxRssKiB) {
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
    '### Scale',
    '',
    `The fixture's chain 97 file (9 contracts), then one \`${UNIFIED_FILE_NAME}\` of ${SCALE_SIZES.join(' and ')} contracts`,
    `generated with our own writer (one \`putContracts\` batch), one copy per peer. ${generationNote(scale)}.`,
    'Exponent as in section 1, x = contracts in the file. Reads of one contract (ours from the cached parsed',
    'file, revalidated by the folder\'s inotify watch, or a `stat` when it saw a change; the old manager reads and',
    'parses the whole file per call); durable puts',
    'rewrite the whole file for every peer (the 9 canonical names in rotation).',
    '',
    ...scaleTable(scale, [
      ['get', "get: ours cached `getContract(97, name)` vs old `fs.promises.readFile` + `JSON.parse` + lookup"],
      ['getSync', 'getSync: ours cached `getContractSync` vs old `fs.readFileSync` + `JSON.parse` + lookup'],
      ['put', 'durable locked put: ours `putContract` vs old manager + fsync (and without)', null, 'old + fsync'],
    ], 'old'),
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
  let levelRows, unifiedRows, levelScale, unifiedScale, backupBench, validateBench, cliRollback;
  try {
    if (runs('1')) {
      console.error('bench: LevelDB section…');
      levelRows = await benchLevelDb(ctx);
      levelScale = await benchLevelDbScale(ctx);
    }
    if (runs('2')) {
      console.error('bench: unified JSON section…');
      unifiedRows = await benchUnified(ctx);
      unifiedScale = await benchUnifiedScale(ctx);
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

  const sections = [
    ...(levelRows ? levelSection(levelRows, levelScale) : []),
    ...(unifiedRows ? unifiedSection(unifiedRows, unifiedScale, maxRssKiB) : []),
    ...(backupBench ? [...backupSection(backupBench, cliRollback), ''] : []),
    ...(validateBench ? validateSection(validateBench) : []),
  ];
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
    ...missedTargets(sections),
    ...sections,
  ].join('\n');


  console.log(md);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, md);
  console.error(`bench: wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
}

/** A summary of every target row whose last column says `no`, so a missed target is read first, not found. */
function missedTargets(lines) {
  // Sections hold whole tables as single strings too: look at every line.
  const missed = lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.startsWith('|') && /\|\s*no\s*\|\s*$/.test(l));
  const first = (l) => l.split('|')[1].trim();
  return [
    '## Targets missed in this run',
    '',
    ...(missed.length === 0
      ? ['None: every target in the tables below is met.']
      : missed.map((l) => `- ${first(l)} (see its table below)`)),
    '',
  ];
}

main().catch((e) => {
  console.error(`bench: error: ${e?.stack ?? e}`);
  process.exit(1);
});
