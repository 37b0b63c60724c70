// LevelDB backend on copies of the real LookCoin LevelDB directories, and compatibility with Node's `level`.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import { Level } from 'level'

import {
  assertSameSnapshot,
  assertStateError,
  copyTree,
  createStateManager,
  fixture,
  fixturesSkip,
  levelEntry,
  readTwiceAndChangeACopy,
  rejectsWith,
  repoRoot,
  sampleRecord,
  snapshot,
  spawnNode,
  tmpDir,
} from './helpers.mjs'

const skip = fixturesSkip

/** A temp root with a copy of `src` at `<root>/leveldb`. */
function leveldbRoot(t, src = fixture.backupLeveldb) {
  const root = tmpDir(t, 'lcs-leveldb-')
  copyTree(src, path.join(root, 'leveldb'))
  return root
}

/** Opens the store of `root` and closes it when the test ends. */
async function open(t, root) {
  const mgr = await createStateManager('leveldb', { root })
  t.after(() => mgr.close())
  return mgr
}

function countByChain(records) {
  const counts = {}
  for (const r of records) counts[r.chainId] = (counts[r.chainId] ?? 0) + 1
  return counts
}

const EXPECTED_PER_CHAIN = { 56: 8, 97: 9, 23295: 3, 84532: 3, 11155420: 3, 31337: 2 }
const HASH = `0x${'ab'.repeat(32)}`
const ADDR = '0x1111111111111111111111111111111111111111'

