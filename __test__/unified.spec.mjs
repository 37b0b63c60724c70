// Unified JSON backend on a copy of the real LookCoin `deployments/` tree.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { describe, test } from 'node:test'

import {
  assertSameSnapshot,
  assertStateError,
  copyTree,
  createStateManager,
  diffSnapshots,
  fixture,
  fixturesSkip,
  readTwiceAndChangeACopy,
  rejectsWith,
  repoRoot,
  sampleRecord,
  snapshot,
  spawnNode,
  tmpDir,
} from './helpers.mjs'

const skip = fixturesSkip
const BSC_TESTNET = path.join('deployments', 'unified', 'bsctestnet.unified.json')

/** A temp root with a copy of the fixture `deployments/` at `<root>/deployments`. */
function unifiedRoot(t) {
  const root = tmpDir(t, 'lcs-unified-')
  copyTree(fixture.deployments, path.join(root, 'deployments'))
  return root
}

async function open(t, root) {
  const mgr = await createStateManager('unified-json', { root })
  t.after(() => mgr.close())
  return mgr
}

const readJson = (root, rel) => JSON.parse(fs.readFileSync(path.join(root, rel), 'utf8'))
const unifiedDir = (root) => path.join(root, 'deployments', 'unified')

/** The text `JSON.stringify(value, null, 2)` of the old scripts: 2 spaces, LF, no trailing newline. */
function assertOldScriptFormat(text, what) {
  assert.ok(!text.endsWith('\n'), `${what} ends with a newline`)
  assert.ok(text.startsWith('{\n  "schemaVersion": "3.0.0",\n'), `${what} does not start as the old files do`)
  assert.equal(text, JSON.stringify(JSON.parse(text), null, 2), `${what} is not JSON.stringify(doc, null, 2)`)
}

describe('unified backend reads the live files', () => {
  test('getAllContracts per chain', { skip }, async (t) => {
    const mgr = await open(t, unifiedRoot(t))
    assert.equal(mgr.getBackendType(), 'unified-json')
    const expected = { 84532: 3, 56: 9, 97: 10, 11155420: 3, 23295: 3 }
    for (const [chain, n] of Object.entries(expected)) {
      const records = await mgr.getAllContracts(Number(chain))
      assert.equal(records.length, n, `chain ${chain}`)
      assert.ok(
        records.every((r) => r.chainId === Number(chain)),
        `chain ${chain}: ${records.map((r) => r.chainId)}`,
      )
    }
    // 23295 is served by sapphiretestnet.unified.json.
    const sapphire = await mgr.getAllContracts(23295)
    assert.ok(sapphire.every((r) => r.networkName === 'sapphiretestnet'))
    // A chain without a file has no records (not an error).
    assert.deepEqual(await mgr.getAllContracts(8453), [])
    assert.strictEqual(await mgr.getContract(8453, 'LookCoin'), null)
  })

  test('repeated reads come from the cached file, and a file replaced by another writer is read again', { skip }, async (t) => {
    const root = unifiedRoot(t)
    const mgr = await open(t, root)
    const { before, copy } = await readTwiceAndChangeACopy(mgr)
    delete copy.chainId
    copy.extra = 1
    assert.deepEqual(await mgr.getContract(97, 'LookCoin'), before)
    assert.deepEqual(Object.keys(mgr.getContractSync(97, 'LookCoin')), Object.keys(before), 'same keys, same order')
    assert.strictEqual(mgr.getContractSync(97, 'NotThere'), null)
    assert.strictEqual(await mgr.getContract(97, 'NotThere'), null)

    // What the old scripts do: write a temp file and rename it over the live one (same size here).
    const file = path.join(root, BSC_TESTNET)
    const moved = '0x' + '7'.repeat(40)
    const text = fs.readFileSync(file, 'utf8')
    assert.ok(text.includes(before.address))
    fs.writeFileSync(`${file}.tmp-1`, text.replaceAll(before.address, moved))
    fs.renameSync(`${file}.tmp-1`, file)
    assert.equal((await mgr.getContract(97, 'LookCoin')).address, moved)
    assert.equal(mgr.getContractSync(97, 'LookCoin').address, moved)

    const m = await mgr.getMetrics()
    assert.ok(m.cacheHits >= 5, `cacheHits ${m.cacheHits}`)
    assert.ok(m.cacheMisses >= 2, `cacheMisses ${m.cacheMisses}`)
  })

  test('a replace by another process is seen by the very next cached read, every time', { skip }, async (t) => {
    const root = unifiedRoot(t)
    const mgr = await open(t, root)
    const file = path.join(root, BSC_TESTNET)
    const original = fs.readFileSync(file, 'utf8')
    const address = mgr.getContractSync(97, 'LookCoin').address
    // The other process writes a temp file and renames it over the live one, then exits; the
    // read right after must see it (with no pause for a watcher or a cache to catch up).
    const replace = `const fs = require('node:fs'); const [file, text] = process.argv.slice(1);
      fs.writeFileSync(file + '.tmp-other', text); fs.renameSync(file + '.tmp-other', file)`
    for (let i = 0; i < 20; i++) {
      const moved = '0x' + (i % 10).toString().repeat(40)
      execFileSync(process.execPath, ['-e', replace, file, original.replaceAll(address, moved)])
      assert.equal(mgr.getContractSync(97, 'LookCoin').address, moved, `replace ${i}`)
      assert.equal(mgr.getContractSync(97, 'LookCoin').address, moved, `replace ${i}, read again`)
    }
  })

  test('nested deploymentArgs changed by one caller are not seen by the next', { skip }, async (t) => {
    const mgr = await open(t, unifiedRoot(t))
    await mgr.putContract(97, sampleRecord('Nested', 3, { deploymentArgs: [[1, 2], { to: 'x' }] }))
    const first = mgr.getContractSync(97, 'Nested')
    first.deploymentArgs[0].push(3)
    first.deploymentArgs[1].to = 'changed'
    const second = await mgr.getContract(97, 'Nested')
    assert.deepEqual(second.deploymentArgs, [[1, 2], { to: 'x' }])
    assert.notStrictEqual(second.deploymentArgs, first.deploymentArgs)
  })

  test('chain 23294 rejects STATE_CORRUPT: sapphiremainnet.unified.json claims 23295', { skip }, async (t) => {
    const mgr = await open(t, unifiedRoot(t))
    // getContract twice: the second finds the file cached, and must still refuse it.
    const get = () => mgr.getContract(23294, 'LookCoin')
    for (const call of [() => mgr.getAllContracts(23294), get, get]) {
      const err = await rejectsWith(call(), 'STATE_CORRUPT')
      assert.ok(err.details.path.endsWith('sapphiremainnet.unified.json'), `details.path ${err.details.path}`)
      assert.match(err.message, /sapphiremainnet\.unified\.json/)
      assert.match(err.message, /23295/)
    }
  })
})

