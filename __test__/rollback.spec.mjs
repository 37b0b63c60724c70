// The emergency rollback through the addon API, on copies of the real LookCoin workspace:
// a forced run read back with `level`, dry runs, refusals (tampered backup, a `level` process
// holding leveldb/, no confirmation, bad arguments) that change no byte, the assessment, the
// regeneration of the unified files, and a crash in a child process finished by a resume.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import { Level } from 'level'

import {
  addon,
  copyTree,
  createStateManager,
  fixture,
  fixturesSkip,
  levelEntry,
  rejectsWith,
  repoRoot,
  spawnNode,
  tmpDir,
} from './helpers.mjs'

const { emergencyRollback, validateRollback, assessEmergency, regenerateUnified, verifyBackup } = addon

const skip = fixturesSkip
const FIXTURE_ID = 'migration-2025-08-13T11-26-18-516Z'
const TABLE = `backups/${FIXTURE_ID}/leveldb/current/000188.ldb`
const LOOKCOIN_97 = '0x5838A9f96E72eA83317D155F31AB660832533bAB'
/** The steps of a fresh forced rollback, in the order the core runs them (mod.rs). */
const FORCED_STEPS = [
  'verify:begin',
  'plan:done',
  'pre-backup:begin',
  'pre-backup:done',
  'stage:begin',
  'stage:done',
  'swap:begin',
  'swap:done',
  'legacy:begin',
  'legacy:done',
  'switch:begin',
  'switch:done',
  'validate:begin',
  'finish:done',
]

/** A writable copy of the fixture workspace (and `leveldb/` from the live fixture when asked). */
function workspace(t, { leveldb = false } = {}) {
  const root = tmpDir(t, 'lcs-rollback-')
  copyTree(fixture.workspace, root)
  if (leveldb) copyTree(fixture.liveLeveldb, path.join(root, 'leveldb'))
  return root
}

/** Every file and folder under `root`: relative path → SHA-256 of the content, or `dir/`. */
function hashTree(root) {
  const out = {}
  const walk = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name)
      const rel = path.relative(root, p)
      if (ent.isDirectory()) {
        out[rel] = 'dir/'
        walk(p)
      } else if (ent.isSymbolicLink()) {
        out[rel] = `link -> ${fs.readlinkSync(p)}`
      } else {
        out[rel] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
      }
    }
  }
  walk(root)
  return out
}

/** Asserts nothing under `root` changed since `before` (a readable diff when something did). */
function assertUnchanged(root, before, what) {
  const after = hashTree(root)
  const added = Object.keys(after).filter((k) => !(k in before))
  const removed = Object.keys(before).filter((k) => !(k in after))
  const changed = Object.keys(before).filter((k) => k in after && before[k] !== after[k])
  assert.deepEqual({ added, removed, changed }, { added: [], removed: [], changed: [] }, `${what} changed the workspace`)
}

/** The tree once a running `level` process has stopped writing (two equal readings 150 ms apart). */
async function settledHashTree(root) {
  let last = hashTree(root)
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 150))
    const now = hashTree(root)
    if (JSON.stringify(now) === JSON.stringify(last)) return now
    last = now
  }
  throw new Error(`${root} keeps changing`)
}

/** Every key → raw value string of a LevelDB folder, read with the `level` package (Google LevelDB). */
async function readWithLevel(dir) {
  const db = new Level(dir, { valueEncoding: 'utf8' })
  await db.open()
  try {
    const out = new Map()
    for await (const [key, value] of db.iterator()) out.set(key, value)
    // The JSON encoding the old scripts used reads the same record.
    const json = new Level(dir, { valueEncoding: 'json' })
    await db.close()
    await json.open()
    try {
      const lookCoin = await json.get('97-LookCoin')
      assert.equal(lookCoin?.address, LOOKCOIN_97, `97-LookCoin in ${dir} read as JSON`)
    } finally {
      await json.close()
    }
    return out
  } finally {
    if (db.status === 'open') await db.close()
  }
}

