// The error contract (StateManagerError with code/details), closed stores, integrity report and metrics.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import {
  assertSameSnapshot,
  assertStateError,
  copyTree,
  createStateManager,
  fixture,
  fixturesSkip,
  rejectsWith,
  sampleRecord,
  snapshot,
  tmpDir,
} from './helpers.mjs'

const skip = fixturesSkip

function unifiedRoot(t) {
  const root = tmpDir(t, 'lcs-errors-')
  copyTree(fixture.deployments, path.join(root, 'deployments'))
  return root
}

async function open(t, backend, root) {
  const mgr = await createStateManager(backend, { root })
  t.after(() => mgr.close())
  return mgr
}

/** Every chain-id-taking call of the API, with a given chain id. */
function chainCalls(mgr, chainId) {
  return {
    getContract: () => mgr.getContract(chainId, 'LookCoin'),
    hasContract: () => mgr.hasContract(chainId, 'LookCoin'),
    putContract: () => mgr.putContract(chainId, sampleRecord('X')),
    putContracts: () => mgr.putContracts(chainId, [sampleRecord('X')]),
    deleteContract: () => mgr.deleteContract(chainId, 'LookCoin'),
    getAllContracts: () => mgr.getAllContracts(chainId),
  }
}

describe('StateManagerError', () => {
  test('an invalid chainId (0, -1, 1.5, NaN, 2^53) rejects VALIDATION_FAILED everywhere', async (t) => {
    const mgr = await open(t, 'unified-json', tmpDir(t))
    for (const chainId of [0, -1, 1.5, NaN, 2 ** 53]) {
      for (const [name, call] of Object.entries(chainCalls(mgr, chainId))) {
        const err = await rejectsWith(call(), 'VALIDATION_FAILED')
        assert.match(err.message, /chainId/, `${name}(${chainId})`)
      }
      assert.throws(
        () => mgr.getContractSync(chainId, 'LookCoin'),
        (e) => assertStateError(e, 'VALIDATION_FAILED') && true,
      )
      assert.throws(
        () => mgr.putContractSync(chainId, sampleRecord('X')),
        (e) => assertStateError(e, 'VALIDATION_FAILED') && true,
      )
    }
    // In queryContracts 0 means "all chains"; negative and fractional ids are still refused.
    for (const chainId of [-1, 1.5]) await rejectsWith(mgr.queryContracts({ chainId }), 'VALIDATION_FAILED')
    await rejectsWith(mgr.exportAll({ chainIds: [97, 0] }), 'VALIDATION_FAILED')
  })

  test('malformed records and options reject VALIDATION_FAILED', async (t) => {
    const mgr = await open(t, 'unified-json', tmpDir(t))
    await rejectsWith(mgr.putContract(97, null), 'VALIDATION_FAILED')
    await rejectsWith(mgr.putContract(97, { contractName: 'OnlyAName' }), 'VALIDATION_FAILED')
    await rejectsWith(mgr.putContract(97, sampleRecord('WrongChain', 1, { chainId: 56 })), 'VALIDATION_FAILED')
    await rejectsWith(mgr.putContract(97, sampleRecord('BadHash', 1, { factoryByteCodeHash: '0x1234' })), 'VALIDATION_FAILED')
    await rejectsWith(mgr.putContracts(97, [sampleRecord('Twice', 1), sampleRecord('Twice', 2)]), 'VALIDATION_FAILED')
    await rejectsWith(mgr.queryContracts({ sortBy: 'bogus' }), 'VALIDATION_FAILED')
    await rejectsWith(mgr.queryContracts({ sortOrder: 'sideways' }), 'VALIDATION_FAILED')
    await rejectsWith(mgr.importAll('not json'), 'VALIDATION_FAILED')
    await rejectsWith(mgr.importAll({ nothing: 'here' }), 'VALIDATION_FAILED')
    // Nothing of the above was written.
    assert.deepEqual(await mgr.getAllContracts(97), [])
  })

  test('invalid queryContracts options reject VALIDATION_FAILED before any file is read', { timeout: 20000 }, async (t) => {
    // Root A: the chain 97 file is a FIFO with no writer, so any read of it would hang the test.
    const fifoRoot = tmpDir(t, 'lcs-query-fifo-')
    const fifoDir = path.join(fifoRoot, 'deployments', 'unified')
    fs.mkdirSync(fifoDir, { recursive: true })
    execFileSync('mkfifo', [path.join(fifoDir, 'bsctestnet.unified.json')])
    // Root B: a corrupt file, which a real query reports as STATE_CORRUPT.
    const corruptRoot = tmpDir(t, 'lcs-query-corrupt-')
    const corruptDir = path.join(corruptRoot, 'deployments', 'unified')
    fs.mkdirSync(corruptDir, { recursive: true })
    fs.writeFileSync(path.join(corruptDir, 'bsctestnet.unified.json'), '{"chainId": 97, "contracts": ')
    const before = snapshot(corruptRoot)
    const fifo = await open(t, 'unified-json', fifoRoot)
    const corrupt = await open(t, 'unified-json', corruptRoot)
    await rejectsWith(corrupt.queryContracts({ chainId: 97 }), 'STATE_CORRUPT')

    const invalid = [
      'all', 97, [], { chain: 97 }, { chainId: 97, sortby: 'timestamp' }, { onProgress: () => {} },
      { chainId: 'abc' }, { chainId: -1 }, { chainId: 1.5 }, { chainId: {} }, { chainId: true },
      { contractName: 42 }, { contractName: '' }, { networkName: ['bsctestnet'] },
      { sortBy: 'address' }, { sortBy: 1 }, { sortOrder: 'up' }, { chainId: 97, sortOrder: 'DESC' },
    ]
    for (const options of invalid) {
      for (const mgr of [fifo, corrupt]) {
        const err = await rejectsWith(mgr.queryContracts(options), 'VALIDATION_FAILED')
        assert.equal(err.details.path, undefined, `${JSON.stringify(options)}: ${err.message}`)
        assert.ok(!err.message.includes('.unified.json'), `${JSON.stringify(options)}: ${err.message}`)
      }
    }
    assert.ok(fs.statSync(path.join(fifoDir, 'bsctestnet.unified.json')).isFIFO())
    assert.deepEqual(fs.readdirSync(fifoDir), ['bsctestnet.unified.json'])
    assertSameSnapshot(before, snapshot(corruptRoot))
    // Valid spellings still pass validation (and then meet the corrupt file).
    for (const options of [undefined, null, {}, { chainId: 0 }, { chainId: '97', sortBy: 'chainId', sortOrder: 'desc' }, { contractName: null }]) {
      await rejectsWith(corrupt.queryContracts(options), 'STATE_CORRUPT')
    }
  })

  test('an unknown backend name rejects VALIDATION_FAILED', async (t) => {
    for (const backend of ['mongodb', 'level', 'LEVELDBX']) {
      const err = await rejectsWith(createStateManager(backend, { root: tmpDir(t) }), 'VALIDATION_FAILED')
      assert.ok(err.message.toLowerCase().includes(backend.toLowerCase()), err.message)
    }
  })

  test('calls after close() reject BACKEND_UNAVAILABLE; initialize() reopens', { skip }, async (t) => {
    const mgr = await open(t, 'unified-json', unifiedRoot(t))
    assert.equal(await mgr.isHealthy(), true)
    await mgr.close()
    assert.equal(await mgr.isHealthy(), false)
    const calls = {
      ...chainCalls(mgr, 97),
      queryContracts: () => mgr.queryContracts({ chainId: 97 }),
      exportAll: () => mgr.exportAll(),
      importAll: () => mgr.importAll({ contracts: {} }),
      validateIntegrity: () => mgr.validateIntegrity(),
    }
    for (const [name, call] of Object.entries(calls)) {
      const err = await rejectsWith(call(), 'BACKEND_UNAVAILABLE')
      assert.ok(err.message.length > 0, name)
    }
    assert.throws(
      () => mgr.getContractSync(97, 'LookCoin'),
      (e) => assertStateError(e, 'BACKEND_UNAVAILABLE') && true,
    )
    await mgr.close() // closing twice is harmless
    await mgr.initialize()
    assert.equal(await mgr.isHealthy(), true)
    assert.equal((await mgr.getContract(97, 'LookCoin')).contractName, 'LookCoin')
  })

  test('a LevelDB store after close() rejects BACKEND_UNAVAILABLE too', { skip }, async (t) => {
    const root = tmpDir(t, 'lcs-errors-')
    copyTree(fixture.backupLeveldb, path.join(root, 'leveldb'))
    const mgr = await open(t, 'leveldb', root)
    await mgr.close()
    await rejectsWith(mgr.getContract(97, 'LookCoin'), 'BACKEND_UNAVAILABLE')
    await rejectsWith(mgr.putContract(97, sampleRecord('X')), 'BACKEND_UNAVAILABLE')
    await rejectsWith(mgr.queryContracts(), 'BACKEND_UNAVAILABLE')
  })

  test('a wrongly typed argument rejects with a StateManagerError (not a synchronous napi throw)', { skip }, async (t) => {
    const mgr = await open(t, 'unified-json', unifiedRoot(t))
    for (const call of [() => mgr.getContract({}, 'LookCoin'), () => mgr.getContract(97), () => mgr.putContracts(97, 5)]) {
      let promise
      assert.doesNotThrow(() => {
        promise = call()
      }, 'must return a promise, not throw')
      const err = await rejectsWith(promise, 'VALIDATION_FAILED')
      assert.ok(err instanceof Error)
    }
    // The old scripts sometimes passed chain ids as decimal strings: those still work.
    assert.deepEqual(await mgr.getContract('97', 'LookCoin'), await mgr.getContract(97, 'LookCoin'))
  })
})

