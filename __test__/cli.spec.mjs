// The lookcoin-state CLI as a new user meets it: `node npm/cli.js …` in a child process, on
// copies of the real workspace, asserting exit codes (0 done, 1 problems, 2 usage, 3 locked,
// 4 interrupted), what is printed, and that refusals and dry runs write nothing.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'

import { copyTree, fixture, fixturesSkip, levelEntry, repoRoot, spawnNode, tmpDir } from './helpers.mjs'

const skip = fixturesSkip
const CLI = path.join(repoRoot, 'npm', 'cli.js')
const FIXTURE_ID = 'migration-2025-08-13T11-26-18-516Z'
const COMMANDS = ['init', 'assess', 'rollback', 'rollback-validate', 'validate', 'count', 'compare', 'regenerate-unified', 'migrate',
  'backup', 'export', 'import', 'bench', 'demo', 'show']

/** Runs the CLI (stdin not a terminal, cwd a neutral folder); returns { status, signal, stdout, stderr }. */
function cli(args, { env = {} } = {}) {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    cwd: os.tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, LOOKCOIN_STATE_CRASH_AT: '', ...env },
    input: '',
    timeout: 60000,
  })
  if (res.error) throw res.error
  return res
}

/** Asserts the exit code, showing the output when it differs. */
function exits(res, code, what) {
  assert.equal(res.status, code, `${what}: exit ${res.status} (signal ${res.signal})\nstdout: ${res.stdout}\nstderr: ${res.stderr}`)
  return res
}

/** A writable copy of the fixture workspace (and `leveldb/` from the live fixture when asked). */
function workspace(t, { leveldb = false } = {}) {
  const root = tmpDir(t, 'lcs-cli-')
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
      } else {
        out[rel] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')
      }
    }
  }
  walk(root)
  return out
}

const hashTreeAll = hashTree

function assertUnchanged(root, before, what) {
  const after = hashTree(root)
  const added = Object.keys(after).filter((k) => !(k in before))
  const removed = Object.keys(before).filter((k) => !(k in after))
  const changed = Object.keys(before).filter((k) => k in after && before[k] !== after[k])
  assert.deepEqual({ added, removed, changed }, { added: [], removed: [], changed: [] }, `${what} changed the workspace`)
}

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

describe('help and usage errors', () => {
  test('--help and <command> --help exit 0 on stdout with an Example line', () => {
    const top = exits(cli(['--help']), 0, '--help')
    assert.match(top.stdout, /^Usage: lookcoin-state <command>/m)
    assert.match(top.stdout, /^Example: lookcoin-state /m)
    for (const command of COMMANDS) {
      const res = exits(cli([command, '--help']), 0, `${command} --help`)
      assert.match(res.stdout, new RegExp(`^lookcoin-state ${command}`, 'm'), command)
      assert.match(res.stdout, /^\s*Example: lookcoin-state /m, `${command} --help has no Example line`)
    }
    assert.match(exits(cli(['rollback', '--help']), 0, 'rollback --help').stdout, /--dry-run/)
  })

  test('an unknown command or option, a missing value, a stray argument: exit 2 with the reason on stderr', (t) => {
    const root = tmpDir(t)
    const cases = [
      [['frobnicate'], /unknown command frobnicate/],
      [[], /no command given/],
      [['rollback', '--frobnicate', '--root', root], /unknown option --frobnicate/],
      [['rollback', '--dryrun', '--root', root], /unknown option --dryrun/],
      [['rollback', '--root'], /--root needs a value/],
      [['backup', 'prune', '--root', root], /--keep/],
      [['backup', 'prune', '--keep', '0x', '--root', root], /--keep needs a whole number/],
      [['backup', 'verify', '--root', root], /backup verify DIR/],
      [['rollback-validate', '--expect-contracts', '-3', '--root', root], /--expect-contracts needs a whole number/],
      [['assess', root], /unexpected argument/],
    ]
    for (const [args, reason] of cases) {
      const res = exits(cli(args), 2, args.join(' '))
      assert.match(res.stderr, reason, args.join(' '))
      assert.match(res.stderr, /Usage: lookcoin-state/, args.join(' '))
    }
    assert.deepEqual(fs.readdirSync(root), [], 'a usage error wrote into the root')
  })
})