/** The fixture backup's LevelDB, read with `level` from a copy (opening a LevelDB writes its LOG). */
async function backupRecords(t) {
  const copy = path.join(tmpDir(t, 'lcs-backup-level-'), 'leveldb')
  copyTree(fixture.backupLeveldb, copy)
  return readWithLevel(copy)
}

/** Collects onProgress events, noting any that arrive after the promise settled. */
function recorder() {
  const rec = { events: [], late: 0, settled: false }
  rec.onProgress = (e) => {
    if (rec.settled) rec.late++
    rec.events.push(e)
  }
  return rec
}

const stepsOf = (events) => events.filter((e) => e.status !== 'info').map((e) => `${e.step}:${e.status}`)

/** Asserts `root` is in the state a finished rollback leaves: 28 records equal to the backup's, switched, reported. */
async function assertRolledBack(t, root, incidentId) {
  const live = await readWithLevel(path.join(root, 'leveldb'))
  const backup = await backupRecords(t)
  assert.equal(live.size, 28, 'keys read by `level`')
  assert.deepEqual([...live.keys()].sort(), [...backup.keys()].sort())
  for (const [key, value] of backup) assert.equal(live.get(key), value, `record ${key}`)
  assert.equal(JSON.parse(live.get('97-LookCoin')).address, LOOKCOIN_97)
  assert.deepEqual(JSON.parse(live.get('97-LookCoin')), JSON.parse(backup.get('97-LookCoin')))

  assert.ok(!fs.existsSync(path.join(root, '.emergency-stop')), '.emergency-stop is gone')
  const env = fs.readFileSync(path.join(root, '.env.emergency'), 'utf8')
  assert.match(env, /^FORCE_LEVELDB=true$/m)
  assert.match(env, /^STATE_BACKEND=leveldb$/m)

  const dir = path.join(root, 'logs', 'incidents', incidentId)
  for (const name of ['rollback.log', 'journal', 'rollback-report.json', 'rollback-report.md']) {
    assert.ok(fs.statSync(path.join(dir, name)).isFile(), `${name} in ${dir}`)
  }
  const log = fs.readFileSync(path.join(dir, 'rollback.log'), 'utf8')
  assert.match(log, /SUCCESS/, log)
  const journal = fs
    .readFileSync(path.join(dir, 'journal'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  assert.equal(journal.at(-1).step, 'finished', 'the journal ends the incident')
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'rollback-report.json'), 'utf8'))
  assert.equal(report.status, 'SUCCESS')
  assert.equal(report.incidentId, incidentId)
  assert.equal(report.contracts.production, 26)
  assert.equal(report.contracts.total, 28)
  assert.ok(report.integrity.every((c) => c.ok), JSON.stringify(report.integrity))
  assert.match(fs.readFileSync(path.join(dir, 'rollback-report.md'), 'utf8'), /Actions required/)

  const leftovers = fs.readdirSync(root).filter((n) => n.startsWith('.leveldb.staging-'))
  assert.deepEqual(leftovers, [], 'staging folders left in the root')
  const incomplete = fs
    .readdirSync(path.join(root, 'backups'))
    .filter((n) => !n.startsWith('.'))
    .filter((n) => !fs.existsSync(path.join(root, 'backups', n, 'BACKUP_MANIFEST.json')))
  assert.deepEqual(incomplete, [], 'backup folders without BACKUP_MANIFEST.json')

  const validation = await validateRollback({ root, expect: { contracts: 26, chains: 5 } })
  assert.equal(validation.ok, true, JSON.stringify(validation.checks))
  assert.equal(validation.interrupted, null)
  return report
}