describe('validateIntegrity and getMetrics on the unified workspace', () => {
  test('validateIntegrity reports the sapphiremainnet chain mismatch as errors', { skip }, async (t) => {
    const mgr = await open(t, 'unified-json', unifiedRoot(t))
    const report = await mgr.validateIntegrity()
    assert.equal(report.isValid, false)
    assert.equal(report.contractCount, 31)
    const errors = report.findings.filter((f) => f.severity === 'error')
    assert.ok(errors.length > 0)
    assert.equal(report.errors.length, errors.length)
    assert.ok(
      errors.some((f) => /sapphiremainnet/.test(f.location)),
      `no error located in sapphiremainnet: ${JSON.stringify(errors)}`,
    )
    // Only that file is wrong: no error points anywhere else.
    for (const f of errors) assert.match(f.location, /sapphiremainnet\.unified\.json/, JSON.stringify(f))
    assert.ok(!Number.isNaN(Date.parse(report.lastValidated)), report.lastValidated)
  })

  test('getMetrics counts operations and measures real latencies', { skip }, async (t) => {
    const mgr = await open(t, 'unified-json', unifiedRoot(t))
    const fresh = await mgr.getMetrics()
    assert.equal(fresh.reads.count, 0)
    assert.equal(fresh.writes.count, 0)

    for (let i = 0; i < 3; i++) assert.ok(await mgr.getContract(97, 'LookCoin'))
    assert.ok(mgr.getContractSync(56, 'LookCoin'))
    await mgr.putContract(97, sampleRecord('MetricsProbe'))
    await mgr.getAllContracts(84532)
    await rejectsWith(mgr.getContract(23294, 'LookCoin'), 'STATE_CORRUPT')

    const m = await mgr.getMetrics()
    assert.equal(m.reads.count, 5, 'three async reads, one sync read, one failed read')
    assert.equal(m.writes.count, 1)
    assert.equal(m.queries.count, 1)
    for (const [name, s] of Object.entries({ reads: m.reads, writes: m.writes, queries: m.queries })) {
      assert.ok(s.meanMs > 0, `${name}.meanMs ${s.meanMs}`)
      assert.ok(s.p50Ms > 0, `${name}.p50Ms ${s.p50Ms}`)
      assert.ok(s.p99Ms >= s.p50Ms, `${name}.p99Ms ${s.p99Ms} < p50 ${s.p50Ms}`)
      assert.ok(s.meanMs < 10000, `${name}.meanMs ${s.meanMs} is not milliseconds`)
    }
    assert.equal(m.readLatency, m.reads.meanMs)
    assert.equal(m.writeLatency, m.writes.meanMs)
    assert.ok(m.writeLatency > 0, 'the old unified manager never updated the write metric')
    assert.equal(m.queryLatency, m.queries.meanMs)
    assert.equal(m.errors, 1)
    assert.ok(m.errorRate > 0 && m.errorRate <= 1, `errorRate ${m.errorRate}`)
  })
})

describe('createStateManager arguments', () => {
  test('the config may come first; wrong types reject with VALIDATION_FAILED, never a raw napi error', async (t) => {
    const root = tmpDir(t)
    const mgr = await createStateManager({ root })
    assert.equal(mgr.getBackendType(), 'unified-json')
    await mgr.close()
    for (const args of [[5], ['leveldb', 'not a config'], [{ root }, { root }], [null, { root: 7 }]]) {
      await rejectsWith(createStateManager(...args), 'VALIDATION_FAILED')
    }
  })
})
