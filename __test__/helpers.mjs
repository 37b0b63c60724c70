// Shared helpers of the Node tests: the addon, the read-only fixtures, temp copies, snapshots.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
/** The crate root (holds index.js and the built .node). */
export const repoRoot = path.resolve(here, '..')

/** The built addon (`npx napi build --platform --release` first). */
export const addon = createRequire(import.meta.url)(path.join(repoRoot, 'index.js'))
export const { createStateManager } = addon

/** Where the fixtures are: $LOOKCOIN_FIXTURES, else `<repo>/../shared/fixtures`. */
export const fixturesDir = path.resolve(process.env.LOOKCOIN_FIXTURES || path.join(repoRoot, '..', 'shared', 'fixtures'))

/** Paths inside the fixtures. */
export const fixture = {
  workspace: path.join(fixturesDir, 'lookcoin-workspace'),
  deployments: path.join(fixturesDir, 'lookcoin-workspace', 'deployments'),
  backupLeveldb: path.join(
    fixturesDir,
    'lookcoin-workspace',
    'backups',
    'migration-2025-08-13T11-26-18-516Z',
    'leveldb',
    'current',
  ),
  liveLeveldb: path.join(fixturesDir, 'lookcoin-leveldb-live'),
}

const fixturesPresent = [fixture.deployments, fixture.backupLeveldb, fixture.liveLeveldb].every((p) =>
  fs.existsSync(p),
)

/**
 * `false` when the fixtures are there, else the reason to skip: pass it as `{ skip: fixturesSkip }`.
 * (node:test treats a string `skip` as "skipped, with this reason".)
 */
export const fixturesSkip = fixturesPresent ? false : `fixtures not found at ${fixturesDir} (set LOOKCOIN_FIXTURES)`

if (!fixturesPresent) {
  process.stderr.write(
    `\n!!!!! lookcoin-state tests: ${fixturesSkip} — the fixture tests are SKIPPED, nothing was checked !!!!!\n\n`,
  )
}

/** A fresh temp directory, removed when the test `t` ends. */
export function tmpDir(t, prefix = 'lcs-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Copies a (read-only) tree to `dst` and makes the copy writable. Never writes `src`. */
export function copyTree(src, dst) {
  fs.cpSync(src, dst, { recursive: true, preserveTimestamps: true })
  makeWritable(dst)
  return dst
}

function makeWritable(p) {
  const st = fs.lstatSync(p)
  if (st.isSymbolicLink()) return
  if (st.isDirectory()) {
    fs.chmodSync(p, 0o755)
    for (const name of fs.readdirSync(p)) makeWritable(path.join(p, name))
  } else {
    fs.chmodSync(p, 0o644)
  }
}

/** Every file under `dir` (relative path → bytes), for "nothing on disk changed" assertions. */
export function snapshot(dir) {
  const out = new Map()
  const walk = (d) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name)
      if (ent.isDirectory()) walk(p)
      else out.set(path.relative(dir, p), fs.readFileSync(p))
    }
  }
  walk(dir)
  return out
}

/** What differs between two snapshots: sorted lists of added, removed and changed paths. */
export function diffSnapshots(before, after) {
  const added = [...after.keys()].filter((k) => !before.has(k)).sort()
  const removed = [...before.keys()].filter((k) => !after.has(k)).sort()
  const changed = [...before.keys()].filter((k) => after.has(k) && !before.get(k).equals(after.get(k))).sort()
  return { added, removed, changed }
}

/** Asserts two snapshots are byte-identical (with a readable diff when not). */
export function assertSameSnapshot(before, after, what = 'files on disk') {
  assert.deepEqual(diffSnapshots(before, after), { added: [], removed: [], changed: [] }, `${what} changed`)
}

/** Asserts `err` is a StateManagerError with `code`; returns it for more checks. */
export function assertStateError(err, code) {
  assert.ok(err instanceof Error, `expected an Error, got ${Object.prototype.toString.call(err)}: ${err}`)
  assert.equal(err.name, 'StateManagerError', `name of ${err}`)
  assert.equal(err.code, code, `code of: ${err.message}`)
  assert.equal(typeof err.message, 'string')
  assert.ok(err.message.length > 0, 'empty message')
  assert.equal(typeof err.details, 'object')
  assert.notEqual(err.details, null)
  return err
}

