// The CLI's commands: each turns parsed arguments into one addon call and prints the result.
'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline/promises')
const addon = require('../index.js')
const { runBench } = require('./bench.js')
const { initScripts } = require('./init.js')
const { makeNotifier } = require('./notify.js')
const { mark } = require('./output.js')

/** Exit codes, documented in the README. */
const EXIT = { ok: 0, problems: 1, usage: 2, locked: 3, interrupted: 4 }

class UsageError extends Error {}

// Errors whose code says how to exit; anything else is 1 (problem found or refused safely).
const CODE_EXIT = {
  STATE_LOCKED: EXIT.locked,
  LOCK_TIMEOUT: EXIT.locked,
  VALIDATION_FAILED: EXIT.usage,
  INVALID_ARGUMENT: EXIT.usage,
}

/** The exit code of a failed command: a usage error 2, else its own exitCode, else by its code, else 1. */
function exitCodeOf(err) {
  if (err instanceof UsageError) return EXIT.usage
  if (err && Number.isInteger(err.exitCode)) return err.exitCode
  return CODE_EXIT[err && err.code] ?? EXIT.problems
}

/** The one line a failure prints: `❌ CODE: message` (a Node errno code is already in its message). */
function errorLine(err) {
  const code = err && err.code
  return `❌ ${typeof code === 'string' && !/^E[A-Z]+$/.test(code) ? `${code}: ` : ''}${err && err.message ? err.message : err}`
}

const cli = 'npx lookcoin-state'

async function rollback(args, io) {
  // Slack (SLACK_WEBHOOK_URL): start, success and failure of a real run; never a dry run or the demo.
  const slack = args['dry-run'] || args.notify === false ? null : makeNotifier(process.env)
  if (!slack) return runRollback(args, io, null)
  try {
    return await runRollback(args, io, slack)
  } catch (e) {
    if (!(e instanceof UsageError)) slack.failed(e)
    throw e
  } finally {
    await slack.flush()
  }
}

async function runRollback(args, io, slack) {
  const options = {
    root: args.root,
    noBackup: Boolean(args['no-backup']),
    backup: args.backup,
    incidentId: args.incident,
  }
  // --dry-run wins over --force and --resume: a dry run never writes.
  if (args.resume && !args['dry-run']) {
    const onProgress = (event) => {
      if (slack && event.data && event.data.incidentId) slack.started(event.data.incidentId, { resumed: true })
      io.progress(event)
    }
    return finishRollback(await addon.emergencyRollback({ ...options, resume: true, onProgress }), args, io, slack)
  }
  if (args.force && !args['dry-run']) {
    // One call: the plan arrives with the `plan` event, before anything is written.
    const onProgress = (event) => {
      if (event.step !== 'plan' || !event.data) return io.progress(event)
      if (slack) slack.started(event.data.incidentId)
      printPlan(event.data, io)
    }
    const outcome = await addon.emergencyRollback({ ...options, force: true, onProgress })
    return finishRollback(outcome, args, io, slack)
  }
  const planned = await addon.emergencyRollback({ ...options, dryRun: true, resume: Boolean(args.resume), onProgress: io.progress })
  if (planned.status === 'interrupted') return interrupted(planned.incidentId, args, io, planned)
  printPlan(planned.plan, io)
  if (args['dry-run']) {
    if (args.json) io.json(planned)
    io.line(`\nDry run: nothing was written. To run it: ${cli} rollback --root ${args.root}`)
    return EXIT.ok
  }
  if (!(await confirmed(planned, args))) {
    io.line('Cancelled: nothing was changed.')
    return EXIT.problems
  }
  const run = { ...options, incidentId: planned.incidentId, planId: planned.plan.planId, onProgress: io.progress }
  if (slack) slack.started(planned.incidentId)
  return finishRollback(await addon.emergencyRollback(run), args, io, slack)
}