describe('rollback', () => {
  test('--dry-run prints the plan (backup id, leveldb/) and writes nothing; with --json stdout is one JSON document', { skip }, (t) => {
    const root = workspace(t)
    const before = hashTree(root)
    const res = exits(cli(['rollback', '--dry-run', '--root', root]), 0, 'rollback --dry-run')
    assert.match(res.stdout, new RegExp(`Backup: ${FIXTURE_ID}`))
    assert.match(res.stdout, /^\s+create\s+leveldb\/\s/m)
    assert.match(res.stdout, /After: 28 records \(26 production on 5 chains \+ 2 dev\)/)
    assert.match(res.stdout, /Dry run: nothing was written/)
    assertUnchanged(root, before, 'rollback --dry-run')

    const json = exits(cli(['rollback', '--dry-run', '--json', '--root', root]), 0, 'rollback --dry-run --json')
    const doc = JSON.parse(json.stdout)
    assert.equal(doc.status, 'planned')
    assert.equal(doc.plan.backup.id, FIXTURE_ID)
    assert.ok(doc.plan.actions.some((a) => a.path === 'leveldb/' && a.op === 'create'))
    assertUnchanged(root, before, 'rollback --dry-run --json')

    // --dry-run wins over --force and --resume (a CLI bug ran the real rollback here).
    exits(cli(['rollback', '--dry-run', '--force', '--root', root]), 0, 'rollback --dry-run --force')
    assertUnchanged(root, before, 'rollback --dry-run --force')
    const resume = exits(cli(['rollback', '--dry-run', '--resume', '--root', root]), 1, 'rollback --dry-run --resume with nothing to resume')
    assert.match(resume.stderr, /STATE_NOT_FOUND: nothing to resume/)
    assertUnchanged(root, before, 'rollback --dry-run --resume')
  })

  test('without --force and stdin not a terminal: exit 2, nothing changed', { skip }, (t) => {
    const root = workspace(t)
    const before = hashTree(root)
    const res = exits(cli(['rollback', '--root', root]), 2, 'rollback without --force')
    assert.match(res.stderr, /not on a terminal/)
    assert.match(res.stderr, /--force/)
    assertUnchanged(root, before, 'rollback without --force')
  })

  test('--force: exit 0; rollback-validate --expect-contracts 26 --expect-chains 5 exits 0 with ✅ lines; 27 exits 1', { skip }, (t) => {
    const root = workspace(t)
    const res = exits(cli(['rollback', '--force', '--root', root]), 0, 'rollback --force')
    assert.match(res.stdout, /Emergency rollback plan [0-9a-f]{16}/, 'the plan is shown')
    assert.match(res.stdout, /^✅ Rollback INC-\d{8}-\d{6} complete$/m)
    assert.match(res.stdout, /^✅ Backend: leveldb; 26 contracts, 2 dev records$/m)
    assert.doesNotMatch(res.stdout, /❌/)
    assert.ok(fs.readFileSync(path.join(root, '.env.emergency'), 'utf8').includes('FORCE_LEVELDB=true'))

    const before = hashTree(root)
    const ok = exits(
      cli(['rollback-validate', '--root', root, '--expect-contracts', '26', '--expect-chains', '5']),
      0,
      'rollback-validate 26/5',
    )
    const lines = ok.stdout.trim().split('\n')
    assert.ok(lines.length >= 7, ok.stdout)
    assert.ok(lines.every((l) => l.startsWith('✅ ')), ok.stdout)
    assert.match(ok.stdout, /^✅ All 26 contracts detected: 26 contracts on 5 chains/m)
    assert.match(ok.stdout, /^✅ Rollback validated$/m)

    const bad = exits(cli(['rollback-validate', '--root', root, '--expect-contracts', '27']), 1, 'rollback-validate 27')
    assert.match(bad.stdout, /^❌ All 27 contracts detected: 26 contracts/m)
    assert.match(bad.stdout, /^❌ Validation failed/m)

    const json = exits(cli(['rollback-validate', '--json', '--root', root]), 0, 'rollback-validate --json')
    assert.equal(JSON.parse(json.stdout).ok, true)
    assertUnchanged(root, before, 'rollback-validate')
  })

  test('while a `level` process holds leveldb/: rollback --force exits 3 naming leveldb/LOCK, nothing changed', { skip }, async (t) => {
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
    const res = exits(cli(['rollback', '--force', '--root', root]), 3, 'rollback --force on a held leveldb/')
    assert.match(res.stderr, /STATE_LOCKED/)
    assert.match(res.stderr, /leveldb\/LOCK/)
    assertUnchanged(root, before, 'a refused rollback')
    child.child.kill('SIGKILL')
    await child.exited
  })

  test('after a crash at legacy:begin: --dry-run, rollback-validate and assess exit 4 writing nothing; --resume exits 0', { skip }, (t) => {
    const root = workspace(t)
    const crashed = cli(['rollback', '--force', '--root', root], { env: { LOOKCOIN_STATE_CRASH_AT: 'legacy:begin' } })
    assert.notEqual(crashed.status, 0, `the CLI should have died: ${crashed.stdout} ${crashed.stderr}`)
    assert.equal(crashed.signal, 'SIGABRT')
    const [incident] = fs.readdirSync(path.join(root, 'logs', 'incidents'))

    const before = hashTree(root)
    const dry = exits(cli(['rollback', '--dry-run', '--root', root]), 4, 'rollback --dry-run after a crash')
    assert.match(dry.stdout, new RegExp(`rollback ${incident} was interrupted`))
    assert.match(dry.stdout, /rollback --resume/)
    const dryJson = exits(cli(['rollback', '--dry-run', '--json', '--root', root]), 4, 'rollback --dry-run --json after a crash')
    assert.equal(JSON.parse(dryJson.stdout).status, 'interrupted')
    const validate = exits(cli(['rollback-validate', '--root', root]), 4, 'rollback-validate after a crash')
    assert.match(validate.stdout, /^❌ No interrupted rollback/m)
    const assess = exits(cli(['assess', '--root', root]), 4, 'assess after a crash')
    assert.match(assess.stdout, /^Decision: RESUME_REQUIRED$/m)
    assertUnchanged(root, before, 'commands run on an interrupted rollback')

    const resumed = exits(cli(['rollback', '--resume', '--root', root]), 0, 'rollback --resume')
    assert.match(resumed.stdout, new RegExp(`Rollback ${incident} complete \\(resumed after an interruption\\)`))
    exits(cli(['rollback-validate', '--root', root, '--expect-contracts', '26', '--expect-chains', '5']), 0, 'rollback-validate after the resume')
    exits(cli(['assess', '--root', root]), 0, 'assess after the resume (NOT_NEEDED)')
  })
})