describe('leveldb backend on the migration backup copy', () => {
  test('holds the 28 records of the backup, per chain', { skip }, async (t) => {
    const mgr = await open(t, leveldbRoot(t))
    assert.equal(mgr.getBackendType(), 'leveldb')
    const all = await mgr.queryContracts()
    assert.equal(all.length, 28)
    assert.deepEqual(countByChain(all), EXPECTED_PER_CHAIN)
    // getAllContracts (range scan) agrees with the full scan, chain by chain, and 5 is not 56.
    for (const [chain, n] of Object.entries(EXPECTED_PER_CHAIN)) {
      const list = await mgr.getAllContracts(Number(chain))
      assert.equal(list.length, n, `chain ${chain}`)
      assert.ok(list.every((r) => r.chainId === Number(chain)))
    }
    assert.deepEqual(await mgr.getAllContracts(5), [])
    // The chain filter of queryContracts.
    assert.equal((await mgr.queryContracts({ chainId: 97 })).length, 9)
    assert.equal((await mgr.queryContracts({ chainId: 0 })).length, 28)
  })

  test('97-LookCoin reads the same sync and async; missing is null; hasContract', { skip }, async (t) => {
    const mgr = await open(t, leveldbRoot(t))
    const rec = await mgr.getContract(97, 'LookCoin')
    assert.equal(rec.address, '0x5838A9f96E72eA83317D155F31AB660832533bAB')
    assert.equal(rec.contractName, 'LookCoin')
    assert.equal(rec.chainId, 97)
    assert.deepEqual(mgr.getContractSync(97, 'LookCoin'), rec)

    // The qualified name is an opaque key, not a path.
    const qualified = await mgr.getContract(97, 'contracts/xchain/CrossChainRouter.sol:CrossChainRouter')
    assert.ok(qualified, 'qualified CrossChainRouter on 97')
    assert.equal(qualified.contractName, 'contracts/xchain/CrossChainRouter.sol:CrossChainRouter')

    assert.strictEqual(await mgr.getContract(97, 'NoSuchContract'), null)
    assert.strictEqual(mgr.getContractSync(97, 'NoSuchContract'), null)
    assert.strictEqual(await mgr.getContract(5, 'LookCoin'), null, '5- must not match 56-')
    assert.strictEqual(await mgr.getContract(97, 'lookcoin'), null, 'names are case-sensitive')
    assert.strictEqual(await mgr.hasContract(97, 'NoSuchContract'), false)
    assert.strictEqual(await mgr.hasContract(97, 'LookCoin'), true)
  })

  test('deleteContract returns true, then false; the record is gone', { skip }, async (t) => {
    const mgr = await open(t, leveldbRoot(t))
    assert.strictEqual(await mgr.deleteContract(97, 'LookCoin'), true)
    assert.strictEqual(await mgr.deleteContract(97, 'LookCoin'), false)
    assert.strictEqual(await mgr.getContract(97, 'LookCoin'), null)
    assert.strictEqual(await mgr.hasContract(97, 'LookCoin'), false)
    assert.equal((await mgr.queryContracts()).length, 27)
    assert.strictEqual(await mgr.deleteContract(97, 'NeverExisted'), false)
    assert.equal((await mgr.queryContracts()).length, 27)
  })

  test('repeated reads come from the read cache, and a write by a second manager of the same root is seen at once', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const mgr = await open(t, root)
    const other = await open(t, root)
    const { before, copy } = await readTwiceAndChangeACopy(mgr)
    assert.deepEqual(mgr.getContractSync(97, 'LookCoin'), before)
    assert.strictEqual(mgr.getContractSync(97, 'NotYet'), null)
    await other.putContract(97, { ...before, address: ADDR })
    await other.putContract(97, { ...before, contractName: 'NotYet' })
    assert.equal(mgr.getContractSync(97, 'LookCoin').address, ADDR)
    assert.equal((await mgr.getContract(97, 'NotYet')).contractName, 'NotYet')
    await other.deleteContract(97, 'NotYet')
    assert.strictEqual(await mgr.getContract(97, 'NotYet'), null)
    const m = await mgr.getMetrics()
    assert.ok(m.cacheHits >= 3, `cacheHits ${m.cacheHits}`)
    assert.ok(m.cacheMisses >= 4, `cacheMisses ${m.cacheMisses}`)
    assert.ok(m.cacheHitRate > 0 && m.cacheHitRate < 1, `cacheHitRate ${m.cacheHitRate}`)
  })

  test('putContract stores BigInt args as decimal strings and takes chainId from the argument', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const mgr = await open(t, root)
    const before = Date.now()
    await mgr.putContract(97, {
      contractName: 'SecurityManagerV2',
      networkName: 'bscTestnet',
      address: ADDR,
      factoryByteCodeHash: HASH,
      implementationHash: HASH,
      deploymentArgs: [20000000000000000000000000n, 5, 'x'],
    })
    const rec = await mgr.getContract(97, 'SecurityManagerV2')
    assert.equal(rec.chainId, 97)
    assert.deepEqual(rec.deploymentArgs, ['20000000000000000000000000', 5, 'x'])
    assert.equal(typeof rec.deploymentArgs[0], 'string')
    assert.ok(rec.timestamp >= before && rec.timestamp <= Date.now() + 1000, `timestamp ${rec.timestamp} is now`)
    assert.equal((await mgr.queryContracts()).length, 29)
    // It survives a close and reopen (it is really on disk).
    await mgr.close()
    const again = await open(t, root)
    assert.deepEqual(await again.getContract(97, 'SecurityManagerV2'), rec)
    assert.equal((await again.queryContracts()).length, 29)
  })

  test('a record is read as JSON.stringify reads it; a cycle rejects VALIDATION_FAILED and changes nothing', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const mgr = await open(t, root)
    const base = { networkName: 'bscTestnet', address: ADDR, factoryByteCodeHash: HASH }
    class Deployed {
      constructor() { this.own = 1 }
      get inherited() { return 2 }
    }
    await mgr.putContract(97, {
      ...base,
      contractName: 'StringifyLike',
      deploymentArgs: [new Date(0), { toJSON: () => 'from toJSON' }, new Deployed(), [7n, undefined, () => 1], NaN],
      [Symbol('skipped')]: 'x',
      ignored: undefined,
    })
    const rec = await mgr.getContract(97, 'StringifyLike')
    assert.deepEqual(rec.deploymentArgs, ['1970-01-01T00:00:00.000Z', 'from toJSON', { own: 1 }, ['7', null, null], null])
    assert.ok(!('ignored' in rec))

    const filesBefore = snapshot(path.join(root, 'leveldb'))
    const cyclic = { ...base, contractName: 'Cyclic', deploymentArgs: [] }
    cyclic.deploymentArgs.push(cyclic)
    const err = await rejectsWith(mgr.putContract(97, cyclic), 'VALIDATION_FAILED')
    assert.match(err.message, /circular/)
    assert.throws(() => mgr.putContractSync(97, cyclic), (e) => assertStateError(e, 'VALIDATION_FAILED') && true)
    assertSameSnapshot(filesBefore, snapshot(path.join(root, 'leveldb')), 'the LevelDB directory')
    assert.strictEqual(await mgr.getContract(97, 'Cyclic'), null)
  })

  test('an invalid address rejects VALIDATION_FAILED and changes nothing', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const mgr = await open(t, root)
    const recordsBefore = await mgr.queryContracts()
    const filesBefore = snapshot(path.join(root, 'leveldb'))
    const err = await rejectsWith(
      mgr.putContract(97, {
        contractName: 'BadAddress',
        networkName: 'bscTestnet',
        address: '0xefgh',
        factoryByteCodeHash: HASH,
      }),
      'VALIDATION_FAILED',
    )
    assert.match(err.message, /0xefgh/)
    assert.throws(
      () =>
        mgr.putContractSync(97, {
          contractName: 'BadAddress',
          networkName: 'bscTestnet',
          address: '0xefgh',
          factoryByteCodeHash: HASH,
        }),
      (e) => assertStateError(e, 'VALIDATION_FAILED') && true,
    )
    // A batch with one bad record writes none of them.
    await rejectsWith(
      mgr.putContracts(97, [
        { contractName: 'GoodOne', networkName: 'bscTestnet', address: ADDR, factoryByteCodeHash: HASH },
        { contractName: 'BadOne', networkName: 'bscTestnet', address: '0xefgh', factoryByteCodeHash: HASH },
      ]),
      'VALIDATION_FAILED',
    )
    assert.deepEqual(await mgr.queryContracts(), recordsBefore)
    assert.equal(recordsBefore.length, 28)
    assert.strictEqual(await mgr.getContract(97, 'GoodOne'), null)
    assertSameSnapshot(filesBefore, snapshot(path.join(root, 'leveldb')), 'the LevelDB directory')
  })
})

