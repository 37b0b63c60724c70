// lookcoin-state as a new user meets it: `npm pack` this package, a fresh host project
// (`npm init -y`) holding a copy of the fixture workspace, `npm install <tarball>` (offline: the
// package has no runtime dependencies), `npx lookcoin-state init`, then the runbook's npm scripts.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import { assertExit, assertSameTree, copyTree, fixture, fixturesSkip, hashTree, repoRoot, tmpDir } from './helpers.mjs'

const skip = fixturesSkip
const FIXTURE_ID = 'migration-2025-08-13T11-26-18-516Z'
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))

/** npm's environment without the npm_* variables of an outer `npm run` (they would steer the inner npm). */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))

/** Runs a command (npm, npx, tar) and returns { status, stdout, stderr }. */
function run(cmd, args, cwd, { timeout = 120000 } = {}) {
  const res = spawnSync(cmd, args, { cwd, env: { ...env, LOOKCOIN_STATE_CRASH_AT: '' }, encoding: 'utf8', input: '', timeout })
  if (res.error) throw res.error
  return res
}

/** `npm run <script> [-- args]` in the host project, asserting its exit code. */
function npmRun(host, script, args, code) {
  const res = run('npm', ['run', script, ...(args.length ? ['--', ...args] : [])], host)
  return assertExit(res, code, `npm run ${script} ${args.join(' ')}`)
}

describe('host project: npm pack, npm install, npx lookcoin-state init, npm run', () => {
  test('the package has no runtime dependencies and ships the addon binary', () => {
    assert.equal(pkg.dependencies, undefined, 'runtime dependencies would need the network in the offline install')
    assert.ok(pkg.files.includes('*.node') && pkg.files.includes('npm/'), `files: ${pkg.files}`)
    assert.equal(pkg.bin['lookcoin-state'], 'npm/cli.js')
  })

  test('the runbook\'s scripts work in a fresh host project', { skip, timeout: 300000 }, (t) => {
    const dir = tmpDir(t, 'lcs-host-')
    const packed = assertExit(run('npm', ['pack', '--json', '--pack-destination', dir], repoRoot), 0, 'npm pack')
    const [{ filename, files }] = JSON.parse(packed.stdout)
    const tarball = path.join(dir, path.basename(filename))
    const shipped = files.map((f) => f.path)
    for (const needed of ['npm/cli.js', 'npm/commands.js', 'npm/init.js', 'npm/notify.js', 'npm/hardhat.js', 'index.js', 'package.json']) {
      assert.ok(shipped.includes(needed), `${needed} is not in the tarball: ${shipped.join(', ')}`)
    }
    assert.ok(shipped.some((f) => /^lookcoin-state\..*\.node$/.test(f)), `no .node binary in the tarball (build it first): ${shipped.join(', ')}`)

    const host = path.join(dir, 'lookcoin-contract')
    fs.mkdirSync(host)
    assertExit(run('npm', ['init', '-y'], host), 0, 'npm init -y')
    copyTree(fixture.workspace, host)
    assertExit(run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], host), 0, 'npm install <tarball>')
    assert.ok(fs.existsSync(path.join(host, 'node_modules', '.bin', 'lookcoin-state')), 'no node_modules/.bin/lookcoin-state')

    // The package's entry points as a host's code meets them (exports: ., ./hardhat, ./package.json).
    const probe = `const s = require('lookcoin-state'); const p = require('lookcoin-state/package.json');
      console.log(typeof s.createStateManager, typeof s.emergencyRollback, p.name, require.resolve('lookcoin-state/hardhat'))`
    const entries = assertExit(run(process.execPath, ['-e', probe], host), 0, "require('lookcoin-state')")
    assert.equal(entries.stdout.trim(), `function function lookcoin-state ${fs.realpathSync(host)}/node_modules/lookcoin-state/npm/hardhat.js`)

    const init = assertExit(run('npx', ['--offline', 'lookcoin-state', 'init'], host), 0, 'npx lookcoin-state init')
    assert.match(init.stdout, /13 script\(s\) added/)
    const scripts = JSON.parse(fs.readFileSync(path.join(host, 'package.json'), 'utf8')).scripts
    assert.equal(scripts.test, 'echo "Error: no test specified" && exit 1', 'npm init\'s own script was touched')
    assert.equal(scripts['emergency:rollback-to-leveldb'], 'lookcoin-state rollback')

    // A dry run changes nothing (node_modules, package.json, the workspace: every byte).
    const before = hashTree(host)
    const dry = npmRun(host, 'emergency:rollback-to-leveldb', ['--dry-run'], 0)
    assert.match(dry.stdout, new RegExp(`Backup: ${FIXTURE_ID}`))
    assert.match(dry.stdout, /Dry run: nothing was written/)
    assertSameTree(before, hashTree(host), 'npm run emergency:rollback-to-leveldb -- --dry-run')

    // Without --force and off a terminal it refuses, writing nothing.
    assert.match(npmRun(host, 'emergency:rollback-to-leveldb', [], 2).stderr, /not on a terminal/)
    assertSameTree(before, hashTree(host), 'npm run emergency:rollback-to-leveldb (refused)')

    const forced = npmRun(host, 'emergency:rollback-to-leveldb', ['--force'], 0)
    assert.match(forced.stdout, /^✅ Rollback INC-\d{8}-\d{6} complete$/m)
    assert.match(forced.stdout, /^✅ Backend: leveldb; 26 contracts, 2 dev records$/m)
    const validated = npmRun(host, 'emergency:validate-rollback', [], 0)
    assert.match(validated.stdout, /^✅ All 26 contracts detected: 26 contracts on 5 chains/m)
    assert.match(validated.stdout, /^✅ Rollback validated$/m)

    // The other scripts, after the rollback: each runs its command with the documented exit code.
    assert.match(npmRun(host, 'count:contracts', [], 0).stdout, /leveldb: 26 contracts on 5 chains, 2 dev records/)
    assert.match(npmRun(host, 'state:validate', ['--quick'], 0).stdout, /✅ valid/)
    assert.match(npmRun(host, 'validate:cross-network', [], 1).stdout, /DUPLICATE_CHAIN_CLAIM/) // the fixture's unified files
    assert.match(npmRun(host, 'backup:verify', [], 0).stdout, /Newest backup: emergency-rollback-INC-/)
    assert.match(npmRun(host, 'backup:assess-quality', [], 0).stdout, /Quality score: \d+\/100/)
    assert.match(npmRun(host, 'generate:rollback-validation-report', [], 0).stdout, /^✅ SYSTEM STATUS: OPERATIONAL$/m)
    assert.match(npmRun(host, 'benchmark:post-rollback', [], 0).stdout, /✅ Performance: within the runbook's thresholds/)
    npmRun(host, 'migration:export-leveldb', ['--clean'], 0)
    assert.equal(JSON.parse(fs.readFileSync(path.join(host, 'leveldb-export.json'), 'utf8')).totalContracts, 26)
    assert.match(npmRun(host, 'migration:leveldb-to-unified', ['--dry-run'], 0).stdout, /Dry run: nothing was written/)
    assert.match(npmRun(host, 'migration:json-to-leveldb', ['--dry-run'], 0).stdout, /Dry run: nothing was written/)
    assert.match(npmRun(host, 'backup:create', [], 0).stdout, /✅ Backup manual-/)
  })
})
