// `lookcoin-state bench`: the runbook's post-rollback benchmark. Reads and writes every record of
// the live backend through a normal StateManager, on a scratch copy of the project's stores (the
// live files are only read), and holds the timings and the process's memory against the runbook's
// thresholds: read ≤ 100 ms, write ≤ 300 ms, memory ≤ 1 GB.
'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const addon = require('../index.js')

const THRESHOLDS = { readMs: 100, writeMs: 300, memoryBytes: 1024 * 1024 * 1024 }
/** What the runbook expects of LevelDB after a rollback (shown, not enforced). */
const BASELINE = { readMs: '10–20', writeMs: '20–40', memoryMb: '30–50' }

/** What the store reads: copied into the scratch folder (`.emergency-stop` is not: the copy is writable). */
const COPIED = ['leveldb', 'deployments', '.env.emergency']

async function runBench({ root, backend, rounds = 5 }) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lookcoin-bench-'))
  try {
    for (const name of COPIED) {
      const from = path.join(root, name)
      if (fs.existsSync(from)) fs.cpSync(from, path.join(scratch, name), { recursive: true, filter: (src) => path.basename(src) !== 'LOCK' })
    }
    const state = await addon.createStateManager(backend ?? null, { root: scratch })
    try {
      const result = await measure(state, root, rounds)
      return { ...result, reason: live(result.reason, scratch, root) }
    } finally {
      await state.close()
    }
  } catch (e) {
    // Name the live files, not their scratch copies.
    if (e && typeof e.message === 'string') e.message = live(e.message, scratch, root)
    if (e && e.details && typeof e.details.path === 'string') e.details.path = live(e.details.path, scratch, root)
    throw e
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}

async function measure(state, root, rounds) {
  const selection = state.getBackendSelection()
  const records = await state.queryContracts({})
  const result = { root, backend: selection.backend, reason: selection.reason, records: records.length, rounds, thresholds: THRESHOLDS, baseline: BASELINE }
  if (records.length === 0) return { ...result, ok: false, checks: [{ name: 'Records to measure', ok: false, detail: 'the live backend holds no records' }] }

  const reads = []
  for (let round = 0; round < rounds; round++) {
    for (const r of records) {
      const t0 = performance.now()
      const got = await state.getContract(r.chainId, r.contractName)
      reads.push(performance.now() - t0)
      if (got === null) throw new Error(`read back nothing for ${r.chainId}-${r.contractName}`)
    }
  }
  // Each write changes the record (a new timestamp), so every backend really writes.
  // A record the store would refuse as it is stored (e.g. a malformed dev row) is left out of the writes.
  const writes = []
  const unwritable = []
  let stamp = Date.now()
  for (const r of records) {
    const t0 = performance.now()
    try {
      await state.putContract(r.chainId, { ...r, timestamp: ++stamp })
    } catch (e) {
      if (e.code !== 'VALIDATION_FAILED') throw e
      unwritable.push(`${r.chainId}-${r.contractName}`)
      continue
    }
    writes.push(performance.now() - t0)
  }
  if (writes.length === 0) throw Object.assign(new Error(`no record could be written back: ${unwritable.join(', ')}`), { exitCode: 1 })
  const metrics = await state.getMetrics()
  const memory = process.memoryUsage()
  const read = { ...stats(reads), store: metrics.reads }
  const write = { ...stats(writes), store: metrics.writes, unwritable }
  const checks = [
    { name: 'Read operations', ok: read.p99Ms <= THRESHOLDS.readMs,
      detail: `p50 ${ms(read.p50Ms)}, p99 ${ms(read.p99Ms)}, max ${ms(read.maxMs)} over ${read.count} reads (limit ${THRESHOLDS.readMs} ms; LevelDB baseline ${BASELINE.readMs} ms)` },
    { name: 'Write operations', ok: write.p99Ms <= THRESHOLDS.writeMs,
      detail: `p50 ${ms(write.p50Ms)}, p99 ${ms(write.p99Ms)}, max ${ms(write.maxMs)} over ${write.count} writes (limit ${THRESHOLDS.writeMs} ms; LevelDB baseline ${BASELINE.writeMs} ms)` +
        (unwritable.length ? `; not written back, the store refuses them as stored: ${unwritable.join(', ')}` : '') },
    { name: 'Memory usage', ok: memory.rss <= THRESHOLDS.memoryBytes,
      detail: `${mb(memory.rss)} resident, ${mb(memory.heapUsed)} JS heap (limit 1 GB; LevelDB baseline ${BASELINE.memoryMb} MB)` },
  ]
  return { ...result, read, write, memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed }, ok: checks.every((c) => c.ok), checks }
}

const live = (text, scratch, root) => text.split(scratch).join(root)

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
  return { count: sorted.length, meanMs: sorted.reduce((a, b) => a + b, 0) / sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] }
}

const ms = (v) => `${v.toFixed(2)} ms`
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

module.exports = { runBench, THRESHOLDS }