describe('leveldb backend on the live directory (newest rows only in the log)', () => {
  test('31337-LookCoin reads the timestamp from the write-ahead log', { skip }, async (t) => {
    const mgr = await open(t, leveldbRoot(t, fixture.liveLeveldb))
    const rec = await mgr.getContract(31337, 'LookCoin')
    assert.equal(rec.timestamp, 1754362971780)
    const all = await mgr.queryContracts()
    assert.equal(all.length, 28)
    assert.deepEqual(countByChain(all), EXPECTED_PER_CHAIN)
  })

  test('with the log applied, both LevelDB fixtures hold identical records', { skip }, async (t) => {
    const live = await open(t, leveldbRoot(t, fixture.liveLeveldb))
    const backup = await open(t, leveldbRoot(t))
    assert.deepEqual(await live.queryContracts(), await backup.queryContracts())
  })
})

describe('compatibility with the `level` package', () => {
  test('(a) what the addon writes, `level` reads with identical JSON', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const dir = path.join(root, 'leveldb')
    const mgr = await createStateManager('leveldb', { root })
    await mgr.putContract(97, {
      contractName: 'SecurityManagerNext',
      networkName: 'bscTestnet',
      address: ADDR,
      factoryByteCodeHash: HASH,
      implementationHash: HASH,
      proxyAddress: '0x2222222222222222222222222222222222222222',
      deploymentArgs: [20000000000000000000000000n, { nested: [1n, 'a/b'] }, true, null],
      timestamp: 1755555555555,
    })
    await mgr.putContracts(56, [
      {
        contractName: 'contracts/xchain/New-Router.sol:New-Router',
        networkName: 'bsc',
        address: ADDR,
        factoryByteCodeHash: HASH,
        timestamp: 1755555555556,
      },
      { contractName: 'Ünïcødé', networkName: 'bsc', address: ADDR, factoryByteCodeHash: HASH, timestamp: 1 },
    ])
    // An overwrite and a delete must be visible to `level` too.
    const lookCoin = await mgr.getContract(84532, 'LookCoin')
    await mgr.putContract(84532, { ...lookCoin, timestamp: 1760000000000 })
    assert.equal(await mgr.deleteContract(23295, 'LookCoin'), true)
    const ours = await mgr.queryContracts()
    assert.equal(ours.length, 28 + 3 - 1)
    await mgr.close()

    const expected = new Map(ours.map((r) => [`${r.chainId}-${r.contractName}`, r]))
    const db = new Level(dir, { valueEncoding: 'json' })
    t.after(() => db.close())
    await db.open()
    const seen = new Map()
    for await (const [key, value] of db.iterator()) seen.set(key, value)
    assert.equal(seen.size, expected.size, 'total key count')
    assert.deepEqual([...seen.keys()].sort(), [...expected.keys()].sort())
    for (const [key, value] of seen) {
      assert.equal(JSON.stringify(value), JSON.stringify(expected.get(key)), `value of ${key}`)
    }
    const sm = await db.get('97-SecurityManagerNext')
    assert.deepEqual(sm.deploymentArgs, ['20000000000000000000000000', { nested: ['1', 'a/b'] }, true, null])
    assert.equal((await db.get('84532-LookCoin')).timestamp, 1760000000000)
    assert.equal(await db.get('23295-LookCoin'), undefined)
    // The raw bytes are exactly compact JSON.stringify, in the old field order.
    const raw = await db.get('97-SecurityManagerNext', { valueEncoding: 'utf8' })
    assert.equal(
      raw,
      '{"contractName":"SecurityManagerNext","chainId":97,"networkName":"bscTestnet",' +
        `"address":"${ADDR}","factoryByteCodeHash":"${HASH}","implementationHash":"${HASH}",` +
        '"proxyAddress":"0x2222222222222222222222222222222222222222",' +
        '"deploymentArgs":["20000000000000000000000000",{"nested":["1","a/b"]},true,null],"timestamp":1755555555555}',
    )
  })

  test('(b) what `level` writes (old scripts’ shape, sync puts, a del), the addon reads', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const dir = path.join(root, 'leveldb')
    const db = new Level(dir, { valueEncoding: 'json' })
    await db.open()
    // The old LevelDBStateManager's value: serialised BigInts, key order as inserted.
    const written = {
      contractName: 'FeeManagerV2',
      chainId: 97,
      networkName: 'bscTestnet',
      address: '0x3333333333333333333333333333333333333333',
      factoryByteCodeHash: HASH,
      implementationHash: HASH,
      proxyAddress: '0x4444444444444444444444444444444444444444',
      deploymentArgs: ['20000000000000000000000000', '0x5555555555555555555555555555555555555555', 7],
      timestamp: 1755123456789,
    }
    await db.put('97-FeeManagerV2', written, { sync: true })
    const updated = { ...(await db.get('56-LookCoin')), timestamp: 1761111111111 }
    await db.put('56-LookCoin', updated, { sync: true })
    assert.ok(await db.get('97-SupplyOracle'), 'the key to delete exists')
    await db.del('97-SupplyOracle', { sync: true })
    await db.close()

    const mgr = await open(t, root)
    assert.equal(JSON.stringify(await mgr.getContract(97, 'FeeManagerV2')), JSON.stringify(written))
    assert.deepEqual(await mgr.getContract(56, 'LookCoin'), updated)
    assert.strictEqual(await mgr.getContract(97, 'SupplyOracle'), null)
    assert.strictEqual(await mgr.hasContract(97, 'SupplyOracle'), false)
    const all = await mgr.queryContracts()
    assert.equal(all.length, 28)
    assert.equal(all.filter((r) => r.chainId === 97).length, 9)
    assert.ok(!all.some((r) => r.chainId === 97 && r.contractName === 'SupplyOracle'))
  })
})

