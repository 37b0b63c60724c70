// Backups from Node: verify the real migration backup, create new ones (progress, sha256sum,
// locking), list, prune, assess, and refuse bad arguments without touching a file.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import {
  addon,
  assertSameSnapshot,
  assertStateError,
  copyTree,
  fixture,
  fixturesDir,
  fixturesSkip,
  levelEntry,
  rejectsWith,
  snapshot,
  spawnNode,
  tmpDir,
} from './helpers.mjs'

const { createBackup, verifyBackup, verifyBackupSync, assessBackup, listBackups, listBackupsSync, pruneBackups } =
  addon

const skip = fixturesSkip
const FIXTURE_ID = 'migration-2025-08-13T11-26-18-516Z'
const fixtureBackup = path.join(fixturesDir, 'lookcoin-workspace', 'backups', FIXTURE_ID)

/** SHA-256 of every file under `dir` (relative path → hex), for "not a byte changed" checks. */
function hashTree(dir) {
  const out = {}
  for (const [rel, bytes] of snapshot(dir)) out[rel] = crypto.createHash('sha256').update(bytes).digest('hex')
  return out
}

/** A copy of the workspace, its migration backup included (and `leveldb/` from the live fixture when asked). */
function workspace(t, { leveldb = false } = {}) {
  const root = tmpDir(t, 'lcs-backup-')
  copyTree(fixture.workspace, root)
  if (leveldb) copyTree(fixture.liveLeveldb, path.join(root, 'leveldb'))
  return root
}

const backupsOf = (root) => fs.readdirSync(path.join(root, 'backups')).filter((n) => !n.startsWith('.')).sort()

/** Collects onProgress events, noting any that arrive after the operation settled. */
function progressRecorder() {
  const rec = { events: [], late: 0, settled: false }
  rec.onProgress = (p) => {
    if (rec.settled) rec.late++
    rec.events.push({ ...p })
  }
  return rec
}

/** Events of one operation: increasing, consistent, the last one complete, none after it settled. */
async function assertProgress(rec, phase, filesTotal) {
  await new Promise((resolve) => setTimeout(resolve, 150)) // a late event would arrive by now
  assert.equal(rec.late, 0, 'progress events arrived after the promise settled')
  assert.ok(rec.events.length >= 1, 'onProgress was never called')
  for (const [i, e] of rec.events.entries()) {
    assert.deepEqual(Object.keys(e).sort(), ['bytesDone', 'bytesTotal', 'filesDone', 'filesTotal', 'phase'])
    assert.equal(e.phase, phase)
    assert.equal(e.filesTotal, filesTotal)
    assert.ok(e.filesDone >= 1 && e.filesDone <= e.filesTotal, JSON.stringify(e))
    assert.ok(e.bytesDone <= e.bytesTotal, JSON.stringify(e))
    if (i > 0) assert.ok(e.filesDone > rec.events[i - 1].filesDone, 'events arrive in order, never repeated')
  }
  const last = rec.events.at(-1)
  assert.equal(last.filesDone, last.filesTotal, `last event ${JSON.stringify(last)} is complete`)
  assert.equal(last.bytesDone, last.bytesTotal)
}

