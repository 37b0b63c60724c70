// Security checks of the CLI: secrets in the environment (a Slack webhook, a deployer key) never
// reach a file under the root or the output, whatever the webhook does; and no command starts a
// child process (child_process is replaced, through NODE_OPTIONS, by a version that records and refuses).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { describe, test } from 'node:test'

import { assertExit, copyTree, fixture, fixturesSkip, runCli, tmpDir } from './helpers.mjs'

const skip = fixturesSkip
const TOKEN = 'T000/B000/SECRETxyz'
const PRIVATE_KEY = '0x8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d8badf00d'
const SECRETS = ['SECRETxyz', '8badf00d8badf00d']

function workspace(t) {
  const root = path.join(tmpDir(t, 'lcs-security-'), 'root')
  copyTree(fixture.workspace, root)
  return root
}

/** A webhook on 127.0.0.1 answering `status`; `port` is where it listens. */
async function webhook(t, status) {
  let posts = 0
  const server = http.createServer((req, res) => {
    req.resume().on('end', () => {
      posts += 1
      res.writeHead(status).end()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${server.address().port}/services/${TOKEN}`, posts: () => posts }
}

/** Every regular file under `dir`, with its content. */
function files(dir) {
  const out = []
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name)
    if (ent.isDirectory()) out.push(...files(p))
    else if (ent.isFile()) out.push([p, fs.readFileSync(p, 'latin1')])
  }
  return out
}

function assertNoSecret(name, text) {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${name} holds the secret ${secret}`)
}

describe('security', () => {
  test('secrets in the environment reach no file under the root and no output: commands, a refused and two real rollbacks, webhook answering 500 or nobody listening', { skip }, async (t) => {
    const failing = await webhook(t, 500)
    const root = workspace(t)
    const env = { SLACK_WEBHOOK_URL: failing.url, PRIVATE_KEY, DEPLOYER_PRIVATE_KEY: PRIVATE_KEY }
    const runs = []
    const run = async (args, code) => {
      const res = assertExit(await runCli([...args, '--root', root], { env }), code, args.join(' '))
      runs.push([args.join(' '), res])
      return res
    }
    await run(['assess'], 1) // exit 1: the fixture calls for a rollback
    await run(['backup', 'create', '--label', 'security check'], 0)
    await run(['rollback', '--dry-run'], 0)
    // A refusal posts a failure message: an incident id with a path in it.
    await run(['rollback', '--force', '--incident', '../escape'], 2)
    await run(['rollback', '--force', '--incident', 'INC-SECURITY-1'], 0)
    await run(['rollback-validate'], 0)
    await run(['report', 'incident', '--write'], 0)
    await run(['validate'], 0)
    assert.ok(failing.posts() >= 3, `the webhook got ${failing.posts()} posts: the notify path did not run`)

    // Nobody listening: the warning path of notify.js.
    const closedPort = await new Promise((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address()
        s.close(() => resolve(port))
      })
    })
    const other = workspace(t)
    const refused = assertExit(
      await runCli(['rollback', '--force', '--root', other], { env: { ...env, SLACK_WEBHOOK_URL: `http://127.0.0.1:${closedPort}/services/${TOKEN}` } }),
      0,
      'rollback, webhook not listening',
    )
    assert.match(refused.stderr, /Slack notification \(start\) not sent/)
    runs.push(['rollback (nobody listening)', refused])

    for (const [what, res] of runs) {
      assertNoSecret(`stdout of ${what}`, res.stdout)
      assertNoSecret(`stderr of ${what}`, res.stderr)
    }
    const written = [...files(root), ...files(other)]
    assert.ok(written.some(([p]) => p.includes(`${path.sep}incidents${path.sep}INC-SECURITY-1${path.sep}`)), 'no incident files to search')
    for (const [p, text] of written) assertNoSecret(p, text)
  })

  test('no CLI command starts a child process (child_process is refused in the CLI process)', { skip }, async (t) => {
    const dir = tmpDir(t, 'lcs-nospawn-')
    const log = path.join(dir, 'spawned.log')
    const preload = path.join(dir, 'no-child-process.cjs')
    fs.writeFileSync(preload, `
      const fs = require('node:fs')
      const cp = require('node:child_process')
      for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
        cp[name] = (...args) => {
          fs.appendFileSync(${JSON.stringify(log)}, name + ' ' + JSON.stringify(args[0]) + '\\n')
          throw new Error('child_process.' + name + ' is not allowed')
        }
      }`)
    // The preload works: a Node process that starts a child under it is refused and logged.
    const tried = spawnSync(process.execPath, ['-e', "require('node:child_process').execSync('true')"], {
      env: { ...process.env, NODE_OPTIONS: `--require=${preload}` },
      encoding: 'utf8',
    })
    assert.notEqual(tried.status, 0)
    assert.match(fs.readFileSync(log, 'utf8'), /^execSync "true"$/m)
    fs.rmSync(log)

    const root = workspace(t)
    fs.writeFileSync(path.join(root, 'package.json'), '{\n  "name": "lookcoin-contract",\n  "scripts": {}\n}\n')
    const env = { NODE_OPTIONS: `--require=${preload}`, SLACK_WEBHOOK_URL: '' }
    for (const [args, code] of [
      [['assess'], 1],
      [['backup', 'create'], 0],
      [['backup', 'verify', '--newest'], 0],
      [['rollback', '--force'], 0],
      [['rollback-validate'], 0],
      [['validate'], 0],
      [['init'], 0],
      [['export', '--backend', 'leveldb'], 0],
    ]) {
      assertExit(await runCli([...args, '--root', root], { env }), code, args.join(' '))
    }
    assert.equal(fs.existsSync(log), false, fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '')
  })
})