/** The write-ahead log of a LevelDB folder (the one `<number>.log` there). */
function writeAheadLog(dir) {
  const logs = fs.readdirSync(dir).filter((name) => /^[0-9]+\.log$/.test(name))
  assert.equal(logs.length, 1, `one log in ${dir}: ${logs}`)
  return path.join(dir, logs[0])
}

describe('the write-ahead log, written over zeros written ahead', () => {
  /** Runs a child that puts `<prefix>0..count-1` on chain 97, prints `ready`, and is killed: no close. */
  async function killedWriter(t, root, prefix, count) {
    const script = `
      const { createStateManager } = require(${JSON.stringify(path.join(repoRoot, 'index.js'))})
      ;(async () => {
        const mgr = await createStateManager('leveldb', { root: ${JSON.stringify(root)} })
        for (let i = 0; i < ${count}; i++) {
          await mgr.putContract(97, (${sampleRecord})(${JSON.stringify(prefix)} + i, i + 1))
        }
        console.log('ready')
        setInterval(() => {}, 1000)
      })().catch((e) => { console.log('ERR ' + e.code + ' ' + e.message); process.exit(3) })`
    const child = spawnNode(t, script)
    await child.ready
    assert.match(child.stdout(), /ready/, child.stderr())
    child.child.kill('SIGKILL')
    await child.exited
  }

  test('a writer killed without closing leaves zeros after its records; `level` and the addon read every record, and a reopened store writes on from the last one', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const dir = path.join(root, 'leveldb')
    await killedWriter(t, root, 'Killed', 5)
    const log = writeAheadLog(dir)
    const bytes = fs.readFileSync(log)
    const lastRecordByte = bytes.findLastIndex((b) => b !== 0)
    assert.ok(bytes.length - lastRecordByte > 4096, `zeros written ahead are left: ${bytes.length} bytes, last record byte at ${lastRecordByte}`)

    // The addon reopens it, reads all five, and continues the log where the records end.
    const mgr = await createStateManager('leveldb', { root })
    for (let i = 0; i < 5; i++) assert.ok(await mgr.getContract(97, `Killed${i}`), `Killed${i}`)
    await mgr.putContract(97, sampleRecord('AfterKill', 9))
    await mgr.close()
    const closed = fs.readFileSync(log)
    assert.equal(closed.at(-1), '}'.charCodeAt(0), 'a closed log ends with its last record, not zeros')
    assert.ok(closed.length < bytes.length, 'closing cut the zeros')

    // Killed again, so both readers meet the zeros: each reads every record (`level` a copy).
    await killedWriter(t, root, 'KilledAgain', 2)
    const expected = ['Killed0', 'Killed4', 'AfterKill', 'KilledAgain0', 'KilledAgain1']
    const copy = copyTree(dir, path.join(root, 'leveldb-copy'))
    const db = new Level(copy, { valueEncoding: 'json' })
    await db.open()
    const names = []
    for await (const key of db.keys({ gte: '97-', lt: '97.' })) names.push(key)
    await db.close()
    for (const name of expected) assert.ok(names.includes(`97-${name}`), `level reads 97-${name}: ${names}`)
    assert.equal(names.length, 9 + 8, "the backup's 9 records on chain 97, Killed0..4, AfterKill, KilledAgain0..1")
    const reopened = await open(t, root)
    const ours = (await reopened.getAllContracts(97)).map((r) => `97-${r.contractName}`)
    assert.deepEqual(ours.sort(), names.sort())
  })
})