describe('assess, backup, demo', () => {
  test('assess on the fixture: exit 1, Decision: ROLLBACK_REQUIRED, nothing written', { skip }, (t) => {
    const root = workspace(t)
    const before = hashTree(root)
    const res = exits(cli(['assess', '--root', root]), 1, 'assess')
    assert.match(res.stdout, /^Decision: ROLLBACK_REQUIRED$/m)
    assert.match(res.stdout, /chainId 23295 is claimed by sapphiremainnet\.unified\.json and sapphiretestnet\.unified\.json/)
    assert.match(res.stdout, /^Next: .*rollback --dry-run/m)
    const json = exits(cli(['assess', '--json', '--root', root]), 1, 'assess --json')
    assert.equal(JSON.parse(json.stdout).decision, 'ROLLBACK_REQUIRED')
    assertUnchanged(root, before, 'assess')
  })

  test('backup verify: the migration backup is INCOMPLETE (exit 0); one flipped byte in a .ldb is FAILED (exit 1); list --json is one array', { skip }, (t) => {
    const root = workspace(t)
    const dir = path.join(root, 'backups', FIXTURE_ID)
    const res = exits(cli(['backup', 'verify', dir, '--root', root]), 0, 'backup verify')
    assert.match(res.stdout, new RegExp(`${FIXTURE_ID}: INCOMPLETE`))
    assert.match(res.stdout, /77 ok, 3 missing, 0 mismatched/)
    assert.match(res.stdout, /^✅ ready for a LevelDB rollback$/m)

    const list = exits(cli(['backup', 'list', '--json', '--root', root]), 0, 'backup list --json')
    const backups = JSON.parse(list.stdout)
    assert.ok(Array.isArray(backups))
    assert.deepEqual(
      backups.map((b) => b.id),
      [FIXTURE_ID],
    )
    assert.equal(backups[0].lastVerification.status, 'INCOMPLETE', 'verify recorded its verdict')

    const tampered = workspace(t)
    const table = path.join(tampered, 'backups', FIXTURE_ID, 'leveldb', 'current', '000188.ldb')
    const bytes = fs.readFileSync(table)
    bytes[100] ^= 0x20
    fs.writeFileSync(table, bytes)
    const bad = exits(cli(['backup', 'verify', path.join(tampered, 'backups', FIXTURE_ID), '--root', tampered]), 1, 'backup verify tampered')
    assert.match(bad.stdout, new RegExp(`${FIXTURE_ID}: FAILED`))
    assert.match(bad.stdout, /mismatch leveldb\/current\/000188\.ldb/)
    assert.match(bad.stdout, /^❌ ready for a LevelDB rollback$/m)
  })

  test('demo --root <new empty folder>: exit 0, Rollback validated', (t) => {
    const root = tmpDir(t, 'lcs-demo-')
    const res = exits(cli(['demo', '--root', root]), 0, 'demo')
    assert.match(res.stdout, /sample workspace built/)
    assert.match(res.stdout, /^✅ Rollback INC-\d{8}-\d{6} complete$/m)
    assert.match(res.stdout, /^✅ Rollback validated$/m)
    assert.doesNotMatch(res.stdout, /❌/)
    assert.ok(fs.existsSync(path.join(root, '.env.emergency')))
  })
})