describe('verifyBackup', () => {
  test('the real migration backup: INCOMPLETE, 77 ok / 3 missing / 0 mismatched, rollback-ready, 28 records; not a byte changed', { skip }, async (t) => {
    const dir = path.join(tmpDir(t), FIXTURE_ID)
    copyTree(fixtureBackup, dir)
    const before = hashTree(dir)
    const rec = progressRecorder()
    const report = await verifyBackup(dir, { onProgress: rec.onProgress })
    rec.settled = true

    assert.equal(report.status, 'INCOMPLETE')
    assert.equal(report.deep, true)
    assert.equal(report.backupId, FIXTURE_ID)
    assert.equal(report.path, dir)
    assert.deepEqual(
      { ok: report.counts.ok, missing: report.counts.missing, mismatched: report.counts.mismatched },
      { ok: 77, missing: 3, mismatched: 0 },
    )
    assert.equal(report.counts.listed, 80)
    assert.equal(report.rollbackReady, true)
    assert.equal(report.records.total, 28)
    assert.deepEqual(report.records.perChain, { 56: 8, 97: 9, 23295: 3, 31337: 2, 84532: 3, 11155420: 3 })
    assert.equal(report.formatVersion, 1)
    const missing = report.problems.filter((p) => p.kind === 'missing').map((p) => p.path).sort()
    assert.deepEqual(missing, [
      'leveldb/leveldb-data-integrity-report.md',
      'leveldb/leveldb-inventory.json',
      'leveldb/previous-exports/leveldb-export-2025-08-13T06-48-38-098Z.json',
    ])
    assert.ok(report.problems.filter((p) => p.kind === 'missing').every((p) => p.severity === 'INCOMPLETE'))
    assert.ok(!report.problems.some((p) => p.severity === 'FAILED'), JSON.stringify(report.problems))
    assert.ok(report.bytesHashed > 0)
    await assertProgress(rec, 'hash', 77)
    assert.equal(rec.events.at(-1).bytesDone, report.bytesHashed)

    // The sync twin says the same, its progress delivered before it returns.
    const syncRec = progressRecorder()
    const { durationMs: _a, ...sync } = verifyBackupSync(dir, { onProgress: syncRec.onProgress })
    syncRec.settled = true
    const { durationMs: _b, ...async_ } = report
    assert.deepEqual(sync, async_)
    await assertProgress(syncRec, 'hash', 77)
    // A structure check reads no bytes and leaves readiness open.
    const shallow = await verifyBackup(dir, { deep: false })
    assert.equal(shallow.bytesHashed, 0)
    assert.equal(shallow.rollbackReady, null)
    assert.equal(shallow.records, null)

    assert.deepEqual(hashTree(dir), before, 'verification changed the backup')
  })

  test('record: true keeps the verdict beside the backups, never inside; it needs <root>/backups', { skip }, async (t) => {
    const root = workspace(t)
    const dir = path.join(root, 'backups', FIXTURE_ID)
    const before = hashTree(dir)
    const report = await verifyBackup(dir, { record: true })
    assert.equal(report.status, 'INCOMPLETE')
    assert.deepEqual(hashTree(dir), before, 'recording wrote into the backup')
    const recorded = JSON.parse(fs.readFileSync(path.join(root, 'backups', '.verifications', `${FIXTURE_ID}.json`), 'utf8'))
    assert.equal(recorded.status, 'INCOMPLETE')
    assert.equal(recorded.rollbackReady, true)
    const [listed] = await listBackups(root)
    assert.equal(listed.lastVerification.status, 'INCOMPLETE')
    assert.equal(listed.lastVerification.by, 'lookcoin-state')

    const loose = path.join(tmpDir(t), FIXTURE_ID)
    copyTree(fixtureBackup, loose)
    const err = await rejectsWith(verifyBackup(loose, { record: true }), 'VALIDATION_FAILED')
    assert.match(err.message, /backups/)
  })

  test('a folder that does not exist rejects STATE_NOT_FOUND naming it', async (t) => {
    const dir = path.join(tmpDir(t), 'backups', 'manual-nope')
    const err = await rejectsWith(verifyBackup(dir), 'STATE_NOT_FOUND')
    assert.equal(err.details.path, dir)
    assert.throws(
      () => verifyBackupSync(dir),
      (e) => assertStateError(e, 'STATE_NOT_FOUND') && e.details.path === dir,
    )
  })
})