describe('emergencyRollback on the real workspace', () => {
  test('force: 28 records `level` reads as the backup holds them, a PASSED pre-rollback backup, reports, steps in order, LevelDB selected', { skip }, async (t) => {
    const root = workspace(t)
    const rec = recorder()
    const outcome = await emergencyRollback({ root, force: true, onProgress: rec.onProgress })
    rec.settled = true

    assert.equal(outcome.status, 'succeeded')
    assert.equal(outcome.resumed, false)
    assert.match(outcome.incidentId, /^INC-\d{8}-\d{6}$/)
    assert.equal(outcome.plan.backup.id, FIXTURE_ID)
    assert.equal(outcome.report.status, 'SUCCESS')
    const report = await assertRolledBack(t, root, outcome.incidentId)
    assert.deepEqual(report, outcome.report, 'rollback-report.json is what the promise returned')
    assert.equal(report.restoredFrom, `backups/${FIXTURE_ID}`)

    // The pre-rollback backup holds the state before: it verifies PASSED.
    const pre = outcome.report.preRollbackBackup
    assert.match(pre.path, new RegExp(`^backups/emergency-rollback-${outcome.incidentId}-`))
    const verified = await verifyBackup(path.join(root, pre.path))
    assert.equal(verified.status, 'PASSED', JSON.stringify(verified.problems))
    assert.equal(pre.status, 'PASSED')

    // Steps, in order, every one delivered before the promise settled; the plan before any write.
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(rec.late, 0, 'events after the promise settled')
    for (const e of rec.events) {
      assert.equal(typeof e.step, 'string', JSON.stringify(e))
      assert.ok(['begin', 'done', 'info'].includes(e.status), JSON.stringify(e))
      assert.equal(typeof e.message, 'string')
    }
    assert.deepEqual(stepsOf(rec.events), FORCED_STEPS)
    const planEvent = rec.events.find((e) => e.step === 'plan')
    assert.equal(planEvent.data.planId, outcome.plan.planId)
    assert.deepEqual(planEvent.data, outcome.plan)

    // A state manager of this root now selects LevelDB (through .env.emergency) and reads the 28 records.
    const mgr = await createStateManager(null, { root })
    t.after(() => mgr.close())
    assert.equal(mgr.getBackendType(), 'leveldb')
    assert.match(mgr.getBackendSelection().reason, /\.env\.emergency/)
    const records = await mgr.queryContracts()
    assert.equal(records.length, 28)
    assert.equal((await mgr.getContract(97, 'LookCoin')).address, LOOKCOIN_97)
    await mgr.close()

    // validateRollback reads only.
    const before = hashTree(root)
    const validation = await validateRollback({ root, expect: { contracts: 26, chains: 5 } })
    assert.equal(validation.ok, true)
    assert.equal(validation.counts.production, 26)
    assert.equal(validation.counts.total, 28)
    assertUnchanged(root, before, 'validateRollback')
  })

  test('dryRun: status planned, a plan with every action, not a byte written (no logs/)', { skip }, async (t) => {
    const root = workspace(t)
    const before = hashTree(root)
    const rec = recorder()
    const outcome = await emergencyRollback({ root, dryRun: true, onProgress: rec.onProgress })
    assert.equal(outcome.status, 'planned')
    assert.equal(outcome.report, null)
    const plan = outcome.plan
    assert.match(plan.planId, /^[0-9a-f]{16}$/)
    assert.equal(plan.backup.id, FIXTURE_ID)
    assert.equal(plan.backup.rollbackReady, true)
    assert.equal(plan.after.total, 28)
    assert.equal(plan.after.production, 26)
    assert.equal(plan.before.leveldb, null)
    assert.equal(plan.before.unifiedContracts, 26)
    assert.ok(plan.actions.length > 0)
    const ops = plan.actions.map((a) => `${a.op} ${a.path}`)
    for (const expected of ['create leveldb/', 'create .env.emergency', 'create .emergency-stop', 'replace deployments/bsctestnet.json']) {
      assert.ok(ops.includes(expected), `${expected} not in ${JSON.stringify(ops)}`)
    }
    assert.deepEqual(stepsOf(rec.events), ['verify:begin', 'plan:done'])
    assertUnchanged(root, before, 'a dry run')
    assert.ok(!fs.existsSync(path.join(root, 'logs')), 'a dry run created logs/')
  })

  test('a tampered backup: STATE_NOT_FOUND (no ready backup left), STATE_CORRUPT when named; nothing changed', { skip }, async (t) => {
    const root = workspace(t)
    const table = path.join(root, TABLE)
    const bytes = fs.readFileSync(table)
    bytes[100] ^= 0x20
    fs.writeFileSync(table, bytes)
    const before = hashTree(root)

    const any = await rejectsWith(emergencyRollback({ root, force: true }), 'STATE_NOT_FOUND')
    assert.match(any.message, /000188\.ldb/)
    assert.match(any.message, /mismatch/)
    assert.equal(any.details.path, path.join(root, 'backups'))
    const named = await rejectsWith(
      emergencyRollback({ root, force: true, backup: `backups/${FIXTURE_ID}` }),
      'STATE_CORRUPT',
    )
    assert.ok(named.details.path.endsWith(FIXTURE_ID), named.details.path)
    await rejectsWith(emergencyRollback({ root, dryRun: true }), 'STATE_NOT_FOUND')
    assertUnchanged(root, before, 'a refused rollback from a tampered backup')
  })

  test('a `level` process holding leveldb/: STATE_LOCKED naming leveldb/LOCK, nothing changed; once it is gone the same call succeeds', { skip }, async (t) => {
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
    const before = await settledHashTree(root)

    const rec = recorder()
    const err = await rejectsWith(emergencyRollback({ root, force: true, onProgress: rec.onProgress }), 'STATE_LOCKED')
    assert.ok(err.details.path.endsWith(path.join('leveldb', 'LOCK')), err.details.path)
    assert.deepEqual(rec.events, [], 'no step began')
    await rejectsWith(emergencyRollback({ root, dryRun: true }), 'STATE_LOCKED')
    assertUnchanged(root, before, 'a rollback refused while leveldb/ is held')

    child.child.kill('SIGKILL')
    await child.exited
    const outcome = await emergencyRollback({ root, force: true })
    assert.equal(outcome.status, 'succeeded')
    assert.ok(outcome.plan.actions.some((a) => a.op === 'replace' && a.path === 'leveldb/'))
    const replaced = path.join(root, 'logs', 'incidents', outcome.incidentId, 'replaced', 'leveldb')
    assert.ok(fs.existsSync(path.join(replaced, 'CURRENT')), 'the replaced LevelDB is kept in the incident')
    await assertRolledBack(t, root, outcome.incidentId)
  })

  test('without force or planId: VALIDATION_FAILED; a wrong planId: STATE_CONFLICT; the planId of a dry run: succeeds', { skip }, async (t) => {
    const root = workspace(t)
    const before = hashTree(root)
    const err = await rejectsWith(emergencyRollback({ root }), 'VALIDATION_FAILED')
    assert.match(err.message, /planId|force/)
    assertUnchanged(root, before, 'a rollback without confirmation')
    await rejectsWith(emergencyRollback({ root, planId: '0123456789abcdef' }), 'STATE_CONFLICT')
    assertUnchanged(root, before, 'a rollback with a wrong planId')

    const dry = await emergencyRollback({ root, dryRun: true })
    assertUnchanged(root, before, 'the dry run')
    const outcome = await emergencyRollback({ root, planId: dry.plan.planId })
    assert.equal(outcome.status, 'succeeded')
    assert.equal(outcome.plan.planId, dry.plan.planId)
    await assertRolledBack(t, root, outcome.incidentId)
  })

  test('bad arguments reject VALIDATION_FAILED before any file is touched', { skip }, async (t) => {
    const root = workspace(t)
    const before = hashTree(root)
    const calls = {
      'emergencyRollback()': () => emergencyRollback(),
      'emergencyRollback(root string)': () => emergencyRollback(root),
      'emergencyRollback without root': () => emergencyRollback({ force: true }),
      'emergencyRollback root 5': () => emergencyRollback({ root: 5, force: true }),
      'emergencyRollback root ""': () => emergencyRollback({ root: '', force: true }),
      'emergencyRollback force "yes"': () => emergencyRollback({ root, force: 'yes' }),
      'emergencyRollback misspelt dryrun': () => emergencyRollback({ root, dryrun: true }),
      'emergencyRollback planId 5': () => emergencyRollback({ root, planId: 5 }),
      'emergencyRollback incidentId ../x': () => emergencyRollback({ root, force: true, incidentId: '../x' }),
      'emergencyRollback onProgress 1': () => emergencyRollback({ root, force: true, onProgress: 1 }),
      'validateRollback()': () => validateRollback(),
      'validateRollback expect.contracts -1': () => validateRollback({ root, expect: { contracts: -1 } }),
      'validateRollback expect.chains "5"': () => validateRollback({ root, expect: { chains: '5' } }),
      'validateRollback expect 26': () => validateRollback({ root, expect: 26 }),
      'assessEmergency without root': () => assessEmergency({}),
      'assessEmergency unknown option': () => assessEmergency({ root, force: true }),
      'regenerateUnified dryRun "yes"': () => regenerateUnified({ root, dryRun: 'yes' }),
    }
    for (const [name, call] of Object.entries(calls)) {
      let promise
      assert.doesNotThrow(() => {
        promise = call()
      }, `${name} must return a promise, not throw`)
      const err = await rejectsWith(promise, 'VALIDATION_FAILED')
      assert.ok(err.message.length > 0, name)
    }
    assertUnchanged(root, before, 'refused calls')
  })

  test(
    'a misspelt expectation (expect: { contract: 27 }) is refused, not silently dropped',
    { skip },
    async (t) => {
      const root = workspace(t)
      await emergencyRollback({ root, force: true })
      const before = hashTree(root)
      const promise = validateRollback({ root, expect: { contract: 27 } })
      await rejectsWith(promise, 'VALIDATION_FAILED')
      assertUnchanged(root, before, 'a refused validation')
    },
  )
})

