// Backend selection: explicit argument, then `.env.emergency`, then the environment, then the default.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import {
  copyTree,
  createStateManager,
  fixture,
  fixturesSkip,
  rejectsWith,
  repoRoot,
  tmpDir,
} from './helpers.mjs'

const SELECTION_VARS = ['STATE_BACKEND', 'FORCE_LEVELDB', 'DISABLE_UNIFIED_JSON']

/** Runs `fn` with the selection variables set to `vars` (others removed), restoring them afterwards. */
async function withEnv(vars, fn) {
  const saved = Object.fromEntries(SELECTION_VARS.map((k) => [k, process.env[k]]))
  try {
    for (const k of SELECTION_VARS) delete process.env[k]
    Object.assign(process.env, vars)
    return await fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

async function open(t, backend, root) {
  const mgr = await createStateManager(backend, { root })
  t.after(() => mgr.close())
  return mgr
}

/** Asks a child node process (with `env` added to a clean environment) what it selects for `root`. */
async function selectInChild(root, env) {
  const script = `
    const { createStateManager } = require(${JSON.stringify(path.join(repoRoot, 'index.js'))})
    createStateManager(null, { root: ${JSON.stringify(root)} }).then(
      async (mgr) => { console.log('SEL ' + JSON.stringify({ type: mgr.getBackendType(), ...mgr.getBackendSelection() })); await mgr.close() },
      (e) => { console.log('ERR ' + JSON.stringify({ name: e.name, code: e.code, message: e.message })) },
    )`
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SELECTION_VARS.includes(k)))
  const child = spawn(process.execPath, ['-e', script], { env: { ...cleanEnv, ...env } })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s) => (out += s))
  child.stderr.setEncoding('utf8').on('data', (s) => (err += s))
  const code = await new Promise((resolve) => child.on('exit', resolve))
  assert.equal(code, 0, `child failed: ${out} ${err}`)
  const line = out.split('\n').find((l) => l.startsWith('SEL ') || l.startsWith('ERR '))
  assert.ok(line, `no answer from the child: ${out} ${err}`)
  return { ok: line.startsWith('SEL '), value: JSON.parse(line.slice(4)) }
}

describe('backend selection', () => {
  test('.env.emergency with STATE_BACKEND=leveldb selects leveldb and says why', { skip: fixturesSkip }, async (t) => {
    const root = tmpDir(t, 'lcs-sel-')
    copyTree(fixture.backupLeveldb, path.join(root, 'leveldb'))
    fs.writeFileSync(path.join(root, '.env.emergency'), '# written by the emergency rollback\nSTATE_BACKEND=leveldb\n')
    await withEnv({}, async () => {
      const mgr = await open(t, null, root)
      assert.equal(mgr.getBackendType(), 'leveldb')
      const sel = mgr.getBackendSelection()
      assert.equal(sel.backend, 'leveldb')
      assert.match(sel.reason, /\.env\.emergency/)
      // It really opened the rolled-back LevelDB directory.
      assert.equal((await mgr.queryContracts()).length, 28)
      await mgr.close()
      // 'auto' and undefined mean the same as null.
      for (const backend of ['auto', undefined]) {
        const m = await open(t, backend, root)
        assert.equal(m.getBackendType(), 'leveldb', `backend ${backend}`)
        await m.close()
      }
    })
  })

  test('.env.emergency wins over STATE_BACKEND in the environment', async (t) => {
    const root = tmpDir(t, 'lcs-sel-')
    fs.writeFileSync(path.join(root, '.env.emergency'), 'export STATE_BACKEND="leveldb"\n')
    await withEnv({ STATE_BACKEND: 'json' }, async () => {
      const mgr = await open(t, null, root)
      assert.equal(mgr.getBackendType(), 'leveldb')
      assert.match(mgr.getBackendSelection().reason, /\.env\.emergency/)
    })
  })

  test('an explicit backend wins over .env.emergency', async (t) => {
    const root = tmpDir(t, 'lcs-sel-')
    fs.writeFileSync(path.join(root, '.env.emergency'), 'STATE_BACKEND=leveldb\n')
    const mgr = await open(t, 'unified-json', root)
    assert.equal(mgr.getBackendType(), 'unified-json')
    assert.equal(mgr.getBackendSelection().backend, 'unified-json')
    assert.doesNotMatch(mgr.getBackendSelection().reason, /\.env\.emergency/)
    assert.ok(!fs.existsSync(path.join(root, 'leveldb')), 'the unified store must not create leveldb/')
  })

  test('with nothing set, the default is unified-json and the reason says default', async (t) => {
    const root = tmpDir(t, 'lcs-sel-')
    await withEnv({}, async () => {
      const mgr = await open(t, null, root)
      assert.equal(mgr.getBackendType(), 'unified-json')
      const sel = mgr.getBackendSelection()
      assert.equal(sel.backend, 'unified-json')
      assert.ok(sel.reason.startsWith('default'), `reason: ${sel.reason}`)
    })
  })

  test('STATE_BACKEND=json in the environment selects json (child process)', async (t) => {
    const root = tmpDir(t, 'lcs-sel-')
    fs.mkdirSync(path.join(root, 'deployments')) // the json backend refuses a missing directory
    const { ok, value } = await selectInChild(root, { STATE_BACKEND: 'json' })
    assert.ok(ok, JSON.stringify(value))
    assert.equal(value.type, 'json')
    assert.equal(value.backend, 'json')
    assert.match(value.reason, /STATE_BACKEND=json/)
    assert.match(value.reason, /environment/)
    // And without it the same child selects the default.
    const plain = await selectInChild(root, {})
    assert.equal(plain.value.backend, 'unified-json')
    assert.ok(plain.value.reason.startsWith('default'), plain.value.reason)
  })

  test('STATE_BACKEND=json set temporarily in process.env is read at creation', async (t) => {
    const root = tmpDir(t, 'lcs-sel-')
    fs.mkdirSync(path.join(root, 'deployments'))
    const mgr = await withEnv({ STATE_BACKEND: 'json' }, () => open(t, null, root))
    assert.equal(mgr.getBackendType(), 'json')
    assert.match(mgr.getBackendSelection().reason, /STATE_BACKEND=json/)
    // Restored: the next store selects the default again.
    const next = await withEnv({}, () => open(t, null, root))
    assert.equal(next.getBackendType(), 'unified-json')
  })

  test('an unknown STATE_BACKEND rejects VALIDATION_FAILED naming the variable', async (t) => {
    const root = tmpDir(t, 'lcs-sel-')
    await withEnv({ STATE_BACKEND: 'mongodb' }, async () => {
      const err = await rejectsWith(createStateManager(null, { root }), 'VALIDATION_FAILED')
      assert.match(err.message, /STATE_BACKEND/)
    })
    fs.writeFileSync(path.join(root, '.env.emergency'), 'STATE_BACKEND=mongodb\n')
    await withEnv({}, async () => {
      const err = await rejectsWith(createStateManager(null, { root }), 'VALIDATION_FAILED')
      assert.match(err.message, /\.env\.emergency/)
    })
  })
})