/** A child process that opens `dir` with `level`, prints `ready` (or `ERR ...` and exits 3), then waits. */
function levelChild(t, dir) {
  const script = `
    const { Level } = require(${JSON.stringify(levelEntry)})
    const db = new Level(${JSON.stringify(dir)}, { valueEncoding: 'json' })
    db.open().then(
      () => { console.log('ready'); setInterval(() => {}, 1000) },
      (e) => { console.log('ERR ' + e.code + ': ' + e.message + ' | ' + (e.cause ? e.cause.message : '')); process.exit(3) },
    )`
  return spawnNode(t, script)
}

describe('locking against other processes', () => {
  test('while a `level` process holds the DB, opening rejects STATE_LOCKED naming LOCK', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const dir = path.join(root, 'leveldb')
    const child = levelChild(t, dir)
    await child.ready
    assert.match(child.stdout(), /ready/, `child: ${child.stdout()} ${child.stderr()}`)

    const err = await rejectsWith(createStateManager('leveldb', { root }), 'STATE_LOCKED')
    const lockPath = path.join(fs.realpathSync(dir), 'LOCK')
    assert.ok(
      err.details.path === lockPath || err.details.path === path.join(dir, 'LOCK'),
      `details.path ${err.details.path} should be ${lockPath}`,
    )
    assert.ok(err.message.includes('LOCK'), `message names the LOCK file: ${err.message}`)

    child.child.kill('SIGKILL')
    await child.exited
    const mgr = await open(t, root)
    assert.equal((await mgr.queryContracts()).length, 28)
  })

  test('while the addon holds the DB, a `level` process cannot open it', { skip }, async (t) => {
    const root = leveldbRoot(t)
    const dir = path.join(root, 'leveldb')
    const mgr = await createStateManager('leveldb', { root })
    t.after(() => mgr.close())
    const child = levelChild(t, dir)
    const { code } = await child.exited
    assert.equal(code, 3, `level should fail to open: ${child.stdout()} ${child.stderr()}`)
    // classic-level: "IO error: lock <dir>/LOCK: Resource temporarily unavailable".
    assert.match(child.stdout(), /IO error/)
    assert.match(child.stdout(), /LOCK/)

    // Once closed, `level` opens it.
    await mgr.close()
    const next = levelChild(t, dir)
    await next.ready
    assert.match(next.stdout(), /ready/, `after close: ${next.stdout()} ${next.stderr()}`)
  })
})