/** Awaits a promise that must reject with a StateManagerError of `code`; returns the error. */
export async function rejectsWith(promise, code) {
  let err
  await assert.rejects(promise, (e) => {
    err = e
    return true
  })
  return assertStateError(err, code)
}

/**
 * Reads 97-LookCoin sync, then async (they must agree), then sync again: that copy must be a
 * fresh object, and it is changed as a careless caller would. Returns both for further checks.
 */
export async function readTwiceAndChangeACopy(mgr) {
  const before = mgr.getContractSync(97, 'LookCoin')
  assert.deepEqual(await mgr.getContract(97, 'LookCoin'), before)
  const copy = mgr.getContractSync(97, 'LookCoin')
  assert.notStrictEqual(copy, before, 'every read hands out a fresh object')
  copy.address = 'mutated by the caller'
  return { before, copy }
}

/** A valid contract record for a write (0x + 40 hex address, 0x + 64 hex hashes). */
export function sampleRecord(name, i = 1, extra = {}) {
  const hex = (n, len) => n.toString(16).padStart(len, '0')
  const hash = `0x${hex(i, 64)}`
  return {
    contractName: name,
    networkName: 'bsctestnet',
    address: `0x${hex(0xabc000 + i, 40)}`,
    factoryByteCodeHash: hash,
    implementationHash: hash,
    proxyAddress: `0x${hex(0xdef000 + i, 40)}`,
    deploymentArgs: [`arg${i}`, i],
    timestamp: 1755000000000 + i,
    ...extra,
  }
}

/** Path of the node_modules `level` entry point, for child scripts. */
export const levelEntry = createRequire(import.meta.url).resolve('level')

/**
 * Runs `node -e script` and resolves once it prints `waitFor` on stdout (or exits).
 * Returns { child, stdout(), stderr(), exited } — `exited` resolves with { code, signal }.
 */
export function spawnNode(t, script, waitFor = 'ready') {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s) => (out += s))
  child.stderr.setEncoding('utf8').on('data', (s) => (err += s))
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not print ${waitFor} in 20 s; stdout=${out} stderr=${err}`)), 20000)
    const check = () => {
      if (out.includes(waitFor)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout.on('data', check)
    exited.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })
  return { child, ready, exited, stdout: () => out, stderr: () => err }
}

/** The CLI entry point. */
export const cliPath = path.join(repoRoot, 'npm', 'cli.js')

/**
 * Runs the CLI in a child process (stdin not a terminal, cwd a neutral folder unless given);
 * resolves with { status, signal, stdout, stderr, ms }. Async, so a test can serve HTTP meanwhile.
 */
export function runCli(args, { env = {}, cwd = os.tmpdir(), timeout = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd,
      env: { ...process.env, LOOKCOIN_STATE_CRASH_AT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (s) => (stdout += s))
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('error', reject)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started })
    })
  })
}

/** Asserts a child's exit code, showing its output when it differs; returns the result. */
export function assertExit(res, code, what) {
  assert.equal(res.status, code, `${what}: exit ${res.status} (signal ${res.signal})\nstdout: ${res.stdout}\nstderr: ${res.stderr}`)
  return res
}

/** Every file and folder under `root`: relative path → SHA-256 of the content, or `dir/` (symlinks: `link→target`). */
export function hashTree(root, { skip = () => false } = {}) {
  const out = {}
  const walk = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name)
      const rel = path.relative(root, p)
      if (skip(rel)) continue
      if (ent.isSymbolicLink()) out[rel] = `link→${fs.readlinkSync(p)}`
      else if (ent.isDirectory()) {
        out[rel] = 'dir/'
        walk(p)
      } else out[rel] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
    }
  }
  walk(root)
  return out
}

/** Asserts two hashTree results are equal, with the added, removed and changed paths when not. */
export function assertSameTree(before, after, what) {
  const added = Object.keys(after).filter((k) => !(k in before))
  const removed = Object.keys(before).filter((k) => !(k in after))
  const changed = Object.keys(before).filter((k) => k in after && before[k] !== after[k])
  assert.deepEqual({ added, removed, changed }, { added: [], removed: [], changed: [] }, `${what} changed the tree`)
}
