#!/usr/bin/env node
// Benchmark harness for lookcoin-state (run with `npm run bench`).
//
// Measures our addon against its peers on the same machine, in the same process, on the same data:
//   1. LevelDB backend vs Node's `level` (classic-level) on two copies of the fixture database;
//   2. unified-JSON backend vs a plain-JS re-implementation of the old TypeScript manager
//      (FORMATS.md §2.3/§2.4/§2.7), with and without fsync, on copies of the fixture deployments.
// It only reports: timings are never asserted; it exits 0 unless something errors.
// Output: a table on stdout and bench/RESULTS.md (generated, never edited by hand).

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO, 'bench', 'RESULTS.md');
const FIXTURES = process.env.LOOKCOIN_FIXTURES
  ? path.resolve(process.env.LOOKCOIN_FIXTURES)
  : path.resolve(REPO, '..', 'shared', 'fixtures');
const LEVELDB_FIXTURE = path.join(
  FIXTURES,
  'lookcoin-workspace/backups/migration-2025-08-13T11-26-18-516Z/leveldb/current',
);
const DEPLOYMENTS_FIXTURE = path.join(FIXTURES, 'lookcoin-workspace/deployments');
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
// Peers run interleaved in rounds of this many iterations, so drift (CPU frequency,
// page cache, background load) hits every peer alike.
const ROUND = { get: 100, put: 25 };

const CANONICAL = [
  'LookCoin', 'SupplyOracle', 'LayerZeroModule', 'CelerIMModule', 'HyperlaneModule',
  'CrossChainRouter', 'FeeManager', 'SecurityManager', 'ProtocolRegistry',
];

// ------------------------------------------------------------------------------------------------
// Preconditions

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
// Rows and formatting

/** Ratio = ours p50 / peer p50 (lower is better); target: ratio ≤ target. */
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

function gitHead() {
  try {
    return execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
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
  let levelRows, unifiedRows;
  try {
    console.error('bench: LevelDB section…');
    levelRows = await benchLevelDb(ctx);
    console.error('bench: unified JSON section…');
    unifiedRows = await benchUnified(ctx);
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
    '',
    'Latency per operation measured with `process.hrtime.bigint()` around each single call',
    '(`await`ed for async calls); p50/p99 are nearest-rank percentiles in microseconds.',
    'Peers run in the same process, interleaved in rounds, after a warm-up. Timings are reported, never asserted.',
    '',
    '## 1. LevelDB backend vs `level` (classic-level)',
    '',
    'Data: two copies of `lookcoin-workspace/backups/migration-2025-08-13T11-26-18-516Z/leveldb/current`',
    "(28 records), one per peer; `level` opened with `valueEncoding:'json'`.",
    'Ratio = ours p50 / level p50 (lower is better).',
    '',
    table(levelRows),
    '',
    '## 2. Unified JSON backend vs the old TypeScript manager (plain-JS re-implementation)',
    '',
    `Data: copies of \`lookcoin-workspace/deployments\` (one per peer); file \`unified/${UNIFIED_FILE_NAME}\`, chain 97.`,
    '',
    '### Reads',
    '',
    'Ratio = old p50 / ours p50 (speed-up, higher is better).',
    '',
    table(unifiedRows.reads),
    '',
    '### Durable puts',
    '',
    'The 9 canonical contract names in rotation (updates of existing entries), fresh addresses/hashes each time.',
    'Ours: locked, compare-and-swap on `fileVersion`, durable. Ratio = ours p50 / old p50 (informational);',
    'the target is absolute.',
    '',
    table(unifiedRows.puts),
    '',
    `Peak RSS of the benchmark process (both peers, all sections): ${(maxRssKiB / 1024).toFixed(1)} MiB ` +
      '(`process.resourceUsage().maxRSS`).',
    '',
  ].join('\n');

  console.log(md);
  fs.writeFileSync(RESULTS_FILE, md);
  console.error(`bench: wrote ${path.relative(process.cwd(), RESULTS_FILE)}`);
}

main().catch((e) => {
  console.error(`bench: error: ${e?.stack ?? e}`);
  process.exit(1);
});
