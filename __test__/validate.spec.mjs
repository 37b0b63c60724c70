// validateState through the addon and the CLI: the fixture's known defects, a clean
// generated state, bad options refused; validation never writes.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, test } from 'node:test'

import { addon, assertSameSnapshot, copyTree, fixture, fixturesSkip, rejectsWith, repoRoot, snapshot, tmpDir } from './helpers.mjs'

const { validateState, createSampleWorkspace, countContracts, compareBackends } = addon
const skip = fixturesSkip

function workspace(t) {
  const root = tmpDir(t, 'lcs-validate-')
  copyTree(fixture.workspace, root)
  return root
}

describe('validateState', () => {
  test('the live unified fixture: exactly its known errors, counts 26 on 5 chains, nothing written', { skip }, async (t) => {
    const root = workspace(t)
    const before = snapshot(root)
    const report = await validateState({ root, backend: 'unified-json' })
    assertSameSnapshot(before, snapshot(root), 'a validation')
    assert.equal(report.isValid, false)
    const errors = report.errors.map((f) => `${f.code} ${f.location.split('#')[0]}`).sort()
    assert.deepEqual(errors, [
      'ALIAS_IS_ENTRY bsctestnet.unified.json',
      'DUPLICATE_CHAIN_CLAIM sapphiremainnet.unified.json',
      'DUPLICATE_CONTRACT bsctestnet.unified.json',
      'FILE_CHAIN_MISMATCH sapphiremainnet.unified.json',
      'TIER_MISMATCH sapphiremainnet.unified.json',
    ])
    assert.deepEqual([...new Set(report.warnings.map((f) => f.code))].sort(), ['EID_AS_CHAIN_ID', 'STALE_CHECKSUM'])
    assert.equal(report.counts.production, 26)
    assert.equal(report.counts.chains, 5)
    assert.equal(report.counts.perNetwork.bsctestnet, 9)
    const quick = await validateState({ root, backend: 'unified-json', level: 'quick' })
    assert.ok(!quick.warnings.some((f) => f.code === 'STALE_CHECKSUM'), 'quick skips checksums')
  })

  test('a clean generated workspace reports nothing', async (t) => {
    const root = path.join(tmpDir(t, 'lcs-validate-clean-'), 'ws')
    await createSampleWorkspace(root)
    const report = await validateState({ root })
    assert.equal(report.isValid, true)
    assert.deepEqual([...report.errors, ...report.warnings, ...report.info], [])
    assert.match(report.expectation, /^manifest of backup migration-/)
  })

  test('bad options are refused before anything is read', async (t) => {
    const root = tmpDir(t, 'lcs-validate-bad-')
    for (const options of [undefined, { root: 5 }, { root, level: 'deep' }, { root, backend: 'mysql' },
      { root, expect: { contract: 26 } }, { root, expect: { contracts: -1 } }, { root, verbose: true }]) {
      await rejectsWith(validateState(options), 'VALIDATION_FAILED')
    }
  })

  test('the CLI exits 1 on the fixture and 0 on a clean state', { skip }, async (t) => {
    const root = workspace(t)
    const cli = (args) => spawnSync(process.execPath, [path.join(repoRoot, 'npm/cli.js'), ...args], { encoding: 'utf8' })
    const bad = cli(['validate', '--root', root, '--backend', 'unified-json'])
    assert.equal(bad.status, 1, bad.stderr)
    assert.match(bad.stdout, /DUPLICATE_CHAIN_CLAIM sapphiremainnet\.unified\.json/)
    const json = cli(['validate', '--root', root, '--backend', 'unified-json', '--json'])
    assert.equal(JSON.parse(json.stdout).counts.production, 26)
    const clean = path.join(tmpDir(t, 'lcs-validate-cli-'), 'ws')
    await createSampleWorkspace(clean)
    const good = cli(['validate', '--root', clean])
    assert.equal(good.status, 0, good.stdout + good.stderr)
    assert.match(good.stdout, /✅ valid/)
  })
})

describe('countContracts and compareBackends', () => {
  test('the fixture backup LevelDB: 26 on 5 chains + 2 dev; against unified, 97-LookCoin differs with both addresses', { skip }, async (t) => {
    const root = workspace(t)
    const leveldbDir = path.join(root, 'backups/migration-2025-08-13T11-26-18-516Z/leveldb/current')
    const before = snapshot(root)
    const counts = await countContracts({ root, leveldbDir })
    assert.equal(counts.production, 26)
    assert.equal(counts.dev, 2)
    assert.equal(counts.chains['97'].production, 9)
    const unified = await countContracts({ root, backend: 'unified-json' })
    assert.equal(unified.production, 26)
    const comparison = await compareBackends({ root, leveldbDir })
    assertSameSnapshot(before, snapshot(root), 'counting and comparing')
    assert.equal(comparison.summary.contracts, 26)
    const text = JSON.stringify(comparison.differs)
    assert.ok(text.includes('0x5838A9f96E72eA83317D155F31AB660832533bAB') && text.includes('0x8335E3cF6f1ac39841deBA4033a93c81ab738443'))
    for (const bad of [{ root, leveldbDir: 5 }, { root, backend: 'mysql' }, { root, dir: 'x' }]) {
      await rejectsWith(countContracts(bad), 'VALIDATION_FAILED')
    }
    await rejectsWith(compareBackends({ root, leveldbDir: '' }), 'VALIDATION_FAILED')
  })
})
