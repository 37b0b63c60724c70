// Slack notifications of `lookcoin-state rollback` (SLACK_WEBHOOK_URL), against local HTTP servers
// on 127.0.0.1: the messages and their order, a server that never answers (the rollback still ends
// within ~5 s more and exits 0), a 500 answer (exit 0), and the URL never printed.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { describe, test } from 'node:test'

import { assertExit, copyTree, fixture, fixturesSkip, runCli, spawnNode, levelEntry, tmpDir } from './helpers.mjs'

const skip = fixturesSkip
const SECRET = 'T0000000/B0000000/sEcReTtOkEn42'

/** A webhook on 127.0.0.1: `answer(req, res, body)` decides; received bodies are kept in order. */
async function webhook(t, answer) {
  const received = []
  const sockets = new Set()
  const server = http.createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (s) => (body += s))
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, type: req.headers['content-type'], body: JSON.parse(body) })
      answer(req, res)
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    for (const s of sockets) s.destroy()
    return new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address()
  return { url: `http://127.0.0.1:${port}/services/${SECRET}`, port, received }
}

/** A port on 127.0.0.1 nobody listens on (bound, then closed). */
async function unusedPort() {
  const server = http.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return { port, url: `http://127.0.0.1:${port}/services/${SECRET}` }
}

function workspace(t) {
  const root = tmpDir(t, 'lcs-notify-')
  copyTree(fixture.workspace, root)
  return root
}

/** Neither the URL, its secret path nor its port appear in anything the CLI printed. */
function assertNoUrl(res, hook) {
  for (const [name, text] of [['stdout', res.stdout], ['stderr', res.stderr]]) {
    assert.ok(!text.includes(SECRET), `${name} shows the webhook's secret path:\n${text}`)
    assert.ok(!text.includes(`:${hook.port}`), `${name} shows the webhook's address:\n${text}`)
  }
}