/** Asks on a terminal; off a terminal a rollback needs --force. */
async function confirmed(planned, args) {
  if (!process.stdin.isTTY || !process.stdout.isTTY || args.json) {
    throw new UsageError('not on a terminal: review the plan with --dry-run, then run with --force')
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout })
  const answer = await rl.question(`\nRoll back now as incident ${planned.incidentId}? Type "yes": `)
  rl.close()
  return answer.trim() === 'yes'
}

function printPlan(plan, io) {
  io.line(`🚨 Emergency rollback plan ${plan.planId} for ${plan.root}`)
  io.line(`📂 Backup: ${plan.backup.id} (deep-verified: ${plan.backup.status}, ready for rollback)`)
  for (const skipped of plan.skippedBackups) io.line(`   ⚠️  passed over ${skipped.id}: ${skipped.reason}`)
  const before = plan.before.leveldb ? `${plan.before.leveldb.total} LevelDB records` : 'no LevelDB'
  const unified = plan.before.unifiedContracts ?? 'unreadable'
  io.line(`📊 Before: ${before}, ${unified} contracts in unified JSON. After: ${plan.after.total} records ` +
    `(${plan.after.production} production on ${productionChains(plan.after)} chains + ${plan.after.dev} dev)`)
  io.line('Actions:')
  for (const action of plan.actions) io.line(`  ${action.op.padEnd(7)} ${action.path}  — ${action.detail}`)
}

function productionChains(counts) {
  return Object.keys(counts.perChain).filter((chain) => chain !== '31337').length
}

function finishRollback(outcome, args, io, slack) {
  if (slack) {
    if (outcome.resumed) slack.started(outcome.incidentId, { resumed: true })
    slack.succeeded(outcome)
  }
  if (args.json) io.json(outcome)
  const report = outcome.report
  io.line(`\n✅ Rollback ${outcome.incidentId} complete${outcome.resumed ? ' (resumed after an interruption)' : ''}`)
  io.line(`✅ Backend: ${report.backend}; ${report.contracts.production} contracts, ${report.contracts.dev} dev records`)
  for (const check of report.integrity) io.line(`${mark(check.ok)} ${check.name}: ${check.detail}`)
  io.line(`📝 Report: logs/incidents/${outcome.incidentId}/rollback-report.md`)
  io.line(`Next: ${cli} rollback-validate --root ${args.root}`)
  return EXIT.ok
}

function interrupted(incidentId, args, io, value) {
  if (args.json) io.json(value)
  io.line(`⚠️  rollback ${incidentId} was interrupted and must be finished first`)
  io.line(`Next: ${cli} rollback --resume --root ${args.root}`)
  return EXIT.interrupted
}

async function rollbackValidate(args, io) {
  const expect = { contracts: number(args, 'expect-contracts'), chains: number(args, 'expect-chains') }
  const result = await addon.validateRollback({ root: args.root, expect })
  if (args.json) io.json(result)
  for (const check of result.checks) io.line(`${mark(check.ok)} ${check.name}: ${check.detail}`)
  if (result.interrupted) return interrupted(result.interrupted, { ...args, json: false }, io)
  io.line(result.ok ? '✅ Rollback validated' : `❌ Validation failed. Next: ${cli} assess --root ${args.root}`)
  return result.ok ? EXIT.ok : EXIT.problems
}

async function assess(args, io) {
  const result = await addon.assessEmergency({ root: args.root })
  if (args.json) io.json(result)
  for (const check of result.checks) io.line(`${mark(check.ok)} ${check.name}: ${check.detail}`)
  for (const reason of result.reasons) io.line(`   • ${reason}`)
  io.line(`Decision: ${result.decision}`)
  const next = {
    ROLLBACK_REQUIRED: `${cli} rollback --dry-run --root ${args.root}`,
    CONDITIONAL: `investigate, then if needed ${cli} rollback --dry-run --root ${args.root}`,
    RESUME_REQUIRED: `${cli} rollback --resume --root ${args.root}`,
    NOT_NEEDED: 'nothing to do',
  }[result.decision]
  io.line(`Next: ${next}`)
  if (result.decision === 'RESUME_REQUIRED') return EXIT.interrupted
  return result.decision === 'NOT_NEEDED' ? EXIT.ok : EXIT.problems
}

