// The migrations through the addon and the CLI, on copies of the real workspace: dry runs write
// nothing, LevelDB → unified → LevelDB gives the same bytes (read back with Node's `level`),
// bad options are refused before anything is touched, and the CLI's exit codes.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'

import { Level } from 'level'

import {
  addon,
  assertSameSnapshot,
  copyTree,
  fixture,
  fixturesSkip,
  levelEntry,
  rejectsWith,
  repoRoot,
  snapshot,
  spawnNode,
  tmpDir,
} from './helpers.mjs'

const skip = fixturesSkip
const { migrateLevelDbToUnified, migrateUnifiedToLevelDb, migrateLegacyToLevelDb } = addon
const CLI = path.join(repoRoot, 'npm', 'cli.js')

/** A writable copy of the fixture workspace with the backup's 28-record LevelDB at `leveldb/`. */
function workspace(t) {
  const root = tmpDir(t, 'lcs-migrate-')
  copyTree(fixture.workspace, root)
  copyTree(fixture.backupLeveldb, path.join(root, 'leveldb'))
  return root
}

/** Every key → value string of a LevelDB folder, as Google LevelDB (`level`) reads it. */
async function levelPairs(dir) {
  const db = new Level(dir, { valueEncoding: 'utf8' })
  await db.open()
  try {
    const out = {}
    for await (const [key, value] of db.iterator()) out[key] = value
    return out
  } finally {
    await db.close()
  }
}

function cli(args) {
  const res = spawnSync(process.execPath, [CLI, ...args], { cwd: os.tmpdir(), encoding: 'utf8', input: '', timeout: 60000 })
  if (res.error) throw res.error
  return res
}

function exits(res, code, what) {
  assert.equal(res.status, code, `${what}: exit ${res.status}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`)
  return res
}

describe('migrations through the addon', () => {
  test('dry runs write nothing and list what a real run writes', { skip }, async (t) => {
    const root = workspace(t)
    const before = snapshot(root)
    const reports = [
      await migrateLevelDbToUnified({ root, dryRun: true }),
      await migrateUnifiedToLevelDb({ root, dryRun: true, overwrite: true }),
      await migrateLegacyToLevelDb({ root, dryRun: true }),
    ]
    assertSameSnapshot(before, snapshot(root), 'dry runs')
    for (const report of reports) {
      assert.equal(report.dryRun, true)
      assert.equal(report.backup, null)
      const total = Object.values(report.counts).reduce((a, b) => a + b, 0)
      assert.equal(total, report.items.length, report.migration)
    }
    const [toUnified, toLevelDb] = reports
    assert.equal(toUnified.store, 'unified-json')
    assert.ok(toUnified.writes.includes('deployments/unified/bsctestnet.unified.json'), JSON.stringify(toUnified.writes))
    const dev = toUnified.items.find((i) => i.chainId === 31337)
    assert.equal(dev.action, 'skipped')
    assert.match(dev.reason, /includeDev/)
    const sapphire = toLevelDb.items.filter((i) => i.source.startsWith('deployments/unified/sapphiremainnet.unified.json'))
    assert.equal(sapphire.length, 3)
    assert.ok(sapphire.every((i) => i.action === 'skipped' && /claims chainId 23295/.test(i.reason)))

    const done = await migrateUnifiedToLevelDb({ root, overwrite: true })
    assert.deepEqual(done.items.map((i) => [i.target, i.action]), toLevelDb.items.map((i) => [i.target, i.action]))
    assert.match(done.backup, /^backups\/manual-/)
  })

  test('LevelDB → empty unified dir → LevelDB gives the same 28 values byte for byte', { skip }, async (t) => {
    const root = tmpDir(t, 'lcs-migrate-trip-')
    copyTree(fixture.backupLeveldb, path.join(root, 'leveldb'))
    fs.mkdirSync(path.join(root, 'deployments', 'unified'), { recursive: true })
    const toUnified = await migrateLevelDbToUnified({ root, includeDev: true })
    assert.equal(toUnified.counts.created, 6)
    const away = path.join(tmpDir(t, 'lcs-migrate-away-'), 'leveldb')
    fs.renameSync(path.join(root, 'leveldb'), away)
    const back = await migrateUnifiedToLevelDb({ root })
    assert.deepEqual(back.counts, { created: 28, updated: 0, unchanged: 0, skipped: 0 })
    const original = await levelPairs(away)
    assert.equal(Object.keys(original).length, 28)
    assert.deepEqual(await levelPairs(path.join(root, 'leveldb')), original)
  })

  test('bad options reject VALIDATION_FAILED and change nothing', { skip }, async (t) => {
    const root = workspace(t)
    const before = snapshot(root)
    const calls = {
      'no options': () => migrateUnifiedToLevelDb(),
      'no root': () => migrateLegacyToLevelDb({ dryRun: true }),
      'dryRun "yes"': () => migrateLevelDbToUnified({ root, dryRun: 'yes' }),
      'overwrite on leveldb-to-unified': () => migrateLevelDbToUnified({ root, overwrite: true }),
      'includeDev on unified-to-leveldb': () => migrateUnifiedToLevelDb({ root, includeDev: true }),
      'misspelt dryrun': () => migrateLegacyToLevelDb({ root, dryrun: true }),
      onProgress: () => migrateLegacyToLevelDb({ root, onProgress: () => {} }),
    }
    for (const [name, call] of Object.entries(calls)) {
      let promise
      assert.doesNotThrow(() => {
        promise = call()
      }, `${name} must return a promise, not throw`)
      await rejectsWith(promise, 'VALIDATION_FAILED')
    }
    assertSameSnapshot(before, snapshot(root), 'refused calls')
  })
})

describe('lookcoin-state migrate', () => {
  test('exit 0 for a dry run and a real run, 2 for usage errors, 3 while the LevelDB is held', { skip }, async (t) => {
    const root = workspace(t)
    const before = snapshot(root)
    const dry = exits(cli(['migrate', 'json-to-leveldb', '--dry-run', '--json', '--root', root]), 0, 'dry run')
    assert.equal(JSON.parse(dry.stdout).dryRun, true)
    for (const args of [['migrate'], ['migrate', 'sideways'], ['migrate', 'leveldb-to-unified', '--overwrite'], ['migrate', 'json-to-leveldb', '--include-dev']]) {
      const res = exits(cli([...args, '--root', root]), 2, args.join(' '))
      assert.match(res.stderr, /migrate/)
    }
    assertSameSnapshot(before, snapshot(root), 'dry run and usage errors')

    // Held by a `level` process: a POSIX lock, which this process would drop by reading LOCK.
    const dir = path.join(root, 'leveldb')
    const holder = spawnNode(t, `const { Level } = require(${JSON.stringify(levelEntry)})
      new Level(${JSON.stringify(dir)}).open().then(() => { console.log('ready'); setInterval(() => {}, 1000) })`)
    await holder.ready
    const held = snapshot(root)
    const locked = exits(cli(['migrate', 'unified-to-leveldb', '--root', root]), 3, 'held LevelDB')
    assert.match(locked.stderr, /STATE_LOCKED.*leveldb\/LOCK/)
    assertSameSnapshot(held, snapshot(root), 'a refused migration')
    holder.child.kill('SIGKILL')
    await holder.exited

    const help = exits(cli(['migrate', '--help']), 0, 'migrate --help')
    assert.match(help.stdout, /^\s*Example: lookcoin-state migrate /m)

    const done = exits(cli(['migrate', 'leveldb-to-unified', '--root', root]), 0, 'real run')
    assert.match(done.stdout, /backup first: backups\/manual-/)
  })
})
