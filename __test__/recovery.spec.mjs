// The recovery helpers and the runbook's reports through the addon and the CLI, on copies of the
// real workspace: the router's 4 args found with their source, dry runs and reports without
// `write` change nothing, bad options are refused, and the CLI's exit codes.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'

import { addon, assertSameSnapshot, copyTree, fixture, fixturesSkip, rejectsWith, repoRoot, snapshot, tmpDir } from './helpers.mjs'

const skip = fixturesSkip
const { recoverConstructorArgs, recoverImplementationHashes, validateTimestamps, rollbackValidationReport, incidentReport, emergencyRollback } = addon
const CLI = path.join(repoRoot, 'npm', 'cli.js')
const ROUTER = 'contracts/xchain/CrossChainRouter.sol:CrossChainRouter'

/** A writable copy of the fixture workspace, with the backup's LevelDB at `leveldb/` when asked. */
function workspace(t, { leveldb = false } = {}) {
  const root = tmpDir(t, 'lcs-recover-')
  copyTree(fixture.workspace, root)
  if (leveldb) copyTree(fixture.backupLeveldb, path.join(root, 'leveldb'))
  return root
}

function cli(args) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, LOOKCOIN_STATE_CRASH_AT: '' } })
}

describe('recovery', () => {
  test('constructor args: the qualified router gets LevelDB\'s 4 args, the dry run writes nothing, the real run does', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    const before = snapshot(root)
    const plan = await recoverConstructorArgs({ root, dryRun: true })
    assertSameSnapshot(before, snapshot(root), 'a dry run')
    assert.equal(plan.counts.filled, 1)
    const [filled] = plan.filled
    assert.equal(filled.target.contract, ROUTER)
    assert.equal(filled.target.chainId, 97)
    assert.equal(filled.value.length, 4)
    assert.deepEqual(filled.source, { kind: 'store', store: 'leveldb', backup: null, path: 'leveldb', location: `97-${ROUTER}` })
    assert.ok(filled.sources.some((s) => s.kind === 'backup' && s.backup === 'migration-2025-08-13T11-26-18-516Z'))
    assert.equal(filled.written, false)

    const done = await recoverConstructorArgs({ root })
    assert.match(done.backup, /^backups\/manual-/)
    const doc = JSON.parse(fs.readFileSync(path.join(root, 'deployments/unified/bsctestnet.unified.json'), 'utf8'))
    assert.deepEqual(doc[`extended_${ROUTER}`].deploymentArgs, filled.value)
  })

  test('hashes on the fixture: nothing lacks one, so nothing is written; timestamps: four same-deploy mismatches', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    const before = snapshot(root)
    const hashes = await recoverImplementationHashes({ root })
    assert.deepEqual(hashes.counts, { filled: 0, conflicts: 0, unresolved: 0, skipped: 0 })
    assert.equal(hashes.backup, null)
    const times = await validateTimestamps({ root })
    assertSameSnapshot(before, snapshot(root), 'hash recovery with nothing to fill and the timestamp check')
    assert.equal(times.isValid, true)
    assert.deepEqual(times.warnings.map((f) => f.location), ['97-FeeManager', '97-LayerZeroModule', '97-ProtocolRegistry', `97-${ROUTER}`])
    assert.equal(times.firstDeploy['97'].iso, '2025-07-24T11:42:01.838Z')
  })

  test('bad options are refused before anything is read', async (t) => {
    const root = tmpDir(t)
    for (const options of [undefined, { root: 7 }, { root, dryrun: true }, { root, dryRun: 'yes' }]) {
      await rejectsWith(recoverConstructorArgs(options), 'VALIDATION_FAILED')
    }
    await rejectsWith(validateTimestamps({ root, dryRun: true }), 'VALIDATION_FAILED')
    for (const options of [{ root, write: 'yes' }, { root, incidentId: 5 }, { root, incident: 'INC-1' }]) {
      await rejectsWith(incidentReport(options), 'VALIDATION_FAILED')
    }
    await rejectsWith(rollbackValidationReport({ root }), 'STATE_NOT_FOUND')
  })
})

describe('reports', () => {
  test('after a rollback: both templates filled, nothing written unless write', { skip }, async (t) => {
    const root = workspace(t)
    await emergencyRollback({ root, force: true, incidentId: 'INC-NODE' })
    const before = snapshot(root)
    const validation = await rollbackValidationReport({ root })
    const incident = await incidentReport({ root, incidentId: 'INC-NODE' })
    assertSameSnapshot(before, snapshot(root), 'reports without write')
    assert.equal(validation.incidentId, 'INC-NODE')
    assert.equal(validation.report.systemStatus, 'OPERATIONAL')
    assert.match(validation.markdown, /^✅ Contract Count: 26\/26$/m)
    assert.deepEqual(validation.written, [])
    assert.equal(incident.report.dataImpact.contractsAffected.count, 17)
    assert.match(incident.markdown, /^# Incident Report: INC-NODE$/m)

    const written = await incidentReport({ root, write: true })
    assert.deepEqual(written.written, ['logs/incidents/INC-NODE/incident-report.md', 'logs/incidents/INC-NODE/incident-report.json'])
    assert.equal(fs.readFileSync(path.join(root, written.written[0]), 'utf8'), written.markdown)
  })

  test('CLI: report and recover exit codes; --json is one document', { skip }, async (t) => {
    const root = workspace(t, { leveldb: true })
    assert.equal(cli(['report', 'rollback', '--root', root]).status, 1, 'no incident yet')
    assert.equal(cli(['report', 'summary', '--root', root]).status, 2)
    assert.equal(cli(['recover', '--root', root]).status, 2)
    assert.equal(cli(['recover', 'timestamps', '--dry-run', '--root', root]).status, 2)
    const before = snapshot(root)
    const dry = cli(['recover', 'args', '--dry-run', '--json', '--root', root])
    assert.equal(dry.status, 0, dry.stderr)
    assert.equal(JSON.parse(dry.stdout).counts.filled, 1)
    const plain = cli(['recover', 'args', '--dry-run', '--root', root])
    assert.match(plain.stdout, /would fill unified-json deployments\/unified\/bsctestnet\.unified\.json#/)
    assert.match(plain.stdout, /from leveldb key 97-contracts\/xchain\/CrossChainRouter\.sol:CrossChainRouter \(\+3 agreeing\)/)
    assert.equal(cli(['recover', 'timestamps', '--root', root]).status, 0)
    assertSameSnapshot(before, snapshot(root), 'CLI dry run and timestamp check')

    fs.writeFileSync(path.join(root, '.emergency-stop'), 'incident INC-X\n')
    const refused = cli(['recover', 'args', '--root', root])
    assert.equal(refused.status, 3, refused.stderr)
    assert.match(refused.stderr, /STATE_LOCKED/)
  })
})
