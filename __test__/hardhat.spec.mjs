// The Hardhat 2 plugin (npm/hardhat.js, `lookcoin-state/hardhat`) with the real Hardhat of the
// devDependencies, in a temp project whose hardhat.config.js requires the plugin by path:
// `npx hardhat state:validate` prints the fixture's findings and exits 1; `npx hardhat run`
// reads getContract(97, 'LookCoin') through hre.lookcoinState; the other tasks and their exit codes.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import { assertExit, assertSameTree, copyTree, fixture, fixturesSkip, hashTree, levelEntry, repoRoot, spawnNode, tmpDir } from './helpers.mjs'

const skip = fixturesSkip
const hardhatDir = path.join(repoRoot, 'node_modules', 'hardhat')
const hardhatMissing = fs.existsSync(hardhatDir) ? false : `hardhat not installed in ${hardhatDir} (npm ci)`
const FIXTURE_ID = 'migration-2025-08-13T11-26-18-516Z'

const SCRIPT = `
const hre = require('hardhat')
async function main() {
  const explicit = await hre.lookcoinState.getContract(97, 'LookCoin')
  const byDefault = await hre.lookcoinState.getContract('LookCoin').then((r) => r && r.address, (e) => e.code + ': ' + e.message)
  const selection = await hre.lookcoinState.getBackendSelection()
  console.log(JSON.stringify({ network: hre.network.name, chainId: hre.lookcoinState.chainId, explicit, byDefault, selection }))
  await hre.lookcoinState.close()
}
main().catch((e) => { console.error(e); process.exitCode = 1 })
`

/** A Hardhat project holding a copy of the fixture workspace, using the devDependency's Hardhat. */
function project(t) {
  const root = tmpDir(t, 'lcs-hardhat-')
  copyTree(fixture.workspace, root)
  fs.writeFileSync(path.join(root, 'package.json'), `${JSON.stringify({ name: 'lookcoin-contract', version: '1.0.0' }, null, 2)}\n`)
  fs.writeFileSync(path.join(root, 'hardhat.config.js'), `require(${JSON.stringify(path.join(repoRoot, 'npm', 'hardhat.js'))})
module.exports = { networks: { bsctestnet: { url: 'http://127.0.0.1:9', chainId: 97 } } }
`)
  fs.writeFileSync(path.join(root, 'read-lookcoin.js'), SCRIPT)
  fs.mkdirSync(path.join(root, 'node_modules', '.bin'), { recursive: true })
  fs.symlinkSync(hardhatDir, path.join(root, 'node_modules', 'hardhat'))
  fs.symlinkSync(path.join('..', 'hardhat', 'internal', 'cli', 'bootstrap.js'), path.join(root, 'node_modules', '.bin', 'hardhat'))
  return root
}

function hardhat(root, args) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))
  const res = spawnSync('npx', ['--offline', 'hardhat', ...args], {
    cwd: root,
    encoding: 'utf8',
    input: '',
    timeout: 120000,
    env: { ...env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', LOOKCOIN_STATE_CRASH_AT: '' },
  })
  if (res.error) throw res.error
  return res
}

/** `hardhat` without blocking the event loop (a child of the test holds a lock meanwhile). */
function hardhatAsync(root, args) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['--offline', 'hardhat', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true', LOOKCOIN_STATE_CRASH_AT: '' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }))
  })
}

const expectedLookCoin = () =>
  JSON.parse(fs.readFileSync(path.join(fixture.deployments, 'unified', 'bsctestnet.unified.json'), 'utf8')).contracts.core.LookCoin