describe('assessEmergency and regenerateUnified', () => {
  test('the fixture calls for a rollback (both sapphire files claim 23295), writing nothing; after one: NOT_NEEDED', { skip }, async (t) => {
    const root = workspace(t)
    const before = hashTree(root)
    const a = await assessEmergency({ root })
    assertUnchanged(root, before, 'assessEmergency')
    assert.equal(a.decision, 'ROLLBACK_REQUIRED', JSON.stringify(a))
    assert.equal(a.rollbackPossible, true)
    const both = a.reasons.filter(
      (r) => r.includes('23295') && r.includes('sapphiremainnet.unified.json') && r.includes('sapphiretestnet.unified.json'),
    )
    assert.equal(both.length, 1, `one reason names both sapphire files: ${JSON.stringify(a.reasons)}`)
    assert.deepEqual(
      a.checks.map((c) => [c.name, c.ok]),
      [
        ['Unified JSON files readable and valid', false],
        ['No trigger markers raised', true],
        ['Verified LevelDB backup available', true],
        ['Disk space', true],
      ],
    )

    await emergencyRollback({ root, force: true })
    const after = hashTree(root)
    const again = await assessEmergency({ root })
    assert.equal(again.decision, 'NOT_NEEDED', JSON.stringify(again))
    assert.match(again.reasons.join('\n'), /\.env\.emergency/)
    assertUnchanged(root, after, 'assessEmergency after the rollback')
  })

  test('regenerateUnified after a rollback: a dry run changes nothing; for real, a manual backup first and bsctestnet replaced', { skip }, async (t) => {
    const root = workspace(t)
    await emergencyRollback({ root, force: true })
    const before = hashTree(root)
    const dry = await regenerateUnified({ root, dryRun: true })
    assertUnchanged(root, before, 'a dry-run regeneration')
    assert.equal(dry.dryRun, true)
    assert.equal(dry.backup, null)
    assert.equal(dry.files.length, 5)
    const file = (report) => report.files.find((f) => f.path === 'deployments/unified/bsctestnet.unified.json')
    assert.equal(file(dry).action, 'replace')

    const bsctestnet = path.join(root, 'deployments', 'unified', 'bsctestnet.unified.json')
    const old = fs.readFileSync(bsctestnet)
    const done = await regenerateUnified({ root })
    assert.equal(done.dryRun, false)
    assert.match(done.backup, /^backups\/manual-\d{4}-\d\d-\d\dT/)
    assert.ok(fs.existsSync(path.join(root, done.backup, 'BACKUP_MANIFEST.json')), 'the backup is complete')
    assert.equal(file(done).action, 'replace')
    assert.equal(file(done).records, 9)
    assert.notDeepEqual(fs.readFileSync(bsctestnet), old, 'bsctestnet.unified.json was rewritten')
    // The backup holds the file as it was.
    const kept = fs
      .readdirSync(path.join(root, done.backup), { recursive: true })
      .filter((p) => p.endsWith('bsctestnet.unified.json'))
    assert.ok(kept.some((p) => fs.readFileSync(path.join(root, done.backup, p)).equals(old)), `${kept}`)
    // Read back through the unified backend.
    const mgr = await createStateManager('unified-json', { root })
    t.after(() => mgr.close())
    assert.equal((await mgr.getContract(97, 'LookCoin')).address, LOOKCOIN_97)
    assert.equal((await mgr.getAllContracts(97)).length, 9)
  })
})