describe('unified backend writes', () => {
  test('8 concurrent putContract calls on chain 97 keep all 8 records', { skip }, async (t) => {
    const root = unifiedRoot(t)
    const mgr = await open(t, root)
    const versionBefore = readJson(root, BSC_TESTNET).fileVersion
    assert.equal(versionBefore, 4)
    const before = snapshot(root)
    const names = Array.from({ length: 8 }, (_, i) => `ConcurrentContract${i}`)
    await Promise.all(names.map((name, i) => mgr.putContract(97, sampleRecord(name, i + 1))))

    const doc = readJson(root, BSC_TESTNET) // still parses
    assert.equal(doc.fileVersion, versionBefore + 8)
    const all = await mgr.getAllContracts(97)
    assert.equal(all.length, 10 + 8)
    for (const [i, name] of names.entries()) {
      const rec = await mgr.getContract(97, name)
      assert.ok(rec, `${name} was lost`)
      assert.equal(rec.address, sampleRecord(name, i + 1).address)
      assert.equal(rec.proxyAddress, sampleRecord(name, i + 1).proxyAddress)
      assert.deepEqual(rec.deploymentArgs, [`arg${i + 1}`, i + 1])
    }
    // The 10 records that were there are still there.
    assert.equal(all.filter((r) => !names.includes(r.contractName)).length, 10)
    const left = fs.readdirSync(unifiedDir(root)).filter((f) => f.includes('.tmp'))
    assert.deepEqual(left, [], 'temp files left behind')
    assert.deepEqual(diffSnapshots(before, snapshot(root)), { added: [], removed: [], changed: [BSC_TESTNET] })
  })

  test('concurrent writers in two processes keep every record', { skip }, async (t) => {
    const root = unifiedRoot(t)
    const mgr = await open(t, root)
    const record = (name, i) => sampleRecord(name, i)
    const script = `
      const { createStateManager } = require(${JSON.stringify(path.join(repoRoot, 'index.js'))})
      const sampleRecord = ${sampleRecord.toString()}
      ;(async () => {
        const mgr = await createStateManager('unified-json', { root: ${JSON.stringify(root)} })
        console.log('ready')
        await Promise.all(Array.from({ length: 8 }, (_, i) => mgr.putContract(97, sampleRecord('ChildContract' + i, 100 + i))))
        await mgr.close()
        console.log('done')
      })().catch((e) => { console.log('ERR ' + e.code + ' ' + e.message); process.exit(3) })`
    const child = spawnNode(t, script)
    await child.ready
    await Promise.all(Array.from({ length: 8 }, (_, i) => mgr.putContract(97, record(`ParentContract${i}`, 200 + i))))
    const { code } = await child.exited
    assert.equal(code, 0, `child: ${child.stdout()} ${child.stderr()}`)
    assert.match(child.stdout(), /done/)
    const names = (await mgr.getAllContracts(97)).map((r) => r.contractName)
    assert.equal(names.length, 10 + 16)
    for (let i = 0; i < 8; i++) {
      assert.ok(names.includes(`ChildContract${i}`), `ChildContract${i} lost`)
      assert.ok(names.includes(`ParentContract${i}`), `ParentContract${i} lost`)
    }
    assert.equal(readJson(root, BSC_TESTNET).fileVersion, 4 + 16)
    assert.deepEqual(
      fs.readdirSync(unifiedDir(root)).filter((f) => f.includes('.tmp')),
      [],
      'temp files left behind',
    )
  })

  test('one putContract changes only bsctestnet.unified.json, in the old byte format', { skip }, async (t) => {
    const root = unifiedRoot(t)
    const original = fs.readFileSync(path.join(root, BSC_TESTNET), 'utf8')
    assertOldScriptFormat(original, 'the fixture') // the fixture itself round-trips
    const docBefore = JSON.parse(original)
    const before = snapshot(root)
    const mgr = await open(t, root)
    await mgr.putContract(97, {
      contractName: 'SecurityManagerNext',
      networkName: 'bscTestnet',
      address: '0x1111111111111111111111111111111111111111',
      proxyAddress: '0x2222222222222222222222222222222222222222',
      factoryByteCodeHash: `0x${'cd'.repeat(32)}`,
      implementationHash: `0x${'cd'.repeat(32)}`,
      deploymentArgs: [20000000000000000000000000n, 5, 'x'],
      timestamp: 1755555555555,
    })
    assert.deepEqual(diffSnapshots(before, snapshot(root)), { added: [], removed: [], changed: [BSC_TESTNET] })

    const text = fs.readFileSync(path.join(root, BSC_TESTNET), 'utf8')
    assertOldScriptFormat(text, 'the written file')
    const doc = JSON.parse(text)
    assert.deepEqual(doc.extended_SecurityManagerNext.deploymentArgs, ['20000000000000000000000000', 5, 'x'])
    assert.equal(doc.fileVersion, docBefore.fileVersion + 1)
    assert.equal(doc.chainId, 97)
    // The other records' extended_ data and the contract sections of others are preserved.
    for (const key of Object.keys(docBefore).filter((k) => k.startsWith('extended_'))) {
      assert.deepEqual(doc[key], docBefore[key], `${key} changed`)
    }
    for (const category of ['core', 'protocol', 'infrastructure', 'legacy']) {
      for (const [name, entry] of Object.entries(docBefore.contracts[category] ?? {})) {
        assert.deepEqual(doc.contracts[category][name], entry, `contracts.${category}.${name} changed`)
      }
    }
    const rec = await mgr.getContract(97, 'SecurityManagerNext')
    assert.deepEqual(rec.deploymentArgs, ['20000000000000000000000000', 5, 'x'])
    assert.equal(rec.address, '0x1111111111111111111111111111111111111111')
    assert.equal(rec.proxyAddress, '0x2222222222222222222222222222222222222222')
    assert.equal(rec.timestamp, 1755555555555)
    assert.equal((await mgr.getAllContracts(97)).length, 11)
  })
})