async function validate(args, io) {
  const expect = { contracts: number(args, 'expect-contracts'), chains: number(args, 'expect-chains') }
  const report = await addon.validateState({ root: args.root, backend: args.backend, level: args.quick ? 'quick' : 'full', expect })
  if (args.json) io.json(report)
  const icon = { error: '❌', warning: '⚠️ ', info: 'ℹ️ ' }
  for (const finding of [...report.errors, ...report.warnings, ...report.info]) {
    io.line(`${icon[finding.severity]} ${finding.code} ${finding.location}: ${finding.message}`)
  }
  const c = report.counts
  io.line(`📊 ${report.backend}: ${c.production} contracts on ${c.chains} chains, ${c.dev} dev records` +
    (report.expectation ? ` (expected: ${report.expectation})` : ''))
  io.line(report.isValid ? '✅ valid' : `❌ ${report.errors.length} error(s). Next: ${cli} assess --root ${args.root}`)
  return report.isValid ? EXIT.ok : EXIT.problems
}

async function count(args, io) {
  const counts = await addon.countContracts({ root: args.root, backend: args.backend, leveldbDir: args['leveldb-dir'] })
  if (args.json) io.json(counts)
  const chains = Object.entries(counts.chains)
  io.line(`📊 ${counts.backend}: ${counts.production} contracts on ${chains.filter(([, c]) => c.production > 0).length} chains, ${counts.dev} dev records`)
  for (const [id, c] of chains) io.line(`   ${c.network.padEnd(18)} (${id}) ${c.production}${c.dev ? ` + ${c.dev} dev` : ''}`)
  return EXIT.ok
}

async function compare(args, io) {
  const result = await addon.compareBackends({ root: args.root, leveldbDir: args['leveldb-dir'] })
  if (args.json) io.json(result)
  const s = result.summary
  io.line(`LevelDB ${result.leveldbDir} against unified ${result.unifiedDir}`)
  io.line(`${s.differs || s.missingInUnified || s.missingInLevelDB ? '⚠️ ' : '✅'} ${s.contracts} contracts: ${s.matched} matched, ` +
    `${s.differs} differ, ${s.missingInUnified} missing in unified, ${s.missingInLevelDB} missing in LevelDB`)
  for (const note of result.notes) io.line(`   • ${note}`)
  io.line('Details: --json')
  return EXIT.ok
}

async function regenerateUnified(args, io) {
  const result = await addon.regenerateUnified({ root: args.root, dryRun: Boolean(args['dry-run']) })
  if (args.json) io.json(result)
  for (const file of result.files) io.line(`  ${file.action.padEnd(9)} ${file.path} (${file.records} records; before: ${file.previous})`)
  for (const skipped of result.skipped) io.line(`  skipped   ${skipped}`)
  io.line(result.dryRun ? 'Dry run: nothing was written.' : `✅ Unified JSON regenerated; backup first: ${result.backup ?? 'none needed'}`)
  return EXIT.ok
}

/** The migrations: the addon function each runs and its own CLI flags (→ option names). */
const MIGRATIONS = {
  'leveldb-to-unified': { run: addon.migrateLevelDbToUnified, flags: { 'include-dev': 'includeDev' } },
  'unified-to-leveldb': { run: addon.migrateUnifiedToLevelDb, flags: { overwrite: 'overwrite' } },
  'json-to-leveldb': { run: addon.migrateLegacyToLevelDb, flags: { overwrite: 'overwrite' } },
}