describe('a crash in the middle of a rollback', () => {
  test('killed right after swap:begin: validate and dry run report it, writing nothing; resume finishes it', { skip }, async (t) => {
    const root = workspace(t)
    const script = `
      const { emergencyRollback } = require(${JSON.stringify(path.join(repoRoot, 'index.js'))})
      emergencyRollback({ root: ${JSON.stringify(root)}, force: true }).then(
        (o) => { console.log('finished ' + o.status); process.exit(0) },
        (e) => { console.log('failed ' + e.code + ': ' + e.message); process.exit(0) },
      )`
    const child = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, LOOKCOIN_STATE_CRASH_AT: 'swap:begin' },
      encoding: 'utf8',
      timeout: 30000,
    })
    assert.notEqual(child.status, 0, `the child should have died: ${child.stdout} ${child.stderr}`)
    assert.equal(child.signal, 'SIGABRT', `status ${child.status}: ${child.stdout} ${child.stderr}`)

    const [incidentId] = fs.readdirSync(path.join(root, 'logs', 'incidents'))
    const journal = fs.readFileSync(path.join(root, 'logs', 'incidents', incidentId, 'journal'), 'utf8').trim().split('\n')
    assert.deepEqual(
      (({ step, state }) => ({ step, state }))(JSON.parse(journal.at(-1))),
      { step: 'swap', state: 'begin' },
    )
    assert.ok(fs.existsSync(path.join(root, '.emergency-stop')), 'writes stay blocked while the rollback is unfinished')

    const before = hashTree(root)
    const validation = await validateRollback({ root })
    assert.equal(validation.interrupted, incidentId)
    assert.equal(validation.ok, false)
    assert.equal(validation.checks[0].ok, false)
    const dry = await emergencyRollback({ root, dryRun: true })
    assert.equal(dry.status, 'interrupted')
    assert.equal(dry.incidentId, incidentId)
    assert.equal(dry.plan, null)
    const assessment = await assessEmergency({ root })
    assert.equal(assessment.decision, 'RESUME_REQUIRED')
    assertUnchanged(root, before, 'validate, dry run and assess of an interrupted rollback')

    const rec = recorder()
    const outcome = await emergencyRollback({ root, resume: true, onProgress: rec.onProgress })
    assert.equal(outcome.resumed, true)
    assert.equal(outcome.status, 'succeeded')
    assert.equal(outcome.incidentId, incidentId)
    assert.equal(outcome.report.resumed, true)
    assert.equal(rec.events[0].step, 'resume')
    assert.ok(stepsOf(rec.events).includes('swap:done'), JSON.stringify(stepsOf(rec.events)))
    await assertRolledBack(t, root, incidentId)

    // Nothing left to resume.
    await rejectsWith(emergencyRollback({ root, resume: true }), 'STATE_NOT_FOUND')
  })
})