describe('createBackup', () => {
  test('backs up workspace + LevelDB: 28 records, sha256sum -c passes, verifies PASSED, progress complete', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    const live = hashTree(path.join(root, 'deployments'))
    const rec = progressRecorder()
    const created = await createBackup({ root, kind: 'migration', label: 'node test', onProgress: rec.onProgress })
    rec.settled = true

    assert.equal(path.dirname(created.path), path.join(root, 'backups'))
    assert.equal(path.basename(created.path), created.backupId)
    assert.match(created.backupId, /^migration-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/)
    const m = created.manifest
    assert.equal(m.backupId, created.backupId)
    assert.equal(m.kind, 'migration')
    assert.equal(m.label, 'node test')
    assert.equal(m.formatVersion, 2)
    assert.equal(m.records.total, 28)
    assert.equal(m.records.production, 26)
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(created.path, 'BACKUP_MANIFEST.json'), 'utf8')), m)
    assert.equal(Object.keys(m.checksums).length, m.totalFiles)
    assert.ok(m.categories.leveldb.files > 0)

    const sums = spawnSync('sha256sum', ['-c', 'checksums/SHA256SUMS'], { cwd: created.path, encoding: 'utf8' })
    assert.equal(sums.status, 0, `sha256sum -c: ${sums.stdout} ${sums.stderr}`)
    assert.equal(sums.stdout.trim().split('\n').length, m.totalFiles)

    await assertProgress(rec, 'copy', m.totalFiles)
    assert.equal(rec.events.at(-1).bytesDone, m.totalSize)

    const report = await verifyBackup(created.path)
    assert.equal(report.status, 'PASSED', JSON.stringify(report.problems))
    assert.equal(report.rollbackReady, true)
    assert.equal(report.records.total, 28)
    assert.deepEqual(hashTree(path.join(root, 'deployments')), live, 'the backup changed the live files')
  })

  test('progress is throttled: thousands of files give a few events, all before the promise settles', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    const many = 3000
    for (let i = 0; i < many; i++) {
      fs.writeFileSync(path.join(root, 'deployments', `extra-${i}.json`), JSON.stringify({ i, pad: 'x'.repeat(200) }))
    }
    const rec = progressRecorder()
    const started = Date.now()
    const created = await createBackup({ root, onProgress: rec.onProgress })
    const elapsed = Date.now() - started
    rec.settled = true
    assert.ok(created.manifest.totalFiles > many)
    await assertProgress(rec, 'copy', created.manifest.totalFiles)
    assert.ok(
      rec.events.length <= Math.ceil(elapsed / 50) + 2,
      `${rec.events.length} events in ${elapsed} ms: more than one per 50 ms`,
    )
    assert.ok(rec.events.length < created.manifest.totalFiles / 10, `${rec.events.length} events`)
  })

  test('an onProgress that throws does not stop or fail the backup', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    let calls = 0
    const created = await createBackup({
      root,
      onProgress: () => {
        calls++
        throw new Error('display broke')
      },
    })
    assert.ok(calls >= 1)
    assert.equal((await verifyBackup(created.path)).status, 'PASSED')
  })

  test('while a `level` process holds leveldb/, it rejects STATE_LOCKED and adds no backup folder', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    const dir = path.join(root, 'leveldb')
    const script = `
      const { Level } = require(${JSON.stringify(levelEntry)})
      const db = new Level(${JSON.stringify(dir)}, { valueEncoding: 'json' })
      db.open().then(
        () => { console.log('ready'); setInterval(() => {}, 1000) },
        (e) => { console.log('ERR ' + e.code + ': ' + e.message); process.exit(3) },
      )`
    const child = spawnNode(t, script)
    await child.ready
    assert.match(child.stdout(), /ready/, `child: ${child.stdout()} ${child.stderr()}`)

    const before = backupsOf(root)
    const liveBefore = hashTree(path.join(root, 'deployments'))
    const rec = progressRecorder()
    const err = await rejectsWith(createBackup({ root, onProgress: rec.onProgress }), 'STATE_LOCKED')
    assert.equal(typeof err.details.path, 'string')
    assert.ok(err.details.path.startsWith(fs.realpathSync(dir)) || err.details.path.startsWith(dir), err.details.path)
    assert.deepEqual(backupsOf(root), before, 'a refused backup left a folder')
    assert.deepEqual(hashTree(path.join(root, 'deployments')), liveBefore)
    assert.equal(rec.events.length, 0, 'nothing was copied')

    // Once the other process is gone, the same call succeeds.
    child.child.kill('SIGKILL')
    await child.exited
    const created = await createBackup({ root })
    assert.deepEqual(backupsOf(root), [...before, created.backupId].sort())
  })
})

describe('listBackups, pruneBackups, assessBackup', () => {
  test('listBackups is newest first; a dry-run prune changes nothing; a real one keeps the newest', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    const first = await createBackup({ root })
    await new Promise((resolve) => setTimeout(resolve, 5)) // distinct millisecond stamps
    const second = await createBackup({ root, kind: 'migration' })

    const list = await listBackups(root)
    assert.deepEqual(
      list.map((b) => b.id),
      [second.backupId, first.backupId, FIXTURE_ID],
    )
    const times = list.map((b) => Date.parse(b.timestamp))
    assert.deepEqual([...times].sort((a, b) => b - a), times)
    assert.ok(list.every((b) => b.complete))
    assert.equal(list[0].records, 28)
    assert.equal(list[0].totalFiles, second.manifest.totalFiles)
    assert.equal(list[2].formatVersion, 1)
    assert.deepEqual(listBackupsSync(root), list)
    assert.deepEqual(await listBackups(path.join(tmpDir(t), 'no-project')), [])

    const before = snapshot(root)
    const dry = await pruneBackups(root, { keep: 1 })
    assert.equal(dry.dryRun, true)
    assert.deepEqual(
      dry.kept.map((k) => k.id),
      [second.backupId],
    )
    assert.deepEqual(dry.removed.map((k) => k.id).sort(), [first.backupId, FIXTURE_ID].sort())
    assertSameSnapshot(before, snapshot(root), 'a dry-run prune')

    await rejectsWith(pruneBackups(root, { keep: 0 }), 'VALIDATION_FAILED')
    assertSameSnapshot(before, snapshot(root), 'a refused prune')

    const real = await pruneBackups(root, { keep: 1, dryRun: false })
    assert.equal(real.dryRun, false)
    assert.deepEqual(real.removed, dry.removed)
    assert.deepEqual(backupsOf(root), [second.backupId])
  })

  test('assessBackup of the migration backup in its workspace: 0–100, the sum of five named parts', { skip }, async (t) => {
    const root = workspace(t)
    const dir = path.join(root, 'backups', FIXTURE_ID)
    const before = hashTree(dir)
    const a = await assessBackup(dir)
    assert.ok(Number.isInteger(a.score) && a.score >= 0 && a.score <= 100, `score ${a.score}`)
    assert.deepEqual(
      a.parts.map((p) => p.name),
      ['completeness', 'integrity', 'age', 'size', 'records'],
    )
    assert.equal(
      a.score,
      a.parts.reduce((sum, p) => sum + p.score, 0),
    )
    assert.deepEqual(
      a.parts.map((p) => p.max),
      [40, 30, 10, 10, 10],
    )
    for (const p of a.parts) {
      assert.ok(p.score >= 0 && p.score <= p.max, JSON.stringify(p))
      assert.equal(typeof p.detail, 'string')
    }
    // 77 of 80 intact: completeness 40 * 77 / 80 rounded down; rollback-ready: integrity full.
    assert.equal(a.parts[0].score, 38)
    assert.equal(a.parts[1].score, 30)
    assert.equal(a.verification.status, 'INCOMPLETE')
    assert.deepEqual(hashTree(dir), before)
  })
})