async function migrate(args, io) {
  const [name, ...rest] = args.positional
  const migration = MIGRATIONS[name]
  if (!migration || rest.length > 0) {
    const got = args.positional.length > 0 ? ` (got ${args.positional.join(' ')})` : ''
    throw new UsageError(`migrate needs one of ${Object.keys(MIGRATIONS).join(', ')}${got}`)
  }
  const options = { root: args.root, dryRun: Boolean(args['dry-run']) }
  for (const flag of ['include-dev', 'overwrite'].filter((f) => args[f])) {
    if (!(flag in migration.flags)) throw new UsageError(`--${flag} is not an option of migrate ${name}`)
    options[migration.flags[flag]] = true
  }
  const report = await migration.run(options)
  if (args.json) io.json(report)
  for (const item of report.items) {
    const records = report.store === 'leveldb' ? '' : ` (${item.records} records)`
    io.line(`  ${item.action.padEnd(9)} ${item.target}${records}${item.reason ? `  — ${item.reason}` : ''}`)
  }
  const c = report.counts
  const unit = report.store === 'leveldb' ? 'keys' : 'files'
  io.line(`📊 ${unit}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.skipped} skipped`)
  if (report.dryRun) {
    const flags = Object.keys(migration.flags).filter((f) => args[f]).map((f) => ` --${f}`).join('')
    io.line(`Dry run: nothing was written. To run it: ${cli} migrate ${name}${flags} --root ${args.root}`)
  } else {
    io.line(`✅ Migrated ${name}; backup first: ${report.backup ?? 'none needed (nothing to write)'}`)
  }
  return EXIT.ok
}

/** The runbook's reports: the addon function each runs. */
const REPORTS = { rollback: addon.rollbackValidationReport, incident: addon.incidentReport }

async function report(args, io) {
  const [name, ...rest] = args.positional
  const render = REPORTS[name]
  if (!render || rest.length > 0) {
    throw new UsageError(`report needs one of ${Object.keys(REPORTS).join(', ')}${name ? ` (got ${args.positional.join(' ')})` : ''}`)
  }
  const result = await render({ root: args.root, incidentId: args.incident, write: Boolean(args.write) })
  if (args.json) io.json({ ...result.report, written: result.written })
  io.line(result.markdown.trimEnd())
  if (result.written.length > 0) io.line(`📝 Written: ${result.written.join(', ')}`)
  else io.line(`Not written; to keep it in the incident folder: ${cli} report ${name} --incident ${result.incidentId} --write --root ${args.root}`)
  // The validation report's verdict is the exit code, as with rollback-validate.
  return name === 'rollback' && !result.report.systemReady ? EXIT.problems : EXIT.ok
}

/** The recoveries: the addon function each runs. */
const RECOVERIES = { hashes: addon.recoverImplementationHashes, args: addon.recoverConstructorArgs }

async function recover(args, io) {
  const [name, ...rest] = args.positional
  if (!(name in RECOVERIES || name === 'timestamps') || rest.length > 0) {
    throw new UsageError(`recover needs one of hashes, args, timestamps${name ? ` (got ${args.positional.join(' ')})` : ''}`)
  }
  if (name === 'timestamps') {
    if (args['dry-run']) throw new UsageError('recover timestamps only reads: it takes no --dry-run')
    return timestamps(args, io)
  }
  const result = await RECOVERIES[name]({ root: args.root, dryRun: Boolean(args['dry-run']) })
  if (args.json) io.json(result)
  const where = (t) => `${t.store} ${t.path}${t.store === 'leveldb' ? ` key ${t.location}` : `#${t.location}`}`
  const from = (s) => `${s.backup ? `backup ${s.backup}: ` : ''}${s.path}${s.store === 'leveldb' ? ` key ` : '#'}${s.location}`
  for (const f of result.filled) {
    io.line(`${f.written ? '✅ filled' : '➕ would fill'} ${where(f.target)} = ${JSON.stringify(f.value)}`)
    io.line(`     from ${from(f.source)}${f.sources.length > 1 ? ` (+${f.sources.length - 1} agreeing)` : ''}`)
  }
  for (const c of result.conflicts) {
    io.line(`⚠️  conflict ${where(c.target)}: ${c.candidates.map((k) => `${JSON.stringify(k.value)} in ${from(k.sources[0])}`).join(' vs ')}`)
  }
  for (const s of result.skipped) io.line(`   skipped ${where(s.target)}: ${s.reason}`)
  const c = result.counts
  io.line(`📊 ${result.field}: ${c.filled} filled, ${c.conflicts} conflicts, ${c.unresolved} not found locally, ${c.skipped} skipped (details: --json)`)
  if (result.dryRun) io.line(`Dry run: nothing was written. To run it: ${cli} recover ${name} --root ${args.root}`)
  else io.line(`✅ Done; backup first: ${result.backup ?? 'none needed (nothing to write)'}`)
  return c.conflicts > 0 ? EXIT.problems : EXIT.ok
}