describe('Hardhat plugin (real Hardhat 2)', { skip: skip || hardhatMissing }, () => {
  test('the pinned devDependency is Hardhat 2', () => {
    const version = JSON.parse(fs.readFileSync(path.join(hardhatDir, 'package.json'), 'utf8')).version
    assert.match(version, /^2\./)
    assert.equal(JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).devDependencies.hardhat, version, 'not pinned exactly')
  })

  test('npx hardhat state:validate prints the fixture\'s findings and exits 1; --json is one document; nothing written', (t) => {
    const root = project(t)
    const before = hashTree(root)
    const res = assertExit(hardhat(root, ['state:validate']), 1, 'hardhat state:validate')
    assert.match(res.stdout, /^❌ DUPLICATE_CHAIN_CLAIM /m)
    assert.match(res.stdout, /^❌ FILE_CHAIN_MISMATCH sapphiremainnet\.unified\.json/m)
    assert.match(res.stdout, /^📊 unified-json: 26 contracts on 5 chains, 0 dev records$/m)
    assert.match(res.stdout, /^❌ 5 error\(s\)\. Next: npx lookcoin-state assess/m)
    const json = assertExit(hardhat(root, ['state:validate', '--json']), 1, 'hardhat state:validate --json')
    const report = JSON.parse(json.stdout)
    assert.equal(report.isValid, false)
    assert.ok(report.errors.some((e) => e.code === 'DUPLICATE_CHAIN_CLAIM'))
    assertExit(hardhat(root, ['state:validate', '--expect-contracts', '26', '--backend', 'unified-json', '--quick']), 1, 'with params')
    assertSameTree(before, hashTree(root), 'hardhat state:validate')
  })

  test('npx hardhat run reads getContract(97, \'LookCoin\') through hre.lookcoinState; a network\'s chainId is the default chain', (t) => {
    const root = project(t)
    const expected = expectedLookCoin()
    const res = assertExit(hardhat(root, ['run', 'read-lookcoin.js', '--no-compile']), 0, 'hardhat run')
    const out = JSON.parse(res.stdout.trim().split('\n').pop())
    assert.equal(out.network, 'hardhat')
    assert.equal(out.chainId, 31337)
    assert.equal(out.explicit.chainId, 97)
    assert.equal(out.explicit.contractName, 'LookCoin')
    assert.equal(out.explicit.address, expected.implementation)
    assert.equal(out.explicit.proxyAddress, expected.proxy)
    assert.equal(out.byDefault, null, 'chain 31337 holds no LookCoin in the fixture')
    assert.equal(out.selection.backend, 'unified-json')

    const onBsc = assertExit(hardhat(root, ['--network', 'bsctestnet', 'run', 'read-lookcoin.js', '--no-compile']), 0, 'hardhat --network bsctestnet run')
    const bsc = JSON.parse(onBsc.stdout.trim().split('\n').pop())
    assert.equal(bsc.chainId, 97)
    assert.equal(bsc.byDefault, out.explicit.address)
  })

  test('state:rollback is a dry run (writes nothing) unless --force; then state:backup, state:compare; locked → exit 3', async (t) => {
    const root = project(t)
    const before = hashTree(root)
    const dry = assertExit(hardhat(root, ['state:rollback']), 0, 'hardhat state:rollback')
    assert.match(dry.stdout, new RegExp(`Backup: ${FIXTURE_ID}`))
    assert.match(dry.stdout, /Dry run: nothing was written/)
    assertSameTree(before, hashTree(root), 'hardhat state:rollback (dry run)')

    const forced = assertExit(hardhat(root, ['state:rollback', '--force']), 0, 'hardhat state:rollback --force')
    assert.match(forced.stdout, /^✅ Rollback INC-\d{8}-\d{6} complete$/m)
    assert.match(forced.stdout, /^✅ Backend: leveldb; 26 contracts, 2 dev records$/m)

    const read = JSON.parse(assertExit(hardhat(root, ['run', 'read-lookcoin.js', '--no-compile']), 0, 'hardhat run after the rollback').stdout.trim().split('\n').pop())
    assert.equal(read.selection.backend, 'leveldb', 'the store follows .env.emergency')
    assert.equal(read.explicit.contractName, 'LookCoin')

    const backup = assertExit(hardhat(root, ['state:backup', '--label', 'after rollback']), 0, 'hardhat state:backup')
    assert.match(backup.stdout, /^✅ Backup manual-/m)
    const compare = JSON.parse(assertExit(hardhat(root, ['state:compare', '--json']), 0, 'hardhat state:compare --json').stdout)
    assert.equal(compare.summary.contracts > 0, true)

    // While a `level` process holds leveldb/, a forced rollback is refused: STATE_LOCKED, exit 3.
    const holder = spawnNode(t, `
      const { Level } = require(${JSON.stringify(levelEntry)})
      new Level(${JSON.stringify(path.join(root, 'leveldb'))}).open().then(() => { console.log('ready'); setInterval(() => {}, 1000) })`)
    await holder.ready
    const locked = assertExit(await hardhatAsync(root, ['state:rollback', '--force']), 3, 'hardhat state:rollback --force on a held leveldb/')
    assert.match(locked.stderr, /^❌ STATE_LOCKED: .*leveldb\/LOCK/m)
    holder.child.kill('SIGKILL')
    await holder.exited
  })
})