describe('unified backend refuses damaged files and emergency stops', () => {
  test('a truncated file rejects STATE_CORRUPT for reads and writes and nothing changes', { skip }, async (t) => {
    const root = unifiedRoot(t)
    const mgr = await open(t, root)
    // Read first, so a stale cache would answer if the backend did not notice the change.
    assert.ok(await mgr.getContract(97, 'LookCoin'))
    const file = path.join(root, BSC_TESTNET)
    const bytes = fs.readFileSync(file)
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)))
    const before = snapshot(root)

    const check = (err) => {
      assert.match(err.message, /bsctestnet\.unified\.json/)
      assert.ok(err.details.path.endsWith('bsctestnet.unified.json'), `details.path ${err.details.path}`)
    }
    check(await rejectsWith(mgr.getContract(97, 'LookCoin'), 'STATE_CORRUPT'))
    check(await rejectsWith(mgr.getAllContracts(97), 'STATE_CORRUPT'))
    check(await rejectsWith(mgr.hasContract(97, 'LookCoin'), 'STATE_CORRUPT'))
    assert.throws(
      () => mgr.getContractSync(97, 'LookCoin'),
      (e) => {
        check(assertStateError(e, 'STATE_CORRUPT'))
        return true
      },
    )
    check(await rejectsWith(mgr.putContract(97, sampleRecord('NewAfterCorruption')), 'STATE_CORRUPT'))
    check(await rejectsWith(mgr.deleteContract(97, 'LookCoin'), 'STATE_CORRUPT'))
    assertSameSnapshot(before, snapshot(root), 'the deployments tree')
    // Other chains are unaffected.
    assert.equal((await mgr.getAllContracts(56)).length, 9)
  })

  test('.emergency-stop refuses writes with STATE_LOCKED; reads still work', { skip }, async (t) => {
    const root = unifiedRoot(t)
    const mgr = await open(t, root)
    fs.writeFileSync(path.join(root, '.emergency-stop'), 'rollback to leveldb in progress\n')
    const before = snapshot(root)
    const err = await rejectsWith(mgr.putContract(97, sampleRecord('DuringStop')), 'STATE_LOCKED')
    assert.ok(err.details.path.endsWith('.emergency-stop'), `details.path ${err.details.path}`)
    await rejectsWith(mgr.putContracts(97, [sampleRecord('DuringStop')]), 'STATE_LOCKED')
    await rejectsWith(mgr.deleteContract(97, 'LookCoin'), 'STATE_LOCKED')
    assert.throws(
      () => mgr.putContractSync(97, sampleRecord('DuringStop')),
      (e) => assertStateError(e, 'STATE_LOCKED') && true,
    )
    assertSameSnapshot(before, snapshot(root), 'the project root')

    const rec = await mgr.getContract(97, 'LookCoin')
    assert.ok(rec)
    assert.deepEqual(mgr.getContractSync(97, 'LookCoin'), rec)
    assert.equal((await mgr.getAllContracts(97)).length, 10)
    assert.strictEqual(await mgr.getContract(97, 'DuringStop'), null)

    // Once the stop is lifted, writes go through.
    fs.rmSync(path.join(root, '.emergency-stop'))
    await mgr.putContract(97, sampleRecord('AfterStop'))
    assert.ok(await mgr.getContract(97, 'AfterStop'))
  })

  test('a stop raised by another process between two writes refuses the second, on both backends', { skip }, async (t) => {
    const root = unifiedRoot(t)
    const stop = path.join(root, '.emergency-stop')
    const raise = `require('node:fs').writeFileSync(process.argv[1], 'incident INC-OTHER\\n')`
    for (const backend of ['unified-json', 'leveldb']) {
      const mgr = await createStateManager(backend, { root })
      t.after(() => mgr.close())
      for (let i = 0; i < 10; i++) {
        // A write that found no stop, then the stop from elsewhere, then the very next write.
        mgr.putContractSync(97, sampleRecord(`Before${i}`))
        execFileSync(process.execPath, ['-e', raise, stop])
        assert.throws(
          () => mgr.putContractSync(97, sampleRecord(`During${i}`)),
          (e) => assertStateError(e, 'STATE_LOCKED') && true,
          `${backend}, stop ${i}`,
        )
        await rejectsWith(mgr.putContract(97, sampleRecord(`During${i}`)), 'STATE_LOCKED')
        fs.rmSync(stop)
      }
      assert.strictEqual(await mgr.getContract(97, 'During9'), null, backend)
      assert.ok(await mgr.getContract(97, 'Before9'), backend)
    }
  })
})