describe('export, bench, backup --newest', () => {
  test('export: stdout is the export document; --out writes it (atomically) and --json summarises; --clean drops dev rows; nothing else written', { skip }, (t) => {
    const root = workspace(t, { leveldb: true })
    // Opening LevelDB rotates its LOG (every LevelDB client does); nothing else may change.
    const hashTree = (dir) => Object.fromEntries(Object.entries(hashTreeAll(dir)).filter(([k]) => !/^leveldb\/LOG/.test(k)))
    const before = hashTree(root)
    const doc = JSON.parse(exits(cli(['export', '--backend', 'leveldb', '--root', root]), 0, 'export').stdout)
    assert.equal(doc.totalContracts, 28)
    assert.equal(Object.keys(doc.contracts).length, 28)
    assert.deepEqual(hashTree(root), before, 'export to stdout changed the workspace')
    const out = path.join(tmpDir(t), 'export.json')
    const summary = JSON.parse(exits(cli(['export', '--backend', 'leveldb', '--clean', '--out', out, '--json', '--root', root]), 0, 'export --out --json').stdout)
    assert.deepEqual({ ...summary, bytes: typeof summary.bytes }, { out, backend: 'leveldb', reason: 'requested explicitly by the caller', records: 26, bytes: 'number', clean: true })
    const written = JSON.parse(fs.readFileSync(out, 'utf8'))
    assert.equal(written.totalContracts, 26)
    assert.ok(Object.keys(written.contracts).every((k) => !k.startsWith('31337-')))
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['export.json'], 'a temp file was left')
    assert.deepEqual(hashTree(root), before, 'export --out changed the workspace')
    // The unified files of the fixture are refused as they are (a file claims another chain): exit 1, nothing written.
    const refused = exits(cli(['export', '--out', path.join(path.dirname(out), 'u.json'), '--root', root]), 1, 'export of the fixture unified JSON')
    assert.match(refused.stderr, /STATE_CORRUPT: .*sapphiremainnet\.unified\.json claims chainId 23295/)
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['export.json'])
  })

  test('bench: reads and writes a scratch copy, within the runbook\'s thresholds (exit 0), the live files untouched; --json has every number', { skip }, (t) => {
    const root = workspace(t, { leveldb: true })
    const before = hashTree(root)
    const res = exits(cli(['bench', '--backend', 'leveldb', '--rounds', '2', '--root', root]), 0, 'bench')
    assert.match(res.stdout, /^📈 Post-rollback benchmark: leveldb \(requested explicitly by the caller\), 28 records, scratch copy$/m)
    assert.match(res.stdout, /^✅ Read operations: p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms over 56 reads \(limit 100 ms/m)
    assert.match(res.stdout, /^✅ Write operations: .* over 26 writes \(limit 300 ms.*not written back, the store refuses them as stored: 31337-LookCoin, 31337-SupplyOracle$/m)
    assert.match(res.stdout, /^✅ Memory usage: \d+ MB resident/m)
    assert.match(res.stdout, /^✅ Performance: within the runbook's thresholds$/m)
    assertUnchanged(root, before, 'bench')
    const doc = JSON.parse(exits(cli(['bench', '--backend', 'leveldb', '--rounds', '1', '--json', '--root', root]), 0, 'bench --json').stdout)
    assert.equal(doc.ok, true)
    assert.equal(doc.read.count, 28)
    assert.equal(doc.read.store.count, 28, 'the store\'s own measurement')
    assert.ok(doc.write.p99Ms > 0 && doc.memory.rssBytes > 0)
    assert.deepEqual(doc.thresholds, { readMs: 100, writeMs: 300, memoryBytes: 1024 ** 3 })
    assert.ok(!doc.reason.includes('lookcoin-bench-'), 'names the scratch copy')
    assertUnchanged(root, before, 'bench --json')
    exits(cli(['bench', '--rounds', '0', '--root', root]), 2, 'bench --rounds 0')
    const empty = tmpDir(t)
    exits(cli(['bench', '--backend', 'leveldb', '--root', empty]), 1, 'bench on an empty project')
  })

  test('backup verify|assess --newest: the newest complete backup; none → exit 1; with a folder too → exit 2', { skip }, (t) => {
    const root = workspace(t)
    const verify = exits(cli(['backup', 'verify', '--newest', '--root', root]), 0, 'backup verify --newest')
    assert.match(verify.stdout, new RegExp(`^📂 Newest backup: ${FIXTURE_ID}$`, 'm'))
    assert.match(verify.stdout, new RegExp(`${FIXTURE_ID}: INCOMPLETE`))
    const assessed = JSON.parse(exits(cli(['backup', 'assess', '--newest', '--json', '--root', root]), 0, 'backup assess --newest --json').stdout)
    assert.equal(assessed.score, 89)
    exits(cli(['backup', 'verify', 'backups/x', '--newest', '--root', root]), 2, 'a folder and --newest')
    exits(cli(['backup', 'list', '--newest', '--root', root]), 2, 'list --newest')
    assert.match(exits(cli(['backup', 'verify', '--newest', '--root', tmpDir(t)]), 1, 'no backups').stderr, /no complete backup under/)
  })
})

describe('import', () => {
  test('an export of the LevelDB imports into an empty unified store, then only skips; a bad document changes nothing (exit 2)', { skip }, async (t) => {
    const from = workspace(t, { leveldb: true })
    const doc = path.join(tmpDir(t, 'lcs-cli-export-'), 'export.json')
    exits(cli(['export', '--root', from, '--backend', 'leveldb', '--clean', '--out', doc]), 0, 'export --clean')
    const to = tmpDir(t, 'lcs-cli-import-')
    const first = exits(cli(['import', doc, '--root', to, '--backend', 'unified-json', '--json']), 0, 'import')
    assert.deepEqual(JSON.parse(first.stdout).imported, 26)
    const again = exits(cli(['import', doc, '--root', to, '--backend', 'unified-json', '--json']), 0, 'import again')
    assert.equal(JSON.parse(again.stdout).skipped, 26)
    const before = hashTree(to)
    const bad = path.join(path.dirname(doc), 'bad.json')
    fs.writeFileSync(bad, JSON.stringify({ contracts: { '97-Broken': { contractName: 'Broken', chainId: 97, address: '0x12' } } }))
    exits(cli(['import', bad, '--root', to, '--backend', 'unified-json', '--overwrite']), 2, 'a bad document')
    assertUnchanged(to, before, 'a refused import')
    exits(cli(['import', '--root', to]), 2, 'no file')
  })
})