describe('bad arguments reject VALIDATION_FAILED before any file is touched', () => {
  test('wrong types, unknown options and kinds, keep not a positive integer', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    const dir = path.join(root, 'backups', FIXTURE_ID)
    const before = snapshot(root)
    const calls = {
      'createBackup()': () => createBackup(),
      'createBackup(root string)': () => createBackup(root),
      'createBackup without root': () => createBackup({ kind: 'manual' }),
      'createBackup root 5': () => createBackup({ root: 5 }),
      'createBackup kind nightly': () => createBackup({ root, kind: 'nightly' }),
      'createBackup kind emergency-rollback-../x': () => createBackup({ root, kind: 'emergency-rollback-../x' }),
      'createBackup kind 7': () => createBackup({ root, kind: 7 }),
      'createBackup label {}': () => createBackup({ root, label: {} }),
      'createBackup includeUnifiedHistory "yes"': () => createBackup({ root, includeUnifiedHistory: 'yes' }),
      'createBackup unknown option': () => createBackup({ root, dryRun: true }),
      'createBackup onProgress 1': () => createBackup({ root, onProgress: 1 }),
      'verifyBackup()': () => verifyBackup(),
      'verifyBackup(42)': () => verifyBackup(42),
      'verifyBackup deep "no"': () => verifyBackup(dir, { deep: 'no' }),
      'verifyBackup options []': () => verifyBackup(dir, []),
      'verifyBackup unknown option': () => verifyBackup(dir, { recrod: true }),
      'assessBackup(null)': () => assessBackup(null),
      'listBackups({})': () => listBackups({}),
      'pruneBackups no options': () => pruneBackups(root),
      'pruneBackups keep 0': () => pruneBackups(root, { keep: 0, dryRun: false }),
      'pruneBackups keep -1': () => pruneBackups(root, { keep: -1, dryRun: false }),
      'pruneBackups keep 1.5': () => pruneBackups(root, { keep: 1.5, dryRun: false }),
      'pruneBackups keep "2"': () => pruneBackups(root, { keep: '2', dryRun: false }),
      'pruneBackups keep NaN': () => pruneBackups(root, { keep: NaN, dryRun: false }),
      'pruneBackups dryRun "false"': () => pruneBackups(root, { keep: 1, dryRun: 'false' }),
      'pruneBackups misspelt dryrun': () => pruneBackups(root, { keep: 1, dryrun: false }),
    }
    for (const [name, call] of Object.entries(calls)) {
      let promise
      assert.doesNotThrow(() => {
        promise = call()
      }, `${name} must return a promise, not throw`)
      const err = await rejectsWith(promise, 'VALIDATION_FAILED')
      assert.ok(err.message.length > 0, name)
    }
    assert.throws(
      () => listBackupsSync(7),
      (e) => assertStateError(e, 'VALIDATION_FAILED') && true,
    )
    assert.throws(
      () => verifyBackupSync(dir, { deep: 1 }),
      (e) => assertStateError(e, 'VALIDATION_FAILED') && true,
    )
    assertSameSnapshot(before, snapshot(root), 'refused calls')
  })
})