describe('rollback notifications (SLACK_WEBHOOK_URL)', () => {
  test('a refused rollback posts one failure; a real one posts start then success, in order, with incident, status and backend', { skip }, async (t) => {
    const hook = await webhook(t, (req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'))
    const env = { SLACK_WEBHOOK_URL: hook.url }
    const root = workspace(t)

    // Refused before it starts: a `level` process holds leveldb/.
    copyTree(fixture.liveLeveldb, path.join(root, 'leveldb'))
    const holder = spawnNode(t, `
      const { Level } = require(${JSON.stringify(levelEntry)})
      new Level(${JSON.stringify(path.join(root, 'leveldb'))}).open().then(() => { console.log('ready'); setInterval(() => {}, 1000) })`)
    await holder.ready
    const refused = assertExit(await runCli(['rollback', '--force', '--root', root], { env }), 3, 'rollback on a held leveldb/')
    assertNoUrl(refused, hook)
    holder.child.kill('SIGKILL')
    await holder.exited
    assert.equal(hook.received.length, 1, JSON.stringify(hook.received))
    assert.match(hook.received[0].body.text, /^❌ LookCoin emergency rollback refused before it started - STATE_LOCKED: .*Status: ESCALATED; nothing was changed, backend: not switched/)

    // Nothing is posted by a dry run.
    assertExit(await runCli(['rollback', '--dry-run', '--root', root], { env }), 0, 'rollback --dry-run')
    assert.equal(hook.received.length, 1, 'a dry run posted')

    const done = assertExit(await runCli(['rollback', '--force', '--root', root], { env }), 0, 'rollback --force')
    assertNoUrl(done, hook)
    assert.doesNotMatch(done.stderr, /Slack notification/)
    const incident = /Rollback (INC-\d{8}-\d{6}) complete/.exec(done.stdout)[1]
    assert.deepEqual(hook.received.map((m) => [m.method, m.url, m.type]), Array(3).fill(['POST', `/services/${SECRET}`, 'application/json']))
    const [, start, success] = hook.received.map((m) => m.body)
    assert.deepEqual(Object.keys(start), ['text'])
    assert.equal(start.text, `🚨 LOOKCOIN EMERGENCY: Incident ${incident} - Unified JSON system rollback initiated. Status: IN_PROGRESS; target backend: leveldb`)
    assert.match(success.text, new RegExp(`^✅ LookCoin emergency rollback completed successfully\\. System operational on LevelDB backend\\. Incident ${incident} resolved at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\. Status: RESOLVED; 26 contracts on 5 networks\\.$`))
  })

  test('a webhook that never answers: the rollback still ends within ~5 s more, exits 0, and says the post failed without the URL', { skip }, async (t) => {
    const hook = await webhook(t, () => {}) // reads the request, never answers
    const root = workspace(t)
    const quiet = workspace(t)
    const baseline = assertExit(await runCli(['rollback', '--force', '--root', quiet]), 0, 'rollback without a webhook')
    const res = assertExit(await runCli(['rollback', '--force', '--root', root], { env: { SLACK_WEBHOOK_URL: hook.url } }), 0, 'rollback, slow webhook')
    assert.match(res.stdout, /^✅ Rollback INC-\d{8}-\d{6} complete$/m)
    assert.ok(res.ms < baseline.ms + 7000, `took ${res.ms} ms, ${baseline.ms} ms without a webhook`)
    assert.match(res.stderr, /⚠️ {2}Slack notification \(start\) not sent: no answer within 5 s/)
    assert.match(res.stderr, /⚠️ {2}Slack notification \(success\) not sent: no answer within 5 s/)
    assertNoUrl(res, hook)
    assert.equal(hook.received.length, 2)
  })

  test('a webhook answering 500, or nobody listening: exit 0, the failure named without the URL', { skip }, async (t) => {
    const hook = await webhook(t, (req, res) => res.writeHead(500).end('boom'))
    const res = assertExit(await runCli(['rollback', '--force', '--root', workspace(t)], { env: { SLACK_WEBHOOK_URL: hook.url } }), 0, 'rollback, webhook 500')
    assert.match(res.stderr, /Slack notification \(success\) not sent: HTTP 500/)
    assertNoUrl(res, hook)
    assert.equal(hook.received.length, 2)

    const closed = await unusedPort()
    const refused = assertExit(await runCli(['rollback', '--force', '--json', '--root', workspace(t)], { env: { SLACK_WEBHOOK_URL: closed.url } }), 0, 'rollback, nobody listening')
    assert.equal(JSON.parse(refused.stdout).status, 'succeeded', '--json stdout stays one document')
    assert.match(refused.stderr, /Slack notification \(start\) not sent: request failed \(ECONNREFUSED\)/)
    assertNoUrl(refused, closed)

    const bad = assertExit(await runCli(['rollback', '--force', '--root', workspace(t)], { env: { SLACK_WEBHOOK_URL: `not a url ${SECRET}` } }), 0, 'rollback, bad URL')
    assert.match(bad.stderr, /SLACK_WEBHOOK_URL is not a valid http\(s\) URL/)
    assert.ok(!bad.stderr.includes(SECRET) && !bad.stdout.includes(SECRET))
  })

  test('a rollback killed mid-way posts nothing more; its --resume posts a resumed start, then success', { skip }, async (t) => {
    const hook = await webhook(t, (req, res) => res.writeHead(204).end())
    const root = workspace(t)
    const env = { SLACK_WEBHOOK_URL: hook.url }
    const crashed = await runCli(['rollback', '--force', '--root', root], { env: { ...env, LOOKCOIN_STATE_CRASH_AT: 'legacy:begin' } })
    assert.equal(crashed.signal, 'SIGABRT', `${crashed.stdout} ${crashed.stderr}`)
    assert.ok(hook.received.length <= 1, 'a killed rollback cannot post its failure') // its start may or may not have left in time
    const before = hook.received.length
    const [incident] = fs.readdirSync(path.join(root, 'logs', 'incidents'))
    assertExit(await runCli(['rollback', '--resume', '--root', root], { env }), 0, 'rollback --resume')
    const [start, success, ...more] = hook.received.slice(before).map((m) => m.body.text)
    assert.deepEqual(more, [])
    assert.equal(start, `🚨 LOOKCOIN EMERGENCY: Incident ${incident} - interrupted rollback to LevelDB being resumed. Status: IN_PROGRESS`)
    assert.match(success, new RegExp(`^✅ LookCoin emergency rollback completed successfully\\. .*Incident ${incident} resolved`))
  })
})