async function timestamps(args, io) {
  const result = await addon.validateTimestamps({ root: args.root })
  if (args.json) io.json(result)
  const icon = { error: '❌', warning: '⚠️ ', info: 'ℹ️ ' }
  for (const f of [...result.errors, ...result.warnings, ...result.info]) io.line(`${icon[f.severity]} ${f.code} ${f.location}: ${f.message}`)
  for (const [chain, first] of Object.entries(result.firstDeploy)) io.line(`   first deploy on ${first.network} (${chain}): ${first.iso}`)
  io.line(result.isValid ? '✅ timestamps valid' : `❌ ${result.errors.length} error(s)`)
  return result.isValid ? EXIT.ok : EXIT.problems
}

async function backup(args, io) {
  const [sub, dir, ...rest] = args.positional
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`)
  if (args.newest && !['verify', 'assess'].includes(sub)) throw new UsageError('--newest goes with backup verify or backup assess')
  if (args.newest && dir) throw new UsageError(`give a backup folder or --newest, not both (got ${dir})`)
  const target = args.newest ? await newestBackup(args, io) : dir && path.resolve(dir)
  switch (sub) {
    case 'create': {
      const created = await addon.createBackup({ root: args.root, kind: args.kind ?? 'manual', label: args.label,
        includeUnifiedHistory: Boolean(args['include-history']), onProgress: io.progress })
      if (args.json) io.json(created)
      io.line(`✅ Backup ${created.backupId}: ${created.manifest.totalFiles} files, ${created.manifest.totalSize} bytes`)
      io.line(`Next: ${cli} backup verify ${created.path}`)
      return EXIT.ok
    }
    case 'verify': {
      const report = await addon.verifyBackup(need(target, 'backup verify DIR'),
        { deep: !args['structure-only'], record: true, onProgress: io.progress })
      if (args.json) io.json(report)
      printVerification(report, io)
      return report.status === 'FAILED' ? EXIT.problems : EXIT.ok
    }
    case 'assess': {
      const result = await addon.assessBackup(need(target, 'backup assess DIR'))
      if (args.json) io.json(result)
      io.line(`${result.score >= 80 ? '✅' : '⚠️ '} Quality score: ${result.score}/100`)
      for (const part of result.parts) io.line(`   ${part.name.padEnd(12)} ${part.score}/${part.max}  ${part.detail}`)
      return EXIT.ok
    }
    case 'list': {
      const list = await addon.listBackups(args.root)
      if (args.json) io.json(list)
      for (const b of list) {
        const verified = b.lastVerification ? `last verification ${b.lastVerification.status}` : 'never verified'
        io.line(`${b.complete ? '📦' : '⚠️ '} ${b.id}  ${b.complete ? `${b.totalFiles} files` : 'INCOMPLETE (no manifest)'}  ${verified}`)
      }
      return EXIT.ok
    }
    case 'prune': {
      const keep = number(args, 'keep')
      if (keep === undefined) throw new UsageError('backup prune needs --keep N')
      const result = await addon.pruneBackups(args.root, { keep, dryRun: !args.apply })
      if (args.json) io.json(result)
      for (const k of result.kept) io.line(`  keep    ${k.id} (${k.reason})`)
      for (const r of result.removed) io.line(`  ${result.dryRun ? 'would remove' : 'removed'} ${r.id} (${r.reason})`)
      if (result.dryRun) io.line('Dry run: nothing was removed; add --apply to remove.')
      return EXIT.ok
    }
    default:
      throw new UsageError(`backup needs one of create, verify, assess, list, prune${sub ? ` (got ${sub})` : ''}`)
  }
}

/** The newest complete backup under <root>/backups (what --newest means); refuses when there is none. */
async function newestBackup(args, io) {
  const list = await addon.listBackups(args.root)
  const newest = list.find((b) => b.complete)
  if (!newest) {
    const error = new Error(`no complete backup under ${path.join(args.root, 'backups')}. Next: ${cli} backup create --root ${args.root}`)
    error.exitCode = EXIT.problems
    throw error
  }
  for (const b of list.slice(0, list.indexOf(newest))) io.line(`⚠️  passed over ${b.id}: incomplete (no manifest)`)
  io.line(`📂 Newest backup: ${newest.id}`)
  return newest.path
}

function printVerification(report, io) {
  const c = report.counts
  io.line(`${report.status === 'FAILED' ? '❌' : report.status === 'PASSED' ? '✅' : '⚠️ '} ${report.backupId}: ${report.status}`)
  io.line(`   ${c.ok} ok, ${c.missing} missing, ${c.mismatched} mismatched, ${c.unlisted} unlisted, ${c.unreadable} unreadable`)
  if (report.records) io.line(`   LevelDB: ${report.records.total} records (${report.records.production} production, ${report.records.dev} dev)`)
  if (report.rollbackReady !== null) io.line(`${mark(report.rollbackReady)} ready for a LevelDB rollback`)
  for (const p of report.problems.slice(0, 20)) io.line(`   ${p.severity.padEnd(20)} ${p.kind} ${p.path}: ${p.reason}`)
  if (report.problems.length > 20) io.line(`   … ${report.problems.length - 20} more (use --json)`)
}

async function demo(args, io) {
  const root = args.rootGiven ? args.root : fs.mkdtempSync(path.join(os.tmpdir(), 'lookcoin-demo-'))
  io.line(`Building a sample workspace in ${root} …`)
  await addon.createSampleWorkspace(root)
  io.line('✅ sample workspace built with lookcoin-state\'s own writers (26 contracts on 5 chains in unified JSON, a migration backup holding a 28-record LevelDB)\n')
  const code = await rollback({ ...args, root, force: true, 'dry-run': false, resume: false, json: false, notify: false }, io)
  if (code !== EXIT.ok) return code
  io.line('')
  const validated = await rollbackValidate({ ...args, root, 'expect-contracts': '26', 'expect-chains': '5', json: false }, io)
  if (args.json) io.json(await addon.describeWorkspace(root))
  return validated
}

async function show(args, io) {
  const summary = await addon.describeWorkspace(args.root)
  if (args.json) io.json(summary)
  io.line(`📂 ${summary.root}`)
  io.line(`Unified JSON (live): ${summary.unified.total} contracts on ${summary.unified.chains.length} chains`)
  for (const chain of summary.unified.chains) io.line(`  chain ${String(chain.chainId).padEnd(9)} ${chain.count} contracts`)
  if (summary.backupLeveldb) io.line(`LevelDB in the newest backup: ${summary.backupLeveldb.chains.total} records`)
  return EXIT.ok
}

async function init(args, io) {
  const result = initScripts(args.root, { dryRun: Boolean(args['dry-run']) })
  if (args.json) io.json(result)
  io.line(`📦 ${result.packageJson}`)
  const width = Math.max(...[...result.added, ...result.kept].map((s) => s.name.length))
  for (const s of result.added) io.line(`  ${result.dryRun ? 'would add' : '✅ added  '} ${s.name.padEnd(width)}  ${s.command}`)
  for (const s of result.kept) {
    io.line(`  ${s.same ? 'ℹ️  present' : '⚠️  kept   '} ${s.name.padEnd(width)}  ${s.same ? s.command : `yours: ${s.command} (ours: ${s.ours})`}`)
  }
  const kept = result.kept.length ? `, ${result.kept.length} already there and left as they were` : ''
  if (result.dryRun) {
    io.line(`Dry run: package.json not written (${result.added.length} to add${kept}). To add them: ${cli} init --root ${args.root}`)
  } else {
    io.line(`${result.written ? '✅' : 'ℹ️ '} ${result.added.length} script(s) added${kept}`)
    io.line('Next: npm run emergency:rollback-to-leveldb -- --dry-run')
  }
  return EXIT.ok
}

/** The whole store as one export document (exportAll), on stdout or into --out (written atomically). */
async function exportStore(args, io) {
  const state = await addon.createStateManager(args.backend ?? null, { root: args.root })
  let text
  let selection
  try {
    selection = state.getBackendSelection()
    text = await state.exportAll({ clean: Boolean(args.clean), includeMetadata: true, prettyPrint: true })
  } finally {
    await state.close()
  }
  const records = JSON.parse(text).totalContracts
  if (!args.out) {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
    if (!args.json && !args.quiet) process.stderr.write(`✅ Exported ${records} records from ${selection.backend} (${selection.reason})\n`)
    return EXIT.ok
  }
  const out = path.resolve(args.out)
  writeFileAtomically(out, text.endsWith('\n') ? text : `${text}\n`)
  if (args.json) io.json({ out, backend: selection.backend, reason: selection.reason, records, bytes: Buffer.byteLength(text), clean: Boolean(args.clean) })
  io.line(`✅ Exported ${records} records${args.clean ? ' (dev chains dropped)' : ''} from ${selection.backend} to ${out}`)
  return EXIT.ok
}

/** An export document into the store (importAll): all or nothing; existing records kept unless --overwrite. */
async function importStore(args, io) {
  const [file] = args.positional
  if (!file) throw new UsageError('usage: lookcoin-state import FILE [--backend B] [--overwrite]')
  const text = fs.readFileSync(path.resolve(file), 'utf8')
  const state = await addon.createStateManager(args.backend ?? null, { root: args.root })
  let result
  let selection
  try {
    selection = state.getBackendSelection()
    result = await state.importAll(text, Boolean(args.overwrite))
  } finally {
    await state.close()
  }
  if (args.json) io.json({ ...result, backend: selection.backend, reason: selection.reason })
  io.line(`✅ Imported ${result.imported} records into ${selection.backend}, ${result.skipped} already there${args.overwrite ? '' : ' (kept; --overwrite replaces them)'}`)
  return EXIT.ok
}

function writeFileAtomically(file, content) {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    fs.writeFileSync(tmp, content, { flag: 'wx' })
    const fd = fs.openSync(tmp, 'r+')
    fs.fsyncSync(fd)
    fs.closeSync(fd)
    fs.renameSync(tmp, file)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
}

async function bench(args, io) {
  const rounds = number(args, 'rounds') ?? 5
  if (rounds < 1) throw new UsageError('--rounds needs a whole number ≥ 1')
  const result = await runBench({ root: args.root, backend: args.backend, rounds })
  if (args.json) io.json(result)
  io.line(`📈 Post-rollback benchmark: ${result.backend} (${result.reason}), ${result.records} records, scratch copy`)
  for (const check of result.checks) io.line(`${mark(check.ok)} ${check.name}: ${check.detail}`)
  io.line(result.ok ? '✅ Performance: within the runbook\'s thresholds' : `❌ Performance outside the runbook's thresholds. Next: ${cli} assess --root ${args.root}`)
  return result.ok ? EXIT.ok : EXIT.problems
}

function number(args, name) {
  if (args[name] === undefined) return undefined
  const value = Number(args[name])
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${name} needs a whole number, got ${args[name]}`)
  return value
}

function need(value, what) {
  if (!value) throw new UsageError(`usage: lookcoin-state ${what}`)
  return value
}

const COMMANDS = {
  init,
  export: exportStore,
  import: importStore,
  bench,
  rollback,
  'rollback-validate': rollbackValidate,
  assess,
  'regenerate-unified': regenerateUnified,
  migrate,
  recover,
  report,
  count,
  compare,
  validate,
  backup,
  demo,
  show,
}

module.exports = { COMMANDS, EXIT, UsageError, exitCodeOf, errorLine }
